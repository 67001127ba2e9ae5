"""Digital clocks: the product in integer time, read as a Markov decision process.

The untimed reading (:mod:`checker.prob.mdp`) lets a scheduler decide which timer fires
first and how long an application waits; here time decides.  Every timer duration and
every delay in flight is a whole number of *ticks* (the greatest common divisor of the
durations at the spec's parameter values, of the delays and of the horizon), which is
exact for closed timing constraints: a state is

* both endpoints' local states, as in the product;
* each segment copy in flight, with the ticks until it arrives (drawn from the delay
  distribution :class:`Delays` when it is sent: one branch per value, with its
  probability), and the incarnation of the connection that sent it;
* for each running timer of each endpoint, the ticks until it fires;
* with a horizon ``T``, the ticks elapsed since the start, up to ``T`` and then *past*.

In each state, in this order of priority (what is urgent happens before time passes):

1. **applications act at once**: an application call its mode allows is made the moment
   it is allowed (the lab's programs: connect, close on ESTABLISHED, read to EOF and
   close) -- one action per call;
2. **what is due happens now**: a copy whose delay has run out is delivered (probability
   ``1 - p``) or lost (``p``), in the order the channel allows (a FIFO channel's head
   first); a timer whose countdown is 0 fires -- one action each, the order of
   simultaneous ones left to the scheduler (the min and max still range over it);
3. **time passes** to the next instant something is due: the least countdown (and the
   horizon); with nothing running, the run ends.

Timers restart as the product's rule says
(:func:`~checker.product.semantics.restarts_timers`): on a change of state, on each
expiry, on a rule marked ``restart`` or ``retransmit``; a timer that keeps running keeps
its countdown.  A segment of another incarnation (``reuse``: an endpoint whose connection
ended in CLOSED opens again on the same ports) may fall anywhere against the new
connection's numbers: every placement is a scheduler's choice
(:func:`~checker.model.endpoint.receive_foreign`), the worst case of ISS selection.

Examples
--------
>>> from checker import load_spec
>>> from checker.product.config import ProductConfig
>>> from checker.prob.rates import LossRates
>>> spec = load_spec(params={"FIN_RETRIES": 1, "SYN_RETRIES": 1, "SYNACK_RETRIES": 1})
>>> timing = Timing(Delays.parse("0.1", spec))
>>> mdp = build_clocked(spec, ProductConfig(ordering="fifo"), timing)
>>> mdp.summary()["acyclic"], mdp.exploration.tick
(True, Fraction(1, 10))
"""

from __future__ import annotations

import itertools
import math
import re
import time
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import NamedTuple

from ..errors import UsageError
from ..model.endpoint import Local, Step, initial_local, receive, receive_foreign, timer_steps
from ..model.segments import RST, Segment
from ..model.spec import Spec
from ..product.config import ProductConfig
from ..product.network import Network
from ..product.semantics import Label, PState, app_steps, net_label, restarts_timers, step_label
from ..timed.linear import exact, fold_duration, parameter_env
from .mdp import MDP, build_mdp, prob_config, reach_and_order
from .rates import LossClass

__all__ = [
    "CState",
    "ClockedGraph",
    "Delays",
    "Flight",
    "Timing",
    "build_clocked",
    "build_reading",
]

#: A branch as built: target, label, loss class (-1: none), lost, weight, old receipt.
Branch = tuple[int, int, int, int, Fraction, bool]

#: The most distinct delay values a distribution may have.
MAX_DELAY_VALUES = 64
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")


