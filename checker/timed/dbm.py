"""Difference-bound matrices: the zones of the timed explorer.

A zone is a convex set of clock valuations described by constraints ``x_i - x_j <= c``
or ``x_i - x_j < c`` (clock 0 is the constant zero).  It is stored as a canonical
matrix ``m`` (the tightest bound for every pair, Floyd-Warshall closed) of encoded
bounds: ``(c, <=)`` is ``2c + 1`` and ``(c, <)`` is ``2c``, so that comparing two encoded
bounds compares the bounds, and the sum of two bounds is ``a + b - ((a | b) & 1)``.
Constants are integers: the timed layer scales every duration by a common denominator
(:class:`checker.timed.linear.Scale`) so that no rounding ever happens.

Operations keep the matrix canonical: :meth:`Zone.constrain` closes incrementally in
``O(n^2)``, :meth:`Zone.up` (let time pass) and :meth:`Zone.remap` (drop clocks, add
clocks reset to zero) preserve canonicity.

Examples
--------
>>> z = Zone.zero(2).up()               # two clocks started together, time passes
>>> z = z.constrain(1, 0, le(5))        # x1 <= 5
>>> z.upper(2)                          # then x2 <= 5 as well
(5, False)
>>> z.constrain(0, 2, lt(-5)).empty     # x2 > 5 contradicts it
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence

# The zones are small integer matrices: no BLAS call is worth a thread pool, and
# OpenBLAS reserves memory for one per core as numpy loads -- under a memory cap it
# aborts the process there ("Memory allocation still failed"), before any limit of
# ours can report how far a search got.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import numpy.typing as npt

__all__ = ["INF", "LE_ZERO", "Zone", "ZoneSet", "add", "decode", "le", "lt"]

#: The encoded bound "no constraint".  Finite bounds stay far below it.
INF = 1 << 60
#: The encoded bound ``<= 0``.
LE_ZERO = 1

Matrix = npt.NDArray[np.int64]


def le(c: int) -> int:
    """The encoded bound ``<= c``."""
    return 2 * c + 1


def lt(c: int) -> int:
    """The encoded bound ``< c``."""
    return 2 * c


def decode(bound: int) -> tuple[int, bool] | None:
    """``(c, strict)`` for an encoded bound, ``None`` for no bound.

    >>> decode(le(3)), decode(lt(-2)), decode(INF)
    ((3, False), (-2, True), None)
    """
    if bound >= INF:
        return None
    return bound >> 1, not bound & 1


def add(a: int, b: int) -> int:
    """The sum of two encoded bounds (strict if either is).

    >>> decode(add(le(2), lt(3)))
    (5, True)
    """
    if a >= INF or b >= INF:
        return INF
    return a + b - ((a | b) & 1)


def _add_matrix(a: Matrix, b: Matrix) -> Matrix:
    out = a + b - ((a | b) & 1)
    out[(a >= INF) | (b >= INF)] = INF
    return out


class Zone:
    """A canonical zone over clocks ``1..n`` (index 0 is the zero clock)."""

    __slots__ = ("empty", "m")

    def __init__(self, m: Matrix, empty: bool = False) -> None:
        self.m = m
        self.empty = empty

    @classmethod
    def zero(cls, clocks: int) -> Zone:
        """Every clock equal to zero."""
        return cls(np.full((clocks + 1, clocks + 1), LE_ZERO, dtype=np.int64))

    @classmethod
    def universal(cls, clocks: int) -> Zone:
        """Every clock at any non-negative value, independently."""
        m = np.full((clocks + 1, clocks + 1), INF, dtype=np.int64)
        m[0, :] = LE_ZERO
        np.fill_diagonal(m, LE_ZERO)
        return cls(m)

    @property
    def clocks(self) -> int:
        return int(self.m.shape[0]) - 1

    # ----------------------------------------------------------------- operations
    def constrain(self, i: int, j: int, bound: int) -> Zone:
        """The zone with ``x_i - x_j`` bounded by ``bound`` as well (a new zone)."""
        m = self.m
        if self.empty or bound >= m[i, j]:
            return self
        if add(int(m[j, i]), bound) < LE_ZERO:
            return Zone(m, True)
        # Incremental closure: every path may now go through the new edge i -> j.
        col = m[:, i : i + 1]
        via = col + bound - ((col | bound) & 1)
        via[col >= INF] = INF
        closed = np.minimum(m, _add_matrix(via, m[j : j + 1, :]))
        if (np.diagonal(closed) < LE_ZERO).any():
            return Zone(closed, True)
        return Zone(closed)

    def up(self) -> Zone:
        """Let any amount of time pass: clocks lose their upper bounds."""
        if self.empty:
            return self
        m = self.m.copy()
        m[1:, 0] = INF
        return Zone(m)

    def remap(self, sources: Sequence[int]) -> Zone:
        """A zone over ``len(sources)`` clocks: new clock ``k + 1`` is old clock
        ``sources[k]``, or a clock reset to zero when ``sources[k]`` is 0."""
        idx = np.array([0, *sources], dtype=np.intp)
        return Zone(self.m[np.ix_(idx, idx)].copy(), self.empty)

    # ------------------------------------------------------------------- queries

    def upper(self, i: int) -> tuple[int, bool] | None:
        """The supremum of clock ``i`` as ``(c, strict)``, ``None`` when unbounded."""
        return decode(int(self.m[i, 0]))


class ZoneSet:
    """The zones already seen for one discrete state, compared by LU-simulation.

    A new zone is dropped when some stored zone *simulates* it: every run from the new
    zone can be matched, step for step and delay for delay, by a run from the stored
    one (``Z ⊆ aLU(Z')``, Herbreteau, Srivathsan and Walukiewicz, "Better abstractions
    for timed automata", 2012).  ``lower[k]`` / ``upper[k]`` are the largest constants
    clock ``k + 1`` is compared with from below (a guard ``x >= c`` or ``x > c``) and
    from above (``x <= c``, an invariant) before it is reset; a clock that must be kept
    exact (a watch clock) has ``None``.  The test is exact for reachability: which
    discrete states and moves are reachable does not change.

    >>> zs = ZoneSet(lower=[10], upper=[10])   # x is compared with 10 only
    >>> up = Zone.zero(1).up()
    >>> zs.add(up.constrain(1, 0, le(3)))
    True
    >>> zs.add(up.constrain(1, 0, le(2)))   # included in the first: nothing new
    False
    >>> zs.add(up.constrain(0, 1, lt(-20)))  # x > 20: beyond 10, a new zone
    True
    >>> zs.add(up.constrain(0, 1, lt(-30)))  # x > 30 behaves like x > 20: simulated
    False
    >>> zs.add(up)                          # simulates both, which are dropped
    True
    >>> len(zs)
    1
    """

    __slots__ = ("_ids", "_lower", "_n", "_stack", "_upper", "dropped")

    #: Stand-in for an infinite LU bound (a clock kept exact).
    EXACT = 1 << 50

    def __init__(self, lower: Sequence[int | None], upper: Sequence[int | None]) -> None:
        self._stack: Matrix | None = None
        self._ids: list[int] = []
        self._n = 0
        #: Tags (see :meth:`add`) of the zones dropped by the last :meth:`add`.
        self.dropped: list[int] = []
        big = self.EXACT
        self._lower = np.array([0] + [big if c is None else c for c in lower], dtype=np.int64)
        self._upper = np.array([0] + [big if c is None else c for c in upper], dtype=np.int64)

    def __len__(self) -> int:
        return self._n

    def _simulated(self, small: Matrix, big: Matrix) -> npt.NDArray[np.bool_]:
        """For stacked zones, is ``small`` included in aLU(``big``)?  Either may be a
        stack ``(k, n, n)``, the other a single matrix ``(n, n)``.  Not included iff
        for some clocks ``x != y``: ``small[0,x] >= (<= -U_x)``, ``big[y,x] <
        small[y,x]`` and ``big[y,x] + (< -L_y) < small[0,x]``."""
        lower_y = (2 * -self._lower).reshape(-1, 1)  # lt(-L_y), per row y
        upper_x = 2 * -self._upper + 1  # le(-U_x), per column x
        row0 = small[..., 0:1, :]  # small[0, x], broadcast over y
        cond_a = row0 >= upper_x
        cond_b = big < small
        shifted = big + lower_y - ((big | lower_y) & 1)
        shifted = np.where(big >= INF, INF, shifted)
        cond_c = shifted < row0
        witness = cond_a & cond_b & cond_c
        n = witness.shape[-1]
        witness = witness & ~np.eye(n, dtype=np.bool_)
        result: npt.NDArray[np.bool_] = np.logical_not(witness.any(axis=(-2, -1)))
        return result

    def add(self, zone: Zone, tag: int = 0) -> bool:
        """Add ``zone`` unless a stored zone simulates it; drop the stored zones it
        simulates (their tags are left in :attr:`dropped`).  Returns whether it was
        added."""
        self.dropped = []
        if zone.empty:
            return False
        m = zone.m
        if self._stack is None:
            self._stack = np.empty((4, *m.shape), dtype=np.int64)
        live = self._stack[: self._n]
        if self._n:
            if self._simulated(m, live).any():
                return False
            keep = ~self._simulated(live, m)
            kept = int(keep.sum())
            if kept < self._n:
                self.dropped = [t for t, k in zip(self._ids, keep, strict=True) if not k]
                self._ids = [t for t, k in zip(self._ids, keep, strict=True) if k]
                live[:kept] = live[keep]
                self._n = kept
        if self._n == len(self._stack):
            grown = np.empty((2 * self._n, *m.shape), dtype=np.int64)
            grown[: self._n] = self._stack[: self._n]
            self._stack = grown
        self._stack[self._n] = m
        self._ids.append(tag)
        self._n += 1
        return True
