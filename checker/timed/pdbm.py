"""Parametric zones: difference bounds that are linear in free timing parameters.

For synthesis some parameters stay symbolic (``TIME_WAIT``, ``MSL``, ``RTO``).  A zone is
then a set of pairs (parameter values, clock values).  It is stored as a matrix whose
cell ``(i, j)`` holds a *set* of linear bounds -- ``x_i - x_j`` is at most the least of
them, pointwise in the parameters -- and a *parameter constraint* ``K``: the parameter
values for which the zone is not empty.

Why this is exact without case splits: the minimum distributes over addition, so
closing the matrix with sets of bounds (every sum along every path kept, dominated ones
dropped) computes, for each parameter value, exactly the canonical matrix of the
concrete zone.  The concrete zone is empty iff some cycle has a negative weight; every
cycle weight is one of the bounds on the diagonal, so "no negative cycle" is the
conjunction of ``0 <= e`` over the diagonal bounds ``e`` -- linear in the parameters.
That conjunction is ``K``; the diagonal then goes back to ``{0}``.

A bound is ``(const, coefficients, strict)``: ``const + sum(coef * param)``, ``<`` when
strict.  Free parameters are positive.

Whether a parameter constraint can hold, or implies another, is Z3's to say; the zones of
one exploration share one incremental solver (:class:`ParamSolver`), under the limits
the exploration was given, with its atoms and answers cached.

Examples
--------
>>> z = PZone.universal(1, 2)                  # one clock; parameters p0, p1
>>> z = z.constrain(1, 0, bound(0, (1, 0)))    # x <= p0
>>> z = z.constrain(0, 1, bound(0, (0, -1)))   # x >= p1
>>> [str_constraint(c, ("p0", "p1")) for c in z.k]
['p0 - p1 >= 0']
>>> z.constrain(0, 1, bound(-1, (-1, 0), strict=True)).empty   # x > p0 + 1: no room
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import z3

from .solver import DEFAULT_LIMITS, SolverLimits

__all__ = [
    "Bound",
    "CoveringSet",
    "PZone",
    "PZoneSet",
    "ParamSolver",
    "at_most",
    "atom_formula",
    "bound",
    "k_formula",
    "sign_of",
    "str_constraint",
]

#: ``(const, coefficients, strict)``: the bound ``< or <= const + sum(coef * param)``,
#: with integer numbers (the caller scales every constant by a common denominator).
Bound = tuple[int, tuple[int, ...], bool]
#: A cell: the bounds whose pointwise minimum bounds ``x_i - x_j`` (empty: no bound).
BoundSet = tuple[Bound, ...]


def bound(const: int, coefs: Sequence[int], strict: bool = False) -> Bound:
    return (const, tuple(coefs), strict)


def _add(a: Bound, b: Bound) -> Bound:
    return (a[0] + b[0], tuple(x + y for x, y in zip(a[1], b[1], strict=True)), a[2] or b[2])


def _le(a: Bound, b: Bound) -> bool:
    """Is bound ``a`` at most bound ``b`` for every positive parameter value?"""
    d0 = b[0] - a[0]
    if d0 < 0:
        return False
    zero = d0 == 0
    for x, y in zip(a[1], b[1], strict=True):
        if y < x:
            return False
        if y != x:
            zero = False
    # Equal as numbers at some point only when the difference is identically 0 (the
    # parameters are positive); then a strict bound is the smaller one.
    return not zero or a[2] or not b[2]


def _prune(bounds: Sequence[Bound]) -> BoundSet:
    """The bounds not dominated by another (sorted, so equal sets compare equal)."""
    # Among bounds with the same coefficients only the smallest constant counts (a strict
    # bound beats a non-strict one with the same constant): one pass collapses them.
    best: dict[tuple[int, ...], Bound] = {}
    for b in bounds:
        old = best.get(b[1])
        if old is None or b[0] < old[0] or (b[0] == old[0] and b[2] and not old[2]):
            best[b[1]] = b
    if len(best) == 1:
        return tuple(best.values())
    out: list[Bound] = []
    for b in sorted(best.values()):
        if any(_le(o, b) for o in out):
            continue
        out = [o for o in out if not _le(b, o)]
        out.append(b)
    return tuple(sorted(out))


def sign_of(e: Bound) -> bool | None:
    """``0 <= e`` (``0 < e`` if strict): True/False when it holds/fails for every
    positive parameter value, None when it depends on them."""
    if all(c == 0 for c in e[1]):
        return e[0] > 0 or (e[0] == 0 and not e[2])
    if e[0] >= 0 and all(c >= 0 for c in e[1]):
        return True
    if e[0] <= 0 and all(c <= 0 for c in e[1]):
        return False if (e[0] < 0 or any(c < 0 for c in e[1]) or e[2]) else None
    return None


def _normal(e: Bound) -> Bound:
    """``0 <= e`` divided by the gcd of its numbers (the same constraint, one spelling)."""
    g = math.gcd(e[0], *e[1])
    if g <= 1:
        return e
    return (e[0] // g, tuple(c // g for c in e[1]), e[2])


def _reduce(k: Iterable[Bound]) -> frozenset[Bound]:
    """Drop the constraints ``0 <= e`` implied by another ``0 <= e'`` with ``e' <= e``."""
    out: list[Bound] = []
    for e in sorted({_normal(c) for c in k}):
        if any(_le(o, e) for o in out):
            continue
        out = [o for o in out if not _le(e, o)]
        out.append(e)
    return frozenset(out)


class ParamSolver:
    """One incremental Z3 solver over the parameters, under ``limits``, with cached atoms
    and answers (the answers are definite, so they hold under any limits; the limits say
    only how long Z3 may take to find one)."""

    def __init__(self, limits: SolverLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.solvers: dict[int, tuple[Any, list[Any]]] = {}
        self.atoms: dict[Bound, Any] = {}
        self.sat: dict[frozenset[Bound], bool] = {}
        self.implied: dict[tuple[frozenset[Bound], frozenset[Bound]], bool] = {}

    def _get(self, arity: int) -> tuple[Any, list[Any]]:
        got = self.solvers.get(arity)
        if got is None:
            solver = self.limits.new_solver()
            ps = [z3.Real(f"p{i}") for i in range(arity)]
            solver.add(*(p > 0 for p in ps))
            got = self.solvers[arity] = (solver, ps)
        return got

    def atom(self, e: Bound, ps: Sequence[Any]) -> Any:
        got = self.atoms.get(e)
        if got is None:
            got = self.atoms[e] = atom_formula(e, ps)
        return got

    def feasible(self, k: frozenset[Bound], arity: int) -> bool:
        """Is there a positive parameter value satisfying every constraint of ``k``?"""
        got = self.sat.get(k)
        if got is None:
            solver, ps = self._get(arity)
            solver.push()
            solver.add(*(self.atom(c, ps) for c in k))
            try:
                got = self.sat[k] = self.limits.decide(solver, "a parameter constraint")
            finally:
                solver.pop()
        return got

    def implies(self, k: frozenset[Bound], goal: frozenset[Bound], arity: int) -> bool:
        """Does every positive parameter value satisfying ``k`` satisfy ``goal``?"""
        key = (k, goal)
        got = self.implied.get(key)
        if got is None:
            solver, ps = self._get(arity)
            solver.push()
            solver.add(*(self.atom(c, ps) for c in k))
            solver.add(z3.Not(z3.And(*(self.atom(c, ps) for c in goal))))
            try:
                got = self.implied[key] = not self.limits.decide(
                    solver, "an inclusion of parameter constraints"
                )
            finally:
                solver.pop()
        return got


def at_most(a: Bound, b: Bound) -> bool:
    """Is bound ``a`` at most bound ``b`` for every positive parameter value?"""
    return _le(a, b)


def atom_formula(e: Bound, ps: Sequence[Any]) -> Any:
    """``0 <= e`` (``0 < e`` if strict) as a Z3 formula over the parameter terms ``ps``."""
    term = linear_term(e, ps)
    return term > 0 if e[2] else term >= 0


def linear_term(e: Bound, ps: Sequence[Any]) -> Any:
    """``const + sum(coef * p)`` of ``e`` as a Z3 term, in the context of ``ps``."""
    ctx = ps[0].ctx if ps else None  # the terms' own context (a map of tiles has one)
    return z3.RealVal(e[0], ctx) + z3.Sum(
        [z3.RealVal(c, ctx) * p for c, p in zip(e[1], ps, strict=True)]
    )


def k_formula(k: frozenset[Bound], names: Sequence[str]) -> Any:
    """``K`` as a Z3 formula over real variables named ``names``."""
    ps = [z3.Real(n) for n in names]
    return z3.And(*(atom_formula(c, ps) for c in sorted(k))) if k else z3.BoolVal(True)


def str_constraint(e: Bound, names: Sequence[str]) -> str:
    """``0 <= e`` written readably, e.g. ``p0 - p1 >= 0``."""
    parts: list[str] = []
    for c, n in zip(e[1], names, strict=True):
        if c == 0:
            continue
        mag = abs(c)
        body = n if mag == 1 else f"{mag}*{n}"
        parts.append(("- " if c < 0 else "+ ") + body)
    text = " ".join(parts)
    text = text[2:] if text.startswith("+ ") else "-" + text[2:]
    op = ">" if e[2] else ">="
    return f"{text} {op} {-e[0]}"


class PZone:
    """A parametric zone over clocks ``1..n`` (see the module docstring)."""

    __slots__ = ("arity", "empty", "k", "m", "solver")

    def __init__(
        self,
        m: list[list[BoundSet]],
        k: frozenset[Bound],
        arity: int,
        solver: ParamSolver,
        empty: bool = False,
    ) -> None:
        self.m = m
        self.k = k
        self.arity = arity
        #: Decides the parameter constraints of this zone and of those made from it.
        self.solver = solver
        self.empty = empty

    @classmethod
    def universal(
        cls,
        clocks: int,
        arity: int,
        k: frozenset[Bound] = frozenset(),
        solver: ParamSolver | None = None,
    ) -> PZone:
        """Every clock at any non-negative value, independently; the parameters as ``k``
        allows (default: any positive values).  The zones made from it decide their
        parameter constraints with ``solver`` (default: a new one, default limits)."""
        zero: BoundSet = (bound(0, (0,) * arity),)
        n = clocks + 1
        m: list[list[BoundSet]] = [[() for _ in range(n)] for _ in range(n)]
        for j in range(n):
            m[0][j] = zero
            m[j][j] = zero
        return cls(m, _reduce(k), arity, solver or ParamSolver())

    def _zero(self) -> Bound:
        return bound(0, (0,) * self.arity)

    def constrain(self, i: int, j: int, b: Bound) -> PZone:
        """The zone with ``x_i - x_j`` also bounded by ``b``."""
        if self.empty:
            return self
        m = self.m
        if any(_le(o, b) for o in m[i][j]):
            return self  # already at least as tight everywhere
        n = len(m)
        zero = self._zero()
        left_all = [m[k][i] for k in range(n)]
        right_all = m[j]
        new_k = set(self.k)
        out = [row[:] for row in m]
        for k in range(n):
            left = left_all[k] if k != i else (zero,)
            if not left:
                continue
            via = [_add(a, b) for a in left]
            for col in range(n):
                right = right_all[col] if col != j else (zero,)
                if not right:
                    continue
                cand = [_add(a, c) for a in via for c in right]
                if k == col:
                    for e in cand:
                        verdict = sign_of(e)
                        if verdict is False:
                            return PZone(m, self.k, self.arity, self.solver, True)
                        if verdict is None:
                            new_k.add(e)
                    continue
                out[k][col] = _prune([*out[k][col], *cand])
        k_set = _reduce(new_k) if len(new_k) != len(self.k) else self.k
        if k_set != self.k and not self.solver.feasible(k_set, self.arity):
            return PZone(m, k_set, self.arity, self.solver, True)
        return PZone(out, k_set, self.arity, self.solver)

    def up(self) -> PZone:
        if self.empty:
            return self
        m = [row[:] for row in self.m]
        for i in range(1, len(m)):
            m[i][0] = ()
        return PZone(m, self.k, self.arity, self.solver)

    def remap(self, sources: Sequence[int]) -> PZone:
        idx = [0, *sources]
        m = [[self.m[a][b] for b in idx] for a in idx]
        for t, a in enumerate(idx):
            if t and a == 0:
                m[t][t] = (self._zero(),)
        return PZone(m, self.k, self.arity, self.solver, self.empty)

    def includes(self, other: PZone) -> bool:
        """A sufficient test of ``other ⊆ self`` (as sets of parameter and clock values)."""
        if other.empty:
            return True
        if self.empty:
            return False
        for row_s, row_o in zip(self.m, other.m, strict=True):
            for cs, co in zip(row_s, row_o, strict=True):
                for e in cs:
                    if not any(_le(f, e) for f in co):
                        return False
        if self.k <= other.k:
            return True
        return self.solver.implies(other.k, self.k, self.arity)


class _Zoned(Protocol):
    @property
    def empty(self) -> bool: ...


_Z = TypeVar("_Z", bound=_Zoned)


class CoveringSet(Generic[_Z]):
    """The zones seen for one discrete state, none covering another; what covering
    means is the subclass's (:meth:`covers`)."""

    __slots__ = ("dropped", "zones")

    def __init__(self) -> None:
        self.zones: list[tuple[_Z, int]] = []
        #: Tags (see :meth:`add`) of the zones dropped by the last :meth:`add`.
        self.dropped: list[int] = []

    def __len__(self) -> int:
        return len(self.zones)

    def covers(self, big: _Z, small: _Z) -> bool:
        """Does exploring ``big`` make exploring ``small`` unnecessary?"""
        raise NotImplementedError

    def add(self, zone: _Z, tag: int = 0) -> bool:
        """Add ``zone`` unless a stored zone covers it; drop the stored zones it covers
        (their tags are left in :attr:`dropped`).  Returns whether it was added."""
        self.dropped = []
        if zone.empty:
            return False
        if any(self.covers(z, zone) for z, _t in self.zones):
            return False
        kept = []
        for z, t in self.zones:
            if self.covers(zone, z):
                self.dropped.append(t)
            else:
                kept.append((z, t))
        kept.append((zone, tag))
        self.zones = kept
        return True


class PZoneSet(CoveringSet[PZone]):
    """The parametric zones seen for one discrete state (plain inclusion)."""

    __slots__ = ()

    def covers(self, big: PZone, small: PZone) -> bool:
        return big.includes(small)