@dataclass(frozen=True)
class Delays:
    """How long a segment spends in flight: ``(seconds, probability)`` pairs whose
    probabilities sum to 1, every delay in (0, MSL].

    Examples
    --------
    >>> from checker import load_spec
    >>> delays = Delays.parse("uniform:4", load_spec(params={"MSL": 2}))
    >>> [(float(d), str(p)) for d, p in delays.choices]
    [(0.5, '1/4'), (1.0, '1/4'), (1.5, '1/4'), (2.0, '1/4')]
    >>> Delays.parse("0.001=0.9,MSL=0.1", load_spec(params={"MSL": 30})).text
    '0.001=0.9,MSL=0.1'
    """

    choices: tuple[tuple[Fraction, Fraction], ...]
    text: str

    @staticmethod
    def parse(text: str, spec: Spec, *, option: str = "--delay") -> Delays:
        """Read ``D`` (every segment takes D seconds), ``uniform:N`` (MSL·i/N for
        i = 1..N, equally likely: the uniform distribution on (0, MSL] on a grid of N
        points) or ``D=P,D=P,...``; a D is a number of seconds or a parameter's name.
        ``option``: how the input names the value, for the messages (``--delay`` on
        the command line, ``delay =`` in a suite)."""
        where = f"{option} {text}"
        msl = _value(spec, "MSL", where)
        body = text.strip()
        if body.startswith("uniform:"):
            n_text = body.split(":", 1)[1].strip()
            if not n_text.isdigit() or not 1 <= int(n_text) <= MAX_DELAY_VALUES:
                raise UsageError(
                    f"{where}: uniform:N needs N between 1 and {MAX_DELAY_VALUES} "
                    "(the grid points MSL*i/N)"
                )
            n = int(n_text)
            choices = [(msl * i / n, Fraction(1, n)) for i in range(1, n + 1)]
        elif "=" in body:
            choices = []
            for item in body.split(","):
                d_text, _, p_text = item.partition("=")
                p = _fraction(p_text, f"{where}: probability {p_text.strip()!r}")
                choices.append((_delay(spec, d_text, where), p))
            if sum(p for _, p in choices) != 1:
                raise UsageError(f"{where}: the probabilities must sum to 1")
        else:
            choices = [(_delay(spec, body, where), Fraction(1))]
        merged: dict[Fraction, Fraction] = {}
        for d, p in choices:
            if not 0 < d <= msl:
                raise UsageError(
                    f"{where}: a delay is in (0, MSL] = (0, {float(msl):g}] s, not {float(d):g}"
                )
            if not 0 <= p <= 1:
                raise UsageError(f"{where}: a probability is in [0, 1], not {p}")
            merged[d] = merged.get(d, Fraction(0)) + p
        if len(merged) > MAX_DELAY_VALUES:
            raise UsageError(f"{where}: at most {MAX_DELAY_VALUES} distinct delays")
        return Delays(tuple(sorted((d, p) for d, p in merged.items() if p)), body)

    def describe(self) -> str:
        if len(self.choices) == 1:
            return f"every segment is {_seconds(self.choices[0][0])} in flight"
        shown = ", ".join(f"{_seconds(d)} ({p})" for d, p in self.choices)
        return f"each segment's delay drawn from {shown}"


@dataclass(frozen=True)
class Timing:
    """What the clocked reading needs beyond the product: the delays in flight, a
    horizon (seconds: count what happens by then apart), whether endpoints reopen.

    Examples
    --------
    >>> from checker import load_spec
    >>> timing = Timing(Delays.parse("uniform:2", load_spec()), reuse=True)
    >>> print(timing.delays.describe())
    each segment's delay drawn from 60 s (1/2), 120 s (1/2)
    """

    delays: Delays
    horizon: Fraction | None = None
    reuse: bool = False


class Flight(NamedTuple):
    """A segment copy in flight: ticks until it arrives, the segment, its incarnation."""

    left: int
    seg: Segment
    inc: int = 0


@dataclass(frozen=True, order=True)
class CState:
    """A state of the clocked product (see the module docstring)."""

    a: Local
    b: Local
    ab: tuple[Flight, ...] = ()
    ba: tuple[Flight, ...] = ()
    #: Per side, the ticks until each running timer fires (timer index, ticks).
    ta: tuple[tuple[int, int], ...] = ()
    tb: tuple[tuple[int, int], ...] = ()
    inc: tuple[int, int] = (0, 0)
    elapsed: int = 0

    def local(self, side: str) -> Local:
        return self.a if side == "A" else self.b

    def incoming(self, side: str) -> tuple[Flight, ...]:
        return self.ba if side == "A" else self.ab

    def timers(self, side: str) -> tuple[tuple[int, int], ...]:
        return self.ta if side == "A" else self.tb

    def untimed(self) -> PState:
        """The product state without its clocks."""
        return PState(self.a, self.b, tuple(f.seg for f in self.ab), tuple(f.seg for f in self.ba))


