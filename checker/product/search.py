"""The breadth-first search loop: compiled, with a pure-Python twin.

:func:`search` runs the loop of the compiled extension ``checker.product._search`` (built
by the set-up from ``_search.pyx``) when it is there, and :func:`python_search`
otherwise; ``engine`` chooses.  The two are the same loop statement for statement over
the four-word states of :mod:`checker.product.flat`, and the tests compare their graphs
edge for edge.  The result is a dict of flat columns:

* ``nodes``: four words per state, in discovery order (node ids are positions);
* ``offsets``: edges of node ``i`` are ``offsets[i]:offsets[i + 1]``;
* ``dst``, ``lbl``: each edge's target node and label id;
* ``deadlocks``, ``blocked_dead``, ``waits``, ``depth``, ``limit``, ``expanded``.

Examples
--------
>>> from checker import load_spec
>>> from checker.product.config import ProductConfig
>>> from checker.product.flat import FlatTables
>>> flat = FlatTables(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> out = search(flat, engine="python")
>>> len(out["nodes"]) // 4, len(out["dst"]), out["limit"]
(266, 475, None)
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from typing import Any

from ..errors import UsageError
from .flat import FlatTables

__all__ = ["ENGINES", "ProgressFn", "compiled_available", "python_search", "search"]

#: ``progress(states, transitions, depth)``, called every few thousand states.
ProgressFn = Callable[[int, int, int], None]

ENGINES = ("auto", "compiled", "python")
PROGRESS_EVERY = 4096


def compiled_available() -> bool:
    """Is the compiled loop built (``bash setup.sh`` builds it)?"""
    try:
        from ._search import compiled_search  # noqa: F401
    except ImportError:
        return False
    return True


def search(
    flat: FlatTables,
    *,
    engine: str = "auto",
    max_states: int | None = None,
    max_seconds: float | None = None,
    progress: ProgressFn | None = None,
    interruptible: bool = False,
) -> dict[str, Any]:
    """Search the product of ``flat`` breadth-first (see the module docstring).

    ``max_states`` and ``max_seconds`` bound it (``limit`` names the bound); running out
    of memory stops it with ``limit="memory"``, Ctrl-C with ``"interrupted"`` when
    ``interruptible`` (otherwise it propagates).
    """
    if engine not in ENGINES:
        raise UsageError(f"engine: no engine {engine!r} (engines: {', '.join(ENGINES)})")
    params: dict[str, Any] = {
        "init": flat.initial,
        "drop_overflow": flat.drop_overflow,
        "quiet": flat.quiet_on,
        "any_loss": flat.any_loss,
        "loss_on": any(flat.may_lose),
        "dup_on": any(flat.may_dup),
        "may_lose": flat.may_lose,
        "may_dup": flat.may_dup,
        "lost_one": flat.lost_one,
        "attack_budget": flat.config.attacker,
        "cap": max_states if max_states is not None else -1,
        "deadline": time.monotonic() + max_seconds if max_seconds is not None else None,
        "progress": progress,
        "progress_every": PROGRESS_EVERY,
        "interruptible": interruptible,
    }
    if engine == "python" or (engine == "auto" and not compiled_available()):
        return python_search(flat, params)
    if not compiled_available():
        raise UsageError(
            "engine: the compiled search is not built here (bash setup.sh builds it; "
            "--engine python runs the same search in Python)"
        )
    from ._search import compiled_search

    out: dict[str, Any] = compiled_search(flat, params)
    return out


def python_search(flat: FlatTables, params: dict[str, Any]) -> dict[str, Any]:
    """The compiled loop's twin in Python (see the module docstring); a state is the
    integer ``w0 | w1 << 32 | w2 << 64 | w3 << 96`` while searching."""
    drop_overflow: bool = params["drop_overflow"]
    quiet: bool = params["quiet"]
    any_loss: bool = params["any_loss"]
    loss_on: bool = params["loss_on"]
    dup_on: bool = params["dup_on"]
    may_lose: list[bool] = params["may_lose"]
    may_dup: list[bool] = params["may_dup"]
    lost_one: int = params["lost_one"]
    attack_budget: int = params["attack_budget"]
    cap: int = params["cap"]
    deadline: float | None = params["deadline"]
    progress: ProgressFn | None = params["progress"]
    every: int = params["progress_every"]

    items_a: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    items_b: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    pushes: dict[tuple[int, int, int], int] = {}
    quiets: dict[int, list[tuple[int, int, int, int]]] = {}
    nets: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
    attacks: dict[tuple[int, int, int], list[tuple[int, int, int]]] = {}

    def pushed(side: int, chan: int, oid: int, lab: int) -> tuple[int, int] | None:
        """The outgoing channel after a send and the move's label, None if it waits."""
        found = pushes.get((side, chan, oid))
        if found is None:
            found = pushes[(side, chan, oid)] = flat.push(side, chan, oid)
        if found >= 0:
            return found, lab
        if not drop_overflow:
            return None
        return flat.overflow(side, chan, oid, lab)

    w = flat.initial
    init = w[0] | (w[1] << 32) | (w[2] << 64) | (w[3] << 96)
    index: dict[int, int] = {init: 0}
    keys: list[int] = [init]
    dst: array[int] = array("I")
    lbl: array[int] = array("H")
    offsets: array[int] = array("I", [0])
    deadlocks: list[int] = []
    blocked_dead: list[int] = []
    waits = 0
    limit: str | None = None
    level_end = 1
    depth = 0
    i = 0
    m32 = 0xFFFFFFFF
    try:
        while i < len(keys):
            if i == level_end:
                depth += 1
                level_end = len(keys)
            if (i & 1023) == 0 and i:
                if deadline is not None and time.monotonic() > deadline:
                    limit = "max-seconds"
                    break
                if progress is not None and (i % every) == 0:
                    progress(len(keys), len(dst), depth)
            key = keys[i]
            w0, ab, ba, w3 = key & m32, (key >> 32) & m32, (key >> 64) & m32, key >> 96
            a, b = w0 & 0xFFFF, w0 >> 16
            succ: list[tuple[int, int, int, int, int]] = []
            blocked = False
            # Endpoint A: its local state and B->A decide the move; A->B takes its sends.
            rows = items_a.get((a, ba))
            if rows is None:
                rows = items_a[(a, ba)] = flat.items(0, a, ba)
            for new, new_in, oid, lab in rows:
                out = pushed(0, ab, oid, lab) if oid else (ab, lab)
                if out is None:
                    blocked = True
                    continue
                succ.append((new | (b << 16), out[0], new_in, w3, out[1]))
            # Endpoint B, symmetrically.
            rows = items_b.get((b, ab))
            if rows is None:
                rows = items_b[(b, ab)] = flat.items(1, b, ab)
            for new, new_in, oid, lab in rows:
                out = pushed(1, ba, oid, lab) if oid else (ba, lab)
                if out is None:
                    blocked = True
                    continue
                succ.append((a | (new << 16), new_in, out[0], w3, out[1]))
            # The expiries that wait for quiescence: both channels empty.
            if quiet and not ab and not ba:
                qrows = quiets.get(w0)
                if qrows is None:
                    qrows = quiets[w0] = flat.quiet(a, b)
                for side, new, chan, lab in qrows:
                    if side == 0:
                        succ.append((new | (b << 16), chan, 0, w3, lab))
                    else:
                        succ.append((a | (new << 16), 0, chan, w3, lab))
            # The network: losses, then duplications, of what is in flight.
            if ab or ba:
                for k in (0, 1):
                    if k == 0 and not (any_loss or (loss_on and may_lose[w3 & 15])):
                        continue
                    if k == 1 and not (dup_on and may_dup[(w3 >> 4) & 15]):
                        continue
                    bump = lost_one if k == 0 else 16
                    for side, chan in ((0, ab), (1, ba)):
                        nrows = nets.get((k, side, chan))
                        if nrows is None:
                            fill = flat.losses if k == 0 else flat.dups
                            nrows = nets[(k, side, chan)] = fill(side, chan)
                        for other, lab in nrows:
                            if side == 0:
                                succ.append((w0, other, ba, w3 + bump, lab))
                            else:
                                succ.append((w0, ab, other, w3 + bump, lab))
            # The attacker's forged segments, while its budget lasts.
            if attack_budget and (w3 >> 8) < attack_budget:
                for side, me, chan in ((0, a, ab), (1, b, ba)):
                    arows = attacks.get((side, me, chan))
                    if arows is None:
                        arows = attacks[(side, me, chan)] = flat.attacks(side, me, chan)
                    for new, out_chan, lab in arows:
                        if side == 0:
                            succ.append((new | (b << 16), out_chan, ba, w3 + 256, lab))
                        else:
                            succ.append((a | (new << 16), ab, out_chan, w3 + 256, lab))
            if blocked:
                waits += 1
            if not succ:
                deadlocks.append(i)
                if blocked:
                    blocked_dead.append(i)
            for s0, s1, s2, s3, _lab in succ:
                nk = s0 | (s1 << 32) | (s2 << 64) | (s3 << 96)
                j = index.get(nk)
                if j is None:
                    j = len(keys)
                    if j == cap:
                        limit = "max-states"
                        break
                    index[nk] = j
                    keys.append(nk)
                dst.append(j)
            if limit == "max-states":
                # Keep the columns aligned: only the edges recorded for this state count.
                del dst[offsets[-1] :]
                break
            lbl.extend(s[4] for s in succ)
            offsets.append(len(dst))
            i += 1
    except (KeyboardInterrupt, MemoryError) as exc:
        if isinstance(exc, KeyboardInterrupt) and not params["interruptible"]:
            raise
        # What was found stays a truthful partial graph: the state being expanded when
        # the search stopped loses the edges recorded for it, as at max-states.
        limit = "interrupted" if isinstance(exc, KeyboardInterrupt) else "memory"
        del dst[offsets[-1] :]
        del lbl[offsets[-1] :]
        i = len(offsets) - 1
    nodes: array[int] = array("I")
    for k in keys:
        nodes.extend((k & m32, (k >> 32) & m32, (k >> 64) & m32, k >> 96))
    return {
        "nodes": nodes,
        "offsets": offsets,
        "dst": dst,
        "lbl": lbl,
        "deadlocks": deadlocks,
        "blocked_dead": blocked_dead,
        "waits": waits,
        "depth": depth,
        "limit": limit,
        "expanded": i,
    }
