"""Load, overlay and validate a protocol spec (``spec/*.toml``) into typed objects.

The spec is the single source of every transition (see the comment at the top of
``spec/tcp.toml`` for the format).  Loading is strict, in the manner of automat: every
mistake is found here, at load time, and reported as one :class:`~checker.errors.SpecError`
naming the file, the entry and the fix -- unknown names (with a "did you mean"), missing
references, guards that cannot tell two rules apart, unreachable states, and (through
:func:`checker.model.endpoint.closure`) an endpoint that can reach a state and receive a segment
for which no rule exists.

Variants are overlays: a file with a ``[variant]`` table whose parameters and timers
replace the base's by name, whose transitions replace every base transition with the same
source state and event, and which may remove states and timers.

Examples
--------
>>> spec = load_spec()
>>> spec.name, len(spec.states)
('tcp', 11)
>>> [t.target for t in spec.rules("FIN-WAIT-1", "rcv FIN+ACK of FIN")]
['TIME-WAIT']
>>> load_spec(variant="no-time-wait").has_state("TIME-WAIT")
False
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SpecError, UsageError, did_you_mean, unknown_name
from .expr import Expr, ExprSyntaxError, Num, parse
from .guards import Guard, GuardSyntaxError, parse_guard
from .segments import LEVELS, SEGMENT_EVENTS, SEND_TOKENS

__all__ = [
    "USER_EVENTS",
    "Event",
    "Parameter",
    "Spec",
    "State",
    "Timer",
    "Transition",
    "Variant",
    "bundled_spec_dir",
    "bundled_spec_path",
    "list_variants",
    "load_spec",
]

#: User calls the application model knows how to issue (checker/config.py).
USER_EVENTS = ("active OPEN", "passive OPEN", "SEND", "CLOSE", "ABORT")
_UNTIMED = ("any", "quiescent")

_BASE_KEYS = {"protocol", "parameters", "states", "events", "timers", "transitions"}
_OVERLAY_KEYS = {"variant", "parameters", "timers", "transitions"}
_KEYS = {
    "protocol": {"name", "title", "reference", "initial"},
    "parameter": {"value", "unit", "description", "ref"},
    "state": {"name", "description", "sent", "received"},
    "event": {"name", "kind", "description", "total"},
    "timer": {"name", "event", "description", "states", "duration", "durations", "untimed", "ref"},
    "transition": {
        "from",
        "to",
        "event",
        "send",
        "guard",
        "retransmit",
        "restart",
        "keep_timer",
        "error",
        "ref",
        "note",
        "figure5",
    },
    "variant": {"name", "description", "ref", "broken", "remove_states", "remove_timers"},
}


# ----------------------------------------------------------------------------- model ---


@dataclass(frozen=True)
class Parameter:
    """A named parameter: its defining expression, value, unit and meaning."""

    name: str
    expr: Expr
    text: str
    value: float
    unit: str
    description: str
    ref: str


@dataclass(frozen=True)
class State:
    """A control state; ``sent``/``received`` are its relative SND.NXT and RCV.NXT (0-2)."""

    name: str
    description: str
    sent: int
    received: int


@dataclass(frozen=True)
class Event:
    """An event: a user call, a segment arrival, or a timer expiring."""

    name: str
    kind: str  # "user" | "segment" | "timeout"
    description: str
    total: bool = False


@dataclass(frozen=True)
class Timer:
    """A timer: the states it runs in, its duration and its untimed firing policy."""

    name: str
    event: str
    description: str
    states: tuple[str, ...]
    duration: Expr
    duration_text: str
    untimed: str
    ref: str
    #: (state, duration, its text): where the timer lasts otherwise than ``duration``.
    by_state: tuple[tuple[str, Expr, str], ...] = ()

    def duration_in(self, state: str) -> Expr:
        """The duration of the timer armed in ``state``."""
        for name, expr, _text in self.by_state:
            if name == state:
                return expr
        return self.duration

    def duration_text_in(self, state: str) -> str:
        for name, _expr, text in self.by_state:
            if name == state:
                return text
        return self.duration_text

    def durations(self) -> tuple[Expr, ...]:
        """Every duration the timer can have."""
        return (self.duration, *(expr for _s, expr, _t in self.by_state))


@dataclass(frozen=True)
class Transition:
    """One rule: in ``source``, on ``event`` (when ``guard`` holds), go to ``target``."""

    index: int
    source: str
    event: str
    kind: str
    target: str
    send: tuple[str, ...]
    guard: Guard
    retransmit: bool
    restart: bool
    error: str | None
    ref: str
    note: str | None
    figure5: int | None
    file: str
    entry: str
    variant: str | None = None
    #: The state changes but the retransmission timer runs on, with its retry count: the
    #: segment it guards is still unacknowledged (RFC 6298 §5.3 restarts it only on an
    #: ACK of new data).
    keeps_timer: bool = False

    @property
    def label(self) -> str:
        """``event [guard] / send`` in the style of RFC 9293 Figure 5."""
        text = self.event + (f" [{self.guard}]" if self.guard else "")
        if self.send:
            text += " / snd " + ", ".join(self.send)
        return text

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.index,
            "from": self.source,
            "to": self.target,
            "event": self.event,
            "kind": self.kind,
            "send": list(self.send),
            "ref": self.ref,
        }
        if self.guard:
            data["guard"] = str(self.guard)
        if self.error:
            data["error"] = self.error
        if self.retransmit:
            data["retransmit"] = True
        if self.restart:
            data["restart"] = True
        if self.keeps_timer:
            data["keep_timer"] = True
        if self.note:
            data["note"] = self.note
        if self.variant:
            data["variant"] = self.variant
        return data


@dataclass(frozen=True)
class Variant:
    """The overlay a spec was built with."""

    name: str
    description: str
    ref: str
    broken: bool
    file: str


@dataclass(frozen=True)
class Spec:
    """A loaded, validated endpoint spec (base plus at most one variant overlay)."""

    name: str
    title: str
    reference: str
    initial: str
    parameters: tuple[Parameter, ...]
    states: tuple[State, ...]
    events: tuple[Event, ...]
    timers: tuple[Timer, ...]
    transitions: tuple[Transition, ...]
    variant: Variant | None
    files: tuple[str, ...]
    _by_pair: dict[tuple[str, str], tuple[Transition, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    #: Memo tables of the endpoint semantics (checker/endpoint.py), filled on use.
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.cache["states"] = {s.name: s for s in self.states}
        self.cache["values"] = values = {p.name: p.value for p in self.parameters}
        # The retry counter needs to count up to the largest finite bound a guard compares
        # it with; past that it saturates, so an infinite bound (R2 = infinity, MUST-21)
        # keeps the state space finite: the endpoint then retransmits forever.
        bounds = [values[p] for t in self.transitions for p in t.guard.parameters()]
        finite = [int(b) for b in bounds if b != float("inf")]
        self.cache["retry_cap"] = max(finite, default=0)

    @property
    def retry_cap(self) -> int:
        """The largest value the retransmission counter needs (it saturates there)."""
        cap: int = self.cache["retry_cap"]
        return cap

    # -- lookups -------------------------------------------------------------------
    @property
    def values(self) -> dict[str, float]:
        """Parameter values by name."""
        values: dict[str, float] = self.cache["values"]
        return values

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    def has_state(self, name: str) -> bool:
        return any(s.name == name for s in self.states)

    def state(self, name: str) -> State:
        found: State = self.cache["states"][name]
        return found

    def event(self, name: str) -> Event:
        for e in self.events:
            if e.name == name:
                return e
        raise KeyError(name)

    def rules(self, source: str, event: str) -> tuple[Transition, ...]:
        """The transitions for ``event`` in ``source``, in spec order."""
        return self._by_pair.get((source, event), ())

    def timer_for_event(self, event: str) -> Timer | None:
        for t in self.timers:
            if t.event == event:
                return t
        return None

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``tcpcheck spec --json``."""
        return {
            "name": self.name,
            "variant": self.variant.name if self.variant else None,
            "states": [{"name": s.name, "description": s.description} for s in self.states],
            "transitions": [t.to_json() for t in self.transitions],
            "timers": [
                {
                    "name": t.name,
                    "event": t.event,
                    "states": list(t.states),
                    "duration": t.duration_text,
                    "durations": {name: text for name, _e, text in t.by_state},
                    "untimed": t.untimed,
                    "ref": t.ref,
                }
                for t in self.timers
            ],
            "parameters": [
                {"name": p.name, "value": p.value, "expr": p.text, "unit": p.unit, "ref": p.ref}
                for p in self.parameters
            ],
        }


