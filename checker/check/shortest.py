"""The shortest runs to a goal: the counterexamples and witnesses that are paths.

A run found for an ``invariant``, ``reachable``, ``path`` or ``deadlock-free`` property
starts in the initial state and ends at the first state where its goal holds (a bad
state, a target, the end of a path pattern, a deadlock).  :func:`shortest_runs` gives up
to ``count`` of them, shortest first: a breadth-first search in which a state may be
reached ``count`` times instead of once (each time by a different run), and a goal
ends the run that reaches it.  Runs of equal length come in the order of the explored
graph's edges, so the answer depends on the graph alone.  Two runs are distinct when
their moves differ: parallel edges with the same label and target are one move.

The first run is the one a plain breadth-first search finds, whatever ``count`` is.

Examples
--------
>>> from checker import load_spec, explore
>>> from checker.product.config import ProductConfig
>>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> def established(node: int) -> bool:
...     return ex.state(node).a.state == "ESTABLISHED"
>>> runs = shortest_runs(ex, 0, established, node_moves(ex), 3)
>>> [len(r) for r in runs]
[4, 4, 5]
>>> [ex.labels[ex.lbl[e]].text() for e in runs[1]]  # doctest: +NORMALIZE_WHITESPACE
['B: passive OPEN', 'A: active OPEN / snd SYN', 'B: rcv SYN / snd SYN+ACK',
 'A: rcv SYN+ACK / snd ACK']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from ..product.exploration import Exploration

__all__ = ["node_moves", "shortest_runs"]

K = TypeVar("K", bound=Hashable)


def node_moves(exploration: Exploration) -> Callable[[int], Iterable[tuple[int, int]]]:
    """The moves of the explored graph itself: ``(edge index, target node)`` of a node,
    none from a node a bounded search did not expand."""
    offs, dst = exploration.offsets, exploration.dst
    expanded = len(offs) - 1

    def moves(node: int) -> Iterable[tuple[int, int]]:
        if node >= expanded:
            return ()
        return ((e, dst[e]) for e in range(offs[node], offs[node + 1]))

    return moves


def shortest_runs(
    exploration: Exploration,
    start: K,
    goal: Callable[[K], bool],
    moves: Callable[[K], Iterable[tuple[int, K]]],
    count: int,
) -> list[list[int]]:
    """Up to ``count`` distinct shortest runs from ``start`` to a key where ``goal`` holds,
    each as the edge indices of ``exploration`` it takes (see the module docstring).

    A key is a node of the graph, or a node paired with what a search tracks along the
    run (the positions of a path pattern); ``moves`` gives a key's ``(edge index, next
    key)`` pairs, in the graph's edge order.
    """
    lbl = exploration.lbl
    # Every run reached so far, as (the run it extends, the edge it adds): index -1 is none.
    runs: list[tuple[int, int]] = []
    reached: dict[K, int] = {}  # how many runs have reached each key
    queue: deque[tuple[K, int, int]] = deque([(start, -1, -1)])
    reached[start] = 1
    found: list[int] = []
    while queue and len(found) < count:
        key, parent, edge = queue.popleft()
        here = len(runs)
        runs.append((parent, edge))
        if goal(key):
            found.append(here)  # a run ends at its first goal
            continue
        taken: set[tuple[int, K]] = set()
        for e, nxt in moves(key):
            move = (lbl[e], nxt)
            if move in taken:
                continue  # the same move again, by a parallel edge
            taken.add(move)
            # Runs are queued shortest first, so the first ``count`` to reach a key are
            # its shortest: any longer one would only lead to runs longer than theirs.
            seen = reached.get(nxt, 0)
            if seen < count:
                reached[nxt] = seen + 1
                queue.append((nxt, here, e))
    return [_edges(runs, i) for i in found]


def _edges(runs: list[tuple[int, int]], i: int) -> list[int]:
    """The edge indices of run ``i``, from the start."""
    edges: list[int] = []
    while i >= 0:
        parent, edge = runs[i]
        if edge >= 0:
            edges.append(edge)
        i = parent
    edges.reverse()
    return edges
