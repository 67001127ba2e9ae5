"""Properties as data (``spec/properties.toml``) and the checks that decide them.

A property has a name, a kind, a formula over product states (:mod:`checker.check.formula`),
the configuration it is checked under, the fairness it assumes, a reference, and its
expected verdict per variant.  Kinds:

``invariant``      always P; counterexample: a shortest path to a state violating P.
``reachable``      sometimes P; witness: a shortest path to a state satisfying P.
``path``           ``A: S1, S2, *, S3``: some run takes endpoint A through exactly these
                   control states (``*`` stands for any, possibly none); witness: a
                   shortest such run.
``deadlock-free``  no reachable state without moves except those satisfying ``final``.
``eventually``     every run reaches Q (``true ~> Q``).
``leads-to``       ``P ~> Q``: every run that reaches P reaches Q afterwards.

Liveness (the last two) is decided under stated fairness (:mod:`checker.check.liveness`); its
counterexample is a lasso -- a prefix and a cycle -- or a path to a state where the run
may stop forever.  The timed kinds (``timed-exit``, ``timed-never``,
``timed-invariant``) are decided on the zone graph in real time
(:mod:`checker.timed.checks`).

Verdicts are three-valued: ``holds``, ``violated`` or ``unknown`` (an exploration bound
was reached, or the only counterexamples are artefacts of the channel capacity).
"""

from __future__ import annotations

import tomllib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from ..errors import SpecError, UsageError, did_you_mean
from ..model.load import bundled_spec_dir
from ..model.spec import Spec
from ..product.config import AppConfig, ProductConfig
from ..product.explore import Exploration
from ..product.reference import Label, PState
from .formula import Formula, FormulaError, parse_formula
from .patterns import TIMED_KINDS, parse_move_pattern

__all__ = [
    "FAIRNESS",
    "KINDS",
    "VERDICTS",
    "Property",
    "Step",
    "Trace",
    "Verdict",
    "bundled_properties_path",
    "check_property",
    "load_properties",
    "parse_path",
    "path_start",
    "path_step",
    "premise_and_goal",
]

KINDS = ("invariant", "reachable", "path", "deadlock-free", "eventually", "leads-to")
VERDICTS = ("holds", "violated", "unknown")
#: Fairness assumptions, by name, with what each means.
FAIRNESS = {
    "fair-lossy": "fair-lossy channels: a segment sent infinitely often is eventually delivered, "
    "and nothing stays in flight forever",
    "fair-apps": "fair applications: an application that can make its next call eventually does",
    "timers": "weak fairness of timers: a timer that stays enabled eventually fires",
}
_KEYS = {
    "name",
    "kind",
    "formula",
    "final",
    "description",
    "ref",
    "fairness",
    "config",
    "params",
    "expected",
    "start",
    "lose",
    "reuse",
    "synth",
}
_LOSE_HINT = 'e.g. lose = "A enters TIME-WAIT"'
_CONFIG_KEYS = {
    "a_close",
    "b_close",
    "a_abort",
    "b_abort",
    "simultaneous_open",
    "listen_send",
    "capacity",
    "overflow",
    "ordering",
    "loss",
    "duplication",
}


