"""Breadth-first exploration of the product automaton over a compact core.

The search never touches a dataclass.  A product state is one Python integer packing
seven small fields -- A's and B's local-state ids, the ids of the two channels' contents,
losses, duplications and forged segments used -- and every move comes from a table
memoized on first use
(:class:`checker.product.tables.Tables`):

* per endpoint, local state and incoming channel, the application calls, the timers that
  need no quiescence and the deliveries it can make;
* per pair of local states, the expiries that wait for quiescence;
* per channel contents, what can be lost or duplicated, and what pushing a burst of
  segments gives (or that it does not fit);
* per endpoint and local state, what the attacker's forged segments make it do.

The tables are filled from the product's rules (:mod:`checker.product.semantics`,
:mod:`checker.product.network`), which :class:`checker.product.reference.Product` applies
to dataclasses; the test suite checks the whole successor relation of the two.  Edges go
into flat ``array('I')`` columns (target, label id, per-state offsets); the networkx view
is built from them afterwards, not inside the loop
(:class:`checker.product.exploration.Exploration`).

Examples
--------
>>> from checker import load_spec
>>> from checker.product.config import ProductConfig
>>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> ex.states, ex.transitions, ex.complete
(266, 475, True)
"""

from __future__ import annotations

import time
import tracemalloc
from array import array
from collections.abc import Callable

from ..errors import ModelError
from ..model.endpoint import initial_local
from ..model.spec import Spec
from .config import ProductConfig
from .exploration import Exploration
from .semantics import quiescent, universe, waits_for_quiescence
from .tables import Tables

__all__ = ["ProgressFn", "explore"]

#: ``progress(states, transitions, depth)``, called every few thousand states.
ProgressFn = Callable[[int, int, int], None]

_PROGRESS_EVERY = 4096


