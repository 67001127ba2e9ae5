"""The product's rules as memoized tables over small integers.

The explorer (:mod:`checker.product.explore`) and the Promela generator
(:mod:`checker.export.promela`) never handle a dataclass in their inner loops: an
endpoint's local state is an id, a channel's contents an id, a burst of sent segments an
id, a label an id.  :class:`Tables` numbers them and fills, on first use, what each id
can do -- by asking :mod:`checker.product.semantics` and :mod:`checker.product.network`,
so the tables are the product's rules, not a second reading of them.

Examples
--------
>>> from checker import load_spec
>>> from checker.product.config import ProductConfig
>>> t = Tables(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> start = t.lid(t.spec_initial())
>>> [t.labels[lab].text() for lab, _new, _oid, _rest in t.endpoint_table("A", start, 0)]
['A: active OPEN / snd SYN']
"""

from __future__ import annotations

from ..errors import ModelError, UsageError
from ..model.endpoint import Local, Step, initial_local
from ..model.segments import Segment
from ..model.spec import Spec
from .config import ProductConfig
from .network import Network
from .semantics import (
    Label,
    attack_steps,
    delivery,
    local_moves,
    net_label,
    quiet_only_timer_steps,
    step_label,
    timer_pending,
)

__all__ = ["MAX_LABELS", "Tables", "segment_order"]

MAX_LABELS = 65535  # label ids are stored as unsigned 16-bit integers


def segment_order(code: int) -> tuple[int, int, bool, int]:
    """Sort key of a segment code: flags, sequence number, data, acknowledgment.

    Unordered channels are kept sorted (a canonical multiset); the packed and the
    reference product must sort alike so that their states coincide.
    """
    seg = Segment.from_code(code)
    return (seg.flags, seg.seq, seg.data, seg.ack)


