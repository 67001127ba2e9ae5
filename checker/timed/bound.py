"""Duration bounds: the longest an endpoint can stay in one state, in real time.

``tcpcheck bound SYN-SENT`` answers "how long can connect() hang?", ``bound LAST-ACK
--endpoint B`` "how long does a passive closer wait for a peer that is gone?".  The
answer comes from the zone graph (:mod:`checker.timed.zonegraph`) with one extra clock, the
*watch*, reset when the endpoint enters the state; the bound is the supremum of the
watch over every zone in which the endpoint is still there.

Two environments:

``gone`` (default)  the peer is gone: nothing reaches the endpoint and what it sends is
                    lost.  The stays start at every way the untimed product enters the
                    state (its *entries*), with every timer just restarted.  This is the
                    textbook question (127 s for a SYN with six retries and RTO = 1 s;
                    131 s in Linux, whose first SYN retransmissions do not back off).
``live``            the full product from ``start`` (quiescent states matching a formula;
                    default the initial state) with the configured channels: the peer
                    may prolong the stay (a retransmitted FIN restarts TIME-WAIT).

The answer is

* ``bounded``: the supremum, attained or not, with a timed run that stays that long;
  with symbolic parameters also the bound as a formula (``127*RTO``), read off a
  parametric exploration: the largest, over the zones, of the least upper bound of the
  watch clock (:mod:`checker.timed.pdbm`);
* ``unbounded``: a run that stays forever -- either it reaches a zone where no timer
  runs and nothing is in flight, so time passes without end (FIN-WAIT-2 in the RFC: the
  peer never closes), or it repeats a cycle that returns to the same state with every
  clock as it was and takes time (checked exactly with Z3), a lasso;
* ``unknown``: a limit stopped the exploration first (or a channel overflowed).

Why this is complete: if every zone with the endpoint in the state bounds the watch and
the graph is finite, the supremum is the largest of those bounds; a stay that lasted
forever would have to pass through zones with ever larger watch values, infinitely many.

Examples
--------
>>> from checker.model.load import load_spec
>>> b = duration_bound(load_spec(variant="linux", params={"RTO": 1}), "A", "SYN-SENT")
>>> str(b.status), b.value, b.attained
('bounded', Fraction(131, 1), True)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

import z3

from ..check.formula import parse_formula
from ..check.patterns import PEERS
from ..check.traces import Trace
from ..errors import UsageError, unknown_name
from ..model.endpoint import Local, initial_local
from ..model.expr import names_in_calls
from ..model.spec import Spec
from ..product.config import ProductConfig
from ..product.explore import explore
from .checks import (
    QUOTED,
    TIMING_MODEL,
    TimedRun,
    describe_losses,
    describe_params,
    find_starts,
    node_path,
    run_trace,
    timed_run,
    timed_run_where,
)
from .dbm import Zone
from .domains import GraphZone
from .linear import Linear
from .pdbm import Bound, ParamSolver, PZone, at_most, k_formula
from .solver import DEFAULT_LIMITS, SolverLimit, SolverLimits
from .zonegraph import TimedMove, Watch, ZoneGraph, explore_zones

__all__ = ["PEERS", "BoundStatus", "DurationBound", "default_free", "duration_bound"]


class BoundStatus(StrEnum):
    """What a duration bound found: a supremum, a run that stays forever, or -- a limit
    reached -- neither.

    Examples
    --------
    >>> from checker import load_spec
    >>> duration_bound(load_spec(), "A", "FIN-WAIT-2", free=()).status
    <BoundStatus.UNBOUNDED: 'unbounded'>
    """

    BOUNDED = "bounded"
    UNBOUNDED = "unbounded"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DurationBound:
    """The result of :func:`duration_bound`.

    Examples
    --------
    >>> from checker import load_spec
    >>> bound = duration_bound(load_spec(params={"SYN_RETRIES": 2}), "A", "SYN-SENT")
    >>> bound.value, bound.attained, bound.formula
    (Fraction(7, 1), True, '7*RTO')
    >>> bound.to_json()["bound"]
    7.0
    """

    side: str
    state: str
    peer: str
    status: BoundStatus
    message: str
    #: The supremum in seconds (bounded), or the longest stay seen so far (unknown).
    value: Fraction | None = None
    #: Whether some run stays exactly ``value`` (``<=``) or only approaches it (``<``).
    attained: bool = True
    #: The bound over the free parameters (``127*RTO``) and how it was obtained.
    formula: str | None = None
    formula_note: str = ""
    free: tuple[str, ...] = ()
    params: dict[str, float] = field(default_factory=dict)
    #: The longest stay (bounded), or the run that stays forever (unbounded).
    trace: Trace | None = None
    assumptions: tuple[str, ...] = ()
    nodes: int = 0
    seconds: float = 0.0

    def headline(self) -> str:
        where = (
            f"{self.side} in {self.state} ({'peer gone' if self.peer == 'gone' else 'live peer'})"
        )
        if self.status == BoundStatus.BOUNDED:
            assert self.value is not None
            op = "at most" if self.attained else "less than"
            formula = f" = {self.formula}" if self.formula else ""
            return f"{where}: {op} {_seconds_text(self.value)} s{formula}"
        if self.status == BoundStatus.UNBOUNDED:
            return f"{where}: unbounded"
        return f"{where}: unknown"

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.side,
            "state": self.state,
            "peer": self.peer,
            "status": self.status,
            "bound": None if self.value is None else _json_number(self.value),
            "attained": self.attained if self.status == BoundStatus.BOUNDED else None,
            "formula": self.formula,
            "formula_note": self.formula_note,
            "free": list(self.free),
            "params": {k: self.params[k] for k in sorted(self.params)},
            "message": self.message,
            "assumptions": list(self.assumptions),
            "trace": None if self.trace is None else self.trace.to_json(),
            "nodes": self.nodes,
        }


def _json_number(v: Fraction) -> float | str:
    return float(v) if Fraction(repr(float(v))) == v else f"{v.numerator}/{v.denominator}"


def _seconds_text(v: Fraction) -> str:
    f = float(v)
    return f"{f:g}" if Fraction(repr(f)) == v else f"{v} (≈{f:.6g})"


def default_free(spec: Spec, peer: str, fixed: Sequence[str] = ()) -> tuple[str, ...]:
    """The durations a formula is written over: the parameters the timers name (and MSL
    with a live peer, for the flights), less those fixed on the command line and those
    a duration passes to a function (``min(RTO * 2^retries, RTO_MAX)``: a ceiling is not
    linear, so those keep their values)."""
    names: set[str] = set()
    capped: set[str] = set()
    for timer in spec.timers:
        for duration in timer.durations():
            names.update(n for n in duration.names() if n != "retries")
            capped |= names_in_calls(duration)
    if peer == "live":
        names.add("MSL")
    units = {p.name: p.unit for p in spec.parameters}
    finite = {p.name for p in spec.parameters if p.value != float("inf")}
    return tuple(
        sorted(
            n for n in names - capped if units.get(n) != "count" and n in finite and n not in fixed
        )
    )


# ---------------------------------------------------------------------- entries ---


def entries(spec: Spec, config: ProductConfig, side: str, state: str) -> list[Local]:
    """The local states in which ``side`` enters ``state`` in the untimed product (every
    timer then starts afresh), in breadth-first order."""
    ex = explore(spec, config)
    decoded = ex.decoded()
    out: list[Local] = []
    first = decoded[0].local(side)
    if first.state == state:
        out.append(first)
    for node, s in enumerate(decoded):
        if s.local(side).state == state:
            continue
        for _label, target in ex.edges_from(node):
            after = decoded[target].local(side)
            if after.state == state and after not in out:
                out.append(after)
    return out


# ------------------------------------------------------------------------ search ---


def _watch_index(graph: ZoneGraph, node: int) -> int:
    return graph.layout(graph.node_list[node].state).index(("watch", "", 0)) + 1


def _ancestors(graph: ZoneGraph, node: int) -> list[int]:
    """``node`` and its ancestors back to where the current stay began (root first)."""
    chain = [node]
    while True:
        nd = graph.node_list[chain[-1]]
        if nd.parent < 0 or nd.move is None or not nd.move.before.watching:
            break
        chain.append(nd.parent)
    chain.reverse()
    return chain


def _find_lasso(graph: ZoneGraph) -> tuple[TimedRun, int] | None:
    """A stay that lasts forever by a cycle: a flagged move inside the stay back to the
    discrete state of an earlier node of the same stay, with every clock (but the watch)
    equal at both ends and time elapsed -- the cycle then repeats forever, exactly."""
    for here, mv, guard, sources, _zone in graph.flagged:
        if not (mv.before.watching and mv.after.watching):
            continue
        for anc in _ancestors(graph, here):
            if graph.node_list[anc].state != mv.after:
                continue
            path = node_path(graph, here)
            pos = path.index(anc)
            layout = graph.layout(mv.after)

            def periodic(
                t: list[Any], resets: list[list[Any]], pos: int = pos, layout: Any = layout
            ) -> list[Any]:
                end = len(t) - 1
                same = [
                    t[pos] - resets[pos][k] == t[end] - resets[end][k]
                    for k, clock in enumerate(layout)
                    if clock[0] != "watch"
                ]
                return [*same, t[end] > t[pos]]

            try:
                run = timed_run_where(graph, here, (mv, guard, sources), extra=periodic)
            except SolverLimit:
                continue  # undecided: not a lasso we can show
            if run is not None:
                return run, pos
    return None


def _trace(run: TimedRun, config: ProductConfig, loop: int | None, stops: bool) -> Trace:
    return run_trace(run.start, run.moves, config.ordering, run.times, loop, stops)


def duration_bound(
    spec: Spec,
    side: str,
    state: str,
    *,
    peer: str = "gone",
    config: ProductConfig | None = None,
    start: str | None = None,
    free: Sequence[str] | None = None,
    max_nodes: int | None = 200_000,
    max_seconds: float | None = 120.0,
    limits: SolverLimits = DEFAULT_LIMITS,
) -> DurationBound:
    """How long ``side`` can stay in ``state`` (see the module docstring).

    ``free`` parameters get a formula (default :func:`default_free`; ``()`` for none).
    Every Z3 call runs under ``limits``.

    Examples
    --------
    >>> from checker import load_spec
    >>> spec = load_spec(params={"SYN_RETRIES": 2})
    >>> duration_bound(spec, "A", "SYN-SENT").headline()
    'A in SYN-SENT (peer gone): at most 7 s = 7*RTO'
    >>> print(duration_bound(spec, "A", "FIN-WAIT-2", free=()).headline())
    A in FIN-WAIT-2 (peer gone): unbounded
    """
    if side not in ("A", "B"):
        raise UsageError(f"unknown endpoint {side!r}: use A or B")
    names = [s.name for s in spec.states]
    if state not in names:
        raise unknown_name("state", state, names, "states")
    if peer not in PEERS:
        raise UsageError(f"unknown peer mode {peer!r}: use {' or '.join(PEERS)}")
    if peer == "gone" and start is not None:
        raise UsageError("--start needs --peer live (a gone peer starts at every entry)")
    config = config or ProductConfig()
    started = time.perf_counter()
    other = initial_local(spec)
    if peer == "gone":
        found = entries(spec, config, side, state)
        if not found:
            raise UsageError(f"{side} never enters {state} in this configuration")
        starts = [(e, other) if side == "A" else (other, e) for e in found]
        entry_word = "entry" if len(starts) == 1 else "entries"
        whence = f"every way {side} enters {state} ({len(starts)} {entry_word})"
    else:
        where = parse_formula(start) if start else None
        starts = find_starts(spec, config, where)
        if not starts:
            raise UsageError(f"no quiescent state (nothing in flight) satisfies '{start}'")
        if any((a if side == "A" else b).state == state for a, b in starts):
            raise UsageError(
                f"the start must not have {side} in {state} already (a stay would be "
                "measured from its middle); start before it enters"
            )
        whence = f"from {start or 'the initial state'} ({len(starts)} quiescent state(s))"
    budget = config.loss_budget
    losses = (
        "everything it sends is lost and nothing arrives"
        if peer == "gone"
        else describe_losses(budget)
    )
    assumptions = (
        TIMING_MODEL,
        describe_params(spec.values, QUOTED),
        f"{whence}; {losses}",
    )

    def stays(mv: TimedMove) -> bool:
        return mv.before.watching

    def search(limit: int | None, free_now: Sequence[str] = ()) -> ZoneGraph:
        return explore_zones(
            spec,
            config,
            starts,
            flag=stays,
            watch=Watch(side, state),
            silent=side if peer == "gone" else None,
            free=free_now,
            max_nodes=limit,
            max_seconds=max_seconds,
            limits=limits,
        )

    def result(status: BoundStatus, message: str, graph: ZoneGraph, **kw: Any) -> DurationBound:
        return DurationBound(
            side,
            state,
            peer,
            status,
            message,
            params=dict(spec.values),
            assumptions=assumptions,
            nodes=graph.nodes,
            seconds=time.perf_counter() - started,
            **kw,
        )

    # Grow the node budget geometrically: a stay that cycles forever makes the graph
    # infinite, and its lasso shows up early.
    limit = 2_000
    while True:
        cap = limit if max_nodes is None else min(limit, max_nodes)
        graph = search(cap)
        idle = _idle(graph)
        if idle is not None:
            run = timed_run(graph, idle)
            return result(
                BoundStatus.UNBOUNDED,
                f"{side} can stay in {state} forever: no timer runs there and nothing "
                "arrives, so time passes without end",
                graph,
                trace=_trace(run, config, None, True),
            )
        if graph.complete:
            break
        lasso = _find_lasso(graph)
        if lasso is not None:
            run, loop = lasso
            return result(
                BoundStatus.UNBOUNDED,
                f"{side} can stay in {state} forever: a cycle returns to the same state "
                "with every timer as it was, taking time, and repeats",
                graph,
                trace=_trace(run, config, loop, False),
            )
        if graph.overflow is not None or cap != limit or graph.limit != f"{cap} zone-graph nodes":
            best = _best(graph)
            why = (
                f"a channel needed more than {config.capacity} segments "
                f"({graph.overflow.describe()}); raise the capacity"
                if graph.overflow is not None
                else f"zone graph incomplete ({graph.limit})"
            )
            seen = f"; the longest stay seen is {_seconds_text(best[0])} s" if best else ""
            return result(BoundStatus.UNKNOWN, why + seen, graph, value=best[0] if best else None)
        limit *= 8

    best = _best(graph)
    assert best is not None, "the graph has a node with the endpoint in the state"
    value, strict, node = best
    try:
        trace: Trace | None = _trace(_longest(graph, value, strict, node), config, None, False)
        note = ""
    except SolverLimit as exc:
        trace, note = None, f"; no timed witness ({exc})"
    formula, formula_note = None, ""
    chosen = default_free(spec, peer) if free is None else tuple(free)
    if chosen:
        try:
            formula, formula_note = _formula(search, chosen, max_nodes)
        except SolverLimit as exc:
            formula_note = f"no formula: {exc}"
    return result(
        BoundStatus.BOUNDED,
        f"the longest stay is {_seconds_text(value)} s"
        + (" (approached, not reached)" if strict else "")
        + f" ({graph.nodes:,} zone-graph nodes){note}",
        graph,
        value=value,
        attained=not strict,
        formula=formula,
        formula_note=formula_note,
        free=chosen,
        trace=trace,
    )


def _longest(graph: ZoneGraph, value: Fraction, strict: bool, node: int) -> TimedRun:
    """A run that stays ``value`` (or nearly, when it is not attained) and then leaves."""
    exit_move = _longest_exit(graph, value)
    if exit_move is not None:
        here, mv, guard, sources, _zone = exit_move
        w = _watch_index(graph, here)

        def reach(t: list[Any], resets: list[list[Any]]) -> list[Any]:
            stay = t[-1] - resets[-2][w - 1]
            target = z3.RealVal(value)
            return [stay == target] if not strict else [stay > target - _margin(value)]

        longest = timed_run_where(graph, here, (mv, guard, sources), extra=reach)
    else:
        longest = None
    return longest if longest is not None else timed_run(graph, node)


def _margin(value: Fraction) -> Fraction:
    return min(Fraction(1, 1000), value / 1000) if value > 0 else Fraction(1, 1000)


def _upper(zone: GraphZone, clock: int) -> tuple[int, bool] | None:
    assert isinstance(zone, Zone)  # the stay itself is measured with every parameter fixed
    return zone.upper(clock)


def _idle(graph: ZoneGraph) -> int | None:
    """A node with the endpoint in the state where time can pass forever."""
    for i, nd in enumerate(graph.node_list):
        if nd.state.watching and _upper(nd.zone, _watch_index(graph, i)) is None:
            return i
    return None


def _best(graph: ZoneGraph) -> tuple[Fraction, bool, int] | None:
    """The largest watch-clock bound over the nodes: (seconds, strict, node)."""
    best: tuple[Fraction, bool, int] | None = None
    for i, nd in enumerate(graph.node_list):
        if not nd.state.watching:
            continue
        got = _upper(nd.zone, _watch_index(graph, i))
        if got is None:
            continue
        c, strict = got
        v = Fraction(c, graph.scale)
        if best is None or v > best[0] or (v == best[0] and best[1] and not strict):
            best = (v, strict, i)
    return best


def _longest_exit(graph: ZoneGraph, value: Fraction) -> Any:
    """A flagged move leaving the state from a zone where the watch can reach
    ``value``."""
    for item in graph.flagged:
        here, mv, _guard, _sources, zone = item
        if mv.after.watching:
            continue
        got = _upper(zone, _watch_index(graph, here))
        if got is not None and Fraction(got[0], graph.scale) == value:
            return item
    return None


# ---------------------------------------------------------------------- formula ---

Term = tuple[tuple[Bound, ...], frozenset[Bound]]


def _formula(search: Any, free: Sequence[str], max_nodes: int | None) -> tuple[str | None, str]:
    """The bound over the ``free`` parameters from a parametric exploration."""
    graph: ZoneGraph = search(max_nodes, free)
    if not graph.complete:
        why = graph.limit or "a channel overflowed"
        return None, f"no formula: the parametric exploration is incomplete ({why})"
    arity = len(free)
    terms: list[Term] = []
    for i, nd in enumerate(graph.node_list):
        if not nd.state.watching:
            continue
        zone = nd.zone
        assert isinstance(zone, PZone)
        cell = zone.m[_watch_index(graph, i)][0]
        if not cell:
            k = " and ".join(str(c) for c in sorted(zone.k)) or "always"
            return None, f"no formula: unbounded for some parameter values ({k})"
        terms.append((cell, zone.k))
    kept = _prune_terms(terms, arity, ParamSolver(graph.limits))
    text = _terms_text(kept, free, graph.scale)
    return text, f"exact, over {', '.join(free)} ({graph.nodes:,} parametric zone-graph nodes)"


def _below(t1: Term, t2: Term, arity: int, solver: ParamSolver) -> bool:
    """Is term ``t1`` at most ``t2`` wherever ``t1`` exists (so it adds nothing)?"""
    if not all(any(at_most(b1, b2) for b1 in t1[0]) for b2 in t2[0]):
        return False
    return t1[1] == t2[1] or not t2[1] or solver.implies(t1[1], t2[1], arity)


def _prune_terms(terms: list[Term], arity: int, solver: ParamSolver) -> list[Term]:
    out: list[Term] = []
    for t in sorted(set(terms)):
        if any(_below(t, o, arity, solver) for o in out):
            continue
        out = [o for o in out if not _below(o, t, arity, solver)]
        out.append(t)
    return out


def _linear(b: Bound, names: Sequence[str], scale: int) -> Linear:
    out = Linear.of(Fraction(b[0], scale))
    for c, n in zip(b[1], names, strict=True):
        out = out + Linear.var(n).scale(Fraction(c, scale))
    return out


def _terms_text(terms: list[Term], names: Sequence[str], scale: int) -> str:
    parts = []
    for cell, k in terms:
        mins = sorted({str(_linear(b, names, scale)) for b in cell})
        body = mins[0] if len(mins) == 1 else f"min({', '.join(mins)})"
        if k:
            cond = z3.simplify(k_formula(k, names))
            body += f" when {cond}"
        parts.append(body)
    return parts[0] if len(parts) == 1 else "max(" + "; ".join(parts) + ")"
