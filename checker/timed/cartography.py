"""Behavioural cartography in rounds: which parameter points to explore, and the
exploration of one point into its tiles -- a job any worker can run.

A synthesis (:func:`checker.timed.synth.synthesize`) covers the parameter space with
tiles (:mod:`checker.timed.tiles`): explore at a point no tile covers yet, record the
tile around it, repeat until no point is left.  Explorations at different points are
independent, so each **round** picks several uncovered points at once and explores them
side by side (:mod:`checker.jobs`).  The round's points are a function of the tiles
found before it and nothing else -- not of the number of workers, nor of which job ends
first -- and its tiles are folded in the points' order, so a synthesis gives the same
tiles, region and bytes however many workers run it.

The points of a round are spread apart: each one lies outside a box around those picked
before it (every free coordinate within a factor :data:`SPREAD` of theirs), because
neighbouring points tend to fall in the same tile and would repeat the same exploration.
When the boxes leave no uncovered point, the round has fewer points; the last rounds,
among the slivers left between tiles, often have one.

The points are found by Z3 in a context of their own, fed only with the tiles' constraints
in order: a model depends on everything the context has seen, and the explorations'
own solvers (in this process or another) must not steer the choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import z3

from ..check.properties import Property
from ..model.spec import Spec
from .checks import Scenario, scenario, violation_cause
from .domains import GraphZone
from .pdbm import Bound, atom_formula, linear_term
from .solver import DEFAULT_LIMITS, SolverLimits
from .tiles import Tile, TZone

__all__ = [
    "ROUND",
    "SPREAD",
    "Explored",
    "Found",
    "Map",
    "Survey",
    "explore_point",
    "facets",
]

#: Points explored per round unless told otherwise: fixed, so that the tiles do not
#: depend on the workers.  Larger rounds keep more workers busy, and explore more
#: points that fall in a tile another point of the same round finds (on the bundled
#: headline with FIN_RETRIES = 3: 239 explorations one by one, 271 by fours, 308 by
#: eights).
ROUND = 4
#: How far apart (as a factor, coordinate by coordinate) the points of a round lie.
SPREAD = Fraction(2)
#: How far inside the uncovered part points are drawn while there is room (see
#: :class:`Map`), in the parameters' unit (the pivot's when time scales).
MARGIN = Fraction(1, 8)


@dataclass(frozen=True)
class Found:
    """One tile: whether the property is violated on it, its constraint over the
    explored parameters (redundant atoms dropped), and the violating run's cause."""

    violated: bool
    k: frozenset[Bound]
    cause: str | None


@dataclass(frozen=True)
class Explored:
    """What one point's job found: its tile (``None`` when it stopped), the zone-graph
    nodes built, and ``stop``, the reason the covering cannot go on (a channel
    overflowed, a graph was cut short)."""

    tile: Found | None
    nodes: int
    stop: str | None = None


@dataclass
class Survey:
    """What every job of one synthesis shares (sent to each worker once)."""

    prop: Property
    spec: Spec
    explored: tuple[str, ...]
    pivot: str | None
    max_nodes: int | None
    limits: SolverLimits
    _scenario: Scenario | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # The scenario holds closures; each worker builds its own.
        return {**self.__dict__, "_scenario": None}

    def scenario(self) -> Scenario:
        if self._scenario is None:
            self._scenario = scenario(self.prop, self.spec)
        return self._scenario


def explore_point(survey: Survey, job: tuple[tuple[Fraction, ...], float | None]) -> Explored:
    """The tile around ``point``, decided at the point itself (so it contains the
    point; full-dimensional when the point is generic, see :class:`Map`), in at most
    ``max_seconds``."""
    point, max_seconds = job
    sc = survey.scenario()
    tile = Tile(point, perturb=False)
    graph = sc.explore(
        survey.spec,
        free=survey.explored,
        tile=tile,
        first_flag=True,
        max_nodes=survey.max_nodes,
        max_seconds=max_seconds,
        fixed={survey.pivot: 1} if survey.pivot is not None else None,
        limits=survey.limits,
    )
    if graph.overflow is not None:
        return Explored(
            None,
            graph.nodes,
            f"a channel needed more than {sc.config.capacity} segments; raise the capacity",
        )
    violated = bool(graph.flagged)
    if graph.limit is not None and not violated:
        return Explored(None, graph.nodes, f"zone graph incomplete ({graph.limit})")
    # A violation needs only its own run's history; "holds" needs every choice.
    history = _history(graph.flagged[0][-1]) if violated else tile.region()
    k = facets(history, len(survey.explored), survey.limits)
    cause = violation_cause(survey.spec, graph) if violated else None
    return Explored(Found(violated, k, cause), graph.nodes)


def _history(zone: GraphZone) -> frozenset[Bound]:
    """The constraints a violating zone's own history rests on (explored at a tile)."""
    assert isinstance(zone, TZone)
    return zone.history()


def inside(k: frozenset[Bound], point: Sequence[Fraction]) -> bool:
    """Does ``point`` satisfy every constraint of ``k``?

    >>> inside(frozenset({(-1, (1,), False)}), (Fraction(1),))
    True
    >>> inside(frozenset({(-1, (1,), True)}), (Fraction(1),))
    False
    """
    for const, coefs, strict in k:
        v = const + sum(c * x for c, x in zip(coefs, point, strict=True))
        if v < 0 or (strict and v == 0):
            return False
    return True


