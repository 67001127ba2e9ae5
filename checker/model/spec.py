"""A protocol spec as typed data: its parameters, states, events, timers and transitions.

The spec is the single source of every transition (see the comment at the top of
``spec/tcp.toml`` for the format).  These are the loaded spec's types; reading the files,
applying a variant overlay and validating the result is :mod:`checker.model.load`'s
business, and what one endpoint does with a spec is :mod:`checker.model.endpoint`'s.

Examples
--------
>>> from checker.model.load import load_spec
>>> spec = load_spec()
>>> spec.name, len(spec.states)
('tcp', 11)
>>> [t.target for t in spec.rules("FIN-WAIT-1", "rcv FIN+ACK of FIN")]
['TIME-WAIT']
>>> spec.state("SYN-SENT").sent, spec.retry_cap
(1, 7)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .expr import Expr
from .guards import Guard
from .segments import Acceptance

__all__ = [
    "CHOICE_KINDS",
    "USER_EVENTS",
    "Choice",
    "Event",
    "Parameter",
    "Spec",
    "State",
    "Timer",
    "Transition",
    "Variant",
]

#: User calls the application model knows how to issue (checker/product/config.py).
USER_EVENTS = ("active OPEN", "passive OPEN", "SEND", "CLOSE", "ABORT")


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
    #: The kernel setting this parameter is (``net.ipv4.tcp_rto_min_us``), or "".
    sysctl: str = ""


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
    #: The timer starts anew, its clock and its retry count (a segment of its own is
    #: now the one it guards: RFC 6298 §5.3, an ACK of new data).
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


#: What a stated choice is about: something left out of the model, a reading of the RFC
#: where it allows more than one, a pick between RFC generations (RFC 793, RFC 5961,
#: RFC 9293), or between a MUST and a SHOULD (or a MAY).
CHOICE_KINDS = {
    "abstraction": "not modelled",
    "reading": "a reading of the RFC",
    "generation": "a choice between RFC generations",
    "requirement": "a choice between requirement levels",
}


@dataclass(frozen=True)
class Choice:
    """One thing the spec chose or left out, stated with why (``[[choices]]``)."""

    topic: str
    kind: str
    decision: str
    why: str
    ref: str
    file: str


@dataclass(frozen=True)
class Variant:
    """The overlay a spec was built with."""

    name: str
    description: str
    ref: str
    broken: bool
    file: str
    #: The variants it is laid on, the nearest first (none: on the base spec).
    lineage: tuple[str, ...] = ()

    @property
    def builds_on(self) -> str:
        """What the variant is laid on: the nearest overlay's name, or ``base``."""
        return self.lineage[0] if self.lineage else "base"


@dataclass(frozen=True)
class Spec:
    """A loaded, validated endpoint spec (base plus at most one variant overlay).

    Built by :func:`checker.model.load.load_spec`; the lookups below are derived from the
    transitions and parameters once, when the spec is made.

    Examples
    --------
    >>> from checker import load_spec
    >>> spec = load_spec()
    >>> spec.name, spec.initial, spec.variant is None
    ('tcp', 'CLOSED', True)
    >>> [e.name for e in spec.events][:5]
    ['active OPEN', 'passive OPEN', 'SEND', 'CLOSE', 'ABORT']
    """

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
    #: What the spec chose or left out, and why (the base's, with a variant's by topic).
    choices: tuple[Choice, ...] = ()
    #: Which acknowledgments are acceptable where RFC generations differ.
    acceptance: Acceptance = field(default_factory=Acceptance)
    #: Parameter values by name.
    values: dict[str, float] = field(init=False, repr=False, compare=False)
    #: The largest value the retransmission counter needs (it saturates there).
    retry_cap: int = field(init=False, repr=False, compare=False)
    _states: dict[str, State] = field(init=False, repr=False, compare=False)
    _by_pair: dict[tuple[str, str], tuple[Transition, ...]] = field(
        init=False, repr=False, compare=False
    )
    #: The memo tables of the endpoint semantics, which build on this module and so
    #: cannot be named here: :class:`checker.model.endpoint.EndpointMemo`, made by
    #: endpoint.py on first use and read by nothing else.  A fresh spec (also one from
    #: :func:`dataclasses.replace`) starts without one.
    endpoint_memo: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = {p.name: p.value for p in self.parameters}
        # The retry counter needs to count up to the largest finite bound a guard compares
        # it with; past that it saturates, so an infinite bound (R2 = infinity, MUST-21)
        # keeps the state space finite: the endpoint then retransmits forever.
        bounds = [values[p] for t in self.transitions for p in t.guard.parameters()]
        finite = [int(b) for b in bounds if b != float("inf")]
        by_pair: dict[tuple[str, str], list[Transition]] = {}
        for t in self.transitions:
            by_pair.setdefault((t.source, t.event), []).append(t)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "retry_cap", max(finite, default=0))
        object.__setattr__(self, "_states", {s.name: s for s in self.states})
        object.__setattr__(self, "_by_pair", {k: tuple(v) for k, v in by_pair.items()})

    # -- lookups -------------------------------------------------------------------
    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    def has_state(self, name: str) -> bool:
        return any(s.name == name for s in self.states)

    def state(self, name: str) -> State:
        return self._states[name]

    def event(self, name: str) -> Event:
        for e in self.events:
            if e.name == name:
                return e
        raise KeyError(name)

    def rules(self, source: str, event: str) -> tuple[Transition, ...]:
        """The transitions for ``event`` in ``source``, in spec order."""
        return self._by_pair.get((source, event), ())

    def from_sysctls(self, settings: Mapping[str, str]) -> dict[str, float]:
        """The parameter values a kernel's settings give: each parameter that names a
        sysctl, from its value there (``_us`` and ``_ms`` settings are in micro- and
        milliseconds, the model's times in seconds); settings the spec does not name, or
        that are not numbers, are left out.

        >>> from checker.model.load import load_spec
        >>> load_spec(variant="linux").from_sysctls(
        ...     {"net.ipv4.tcp_rto_min_us": "50000", "net.ipv4.tcp_syn_retries": "3"})
        {'RTO_MIN': 0.05, 'TCP_SYN_RETRIES': 3.0}
        """
        out: dict[str, float] = {}
        for p in self.parameters:
            text = settings.get(p.sysctl) if p.sysctl else None
            if text is None:
                continue
            try:
                value = float(text)
            except ValueError:
                continue
            scale = 1e-6 if p.sysctl.endswith("_us") else 1e-3 if p.sysctl.endswith("_ms") else 1
            out[p.name] = round(value * scale, 9)
        return out

    def timer_for_event(self, event: str) -> Timer | None:
        for t in self.timers:
            if t.event == event:
                return t
        return None

    @property
    def heading(self) -> str:
        """The title, with the variant and what it is laid on when it is one.

        >>> from checker.model.load import load_spec
        >>> load_spec(variant="linux").heading
        'TCP connection management (RFC 9293) — variant linux'
        """
        v = self.variant
        if v is None:
            return self.title
        on = f" (on {' on '.join(v.lineage)})" if v.lineage else ""
        return f"{self.title} — variant {v.name}{on}"

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``tcpcheck spec --json``."""
        return {
            "name": self.name,
            "variant": self.variant.name if self.variant else None,
            "builds_on": list(self.variant.lineage) if self.variant else [],
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
            "choices": [
                {
                    "topic": c.topic,
                    "kind": c.kind,
                    "decision": c.decision,
                    "why": c.why,
                    "ref": c.ref,
                }
                for c in self.choices
            ],
        }
