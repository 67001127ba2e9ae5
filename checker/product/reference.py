"""The product automaton, written plainly: two endpoints, two channels, two applications.

This is the *reference* semantics -- dataclasses and readable loops.  The explorer
(:mod:`checker.product.explore`) computes the same successor relation over packed integers for
speed; the test suite checks that the two agree, state for state and edge for edge.

A product state holds both endpoints' local states (:class:`checker.model.endpoint.Local`,
which includes each application's progress), the contents of each one-way channel, and
how many losses and duplications the run has used (when they are bounded).

Moves, each a labelled transition (:class:`Label`):

* an application call (``A: CLOSE``), when the application's mode allows it there;
* a timer expiring (``B: timeout RETX``); a ``quiescent`` timer only when no segment is
  in flight and no other timer of either endpoint can fire;
* a segment delivered (``B: rcv FIN``) -- the head of the channel when it is FIFO, any
  segment when it is unordered;
* a segment lost in flight (``net: lose FIN+ACK A->B``) or duplicated (``net: duplicate``).

A move whose segments do not fit into the outgoing channel is blocked until there is room.

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> p = Product(load_spec(), ProductConfig(loss="none"))
>>> s0 = p.initial()
>>> [label.text() for label, _ in p.successors(s0)]
['A: active OPEN / snd SYN', 'B: passive OPEN']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import ModelError
from ..model.endpoint import (
    Local,
    Step,
    app_may,
    enabled_rule,
    initial_local,
    receive,
    step,
    timer_steps,
)
from ..model.segments import Segment
from ..model.spec import Spec
from .config import AppConfig, ProductConfig

__all__ = ["CHANNELS", "SIDES", "Label", "PState", "Product", "app_steps", "step_label"]

SIDES = ("A", "B")
#: Channel name by sending side.
CHANNELS = {"A": "A->B", "B": "B->A"}


@dataclass(frozen=True)
class Label:
    """What happened on one transition of the product.

    ``actor`` is ``A``, ``B`` or ``net``; ``kind`` is ``user``, ``segment``, ``timeout``,
    ``loss`` or ``dup``; ``rule`` the index of the spec transition taken (endpoint moves).
    """

    actor: str
    kind: str
    event: str
    rule: int | None = None
    received: Segment | None = None
    sent: tuple[Segment, ...] = ()
    segment: Segment | None = None  # the segment lost or duplicated
    channel: str | None = None
    target: str | None = None  # the actor's control state after the move
    dropped: tuple[Segment, ...] = ()  # sent into a full channel and dropped (overflow drop)

    def text(self) -> str:
        """One line, e.g. ``B: rcv FIN / snd ACK`` or ``net: lose FIN+ACK A->B``."""
        if self.actor == "net":
            assert self.segment is not None
            verb = "lose" if self.kind == "loss" else "duplicate"
            return f"net: {verb} {self.segment.name} {self.channel}"
        text = f"{self.actor}: {self.event}"
        if self.sent:
            text += " / snd " + ", ".join(s.name for s in self.sent)
        if self.dropped:
            text += " (channel full: " + ", ".join(s.name for s in self.dropped) + " dropped)"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "actor": self.actor,
            "kind": self.kind,
            "event": self.event,
            "rule": self.rule,
            "received": self.received.describe() if self.received else None,
            "sent": [s.describe() for s in self.sent],
            "lost": self.segment.describe() if self.kind == "loss" and self.segment else None,
            "duplicated": self.segment.describe() if self.kind == "dup" and self.segment else None,
            "channel": self.channel,
            "overflow_dropped": [s.describe() for s in self.dropped],
        }


def app_steps(spec: Spec, app: AppConfig, local: Local) -> list[Step]:
    """The calls ``app`` makes in ``local``: those its modes allow and whose rule succeeds.

    An application opens the way it is configured to, sends only while listening (and
    only if allowed to), closes -- or aborts, if it may -- where its close mode says, and
    never makes a call whose rule is an error response.
    """
    out: list[Step] = []
    for ev in spec.events:
        name = ev.name
        if ev.kind != "user" or not app_may(local, name):
            continue
        if name in ("active OPEN", "passive OPEN"):
            allowed = name.split()[0] == app.open
        elif name == "SEND":
            allowed = app.listen_send and local.state == "LISTEN"
        elif name in ("CLOSE", "ABORT"):
            allowed = (name == "CLOSE" or app.abort) and app.may_close_in(local.state)
        else:
            allowed = False
        if not allowed:
            continue
        rule = enabled_rule(spec, local, name)
        if rule is not None and not rule.error:
            out.append(step(spec, local, rule))
    return out


def step_label(side: str, st: Step, kind: str) -> Label:
    """The product label of an endpoint step (``kind``: user, timeout or segment)."""
    rule = st.rule
    return Label(
        side, kind, rule.event, rule.index, st.received, st.sent, None, CHANNELS[side], rule.target
    )


def _with_drops(label: Label, dropped: tuple[Segment, ...]) -> Label:
    return dataclasses.replace(label, dropped=dropped) if dropped else label


@dataclass(frozen=True)
class PState:
    """A product state.  Unordered channels keep their contents sorted (a multiset)."""

    a: Local
    b: Local
    ab: tuple[Segment, ...] = ()
    ba: tuple[Segment, ...] = ()
    lost: int = 0
    dups: int = 0

    def local(self, side: str) -> Local:
        return self.a if side == "A" else self.b

    def channel_from(self, side: str) -> tuple[Segment, ...]:
        return self.ab if side == "A" else self.ba

    def describe(self) -> str:
        ab = " ".join(s.name for s in self.ab) or "-"
        ba = " ".join(s.name for s in self.ba) or "-"
        return f"A={self.a.state} B={self.b.state} A->B=[{ab}] B->A=[{ba}]"


class Product:
    """The reference product automaton of ``spec`` under ``config``."""

    def __init__(self, spec: Spec, config: ProductConfig) -> None:
        self.spec = spec
        self.config = config
        self._quiet = any(t.untimed == "quiescent" for t in spec.timers)

    # -------------------------------------------------------------- structure ---
    def initial(self) -> PState:
        start = initial_local(self.spec)
        return PState(start, start)

    def _put(
        self, chan: tuple[Segment, ...], segs: tuple[Segment, ...]
    ) -> tuple[tuple[Segment, ...], tuple[Segment, ...]] | None:
        """The channel after sending ``segs`` and what a full channel dropped; ``None`` when
        a blocking channel has no room."""
        room = self.config.capacity - len(chan)
        dropped: tuple[Segment, ...] = ()
        if len(segs) > room:
            if self.config.overflow == "block":
                return None
            segs, dropped = segs[: max(room, 0)], segs[max(room, 0) :]
        out = chan + segs
        return (tuple(sorted(out)) if self.config.ordering == "unordered" else out), dropped

    def _with(
        self,
        s: PState,
        side: str,
        local: Local,
        incoming: tuple[Segment, ...] | None,
        sent: tuple[Segment, ...],
    ) -> tuple[PState, tuple[Segment, ...]] | None:
        """``s`` after ``side`` moved to ``local``, consumed into ``incoming`` and sent
        ``sent``, with the segments a full channel dropped; ``None`` if it blocks."""
        put = self._put(s.channel_from(side), sent)
        if put is None:
            return None
        out, dropped = put
        if side == "A":
            nxt = PState(local, s.b, out, s.ba if incoming is None else incoming, s.lost, s.dups)
        else:
            nxt = PState(s.a, local, s.ab if incoming is None else incoming, out, s.lost, s.dups)
        return nxt, dropped

    # ------------------------------------------------------------ successors ---
    def endpoint_moves(self, s: PState, side: str) -> Iterator[tuple[Label, PState]]:
        """Application calls, timers and deliveries of one endpoint."""
        spec = self.spec
        local = s.local(side)
        moves = [(st, "user") for st in app_steps(spec, self.config.app(side), local)]
        moves += [(st, "timeout") for st in timer_steps(spec, local, "any")]
        if self._quiet and self._quiescent(s):
            moves += [(st, "timeout") for st in timer_steps(spec, local, "quiescent")]
        for st, kind in moves:
            result = self._with(s, side, st.target, None, st.sent)
            if result is not None:
                yield _with_drops(step_label(side, st, kind), result[1]), result[0]

        incoming = s.ba if side == "A" else s.ab
        positions = [0] if self.config.ordering == "fifo" else range(len(incoming))
        seen: set[Segment] = set()
        for i in positions:
            if i >= len(incoming) or incoming[i] in seen:
                continue
            seg = incoming[i]
            seen.add(seg)
            st2 = receive(spec, local, seg)
            if st2 is None:
                raise ModelError(
                    f"{local.describe()} received {seg.describe()}, which the segment abstraction "
                    "cannot place (it acknowledges something never sent)"
                )
            rest = incoming[:i] + incoming[i + 1 :]
            result = self._with(s, side, st2.target, rest, st2.sent)
            if result is not None:
                yield _with_drops(step_label(side, st2, "segment"), result[1]), result[0]

    def _quiescent(self, s: PState) -> bool:
        """No segment in flight, and no non-quiescent timer of either endpoint can fire."""
        if s.ab or s.ba:
            return False
        return not any(timer_steps(self.spec, loc, "any") for loc in (s.a, s.b))

    def network_moves(self, s: PState) -> Iterator[tuple[Label, PState]]:
        """Losses and duplications of segments in flight."""
        cfg = self.config
        budget = cfg.loss_budget
        if budget is None or s.lost < budget:
            counted = budget is not None
            for side in SIDES:
                chan = s.channel_from(side)
                results: dict[tuple[Segment, ...], Segment] = {}
                for i, seg in enumerate(chan):
                    rest = chan[:i] + chan[i + 1 :]
                    results.setdefault(rest, seg)
                for rest, seg in results.items():
                    lost = s.lost + 1 if counted else s.lost
                    nxt = (
                        PState(s.a, s.b, rest, s.ba, lost, s.dups)
                        if side == "A"
                        else PState(s.a, s.b, s.ab, rest, lost, s.dups)
                    )
                    yield Label("net", "loss", "lose", segment=seg, channel=CHANNELS[side]), nxt
        if s.dups < cfg.dup_budget:
            for side in SIDES:
                chan = s.channel_from(side)
                for seg in sorted(set(chan)):
                    put = self._put(chan, (seg,))
                    if put is None or put[1]:
                        continue  # no room for a duplicate
                    grown = put[0]
                    nxt = (
                        PState(s.a, s.b, grown, s.ba, s.lost, s.dups + 1)
                        if side == "A"
                        else PState(s.a, s.b, s.ab, grown, s.lost, s.dups + 1)
                    )
                    yield Label("net", "dup", "duplicate", segment=seg, channel=CHANNELS[side]), nxt

    def successors(self, s: PState) -> list[tuple[Label, PState]]:
        """Every move from ``s``: A's, then B's, then the network's, in a fixed order."""
        out = list(self.endpoint_moves(s, "A"))
        out += self.endpoint_moves(s, "B")
        out += self.network_moves(s)
        return out
