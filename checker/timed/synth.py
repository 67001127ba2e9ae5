"""Parameter synthesis: the values of the free timing parameters for which a timed
property holds.

The zone graph is explored once with the free parameters symbolic (parametric zones,
:mod:`checker.timed.pdbm`).  Every move that violates the property is reached under a
parameter constraint ``K`` -- a conjunction of linear inequalities, exact -- and the
property holds exactly outside their union::

    holds  <=>  free parameters > 0  and  not (K1 or K2 or ...)

The answer is exact when the exploration completes; a limit makes it ``unknown``.  The
constraint is then simplified (Z3), written readably (``TIME_WAIT >= MSL + RTO``) and in
a machine-checkable form: a list of clauses (a conjunction of disjunctions) of atoms
``sum(coef * NAME) + const OP 0``.

Examples
--------
>>> atom_text((-1, (1, -1, -1), False), ("TIME_WAIT", "MSL", "RTO"))
'TIME_WAIT >= MSL + RTO + 1'
>>> atom_text((0, (0, -2, 126), True), ("TIME_WAIT", "MSL", "RTO"))
'MSL < 63*RTO'
"""

from __future__ import annotations

import itertools
import math
import signal
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any

import z3

from ..check.properties import Property
from ..errors import UsageError
from ..jobs import Pool, open_pool
from ..model.expr import names_in_calls
from ..model.spec import Spec
from .cartography import ROUND, Explored, Map, Survey, explore_point
from .checks import scenario
from .linear import exact, fold_duration, parameter_env
from .pdbm import Bound, atom_formula, k_formula
from .solver import DEFAULT_LIMITS, SolverLimit, SolverLimits

__all__ = [
    "DEFAULT_FREE",
    "Condition",
    "SynthStatus",
    "Synthesis",
    "Tiled",
    "atom_text",
    "folklore",
    "k_formula",
    "k_text",
    "loss_budgets",
    "name_conditions",
    "region_formula",
    "synthesize",
]

#: What synthesis leaves free unless told otherwise: the durations the TIME-WAIT rule
#: weighs against each other (RFC 9293 §3.6.1, MUST-13: TIME-WAIT lasts 2*MSL; the
#: retransmission timeout RTO, §3.8.1).
DEFAULT_FREE = ("TIME_WAIT", "MSL", "RTO")


class SynthStatus(StrEnum):
    """Whether a synthesized constraint is exact, or -- a limit reached -- unknown.

    Examples
    --------
    >>> SynthStatus("exact") is SynthStatus.EXACT
    True
    """

    EXACT = "exact"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Synthesis:
    """The result of :func:`synthesize`: the region as text (:meth:`text`) and clauses,
    named conditions weighed at the spec's values, and the tiles that cover the space.

    Examples
    --------
    >>> from checker import load_properties, load_spec
    >>> prop = next(p for p in load_properties() if p.name == "last-ack-not-stuck")
    >>> spec = load_spec(params={**prop.params, "FIN_RETRIES": 1, "MSL": 30, "RTO": 40})
    >>> result = synthesize(prop, spec, None, ["TIME_WAIT"])
    >>> result.free, result.values, result.status
    (('TIME_WAIT',), {'TIME_WAIT': 60.0}, <SynthStatus.EXACT: 'exact'>)
    >>> for condition in result.conditions:
    ...     print(condition.describe())
    TIME_WAIT >= 70 -- rules out: a RST from A, which had closed by timeout 2MSL (from
    TIME-WAIT); FAILS at the spec's values, by 10
    """

    prop: Property
    variant: str | None
    free: tuple[str, ...]
    fixed: dict[str, float]
    status: SynthStatus
    message: str
    #: The safe region as clauses of atoms ``(const, coefs, strict)`` meaning
    #: ``const + sum(coef * free) >= 0`` (``> 0`` when strict); ``None`` when unknown.
    clauses: tuple[tuple[Bound, ...], ...] | None
    nodes: int
    seconds: float
    #: The limits of the Z3 calls that found the region (and that :func:`folklore`
    #: makes on it).
    limits: SolverLimits = field(default=DEFAULT_LIMITS, repr=False, compare=False)
    #: The spec's values of the free parameters: where :attr:`conditions` are weighed.
    values: dict[str, float] = field(default_factory=dict)
    #: The region's clauses as named conditions (exact results).
    conditions: tuple[Condition, ...] = ()
    #: The tiles found (every one when exact; those found before a limit otherwise):
    #: whether the property is violated there, the tile's constraint over the free
    #: parameters, and the violating run's cause.
    tiles: tuple[Tiled, ...] = ()
    #: The signal that stopped an interruptible synthesis (2 for Ctrl-C), else None.
    interrupted: int | None = None

    def text(self) -> str:
        """The constraint in the documented syntax (``and``/``or``, one atom per term)."""
        if self.clauses is None:
            return "unknown"
        return clauses_text(self.clauses, self.free)

    def partial(self) -> dict[str, list[str]]:
        """What the tiles found so far say (for an unknown result): the verdict at the
        spec's values if a tile covers them, the constraints on which the property holds,
        and those on which it is violated, with the cause."""
        here = [t for t in self.tiles if all(_weigh([a], self.free, self.values)[0] for a in t.k)]
        at = (
            [f"violated ({here[0].cause})" if here[0].violated else "holds"]
            if here
            else ["not covered yet"]
        )
        return {
            f"at {', '.join(f'{k}={v:g}' for k, v in self.values.items())}": at,
            "holds on": [k_text(t.k, self.free) for t in self.tiles if not t.violated],
            "violated on": [
                f"{k_text(t.k, self.free)} ({t.cause})" for t in self.tiles if t.violated
            ],
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "property": self.prop.name,
            "variant": self.variant or "base",
            "free": list(self.free),
            "fixed": self.fixed,
            "status": self.status,
            "constraint": self.text(),
            "clauses": None
            if self.clauses is None
            else [[_atom_json(a, self.free) for a in clause] for clause in self.clauses],
            "message": self.message,
            "textbook": folklore(self),
            "values": self.values,
            "conditions": [c.to_json() for c in self.conditions],
            "partial": None if self.clauses is not None else self.partial(),
            "zone_graph_nodes": self.nodes,
        }


