"""Breadth-first exploration of the product automaton over a compact core.

The search never touches a dataclass.  A product state is one Python integer packing
six small fields -- A's and B's local-state ids, the ids of the two channels' contents,
losses and duplications used -- and every move comes from a table memoized on first use:

* per endpoint and local state, the application calls and ``any`` timers it can make;
* per endpoint, local state and arriving segment, the step it takes;
* per channel contents, what can be delivered, lost or duplicated, and what pushing a
  burst of segments gives (or that it does not fit).

The tables are filled by the reference semantics (:mod:`checker.model.endpoint`,
:class:`checker.product.reference.Product` applies the same rules to dataclasses), so the two agree
by construction where they share code, and the test suite checks the whole successor
relation where they do not.  Edges go into three flat ``array('I')`` columns (source,
target, label id); the networkx view is built from them afterwards, not inside the loop.

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> ex.states, ex.transitions, ex.complete
(314, 545, True)
>>> ex.state(0).describe()
'A=CLOSED B=CLOSED A->B=[-] B->A=[-]'
"""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ModelError
from ..model.endpoint import Local, Step, closure, initial_local, receive, timer_steps
from ..model.segments import Segment
from ..model.spec import Spec
from .config import ProductConfig
from .reference import CHANNELS, Label, PState, app_steps, step_label

__all__ = ["Exploration", "ProgressFn", "explore"]

#: ``progress(states, transitions, depth)``, called every few thousand states.
ProgressFn = Callable[[int, int, int], None]

_PROGRESS_EVERY = 4096
_MAX_LABELS = 65535  # label ids are stored as unsigned 16-bit integers


