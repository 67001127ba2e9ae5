"""Tiles of the parameter space: zones guided by one parameter point.

General parametric zones (:mod:`checker.timed.pdbm`) keep, in every cell, every bound that
might be the least for *some* parameter values; on the bundled models those sets grow
to thousands of incomparable bounds.  A *tile* avoids them (the inverse method of André,
Chatain, Encrenaz and Fribourg, "An inverse method for parametric timed automata",
2009): the exploration is guided by one point ``p`` of the parameter space.  A cell
holds one linear bound; whenever two bounds are compared -- which is the least, whether
a cycle is negative (the zone empty), whether one zone LU-simulates another (with LU
bounds that are linear too) -- the answer is read off at ``p`` and the linear constraint
that makes the same answer right is recorded.  At every point of the conjunction ``K``
of the recorded constraints the exploration makes the same choices and builds the same
graph of zones, so it reaches the same moves: the verdict found holds on all of ``K``.
A zone also keeps the constraints of its own history (:attr:`TZone.k`): a violating
move is reachable wherever its zone's history holds, a larger region than ``K``.
:func:`checker.timed.synth.synthesize` covers the space with tiles (behavioural cartography).

Ties at ``p`` (two different bounds with the same value there) are broken as they fall
just beyond ``p`` in a fixed generic direction ``v``: every decision is the one at
``p + eps*v`` for small ``eps > 0``, so that a tile is never a sliver on a boundary but a
full-dimensional cell on one side of it.  Such a tile need not contain ``p`` itself; a
tile with ``perturb=False`` decides at ``p`` exactly and does (it may be thin).

A cell is ``(key, number)``: ``number`` is the tile's number for a
:data:`checker.timed.pdbm.Bound` (:meth:`Tile.bound` gives it back), ``key``
an integer ordering bounds as at ``p + eps*v`` -- value at ``p`` (times the point's
denominator), then slope along ``v``, then strictness (``<`` below ``<=``) -- and
summed like the encoded bounds of :mod:`checker.timed.dbm`.

Examples
--------
>>> from fractions import Fraction
>>> t = Tile([Fraction(3), Fraction(5)])         # p0 = 3, p1 = 5
>>> z = TZone.universal(1, t)
>>> z = z.up().constrain(1, 0, t.cell((0, (1, 0), False)))   # x <= p0
>>> z = z.constrain(1, 0, t.cell((0, (0, 1), False)))        # x <= p1: looser at p
>>> t.bound(z.m[1][0][1])                        # so x <= p0 stays ...
(0, (1, 0), False)
>>> sorted(t.region())                           # ... where p0 <= p1
[(0, (-1, 1), False)]
>>> z.constrain(0, 1, t.cell((-4, (0, 0), True))).empty      # x > 4: not at p0 = 3
True
>>> sorted(t.region())                           # empty wherever p0 <= 4
[(0, (-1, 1), False), (4, (-1, 0), False)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

from .pdbm import Bound, CoveringSet, sign_of

__all__ = ["KeyedBound", "TZone", "TZoneSet", "Tile"]

#: ``(key, bound id)``: see the module docstring.
KeyedBound = tuple[int, int]

#: The slope's field in a key: slopes stay far below it.
_SHIFT = 64

#: What a comparison of two bounds records when it needs no constraint (their
#: coefficients are equal, or the constraint holds for every positive parameter).
_NOTHING = -1


class Tile:
    """A parameter point, the direction ties are broken in, and the constraints recorded
    while exploring there.  ``perturb=False`` decides every comparison at the point
    itself (a tile that may be thin, but contains the point).

    Bounds and constraints are numbered as they first appear (:meth:`bound`,
    :meth:`constraints`): an exploration sums and compares the same few thousand bounds
    millions of times, and a pair of numbers is looked up where a pair of nested tuples
    would be built and hashed again."""

    __slots__ = (
        "_cells",
        "_cids",
        "_held",
        "_ids",
        "_le",
        "_sums",
        "arity",
        "bounds",
        "den",
        "direction",
        "fresh",
        "k",
        "num",
        "point",
        "recorded",
        "zero",
    )

    def __init__(self, point: Sequence[Fraction], perturb: bool = True) -> None:
        self.point = tuple(point)
        self.arity = len(point)
        self.den = math.lcm(*(v.denominator for v in point)) if point else 1
        self.num = tuple(int(v * self.den) for v in point)
        # A direction no small integer combination of the coordinates is orthogonal to.
        self.direction = tuple(1000**i if perturb else 0 for i in range(self.arity))
        #: The bounds met, by number.
        self.bounds: list[Bound] = []
        self._ids: dict[Bound, int] = {}
        #: The constraints recorded, by number: ``0 <= e`` (``0 < e`` if strict).
        self.recorded: list[Bound] = []
        self._cids: dict[Bound, int] = {}
        #: The tile: the numbers of its constraints, each true there.
        self.k: set[int] = set()
        #: The constraints recorded since the last :meth:`take` (for one zone's history).
        self.fresh: list[int] = []
        self._cells: dict[Bound, KeyedBound] = {}
        self._sums: dict[tuple[int, int], int] = {}  # bound numbers -> their sum's
        self._le: dict[tuple[int, int], int] = {}  # (lo, hi) -> constraint lo <= hi
        self._held: dict[tuple[int, int, bool], int] = {}  # (a, b, a <= b?) -> constraint
        self.zero: KeyedBound = self.cell((0, (0,) * self.arity, False))

    def bound(self, i: int) -> Bound:
        """The bound numbered ``i`` (a cell's second part)."""
        return self.bounds[i]

    def _number(self, b: Bound) -> int:
        got = self._ids.get(b)
        if got is None:
            got = self._ids[b] = len(self.bounds)
            self.bounds.append(b)
        return got

    def constraints(self, numbers: Iterable[int]) -> frozenset[Bound]:
        """The constraints numbered ``numbers`` (a zone's history, the tile's ``k``)."""
        recorded = self.recorded
        return frozenset(recorded[i] for i in numbers)

    def region(self) -> frozenset[Bound]:
        """The tile: every constraint recorded so far."""
        return self.constraints(self.k)

    def cell(self, b: Bound) -> KeyedBound:
        """The cell of bound ``b``: its key orders bounds by value at the point, then by
        slope in the tie-break direction, then non-strict above strict."""
        got = self._cells.get(b)
        if got is not None:
            return got
        const, coefs, strict = b
        value = const * self.den + sum(c * v for c, v in zip(coefs, self.num, strict=True))
        slope = sum(c * d for c, d in zip(coefs, self.direction, strict=True))
        got = ((((value << _SHIFT) + slope) << 1) + (0 if strict else 1), self._number(b))
        self._cells[b] = got
        return got

    def add(self, a: KeyedBound, b: KeyedBound) -> KeyedBound:
        """The cell of the sum of two bounds (strict if either is)."""
        ka, kb = a[0], b[0]
        pair = (a[1], b[1])
        total = self._sums.get(pair)
        if total is None:
            ba, bb = self.bounds[a[1]], self.bounds[b[1]]
            total = self._sums[pair] = self._number(
                (
                    ba[0] + bb[0],
                    tuple(x + y for x, y in zip(ba[1], bb[1], strict=True)),
                    ba[2] or bb[2],
                )
            )
        return (ka + kb - ((ka | kb) & 1), total)

    def _constraint(self, e: Bound | None) -> int:
        """The number of constraint ``e`` (:data:`_NOTHING` for none, or one true for
        every positive parameter)."""
        if e is None or sign_of(e) is True:
            return _NOTHING
        got = self._cids.get(e)
        if got is None:
            got = self._cids[e] = len(self.recorded)
            self.recorded.append(e)
        return got

    def _record(self, c: int) -> None:
        # Every zone's history gets the constraint, even when another zone recorded it.
        if c != _NOTHING:
            self.k.add(c)
            self.fresh.append(c)

    def take(self) -> list[int]:
        """The constraints recorded since the last call."""
        got, self.fresh = self.fresh, []
        return got

    def least(self, a: KeyedBound, b: KeyedBound) -> bool:
        """Is ``a`` the lesser of two bounds (either answer is right on a tie)?  Records
        that the chosen one is at most the other."""
        first = a[0] <= b[0]
        pair = (a[1], b[1]) if first else (b[1], a[1])
        if pair[0] != pair[1]:
            c = self._le.get(pair)
            if c is None:
                lo, hi = self.bounds[pair[0]], self.bounds[pair[1]]
                c = self._le[pair] = self._constraint(_at_most(lo, hi) if lo[1] != hi[1] else None)
            if c != _NOTHING:
                self.k.add(c)
                self.fresh.append(c)
        return first

    def holds(self, a: KeyedBound, b: KeyedBound) -> bool:
        """Is ``a`` at most ``b``?  Records the constraint that keeps the answer."""
        yes = a[0] <= b[0]
        key = (a[1], b[1], yes)
        c = self._held.get(key)
        if c is None:
            ba, bb = self.bounds[a[1]], self.bounds[b[1]]
            e = None
            if ba[1] != bb[1]:
                e = _at_most(ba, bb)
                if not yes:
                    e = (-e[0], tuple(-x for x in e[1]), not e[2])
            c = self._held[key] = self._constraint(e)
        self._record(c)
        return yes


def _at_most(lo: Bound, hi: Bound) -> Bound:
    """``lo <= hi`` as encoded bounds, as a constraint ``0 <= hi - lo`` (``0 < hi - lo``
    when only ``hi`` is strict)."""
    return (
        hi[0] - lo[0],
        tuple(y - x for x, y in zip(lo[1], hi[1], strict=True)),
        hi[2] and not lo[2],
    )


class TZone:
    """A zone over clocks ``1..n`` whose cells are single parametric bounds, compared
    at the tile's point (``None``: no bound)."""

    __slots__ = ("empty", "k", "m", "tile")

    def __init__(
        self,
        m: list[list[KeyedBound | None]],
        tile: Tile,
        empty: bool = False,
        k: frozenset[int] = frozenset(),
    ) -> None:
        self.m = m
        self.tile = tile
        self.empty = empty
        #: The numbers of the constraints this zone's own history rests on: wherever
        #: they hold, the zone is the same (and as empty or not) as at the point.
        self.k = k

    def history(self) -> frozenset[Bound]:
        """The constraints this zone's own history rests on."""
        return self.tile.constraints(self.k)

    def _history(self) -> frozenset[int]:
        fresh = self.tile.take()
        return self.k.union(fresh) if fresh else self.k

    @classmethod
    def universal(cls, clocks: int, tile: Tile) -> TZone:
        n = clocks + 1
        m: list[list[KeyedBound | None]] = [[None] * n for _ in range(n)]
        for j in range(n):
            m[0][j] = tile.zero
            m[j][j] = tile.zero
        return cls(m, tile)

    def constrain(self, i: int, j: int, b: KeyedBound) -> TZone:
        """The zone with ``x_i - x_j`` also bounded by ``b`` (canonical again)."""
        if self.empty:
            return self
        t = self.tile
        t.take()
        m = self.m
        old = m[i][j]
        if old is not None and t.least(old, b):
            return TZone(m, t, False, self._history())
        back = m[j][i]
        if back is not None and not t.holds(t.zero, t.add(back, b)):
            return TZone(m, t, True, self._history())  # a negative cycle via the new edge
        n = len(m)
        out = [row[:] for row in m]
        # The closure's inner loop, with Tile.add and Tile.least written out: it runs
        # millions of times per synthesis, and the calls were half its cost.
        sums, le, bounds = t._sums, t._le, t.bounds
        k_set, fresh = t.k, t.fresh
        for k in range(n):
            left = m[k][i]
            if left is None:
                continue
            kv, iv = t.add(left, b)
            row_j = m[j]
            row_out = out[k]
            for col in range(n):
                right = row_j[col]
                if right is None or k == col:
                    continue
                kr, ir = right
                ck = kv + kr - ((kv | kr) & 1)
                ci = sums.get((iv, ir))
                if ci is None:
                    ci = t.add((kv, iv), right)[1]
                cur = row_out[col]
                if cur is None:
                    row_out[col] = (ck, ci)
                    continue
                kc, ic = cur
                pair = (ic, ci) if kc <= ck else (ci, ic)
                if pair[0] != pair[1]:
                    c = le.get(pair)
                    if c is None:
                        lo, hi = bounds[pair[0]], bounds[pair[1]]
                        c = le[pair] = t._constraint(_at_most(lo, hi) if lo[1] != hi[1] else None)
                    if c != _NOTHING:
                        k_set.add(c)
                        fresh.append(c)
                if kc > ck:
                    row_out[col] = (ck, ci)
        return TZone(out, t, False, self._history())

    def up(self) -> TZone:
        if self.empty:
            return self
        m = [row[:] for row in self.m]
        for i in range(1, len(m)):
            m[i][0] = None
        return TZone(m, self.tile, False, self.k)

    def remap(self, sources: Sequence[int]) -> TZone:
        idx = [0, *sources]
        t = self.tile
        m = [[self.m[a][b] for b in idx] for a in idx]
        for x in range(1, len(idx)):
            if idx[x] == 0:
                m[x][x] = t.zero
        return TZone(m, t, self.empty, self.k)


class TZoneSet(CoveringSet[TZone]):
    """The zones seen for one discrete state, compared by LU-simulation as
    :class:`checker.timed.dbm.ZoneSet` does, with the LU bounds parametric too: each
    comparison is decided at the point and, when a zone is dropped, recorded."""

    __slots__ = ("_lower", "_upper", "tile")

    def __init__(
        self, tile: Tile, lower: Sequence[Bound | None], upper: Sequence[Bound | None]
    ) -> None:
        super().__init__()
        self.tile = tile
        zero = tile.bound(tile.zero[1])
        # lt(-L_y) per row y and le(-U_x) per column x (None: the clock is kept exact).
        self._lower: list[KeyedBound | None] = [
            None if b is None else tile.cell((-b[0], tuple(-c for c in b[1]), True))
            for b in (zero, *lower)
        ]
        self._upper: list[KeyedBound | None] = [
            None if b is None else tile.cell((-b[0], tuple(-c for c in b[1]), False))
            for b in (zero, *upper)
        ]

    def covers(self, big: TZone, small: TZone) -> bool:
        """Is ``small`` included in aLU(``big``)?  Not iff for some ``x != y``:
        ``small[0,x] >= (<= -U_x)``, ``big[y,x] < small[y,x]`` and
        ``big[y,x] + (< -L_y) < small[0,x]``.  Decided at the point; when it is
        simulated, one false condition per pair is recorded."""
        t = self.tile
        sm, bg = small.m, big.m
        n = len(sm)
        row0 = sm[0]
        for y in range(n):
            ly = self._lower[y]
            for x in range(n):
                if x == y:
                    continue
                byx = bg[y][x]
                if byx is None:
                    continue
                syx = sm[y][x]
                if syx is not None and syx[0] <= byx[0]:
                    continue
                s0x = row0[x]
                assert s0x is not None  # clocks are never negative
                ux = self._upper[x]
                if ux is not None and ux[0] > s0x[0]:
                    continue
                if ly is not None and t.add(byx, ly)[0] >= s0x[0]:
                    continue
                return False  # a witness pair
        # Simulated at the point: keep every pair's reason wherever the tile reaches.
        for y in range(n):
            ly = self._lower[y]
            for x in range(n):
                byx = bg[y][x]
                if x == y or byx is None:
                    continue
                syx = sm[y][x]
                s0x = row0[x]
                assert s0x is not None
                ux = self._upper[x]
                if syx is not None and syx[0] <= byx[0]:
                    t.holds(syx, byx)
                elif ux is not None and ux[0] > s0x[0]:
                    t.holds(ux, s0x)
                elif ly is not None:
                    t.holds(s0x, t.add(byx, ly))
        return True