@dataclass(frozen=True)
class Tiled:
    """One tile of the parameter space: its constraint over the free parameters, whether
    the property is violated there, and how (the violating run's last move's cause).

    ``k`` holds atoms ``(const, coefs, strict)``: ``const + sum(coef * free) >= 0``
    (``> 0`` when strict), over :attr:`Synthesis.free` in order.

    Examples
    --------
    >>> tile = Tiled(False, frozenset({(-70, (1,), False), (80, (-1,), True)}))
    >>> k_text(tile.k, ["TIME_WAIT"])
    'TIME_WAIT >= 70 and TIME_WAIT < 80'
    """

    violated: bool
    k: frozenset[Bound]
    cause: str | None = None


@dataclass(frozen=True)
class Condition:
    """One clause of a synthesized region, named by the violations it rules out, and
    weighed at the spec's values of the free parameters: ``slack`` is the clause's best
    atom's left side minus its right side there, in units of the parameter written with
    the smallest coefficient (negative, or zero for a strict atom: it fails)."""

    text: str
    rules_out: tuple[str, ...]
    holds: bool
    slack: Fraction | None  # None: the clause is empty (false)

    def describe(self) -> str:
        """E.g. ``MSL < 63*RTO -- rules out: B gave up after 2 retransmissions
        (FIN_RETRIES = 2); fails at the spec's values, by 57``."""
        why = "; ".join(self.rules_out) or "no violating run found"
        if self.slack is None:
            verdict = "no value satisfies it"
        elif self.holds:
            verdict = f"holds at the spec's values (slack {_fmt(self.slack)})"
        else:
            verdict = f"FAILS at the spec's values, by {_fmt(-self.slack) or '0 (strict)'}"
        return f"{self.text} -- rules out: {why}; {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {
            "condition": self.text,
            "rules_out": list(self.rules_out),
            "holds_at_spec_values": self.holds,
            "slack": None if self.slack is None else _num(self.slack),
        }


def _weigh(
    clause: Sequence[Bound], names: Sequence[str], values: dict[str, float]
) -> tuple[bool, Fraction | None]:
    """Whether ``clause`` holds at ``values``, and its best atom's slack there (``None``
    for the empty clause, false everywhere)."""
    best: tuple[bool, Fraction] | None = None
    for const, coefs, strict in clause:
        raw = Fraction(const) + sum(
            (Fraction(c) * exact(values[n]) for c, n in zip(coefs, names, strict=True)),
            Fraction(0),
        )
        unit = min(abs(Fraction(c)) for c in coefs if c) if any(coefs) else Fraction(1)
        slack = raw / unit
        ok = slack > 0 or (slack == 0 and not strict)
        if best is None or (ok, slack) > best:
            best = (ok, slack)
    return best if best is not None else (False, None)