# ----------------------------------------------------------------------- locations ---


def bundled_spec_dir() -> Path:
    """The directory holding the bundled ``tcp.toml`` and ``variants/``.

    In a built wheel the spec files are shipped inside the package (``checker/spec``);
    in a source checkout they live in the repository's top-level ``spec/``.
    """
    here = Path(__file__).resolve().parent.parent  # the package's directory
    for candidate in (here / "spec", here.parent / "spec"):
        if (candidate / "tcp.toml").is_file():
            return candidate
    raise SpecError(
        str(here / "spec"), "", "the bundled spec files are missing", hint="reinstall tcpcheck"
    )


def bundled_spec_path() -> Path:
    return bundled_spec_dir() / "tcp.toml"


def _display(path: Path) -> str:
    """A path as the user would type it: relative to the working directory if inside."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z_]+)\s*\]\]\s*(?:#.*)?$")


def _header_lines(text: str) -> dict[str, list[int]]:
    """Line numbers of each ``[[name]]`` header, so messages can say where an entry is."""
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            lines.setdefault(m.group(1), []).append(number)
    return lines


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; the result maps ``"__lines__"`` to :func:`_header_lines`."""
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(shown, "", "no such file", hint="check the path given to --spec") from None
    except OSError as exc:
        raise SpecError(shown, "", f"cannot read the file: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            shown, "", f"malformed TOML: {exc}", hint="see https://toml.io for the syntax"
        ) from None
    doc["__lines__"] = _header_lines(text)
    return doc


