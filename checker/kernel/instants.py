"""The measured instants of a conforming run against the model's timing.

Once :func:`checker.kernel.conform.check_run` has found the path a kernel's run takes through
the model, every timer on that path can be held against the clock:

* a timer expiry that sends something (a retransmission) happened when the run shows
  it: its interval from the step that started the timer (entering the state, or the
  previous expiry) is compared with the timer's duration there (``RTO * 2^retries``...)
  for the retry count at the time;
* a stay that ends with a silent expiry (an orphan giving up, an orphaned FIN-WAIT-2
  timing out) is seen only through ``ss``: the endpoint was last sampled in the state
  at one instant and gone at the next sample.  The model's answer is :func:`duration
  <checker.timed.bound.duration_bound>` -- ``tcpcheck bound STATE`` with the peer gone, which
  for these deterministic timers is the exact stay -- counted from the instant the path
  entered the state;
* a timer ``ss`` shows running (``timer:(timewait,59sec,0)`` in TIME-WAIT, or in an
  orphaned FIN-WAIT-2): the time left in the first sample after the path entered the
  state, plus the time since then, is the timer's whole length -- TIME-WAIT's 60 s is
  checked this way without waiting it out.

The kernel's RTO is not a parameter one sets (it follows the measured round-trip time,
floored at ``tcp_rto_min_us``), so it is *fitted*: the first retransmission's interval
fixes RTO -- which must be at least ``tcp_rto_min_us``, Linux's floor -- and every
other instant must then agree.  ``tcp_fin_timeout`` sets
FIN_TIMEOUT; the retry bounds are the values the run implies.  Kernel timers run on
jiffies (4 ms at HZ = 250) and are allowed some slack: an instant agrees when it is
within :data:`TOLERANCE` of the model's.

Examples
--------
>>> within(0.118, 0.1148), within(0.060, 0.1148)
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.load import load_spec
from ..model.spec import Spec
from ..product.semantics import restarts_timers
from ..timed.bound import duration_bound
from ..timed.solver import DEFAULT_LIMITS, SolverLimits
from .conform import COUNT_LIMIT as LIMIT
from .conform import Conformance
from .recording import parse_timer
from .runs import Run

__all__ = ["TOLERANCE", "Timing", "TimingReport", "check_instants", "within"]

#: (relative, absolute seconds): how far a measured instant may lie from the model's.
TOLERANCE = (0.15, 0.012)
#: How late a side's ``ss`` may run after the last sampling round began.
SS_SLACK = 0.05
#: Linux's floor for the RTO when tcp_rto_min_us is not set (TCP_RTO_MIN, 200 ms).
RTO_MIN_US = 200_000
#: The parameters a run's retransmission intervals fit, first found first: the kernel
#: derives them from the measured round-trip time (a synchronized connection's RTO; the
#: initial RTO of a SYN or SYN+ACK, 1 s, and of every timer on base).
RATES = ("CONN_RTO", "RTO")
#: How long a blocked call may take to return once the kernel gives its connection up.
CALL_SLACK = 0.02


def within(measured: float, expected: float) -> bool:
    """Whether ``measured`` agrees with ``expected`` (see :data:`TOLERANCE`)."""
    rel, absolute = TOLERANCE
    return abs(measured - expected) <= rel * expected + absolute


@dataclass(frozen=True)
class Timing:
    """One instant of the run against the model: ``low``..``high`` is what was
    measured (equal when a segment shows it), ``expected`` the model's value."""

    side: str
    what: str
    model: str
    expected: float
    low: float
    high: float
    ok: bool
    fitted: bool = False
    #: A retry count (the run's against the model's), not an instant.
    count: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.side,
            "what": self.what,
            "model": self.model,
            "expected": round(self.expected, 6),
            "measured": [round(self.low, 6), round(self.high, 6)],
            "agrees": self.ok,
            "fitted": self.fitted,
            "kind": "count" if self.count else "instant",
        }

    def measured_text(self) -> str:
        if self.count:
            return f"{self.low:g} retransmissions"
        if self.high - self.low < 1e-9:
            return f"{self.low:.4f} s"
        return f"{self.low:.4f}..{self.high:.4f} s"


