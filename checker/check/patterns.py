"""Move patterns: how timed properties name the moves of one endpoint.

``A enters TIME-WAIT`` matches a move of A from another state into TIME-WAIT;
``B leaves LAST-ACK only by rcv ACK of FIN`` matches B's moves out of LAST-ACK and is
*violated* by any of them whose event is not listed; ``A accepts an old segment`` (or
``an endpoint accepts ...``) matches the arrival of a segment of an earlier incarnation
of the connection that changes the receiver's state -- it was taken for a segment of
the current connection, not dropped (see :func:`checker.model.endpoint.receive_foreign`).

Examples
--------
>>> p = parse_move_pattern("B leaves LAST-ACK only by rcv ACK of FIN")
>>> p.side, p.verb, p.state, p.events
('B', 'leaves', 'LAST-ACK', ('rcv ACK of FIN',))
>>> str(p)
'B leaves LAST-ACK only by rcv ACK of FIN'
>>> p.matches("B", "LAST-ACK", "CLOSED"), p.matches("B", "LAST-ACK", "LAST-ACK")
(True, False)
>>> str(parse_move_pattern("an endpoint accepts an old segment"))
'an endpoint accepts an old segment'
>>> parse_move_pattern("B leaves LAST-AK", ["LAST-ACK", "CLOSED"])
Traceback (most recent call last):
...
ValueError: unknown state 'LAST-AK' (did you mean 'LAST-ACK'?)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..errors import did_you_mean
from ..model.endpoint import Local
from ..model.expr import Expr, ExprSyntaxError
from ..model.expr import parse as parse_expr
from ..product.semantics import Label

__all__ = [
    "PEERS",
    "TIMED_KINDS",
    "Endpoints",
    "MatchableMove",
    "MovePattern",
    "Within",
    "parse_move_pattern",
    "parse_within",
]

TIMED_KINDS = ("timed-exit", "timed-never", "timed-invariant", "timed-within")
#: Where a ``timed-within`` stay is measured (as ``tcpcheck bound --peer``).
PEERS = ("gone", "live")

_OLD = re.compile(r"^\s*(?P<side>A|B|an endpoint)\s+accepts\s+an\s+old\s+segment\s*$")
_WITHIN = re.compile(
    r"^\s*(?P<side>[AB])\s+leaves\s+(?P<state>[A-Z][A-Z0-9-]*)\s+within\s+(?P<limit>.+?)\s*$"
)
_PATTERN = re.compile(
    r"^\s*(?P<side>[AB])\s+(?P<verb>enters|leaves)\s+(?P<state>[A-Z][A-Z0-9-]*)"
    r"(?:\s+only\s+by\s+(?P<events>.+?))?\s*$"
)


class Endpoints(Protocol):
    """A product state as a pattern reads it: each endpoint's local state."""

    def local(self, side: str) -> Local: ...


class MatchableMove(Protocol):
    """What a pattern reads of a move (a move of the zone graph,
    :class:`checker.timed.zonegraph.TimedMove`): its label, the states before and after
    it, and whether the segment it consumed came from an earlier incarnation."""

    @property
    def label(self) -> Label: ...

    @property
    def before(self) -> Endpoints: ...

    @property
    def after(self) -> Endpoints: ...

    @property
    def old(self) -> bool: ...


@dataclass(frozen=True)
class MovePattern:
    """``SIDE enters STATE`` / ``SIDE leaves STATE [only by EVENT, ...]`` /
    ``SIDE accepts an old segment`` (side ``*``: either endpoint; state empty)."""

    side: str
    verb: str
    state: str
    events: tuple[str, ...] | None = None

    def matches(self, side: str, before: str, after: str) -> bool:
        """Does a move of ``side`` from control state ``before`` to ``after`` match?"""
        if side != self.side or before == after:
            return False
        return after == self.state if self.verb == "enters" else before == self.state

    def occurs(self, move: MatchableMove) -> bool:
        """Is ``move`` one of the moves the pattern names?"""
        label = move.label
        if label.actor not in ("A", "B") or self.side not in ("*", label.actor):
            return False
        before = move.before.local(label.actor)
        after = move.after.local(label.actor)
        if self.verb == "accepts":
            return move.old and before != after
        return self.matches(label.actor, before.state, after.state)

    def violated_by(self, move: MatchableMove) -> bool:
        """For ``leaves ... only by``: does ``move`` leave the state some other way?"""
        label = move.label
        if label.actor != self.side:
            return False
        before = move.before.local(self.side).state
        after = move.after.local(self.side).state
        if not self.matches(self.side, before, after):
            return False
        return self.events is not None and label.event not in self.events

    def __str__(self) -> str:
        if self.verb == "accepts":
            who = "an endpoint" if self.side == "*" else self.side
            return f"{who} accepts an old segment"
        text = f"{self.side} {self.verb} {self.state}"
        if self.events is not None:
            text += " only by " + ", ".join(self.events)
        return text