@dataclass
class ClockedGraph:
    """The explored clocked product: states, and edges (one per MDP branch) labelled as
    the product labels them, plus ``time`` edges; read like an exploration by the MDP's
    solver and questions."""

    spec: Spec
    config: ProductConfig
    timing: Timing
    tick: Fraction
    cstates: list[CState]
    dst: array[int]
    lbl: array[int]
    labels: list[Label]
    #: Per edge: is it the receipt of another incarnation's segment?
    old: bytearray
    complete: bool
    limit: str | None
    seconds: float

    @property
    def states(self) -> int:
        return len(self.cstates)

    def stopped(self) -> str:
        return f"{self.limit}, after {self.states:,} states"

    def state(self, i: int) -> PState:
        return self.cstates[i].untimed()

    def late(self, i: int) -> bool:
        """Is state ``i`` past the horizon?"""
        h = self.horizon_ticks
        return h is not None and self.cstates[i].elapsed > h

    @property
    def horizon_ticks(self) -> int | None:
        h = self.timing.horizon
        return None if h is None else int(h / self.tick)

    def describe(self) -> list[str]:
        out = [
            f"digital clocks: time in ticks of {_seconds(self.tick)}; applications act at "
            "once; a timer fires when its duration has passed, a segment arrives when its "
            "delay has",
            self.timing.delays.describe(),
        ]
        if self.timing.horizon is not None:
            out.append(f"horizon: what happens within {_seconds(self.timing.horizon)} of the start")
        if self.timing.reuse:
            out.append("an endpoint whose connection ended in CLOSED opens again on the same ports")
        return out