def explore(
    spec: Spec,
    config: ProductConfig | None = None,
    *,
    max_states: int | None = None,
    max_seconds: float | None = None,
    progress: ProgressFn | None = None,
    measure_memory: bool = False,
    interruptible: bool = False,
) -> Exploration:
    """Explore the product of ``spec`` under ``config`` breadth-first.

    ``max_states`` and ``max_seconds`` bound the search; a bounded search returns an
    :class:`Exploration` with ``complete=False`` and ``limit`` naming the bound.  Running
    out of memory is such a bound (``limit="memory"``); so is Ctrl-C when
    ``interruptible`` (``"interrupted"``; otherwise it propagates, so that a caller
    such as a suite stops rather than goes on with a cut graph).
    """
    config = config or ProductConfig()
    core = Tables(spec, config)
    net = core.network
    start_local = core.lid(initial_local(spec))

    # Field widths: local ids and channel ids are bounded up front, so the packing is fixed.
    # Every local state and segment the search can meet is in the product's universe.
    all_locals, all_segments = universe(spec, config)
    for loc in all_locals:
        core.lid(loc)
    lbits = max(1, len(core.locals).bit_length())
    n_segs = len(all_segments)
    max_chans = sum(n_segs**k for k in range(config.capacity + 1))
    cbits = max(1, max_chans.bit_length())
    lb, cab = lbits, 2 * lbits
    cba = cab + cbits
    ls = cba + cbits
    ds = ls + 4
    js = ds + 4
    lm = (1 << lbits) - 1
    cm = (1 << cbits) - 1

    # The network's budgets, read per count from Network (4 bits each in the key).
    may_lose = [net.may_lose(k) for k in range(16)]
    may_dup = [net.may_duplicate(k) for k in range(16)]
    any_loss = net.loss is None  # no count in the key: every state may lose
    loss_on = any(may_lose)
    dup_on = any(may_dup)
    attack_budget = config.attacker
    chan_mask = (cm << cab) | (cm << cba)
    keep_net = ~chan_mask
    both_locals = lm | (lm << lb)
    outs = core.outs

    def items_table(side: str, me: int, mine_in: int) -> list[tuple[int, int, int]]:
        """Moves of one endpoint from its local state and its incoming channel.

        Each is ``(partial, outs id, label)``: ``partial`` holds the fields the move sets
        (the endpoint's new local state, the incoming channel after a delivery); the
        outgoing channel is filled in per state, because it depends on what is in flight.
        """
        out: list[tuple[int, int, int]] = []
        for lab, new, oid, incoming in core.endpoint_table(side, me, mine_in):
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
            for code, other in core.losses(chan) if kind == "loss" else core.dups(chan):
                if side == "A":
                    bits.append((other << cab) | (ba_ << cba))
                else:
                    bits.append((ab_ << cab) | (other << cba))
                labs.append(core.net_label(kind, code, side))
        return bits, labs

    drop_overflow = net.drops_overflow
    overflow_memo: dict[tuple[str, int, int, int], tuple[int, int]] = {}

    def overflow(side: str, chan: int, oid: int, lab: int) -> tuple[int, int]:
        """A full channel drops what does not fit: the channel bits and the relabelled move."""
        key = (side, chan, oid, lab)
        found = overflow_memo.get(key)
        if found is None:
            new_chan, dropped = core.overflow(chan, outs[oid])
            label = core.labels[lab].with_dropped(dropped)
            found = (new_chan << (cab if side == "A" else cba), core.intern(label))
            overflow_memo[key] = found
        return found

    def quiet_moves(key: int) -> tuple[list[int], list[int]]:
        """The expiries that wait for quiescence, in a state with both channels empty."""
        a_, b_ = key & lm, (key >> lb) & lm
        if not quiescent(False, (core.has_any_timer(a_), core.has_any_timer(b_))):
            return [], []
        bits: list[int] = []
        labs: list[int] = []
        for side, me in (("A", a_), ("B", b_)):
            for lab, new, oid in core.quiet_table(side, me):
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
    quiet = waits_for_quiescence(spec)
    lost_one = 1 << ls if net.counts_losses else 0
    dup_one = 1 << ds
    forged_one = 1 << js
    low = (1 << ls) - 1  # the locals and the channels: what a move's table depends on
    tab_attack: dict[tuple[int, int, int], list[tuple[int, int, int]]] = {}

    def attack_moves(side: int, me: int, chan: int) -> list[tuple[int, int, int]]:
        """The forged segments' arrivals at one endpoint (``side`` 0 for A, 1 for B) in
        local state ``me`` whose outgoing channel is ``chan``: (new local id, outgoing
        channel id, label) for each that is not waiting for room."""
        name = "AB"[side]
        out: list[tuple[int, int, int]] = []
        for lab, new, oid in core.attack_table(name, me):
            out_chan = chan
            if oid:
                out_chan = core.push(chan, outs[oid])
                if out_chan < 0:
                    if not drop_overflow:
                        continue  # the answer waits for room
                    shifted, lab = overflow(name, chan, oid, lab)
                    out_chan = shifted >> (cab if side == 0 else cba)
            out.append((new, out_chan, lab))
        return out

    init = start_local | (start_local << lb)
    index: dict[int, int] = {init: 0}
    keys: list[int] = [init]
    dst: array[int] = array("I")
    lbl: array[int] = array("H")  # label ids: a few thousand at most (see Tables.intern)
    deadlocks: list[int] = []
    blocked_dead: list[int] = []
    waits = 0
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
    try:
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
                if any_loss or (loss_on and may_lose[(key >> ls) & 15]):
                    tl = tab_loss.get(chans)
                    if tl is None:
                        tl = tab_loss[chans] = net_table(chans, "loss")
                    rest = (key & keep_net) + lost_one
                    nks += [x | rest for x in tl[0]]
                    labs += tl[1]
                if dup_on and may_dup[(key >> ds) & 15]:
                    td = tab_dup.get(chans)
                    if td is None:
                        td = tab_dup[chans] = net_table(chans, "dup")
                    rest = (key & keep_net) + dup_one
                    nks += [x | rest for x in td[0]]
                    labs += td[1]
            if attack_budget and (key >> js) < attack_budget:
                rest = (key & ~low) + forged_one  # the budgets, one more segment forged
                for side, me, shift, cshift in (
                    (0, key & lm, 0, cab),
                    (1, (key >> lb) & lm, lb, cba),
                ):
                    chan = (key >> cshift) & cm
                    ta = tab_attack.get((side, me, chan))
                    if ta is None:
                        ta = tab_attack[(side, me, chan)] = attack_moves(side, me, chan)
                    if ta:
                        keep = key & low & ~((lm << shift) | (cm << cshift))
                        for new, out_chan, lab in ta:
                            nks_append(keep | (new << shift) | (out_chan << cshift) | rest)
                            labs_append(lab)
            if blocked:
                waits += 1
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
    except (KeyboardInterrupt, MemoryError) as exc:
        if isinstance(exc, KeyboardInterrupt) and not interruptible:
            raise
        # What was found stays a truthful partial graph: the state being expanded when
        # the search stopped loses the edges recorded for it, as at max-states.
        limit = "interrupted" if isinstance(exc, KeyboardInterrupt) else "memory"
        del dst[offsets[-1] :]
        del lbl[offsets[-1] :]
        i = len(offsets) - 1  # the states expanded in full
    seconds = time.perf_counter() - t0
    if len(core.locals) > lm + 1 or len(core.chans) > cm + 1:
        # The fields were sized from the universe: a local state or a channel beyond it
        # would have overflowed into its neighbour.  Never silently.
        raise ModelError(
            f"the search met {len(core.locals)} local states and {len(core.chans)} channel "
            f"contents, beyond the {lm + 1} and {cm + 1} the product's universe allows: "
            "a bug in checker.product.semantics.universe"
        )
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
        capacity_waits=waits,
        depth=depth,
        complete=complete,
        limit=limit,
        seconds=seconds,
        peak_bytes=peak,
        _locals=core.locals,
        _chans=core.chans,
        _shifts=(lb, cab, cba, ls, ds, lm, js),
    )
