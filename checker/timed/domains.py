"""The zones the zone graph can be explored with, behind one interface.

The explorer (:func:`checker.timed.zonegraph.explore_zones`) lets time pass, applies
guards and invariants, renames clocks and keeps the zones it has seen in the same way
whatever its zones are:

* concrete zones (:mod:`checker.timed.dbm`) when every parameter is fixed;
* parametric zones (:mod:`checker.timed.pdbm`) when some stay free -- their parameter
  constraints are decided by Z3 under the exploration's :class:`SolverLimits`;
* zones guided by one point of the free parameters (:mod:`checker.timed.tiles`).

Each kind bounds a clock difference with a bound of its own (an encoded integer, a
:data:`~checker.timed.pdbm.Bound`, a tile's :data:`~checker.timed.tiles.KeyedBound`): a
:class:`ZoneDomain` makes those bounds from the model's linear expressions, and only its
own zones take them (:class:`ZoneLike`).

Examples
--------
>>> from checker.timed.linear import Linear
>>> domain = ConcreteDomain([Linear.of(30), Linear.of(0.5)])
>>> domain.scale, domain.bound(Linear.of(30), False)   # time in units of 1/2 s: <= 60
(2, 121)
>>> zone = domain.universal(1).constrain(1, 0, domain.bound(Linear.of(0.5), True))
>>> zone.upper(1)
(1, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol, Self, TypeVar

from .dbm import Zone, ZoneSet, le, lt
from .linear import Linear
from .pdbm import Bound, ParamSolver, PZone, PZoneSet, bound
from .solver import DEFAULT_LIMITS, SolverLimits
from .tiles import KeyedBound, Tile, TZone, TZoneSet

__all__ = [
    "ConcreteDomain",
    "GraphZone",
    "GuidedDomain",
    "ParametricDomain",
    "ZoneDomain",
    "ZoneLike",
    "ZoneStore",
]

_B_co = TypeVar("_B_co", covariant=True)
_B_contra = TypeVar("_B_contra", contravariant=True)
_Z_contra = TypeVar("_Z_contra", contravariant=True)

#: A zone of a zone graph: concrete, parametric, or guided by a tile.
GraphZone = Zone | PZone | TZone


class ZoneLike(Protocol[_B_contra]):
    """What the explorer does with a zone whose clock differences take bounds ``B``."""

    @property
    def empty(self) -> bool: ...

    def up(self) -> Self:
        """Let any amount of time pass."""
        ...

    def constrain(self, i: int, j: int, b: _B_contra, /) -> Self:
        """Also bound ``x_i - x_j`` by ``b``."""
        ...

    def remap(self, sources: Sequence[int], /) -> Self:
        """New clock ``k + 1`` is old clock ``sources[k]`` (0: reset to zero)."""
        ...


class ZoneStore(Protocol[_Z_contra]):
    """The zones seen for one discrete state (:class:`~checker.timed.dbm.ZoneSet`,
    :class:`~checker.timed.pdbm.PZoneSet`, :class:`~checker.timed.tiles.TZoneSet`)."""

    @property
    def dropped(self) -> list[int]: ...

    def add(self, zone: _Z_contra, tag: int = ..., /) -> bool: ...


# A domain's zones take its bounds; Python cannot say "Z is a ZoneLike[B]" of two type
# variables, so the zone variable is only held to be a zone.
_Z = TypeVar("_Z", bound=ZoneLike[Any])


class ZoneDomain(Protocol[_B_co, _Z]):
    """Makes one kind of zone and its bounds: time counts in units of ``1/scale``."""

    scale: int

    def bound(self, v: Linear, strict: bool) -> _B_co:
        """The bound ``< v`` (``<= v`` unless ``strict``)."""
        ...

    def universal(self, clocks: int) -> _Z:
        """Every clock at any non-negative value, independently."""
        ...

    def zone_set(
        self, lower: Sequence[Linear | None], upper: Sequence[Linear | None]
    ) -> ZoneStore[_Z]:
        """An empty store for one discrete state whose clocks are compared with at most
        ``lower`` from below and ``upper`` from above (``None``: kept exact)."""
        ...


class ConcreteDomain(ZoneDomain[int, Zone]):
    """Zones over exact constants, scaled to integers by one common denominator."""

    def __init__(self, constants: Sequence[Linear]) -> None:
        self.scale = math.lcm(*(c.const.denominator for c in constants))

    def value(self, v: Linear) -> int:
        return int(v.const * self.scale)

    def bound(self, v: Linear, strict: bool) -> int:
        return lt(self.value(v)) if strict else le(self.value(v))

    def universal(self, clocks: int) -> Zone:
        return Zone.universal(clocks)

    def zone_set(self, lower: Sequence[Linear | None], upper: Sequence[Linear | None]) -> ZoneSet:
        def ints(vs: Sequence[Linear | None]) -> list[int | None]:
            return [None if v is None else self.value(v) for v in vs]

        return ZoneSet(ints(lower), ints(upper))


class _ParameterBounds:
    """Linear expressions over the free parameters as parametric bounds, with one common
    denominator for every constant and coefficient: time is counted in units of
    1/scale (the parameters keep their unit, so coefficients scale too)."""

    def __init__(
        self, free: Sequence[str], constants: Sequence[Linear], assume: Sequence[Linear] = ()
    ) -> None:
        self.free = tuple(free)
        dens = [c.const.denominator for c in constants]
        dens += [c.coef(n).denominator for c in constants for n in self.free]
        dens += [c.coef(n).denominator for c in assume for n in self.free]
        dens += [c.const.denominator for c in assume]
        self.scale = math.lcm(*dens)
        self._bounds: dict[tuple[Linear, bool], Bound] = {}

    def bound(self, v: Linear, strict: bool) -> Bound:
        got = self._bounds.get((v, strict))
        if got is None:
            k = self.scale
            got = bound(int(v.const * k), [int(v.coef(n) * k) for n in self.free], strict)
            self._bounds[v, strict] = got
        return got


class ParametricDomain(_ParameterBounds, ZoneDomain[Bound, PZone]):
    """Parametric zones (:mod:`checker.timed.pdbm`) over the free parameters, within the
    domain ``0 <= e`` for every ``e`` of ``assume``; one Z3 solver under ``limits``
    decides the parameter constraints of every zone of the exploration."""

    def __init__(
        self,
        free: Sequence[str],
        constants: Sequence[Linear],
        assume: Sequence[Linear] = (),
        limits: SolverLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(free, constants, assume)
        #: Parameter constraints ``0 <= e`` every zone starts with (the domain).
        self.assume = frozenset(self.bound(e, False) for e in assume)
        self.solver = ParamSolver(limits)

    def universal(self, clocks: int) -> PZone:
        return PZone.universal(clocks, len(self.free), self.assume, self.solver)

    def zone_set(self, lower: Sequence[Linear | None], upper: Sequence[Linear | None]) -> PZoneSet:
        return PZoneSet()


class GuidedDomain(ZoneDomain[KeyedBound, TZone]):
    """Zones guided by one point of the free parameters (:mod:`checker.timed.tiles`)."""

    def __init__(self, free: Sequence[str], constants: Sequence[Linear], tile: Tile) -> None:
        self._bounds = _ParameterBounds(free, constants)
        self.scale = self._bounds.scale
        self.tile = tile
        self._cells: dict[tuple[Linear, bool], KeyedBound] = {}

    def bound(self, v: Linear, strict: bool) -> KeyedBound:
        # Every guard and invariant asks again for its cell: one lookup, not two.
        got = self._cells.get((v, strict))
        if got is None:
            got = self._cells[v, strict] = self.tile.cell(self._bounds.bound(v, strict))
        return got

    def universal(self, clocks: int) -> TZone:
        return TZone.universal(clocks, self.tile)

    def zone_set(self, lower: Sequence[Linear | None], upper: Sequence[Linear | None]) -> TZoneSet:
        def bounds(vs: Sequence[Linear | None]) -> list[Bound | None]:
            return [None if v is None else self._bounds.bound(v, False) for v in vs]

        return TZoneSet(self.tile, bounds(lower), bounds(upper))