# ----------------------------------------------------------------- building ---
def build_clocked(
    spec: Spec,
    config: ProductConfig | None,
    timing: Timing,
    *,
    max_states: int | None = None,
    max_seconds: float | None = None,
) -> MDP:
    """The clocked product of ``spec`` under ``config`` as an MDP (module docstring).

    Examples
    --------
    >>> from checker import load_spec
    >>> from checker.product.config import ProductConfig
    >>> spec = load_spec(params={"FIN_RETRIES": 1, "RTO": 1})
    >>> mdp = build_clocked(spec, ProductConfig(ordering="fifo", capacity=4),
    ...                     Timing(Delays.parse("0.1", spec), horizon=Fraction(3, 2)))
    >>> mdp.exploration.tick, mdp.summary()["states"] > 100
    (Fraction(1, 10), True)
    """
    config = prob_config(config)
    network = Network.of(config)
    env = parameter_env(spec)
    durations: dict[tuple[int, str, int], Fraction] = {}
    for k, timer in enumerate(spec.timers):
        for state in timer.states:
            expr = timer.duration_in(state)
            missing = sorted(n for n in expr.names() if n != "retries" and n not in env)
            if missing:
                raise UsageError(
                    f"digital clocks need every timer duration finite: timer {timer.name} "
                    f"in {state} uses {', '.join(missing)} (give it with --param)"
                )
            for r in range(spec.retry_cap + 1):
                value = fold_duration(expr, env, r)
                if value.const < 0:
                    raise UsageError(f"timer {timer.name} in {state}: negative duration {value}")
                durations[k, state, r] = value.const
    grid = [d for d in durations.values() if d] + [d for d, _ in timing.delays.choices]
    if timing.horizon is not None:
        if timing.horizon <= 0:
            raise UsageError("the horizon (--within) must be positive")
        grid.append(timing.horizon)
    tick = _gcd(grid)
    delay_ticks = [(int(d / tick), p) for d, p in timing.delays.choices]
    horizon = None if timing.horizon is None else int(timing.horizon / tick)

    running_memo: dict[Local, tuple[tuple[int, Step, int], ...]] = {}

    def running(local: Local) -> tuple[tuple[int, Step, int], ...]:
        """(timer index, step when it fires, duration in ticks) of the running timers."""
        got = running_memo.get(local)
        if got is None:
            steps = {st.rule.event: st for st in timer_steps(spec, local)}
            got = running_memo[local] = tuple(
                (
                    k,
                    steps[t.event],
                    int(durations[k, local.state, min(local.retries, spec.retry_cap)] / tick),
                )
                for k, t in enumerate(spec.timers)
                if t.event in steps
            )
        return got

    draw_memo: dict[int, list[tuple[tuple[int, ...], Fraction]]] = {}

    def draws(n: int) -> list[tuple[tuple[int, ...], Fraction]]:
        """Every draw of the delays of ``n`` segments sent together, with its probability."""
        got = draw_memo.get(n)
        if got is None:
            got = draw_memo[n] = [
                (tuple(t for t, _ in draw), math.prod((p for _, p in draw), start=Fraction(1)))
                for draw in itertools.product(delay_ticks, repeat=n)
            ]
        return got

    call_memo: dict[tuple[str, Local, bool], list[Step]] = {}

    def calls(side: str, local: Local, reopened: bool) -> list[Step]:
        """The calls ``side``'s application makes in ``local``.  A new incarnation's
        application opens and stays open (as in the zone graph): the moment it can take
        an old segment comes before any close of its own."""
        key = (side, local, reopened)
        got = call_memo.get(key)
        if got is None:
            app = config.app(side)
            got = call_memo[key] = app_steps(
                spec, replace(app, close="never") if reopened else app, local
            )
        return got

    index: dict[CState, int] = {}
    cstates: list[CState] = []
    labels: list[Label] = []
    label_ids: dict[Label, int] = {}
    # Per state, its actions; per action, its branches (target, label, class, lost, weight,
    # old: the receipt of another incarnation's segment).
    actions: list[list[list[Branch]]] = []
    classes: dict[LossClass, int] = {}
    limit: str | None = None
    overflow = False
    started = time.perf_counter()

    def add(s: CState) -> int:
        got = index.get(s)
        if got is None:
            got = index[s] = len(cstates)
            cstates.append(s)
            queue.append(got)
        return got

    def label_id(label: Label) -> int:
        got = label_ids.get(label)
        if got is None:
            got = label_ids[label] = len(labels)
            labels.append(label)
        return got

    def timers_after(
        s: CState, side: str, label: Label, before: Local, after: Local, reopen: bool
    ) -> tuple[tuple[int, int], ...]:
        fresh = reopen or restarts_timers(spec, label, before.state != after.state)
        old = dict(s.timers(side))
        return tuple(
            (k, ticks if fresh or k not in old else old[k]) for k, _st, ticks in running(after)
        )

    def endpoint_move(
        s: CState, side: str, st: Step, kind: str, copy: int | None = None, reopen: bool = False
    ) -> list[tuple[CState, Label, Fraction]]:
        """The states after ``side`` takes ``st`` (one per draw of its sends' delays)."""
        nonlocal overflow
        label = step_label(side, st, kind)
        before = s.local(side)
        inc = s.inc
        if reopen:
            inc = (inc[0] + 1, inc[1]) if side == "A" else (inc[0], inc[1] + 1)
        mine = inc[0 if side == "A" else 1]
        incoming = list(s.incoming(side))
        trigger = mine
        if copy is not None:
            trigger = incoming.pop(copy).inc
        out_chan = s.ab if side == "A" else s.ba
        timers = timers_after(s, side, label, before, st.target, reopen)
        results: list[tuple[CState, Label, Fraction]] = []
        for ticks_drawn, weight in draws(len(st.sent)):
            burst = tuple(
                Flight(ticks, seg, trigger if seg.flags & RST else mine)
                for ticks, seg in zip(ticks_drawn, st.sent, strict=True)
            )
            pushed = network.push(out_chan, burst)
            if pushed is None:
                overflow = True
                continue
            chan, dropped = pushed
            here = label.with_dropped(tuple(f.seg for f in dropped))
            if side == "A":
                after = CState(st.target, s.b, chan, tuple(incoming), timers, s.tb, inc, s.elapsed)
            else:
                after = CState(s.a, st.target, tuple(incoming), chan, s.ta, timers, inc, s.elapsed)
            results.append((after, here, weight))
        return results

    queue: deque[int] = deque()
    start = initial_local(spec)
    add(CState(start, start))
    try:
        while queue and not overflow:
            if max_states is not None and len(cstates) > max_states:
                limit = f"{max_states:,} states"
                break
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                limit = f"{max_seconds:g} s"
                break
            i = queue.popleft()
            s = cstates[i]
            acts: list[list[Branch]] = []

            def certain(
                moves: list[tuple[CState, Label, Fraction]], acts: list[list[Branch]] = acts
            ) -> None:
                if moves:
                    acts.append([(add(t), label_id(lab), -1, 0, w, False) for t, lab, w in moves])

            # 1. Applications act at once.
            for side in ("A", "B"):
                local = s.local(side)
                inc_here = s.inc[0 if side == "A" else 1]
                for st in calls(side, local, inc_here > 0):
                    certain(endpoint_move(s, side, st, "user"))
                if timing.reuse and local.state == "CLOSED" and local.opened and inc_here == 0:
                    for st in calls(side, initial_local(spec), False):
                        certain(endpoint_move(s, side, st, "user", reopen=True))
            if not acts:
                # 2. What is due: deliveries and expiries.
                for side in ("A", "B"):
                    incoming = s.incoming(side)
                    channel = "B->A" if side == "A" else "A->B"
                    mine = s.inc[0 if side == "A" else 1]
                    local = s.local(side)
                    for pos in network.deliverable(incoming):
                        fl = incoming[pos]
                        if fl.left:
                            continue
                        cls = LossClass.of(channel, fl.seg)
                        k = classes.setdefault(cls, len(classes))
                        rest = incoming[:pos] + incoming[pos + 1 :]
                        if side == "A":
                            lost_state = CState(s.a, s.b, s.ab, rest, s.ta, s.tb, s.inc, s.elapsed)
                        else:
                            lost_state = CState(s.a, s.b, rest, s.ba, s.ta, s.tb, s.inc, s.elapsed)
                        loss: Branch = (
                            add(lost_state),
                            label_id(net_label("loss", fl.seg, "B" if side == "A" else "A")),
                            k,
                            1,
                            Fraction(1),
                            False,
                        )
                        placed = (
                            [receive(spec, local, fl.seg)]
                            if fl.inc == mine
                            else receive_foreign(spec, local, fl.seg)
                        )
                        for st in placed:
                            got = endpoint_move(s, side, st, "segment", copy=pos)
                            if not got:
                                continue  # a full reverse channel: not received now
                            old = fl.inc != mine
                            acts.append(
                                [
                                    *((add(t), label_id(lab), k, 0, w, old) for t, lab, w in got),
                                    loss,
                                ]
                            )
                    for k_timer, ticks in s.timers(side):
                        if ticks:
                            continue
                        st = next(st for kk, st, _d in running(local) if kk == k_timer)
                        certain(endpoint_move(s, side, st, "timeout"))
            if not acts:
                # 3. Time passes to the next instant something is due.
                lefts = [f.left for f in (*s.ab, *s.ba) if f.left]
                lefts += [t for _k, t in (*s.ta, *s.tb) if t]
                if horizon is not None and s.elapsed <= horizon and lefts:
                    lefts.append(horizon + 1 - s.elapsed)
                if lefts:
                    d = min(lefts)
                    after = CState(
                        s.a,
                        s.b,
                        tuple(f._replace(left=max(f.left - d, 0)) for f in s.ab),
                        tuple(f._replace(left=max(f.left - d, 0)) for f in s.ba),
                        tuple((k, t - d) for k, t in s.ta),
                        tuple((k, t - d) for k, t in s.tb),
                        s.inc,
                        s.elapsed if horizon is None else min(s.elapsed + d, horizon + 1),
                    )
                    text = f"{_seconds(d * tick)} pass"
                    acts.append(
                        [
                            (
                                add(after),
                                label_id(Label("clock", "time", text)),
                                -1,
                                0,
                                Fraction(1),
                                False,
                            )
                        ]
                    )
            actions.append(acts)
    except MemoryError:
        # Running out of memory is a bound like the others: what was built is dropped
        # (every answer is then unknown) and the reason given.
        del cstates[1:], labels[:]
        actions.clear()
        index.clear()
        queue.clear()
        classes.clear()
        limit = "memory"
    if overflow and limit is None:
        # A blocked sender would stop time for that endpoint: the answers would be those
        # of another network, so the search stops there (unknown).
        limit = "a send found its channel full (raise --capacity, or --overflow drop)"
    # Unexpanded states (a limit stopped the search) have no actions.
    actions += [[] for _ in range(len(cstates) - len(actions))]
    order = sorted(classes, key=lambda c: (c.channel, c.kind))
    renumber = {classes[c]: n for n, c in enumerate(order)}
    action_start, branch_start = array("q", [0]), array("q", [0])
    dst, lbl = array("q"), array("q")
    branch_class, branch_lost = array("b"), array("b")
    weights: list[Fraction] = []
    old_receipts = bytearray()
    for acts in actions:
        for branches in acts:
            for target, lab, k, lost, w, old in branches:
                old_receipts.append(old)
                dst.append(target)
                lbl.append(lab)
                branch_class.append(renumber[k] if k >= 0 else -1)
                branch_lost.append(lost)
                weights.append(w)
            branch_start.append(len(dst))
        action_start.append(len(branch_start) - 1)
    graph = ClockedGraph(
        spec, config, timing, tick, cstates, dst, lbl, labels, old_receipts,
        limit is None, limit, time.perf_counter() - started,
    )  # fmt: skip
    mdp = MDP(
        exploration=graph,
        timers="clocks",
        action_start=action_start,
        branch_start=branch_start,
        branch_edge=array("q", range(len(dst))),
        branch_class=branch_class,
        branch_lost=branch_lost,
        classes=order,
        reachable=bytearray(len(cstates)),
        acyclic=True,
        branch_weight=weights if any(w != 1 for w in weights) else None,
    )
    reach_and_order(mdp)
    return mdp