def name_conditions(
    clauses: Sequence[Sequence[Bound]],
    tiles: Sequence[Tiled],
    names: Sequence[str],
    values: dict[str, float],
    limits: SolverLimits = DEFAULT_LIMITS,
) -> tuple[Condition, ...]:
    """Each clause as a :class:`Condition`, named by the causes of the violations it
    alone rules out: the violating tiles with a point that every other clause admits
    (there the property fails because this clause does).  A clause that rules out
    nothing alone is named by every violation it excludes."""
    ps = [z3.Real(n) for n in names]
    solver = limits.new_solver()
    solver.add(*(p > 0 for p in ps))

    def holds(*formulas: Any) -> bool:
        solver.push()
        solver.add(*formulas)
        sat = limits.decide(solver, "naming a condition")
        solver.pop()
        return sat

    bad = [t for t in tiles if t.violated and t.cause is not None]
    tile_f = [z3.And(*(atom_formula(a, ps) for a in t.k)) for t in bad]
    clause_f = [z3.Or(*(atom_formula(a, ps) for a in c)) for c in clauses]
    out = []
    for i, clause in enumerate(clauses):
        others = [f for j, f in enumerate(clause_f) if j != i]
        alone = {t.cause for t, f in zip(bad, tile_f, strict=True) if holds(f, *others)}
        excluded = alone or {
            t.cause for t, f in zip(bad, tile_f, strict=True) if not holds(f, clause_f[i])
        }
        ok, slack = _weigh(clause, names, values)
        causes = tuple(sorted(c for c in excluded if c is not None))
        out.append(Condition(clauses_text([clause], names), causes, ok, slack))
    return tuple(out)


def _atom_json(a: Bound, names: Sequence[str]) -> dict[str, Any]:
    return {
        "coefficients": {n: _num(c) for n, c in zip(names, a[1], strict=True) if c},
        "constant": _num(a[0]),
        "op": ">" if a[2] else ">=",
    }


def _num(value: int | Fraction) -> int | str:
    f = Fraction(value)
    return f.numerator if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def atom_text(a: Bound, names: Sequence[str]) -> str:
    """``const + sum(coef * name) >= 0`` solved for its first parameter, readably."""
    const, coefs, strict = a
    lead = next((i for i, c in enumerate(coefs) if c), None)
    if lead is None:
        return "true" if (const > 0 or (const == 0 and not strict)) else "false"
    k = Fraction(coefs[lead])
    op = (">" if strict else ">=") if k > 0 else ("<" if strict else "<=")
    # name OP -(const + rest) / k
    rest: list[tuple[str, Fraction]] = [
        (n, -Fraction(c) / k)
        for i, (n, c) in enumerate(zip(names, coefs, strict=True))
        if c and i != lead
    ]
    tail = -Fraction(const) / k
    parts: list[str] = []
    for n, c in rest:
        mag = abs(c)
        body = n if mag == 1 else f"{_fmt(mag)}*{n}"
        parts.append(("- " if c < 0 else "+ ") + body)
    if tail != 0 or not parts:
        parts.append(("- " if tail < 0 else "+ ") + _fmt(abs(tail)))
    text = " ".join(parts)
    text = text[2:] if text.startswith("+ ") else "-" + text[2:]
    return f"{names[lead]} {op} {text}"