@dataclass(frozen=True)
class TimingReport:
    """Every timed instant of one conforming run, and the parameter values used."""

    params: dict[str, float]
    rows: tuple[Timing, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "agrees": self.ok,
            "parameters": {k: round(v, 6) for k, v in sorted(self.params.items())},
            "instants": [r.to_json() for r in self.rows],
        }


def check_instants(
    verdict: Conformance,
    run: Run,
    variant: str | None,
    spec_file: Path | None = None,
    limits: SolverLimits = DEFAULT_LIMITS,
) -> TimingReport:
    """The run's timers against the timed model of ``variant`` (see the module
    docstring); ``verdict`` must be a conforming one."""
    plain = load_spec(spec_file, variant)
    # The kernel's settings fix the parameters that name them (tcp_fin_timeout is
    # FIN_TIMEOUT...); a capture's host settings are unknown.
    settings = plain.from_sysctls(run.sysctls)
    params: dict[str, float] = {**settings, **dict(run.params)}
    implied = {k: float(v) for k, v in verdict.chosen.items()}
    steps = verdict.trace.steps
    times = verdict.times
    # Retransmissions: each interval from the send it repeats.
    resent = []
    for i, step in enumerate(steps):
        label = step.label
        timer = plain.timer_for_event(label.event) if label.kind == "timeout" else None
        if timer is None or not label.sent:
            continue
        j = _armed_at(plain, steps, i, label.actor)
        if j is not None:
            retries = steps[j].state.local(label.actor).retries
            state = steps[i - 1].state.local(label.actor).state if i else "CLOSED"
            resent.append((label, state, timer, retries, times[i + 1] - times[j + 1]))
    rows: list[Timing] = []
    fitted: dict[str, float] = {}
    for label, state, timer, retries, interval in resent:
        what = f"{label.event} in {state} after {retries} retransmission(s)"
        duration, text = timer.duration_in(state), timer.duration_text_in(state)
        rate = next((r for r in RATES if r in duration.names()), None)
        if rate is not None and rate not in params:
            # The kernel's RTO follows the round-trip time: this first interval fixes it,
            # and it can be no less than tcp_rto_min (Linux floors the RTO there).
            env = {**plain.values, **settings, rate: 1.0, "retries": retries}
            rto = interval / duration.evaluate(env)
            model = f"{text} with retries = {retries}: fixes {rate} = {rto:.4f} s"
            ok = True
            if rto <= 0:
                # A repeat sent no later than what it repeats (a capture's clock, or an
                # edited file): no timer fires at once, and the model keeps its RTO.
                model += ", but a retransmission timer never fires at once"
                ok = False
            else:
                params[rate] = fitted[rate] = rto
            if not run.free:  # a capture brought by a user: its host's floor is unknown
                floor = float(run.sysctls.get("net.ipv4.tcp_rto_min_us", RTO_MIN_US)) / 1e6
                model += f", at least tcp_rto_min = {floor:g} s"
                ok = ok and rto >= floor - TOLERANCE[1]
            rows.append(Timing(label.actor, what, model, rto, interval, interval, ok, True))
            continue
        expected = duration.evaluate({**plain.values, **params, **implied, "retries": retries})
        model = f"{text} with retries = {retries}: {expected:.4f} s"
        ok = within(interval, expected)
        rows.append(Timing(label.actor, what, model, expected, interval, interval, ok))
    if not run.free:  # a capture brought by a user: its host's settings are unknown
        # Only the counts the run constrains (a path that gave up, or retransmitted).
        used = {k: v for k, v in implied.items() if verdict.parameters.get(k) != [(0, LIMIT)]}
        rows.extend(_derived_counts(plain, spec_file, variant, params, fitted, used))
    params.update(implied)
    # Silent exits: the stay, against `tcpcheck bound STATE` with the peer gone.
    spec = load_spec(spec_file, variant, {k: v for k, v in params.items() if k in plain.values})
    # A side's ss ran some time after its round began, before the next round began.
    rounds = sorted({t for line in run.timeline.values() for t, _s in line})
    for i, step in enumerate(steps):
        label = step.label
        if label.kind != "timeout" or label.sent or label.actor == "net":
            continue
        side = label.actor
        before = steps[i - 1].state.local(side).state if i else "CLOSED"
        after = step.state.local(side).state
        if before == after:
            continue
        entered = _entered(steps, times, i, side, before)
        # A call the application was blocked in (connect() failing with ETIMEDOUT)
        # returns when the connection is given up; else two rounds of ss bracket it.
        timeline = run.timeline.get(side, [])
        seen = _returned(run, side, times[i]) or _bracket(timeline, before, rounds)
        if seen is None:
            continue
        bound = duration_bound(spec, side, before, free=(), limits=limits)
        if bound.value is None:
            continue
        expected = entered + float(bound.value)
        low, high = seen
        slack = _slack(float(bound.value))  # the bound's own error, not the entry's
        ok = low - slack <= expected <= high + slack
        rows.append(
            Timing(side, f"leaves {before} ({label.event}): entered at {entered:.4f} s",
                   f"entry + tcpcheck bound {before} = {entered:.4f} + {float(bound.value):.4f} s",
                   expected, low, high, ok)
        )  # fmt: skip
    # Timers ss shows running: the time left in the first sample after the path entered
    # the state, plus the time since the entry, is the timer's whole length.
    values = {**plain.values, **params}
    end = len(steps)
    for side in ("A", "B"):
        done: set[str] = set()
        for t, state, field_text in run.clocks.get(side, []):
            parsed = parse_timer(field_text)
            if state in done or parsed is None or parsed[0] != "timewait":
                continue
            timer = next((x for x in plain.timers if state in x.states), None)
            entered = _entered(steps, times, end, side, state)
            if timer is None or t < entered or not _visits(steps, side, state):
                continue
            done.add(state)
            duration = timer.duration_in(state)
            expected = duration.evaluate({**values, "retries": 0})
            # The timer ran from its last (re)start before the sample: a retransmitted
            # FIN re-arms TIME-WAIT (any ACK does, on linux).  The sample was taken
            # somewhere in its round, so the last restart is one of those up to the
            # round's end: the earliest bounds the length from above, the latest below.
            nxt = _next_round(rounds, t)
            armed_early = _restarted(plain, steps, times, side, state, t, entered)
            armed_late = _restarted(plain, steps, times, side, state, nxt, entered)
            low = t - armed_late + parsed[1]
            high = nxt - armed_early + parsed[2]
            ok = low - TOLERANCE[1] <= expected <= high + TOLERANCE[1]
            rows.append(
                Timing(side, f"{timer.event} in {state}: ss {field_text} at {t:.4f} s, "
                       f"entered at {entered:.4f} s",
                       f"{timer.duration_text_in(state)} = {expected:g} s", expected, low, high, ok)
            )  # fmt: skip
    return TimingReport(params, tuple(rows))