def build_reading(
    spec: Spec,
    config: ProductConfig | None,
    *,
    timers: str = "wait",
    delay: str | None = None,
    within: float | None = None,
    reuse: bool = False,
    max_states: int | None = None,
    max_seconds: float | None = None,
    delay_option: str = "--delay",
) -> MDP:
    """The MDP of one reading of the product: untimed (:func:`~checker.prob.mdp.build_mdp`
    with ``timers``), or in integer time when ``delay`` is given (:func:`build_clocked`,
    horizon ``within`` seconds, ``reuse``) -- what ``tcpcheck prob`` and a suite's
    ``probability`` properties decide on.  ``delay_option`` names the delay in the
    messages as the input does (``--delay``, or a suite's ``delay =``).

    Examples
    --------
    >>> from checker import load_spec
    >>> spec = load_spec(params={"FIN_RETRIES": 1})
    >>> build_reading(spec, None).timers, build_reading(spec, None, delay="0.5").timers
    ('wait', 'clocks')
    """
    if delay is None:
        return build_mdp(
            spec, config, timers=timers, max_states=max_states, max_seconds=max_seconds
        )
    horizon = None if within is None else exact(within)
    timing = Timing(Delays.parse(delay, spec, option=delay_option), horizon, reuse)
    return build_clocked(spec, config, timing, max_states=max_states, max_seconds=max_seconds)