@dataclass(frozen=True)
class Property:
    """One property of a suite."""

    name: str
    kind: str
    formula: str
    final: str | None
    description: str
    ref: str
    fairness: tuple[str, ...]
    config: Mapping[str, Any]
    params: Mapping[str, float]
    expected: Mapping[str, str]
    file: str
    entry: str
    #: Timed kinds: where the analysis starts (a formula) and what the network may lose.
    start: str | None = None
    lose: str | None = None
    #: Timed kinds: an endpoint whose connection ended in CLOSED may open a new
    #: incarnation on the same ports (old duplicates).
    reuse: bool = False
    #: Timed kinds: the synthesis the generated report shows -- ``variant`` (default
    #: the base spec), ``params`` fixed beyond the property's own, ``free`` durations.
    synth: Mapping[str, Any] | None = None

    @property
    def timed(self) -> bool:
        return self.kind.startswith("timed-")

    def expected_for(self, variant: str | None) -> str | None:
        """The expected verdict on ``variant`` (``None``: the base spec)."""
        key = variant or "base"
        return self.expected.get(key, self.expected.get("default"))

    def variants(self) -> list[str | None]:
        """The variants this property has an expectation for (``None``: the base)."""
        names = [k for k in self.expected if k not in ("base", "default")]
        out: list[str | None] = []
        if "base" in self.expected or "default" in self.expected:
            out.append(None)
        out += sorted(names)
        return out

    def product_config(self, base: ProductConfig | None = None) -> ProductConfig:
        """The product configuration: ``base`` (or the default) with this property's overrides."""
        base = base or ProductConfig()
        c = dict(self.config)
        b_open = "active" if c.get("simultaneous_open", base.b.open == "active") else "passive"
        return ProductConfig(
            a=AppConfig("active", c.get("a_close", base.a.close), c.get("a_abort", base.a.abort)),
            b=AppConfig(
                b_open,
                c.get("b_close", base.b.close),
                c.get("b_abort", base.b.abort),
                c.get("listen_send", base.b.listen_send),
            ),
            capacity=c.get("capacity", base.capacity),
            ordering=c.get("ordering", base.ordering),
            loss=str(c.get("loss", base.loss)),
            duplication=str(c.get("duplication", base.duplication)),
            overflow=c.get("overflow", base.overflow),
        )


@dataclass(frozen=True)
class Step:
    """One step of a trace: the move and the product state after it."""

    label: Label
    state: PState

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.label.to_json())
        data["A"] = self.state.a.state
        data["B"] = self.state.b.state
        data["in_flight"] = {
            "A->B": [s.describe() for s in self.state.ab],
            "B->A": [s.describe() for s in self.state.ba],
        }
        return data


@dataclass(frozen=True)
class Trace:
    """A path from the initial state; ``loop`` is the index in ``steps`` where a cycle
    starts (the last step returns to the state before it), ``stops`` says the run may
    stay in the last state forever."""

    initial: PState
    steps: tuple[Step, ...]
    loop: int | None = None
    stops: bool = False
    #: A timed run's instants (seconds): the start's first, then one per step.
    times: tuple[Fraction, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        steps = [s.to_json() for s in self.steps]
        if self.times is not None:
            for step, t in zip(steps, self.times[1:], strict=True):
                step["time"] = _seconds(t)
        return {
            "initial": {"A": self.initial.a.state, "B": self.initial.b.state},
            "steps": steps,
            "cycle_start": self.loop,
            "stops_forever": self.stops,
        }


def _seconds(t: Fraction) -> float | str:
    """A time for JSON: a number when it is exact as one, else the fraction ``"p/q"``."""
    as_float = float(t)
    return as_float if Fraction(as_float) == t else f"{t.numerator}/{t.denominator}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one property on one variant."""

    prop: Property
    variant: str | None
    verdict: str
    expected: str | None
    assumptions: tuple[str, ...]
    trace: Trace | None
    message: str
    states: int = 0
    config: ProductConfig | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.expected is None or self.verdict == self.expected

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.prop.name,
            "kind": self.prop.kind,
            "variant": self.variant or "base",
            "verdict": self.verdict,
            "expected": self.expected,
            "assumptions": list(self.assumptions),
            "message": self.message,
            "states": self.states,
            "trace": self.trace.to_json() if self.trace else None,
        }


# ------------------------------------------------------------------------- loading ---


def bundled_properties_path() -> Path:
    return bundled_spec_dir() / "properties.toml"


def _check_synth(err: Any, synth: Any, timed: bool) -> None:
    """``synth = { variant = "rfc1337", params = { FIN_RETRIES = 2 }, free = [...] }``."""
    hint = 'e.g. synth = { params = { FIN_RETRIES = 2 }, free = ["TIME_WAIT", "MSL", "RTO"] }'
    if not timed:
        raise err(f"'synth' belongs only in a timed property (kinds {', '.join(TIMED_KINDS)})")
    if not isinstance(synth, dict):
        raise err("'synth' must be a table", hint)
    for key in synth:
        if key not in ("variant", "params", "free"):
            raise err(
                f"unknown synth key '{key}'",
                did_you_mean(key, ["variant", "params", "free"]) or hint,
            )
    if "variant" in synth and not isinstance(synth["variant"], str):
        raise err("synth.variant must be a variant name", hint)
    params = synth.get("params", {})
    if not isinstance(params, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in params.values()
    ):
        raise err("synth.params must map parameter names to numbers", hint)
    free = synth.get("free", ["TIME_WAIT", "MSL", "RTO"])
    if not isinstance(free, list) or not free or not all(isinstance(n, str) for n in free):
        raise err("synth.free must be a list of parameter names", hint)