def _entry(doc: Mapping[str, Any], table: str, i: int) -> str:
    """``transitions[3] (line 120)``: the entry's index and, when known, its line."""
    lines = doc.get("__lines__", {}).get(table, [])
    return f"{table}[{i}] (line {lines[i]})" if i < len(lines) else f"{table}[{i}]"


def list_variants(spec_path: str | Path | None = None) -> list[Variant]:
    """The variants shipped beside a spec (by default, the bundled one), sorted by name."""
    base = Path(spec_path) if spec_path else bundled_spec_path()
    folder = base.parent / "variants"
    found: list[Variant] = []
    if folder.is_dir():
        for file in sorted(folder.glob("*.toml")):
            doc = _read_toml(file)
            meta = doc.get("variant", {})
            if not isinstance(meta, dict):
                continue
            found.append(
                Variant(
                    name=str(meta.get("name", file.stem)),
                    description=str(meta.get("description", "")),
                    ref=str(meta.get("ref", "")),
                    broken=bool(meta.get("broken", False)),
                    file=_display(file),
                )
            )
    return found


# ------------------------------------------------------------------------- helpers ---


class _Src:
    """Where a raw entry came from, for error messages."""

    def __init__(self, file: str, entry: str) -> None:
        self.file = file
        self.entry = entry

    def error(self, problem: str, hint: str | None = None) -> SpecError:
        return SpecError(self.file, self.entry, problem, hint)


def _check_keys(src: _Src, raw: Mapping[str, Any], kind: str) -> None:
    allowed = _KEYS[kind]
    for key in raw:
        if key not in allowed:
            raise src.error(
                f"unknown key '{key}'",
                did_you_mean(key, allowed) or "allowed: " + ", ".join(sorted(allowed)),
            )


def _req_str(src: _Src, raw: Mapping[str, Any], key: str) -> str:
    if key not in raw:
        raise src.error(f"missing '{key}'")
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise src.error(f"'{key}' must be a non-empty string")
    return value