def _derived_counts(
    plain: Spec,
    spec_file: Path | None,
    variant: str | None,
    params: dict[str, float],
    fitted: dict[str, float],
    implied: dict[str, float],
) -> list[Timing]:
    """The retry counts the variant derives from time budgets (``ORPHAN_RETRIES`` from
    tcp_orphan_retries and the connection's RTO...) against the counts the run implies:
    the derivation runs with the kernel's settings and each fitted RTO, moved by the
    tolerance both ways, since a budget met within a jiffy may fall either side."""
    rows: list[Timing] = []
    derived = {p.name: p for p in plain.parameters if p.expr.names() and p.name in implied}
    if not derived:
        return rows
    rel = TOLERANCE[0]
    known = {k: v for k, v in params.items() if k in plain.values}
    counts: dict[str, set[float]] = {name: set() for name in derived}
    for factor in (1 - rel, 1.0, 1 + rel):
        moved = {**known, **{k: v * factor for k, v in fitted.items()}}
        values = load_spec(spec_file, variant, moved, check_behaviour=False).values
        for name in derived:
            counts[name].add(values[name])
    for name, p in derived.items():
        low, high = min(counts[name]), max(counts[name])
        got = implied[name]
        basis = ", ".join(f"{k} = {v:.4f} s" for k, v in sorted(fitted.items()))
        model = f"{name} = {p.text}" + (f" with {basis}" if basis else "")
        span = f"{low:g}" if low == high else f"{low:g}..{high:g}"
        rows.append(
            Timing("", f"{name}: the run made {got:g} ({span} by the budget)", model,
                   low, got, got, low <= got <= high, count=True)
        )  # fmt: skip
    return rows


