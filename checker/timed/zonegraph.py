"""The timed product explored symbolically: a zone graph (as in UPPAAL), exact rationals.

The untimed graph says what *may* happen; this module says what can happen in real
time.  A node is a discrete timed state -- both endpoints' local states and every segment
copy in flight, in the order it was sent -- together with a *zone*: the set of values the
clocks can have there (:mod:`checker.timed.dbm`).  The clocks are

* one per running timer of each endpoint, reset when the timer is (re)started: on
  entering a state where it runs, on a retransmission, on a rule marked ``restart``;
* one per segment copy in flight (its age), reset when it is sent;
* optionally a *watch* clock: how long one endpoint has been in one state (duration
  bounds).

Timing semantics (closed bounds unless said otherwise; the README's "Timing model"):

* a segment copy is delivered when its age is in ``(0, DELAY_MAX]`` -- never instantly,
  at the latest after DELAY_MAX, which is the MSL unless a run's delays are bounded more
  tightly -- or lost at any moment (only copies the scenario lets the network lose, and at
  most the loss budget); time cannot pass a copy's DELAY_MAX;
* a timer fires exactly when its duration has elapsed (``RTO * 2^retries``,
  ``TIME_WAIT``, ...); time cannot pass it, and other moves may happen at the same
  instant, before or after it;
* application calls happen at any moment their mode allows.

The graph is finite because the untimed model is (retry bounds, bounded channels); a
send into a full channel is not taken but *reported* (``overflow``), and analyses then
answer ``unknown``: a blocked timer would otherwise stop time and hide runs.

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> spec = load_spec(params={"MSL": 30, "TIME_WAIT": 60, "FIN_RETRIES": 2})
>>> a = Local("FIN-WAIT-2", una=2, opened=True, closed=True)
>>> b = Local("CLOSE-WAIT", passive=True, una=1, opened=True)
>>> g = explore_zones(spec, ProductConfig(loss="none", capacity=4), [(a, b)])
>>> g.complete, g.nodes
(True, 83)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import UsageError
from ..model.endpoint import Local, Step, initial_local, receive, receive_foreign, timer_steps
from ..model.expr import Expr
from ..model.segments import RST, Segment
from ..model.spec import Spec
from ..product.config import ProductConfig
from ..product.network import Network
from ..product.semantics import Label, app_steps, net_label, restarts_timers, step_label
from .domains import (
    ConcreteDomain,
    GraphZone,
    GuidedDomain,
    ParametricDomain,
    ZoneDomain,
    ZoneStore,
)
from .linear import Linear, fold_duration, parameter_env
from .solver import DEFAULT_LIMITS, SolverLimit, SolverLimits
from .tiles import Tile

__all__ = ["Copy", "TState", "TimedMove", "Watch", "ZoneGraph", "explore_zones"]


@dataclass(frozen=True, order=True)
class Copy:
    """One copy of a segment in flight: the segment, whether the network may lose it, and
    the incarnation of the connection that sent it."""

    seg: Segment
    lossy: bool = False
    inc: int = 0


@dataclass(frozen=True, order=True)
class TState:
    """A discrete timed state.  Channels keep copies in the order they were sent."""

    a: Local
    b: Local
    ab: tuple[Copy, ...] = ()
    ba: tuple[Copy, ...] = ()
    lost: int = 0
    inc: tuple[int, int] = (0, 0)
    watching: bool = False

    def local(self, side: str) -> Local:
        return self.a if side == "A" else self.b

    def incoming(self, side: str) -> tuple[Copy, ...]:
        return self.ba if side == "A" else self.ab

    def describe(self) -> str:
        ab = " ".join(c.seg.name for c in self.ab) or "-"
        ba = " ".join(c.seg.name for c in self.ba) or "-"
        return f"A={self.a.state} B={self.b.state} A->B=[{ab}] B->A=[{ba}]"


@dataclass(frozen=True)
class Watch:
    """Measure how long ``side`` stays in ``state`` (a clock reset on entering it)."""

    side: str
    state: str


@dataclass(frozen=True)
class TimedMove:
    """One move of the timed product: its label, the consumed copy (index in its
    channel) and whether that copy came from an older incarnation of the connection."""

    label: Label
    before: TState
    after: TState
    copy: int | None = None
    old: bool = False

    def left(self, side: str) -> bool:
        return self.before.local(side).state != self.after.local(side).state


@dataclass
class Node:
    """A zone-graph node and how it was reached: parent node, move, guard and clock map."""

    state: TState
    zone: GraphZone
    parent: int
    move: TimedMove | None
    #: The clock constraints of the move, over the parent's clocks.
    guard: ClockGuard = ()
    #: For each of this node's clocks, the parent's clock it continues (0: reset here).
    sources: tuple[int, ...] = ()


@dataclass
class ZoneGraph:
    """The result of :func:`explore_zones`."""

    spec: Spec
    config: ProductConfig
    #: The free parameters (parametric zones) -- empty for concrete ones.
    free: tuple[str, ...]
    #: The longest a delivered segment spends in flight (DELAY_MAX; the MSL by default).
    delay: Linear
    node_list: list[Node]
    #: Moves a predicate flagged: (node the move starts from, move, guard, sources, the
    #: zone just before the move with its guard applied).
    flagged: list[tuple[int, TimedMove, ClockGuard, tuple[int, ...], GraphZone]]
    complete: bool
    limit: str | None
    overflow: TState | None
    seconds: float
    #: Time is counted in units of ``1/scale`` in the zones (exact rationals as integers).
    scale: int
    layout: Callable[[TState], list[Clock]]
    #: The upper bound of every clock of a state (``None``: unbounded), non-strict.
    invariants: Callable[[TState], list[Linear | None]]
    #: The limits of the Z3 calls made on the graph (its parameter constraints, and the
    #: instants of its runs: :func:`checker.timed.checks.timed_run`).
    limits: SolverLimits

    @property
    def nodes(self) -> int:
        return len(self.node_list)

    @property
    def states(self) -> int:
        """The zone-graph nodes: what a timed verdict counts as states."""
        return len(self.node_list)


#: A clock: ("timer", side, timer index), ("watch", "", 0) or ("copy", channel, position).
Clock = tuple[str, str, int]
#: Clock constraints of a move: (clock, value, strict, lower) -- ``x >= value`` (``>``
#: if strict) for a lower bound, ``x <= value`` (``<``) for an upper one.
ClockGuard = tuple[tuple[int, Linear, bool, bool], ...]


#: A start of the timed analysis: the two local states (nothing in flight, clocks at 0).
Start = tuple[Local, Local]


def explore_zones(
    spec: Spec,
    config: ProductConfig,
    starts: Sequence[Start] | None = None,
    *,
    lossy: Callable[[str, Step], bool] | None = None,
    flag: Callable[[TimedMove], bool] | None = None,
    watch: Watch | None = None,
    reuse: bool = False,
    silent: str | None = None,
    stop: Callable[[TState], bool] | None = None,
    first_flag: bool = False,
    free: Sequence[str] = (),
    fixed: Mapping[str, float] | None = None,
    assume: Sequence[Linear] = (),
    tile: Tile | None = None,
    max_nodes: int | None = None,
    max_seconds: float | None = None,
    limits: SolverLimits = DEFAULT_LIMITS,
) -> ZoneGraph:
    """Explore the zone graph of ``spec`` under ``config`` from ``starts``.

    ``lossy(side, step)`` says whether the segments a step sends may be lost (default:
    all, within ``config``'s loss budget); ``flag(move)`` marks moves to report (e.g. the
    ways an endpoint leaves a state); ``watch`` adds a clock measuring a state's
    duration; ``reuse`` lets an endpoint whose connection ended open a new incarnation on
    the same ports.  ``silent`` names a side whose peer is gone: nothing reaches it,
    what it sends is lost at once, and the peer never moves.  States where ``stop``
    holds are kept but not expanded (nothing after them matters to the analysis).
    ``free`` parameters stay symbolic (parametric zones, for synthesis:
    :mod:`checker.timed.synth`), within the domain ``0 <= e`` for every ``e`` of ``assume``;
    the others must be finite.  With a ``tile`` (:mod:`checker.timed.tiles`) the free
    parameters are compared at its point, which records the tile's constraints.  Z3
    decides parametric constraints under ``limits``.
    """
    env = parameter_env(spec, free=free, fixed=fixed)
    if "MSL" not in env:
        raise UsageError("the timed layer needs a finite MSL parameter")
    if config.dup_budget:
        raise UsageError("the timed layer does not model duplication (use --dup none)")
    if config.attacker:
        raise UsageError(
            "the timed layer does not model an attacker (use --attacker 0; the untimed checks do)"
        )
    # The channel's rules (delivery order, room, loss budget); copies keep the order
    # they were sent in, each with its own clock.
    network = Network.of(config)

    timers = spec.timers
    durations: dict[tuple[int, str, int], Linear] = {}
    for k, timer in enumerate(timers):
        for state in timer.states:
            for r in range(spec.retry_cap + 1):
                durations[k, state, r] = _duration(timer.duration_in(state), env, r, bool(free))
    msl = env["MSL"]
    if msl.is_const and msl.const <= 0:
        raise UsageError("MSL must be positive")
    # A delivered segment's delay: at most DELAY_MAX, which follows MSL unless it is set.
    delay = env.get("DELAY_MAX", msl)
    if delay.is_const and delay.const <= 0:
        raise UsageError("DELAY_MAX must be positive")
    if delay.is_const and msl.is_const and delay.const > msl.const:
        raise UsageError(
            f"DELAY_MAX ({delay}) exceeds MSL ({msl}): no segment lives longer than MSL"
        )
    constants = [delay, *durations.values()]
    # Each kind of zone takes bounds of its own type (checker/timed/domains.py); which
    # kind explores is chosen here, at run time, so the bound and zone types stay open:
    # the zones reached are GraphZone, and each only ever meets its own domain's bounds.
    domain: ZoneDomain[Any, Any] = ConcreteDomain(constants)
    if tile is not None:
        domain = GuidedDomain(free, constants, tile)
    elif free:
        domain = ParametricDomain(free, constants, assume, limits)
    zero = Linear()
    running_memo: dict[Local, tuple[tuple[int, Step, Linear], ...]] = {}

    def running(local: Local) -> tuple[tuple[int, Step, Linear], ...]:
        """(timer index, step when it fires, duration) of the running timers."""
        got = running_memo.get(local)
        if got is None:
            out = []
            steps = {st.rule.event: st for st in timer_steps(spec, local)}
            for k, timer in enumerate(timers):
                if timer.event in steps:
                    r = min(local.retries, spec.retry_cap)
                    out.append((k, steps[timer.event], durations[k, local.state, r]))
            got = running_memo[local] = tuple(out)
        return got

    def layout(s: TState) -> list[Clock]:
        """The clocks of ``s``, in index order 1..n: (kind, what)."""
        clocks: list[Clock] = []
        for side in ("A", "B"):
            clocks += [("timer", side, k) for k, _st, _d in running(s.local(side))]
        if s.watching:
            clocks.append(("watch", "", 0))
        clocks += [("copy", "A->B", i) for i in range(len(s.ab))]
        clocks += [("copy", "B->A", i) for i in range(len(s.ba))]
        return clocks

    def invariants(s: TState) -> list[Linear | None]:
        """The upper bound of every clock of ``s`` (None: unbounded)."""
        bounds: list[Linear | None] = []
        for side in ("A", "B"):
            bounds += [d for _k, _st, d in running(s.local(side))]
        if s.watching:
            bounds.append(None)
        bounds += [delay] * (len(s.ab) + len(s.ba))
        return bounds

    def settle(zone: GraphZone, s: TState) -> GraphZone:
        """Let time pass in ``s`` as far as its invariants allow."""
        zone = zone.up()
        for i, limit_here in enumerate(invariants(s), start=1):
            if limit_here is not None:
                zone = zone.constrain(i, 0, domain.bound(limit_here, False))
        return zone

    def zone_set(s: TState) -> ZoneStore[Any]:
        """LU bounds of ``s``'s clocks: a timer is compared with its duration from both
        sides, a copy with 0 from below (it arrives after a positive delay) and MSL from
        above; the watch clock is kept exact."""
        lower: list[Linear | None] = []
        upper: list[Linear | None] = []
        for kind, _name, _i in layout(s):
            if kind == "watch":
                lower.append(None)
                upper.append(None)
            elif kind == "copy":
                lower.append(zero)
                upper.append(delay)
        timers_lu = [d for side in ("A", "B") for _k, _st, d in running(s.local(side))]
        return domain.zone_set([*timers_lu, *lower], [*timers_lu, *upper])

    if starts is None:
        start0 = initial_local(spec)
        starts = [(start0, start0)]

    started = time.perf_counter()
    nodes: list[Node] = []
    passed: dict[TState, ZoneStore[Any]] = {}
    queue: deque[int] = deque()
    superseded: set[int] = set()
    flagged: list[tuple[int, TimedMove, ClockGuard, tuple[int, ...], GraphZone]] = []
    overflow: TState | None = None
    limit: str | None = None

    def admit(
        s: TState,
        zone: GraphZone,
        parent: int,
        move: TimedMove | None,
        guard: ClockGuard,
        sources: tuple[int, ...],
    ) -> None:
        zones = passed.get(s)
        if zones is None:
            zones = passed[s] = zone_set(s)
        if not zones.add(zone, len(nodes)):
            return
        # A zone now simulated by the new one need not be expanded (if still waiting).
        superseded.update(zones.dropped)
        nodes.append(Node(s, zone, parent, move, guard, sources))
        queue.append(len(nodes) - 1)

    for a, b in starts:
        on = watch is not None and (a if watch.side == "A" else b).state == watch.state
        s0 = TState(a, b, watching=on)
        # A timer already running at the start may have run for any part of its
        # duration; every other clock starts at 0.
        zone = domain.universal(len(layout(s0)))
        for i, ((kind, _name, _k), limit_here) in enumerate(
            zip(layout(s0), invariants(s0), strict=True), start=1
        ):
            top = limit_here if kind == "timer" and limit_here is not None else zero
            zone = zone.constrain(i, 0, domain.bound(top, False))
        admit(s0, settle(zone, s0), -1, None, (), (0,) * len(layout(s0)))

    try:
        while queue:
            if max_nodes is not None and len(nodes) >= max_nodes:
                limit = f"{max_nodes} zone-graph nodes"
                break
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                limit = f"{max_seconds:g} s"
                break
            here = queue.popleft()
            if here in superseded:
                continue
            node = nodes[here]
            s, zone = node.state, node.zone
            if stop is not None and stop(s):
                continue
            clocks = layout(s)
            index = {what: i for i, what in enumerate(clocks, start=1)}
            bases = {
                "A->B": index.get(("copy", "A->B", 0), 0),
                "B->A": index.get(("copy", "B->A", 0), 0),
            }
            candidates: list[tuple[TimedMove, ClockGuard, Step | None]] = []
            for side in ("A", "B"):
                if silent is not None and side != silent:
                    continue
                local = s.local(side)
                inc_here = s.inc[0 if side == "A" else 1]
                # A new incarnation's application opens and stays open: the earliest moment
                # it can accept an old segment comes before any close of its own.
                app = (
                    config.app(side) if inc_here == 0 else replace(config.app(side), close="never")
                )
                for st in app_steps(spec, app, local):
                    candidates.append((_move(s, side, st, "user"), (), st))
                if reuse and _may_reopen(local, inc_here):
                    for st in app_steps(spec, app, initial_local(spec)):
                        mv = _move(s, side, st, "user", reopen=True)
                        candidates.append((mv, (), st))
                for k, st, d in running(local):
                    clock = index["timer", side, k]
                    fires: ClockGuard = ((clock, d, False, True),)
                    candidates.append((_move(s, side, st, "timeout"), fires, st))
                incoming = s.incoming(side)
                channel = "B->A" if side == "A" else "A->B"
                # Of identical copies only the oldest is offered: delivering it first loses
                # no behaviour -- whenever a younger copy could arrive, the older one could
                # too, and the younger one can arrive whenever the older one would have.
                for i in network.deliverable(incoming):
                    cp = incoming[i]
                    mine = s.inc[0 if side == "A" else 1]
                    if cp.inc == mine:
                        placed = [receive(spec, local, cp.seg)]
                    else:
                        # Another incarnation's segment -- or one that met another
                        # incarnation's on the way (an answer to an old FIN): its numbers
                        # may fall anywhere against this connection's.
                        placed = receive_foreign(spec, local, cp.seg)
                    arrives: ClockGuard = ((bases[channel] + i, zero, True, True),)
                    for st2 in placed:
                        mv = _move(s, side, st2, "segment", copy=i)
                        if cp.inc < mine:
                            mv = TimedMove(mv.label, mv.before, mv.after, i, True)
                        candidates.append((mv, arrives, st2))
            if network.may_lose(s.lost):
                lost = s.lost + (1 if network.counts_losses else 0)
                for side, chan in (("A", s.ab), ("B", s.ba)):
                    # Every position: two identical copies have clocks of their own.
                    for i, cp, rest in network.losses(chan, distinct=False):
                        if not cp.lossy:
                            continue
                        label = net_label("loss", cp.seg, side)
                        after = (
                            TState(s.a, s.b, rest, s.ba, lost, s.inc, s.watching)
                            if side == "A"
                            else TState(s.a, s.b, s.ab, rest, lost, s.inc, s.watching)
                        )
                        candidates.append((TimedMove(label, s, after, i), (), None))

            for mv, guard, taken in candidates:
                z = zone
                for clock, value, strict, lower in guard:
                    if lower:
                        z = z.constrain(0, clock, domain.bound(-value, strict))
                    else:
                        z = z.constrain(clock, 0, domain.bound(value, strict))
                    if z.empty:
                        break
                if z.empty:
                    continue
                after = mv.after
                if taken is not None and mv.label.actor in ("A", "B"):
                    side = mv.label.actor
                    may_lose = lossy(side, taken) if lossy is not None else True
                    inc = after.inc[0 if side == "A" else 1]
                    # A RST answering a segment takes its numbers from it (reply_rst), so it
                    # belongs to the trigger's incarnation, not to the (absent) connection.
                    trigger = s.incoming(side)[mv.copy].inc if mv.copy is not None else inc
                    sent = tuple(
                        Copy(seg, may_lose, trigger if seg.flags & RST else inc)
                        for seg in taken.sent
                    )
                    if silent is not None:
                        sent = ()  # the peer is gone: nothing sent arrives anywhere
                    out = after.ab if side == "A" else after.ba
                    if not network.fits(out, sent):
                        overflow = overflow or s
                        continue
                    watched = watch is not None and watch.side == side
                    now_watching = watched and after.local(side).state == watch.state  # type: ignore[union-attr]
                    if side == "A":
                        after = TState(
                            after.a,
                            after.b,
                            out + sent,
                            after.ba,
                            after.lost,
                            after.inc,
                            now_watching if watched else after.watching,
                        )
                    else:
                        after = TState(
                            after.a,
                            after.b,
                            after.ab,
                            out + sent,
                            after.lost,
                            after.inc,
                            now_watching if watched else after.watching,
                        )
                    mv = TimedMove(mv.label, mv.before, after, mv.copy, mv.old)
                sources = _sources(spec, s, mv, layout(after), index)
                if flag is not None and flag(mv):
                    flagged.append((here, mv, guard, sources, z))
                    if first_flag:
                        limit = "the first violation"
                        queue.clear()
                        break
                z2 = settle(z.remap(sources), after)
                if z2.empty:
                    continue
                admit(after, z2, here, mv, guard, sources)
    except SolverLimit as exc:
        # A parameter constraint Z3 could not decide: the graph is incomplete, and the
        # analysis says unknown with the reason.
        limit = str(exc)

    return ZoneGraph(
        spec,
        config,
        tuple(free),
        delay,
        nodes,
        flagged,
        limit is None and overflow is None,
        limit,
        overflow,
        time.perf_counter() - started,
        domain.scale,
        layout,
        invariants,
        limits,
    )


def _duration(expr: Expr, env: dict[str, Linear], retries: int, symbolic: bool) -> Linear:
    missing = sorted(n for n in expr.names() if n != "retries" and n not in env)
    if missing:
        raise UsageError(f"timer duration {expr} uses {', '.join(missing)}, which is infinite")
    value = fold_duration(expr, env, retries)
    if not symbolic and not value.is_const:
        raise UsageError("the zone graph needs every parameter fixed")
    if value.is_const and value.const < 0:
        raise UsageError(f"a timer duration is negative ({value})")
    return value


def _may_reopen(local: Local, inc: int) -> bool:
    """An application whose connection ended in CLOSED may open a new incarnation."""
    return local.state == "CLOSED" and local.opened and inc == 0


def _move(
    s: TState, side: str, st: Step, kind: str, copy: int | None = None, reopen: bool = False
) -> TimedMove:
    """The move of ``side`` taking step ``st`` (the consumed copy removed; sends are added
    by the caller, which knows the channel capacity)."""
    label = step_label(side, st, kind)
    a, b = (st.target, s.b) if side == "A" else (s.a, st.target)
    ab, ba = s.ab, s.ba
    if copy is not None:
        if side == "A":
            ba = ba[:copy] + ba[copy + 1 :]
        else:
            ab = ab[:copy] + ab[copy + 1 :]
    inc = s.inc
    if reopen:
        inc = (inc[0] + 1, inc[1]) if side == "A" else (inc[0], inc[1] + 1)
    return TimedMove(label, s, TState(a, b, ab, ba, s.lost, inc, s.watching), copy)


def _sources(
    spec: Spec,
    s: TState,
    mv: TimedMove,
    new_clocks: list[Clock],
    index: dict[Clock, int],
) -> tuple[int, ...]:
    """For every clock after ``mv``, the clock before it that it continues (0: reset).

    A side's timers restart as :func:`~checker.product.semantics.restarts_timers` says,
    and when it opens a new incarnation."""
    label = mv.label
    restarted: set[str] = set()
    if label.actor in ("A", "B"):
        side = label.actor
        if restarts_timers(spec, label, mv.left(side)) or mv.before.inc != mv.after.inc:
            restarted.add(side)
    removed_ab = mv.copy if label.actor == "B" or _lost_on(mv, "A->B") else None
    removed_ba = mv.copy if label.actor == "A" or _lost_on(mv, "B->A") else None
    ab_kept = [i for i in range(len(s.ab)) if i != removed_ab]
    ba_kept = [i for i in range(len(s.ba)) if i != removed_ba]
    out: list[int] = []
    for kind, name, i in new_clocks:
        if kind == "timer":
            out.append(0 if name in restarted else index.get(("timer", name, i), 0))
        elif kind == "watch":
            out.append(index.get(("watch", "", 0), 0))
        else:
            channel = name
            kept = ab_kept if channel == "A->B" else ba_kept
            out.append(index["copy", channel, kept[i]] if i < len(kept) else 0)
    return tuple(out)


def _lost_on(mv: TimedMove, channel: str) -> bool:
    return mv.label.kind == "loss" and mv.label.channel == channel