def _opt_str(src: _Src, raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise src.error(f"'{key}' must be a string")
    return value


def _opt_bool(src: _Src, raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise src.error(f"'{key}' must be true or false")
    return value


def _str_list(src: _Src, raw: Mapping[str, Any], key: str, *, required: bool = True) -> list[str]:
    if key not in raw:
        if required:
            raise src.error(f"missing '{key}'")
        return []
    value = raw[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise src.error(f"'{key}' must be a string or a list of strings")
    return list(value)


def _table_list(src: _Src, doc: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise src.error(f"'{key}' must be an array of tables: write [[{key}]]")
    return value


def _name_of(src: _Src, name: str, choices: Iterable[str], what: str) -> str:
    choices = list(choices)
    if name not in choices:
        raise src.error(f"unknown {what} '{name}'", did_you_mean(name, choices))
    return name


# ------------------------------------------------------------------------ loading ---


@dataclass
class _Raw:
    """The spec between reading and typing: raw tables with their origins."""

    protocol: dict[str, Any]
    protocol_src: _Src
    parameters: dict[str, tuple[dict[str, Any], _Src]]
    states: list[tuple[dict[str, Any], _Src]]
    events: list[tuple[dict[str, Any], _Src]]
    timers: dict[str, tuple[dict[str, Any], _Src]]
    transitions: list[tuple[dict[str, Any], _Src, str | None]]
    files: list[str]


def _check_top(file: str, doc: Mapping[str, Any], allowed: set[str]) -> None:
    for key in doc:
        if key == "__lines__":
            continue
        if key not in allowed:
            raise SpecError(
                file,
                key,
                f"unknown table '{key}'",
                did_you_mean(key, allowed) or "allowed: " + ", ".join(sorted(allowed)),
            )


def _params_of(file: str, doc: Mapping[str, Any]) -> dict[str, tuple[dict[str, Any], _Src]]:
    raw = doc.get("parameters", {})
    if not isinstance(raw, dict):
        raise SpecError(file, "parameters", "must be a table: write [parameters.NAME]")
    out: dict[str, tuple[dict[str, Any], _Src]] = {}
    for name, body in raw.items():
        src = _Src(file, f"parameters.{name}")
        if not isinstance(body, dict):
            raise src.error("must be a table with at least 'value'")
        out[name] = (body, src)
    return out


def _timers_of(file: str, doc: Mapping[str, Any]) -> dict[str, tuple[dict[str, Any], _Src]]:
    out: dict[str, tuple[dict[str, Any], _Src]] = {}
    for i, body in enumerate(_table_list(_Src(file, "timers"), doc, "timers")):
        src = _Src(file, _entry(doc, "timers", i))
        name = _req_str(src, body, "name")
        src.entry = f"{src.entry} {name}"
        if name in out:
            raise src.error(f"timer '{name}' is defined twice")
        out[name] = (body, src)
    return out


def _read_base(path: Path) -> _Raw:
    file = _display(path)
    doc = _read_toml(path)
    _check_top(file, doc, _BASE_KEYS)
    protocol = doc.get("protocol")
    if not isinstance(protocol, dict):
        raise SpecError(
            file, "protocol", "missing [protocol] table (name, title, reference, initial)"
        )
    psrc = _Src(file, "protocol")
    _check_keys(psrc, protocol, "protocol")
    states = [
        (b, _Src(file, _entry(doc, "states", i)))
        for i, b in enumerate(_table_list(psrc, doc, "states"))
    ]
    events = [
        (b, _Src(file, _entry(doc, "events", i)))
        for i, b in enumerate(_table_list(psrc, doc, "events"))
    ]
    transitions: list[tuple[dict[str, Any], _Src, str | None]] = [
        (b, _Src(file, _entry(doc, "transitions", i)), None)
        for i, b in enumerate(_table_list(psrc, doc, "transitions"))
    ]
    return _Raw(
        protocol,
        psrc,
        _params_of(file, doc),
        states,
        events,
        _timers_of(file, doc),
        transitions,
        [file],
    )


def _apply_overlay(raw: _Raw, path: Path) -> Variant:
    file = _display(path)
    doc = _read_toml(path)
    _check_top(file, doc, _OVERLAY_KEYS)
    meta = doc.get("variant")
    vsrc = _Src(file, "variant")
    if not isinstance(meta, dict):
        raise SpecError(file, "variant", "missing [variant] table (name, description, ref)")
    _check_keys(vsrc, meta, "variant")
    variant = Variant(
        name=_req_str(vsrc, meta, "name"),
        description=_req_str(vsrc, meta, "description"),
        ref=_req_str(vsrc, meta, "ref"),
        broken=_opt_bool(vsrc, meta, "broken"),
        file=file,
    )
    raw.files.append(file)
    state_names = [str(b.get("name")) for b, _ in raw.states]
    for name in _str_list(vsrc, meta, "remove_states", required=False):
        _name_of(vsrc, name, state_names, "state in remove_states")
        raw.states = [(b, s) for b, s in raw.states if b.get("name") != name]
        # Rules from the removed state go; a rule shared with other states keeps those.
        kept: list[tuple[dict[str, Any], _Src, str | None]] = []
        for body, src, origin in raw.transitions:
            sources = _as_list(body.get("from"))
            rest = [s for s in sources if s != name]
            if len(rest) == len(sources):
                kept.append((body, src, origin))
            elif rest:
                kept.append(({**body, "from": rest}, src, origin))
        raw.transitions = kept
        for body, _src in raw.timers.values():
            if isinstance(body.get("states"), list) and name in body["states"]:
                body["states"] = [x for x in body["states"] if x != name]
    for name in _str_list(vsrc, meta, "remove_timers", required=False):
        _name_of(vsrc, name, raw.timers, "timer in remove_timers")
        del raw.timers[name]
    raw.parameters.update(_params_of(file, doc))
    raw.timers.update(_timers_of(file, doc))

    # Each overlay transition replaces all base transitions with its (from, event) pairs.
    new = [
        (b, _Src(file, _entry(doc, "transitions", i)), variant.name)
        for i, b in enumerate(_table_list(vsrc, doc, "transitions"))
    ]
    pairs = {
        (f, e) for b, _, _ in new for f in _as_list(b.get("from")) for e in _as_list(b.get("event"))
    }
    kept = []
    inserted = False
    for body, src, origin in raw.transitions:
        sources = _as_list(body.get("from"))
        evs = _as_list(body.get("event"))
        hit = [(f, e) for f in sources for e in evs if (f, e) in pairs]
        if not hit:
            kept.append((body, src, origin))
            continue
        # Keep the parts of a multi-state/multi-event entry that the overlay leaves alone.
        rest_sources = [f for f in sources if all((f, e) not in pairs for e in evs)]
        if rest_sources:
            kept.append(({**body, "from": rest_sources}, src, origin))
        partly = [f for f in sources if f not in rest_sources]
        for f in partly:
            left = [e for e in evs if (f, e) not in pairs]
            if left:
                kept.append(({**body, "from": f, "event": left}, src, origin))
        if not inserted:
            kept.extend(new)
            inserted = True
    if not inserted:
        kept.extend(new)
    raw.transitions = kept
    return variant


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _evaluate_parameters(raw: _Raw) -> dict[str, tuple[Expr, str, float, dict[str, Any], _Src]]:
    exprs: dict[str, tuple[Expr, str, dict[str, Any], _Src]] = {}
    for name, (body, src) in raw.parameters.items():
        _check_keys(src, body, "parameter")
        if not name.isidentifier():
            raise src.error(f"parameter name '{name}' is not an identifier")
        if "value" not in body:
            raise src.error("missing 'value'")
        value = body["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise src.error("'value' must be a number or an arithmetic expression in a string")
        text = str(value)
        if isinstance(value, (int, float)):
            if value != value:  # NaN
                raise src.error("'value' is not a number")
            expr: Expr = Num(float(value))  # also inf: R2 may be infinite (MUST-21)
        else:
            try:
                expr = parse(text)
            except ExprSyntaxError as exc:
                raise src.error(f"cannot read value {text!r}: {exc}") from None
        exprs[name] = (expr, text, body, src)

    values: dict[str, float] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> float:
        if name in values:
            return values[name]
        expr, _text, _body, src = exprs[name]
        for dep in sorted(expr.names()):
            if dep not in exprs:
                raise src.error(
                    f"value refers to unknown parameter '{dep}'", did_you_mean(dep, exprs)
                )
            if dep in chain:
                raise src.error(
                    "parameters refer to each other in a cycle: " + " -> ".join((*chain, dep))
                )
        env = {dep: resolve(dep, (*chain, dep)) for dep in expr.names()}
        try:
            values[name] = expr.evaluate(env)
        except ZeroDivisionError:
            raise src.error("value divides by zero") from None
        return values[name]

    return {
        name: (
            exprs[name][0],
            exprs[name][1],
            resolve(name, (name,)),
            exprs[name][2],
            exprs[name][3],
        )
        for name in exprs
    }


def _build(raw: _Raw, variant: Variant | None) -> Spec:
    psrc = raw.protocol_src
    name = _req_str(psrc, raw.protocol, "name")
    title = _req_str(psrc, raw.protocol, "title")
    reference = _req_str(psrc, raw.protocol, "reference")
    initial = _req_str(psrc, raw.protocol, "initial")

    # Parameters.
    params = _evaluate_parameters(raw)
    parameters = tuple(
        Parameter(
            name=n,
            expr=expr,
            text=text,
            value=value,
            unit=str(body.get("unit", "")),
            description=_req_str(src, body, "description"),
            ref=_req_str(src, body, "ref"),
        )
        for n, (expr, text, value, body, src) in params.items()
    )
    values = {p.name: p.value for p in parameters}

    # States.
    states: list[State] = []
    for body, src in raw.states:
        _check_keys(src, body, "state")
        sname = _req_str(src, body, "name")
        src.entry = f"{src.entry} {sname}"
        if any(s.name == sname for s in states):
            raise src.error(f"state '{sname}' is defined twice")
        levels: list[int] = []
        for key in ("sent", "received"):
            level = _req_str(src, body, key)
            if level not in LEVELS:
                raise src.error(f"'{key}' must be one of none, SYN, FIN (got {level!r})")
            levels.append(LEVELS[level])
        states.append(State(sname, _req_str(src, body, "description"), levels[0], levels[1]))
    state_names = [s.name for s in states]
    if not states:
        raise psrc.error("the spec declares no [[states]]")
    _name_of(_Src(psrc.file, "protocol.initial"), initial, state_names, "initial state")

    # Timers.
    timers: list[Timer] = []
    for tname, (body, src) in raw.timers.items():
        _check_keys(src, body, "timer")
        event = _req_str(src, body, "event")
        if event != f"timeout {tname}":
            raise src.error(f"a timer's event must be 'timeout {tname}' (got {event!r})")
        untimed = _req_str(src, body, "untimed")
        if untimed not in _UNTIMED:
            raise src.error(
                f"'untimed' must be one of {', '.join(_UNTIMED)} (got {untimed!r})",
                did_you_mean(untimed, _UNTIMED),
            )
        tstates = [_name_of(src, s, state_names, "state") for s in _str_list(src, body, "states")]
        dtext = _req_str(src, body, "duration")
        duration = _duration_expr(src, dtext, values)
        by_state = []
        table = body.get("durations", {})
        if not isinstance(table, dict):
            raise src.error("'durations' must be a table: state name = duration")
        for sname, text in sorted(table.items()):
            if sname not in tstates:
                raise src.error(
                    f"'durations' names state '{sname}', where the timer does not run",
                    did_you_mean(sname, tstates),
                )
            if not isinstance(text, str):
                raise src.error(f"the duration in {sname} must be a string")
            by_state.append((sname, _duration_expr(src, text, values), text))
        timers.append(
            Timer(
                tname,
                event,
                _req_str(src, body, "description"),
                tuple(tstates),
                duration,
                dtext,
                untimed,
                _req_str(src, body, "ref"),
                tuple(by_state),
            )
        )

    # Events: the spec's user events, the fixed segment events, the timers' events.
    events: list[Event] = []
    for body, src in raw.events:
        _check_keys(src, body, "event")
        ename = _req_str(src, body, "name")
        kind = _req_str(src, body, "kind")
        if kind != "user":
            raise src.error(
                f'only user events are declared here (kind = "user"); got {kind!r}',
                "segment events are fixed by the segment abstraction; "
                "timeout events come from [[timers]]",
            )
        _name_of(src, ename, USER_EVENTS, "user event")
        events.append(
            Event(ename, "user", _req_str(src, body, "description"), _opt_bool(src, body, "total"))
        )
    events += [Event(n, "segment", d) for n, d in SEGMENT_EVENTS.items()]
    events += [Event(t.event, "timeout", t.description) for t in timers]
    event_kind = {e.name: e.kind for e in events}

    # Transitions.
    transitions: list[Transition] = []
    for body, src, origin in raw.transitions:
        _check_keys(src, body, "transition")
        sources = _str_list(src, body, "from")
        evs = _str_list(src, body, "event")
        target_name = _req_str(src, body, "to")
        ref = _req_str(src, body, "ref")
        sends = _str_list(src, body, "send", required=False)
        for token in sends:
            _name_of(src, token, SEND_TOKENS, "segment in 'send'")
        try:
            guard = parse_guard(_opt_str(src, body, "guard"))
        except GuardSyntaxError as exc:
            raise src.error(str(exc)) from None
        for p in sorted(guard.parameters()):
            if p not in values:
                raise src.error(f"guard refers to unknown parameter '{p}'", did_you_mean(p, values))
        figure5 = body.get("figure5")
        if figure5 is not None and (isinstance(figure5, bool) or not isinstance(figure5, int)):
            raise src.error("'figure5' must be the arrow's number")
        for s in sources:
            _name_of(src, s, state_names, "state")
            target = (
                s if target_name == "same" else _name_of(src, target_name, state_names, "state")
            )
            if _opt_bool(src, body, "keep_timer") and not any(
                s in t.states and target in t.states and s != target for t in timers
            ):
                raise src.error(
                    f"'keep_timer' needs a timer running in both {s} and {target}",
                    "drop keep_timer: the timer stops or restarts anyway",
                )
            for e in evs:
                _name_of(src, e, event_kind, "event")
                kind = event_kind[e]
                if kind == "timeout":
                    timer = next(t for t in timers if t.event == e)
                    if s not in timer.states:
                        raise src.error(
                            f"'{e}' in state {s}, but timer {timer.name} does not run there",
                            f"add {s} to the timer's states",
                        )
                transitions.append(
                    Transition(
                        index=len(transitions),
                        source=s,
                        event=e,
                        kind=kind,
                        target=target,
                        send=tuple(sends),
                        guard=guard,
                        retransmit=_opt_bool(src, body, "retransmit"),
                        restart=_opt_bool(src, body, "restart"),
                        error=_opt_str(src, body, "error"),
                        ref=ref,
                        note=_opt_str(src, body, "note"),
                        figure5=figure5,
                        file=src.file,
                        entry=src.entry,
                        keeps_timer=_opt_bool(src, body, "keep_timer"),
                        variant=origin,
                    )
                )

    by_pair: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        by_pair.setdefault((t.source, t.event), []).append(t)
    for (s, e), group in by_pair.items():
        if len(group) > 1:
            for t in group:
                if not t.guard:
                    other = next(o for o in group if o is not t)
                    raise SpecError(
                        t.file,
                        t.entry,
                        f"two rules for '{e}' in {s} ({t.entry} and {other.entry} of {other.file}) "
                        "and this one has no guard to tell them apart",
                        "add complementary guards, or delete one rule",
                    )
            seen: dict[str, Transition] = {}
            for t in group:
                key = str(t.guard)
                if key in seen:
                    raise SpecError(
                        t.file,
                        t.entry,
                        f"duplicate rule for '{e}' [{key}] in {s} (also {seen[key].entry})",
                    )
                seen[key] = t

    # Total user events (CLOSE, ABORT) are defined in every state.
    for ev in events:
        if ev.total:
            for s in state_names:
                if (s, ev.name) not in by_pair:
                    raise SpecError(
                        raw.files[0],
                        "transitions",
                        f"no rule for '{ev.name}' in state {s}",
                        f"RFC 9293 §3.10 defines {ev.name} in every state: "
                        f"add a transition from {s}",
                    )

    # Every state is reachable from the initial one (guards ignored).
    reach = {initial}
    frontier = [initial]
    while frontier:
        s = frontier.pop()
        for t in transitions:
            if t.source == s and t.target not in reach:
                reach.add(t.target)
                frontier.append(t.target)
    for body, src in raw.states:
        if body["name"] not in reach:
            raise src.error(
                f"state {body['name']} is unreachable from {initial}",
                "add a transition into it or remove the state",
            )

    return Spec(
        name=name,
        title=title,
        reference=reference,
        initial=initial,
        parameters=parameters,
        states=tuple(states),
        events=tuple(events),
        timers=tuple(timers),
        transitions=tuple(transitions),
        variant=variant,
        files=tuple(raw.files),
        _by_pair={k: tuple(v) for k, v in by_pair.items()},
    )


def _duration_expr(src: _Src, text: str, values: Mapping[str, float]) -> Expr:
    try:
        duration = parse(text)
    except ExprSyntaxError as exc:
        raise src.error(f"cannot read duration {text!r}: {exc}") from None
    for dep in sorted(duration.names() - {"retries"}):
        if dep not in values:
            raise src.error(
                f"duration refers to unknown parameter '{dep}'", did_you_mean(dep, values)
            )
    return duration


def load_spec(
    path: str | Path | None = None,
    variant: str | None = None,
    params: Mapping[str, float] | None = None,
    *,
    check_behaviour: bool = True,
) -> Spec:
    """Load and validate a spec.

    Parameters
    ----------
    path
        A spec file (``[protocol]`` ...) or an overlay (``[variant]`` ...) applied to the
        bundled TCP spec.  ``None`` loads the bundled ``spec/tcp.toml``.
    variant
        The name of a variant shipped beside the base spec (``spec/variants/NAME.toml``).
    params
        Parameter overrides, ``{"MSL": 30}``.
    check_behaviour
        Also explore the endpoint on its own (:func:`checker.model.endpoint.closure`) to prove
        that every reachable state handles every segment it can receive, deterministically.

    Raises
    ------
    SpecError
        For any mistake in the files; :class:`UsageError` for an unknown variant or
        parameter.
    """
    given = Path(path) if path is not None else bundled_spec_path()
    doc_is_overlay = False
    if path is not None:
        head = _read_toml(given)
        doc_is_overlay = "variant" in head and "protocol" not in head
    base_path = bundled_spec_path() if doc_is_overlay else given
    raw = _read_base(base_path)
    chosen: Variant | None = None
    if doc_is_overlay:
        chosen = _apply_overlay(raw, given)
    if variant is not None:
        if chosen is not None:
            raise UsageError(
                f"--variant {variant} cannot be combined with the overlay {_display(given)};"
                " an overlay is already a variant"
            )
        options = {v.name: v for v in list_variants(base_path)}
        if variant not in options:
            raise unknown_name("variant", variant, sorted(options), "known variants")
        chosen = _apply_overlay(raw, base_path.parent / "variants" / f"{variant}.toml")
    if params:
        for pname, value in params.items():
            if pname not in raw.parameters:
                raise unknown_name("parameter", pname, sorted(raw.parameters), "parameters")
            body, _src = raw.parameters[pname]
            raw.parameters[pname] = ({**body, "value": value}, _Src("--param", pname))
    spec = _build(raw, chosen)
    if check_behaviour:
        from .endpoint import closure  # local import: endpoint builds on spec

        closure(spec)
    return spec