# ------------------------------------------------------------------ helpers ---
def _gcd(values: Sequence[Fraction]) -> Fraction:
    """The greatest common divisor of positive fractions (1 if there are none)."""
    if not values:
        return Fraction(1)
    den = math.lcm(*(v.denominator for v in values))
    return Fraction(math.gcd(*(int(v * den) for v in values)), den)


def _seconds(value: Fraction) -> str:
    return f"{float(value):g} s"


def _fraction(text: str, what: str) -> Fraction:
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"{what} is not a number (write e.g. 0.25 or 1/4)") from None
    return value


def _value(spec: Spec, name: str, where: str) -> Fraction:
    env = parameter_env(spec)
    if name not in env or not env[name].is_const:
        # On the command line a parameter is given with --param, in a suite in params.
        hint = "--param" if where.startswith("--") else "params"
        raise UsageError(f"{where}: the parameter {name} must be finite (give it in {hint})")
    return env[name].const


def _delay(spec: Spec, text: str, where: str) -> Fraction:
    text = text.strip()
    if _NUMBER.match(text):
        return exact(float(text))
    names = [p.name for p in spec.parameters]
    if text in names:
        return _value(spec, text, where)
    raise UsageError(
        f"{where}: {text!r} is neither a number of seconds nor a parameter (e.g. 0.001, MSL)"
    )
