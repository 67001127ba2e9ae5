"""Breadth-first exploration of the product automaton over a compact core.

The search never touches a dataclass.  A product state is four 32-bit words -- A's and
B's local-state ids, the ids of the two channels' contents, the losses, duplications and
forged segments used (:mod:`checker.product.flat`) -- and every move comes from a row
of integers memoized on first use, filled from the product's rules
(:mod:`checker.product.semantics`, :mod:`checker.product.network`) through
:class:`checker.product.tables.Tables`, which
:class:`checker.product.reference.Product` applies to dataclasses; the test suite
checks the whole successor relation of the two.  The loop itself is compiled
(:mod:`checker.product.search`; a pure-Python twin runs where the extension is not
built), and its edges go into flat ``array`` columns (target, label id, per-state
offsets); the networkx view is built from them only when asked for
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

from ..model.spec import Spec
from .config import ProductConfig
from .exploration import Exploration
from .flat import FlatTables
from .search import ProgressFn, search

__all__ = ["ProgressFn", "explore"]


def explore(
    spec: Spec,
    config: ProductConfig | None = None,
    *,
    max_states: int | None = None,
    max_seconds: float | None = None,
    progress: ProgressFn | None = None,
    measure_memory: bool = False,
    interruptible: bool = False,
    engine: str = "auto",
) -> Exploration:
    """Explore the product of ``spec`` under ``config`` breadth-first.

    ``max_states`` and ``max_seconds`` bound the search; a bounded search returns an
    :class:`Exploration` with ``complete=False`` and ``limit`` naming the bound.  Running
    out of memory is such a bound (``limit="memory"``); so is Ctrl-C when
    ``interruptible`` (``"interrupted"``; otherwise it propagates, so that a caller
    such as a suite stops rather than goes on with a cut graph).  ``engine``:
    ``compiled``, ``python`` or ``auto`` (compiled where it is built).

    Examples
    --------
    >>> from checker import ProductConfig, load_spec
    >>> ex = explore(load_spec(variant="linux"), ProductConfig(loss="1"), max_states=1000)
    >>> ex.states, ex.complete, ex.limit
    (1000, False, 'max-states')
    """
    config = config or ProductConfig()
    flat = FlatTables(spec, config)
    if measure_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    out = search(
        flat,
        engine=engine,
        max_states=max_states,
        max_seconds=max_seconds,
        progress=progress,
        interruptible=interruptible,
    )
    seconds = time.perf_counter() - t0
    peak = None
    if measure_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    states = len(out["nodes"]) // 4
    expanded = out["expanded"]
    complete = out["limit"] is None and expanded >= states
    deadlocks = out["deadlocks"]
    if not complete:
        # Deadlock verdicts need every successor: states never expanded are not deadlocks.
        deadlocks = [d for d in deadlocks if d < expanded]
    core = flat.tables
    return Exploration(
        spec=spec,
        config=config,
        nodes=out["nodes"],
        offsets=out["offsets"],
        dst=out["dst"],
        lbl=out["lbl"],
        labels=core.labels,
        deadlocks=deadlocks,
        capacity_blocked=out["blocked_dead"],
        capacity_waits=out["waits"],
        depth=out["depth"],
        complete=complete,
        limit=out["limit"],
        seconds=seconds,
        peak_bytes=peak,
        _locals=core.locals,
        _chans=core.chans,
    )