def _returned(run: Run, side: str, after: float) -> tuple[float, float] | None:
    """When a call of ``side`` blocked across ``after`` (the path's last step before a
    silent expiry) learnt that its connection was gone -- its outcome, the side's next
    observation, needs CLOSED: just before it returned."""
    nxt = next((ob for ob in run.observed.get(side, []) if ob.t > after), None)
    if nxt is not None and nxt.kind == "expect" and nxt.expect == "closed":
        return nxt.t - CALL_SLACK, nxt.t
    return None


def _slack(expected: float) -> float:
    rel, absolute = TOLERANCE
    return rel * expected + absolute


def _armed_at(spec: Spec, steps: Sequence[Any], i: int, side: str) -> int | None:
    """The step that (re)started the timer expiring at step ``i``, as the timed model
    restarts it (:mod:`checker.timed.zonegraph`): the last earlier step of
    ``side`` that changed its state (unless the rule keeps the timer running), was a
    timer expiry, or a rule marked ``restart`` or ``retransmit``."""
    for j in range(i - 1, -1, -1):
        label = steps[j].label
        if label.actor != side:
            continue
        before = steps[j - 1].state.local(side).state if j else "CLOSED"
        if restarts_timers(spec, label, steps[j].state.local(side).state != before):
            return j
    return None


def _visits(steps: Sequence[Any], side: str, state: str) -> bool:
    """Whether the path takes ``side`` into ``state`` at all (a sample of another
    socket on the same ports, of a later connection, says nothing of this one)."""
    return any(st.state.local(side).state == state for st in steps)


def _entered(steps: Sequence[Any], times: Sequence[float], i: int, side: str, state: str) -> float:
    """When the path's ``side`` entered ``state`` (the last entry before step ``i``)."""
    for j in range(i - 1, -1, -1):
        prev = steps[j - 1].state.local(side).state if j else "CLOSED"
        if steps[j].state.local(side).state == state and prev != state:
            return times[j + 1]
    return times[0]


def _restarted(
    spec: Spec,
    steps: Sequence[Any],
    times: Sequence[float],
    side: str,
    state: str,
    t: float,
    entered: float,
) -> float:
    """When ``side``'s timers were last (re)started in ``state`` at or before ``t``
    (:func:`~checker.product.semantics.restarts_timers`; ``entered`` if not since the
    entry)."""
    last = entered
    for j, st in enumerate(steps):
        at = times[j + 1]
        if at > t:
            break
        label = st.label
        before = steps[j - 1].state.local(side).state if j else "CLOSED"
        after = st.state.local(side).state
        if (
            at >= entered
            and label.actor == side
            and after == state
            and restarts_timers(spec, label, after != before)
        ):
            last = at
    return last


def _bracket(
    timeline: Sequence[tuple[float, str]], state: str, rounds: Sequence[float]
) -> tuple[float, float] | None:
    """When ``state`` ended, from the samples: after the round that last saw it began,
    before the round after the one that first saw it gone; ``None`` if never left."""
    last = None
    for k, (_t, s) in enumerate(timeline):
        if s == state:
            last = k
    if last is None or last + 1 >= len(timeline):
        return None
    return timeline[last][0], _next_round(rounds, timeline[last + 1][0])


def _next_round(rounds: Sequence[float], t: float) -> float:
    """The start of the round after the one that began at ``t`` (``ss`` of that round
    had run by then)."""
    later = [r for r in rounds if r > t]
    return later[0] if later else t + SS_SLACK