@dataclass
class Exploration:
    """The explored state graph in compact form, with decoders and a networkx view."""

    spec: Spec
    config: ProductConfig
    keys: list[int]
    offsets: array[int]
    dst: array[int]
    lbl: array[int]
    labels: list[Label]
    deadlocks: list[int]
    capacity_blocked: list[int]
    depth: int
    complete: bool
    limit: str | None
    seconds: float
    peak_bytes: int | None = None
    _locals: list[Local] = field(default_factory=list, repr=False)
    _chans: list[tuple[int, ...]] = field(default_factory=list, repr=False)
    _shifts: tuple[int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0)
    _index: dict[int, int] | None = field(default=None, repr=False)

    @property
    def states(self) -> int:
        return len(self.keys)

    @property
    def transitions(self) -> int:
        return len(self.dst)

    @property
    def src(self) -> array[int]:
        """The source column of the edge list (expanded from the per-node offsets)."""
        out: array[int] = array("I")
        offs = self.offsets
        for node in range(len(offs) - 1):
            out.extend(array("I", [node]) * (offs[node + 1] - offs[node]))
        return out

    def state(self, node: int) -> PState:
        """Decode node ``node`` into a reference :class:`~checker.product.reference.PState`."""
        lb, cab, cba, ls, ds, lm = self._shifts
        key = self.keys[node]
        cm = (1 << (cba - cab)) - 1
        chans = self._decoded_channels()
        return PState(
            self._locals[key & lm],
            self._locals[(key >> lb) & lm],
            chans[(key >> cab) & cm],
            chans[(key >> cba) & cm],
            (key >> ls) & 15,
            key >> ds,
        )

    def _decoded_channels(self) -> list[tuple[Segment, ...]]:
        cached = self.__dict__.get("_chan_segments")
        if cached is None or len(cached) != len(self._chans):
            cached = [tuple(Segment.from_code(c) for c in ch) for ch in self._chans]
            self.__dict__["_chan_segments"] = cached
        return cached

    def decoded(self) -> list[PState]:
        """Every node decoded, in node order (computed once, then cached)."""
        cached = self.__dict__.get("_decoded")
        if cached is None:
            cached = self.__dict__["_decoded"] = [self.state(i) for i in range(self.states)]
        return cached

    def node_of(self, s: PState) -> int | None:
        """The node id of a reference state, or ``None`` if it was not reached."""
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.keys)}
        lb, cab, cba, ls, ds, _lm = self._shifts
        try:
            a = self._locals.index(s.a)
            b = self._locals.index(s.b)
            ab = self._chans.index(tuple(x.code for x in s.ab))
            ba = self._chans.index(tuple(x.code for x in s.ba))
        except ValueError:
            return None
        key = a | (b << lb) | (ab << cab) | (ba << cba) | (s.lost << ls) | (s.dups << ds)
        return self._index.get(key)

    def edges_from(self, node: int) -> list[tuple[Label, int]]:
        """Outgoing ``(label, target)`` pairs of ``node``, in the order they were generated."""
        if node + 1 >= len(self.offsets):
            return []  # discovered but never expanded (a bounded search)
        lo, hi = self.offsets[node], self.offsets[node + 1]
        return [(self.labels[self.lbl[e]], self.dst[e]) for e in range(lo, hi)]

    def summary(self) -> dict[str, Any]:
        """The JSON contract of ``tcpcheck explore --json``."""
        return {
            "states": self.states,
            "transitions": self.transitions,
            "depth": self.depth,
            "deadlocks": len(self.deadlocks),
            "complete": self.complete,
            "seconds": round(self.seconds, 6),
            "limit": self.limit,
            "capacity_deadlocks": len(self.capacity_blocked),
            "variant": self.spec.variant.name if self.spec.variant else None,
            "config": self.config.to_json(),
        }

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph``: node ids as in the search, attributes decoded.

        Node attributes: ``A``, ``B`` (control states), ``A->B``, ``B->A`` (segments in
        flight), ``initial``, ``deadlock``.  Edge attributes: ``actor``, ``event``,
        ``kind``, ``sent``, ``received``, ``lost``, ``rule``, and ``labels`` -- every label
        of the parallel transitions the simple graph merges.
        """
        import networkx as nx

        graph = nx.DiGraph(
            spec=self.spec.name,
            variant=self.spec.variant.name if self.spec.variant else None,
            complete=self.complete,
        )
        lb, cab, cba, _ls, _ds, lm = self._shifts
        cm = (1 << (cba - cab)) - 1
        names = [loc.state for loc in self._locals]
        chan_text = [" ".join(Segment.from_code(c).name for c in ch) for ch in self._chans]
        dead = set(self.deadlocks)
        graph.add_nodes_from(
            (
                i,
                {
                    "A": names[k & lm],
                    "B": names[(k >> lb) & lm],
                    "A->B": chan_text[(k >> cab) & cm],
                    "B->A": chan_text[(k >> cba) & cm],
                    "initial": i == 0,
                    "deadlock": i in dead,
                },
            )
            for i, k in enumerate(self.keys)
        )
        attrs = [_edge_attrs(lab) for lab in self.labels]
        texts = [a["text"] for a in attrs]
        # Filled directly into networkx's dict-of-dicts (its documented data structure):
        # several times faster than add_edge for millions of edges.
        adj = graph._adj
        pred = graph._pred
        offs, dst, lbl = self.offsets, self.dst, self.lbl
        for u in range(len(offs) - 1):
            row = adj[u]
            for e in range(offs[u], offs[u + 1]):
                v = dst[e]
                lid = lbl[e]
                data = row.get(v)
                if data is None:
                    row[v] = pred[v][u] = {**attrs[lid], "labels": [texts[lid]]}
                else:
                    data["labels"].append(texts[lid])
        return graph


def _edge_attrs(label: Label) -> dict[str, Any]:
    return {
        "actor": label.actor,
        "event": label.event,
        "kind": label.kind,
        "rule": label.rule,
        "sent": " ".join(s.name for s in label.sent),
        "received": label.received.name if label.received else "",
        "lost": label.segment.name if label.kind == "loss" and label.segment else "",
        "channel": label.channel or "",
        "text": label.text(),
    }


def _segment_order(code: int) -> tuple[int, int, int]:
    """Sort key of a segment code that agrees with :class:`Segment`'s own ordering.

    Unordered channels are kept sorted (a canonical multiset); both semantics must sort
    alike so that their states coincide.
    """
    return (code & 0xF, (code >> 4) & 3, code >> 6)


class _Core:
    """The memoized tables of one exploration."""

    def __init__(self, spec: Spec, config: ProductConfig) -> None:
        self.spec = spec
        self.config = config
        self.locals: list[Local] = []
        self.local_id: dict[Local, int] = {}
        self.chans: list[tuple[int, ...]] = [()]
        self.chan_id: dict[tuple[int, ...], int] = {(): 0}
        self.labels: list[Label] = []
        self.label_id: dict[Label, int] = {}
        self.outs: list[tuple[int, ...]] = [()]
        self.outs_id: dict[tuple[int, ...], int] = {(): 0}
        self.unordered = config.ordering == "unordered"
        self.capacity = config.capacity
        self._net_labels: dict[tuple[str, int, str], int] = {}

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

    def _intern(self, lab: Label) -> int:
        i = self.label_id.get(lab)
        if i is None:
            if len(self.labels) >= _MAX_LABELS:
                raise ModelError(
                    f"more than {_MAX_LABELS} distinct transition labels: "
                    "the spec is far larger than a TCP endpoint"
                )
            i = self.label_id[lab] = len(self.labels)
            self.labels.append(lab)
        return i

    def net_label(self, kind: str, seg: int, side: str) -> int:
        memo = self._net_labels.get((kind, seg, side))
        if memo is not None:
            return memo
        lab = Label(
            "net",
            kind,
            "lose" if kind == "loss" else "duplicate",
            segment=Segment.from_code(seg),
            channel=CHANNELS[side],
        )
        i = self._net_labels[(kind, seg, side)] = self._intern(lab)
        return i

    # ----------------------------------------------------------- endpoint tables ---
    def moves(self, side: str, lid: int) -> list[tuple[int, int, int]]:
        """(label, new local id, outs id) for application calls and ``any`` timers."""
        local = self.locals[lid]
        return [
            self.entry(side, st, "user")
            for st in app_steps(self.spec, self.config.app(side), local)
        ] + self.timer_moves(side, lid, "any")

    def timer_moves(self, side: str, lid: int, untimed: str) -> list[tuple[int, int, int]]:
        """(label, new local id, outs id) for the timers with that untimed policy."""
        return [
            self.entry(side, st, "timeout")
            for st in timer_steps(self.spec, self.locals[lid], untimed)
        ]

    def entry(self, side: str, st: Step, kind: str) -> tuple[int, int, int]:
        """A table entry for an endpoint step: label id, new local id, outs id."""
        return self._intern(step_label(side, st, kind)), self.lid(st.target), self.oid(st.sent)

    def has_any_timer(self, lid: int) -> bool:
        """Can a non-quiescent timer fire in this local state?"""
        return bool(timer_steps(self.spec, self.locals[lid], "any"))

    def recv(self, side: str, lid: int, code: int) -> tuple[int, int, int]:
        local = self.locals[lid]
        seg = Segment.from_code(code)
        st = receive(self.spec, local, seg)
        if st is None:
            raise ModelError(
                f"{local.describe()} received {seg.describe()}, which the segment abstraction "
                "cannot place (it acknowledges something never sent)"
            )
        return self.entry(side, st, "segment")

    # ------------------------------------------------------------ channel tables ---
    def pops(self, cid: int) -> list[tuple[int, int]]:
        """(segment code, remaining channel) for every segment that can be delivered."""
        content = self.chans[cid]
        if not content:
            return []
        if not self.unordered:
            return [(content[0], self.cid(content[1:]))]
        out = []
        for i, code in enumerate(content):
            if i and content[i - 1] == code:
                continue
            out.append((code, self.cid(content[:i] + content[i + 1 :])))
        return out

    def drops(self, cid: int) -> list[tuple[int, int]]:
        """(segment code, remaining channel) for every distinct loss."""
        content = self.chans[cid]
        out = []
        seen = set()
        for i, code in enumerate(content):
            rest = content[:i] + content[i + 1 :]
            if rest in seen:
                continue
            seen.add(rest)
            out.append((code, self.cid(rest)))
        return out

    def dups(self, cid: int) -> list[tuple[int, int]]:
        content = self.chans[cid]
        out = []
        for code in sorted(set(content)):
            grown = self.push(cid, (code,))
            if grown >= 0:
                out.append((code, grown))
        return out

    def push(self, cid: int, codes: tuple[int, ...]) -> int:
        """Channel id after appending ``codes``, or -1 when they do not fit."""
        content = self.chans[cid]
        if len(content) + len(codes) > self.capacity:
            return -1
        new = content + codes
        if self.unordered:
            new = tuple(sorted(new, key=_segment_order))
        return self.cid(new)


def explore(
    spec: Spec,
    config: ProductConfig | None = None,
    *,
    max_states: int | None = None,
    max_seconds: float | None = None,
    progress: ProgressFn | None = None,
    measure_memory: bool = False,
) -> Exploration:
    """Explore the product of ``spec`` under ``config`` breadth-first.

    ``max_states`` and ``max_seconds`` bound the search; a bounded search returns an
    :class:`Exploration` with ``complete=False`` and ``limit`` naming the bound.
    """
    config = config or ProductConfig()
    core = _Core(spec, config)
    start_local = core.lid(initial_local(spec))

    # Field widths: local ids and channel ids are bounded up front, so the packing is fixed.
    # Every local state and segment the search can meet is in the endpoint's closure.
    endpoint_closure = closure(spec)
    for loc in sorted(endpoint_closure.locals):
        core.lid(loc)
    lbits = max(1, len(core.locals).bit_length())
    n_segs = len(endpoint_closure.segments)
    max_chans = sum(n_segs**k for k in range(config.capacity + 1))
    cbits = max(1, max_chans.bit_length())
    lb, cab = lbits, 2 * lbits
    cba = cab + cbits
    ls = cba + cbits
    ds = ls + 4
    lm = (1 << lbits) - 1
    cm = (1 << cbits) - 1

    loss_budget = config.loss_budget
    dup_budget = config.dup_budget
    loss_counted = loss_budget is not None
    loss_on = loss_budget is None or loss_budget > 0
    lbudget = loss_budget if loss_budget is not None else 0
    chan_mask = (cm << cab) | (cm << cba)
    keep_net = ~chan_mask
    both_locals = lm | (lm << lb)
    outs = core.outs

    memo_moves: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
    memo_recv: dict[tuple[str, int, int], tuple[int, int, int]] = {}
    memo_pops: dict[int, list[tuple[int, int]]] = {}

    def items_table(side: str, me: int, mine_in: int) -> list[tuple[int, int, int]]:
        """Moves of one endpoint from its local state and its incoming channel.

        Each is ``(partial, outs id, label)``: ``partial`` holds the fields the move sets
        (the endpoint's new local state, the incoming channel after a delivery); the
        outgoing channel is filled in per state, because it depends on what is in flight.
        """
        out: list[tuple[int, int, int]] = []
        mkey = (side, me)
        mv = memo_moves.get(mkey)
        if mv is None:
            mv = memo_moves[mkey] = core.moves(side, me)
        moves_here = [(lab, new, oid, mine_in) for lab, new, oid in mv]
        pl = memo_pops.get(mine_in)
        if pl is None:
            pl = memo_pops[mine_in] = core.pops(mine_in)
        for code, rest in pl:
            rkey = (side, me, code)
            r = memo_recv.get(rkey)
            if r is None:
                r = memo_recv[rkey] = core.recv(side, me, code)
            moves_here.append((r[0], r[1], r[2], rest))
        for lab, new, oid, incoming in moves_here:
            if side == "A":
                out.append((new | (incoming << cba), oid, lab))
            else:
                out.append(((new << lb) | (incoming << cab), oid, lab))
        return out

    def push_bits(side: str, chan: int, oid: int) -> int:
        """The outgoing channel after sending ``outs[oid]``, shifted into place, or -1."""
        pushed = core.push(chan, outs[oid])
        if pushed < 0:
            return -1
        return pushed << (cab if side == "A" else cba)

    def net_table(chans: int, kind: str) -> tuple[list[int], list[int]]:
        """Losses (or duplications) of the segments in flight: new channel bits, labels."""
        ab_, ba_ = (chans >> cab) & cm, (chans >> cba) & cm
        bits: list[int] = []
        labs: list[int] = []
        for side, chan in (("A", ab_), ("B", ba_)):
            for code, other in core.drops(chan) if kind == "loss" else core.dups(chan):
                if side == "A":
                    bits.append((other << cab) | (ba_ << cba))
                else:
                    bits.append((ab_ << cab) | (other << cba))
                labs.append(core.net_label(kind, code, side))
        return bits, labs

    drop_overflow = config.overflow == "drop"
    overflow_memo: dict[tuple[str, int, int, int], tuple[int, int]] = {}

    def overflow(side: str, chan: int, oid: int, lab: int) -> tuple[int, int]:
        """A full channel drops what does not fit: the channel bits and the relabelled move."""
        key = (side, chan, oid, lab)
        found = overflow_memo.get(key)
        if found is None:
            codes = outs[oid]
            room = max(config.capacity - len(core.chans[chan]), 0)
            kept, dropped = codes[:room], codes[room:]
            new_chan = core.push(chan, kept) if kept else chan
            label = dataclasses.replace(
                core.labels[lab], dropped=tuple(Segment.from_code(c) for c in dropped)
            )
            found = (new_chan << (cab if side == "A" else cba), core._intern(label))
            overflow_memo[key] = found
        return found

    def quiet_moves(key: int) -> tuple[list[int], list[int]]:
        """Quiescent timers: only with both channels empty and no other timer able to fire."""
        a_, b_ = key & lm, (key >> lb) & lm
        if core.has_any_timer(a_) or core.has_any_timer(b_):
            return [], []
        bits: list[int] = []
        labs: list[int] = []
        for side, me in (("A", a_), ("B", b_)):
            for lab, new, oid in core.timer_moves(side, me, "quiescent"):
                out_chan = core.push(0, outs[oid]) if oid else 0
                if out_chan < 0:
                    if not drop_overflow:
                        continue
                    shifted, lab = overflow(side, 0, oid, lab)
                    out_chan = shifted >> (cab if side == "A" else cba)
                if side == "A":
                    bits.append(new | (b_ << lb) | (out_chan << cab))
                else:
                    bits.append(a_ | (new << lb) | (out_chan << cba))
                labs.append(lab)
        return bits, labs

    items_a: dict[int, list[tuple[int, int, int]]] = {}
    items_b: dict[int, list[tuple[int, int, int]]] = {}
    push_a: dict[int, int] = {}
    push_b: dict[int, int] = {}
    in_mask_a = lm | (cm << cba)
    in_mask_b = (lm << lb) | (cm << cab)
    ab_field = cm << cab
    ba_field = cm << cba
    tab_loss: dict[int, tuple[list[int], list[int]]] = {}
    tab_dup: dict[int, tuple[list[int], list[int]]] = {}
    tab_quiet: dict[int, tuple[list[int], list[int]]] = {}
    quiet = any(t.untimed == "quiescent" for t in spec.timers)
    lost_one = 1 << ls if loss_counted else 0
    dup_one = 1 << ds

    init = start_local | (start_local << lb)
    index: dict[int, int] = {init: 0}
    keys: list[int] = [init]
    dst: array[int] = array("I")
    lbl: array[int] = array("H")  # label ids: a few thousand at most (see _Core.label)
    deadlocks: list[int] = []
    blocked_dead: list[int] = []
    limit: str | None = None
    offsets: array[int] = array("I", [0])  # edges of node i: offsets[i]:offsets[i + 1]
    offsets_append = offsets.append
    index_get = index.get
    keys_append = keys.append
    dst_append = dst.append

    if measure_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    deadline = t0 + max_seconds if max_seconds is not None else None
    level_end = 1
    depth = 0
    i = 0
    cap = max_states if max_states is not None else -1
    while i < len(keys):
        if i == level_end:
            depth += 1
            level_end = len(keys)
        if (i & 1023) == 0 and i:
            if deadline is not None and time.perf_counter() > deadline:
                limit = "max-seconds"
                break
            if progress is not None and (i % _PROGRESS_EVERY) == 0:
                progress(len(keys), len(dst), depth)
        key = keys[i]
        nks: list[int] = []
        labs: list[int] = []
        nks_append = nks.append
        labs_append = labs.append
        blocked = False
        # Endpoint A: its local state and B->A decide the move; A->B receives its sends.
        part = key & in_mask_a
        items = items_a.get(part)
        if items is None:
            items = items_a[part] = items_table("A", key & lm, (key >> cba) & cm)
        same = key & ~in_mask_a
        fresh = same & ~ab_field
        base = ((key >> cab) & cm) << 16  # push memo key: channel id, then outs id
        for partial, oid, lab in items:
            if oid:
                o = push_a.get(base + oid)
                if o is None:
                    o = push_a[base + oid] = push_bits("A", (key >> cab) & cm, oid)
                if o < 0:
                    if not drop_overflow:
                        blocked = True
                        continue
                    o, lab = overflow("A", (key >> cab) & cm, oid, lab)
                nks_append(partial | o | fresh)
            else:
                nks_append(partial | same)
            labs_append(lab)
        # Endpoint B, symmetrically.
        part = key & in_mask_b
        items = items_b.get(part)
        if items is None:
            items = items_b[part] = items_table("B", (key >> lb) & lm, (key >> cab) & cm)
        same = key & ~in_mask_b
        fresh = same & ~ba_field
        base = ((key >> cba) & cm) << 16
        for partial, oid, lab in items:
            if oid:
                o = push_b.get(base + oid)
                if o is None:
                    o = push_b[base + oid] = push_bits("B", (key >> cba) & cm, oid)
                if o < 0:
                    if not drop_overflow:
                        blocked = True
                        continue
                    o, lab = overflow("B", (key >> cba) & cm, oid, lab)
                nks_append(partial | o | fresh)
            else:
                nks_append(partial | same)
            labs_append(lab)
        chans = key & chan_mask
        if quiet and not chans:
            both = key & both_locals
            tq = tab_quiet.get(both)
            if tq is None:
                tq = tab_quiet[both] = quiet_moves(key)
            rest = key & ~both_locals
            nks += [x | rest for x in tq[0]]
            labs += tq[1]
        if chans:
            if loss_on and (not loss_counted or ((key >> ls) & 15) < lbudget):
                tl = tab_loss.get(chans)
                if tl is None:
                    tl = tab_loss[chans] = net_table(chans, "loss")
                rest = (key & keep_net) + lost_one
                nks += [x | rest for x in tl[0]]
                labs += tl[1]
            if dup_budget and (key >> ds) < dup_budget:
                td = tab_dup.get(chans)
                if td is None:
                    td = tab_dup[chans] = net_table(chans, "dup")
                rest = (key & keep_net) + dup_one
                nks += [x | rest for x in td[0]]
                labs += td[1]
        if not nks:
            deadlocks.append(i)
            if blocked:
                blocked_dead.append(i)
        for nk in nks:
            j = index_get(nk)
            if j is None:
                j = len(keys)
                if j == cap:
                    limit = "max-states"
                    break
                index[nk] = j
                keys_append(nk)
            dst_append(j)
        if limit == "max-states":
            # Keep the columns aligned: only the edges recorded for this state count.
            del dst[offsets[-1] :]
            break
        lbl.extend(labs)
        offsets_append(len(dst))
        i += 1
    seconds = time.perf_counter() - t0
    peak = None
    if measure_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    complete = limit is None and i >= len(keys)
    if not complete:
        # Deadlock verdicts need every successor: states never expanded are not deadlocks.
        deadlocks = [d for d in deadlocks if d < i]
    return Exploration(
        spec=spec,
        config=config,
        keys=keys,
        offsets=offsets,
        dst=dst,
        lbl=lbl,
        labels=core.labels,
        deadlocks=deadlocks,
        capacity_blocked=blocked_dead,
        depth=depth,
        complete=complete,
        limit=limit,
        seconds=seconds,
        peak_bytes=peak,
        _locals=core.locals,
        _chans=core.chans,
        _shifts=(lb, cab, cba, ls, ds, lm),
    )