def _fmt(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    as_float = float(v)
    return repr(as_float) if Fraction(repr(as_float)) == v else f"({v.numerator}/{v.denominator})"


def clauses_text(clauses: Sequence[Sequence[Bound]], names: Sequence[str]) -> str:
    if not clauses:
        return "true"
    parts = []
    for clause in clauses:
        if not clause:
            return "false"
        texts = [atom_text(a, names) for a in clause]
        parts.append(texts[0] if len(texts) == 1 else "(" + " or ".join(texts) + ")")
    return " and ".join(parts)


# ---------------------------------------------------------------- simplification ---


def _negate(a: Bound) -> Bound:
    """``not (e >= 0)`` is ``-e > 0``; ``not (e > 0)`` is ``-e >= 0``."""
    return (-a[0], tuple(-c for c in a[1]), not a[2])


def _valid(solver: Any, formula: Any, limits: SolverLimits) -> bool:
    solver.push()
    solver.add(z3.Not(formula))
    try:
        return not limits.decide(solver, "a step of the simplification")
    finally:
        solver.pop()


def simplify(
    violating: Sequence[frozenset[Bound]], arity: int, limits: SolverLimits = DEFAULT_LIMITS
) -> tuple[tuple[Bound, ...], ...]:
    """The safe region ``params > 0 and not (K1 or K2 ...)`` as few, short clauses.

    Each clause is the negation of one violating constraint ``K`` (a disjunction of
    negated atoms).  When single atoms among them already cut every ``K`` off (a convex
    region, the common case) the answer is the fewest of those; otherwise the clauses
    are minimised: an atom is dropped when the region stays the same, and a clause when
    the others imply it."""
    ps = [z3.Real(f"p{i}") for i in range(arity)]
    solver = limits.new_solver()
    solver.add(*(p > 0 for p in ps))
    memo: dict[Bound, Any] = {}

    def atom(a: Bound) -> Any:
        got = memo.get(a)
        if got is None:
            got = memo[a] = atom_formula(a, ps)
        return got

    ks = sorted(set(violating), key=lambda k: (len(k), sorted(k)))
    safe = z3.And(*(z3.Not(z3.And(*(atom(a) for a in sorted(k)))) for k in ks))
    clauses: list[list[Bound]] = [sorted(_negate(a) for a in k) for k in ks]
    if any(not c for c in clauses):
        return ((),)  # a violation with no parameter condition: never holds
    if _valid(solver, z3.Not(safe), limits):
        return ((),)  # the violations cover every positive value together: never holds
    convex = _convex(clauses, safe, solver, atom, limits)
    if convex is not None:
        return convex
    return _minimise(clauses, safe, solver, atom, limits)


def _convex(
    clauses: list[list[Bound]], safe: Any, solver: Any, atom: Any, limits: SolverLimits
) -> tuple[tuple[Bound, ...], ...] | None:
    """The region as a conjunction of single atoms drawn from ``clauses``, as few as
    possible, when one exists (``None`` otherwise)."""
    candidates = sorted({a for c in clauses for a in c})
    units = [a for a in candidates if _valid(solver, z3.Implies(safe, atom(a)), limits)]
    if not units or not _valid(solver, z3.Implies(z3.And(*(atom(a) for a in units)), safe), limits):
        return None
    i = 0
    while i < len(units):
        rest = units[:i] + units[i + 1 :]
        if rest and _valid(solver, z3.Implies(z3.And(*(atom(a) for a in rest)), safe), limits):
            units.pop(i)
        else:
            i += 1
    # Atoms on the first free parameter (TIME_WAIT) first: they are what is asked.
    lead = [next((i for i, c in enumerate(a[1]) if c), len(a[1])) for a in units]
    return tuple((a,) for _i, a in sorted(zip(lead, units, strict=True)))


def _minimise(
    clauses: list[list[Bound]], safe: Any, solver: Any, atom: Any, limits: SolverLimits
) -> tuple[tuple[Bound, ...], ...]:
    """Shorten CNF ``clauses`` equivalent to ``safe``: drop atoms that do not change the
    region, then clauses the others imply."""

    def region(cs: Sequence[Sequence[Bound]]) -> Any:
        return z3.And(*(z3.Or(*(atom(a) for a in c)) for c in cs))

    # Drop atoms that do not change the region, then clauses the others imply; repeat
    # until nothing changes (a shorter clause may make another one redundant).
    changed = True
    while changed:
        changed = False
        for c in clauses:
            j = 0
            while len(c) > 1 and j < len(c):
                shorter = [*c[:j], *c[j + 1 :]]
                trial = [shorter if x is c else x for x in clauses]
                if _valid(solver, region(trial) == safe, limits):
                    c.pop(j)
                    changed = True
                else:
                    j += 1
        i = 0
        while i < len(clauses):
            others = clauses[:i] + clauses[i + 1 :]
            this = z3.Or(*(atom(a) for a in clauses[i]))
            if _valid(solver, z3.Implies(region(others), this), limits):
                clauses.pop(i)
                changed = True
            else:
                i += 1
    return tuple(tuple(c) for c in sorted(clauses, key=lambda c: (len(c), c)))


# -------------------------------------------------------------------- synthesis ---


def synthesize(
    prop: Property,
    spec: Spec,
    variant: str | None,
    free: Sequence[str],
    *,
    max_nodes: int | None = None,
    max_seconds: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    limits: SolverLimits = DEFAULT_LIMITS,
    interruptible: bool = False,
    pool: Pool | None = None,
    round_size: int = ROUND,
) -> Synthesis:
    """The region of the ``free`` parameters where the timed property ``prop`` holds
    (the other parameters as ``spec`` fixes them); ``progress(tiles, violating, queued)``
    is called as the points of a round are explored (``queued``: those left) and their
    tiles are added.  The points are explored by ``pool``'s workers (default:
    in this process), ``round_size`` at a time; the result depends on ``round_size`` but
    not on the workers.  Every Z3 call
    runs under ``limits``.  ``interruptible``: an interrupt (Ctrl-C) is one more limit --
    the result is unknown, with the tiles found so far -- rather than an exception (the
    command line; not a library caller such as the docs generator, which must not go on
    with half a region).

    Examples
    --------
    >>> from checker import load_properties, load_spec
    >>> prop = next(p for p in load_properties() if p.name == "last-ack-not-stuck")
    >>> spec = load_spec(params={**prop.params, "FIN_RETRIES": 1, "MSL": 30, "RTO": 40})
    >>> result = synthesize(prop, spec, None, ["TIME_WAIT"])
    >>> result.text(), result.status
    ('TIME_WAIT >= 70', <SynthStatus.EXACT: 'exact'>)
    >>> [(t.violated, k_text(t.k, result.free)) for t in result.tiles][:2]
    [(True, 'TIME_WAIT <= 10'), (True, 'TIME_WAIT > 10 and TIME_WAIT < 30')]
    """
    if not prop.timed or prop.kind == "timed-within":
        also = (
            " (a timed-within claim's region is its bound's formula against the limit: "
            "tcpcheck bound STATE --free NAME)"
            if prop.timed
            else ""
        )
        raise UsageError(
            f"{prop.name} is a {prop.kind} property; synthesis needs a timed-exit, "
            f"timed-never or timed-invariant one{also}"
        )
    known = {p.name: p for p in spec.parameters}
    for name in free:
        if name not in known:
            from ..errors import unknown_name

            raise unknown_name("parameter", name, sorted(known), "parameters")
        if known[name].unit == "count":
            raise UsageError(
                f"{name} counts retransmissions; synthesis handles durations only "
                "(fix it with --param and synthesize again for each value)"
            )
    started = time.perf_counter()
    sc = scenario(prop, spec)  # a property it cannot explore is refused before any job
    pivot = _scale_pivot(spec, free)
    explored = [n for n in free if n != pivot]
    # Parameters defined from free ones (TIME_WAIT = 2*MSL) are not fixed: they follow.
    env = parameter_env(spec, free=free)
    fixed = {
        p.name: p.value
        for p in spec.parameters
        if p.name not in free and (p.name not in env or env[p.name].is_const)
    }
    tiles: list[tuple[bool, frozenset[Bound]]] = []
    causes: list[str | None] = []
    nodes = 0
    values = {n: spec.values[n] for n in free}

    def found() -> tuple[Tiled, ...]:
        return tuple(
            Tiled(bad, _lift(k, explored, free, pivot), why)
            for (bad, k), why in zip(tiles, causes, strict=True)
        )

    def unknown(why: str, interrupted: int | None = None) -> Synthesis:
        seconds = time.perf_counter() - started
        if progress is not None:
            # A job stopped by the limit may end a round whose earlier tiles were
            # folded after the last report: the last report counts every tile kept.
            progress(len(tiles), sum(b for b, _k in tiles), 0)
        return Synthesis(
            prop,
            variant,
            tuple(free),
            fixed,
            SynthStatus.UNKNOWN,
            f"{why}; {len(tiles):,} tiles found ({sum(b for b, _k in tiles):,} violating)",
            None,
            nodes,
            seconds,
            limits,
            values,
            (),
            found(),
            interrupted,
        )

    # Behavioural cartography: explore at points no tile covers yet; each exploration
    # records the tile around its point, on which the verdict is the same; until no
    # point is left.  The tiles are finitely many (the comparisons a finite graph
    # makes), so this ends, and the violating region is exactly the union of the
    # violating tiles.  A round's points are explored side by side and folded in order.
    survey = Survey(prop, spec, tuple(explored), pivot, max_nodes, limits, sc)
    if round_size < 1:
        raise UsageError(f"--round must be at least 1 (got {round_size})")
    seen: set[tuple[bool, frozenset[Bound]]] = set()
    explorations = 0
    uncovered = Map(len(explored), limits)
    try:
        with ExitStack() as stack:
            jobs = pool if pool is not None else stack.enter_context(open_pool())
            while points := uncovered.round(round_size):
                spent = time.perf_counter() - started
                left = None if max_seconds is None else max_seconds - spent
                if left is not None and left <= 0:
                    return unknown(f"stopped at {max_seconds:g} s")
                waiting = [len(points)]

                def done(_i: int, _got: Explored, waiting: list[int] = waiting) -> None:
                    waiting[0] -= 1
                    if progress is not None:
                        progress(len(tiles), sum(b for b, _k in tiles), waiting[0])

                results = jobs.map(
                    explore_point, [(p, left) for p in points], survey, done, dealt=True
                )
                for got in results:
                    nodes += got.nodes
                    explorations += 1
                    if got.tile is None:
                        return unknown(got.stop or "stopped")
                    # Two points of a round may fall in one tile: it is kept once.
                    if (got.tile.violated, got.tile.k) in seen:
                        continue
                    seen.add((got.tile.violated, got.tile.k))
                    tiles.append((got.tile.violated, got.tile.k))
                    causes.append(got.tile.cause)
                    uncovered.cover(got.tile.k)
                if progress is not None:
                    progress(len(tiles), sum(b for b, _k in tiles), 0)
        violating = [_lift(k, explored, free, pivot) for bad, k in tiles if bad]
        clauses = simplify(violating, len(free), limits)
        conditions = name_conditions(clauses, found(), free, values, limits)
    except SolverLimit as exc:
        return unknown(str(exc))
    except KeyboardInterrupt as exc:
        if not interruptible:
            raise
        # An interrupted synthesis still reports what its tiles say.
        return unknown("interrupted", getattr(exc, "signum", signal.SIGINT))
    scaled = (
        f"; time scales (every duration and MSL are multiples of the free parameters), so "
        f"{pivot} = 1 was explored without loss of generality"
        if pivot is not None
        else ""
    )
    return Synthesis(
        prop,
        variant,
        tuple(free),
        fixed,
        SynthStatus.EXACT,
        f"{len(tiles):,} tiles of the parameter space ({len(violating):,} violating) "
        f"from {explorations:,} explorations in rounds of {round_size}, "
        f"{nodes:,} zone-graph nodes{scaled}",
        clauses,
        nodes,
        time.perf_counter() - started,
        limits,
        values,
        conditions,
        found(),
    )


def _scale_pivot(spec: Spec, free: Sequence[str]) -> str | None:
    """A free parameter that may be fixed to 1 without loss of generality, if any.

    When every timer duration, MSL and DELAY_MAX are linear in the free parameters with no constant
    part, multiplying all free parameters by c > 0 multiplies every run's instants by c
    and changes no verdict: the region is a cone, and one of its parameters (RTO if it
    is free) can be set to 1.  The answer is then homogenized back (:func:`_lift`)."""
    if len(free) < 2:
        return None
    env = parameter_env(spec, free=free)
    forms = [env.get("MSL"), env.get("DELAY_MAX", env.get("MSL"))]
    for timer in spec.timers:
        for duration in timer.durations():
            if any(n != "retries" and n not in env for n in duration.names()):
                return None
            if names_in_calls(duration) & set(free):
                return None  # a ceiling (min(RTO * 2^retries, RTO_MAX)) fixes a scale
            forms += [fold_duration(duration, env, r) for r in range(spec.retry_cap + 1)]
    for form in forms:
        if form is None or form.const != 0 or any(n not in free for n in form.names()):
            return None
    return "RTO" if "RTO" in free else free[-1]


def _lift(
    k: frozenset[Bound], explored: Sequence[str], free: Sequence[str], pivot: str | None
) -> frozenset[Bound]:
    """A constraint found with ``pivot`` = 1 as the cone over every free parameter: the
    constant becomes the pivot's coefficient."""
    if pivot is None:
        return k
    out = set()
    for const, coefs, strict in k:
        by_name = dict(zip(explored, coefs, strict=True))
        by_name[pivot] = const
        out.add((0, tuple(by_name[n] for n in free), strict))
    return frozenset(out)


def loss_budgets(
    prop: Property,
    spec: Spec,
    variant: str | None,
    free: Sequence[str],
    budgets: Sequence[int],
    *,
    max_seconds: float | None = None,
    limits: SolverLimits = DEFAULT_LIMITS,
    pool: Pool | None = None,
    round_size: int = ROUND,
) -> list[tuple[int, Synthesis]]:
    """The synthesized region for each loss budget ``k``: the network may lose at most
    ``k`` segments, any of them (the property's own ``lose`` restriction is lifted, so
    that the budget alone says what may go wrong).

    Examples
    --------
    >>> from checker import load_properties, load_spec
    >>> prop = next(p for p in load_properties() if p.name == "last-ack-not-stuck")
    >>> spec = load_spec(params={**prop.params, "FIN_RETRIES": 3, "MSL": 2, "RTO": 1})
    >>> for k, result in loss_budgets(prop, spec, None, ["TIME_WAIT"], [0, 1]):
    ...     print(f"at most {k} lost: holds iff {result.text()} ({result.status})")
    at most 0 lost: holds iff TIME_WAIT >= 2 (exact)
    at most 1 lost: holds iff TIME_WAIT >= 3 (exact)
    """
    out = []
    for k in budgets:
        if k < 0:
            raise UsageError(f"a loss budget is a count of segments (got {k})")
        variant_prop = replace(prop, config={**prop.config, "loss": str(k)}, lose=None)
        got = synthesize(
            variant_prop,
            spec,
            variant,
            free,
            max_seconds=max_seconds,
            limits=limits,
            pool=pool,
            round_size=round_size,
        )
        out.append((k, got))
    return out


def folklore(result: Synthesis) -> str | None:
    """Whether the textbook choice TIME_WAIT = 2*MSL lies in the synthesized region, and
    under what condition on the other free parameters -- ``None`` when TIME_WAIT is not
    free or the region is unknown.

    Every atom is rewritten with TIME_WAIT replaced by 2*MSL (MSL free, or its fixed
    value) and the clauses shortened again over the remaining free parameters."""
    if result.clauses is None or "TIME_WAIT" not in result.free:
        return None
    names = list(result.free)
    tw = names.index("TIME_WAIT")
    rest = [n for n in names if n != "TIME_WAIT"]
    msl_free = "MSL" in names
    fixed_msl = exact(result.fixed["MSL"]) if not msl_free else Fraction(0)
    where = "2*MSL" if msl_free else f"2*MSL = {_fmt(2 * fixed_msl)}"

    def rewrite(a: Bound) -> tuple[Fraction, list[Fraction], bool]:
        const = Fraction(a[0]) + (0 if msl_free else a[1][tw] * 2 * fixed_msl)
        coefs = {n: Fraction(c) for n, c in zip(names, a[1], strict=True)}
        if msl_free:
            coefs["MSL"] += 2 * coefs["TIME_WAIT"]
        return const, [coefs[n] for n in rest], a[2]

    clauses: list[list[Bound]] = []
    for clause in result.clauses:
        atoms = [rewrite(a) for a in clause]
        if any(all(c == 0 for c in cs) and (k > 0 or (k == 0 and not st)) for k, cs, st in atoms):
            continue  # a clause made true by a constant atom
        live = [(k, cs, st) for k, cs, st in atoms if any(c != 0 for c in cs)]
        if not live:
            return f"TIME_WAIT = {where} never suffices here"
        scale = math.lcm(*(x.denominator for k, cs, _st in live for x in (k, *cs)))
        clauses.append(
            sorted((int(k * scale), tuple(int(c * scale) for c in cs), st) for k, cs, st in live)
        )
    if not clauses:
        return f"TIME_WAIT = {where} always suffices here"
    ps = [z3.Real(f"p{i}") for i in range(len(rest))]
    limits = result.limits
    solver = limits.new_solver()
    solver.add(*(p > 0 for p in ps))

    def atom(a: Bound) -> Any:
        return atom_formula(a, ps)

    safe = z3.And(*(z3.Or(*(atom(a) for a in c)) for c in clauses))
    if not limits.decide(solver, "the textbook choice"):
        return None  # pragma: no cover - the positive orthant is never empty
    if _valid(solver, safe, limits):
        return f"TIME_WAIT = {where} always suffices here"
    if _valid(solver, z3.Not(safe), limits):
        return f"TIME_WAIT = {where} never suffices here"
    line = _line_text(clauses, rest)
    if line is None:
        line = clauses_text(_minimise(clauses, safe, solver, atom, limits), rest)
    return f"TIME_WAIT = {where} suffices iff {line}"


def _line_text(clauses: Sequence[Sequence[Bound]], names: Sequence[str]) -> str | None:
    """A region that lives on a line, as a union of intervals: over one parameter
    ``x``, or over the ratio ``x / y`` of two when every atom is homogeneous
    (``a*x + b*y >= 0``).  ``None`` for any other region.

    >>> _line_text([[(0, (-2, 1), True), (0, (1, -2), False)]], ("MSL", "RTO"))
    'MSL < 0.5*RTO or MSL >= 2*RTO'
    >>> _line_text([[(-3, (1,), False)], [(5, (-1,), True)]], ("TIME_WAIT",))
    'TIME_WAIT >= 3 and TIME_WAIT < 5'
    """
    Line = list[list[tuple[Fraction, Fraction, bool]]]  # clauses of c + k*r (>|>=) 0
    if len(names) == 1:
        line: Line = [[(Fraction(a[0]), Fraction(a[1][0]), a[2]) for a in c] for c in clauses]
        unit = ""
    elif len(names) == 2 and all(a[0] == 0 for c in clauses for a in c):
        # a*x + b*y >= 0 with y > 0 is b + a*r >= 0 for the ratio r = x/y.
        line = [[(Fraction(a[1][1]), Fraction(a[1][0]), a[2]) for a in c] for c in clauses]
        unit = f"*{names[1]}"
    else:
        return None

    def holds(r: Fraction) -> bool:
        return all(
            any((c + k * r > 0) if strict else (c + k * r >= 0) for c, k, strict in clause)
            for clause in line
        )

    cuts = sorted({-c / k for clause in line for c, k, _s in clause if k and -c / k > 0})
    # The line cut at every threshold: open pieces between them and the points.
    probes: list[tuple[Fraction | None, Fraction | None, Fraction]] = []
    edges: list[Fraction | None] = [None, *cuts, None]
    for lo, hi in itertools.pairwise(edges):
        below = hi if hi is not None else (lo + 1 if lo is not None else Fraction(1))
        mid = (lo + below) / 2 if lo is not None else below / 2
        probes.append((lo, hi, mid))
        if hi is not None:
            probes.append((hi, hi, hi))
    runs: list[list[tuple[Fraction | None, Fraction | None, Fraction]]] = []
    previous = False
    for probe in probes:
        now = holds(probe[2])
        if now and previous:
            runs[-1].append(probe)
        elif now:
            runs.append([probe])
        previous = now
    if not runs:
        return None  # never (the caller says so)
    x = names[0]

    def num(v: Fraction) -> str:
        return (_fmt(v) if unit == "" else ("" if v == 1 else f"{_fmt(v)}*")) + (
            unit[1:] if unit else ""
        )

    parts = []
    for run in runs:
        first, last = run[0], run[-1]
        bounds = []
        if first[0] is not None:
            bounds.append(f"{x} {'>=' if first[0] == first[1] else '>'} {num(first[0])}")
        if last[1] is not None:
            bounds.append(f"{x} {'<=' if last[0] == last[1] else '<'} {num(last[1])}")
        if not bounds:
            return None  # always
        parts.append(" and ".join(bounds) if len(runs) == 1 else "(" + " and ".join(bounds) + ")")
    if len(runs) > 1:
        parts = [p[1:-1] if " and " not in p[1:-1] else p for p in parts]
    return " or ".join(parts)


def k_text(k: frozenset[Bound], names: Sequence[str]) -> str:
    """A violating constraint ``K`` readably (for reports)."""
    return " and ".join(atom_text(a, names) for a in sorted(k)) or "always"


def region_formula(clauses: Sequence[Sequence[Bound]], names: Sequence[str]) -> Any:
    """The clauses as a Z3 formula over reals named ``names``."""
    ps = [z3.Real(n) for n in names]
    return z3.And(*(z3.Or(*(atom_formula(a, ps) for a in c)) for c in clauses))
