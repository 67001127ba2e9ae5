"""The product's tables as rows of small integers, for the search loops.

Both search loops (:mod:`checker.product.search`: the compiled one and its pure-Python
twin) see a product state as four 32-bit words::

    w0 = A's local id | B's local id << 16
    w1 = the id of A->B's contents
    w2 = the id of B->A's contents
    w3 = losses used | duplications used << 4 | segments forged << 8

and ask :class:`FlatTables` for each row they have not met yet: what an endpoint can do
from its local state and incoming channel, what pushing a burst gives, what can be lost
or duplicated from one channel (a row per channel, not per pair of channels), what the
quiescent expiries and the attacker's segments do.  The rows come from
:class:`checker.product.tables.Tables`, that is from the product's rules; nothing here
decides a move.

Examples
--------
>>> from checker import load_spec
>>> from checker.product.config import ProductConfig
>>> flat = FlatTables(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> [flat.tables.labels[lab].text() for _new, _in, _oid, lab in flat.items(0, flat.start, 0)]
['A: active OPEN / snd SYN']
"""

from __future__ import annotations

from ..errors import ModelError
from ..model.endpoint import initial_local
from ..model.spec import Spec
from .config import ProductConfig
from .semantics import SIDES, quiescent, universe, waits_for_quiescence
from .tables import Tables

__all__ = ["MAX_CHANNELS", "MAX_LOCALS", "FlatTables"]

MAX_LOCALS = 1 << 16  # a local id is half of w0
MAX_CHANNELS = 1 << 31  # a channel id is a word; the memo keys spend one bit more


class FlatTables:
    """The rows of one product (see the module docstring)."""

    def __init__(self, spec: Spec, config: ProductConfig) -> None:
        self.tables = core = Tables(spec, config)
        self.spec = spec
        self.config = config
        self.start = core.lid(initial_local(spec))
        # Every local state the search can meet is in the product's universe: numbered up
        # front, so that ids never depend on the order the search meets them in.
        all_locals, _segments = universe(spec, config)
        for loc in all_locals:
            core.lid(loc)
        self._check_sizes()
        net = core.network
        self.drop_overflow = net.drops_overflow
        self.quiet_on = waits_for_quiescence(spec)
        self.may_lose = [net.may_lose(k) for k in range(16)]
        self.may_dup = [net.may_duplicate(k) for k in range(16)]
        self.any_loss = net.loss is None  # no count kept: every state may lose
        self.lost_one = 1 if net.counts_losses else 0
        self._overflow: dict[tuple[int, int, int, int], tuple[int, int]] = {}

    def _check_sizes(self) -> None:
        core = self.tables
        if len(core.locals) > MAX_LOCALS or len(core.chans) > MAX_CHANNELS:
            raise ModelError(
                f"{len(core.locals)} local states or {len(core.chans)} channel contents: "
                f"the search numbers at most {MAX_LOCALS} and {MAX_CHANNELS}"
            )

    @property
    def initial(self) -> tuple[int, int, int, int]:
        """The initial state's words: both endpoints initial, nothing in flight."""
        return (self.start | (self.start << 16), 0, 0, 0)

    def items(self, side: int, me: int, incoming: int) -> list[tuple[int, int, int, int]]:
        """Moves of one endpoint (``side`` 0 for A) in local state ``me`` whose incoming
        channel is ``incoming``, needing no quiescence: ``(new local, incoming channel
        after, outs id, label)`` (:meth:`Tables.endpoint_table`)."""
        rows = [
            (new, rest, oid, lab)
            for lab, new, oid, rest in self.tables.endpoint_table(SIDES[side], me, incoming)
        ]
        self._check_sizes()
        return rows

    def push(self, side: int, chan: int, oid: int) -> int:
        """The channel after pushing burst ``oid``, or -1 when it does not fit."""
        out = self.tables.push(chan, self.tables.outs[oid])
        self._check_sizes()
        return out

    def overflow(self, side: int, chan: int, oid: int, lab: int) -> tuple[int, int]:
        """A burst that does not fit a channel that drops: the channel after it and the
        move's label naming what was dropped."""
        key = (side, chan, oid, lab)
        found = self._overflow.get(key)
        if found is None:
            core = self.tables
            new_chan, dropped = core.overflow(chan, core.outs[oid])
            found = (new_chan, core.intern(core.labels[lab].with_dropped(dropped)))
            self._overflow[key] = found
            self._check_sizes()
        return found

    def _out(self, side: int, chan: int, oid: int, lab: int) -> tuple[int, int] | None:
        """Push burst ``oid`` into ``chan``: (channel, label), or None when it waits."""
        if not oid:
            return chan, lab
        pushed = self.push(side, chan, oid)
        if pushed >= 0:
            return pushed, lab
        if not self.drop_overflow:
            return None  # the answer waits for room
        return self.overflow(side, chan, oid, lab)

    def quiet(self, a: int, b: int) -> list[tuple[int, int, int, int]]:
        """The expiries that wait for quiescence in a state with both channels empty:
        ``(side, new local, its outgoing channel, label)``."""
        core = self.tables
        if not quiescent(False, (core.has_any_timer(a), core.has_any_timer(b))):
            return []
        rows: list[tuple[int, int, int, int]] = []
        for side, me in ((0, a), (1, b)):
            for lab, new, oid in core.quiet_table(SIDES[side], me):
                out = self._out(side, 0, oid, lab)
                if out is not None:
                    rows.append((side, new, out[0], out[1]))
        return rows

    def losses(self, side: int, chan: int) -> list[tuple[int, int]]:
        """Each distinct loss from ``side``'s outgoing channel: (channel after, label)."""
        return self._network_rows("loss", side, self.tables.losses(chan))

    def dups(self, side: int, chan: int) -> list[tuple[int, int]]:
        """Each duplication that fits in ``side``'s outgoing channel: (channel, label)."""
        return self._network_rows("dup", side, self.tables.dups(chan))

    def _network_rows(
        self, kind: str, side: int, moves: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """(channel after, label) for each (segment code, channel after) of a loss or a
        duplication by the network."""
        core = self.tables
        rows = [(other, core.net_label(kind, code, SIDES[side])) for code, other in moves]
        self._check_sizes()
        return rows

    def attacks(self, side: int, me: int, chan: int) -> list[tuple[int, int, int]]:
        """The forged segments' arrivals at ``side`` in local state ``me`` whose outgoing
        channel is ``chan``: (new local, outgoing channel, label), each not waiting for
        room."""
        rows: list[tuple[int, int, int]] = []
        for lab, new, oid in self.tables.attack_table(SIDES[side], me):
            out = self._out(side, chan, oid, lab)
            if out is not None:
                rows.append((new, out[0], out[1]))
        return rows