def parse_move_pattern(
    text: str, states: Iterable[str] | None = None, events: Iterable[str] | None = None
) -> MovePattern:
    """Parse a move pattern; names are checked against ``states`` and ``events``."""
    old = _OLD.match(text)
    if old is not None:
        side = old["side"] if old["side"] in ("A", "B") else "*"
        return MovePattern(side, "accepts", "")
    m = _PATTERN.match(text)
    if m is None:
        raise ValueError(
            f"cannot read {text!r}: write 'A enters STATE', 'B leaves STATE only by EVENT, "
            "...' or 'A accepts an old segment'"
        )
    state = m["state"]
    known_states = list(states) if states is not None else None
    if known_states is not None and state not in known_states:
        hint = did_you_mean(state, known_states)
        raise ValueError(f"unknown state '{state}'" + (f" ({hint})" if hint else ""))
    evs: tuple[str, ...] | None = None
    if m["events"] is not None:
        evs = tuple(e.strip() for e in m["events"].split(","))
        known_events = list(events) if events is not None else None
        for ev in evs:
            if known_events is not None and ev not in known_events:
                hint = did_you_mean(ev, known_events)
                raise ValueError(f"unknown event '{ev}'" + (f" ({hint})" if hint else ""))
    elif m["verb"] == "leaves" and text.strip().endswith("by"):
        raise ValueError("'only by' needs at least one event")
    return MovePattern(m["side"], m["verb"], state, evs)


@dataclass(frozen=True)
class Within:
    """``SIDE leaves STATE within LIMIT``: every stay of the endpoint in the state lasts
    at most ``LIMIT`` seconds, an expression over the spec's parameters (``127 * RTO``)."""

    side: str
    state: str
    limit: Expr
    #: The limit as written.
    text: str

    def seconds(self, values: Mapping[str, float]) -> float:
        """The limit at the spec's parameter values."""
        return self.limit.evaluate(values)

    def __str__(self) -> str:
        return f"{self.side} leaves {self.state} within {self.text}"


def parse_within(
    text: str, states: Iterable[str] | None = None, params: Iterable[str] | None = None
) -> Within:
    """Parse a ``timed-within`` claim; names are checked against ``states`` and the
    parameters ``params``.

    >>> w = parse_within("B leaves LAST-ACK within 127 * RTO")
    >>> w.side, w.state, w.seconds({"RTO": 1})
    ('B', 'LAST-ACK', 127.0)
    >>> parse_within("B leaves LAST-ACK within 2 * MSK", params=["MSL", "RTO"])
    Traceback (most recent call last):
    ...
    ValueError: within: unknown parameter 'MSK' (did you mean 'MSL'?)
    """
    m = _WITHIN.match(text)
    if m is None:
        raise ValueError(f"cannot read {text!r}: write 'B leaves LAST-ACK within 127 * RTO'")
    state = m["state"]
    known_states = list(states) if states is not None else None
    if known_states is not None and state not in known_states:
        hint = did_you_mean(state, known_states)
        raise ValueError(f"unknown state '{state}'" + (f" ({hint})" if hint else ""))
    try:
        limit = parse_expr(m["limit"])
    except ExprSyntaxError as exc:
        raise ValueError(f"within: {exc}") from None
    known = list(params) if params is not None else []
    for name in sorted(limit.names()) if params is not None else ():
        if name not in known:
            hint = did_you_mean(name, known)
            raise ValueError(f"within: unknown parameter '{name}'" + (f" ({hint})" if hint else ""))
    return Within(m["side"], state, limit, m["limit"])
