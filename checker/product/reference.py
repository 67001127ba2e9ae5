"""The product automaton, written plainly: two endpoints, two channels, two applications.

This is the *reference* semantics -- dataclasses and readable loops.  The explorer
(:mod:`checker.product.explore`) computes the same successor relation over four-word states for
speed; both read the rules of :mod:`checker.product.semantics` and
:mod:`checker.product.network`, and the test suite checks that the two agree, state for
state and edge for edge.

A product state holds both endpoints' local states (:class:`checker.model.endpoint.Local`,
which includes each application's progress), the contents of each one-way channel, and
how many losses and duplications the run has used (when they are bounded).

Moves, each a labelled transition (:class:`Label`):

* an application call (``A: CLOSE``), when the application's mode allows it there;
* a timer expiring (``B: timeout RETX``); a ``quiescent`` timer only when no segment is
  in flight and no other timer of either endpoint can fire;
* a segment delivered (``B: rcv FIN``) -- the head of the channel when it is FIFO, any
  segment when it is unordered;
* a segment lost in flight (``net: lose FIN+ACK A->B``) or duplicated (``net: duplicate``);
* a segment an off-path attacker forges, arriving at an endpoint
  (``A: rcv RST in window (forged RST seq=2)``), while the attacker's budget lasts.

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

from collections.abc import Iterator

from ..model.endpoint import Local, initial_local
from ..model.segments import Segment
from ..model.spec import Spec
from .config import ProductConfig
from .network import Network
from .semantics import (
    SIDES,
    Label,
    PState,
    attack_steps,
    endpoint_moves,
    net_label,
    quiescent,
    step_label,
    timer_pending,
    waits_for_quiescence,
)

__all__ = ["Product"]


class Product:
    """The reference product automaton of ``spec`` under ``config``: its moves on
    dataclasses, one state at a time (:func:`~checker.product.explore.explore` searches
    a compact twin of it).

    Examples
    --------
    >>> from checker import ProductConfig, load_spec
    >>> product = Product(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    >>> start = product.initial()
    >>> for label, state in product.successors(start):
    ...     print(f"{label.text():26} -> {state.describe()}")
    A: active OPEN / snd SYN   -> A=SYN-SENT B=CLOSED A->B=[SYN] B->A=[-]
    B: passive OPEN            -> A=CLOSED B=LISTEN A->B=[-] B->A=[-]
    """

    def __init__(self, spec: Spec, config: ProductConfig) -> None:
        self.spec = spec
        self.config = config
        self.network = Network.of(config)
        self._quiet = waits_for_quiescence(spec)

    # -------------------------------------------------------------- structure ---
    def initial(self) -> PState:
        start = initial_local(self.spec)
        return PState(start, start)

    def _with(
        self,
        s: PState,
        side: str,
        local: Local,
        incoming: tuple[Segment, ...] | None,
        sent: tuple[Segment, ...],
        injected: int = 0,
    ) -> tuple[PState, tuple[Segment, ...]] | None:
        """``s`` after ``side`` moved to ``local``, consumed into ``incoming``, sent
        ``sent`` and received ``injected`` more forged segments, with the segments a full
        channel dropped; ``None`` if it blocks."""
        put = self.network.push(s.channel_from(side), sent)
        if put is None:
            return None
        out, dropped = put
        n = s.injected + injected
        if side == "A":
            nxt = PState(local, s.b, out, s.ba if incoming is None else incoming, s.lost, s.dups, n)
        else:
            nxt = PState(s.a, local, s.ab if incoming is None else incoming, out, s.lost, s.dups, n)
        return nxt, dropped

    # ------------------------------------------------------------ successors ---
    def quiet(self, s: PState) -> bool:
        """Is ``s`` quiescent, so that the timers waiting for quiescence may fire?"""
        return self._quiet and quiescent(
            bool(s.ab or s.ba), (timer_pending(self.spec, loc) for loc in (s.a, s.b))
        )

    def endpoint_moves(
        self, s: PState, side: str, quiet: bool | None = None
    ) -> Iterator[tuple[Label, PState]]:
        """Application calls, timers and deliveries of one endpoint (``quiet``:
        :meth:`quiet` of ``s``, if the caller has it already)."""
        if quiet is None:
            quiet = self.quiet(s)
        incoming = s.ba if side == "A" else s.ab
        for mv in endpoint_moves(
            self.spec, self.config.app(side), self.network, s.local(side), incoming, quiet=quiet
        ):
            rest = None
            if mv.consumed is not None:
                rest = incoming[: mv.consumed] + incoming[mv.consumed + 1 :]
            result = self._with(s, side, mv.step.target, rest, mv.step.sent)
            if result is not None:
                yield mv.label(side).with_dropped(result[1]), result[0]

    def waiting_for_room(self, s: PState) -> list[Label]:
        """The endpoint moves a full channel blocks in ``s`` (a ``block`` network only):
        what a larger capacity would let happen.

        Examples
        --------
        >>> from checker.model.load import load_spec
        >>> from checker.product.config import ProductConfig
        >>> p = Product(load_spec(), ProductConfig(capacity=1))
        >>> (_, s1), = [m for m in p.successors(p.initial()) if m[0].actor == "A"]
        >>> [label.text() for label in p.waiting_for_room(s1)]
        ['A: timeout RETX / snd SYN']
        """
        quiet = self.quiet(s)
        out = []
        for side in SIDES:
            incoming = s.ba if side == "A" else s.ab
            for mv in endpoint_moves(
                self.spec, self.config.app(side), self.network, s.local(side), incoming, quiet=quiet
            ):
                if mv.step.sent and self.network.push(s.channel_from(side), mv.step.sent) is None:
                    out.append(mv.label(side))
        return out

    def network_moves(self, s: PState) -> Iterator[tuple[Label, PState]]:
        """Losses and duplications of segments in flight."""
        net = self.network
        if net.may_lose(s.lost):
            lost = s.lost + 1 if net.counts_losses else s.lost
            for side in SIDES:
                for _i, seg, rest in net.losses(s.channel_from(side)):
                    nxt = (
                        PState(s.a, s.b, rest, s.ba, lost, s.dups, s.injected)
                        if side == "A"
                        else PState(s.a, s.b, s.ab, rest, lost, s.dups, s.injected)
                    )
                    yield net_label("loss", seg, side), nxt
        if net.may_duplicate(s.dups):
            for side in SIDES:
                for seg, grown in net.duplicates(s.channel_from(side)):
                    nxt = (
                        PState(s.a, s.b, grown, s.ba, s.lost, s.dups + 1, s.injected)
                        if side == "A"
                        else PState(s.a, s.b, s.ab, grown, s.lost, s.dups + 1, s.injected)
                    )
                    yield net_label("dup", seg, side), nxt

    def attack_moves(self, s: PState) -> Iterator[tuple[Label, PState]]:
        """The attacker's forged segments arriving at A, then at B, while its budget
        lasts (:func:`checker.product.semantics.attack_steps`)."""
        if s.injected >= self.config.attacker:
            return
        for side in SIDES:
            for st in attack_steps(self.spec, self.config, s.local(side)):
                result = self._with(s, side, st.target, None, st.sent, injected=1)
                if result is not None:
                    label = step_label(side, st, "attack")
                    yield label.with_dropped(result[1]), result[0]

    def successors(self, s: PState) -> list[tuple[Label, PState]]:
        """Every move from ``s``: A's, then B's, then the network's, in a fixed order."""
        quiet = self.quiet(s)  # a property of the state: once for both endpoints
        out = list(self.endpoint_moves(s, "A", quiet))
        out += self.endpoint_moves(s, "B", quiet)
        out += self.network_moves(s)
        out += self.attack_moves(s)
        return out