def load_properties(path: str | Path | None = None, spec: Spec | None = None) -> list[Property]:
    """Load and validate a property suite; formulas are checked against ``spec``'s states."""
    file = Path(path) if path is not None else bundled_properties_path()
    shown = str(file)
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(shown, "", "no such file", "check the path given to --properties") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(shown, "", f"malformed TOML: {exc}") from None
    names = spec.state_names if spec is not None else None
    raw = doc.get("properties")
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        raise SpecError(shown, "properties", "expected [[properties]] tables")
    for key in doc:
        if key != "properties":
            raise SpecError(shown, key, f"unknown table '{key}'", "a suite holds [[properties]]")
    out: list[Property] = []
    seen: set[str] = set()
    for i, body in enumerate(raw):
        entry = f"properties[{i}]"
        name = body.get("name")
        if isinstance(name, str):
            entry = f"properties[{i}] {name}"

        def err(problem: str, hint: str | None = None, entry: str = entry) -> SpecError:
            return SpecError(shown, entry, problem, hint)

        for key in body:
            if key not in _KEYS:
                raise err(f"unknown key '{key}'", did_you_mean(key, _KEYS))
        for key in ("name", "kind", "description", "ref"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise err(f"missing '{key}' (a non-empty string)")
        if name in seen:
            raise err(f"property '{name}' is defined twice")
        seen.add(str(name))
        kind = body["kind"]
        all_kinds = (*KINDS, *TIMED_KINDS)
        if kind not in all_kinds:
            raise err(
                f"unknown kind '{kind}'",
                did_you_mean(kind, all_kinds) or "kinds: " + ", ".join(all_kinds),
            )
        timed = kind in TIMED_KINDS
        for key in ("start", "lose"):
            if key in body and not timed:
                raise err(
                    f"'{key}' belongs only in a timed property (kinds {', '.join(TIMED_KINDS)})"
                )
            if key in body and not isinstance(body[key], str):
                raise err(f"'{key}' must be a string")
        if "reuse" in body:
            if not timed:
                raise err(
                    f"'reuse' belongs only in a timed property (kinds {', '.join(TIMED_KINDS)})"
                )
            if not isinstance(body["reuse"], bool):
                raise err("'reuse' must be true or false")
        if "synth" in body:
            _check_synth(err, body["synth"], timed)
        if "start" in body:
            _check_formula(err, body["start"], names, leads_to=False, key="start")
        if "lose" in body:
            try:
                lose = parse_move_pattern(body["lose"], names)
            except ValueError as exc:
                raise err(f"lose: {exc}", 'e.g. lose = "A enters TIME-WAIT"') from None
            if lose.events is not None or lose.verb == "accepts":
                raise err("lose: name the moves that send, like 'A enters TIME-WAIT'", _LOSE_HINT)
        formula = body.get("formula", "true" if kind == "deadlock-free" else None)
        if not isinstance(formula, str):
            raise err("missing 'formula'")
        final = body.get("final")
        if kind == "deadlock-free" and not isinstance(final, str):
            raise err("a deadlock-free property needs 'final': the states allowed to stop")
        if kind == "path":
            try:
                parse_path(formula, names)
            except FormulaError as exc:
                raise err(f"formula: {exc}") from None
        elif kind == "timed-exit":
            events = [e.name for e in spec.events] if spec is not None else None
            try:
                pattern = parse_move_pattern(formula, names, events)
            except ValueError as exc:
                raise err(f"formula: {exc}") from None
            if pattern.verb != "leaves" or pattern.events is None:
                raise err(
                    "formula: a timed-exit property is 'SIDE leaves STATE only by EVENT, ...'"
                )
        elif kind == "timed-never":
            try:
                pattern = parse_move_pattern(formula, names)
            except ValueError as exc:
                raise err(f"formula: {exc}") from None
            if pattern.events is not None:
                raise err(
                    "formula: a timed-never property names moves that must not happen, "
                    "without 'only by' (e.g. 'A accepts an old segment')"
                )
            if pattern.verb == "accepts" and body.get("reuse") is not True:
                raise err(
                    "formula: old segments exist only when connections are reused",
                    "add reuse = true",
                )
        else:
            _check_formula(err, formula, names, leads_to=kind == "leads-to")
        if final is not None:
            _check_formula(err, final, names, leads_to=False, key="final")
        fairness = body.get(
            "fairness", list(FAIRNESS) if kind in ("eventually", "leads-to") else []
        )
        if not isinstance(fairness, list) or any(f not in FAIRNESS for f in fairness):
            raise err("'fairness' must list assumptions among: " + ", ".join(FAIRNESS))
        config = body.get("config", {})
        if not isinstance(config, dict):
            raise err("'config' must be a table")
        for key in config:
            if key not in _CONFIG_KEYS:
                raise err(f"unknown config key '{key}'", did_you_mean(key, _CONFIG_KEYS))
        params = body.get("params", {})
        if not isinstance(params, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in params.values()
        ):
            raise err("'params' must map parameter names to numbers")
        expected = body.get("expected", {})
        if not isinstance(expected, dict) or not expected:
            raise err("missing 'expected': the verdict per variant, e.g. { base = \"holds\" }")
        for key, value in expected.items():
            if value not in VERDICTS:
                raise err(f"expected.{key} must be one of holds, violated, unknown")
        prop = Property(
            name=str(name),
            kind=kind,
            formula=formula,
            final=final,
            description=body["description"],
            ref=body["ref"],
            fairness=tuple(fairness),
            config=config,
            params={k: float(v) for k, v in params.items()},
            expected=dict(expected),
            file=shown,
            entry=entry,
            start=body.get("start"),
            lose=body.get("lose"),
            reuse=bool(body.get("reuse", False)),
            synth=body.get("synth"),
        )
        try:
            prop.product_config()
        except UsageError as exc:
            raise err(f"config: {exc}") from None
        out.append(prop)
    return out


def _check_formula(
    err: Any, text: str, names: Iterable[str] | None, *, leads_to: bool, key: str = "formula"
) -> None:
    parts = text.split("~>")
    if leads_to and len(parts) != 2:
        raise err(f"a leads-to {key} is written 'P ~> Q'")
    if not leads_to and len(parts) != 1:
        raise err(f"'~>' belongs only in a leads-to {key}")
    offset = 0
    for part in parts:
        try:
            parse_formula(part, names)
        except FormulaError as exc:
            raise err(
                f"{key}: column {exc.column + offset}: {str(exc).split(': ', 1)[1]}",
            ) from None
        offset += len(part) + 2


# ------------------------------------------------------------------------ checking ---


def parse_path(text: str, names: Iterable[str] | None = None) -> tuple[str, list[str]]:
    """``"A: CLOSED, SYN-SENT, *"`` -> ``("A", ["CLOSED", "SYN-SENT", "*"])``."""
    side, sep, rest = text.partition(":")
    if side.strip() not in ("A", "B") or not sep:
        raise FormulaError("a path starts with the endpoint, 'A:' or 'B:'", 1)
    known = list(names) if names is not None else None
    pattern: list[str] = []
    column = len(side) + 2
    for item in rest.split(","):
        name = item.strip()
        if not name:
            raise FormulaError("empty element in the path", column)
        if name != "*" and known is not None and name not in known:
            hint = did_you_mean(name, known)
            raise FormulaError(f"unknown state {name!r}" + (f" ({hint})" if hint else ""), column)
        pattern.append(name)
        column += len(item) + 1
    return side.strip(), pattern


def _closure(pattern: list[str], positions: Iterable[int]) -> frozenset[int]:
    out = set(positions)
    frontier = list(out)
    while frontier:
        i = frontier.pop()
        if i < len(pattern) and pattern[i] == "*" and i + 1 not in out:
            out.add(i + 1)
            frontier.append(i + 1)
    return frozenset(out)


def path_start(pattern: list[str], state: str) -> frozenset[int]:
    """The pattern positions reached by a run whose first control state is ``state``
    (position ``i``: the first ``i`` elements matched; ``len(pattern)``: all of it).

    >>> sorted(path_start(["CLOSED", "*", "TIME-WAIT"], "CLOSED"))
    [1, 2]
    """
    return _advance(pattern, _closure(pattern, {0}), state)


def path_step(pattern: list[str], positions: frozenset[int], state: str) -> frozenset[int]:
    """The positions after the control state changes to ``state`` (empty: no match)."""
    return _advance(pattern, positions, state)


def _advance(pattern: list[str], positions: frozenset[int], state: str) -> frozenset[int]:
    nxt = set()
    for i in positions:
        if i < len(pattern) and (pattern[i] == "*" or pattern[i] == state):
            nxt.add(i if pattern[i] == "*" else i + 1)
    return _closure(pattern, nxt)


def _check_path(prop: Property, exploration: Exploration, variant: str | None) -> Verdict:
    side, pattern = parse_path(prop.formula)
    offs, dst = exploration.offsets, exploration.dst
    expanded = len(offs) - 1
    goal = len(pattern)

    decoded = exploration.decoded()

    def control(node: int) -> str:
        s = decoded[node]
        return s.a.state if side == "A" else s.b.state

    start_pos = path_start(pattern, control(0))
    start = (0, start_pos)
    parents: dict[tuple[int, frozenset[int]], tuple[tuple[int, frozenset[int]], int] | None] = {
        start: None
    }
    queue = deque([start])
    found = None
    while queue:
        node, pos = queue.popleft()
        if goal in pos:
            found = (node, pos)
            break
        if node >= expanded:
            continue
        here = control(node)
        for e in range(offs[node], offs[node + 1]):
            v = dst[e]
            there = control(v)
            npos = pos if there == here else path_step(pattern, pos, there)
            if npos and (v, npos) not in parents:
                parents[(v, npos)] = ((node, pos), e)
                queue.append((v, npos))
    if found is not None:
        edges: list[int] = []
        key: tuple[int, frozenset[int]] | None = found
        while key is not None and parents[key] is not None:
            prev, e = parents[key]  # type: ignore[misc]
            edges.append(e)
            key = prev
        trace = trace_of(exploration, edges[::-1])
        return make_verdict(
            prop,
            exploration,
            variant,
            "holds",
            f"witness: a shortest run taking {side} through {prop.formula}",
            trace,
        )
    if not exploration.complete:
        return make_verdict(
            prop, exploration, variant, "unknown", f"exploration incomplete ({exploration.limit})"
        )
    return make_verdict(
        prop, exploration, variant, "violated", f"no run takes {side} through {', '.join(pattern)}"
    )


def premise_and_goal(prop: Property) -> tuple[Formula, Formula]:
    """``(p, q)`` of a property read as ``p ~> q``: its two sides for ``leads-to``,
    ``true`` and the formula otherwise (``eventually``; invariant and reachable use q).

    >>> [str(f) for f in premise_and_goal(load_properties()[9])]
    ['A = FIN-WAIT-2', 'A = CLOSED']
    """
    # Names were checked against the base spec at load time; a variant may lack a state
    # (no-time-wait has no TIME-WAIT), which then simply never holds.
    if prop.kind == "leads-to":
        p, q = prop.formula.split("~>")
        return parse_formula(p), parse_formula(q)
    return parse_formula("true"), parse_formula(prop.formula)


def _path(exploration: Exploration, parents: Mapping[int, tuple[int, int]], node: int) -> list[int]:
    """Edge indices from the initial state to ``node`` along ``parents``."""
    edges: list[int] = []
    while node != 0:
        prev, edge = parents[node]
        edges.append(edge)
        node = prev
    edges.reverse()
    return edges


def _bfs_parents(
    exploration: Exploration, allowed: Any = None, sources: Iterable[int] = (0,)
) -> dict[int, tuple[int, int]]:
    """Breadth-first parents (``node -> (previous, edge index)``) from ``sources``."""
    offs, dst = exploration.offsets, exploration.dst
    parents: dict[int, tuple[int, int]] = {s: (-1, -1) for s in sources}
    queue = deque(parents)
    expanded = len(offs) - 1
    while queue:
        u = queue.popleft()
        if u >= expanded:
            continue
        for e in range(offs[u], offs[u + 1]):
            v = dst[e]
            if v not in parents and (allowed is None or allowed(v)):
                parents[v] = (u, e)
                queue.append(v)
    return parents


def trace_of(
    exploration: Exploration, edges: list[int], *, loop: int | None = None, stops: bool = False
) -> Trace:
    """A :class:`Trace` from edge indices of ``exploration``."""
    steps = tuple(
        Step(exploration.labels[exploration.lbl[e]], exploration.state(exploration.dst[e]))
        for e in edges
    )
    return Trace(exploration.state(0), steps, loop, stops)


class Explored(Protocol):
    """What a verdict reports about the graph it was decided on (an untimed
    :class:`~checker.product.explore.Exploration` or a
    :class:`~checker.timed.zonegraph.ZoneGraph`)."""

    @property
    def states(self) -> int: ...

    @property
    def config(self) -> ProductConfig: ...


def make_verdict(
    prop: Property,
    exploration: Explored,
    variant: str | None,
    value: str,
    message: str,
    trace: Trace | None = None,
    assumptions: tuple[str, ...] = (),
) -> Verdict:
    """A :class:`Verdict` for ``prop`` on ``exploration``, with its expectation filled in
    (``states`` counts the graph's states, or zone-graph nodes for a timed property)."""
    return Verdict(
        prop=prop,
        variant=variant,
        verdict=value,
        expected=prop.expected_for(variant),
        assumptions=assumptions,
        trace=trace,
        message=message,
        states=exploration.states,
        config=exploration.config,
    )


def check_property(
    prop: Property, exploration: Exploration, variant: str | None, fairness_off: Iterable[str] = ()
) -> Verdict:
    """Decide ``prop`` on an explored graph (see the module docstring)."""
    from .liveness import check_leads_to

    if prop.kind == "path":
        return _check_path(prop, exploration, variant)
    p, q = premise_and_goal(prop)
    n = exploration.states
    complete = exploration.complete

    def verdict(value: str, message: str, trace: Trace | None = None) -> Verdict:
        return make_verdict(prop, exploration, variant, value, message, trace)

    states = exploration.decoded()

    if prop.kind in ("invariant", "reachable"):
        looking_for = prop.kind == "reachable"  # a state where q holds, or one where it fails
        # Node ids are in breadth-first order, so the first hit has a shortest path.
        hit = next((i for i in range(n) if q(states[i]) == looking_for), None)
        if hit is not None:
            parents = _bfs_parents(exploration)
            trace = trace_of(exploration, _path(exploration, parents, hit))
            if prop.kind == "invariant":
                return verdict("violated", f"a reachable state violates {q}", trace)
            return verdict("holds", f"witness: a shortest path to {q}", trace)
        if not complete:
            return verdict("unknown", f"exploration incomplete ({exploration.limit})", None)
        if prop.kind == "invariant":
            return verdict("holds", f"{q} holds in all {n:,} reachable states", None)
        return verdict("violated", f"no reachable state satisfies {q}", None)

    if prop.kind == "deadlock-free":
        assert prop.final is not None
        final = parse_formula(prop.final)
        blocked = set(exploration.capacity_blocked)
        bad = [d for d in exploration.deadlocks if not final(states[d])]
        real = [d for d in bad if d not in blocked]
        if real:
            parents = _bfs_parents(exploration)
            trace = trace_of(exploration, _path(exploration, parents, real[0]), stops=True)
            return verdict("violated", f"{len(real):,} reachable deadlocks outside {final}", trace)
        if bad:
            return verdict(
                "unknown",
                f"{len(bad):,} deadlocks outside {final}, all caused by a full "
                "channel (raise --capacity or allow losses)",
                None,
            )
        if not complete:
            return verdict("unknown", f"exploration incomplete ({exploration.limit})", None)
        return verdict("holds", f"every deadlock satisfies {final}", None)

    assumptions = tuple(f for f in prop.fairness if f not in set(fairness_off))
    return check_leads_to(prop, exploration, variant, p, q, states, assumptions)