class Map:
    """The uncovered part of the (positive) parameter space, as Z3 solvers in a context
    of their own; :meth:`round` picks the next points, :meth:`cover` removes a tile.

    Z3's models of linear constraints are vertices: points on the boundaries of the
    tiles already found, where the next exploration meets ties and its tile, decided
    just beyond the point, may fall outside the uncovered part (a wasted exploration,
    then a second one exactly at the point).  So points are drawn first at least
    :data:`MARGIN` inside the uncovered part -- beyond every tile's boundary by that
    much -- and only the slivers thinner than that are covered from their boundaries."""

    def __init__(self, arity: int, limits: SolverLimits) -> None:
        self.limits = limits
        self.ctx = z3.Context()
        self.ps = [z3.Real(f"p{i}", self.ctx) for i in range(arity)]
        self.covered: list[frozenset[Bound]] = []
        self.exact = limits.new_solver(self.ctx)
        self.exact.add(*(p > 0 for p in self.ps))
        self.roomy: Any = limits.new_solver(self.ctx)  # None once nothing is left in it
        self.roomy.add(*(p >= _q(MARGIN, self.ctx) for p in self.ps))

    def cover(self, k: frozenset[Bound]) -> None:
        self.covered.append(k)
        atoms = [atom_formula(a, self.ps) for a in sorted(k)]
        self.exact.add(z3.Not(z3.And(*atoms, self.ctx)))
        if self.roomy is not None:
            away = [linear_term(a, self.ps) <= -_q(MARGIN, self.ctx) for a in sorted(k)]
            self.roomy.add(z3.Or(*away, self.ctx))

    def round(self, size: int = ROUND) -> list[tuple[Fraction, ...]]:
        """Up to ``size`` uncovered points, each outside the others' boxes (none: the
        space is covered).  :class:`~checker.timed.solver.SolverLimit` if Z3 gives up."""
        if self.roomy is not None:
            points = self._draw(self.roomy, size)
            if points:
                return [self._generic(p) for p in points]
            self.roomy = None  # only slivers are left: it stays so as tiles are added
        return self._draw(self.exact, size)

    def _generic(self, point: tuple[Fraction, ...]) -> tuple[Fraction, ...]:
        """``point`` moved by a small amount no simple comparison is orthogonal to, when
        that keeps it uncovered: a generic point."""
        moved = tuple(v + n for v, n in zip(point, _NUDGES, strict=False))
        return point if any(inside(k, moved) for k in self.covered) else moved

    def _draw(self, solver: Any, size: int) -> list[tuple[Fraction, ...]]:
        points: list[tuple[Fraction, ...]] = []
        solver.push()
        try:
            while len(points) < size and self.limits.decide(
                solver, "the search for a parameter point no tile covers"
            ):
                model = solver.model()
                point = tuple(
                    Fraction(model.eval(p, model_completion=True).as_fraction()) for p in self.ps
                )
                points.append(point)
                solver.add(
                    z3.Or(
                        *(
                            z3.Or(p <= _q(v / SPREAD, self.ctx), p >= _q(v * SPREAD, self.ctx))
                            for p, v in zip(self.ps, point, strict=True)
                        )
                    )
                )
        finally:
            solver.pop()
        return points


#: The move that makes a point generic: far smaller than :data:`MARGIN`, and in
#: proportions (reciprocals of distinct primes) that no comparison with small integer
#: coefficients is orthogonal to.
_NUDGES = tuple(
    MARGIN / (8 * q) for q in (101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157)
)


def _q(v: Fraction, ctx: Any) -> Any:
    """A rational as a Z3 real in ``ctx``."""
    return z3.RealVal(f"{v.numerator}/{v.denominator}", ctx)


def facets(
    k: frozenset[Bound], arity: int, limits: SolverLimits = DEFAULT_LIMITS
) -> frozenset[Bound]:
    """``k`` without the constraints the others imply (over positive parameters): of
    parallel ones only the tightest, then each one Z3 finds redundant."""
    tightest: dict[tuple[int, ...], tuple[Fraction, bool, Bound]] = {}
    for a in k:
        const, coefs, strict = a
        g = math.gcd(*coefs)
        if g == 0:
            continue  # a constant constraint, true where the tile exists
        key = tuple(c // g for c in coefs)
        # key . p >= -const/g: the largest right-hand side is the tightest.
        rank = (Fraction(-const, g), strict, a)
        old = tightest.get(key)
        if old is None or rank[:2] > old[:2]:
            tightest[key] = rank
    out = sorted(r[2] for r in tightest.values())
    if len(out) <= 1:
        return frozenset(out)
    ps = [z3.Real(f"p{i}") for i in range(arity)]
    solver = limits.new_solver()
    solver.add(*(p > 0 for p in ps))
    # Built once: each Z3 term costs more to make than the check that uses it.
    formula = {a: atom_formula(a, ps) for a in out}
    i = 0
    while i < len(out):
        rest = out[:i] + out[i + 1 :]
        solver.push()
        solver.add(*(formula[a] for a in rest))
        solver.add(z3.Not(formula[out[i]]))
        try:
            redundant = not limits.decide(solver, "a tile's constraints")
        finally:
            solver.pop()
        if redundant:
            out.pop(i)
        else:
            i += 1
    return frozenset(out)