class Tables:
    """The memoized tables of one product (see the module docstring)."""

    def __init__(self, spec: Spec, config: ProductConfig) -> None:
        self.spec = spec
        self.config = config
        self.network = Network.of(config)
        self.locals: list[Local] = []
        self.local_id: dict[Local, int] = {}
        self.chans: list[tuple[int, ...]] = [()]
        self.chan_id: dict[tuple[int, ...], int] = {(): 0}
        self.labels: list[Label] = []
        self.label_id: dict[Label, int] = {}
        self.outs: list[tuple[int, ...]] = [()]
        self.outs_id: dict[tuple[int, ...], int] = {(): 0}
        self._net_labels: dict[tuple[str, int, str], int] = {}
        self._pending: dict[int, bool] = {}
        self._moves: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
        self._recv: dict[tuple[str, int, int], tuple[int, int, int]] = {}
        self._deliveries: dict[int, list[tuple[int, int]]] = {}
        self._attacks: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
        unknown = [n for n in config.attack_states if n not in spec.state_names]
        if unknown:
            raise UsageError(
                f"attack states: no state {', '.join(unknown)} in {', '.join(spec.files)} "
                f"(states: {', '.join(spec.state_names)})"
            )

    def spec_initial(self) -> Local:
        return initial_local(self.spec)

    # ------------------------------------------------------------- numbering ---
    def lid(self, local: Local) -> int:
        i = self.local_id.get(local)
        if i is None:
            i = self.local_id[local] = len(self.locals)
            self.locals.append(local)
        return i

    def cid(self, content: tuple[int, ...]) -> int:
        i = self.chan_id.get(content)
        if i is None:
            i = self.chan_id[content] = len(self.chans)
            self.chans.append(content)
        return i

    def oid(self, segs: tuple[Segment, ...]) -> int:
        codes = tuple(s.code for s in segs)
        i = self.outs_id.get(codes)
        if i is None:
            if len(self.outs) >= 1 << 16:
                raise ModelError("more than 65536 distinct bursts of sent segments")
            i = self.outs_id[codes] = len(self.outs)
            self.outs.append(codes)
        return i

    def intern(self, lab: Label) -> int:
        i = self.label_id.get(lab)
        if i is None:
            if len(self.labels) >= MAX_LABELS:
                raise ModelError(
                    f"more than {MAX_LABELS} distinct transition labels: "
                    "the spec is far larger than a TCP endpoint"
                )
            i = self.label_id[lab] = len(self.labels)
            self.labels.append(lab)
        return i

    def net_label(self, kind: str, seg: int, side: str) -> int:
        memo = self._net_labels.get((kind, seg, side))
        if memo is not None:
            return memo
        i = self._net_labels[(kind, seg, side)] = self.intern(
            net_label(kind, Segment.from_code(seg), side)
        )
        return i

    # ----------------------------------------------------------- endpoint tables ---
    def entry(self, side: str, st: Step, kind: str) -> tuple[int, int, int]:
        """A table entry for an endpoint step: label id, new local id, outs id."""
        return self.intern(step_label(side, st, kind)), self.lid(st.target), self.oid(st.sent)

    def endpoint_table(self, side: str, lid: int, incoming: int) -> list[tuple[int, int, int, int]]:
        """The moves of ``side`` in local state ``lid`` whose incoming channel is
        ``incoming`` that need no quiescence: ``(label id, new local id, outs id, incoming
        channel id after)``.  They are :func:`checker.product.semantics.endpoint_moves`,
        put together from its two parts, each memoized on its own: the moves of the local
        state (:meth:`moves`) and the delivery of each segment the channel offers
        (:meth:`recv`)."""
        out = [(lab, new, oid, incoming) for lab, new, oid in self.moves(side, lid)]
        for code, rest in self.deliveries(incoming):
            lab, new, oid = self.recv(side, lid, code)
            out.append((lab, new, oid, rest))
        return out

    def deliveries(self, cid: int) -> list[tuple[int, int]]:
        """(segment code, channel id after) for each segment channel ``cid`` can deliver
        next (:meth:`Network.deliverable`), worked out once per channel."""
        found = self._deliveries.get(cid)
        if found is None:
            content = self.chans[cid]
            found = self._deliveries[cid] = [
                (content[i], self.cid(content[:i] + content[i + 1 :]))
                for i in self.network.deliverable(content)
            ]
        return found

    def moves(self, side: str, lid: int) -> list[tuple[int, int, int]]:
        """(label, new local id, outs id) for the moves that consume nothing and need no
        quiescence (:func:`checker.product.semantics.local_moves`)."""
        key = (side, lid)
        found = self._moves.get(key)
        if found is None:
            found = self._moves[key] = [
                self.entry(side, mv.step, mv.kind)
                for mv in local_moves(
                    self.spec, self.config.app(side), self.locals[lid], quiet=False
                )
            ]
        return found

    def recv(self, side: str, lid: int, code: int) -> tuple[int, int, int]:
        """(label, new local id, outs id) for receiving segment ``code``
        (:func:`checker.product.semantics.delivery`); raises
        :class:`~checker.errors.ModelError` when the state has no rule for it."""
        key = (side, lid, code)
        found = self._recv.get(key)
        if found is None:
            mv = delivery(self.spec, self.locals[lid], (Segment.from_code(code),), 0)
            found = self._recv[key] = self.entry(side, mv.step, mv.kind)
        return found

    def attack_table(self, side: str, lid: int) -> list[tuple[int, int, int]]:
        """(label, new local id, outs id) for each forged segment the attacker may make
        arrive at ``side`` in local state ``lid``
        (:func:`checker.product.semantics.attack_steps`)."""
        key = (side, lid)
        found = self._attacks.get(key)
        if found is None:
            found = self._attacks[key] = [
                self.entry(side, st, "attack")
                for st in attack_steps(self.spec, self.config, self.locals[lid])
            ]
        return found

    def quiet_table(self, side: str, lid: int) -> list[tuple[int, int, int]]:
        """(label, new local id, outs id) for the expiries that wait for quiescence."""
        return [
            self.entry(side, st, "timeout")
            for st in quiet_only_timer_steps(self.spec, self.locals[lid])
        ]

    def has_any_timer(self, lid: int) -> bool:
        """Can a timer expire here whatever the rest of the product does?"""
        found = self._pending.get(lid)
        if found is None:
            found = self._pending[lid] = timer_pending(self.spec, self.locals[lid])
        return found

    # ------------------------------------------------------------ channel tables ---
    def losses(self, cid: int) -> list[tuple[int, int]]:
        """(segment code, remaining channel) for every distinct loss."""
        return [(code, self.cid(rest)) for _i, code, rest in self.network.losses(self.chans[cid])]

    def dups(self, cid: int) -> list[tuple[int, int]]:
        """(segment code, grown channel) for every duplication that fits."""
        return [
            (code, self.cid(grown))
            for code, grown in self.network.duplicates(self.chans[cid], key=segment_order)
        ]

    def push(self, cid: int, codes: tuple[int, ...]) -> int:
        """Channel id after appending ``codes``, or -1 when they do not all fit."""
        content = self.chans[cid]
        if not self.network.fits(content, codes):
            return -1
        put = self.network.push(content, codes, key=segment_order)
        assert put is not None
        return self.cid(put[0])

    def overflow(self, cid: int, codes: tuple[int, ...]) -> tuple[int, tuple[Segment, ...]]:
        """A burst that does not fit into a channel that drops: the channel id after it
        and the segments dropped."""
        put = self.network.push(self.chans[cid], codes, key=segment_order)
        assert put is not None, "only a channel that drops overflows"
        return self.cid(put[0]), tuple(Segment.from_code(c) for c in put[1])
