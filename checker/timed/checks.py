"""Timed properties: decided on the zone graph, refuted with a timed trace.

Kinds (entries of a property suite, like the untimed ones):

``timed-exit``       ``B leaves LAST-ACK only by rcv ACK of FIN``: in real time, every
                     move that takes the endpoint out of the state is one of the listed
                     events.  Counterexample: a timed run that leaves it another way.
``timed-never``      ``A enters CLOSED`` or ``A accepts an old segment``: no run in real
                     time makes such a move.
``timed-invariant``  a state formula that holds in every state reachable in real time.

A timed property may also say where the analysis starts and what the network may lose:

``start``  a formula; the analysis starts in every *quiescent* state of the untimed
           graph that satisfies it (nothing in flight), at time 0; a timer running
           there may have run for any part of its duration.  Default: the initial
           state.
``lose``   ``A enters TIME-WAIT``: only segments sent on such moves may be lost (still
           within the configuration's loss budget).  Default: any segment.
``reuse``  ``true``: an endpoint whose connection ended in CLOSED may open a new
           incarnation on the same ports, once; its application then stays open.  Every
           segment carries its incarnation; one that meets another incarnation may fall
           anywhere in its sequence space (:func:`checker.model.endpoint.receive_foreign`).  The
           analysis follows the new incarnations until nothing of the old one is left in
           flight.

The answer is ``holds`` when the zone graph is complete and no run violates the
property, ``violated`` with a timed trace, or ``unknown`` when a limit stopped the
exploration or a channel needed more room than ``capacity`` (a send that cannot happen
would stop time and hide runs).  The instants of a trace are the earliest ones the run
allows (lexicographically), with every delivery taking at least a small visible delay.

Move patterns (``A enters TIME-WAIT``) are :mod:`checker.check.patterns`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import z3

from ..check.formula import Formula, parse_formula
from ..check.outcome import Outcome
from ..check.patterns import MovePattern, parse_move_pattern
from ..check.properties import Property
from ..check.traces import Trace, TraceStep
from ..check.verdicts import Verdict, make_verdict
from ..errors import SpecError, UsageError
from ..model.endpoint import Local, Step
from ..model.spec import Spec
from ..product.config import ProductConfig
from ..product.explore import explore
from ..product.semantics import PState
from .linear import Linear
from .solver import DEFAULT_LIMITS, SolverLimit, SolverLimits
from .tiles import Tile
from .zonegraph import ClockGuard, Node, TimedMove, TState, ZoneGraph, explore_zones

__all__ = [
    "Scenario",
    "TimedRun",
    "check_timed",
    "describe_losses",
    "find_starts",
    "node_path",
    "run_trace",
    "scenario",
    "timed_run",
    "timed_run_where",
    "to_pstate",
    "violation_cause",
]

# ----------------------------------------------------------------------- starts ---


def find_starts(
    spec: Spec, config: ProductConfig, where: Formula | None
) -> list[tuple[Local, Local]]:
    """The quiescent states (nothing in flight) that satisfy ``where``, in breadth-first
    order; ``None``: the initial state.  A timer running there (Linux's orphaned
    FIN-WAIT-2) may have run for any part of its duration when the analysis starts.

    They are read off the untimed graph without losses and with channels of capacity 2
    (larger channels only add runs, and a quiescent state has nothing in flight)."""
    quiet = ProductConfig(config.a, config.b, min(config.capacity, 2), config.ordering, "none")
    ex = explore(spec, quiet)
    if where is None:
        s0 = ex.state(0)
        return [(s0.a, s0.b)]
    out: list[tuple[Local, Local]] = []
    for s in ex.decoded():
        if s.ab or s.ba:
            continue
        if where(s) and (s.a, s.b) not in out:
            out.append((s.a, s.b))
    return out


# ------------------------------------------------------------------------ traces ---


def to_pstate(s: TState, ordering: str = "unordered") -> PState:
    """The untimed product state of a timed state (channels as the product keeps them)."""
    ab = tuple(c.seg for c in s.ab)
    ba = tuple(c.seg for c in s.ba)
    if ordering == "unordered":
        ab, ba = tuple(sorted(ab)), tuple(sorted(ba))
    return PState(s.a, s.b, ab, ba, s.lost)


@dataclass(frozen=True)
class TimedRun:
    """A run of the zone graph with concrete instants: ``moves[i]`` happens at
    ``times[i + 1]``; ``times[0]`` is the start (0)."""

    start: TState
    moves: tuple[TimedMove, ...]
    times: tuple[Fraction, ...]


def node_path(graph: ZoneGraph, node: int) -> list[int]:
    """The indices of the nodes from the root to ``node``."""
    path: list[int] = []
    while node >= 0:
        path.append(node)
        node = graph.node_list[node].parent
    path.reverse()
    return path


def run_trace(
    start: TState,
    moves: Sequence[TimedMove],
    ordering: str,
    times: tuple[Fraction, ...] | None = None,
    loop: int | None = None,
    stops: bool = False,
) -> Trace:
    """A zone-graph run as a :class:`Trace` (channels as the untimed product keeps them)."""
    return Trace(
        to_pstate(start, ordering),
        tuple(TraceStep(m.label, to_pstate(m.after, ordering)) for m in moves),
        loop=loop,
        stops=stops,
        times=times,
    )


def describe_losses(budget: int | None) -> str:
    """``no losses`` / ``any number of losses`` / ``at most 2 loss(es)``."""
    if budget == 0:
        return "no losses"
    return "any number of losses" if budget is None else f"at most {budget} loss(es)"


Flagged = tuple[TimedMove, ClockGuard, tuple[int, ...]]


def _steps(
    graph: ZoneGraph, node: int, last: Flagged | None
) -> tuple[list[Node], list[tuple[TimedMove, ClockGuard, tuple[int, ...]]]]:
    path = [graph.node_list[i] for i in node_path(graph, node)]
    steps: list[tuple[TimedMove, ClockGuard, tuple[int, ...]]] = []
    for nd in path[1:]:
        assert nd.move is not None
        steps.append((nd.move, nd.guard, nd.sources))
    if last is not None:
        steps.append(last)
    return path, steps


def run_constraints(
    graph: ZoneGraph,
    start: TState,
    steps: Sequence[tuple[TimedMove, ClockGuard, tuple[int, ...]]],
    params: Mapping[str, Any] | None = None,
    delta: Fraction | None = None,
) -> tuple[list[Any], list[Any], list[list[Any]]]:
    """The instants ``t0..tn`` of a zone-graph path, the linear constraints they obey
    (the path's guards and invariants) and, for every instant, the instants at which the
    clocks of the state reached then were last reset (a clock's value at ``t[i]`` is
    ``t[i] - resets[i][k]``).  ``params`` maps the graph's free parameters to Z3 terms;
    ``delta``, if given, turns every strict lower bound ``x > c`` into ``x >= c + delta``
    (a visible delay, for readable traces)."""
    env = dict(params or {})

    def term(v: Linear) -> Any:
        return v.z3(env)

    n = len(steps)
    t = [z3.Real(f"t{i}") for i in range(n + 1)]
    cons: list[Any] = [t[0] == 0]
    resets = [t[0]] * len(graph.layout(start))
    history = [resets]
    state = start
    for i, (move, guard, sources) in enumerate(steps):
        for k, top in enumerate(graph.invariants(state)):
            if top is not None:
                cons.append(t[i + 1] - resets[k] <= term(top))
        cons.append(t[i] <= t[i + 1])
        for clock, value, strict, lower in guard:
            age = t[i + 1] - resets[clock - 1]
            if lower and strict and delta is not None:
                cons.append(age >= term(value) + z3.RealVal(delta))
            elif lower:
                cons.append(age > term(value) if strict else age >= term(value))
            else:
                cons.append(age < term(value) if strict else age <= term(value))
        resets = [t[i + 1] if src == 0 else resets[src - 1] for src in sources]
        history.append(resets)
        state = move.after
    return t, cons, history


def timed_run(graph: ZoneGraph, node: int, last: Flagged | None = None) -> TimedRun:
    """The run to ``node`` (then the move ``last``, if given) with the earliest instants
    real time allows, every delivery taking at least a small visible delay."""
    run = timed_run_where(graph, node, last)
    if run is None:  # pragma: no cover - every zone-graph path has a timing
        raise UsageError("internal: a zone-graph path has no concrete timing")
    return run


#: Extra constraints on a run's instants ``t`` and clock resets (see run_constraints).
Extra = Callable[[list[Any], list[list[Any]]], list[Any]]


def timed_run_where(
    graph: ZoneGraph, node: int, last: Flagged | None = None, extra: Extra | None = None
) -> TimedRun | None:
    """Like :func:`timed_run`, with ``extra`` constraints on the instants; ``None`` when
    no timing of the path satisfies them."""
    path, steps = _steps(graph, node, last)
    start = path[0].state
    constants = [graph.delay.const] + [
        top.const for nd in path for top in graph.invariants(nd.state) if top is not None
    ]
    smallest = min(c for c in constants if c > 0) if any(c > 0 for c in constants) else None
    deltas: list[Fraction | None] = []
    if smallest is not None:
        power = Fraction(1)
        while power > smallest / 10:
            power /= 10
        while power * 10 <= smallest / 10:
            power *= 10
        deltas = [power / 10**k for k in range(4)]
    deltas.append(None)
    for delta in deltas:
        t, cons, resets = run_constraints(graph, start, steps, delta=delta)
        opt = graph.limits.new_optimizer()
        opt.set(priority="lex")
        opt.add(*cons)
        if extra is not None:
            opt.add(*extra(t, resets))
        for x in t[1:]:
            opt.minimize(x)
        if graph.limits.decide(opt, "the instants of a run"):
            model = opt.model()
            times = tuple(
                Fraction(str(model.eval(x, model_completion=True).as_fraction())) for x in t
            )
            return TimedRun(start, tuple(st[0] for st in steps), times)
    return None


def describe_params(values: Mapping[str, float], names: Sequence[str]) -> str:
    """``MSL=30 s, RTO=1 s`` for the named parameters present."""
    parts = []
    for name in names:
        if name in values:
            v = values[name]
            parts.append(f"{name}={v:g}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Scenario:
    """What a timed property explores: configuration, starts, what may be lost, and the
    moves that violate it (``what`` says so in words)."""

    config: ProductConfig
    starts: tuple[tuple[Local, Local], ...]
    lose: MovePattern | None
    flag: Callable[[TimedMove], bool]
    what: str
    reuse: bool = False

    def lossy(self, side: str, st: Step) -> bool:
        return self.lose is None or self.lose.matches(side, st.source.state, st.target.state)

    def explore(
        self,
        spec: Spec,
        free: Sequence[str] = (),
        max_nodes: int | None = None,
        max_seconds: float | None = None,
        first_flag: bool = False,
        fixed: Mapping[str, float] | None = None,
        tile: Tile | None = None,
        limits: SolverLimits = DEFAULT_LIMITS,
    ) -> ZoneGraph:
        """The zone graph (parametric over ``free``, or guided by ``tile``'s point) with
        the violating moves flagged (only the first one with ``first_flag``)."""
        return explore_zones(
            spec,
            self.config,
            self.starts,
            lossy=self.lossy,
            flag=self.flag,
            reuse=self.reuse,
            stop=_old_gone if self.reuse else None,
            first_flag=first_flag,
            free=free,
            fixed=fixed,
            tile=tile,
            max_nodes=max_nodes,
            max_seconds=max_seconds,
            limits=limits,
        )


def _old_gone(s: TState) -> bool:
    """Both endpoints are in their new incarnation and nothing of the old one is in
    flight (or both new incarnations are over): the old one can affect nothing more."""
    if s.inc != (1, 1):
        return False
    if s.a.state == s.b.state == "CLOSED":
        return True
    return all(c.inc == 1 for c in (*s.ab, *s.ba))


def scenario(prop: Property, spec: Spec) -> Scenario:
    """The :class:`Scenario` of a timed property on ``spec``."""
    config = prop.product_config()
    where = parse_formula(prop.start) if prop.start else None
    starts = find_starts(spec, config, where)
    if not starts:
        raise SpecError(
            prop.file,
            prop.entry,
            f"no quiescent state (nothing in flight) satisfies start = '{prop.start}'",
            "start from a state such as 'A = FIN-WAIT-2 and B = CLOSE-WAIT'",
        )
    lose = parse_move_pattern(prop.lose) if prop.lose else None
    if prop.kind == "timed-exit":
        pattern = parse_move_pattern(prop.formula)
        return Scenario(config, tuple(starts), lose, pattern.violated_by, str(pattern), prop.reuse)
    if prop.kind == "timed-never":
        pattern = parse_move_pattern(prop.formula)
        return Scenario(
            config, tuple(starts), lose, pattern.occurs, f"never: {pattern}", prop.reuse
        )
    formula = parse_formula(prop.formula)

    def flag(mv: TimedMove) -> bool:
        return not formula(to_pstate(mv.after))

    return Scenario(config, tuple(starts), lose, flag, str(formula), prop.reuse)


#: The timing model, as stated in every timed verdict.
TIMING_MODEL = (
    "each delivered segment spends a delay in (0, DELAY_MAX] in flight (DELAY_MAX = MSL "
    "unless set); timers fire exactly "
    "when their duration has elapsed; application calls happen at any moment"
)
#: What connection reuse means, as stated in the verdicts that use it.
REUSE_MODEL = (
    "connection reuse: an endpoint whose connection ended in CLOSED may open a new "
    "incarnation on the same ports once (its application then stays open); a segment "
    "meeting another incarnation may fall anywhere in its sequence space (the ISS gives "
    "no protection: only time does)"
)
#: Parameters worth quoting in a timed verdict (those the spec has).
QUOTED = (
    "MSL",
    "DELAY_MAX",
    "RTO",
    "TIME_WAIT",
    "FIN_TIMEOUT",
    "SYN_RETRIES",
    "SYNACK_RETRIES",
    "FIN_RETRIES",
    "ORPHAN_RETRIES",
)


def check_timed(
    prop: Property,
    spec: Spec,
    variant: str | None,
    *,
    max_nodes: int | None = None,
    max_seconds: float | None = None,
    limits: SolverLimits = DEFAULT_LIMITS,
) -> Verdict:
    """Decide a timed property on ``spec`` (the variant and parameters already applied);
    a ``timed-within`` claim is :func:`checker.timed.within.check_within`'s.

    Examples
    --------
    >>> from checker import load_properties, load_spec
    >>> prop = next(p for p in load_properties() if p.name == "last-ack-not-stuck")
    >>> spec = load_spec(params={**prop.params, "FIN_RETRIES": 1, "MSL": 30})
    >>> verdict = check_timed(prop, spec, None)
    >>> verdict.verdict
    <Outcome.VIOLATED: 'violated'>
    >>> print(verdict.message)
    at t=3 B: timeout RETX: B gave up after 1 retransmissions (FIN_RETRIES = 1) -- a run in
    real time violates B leaves LAST-ACK only by rcv ACK of FIN
    """
    if prop.kind == "timed-within":
        raise UsageError(f"{prop.name} is a timed-within claim: decide it with check_within")
    sc = scenario(prop, spec)
    config, starts, lose, what = sc.config, sc.starts, sc.lose, sc.what
    graph = sc.explore(
        spec, max_nodes=max_nodes, max_seconds=max_seconds, first_flag=True, limits=limits
    )
    shown_start = prop.start or "the initial state"
    budget = config.loss_budget
    losses = describe_losses(budget)
    if budget != 0 and lose is not None:
        losses += f", only of segments sent when {lose}"
    assumptions: tuple[str, ...] = (
        TIMING_MODEL,
        describe_params(spec.values, QUOTED),
        f"from {shown_start} at t=0 ({len(starts)} quiescent state(s)), {losses}",
    )
    if sc.reuse:
        assumptions += (REUSE_MODEL,)

    def verdict(value: Outcome, message: str, trace: Trace | None = None) -> Verdict:
        return make_verdict(prop, graph, variant, value, message, trace, assumptions)

    if graph.flagged:
        here, move, guard, sources, _zone = graph.flagged[0]
        try:
            run = timed_run(graph, here, (move, guard, sources))
        except SolverLimit as exc:
            # The zone graph proves the run exists; only its instants are missing.
            path, steps = _steps(graph, here, (move, guard, sources))
            trace = run_trace(path[0].state, [m for m, *_ in steps], config.ordering)
            return verdict(
                Outcome.VIOLATED,
                f"{move.label.text()} -- a run in real time violates {what} (no instants: {exc})",
                trace,
            )
        trace = run_trace(run.start, run.moves, config.ordering, run.times)
        when = _time_text(run.times[-1])
        return verdict(
            Outcome.VIOLATED,
            f"at t={when} {move.label.text()}: {cause(spec, run)} -- a run in real time "
            f"violates {what}",
            trace,
        )
    if graph.overflow is not None:
        room = f"in {graph.overflow.describe()}, a send needs room (capacity {config.capacity})"
        return make_verdict(
            prop,
            graph,
            variant,
            Outcome.UNKNOWN,
            f"a channel needed more than {config.capacity} segments ({room})",
            None,
            assumptions,
            needs_room=room,
        )
    if graph.limit is not None:
        return verdict(Outcome.UNKNOWN, f"zone graph incomplete ({graph.limit})")
    return verdict(
        Outcome.HOLDS,
        f"no run in real time violates {what} ({graph.nodes:,} zone-graph nodes)",
    )


def cause(spec: Spec, run: TimedRun) -> str:
    """Why the last move of ``run`` happened, in words: the acknowledgment of a FIN, a
    RST from a peer (and how the peer came to send it), a give-up after the retries, a
    timer, an application call.

    >>> from checker.model.load import load_spec
    >>> from checker.check.properties import load_properties
    >>> prop = {p.name: p for p in load_properties()}["last-ack-not-stuck"]
    >>> spec = load_spec(variant="no-time-wait", params=dict(prop.params))
    >>> check_timed(prop, spec, "no-time-wait").message.split(" -- ")[0]
    'at t=1.2 B: rcv RST: a RST from A, which had closed by rcv FIN at t=1 (from FIN-WAIT-2)'
    """
    move = run.moves[-1]
    label = move.label
    side = label.actor
    rule = spec.transitions[label.rule] if label.rule is not None else None
    if label.kind == "timeout" and rule is not None:
        counts = sorted(rule.guard.parameters())
        if counts and move.after.local(side).state != move.before.local(side).state:
            retries = move.before.local(side).retries
            bound = ", ".join(f"{c} = {spec.values[c]:g}" for c in counts)
            return f"{side} gave up after {retries} retransmissions ({bound})"
        return f"{side}'s timer expired ({label.event})"
    if label.kind == "user":
        return f"{side}'s application called {label.event}"
    received = label.received
    if received is None:
        return label.text()
    if received.name.startswith("RST"):
        peer = "B" if side == "A" else "A"
        return f"a RST from {peer}, {_history(run, peer)}"
    return f"{side} received {received.describe()} ({label.event})"


def violation_cause(spec: Spec, graph: ZoneGraph) -> str:
    """:func:`cause` of the first violation ``graph`` flagged, from its moves alone (no
    instants: a synthesis explores with symbolic parameters)."""
    here, move, guard, sources, _zone = graph.flagged[0]
    path, steps = _steps(graph, here, (move, guard, sources))
    return cause(spec, TimedRun(path[0].state, tuple(m for m, *_ in steps), ()))


def _history(run: TimedRun, side: str) -> str:
    """How ``side`` came to be where it sent the last segment it sent in ``run``: the
    last move that changed its state before then."""
    sent_at = max(
        (i for i, m in enumerate(run.moves[:-1]) if m.label.actor == side and m.label.sent),
        default=len(run.moves) - 1,
    )
    for i in range(sent_at, -1, -1):
        m = run.moves[i]
        if m.label.actor == side and m.left(side):
            before, after = m.before.local(side).state, m.after.local(side).state
            # A run without instants (a synthesis's, at symbolic parameters) says no time.
            when = f" at t={_time_text(run.times[i + 1])}" if run.times else ""
            return f"which had {_entered(after)} by {m.label.event}{when} (from {before})"
    return f"in {run.moves[sent_at].before.local(side).state} from the start"


def _entered(state: str) -> str:
    return "closed" if state == "CLOSED" else f"entered {state}"


def _time_text(t: Fraction) -> str:
    as_float = float(t)
    return f"{as_float:g}" if Fraction(repr(as_float)) == t else f"{t} (≈{as_float:.6g})"
