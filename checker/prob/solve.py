"""Minimum and maximum values of an MDP (:mod:`checker.prob.mdp`): exactly by backward
induction where it is acyclic, by interval iteration where it is not.

A :class:`Task` says what a run earns: each branch has a *gain* (added when it is taken)
and says whether the run goes on from its target; a state may be absorbing with a value.
Reachability of a goal move is a gain of 1 on the goal's branches, which end the run;
an expected total is a gain per branch (a retransmission, the segments sent) on branches
that go on.  The value of a state is then

    V(s) = value(s)                                         if s is absorbing
    V(s) = 0                                                if s has no action
    V(s) = opt over actions a of s:  sum over branches b of a of  P(b) (gain(b) + go(b) V(target b))

with ``opt`` the minimum, the maximum, or the mean (the randomized scheduler
``uniform``: every enabled action equally likely).

* **Exact** (:func:`solve_exact`): on an acyclic MDP, backward induction in
  :class:`fractions.Fraction` along a topological order.
* **Numeric** (:func:`solve_numeric`): value iteration from below (from 0) and, for
  reachability, from above (from 1) until the two meet within ``eps``; the answer is
  their midpoint ± half the gap, a sound bound.  End components are dealt with first,
  so that the iteration from above converges to the right value: for the minimum, a
  scheduler can stay in an end component forever, so its states are worth 0; for the
  maximum, the states of an end component are worth the best way out of it (the
  iteration from above is *deflated* to it after each step); for ``uniform``, the
  bottom strongly connected components are worth 0.  Expected totals on a cyclic MDP
  are iterated from below only: the answer is numeric, stopped when a step changes it
  by less than ``eps`` (a convergence test, not a bound), or unknown if it keeps
  growing (an end component that earns forever).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .mdp import MDP
from .rates import LossRates

__all__ = ["EPS", "OPTS", "Task", "Value", "solve", "solve_exact", "solve_numeric"]

#: A value as the two inductions compute it: exactly, or in floats.
N = TypeVar("N", Fraction, float)

#: Beyond this many reachable states an acyclic MDP is solved in floats, not fractions.
EXACT_STATES = 50_000
#: The default precision of numeric answers.
EPS = 1e-12
#: A bound on the steps of an iteration (with ``max_seconds``, what makes it unknown).
MAX_ITERATIONS = 1_000_000
#: What a scheduler does: the least, the most, or every action equally likely.
OPTS = ("min", "max", "uniform")


@dataclass(frozen=True)
class Task:
    """Gains and stops per branch, absorbing states with their values."""

    gain: Sequence[int]
    go_on: Sequence[bool]
    absorbing: dict[int, int]
    #: A reachability (values in [0, 1]: iterated from above too) or an expected total.
    bounded: bool = True


@dataclass(frozen=True)
class Value:
    """One optimum: ``low`` ≤ the value ≤ ``high``; ``method`` is ``exact`` (then
    ``low == high``, a fraction), ``numeric`` (within ``(high - low) / 2`` of the
    midpoint) or ``unknown`` (a limit stopped it; the bounds are what was known)."""

    low: Fraction | float
    high: Fraction | float
    method: str

    @property
    def value(self) -> Fraction | float:
        if self.method == "exact":
            return self.low
        return (float(self.low) + float(self.high)) / 2

    @property
    def error(self) -> float:
        return (float(self.high) - float(self.low)) / 2

    def text(self, digits: int = 6) -> str:
        """``0.000101`` (exact), ``0.000101 ± 1e-12`` (numeric), ``[0, 1] unknown``."""
        if self.method == "exact":
            return _sig(float(self.low), digits)
        if self.method == "numeric":
            return f"{_sig(float(self.value), digits)} ± {self.error:.0e}"
        return f"[{_sig(float(self.low), digits)}, {_sig(float(self.high), digits)}] unknown"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method}
        if self.method != "unknown":  # an unknown value has bounds, no estimate
            out["value"] = float(self.value)
        if self.method == "exact":
            assert isinstance(self.low, Fraction)
            out["fraction"] = f"{self.low.numerator}/{self.low.denominator}"
        else:
            out["low"], out["high"] = float(self.low), float(self.high)
        return out


def _sig(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits; near 1, as ``1 - d`` (``1`` only when it is).

    >>> _sig(0.000123456789, 3), _sig(1 - 1.5e-12, 6), _sig(1.0, 6)
    ('0.000123', '1 - 1.5e-12', '1')
    """
    if x == 0 or x == 1:
        return str(int(x))
    if 0 < 1 - x < 10.0**-digits:
        return f"1 - {1 - x:.{min(digits, 3)}g}"
    return f"{x:.{digits}g}"


def solve(
    mdp: MDP,
    task: Task,
    rates: LossRates,
    opt: str,
    *,
    eps: float = EPS,
    max_seconds: float | None = None,
) -> Value:
    """The value of node 0 under ``opt``: exact if the MDP is acyclic, else numeric."""
    if not mdp.complete:
        return Value(Fraction(0), Fraction(1) if task.bounded else float("inf"), "unknown")
    if mdp.acyclic:
        return solve_exact(mdp, task, rates, opt)
    return solve_numeric(mdp, task, rates, opt, eps=eps, max_seconds=max_seconds)


def solve_exact(mdp: MDP, task: Task, rates: LossRates, opt: str) -> Value:
    """Backward induction in fractions along a topological order (acyclic MDPs); in
    floats beyond :data:`EXACT_STATES` reachable states (fractions' denominators grow
    with the depth), the answer then numeric within the rounding bound
    ``depth · 4 · 2^-52`` (each step adds at most a few units of rounding to values in
    [0, 1]; relative to the value for expected totals)."""
    if not mdp.acyclic:
        raise ValueError("backward induction needs an acyclic MDP")
    if len(mdp.topological_order()) <= EXACT_STATES:
        exact, _depth = _induction(mdp, task, mdp.probabilities(rates), Fraction(0), opt)
        return Value(exact, exact, "exact")
    v0, depth = _induction(mdp, task, mdp.float_probabilities(rates), 0.0, opt)
    err = depth * 4 * 2.0**-52 * max(1.0, abs(v0))
    if not task.bounded:
        return Value(v0 - err, v0 + err, "numeric")
    return Value(max(v0 - err, 0.0), min(v0 + err, 1.0), "numeric")


def _induction(mdp: MDP, task: Task, prob: Sequence[N], zero: N, opt: str) -> tuple[N, int]:
    """The value of node 0 by backward induction with the branch probabilities
    ``prob`` (in the number type of ``zero``: Fraction or float), and the depth of the
    longest path it summed along (what a float's rounding error grows with)."""
    dst, edge = mdp.exploration.dst, mdp.branch_edge
    a_start, b_start = mdp.action_start, mdp.branch_start
    gain, go_on = task.gain, task.go_on
    value: dict[int, N] = {}
    depth: dict[int, int] = {}
    for s in reversed(mdp.topological_order()):
        if s in task.absorbing:
            value[s], depth[s] = zero + task.absorbing[s], 0
            continue
        qs: list[N] = []
        d = 0
        for a in range(a_start[s], a_start[s + 1]):
            q = zero
            for b in range(b_start[a], b_start[a + 1]):
                pb = prob[b]
                if not pb:
                    continue
                if go_on[b]:
                    t = dst[edge[b]]
                    q += pb * (gain[b] + value[t])
                    d = max(d, depth[t])
                elif gain[b]:
                    q += pb * gain[b]
            qs.append(q)
        value[s] = _opt(qs, opt) if qs else zero
        depth[s] = d + 1
    return value[0], depth[0]


def _opt(qs: list[N], opt: str) -> N:
    """The scheduler's pick among the actions' values: the least, the most, the mean."""
    if opt == "min":
        return min(qs)
    if opt == "max":
        return max(qs)
    return sum(qs[1:], qs[0]) / len(qs)


@dataclass
class _Arrays:
    """The reachable part of the MDP as numpy arrays, states renumbered densely."""

    n: int
    action_state: Any  # per action, its state
    first_action: Any  # per state with actions, its first action (actions are contiguous)
    has_actions: Any  # per state
    br_action: Any
    br_prob: Any
    br_gain: Any
    br_go: Any
    br_target: Any
    absorbing: Any  # per state: bool
    absorbed: Any  # per state: the absorbing value


def _arrays(mdp: MDP, task: Task, rates: LossRates) -> _Arrays:
    states = [s for s in range(mdp.states) if mdp.reachable[s]]
    index = {s: i for i, s in enumerate(states)}
    prob = mdp.float_probabilities(rates)
    targets = mdp.targets()
    action_state: list[int] = []
    first: list[int] = []
    has: list[bool] = []
    br_action: list[int] = []
    br_prob: list[float] = []
    br_gain: list[int] = []
    br_go: list[bool] = []
    br_target: list[int] = []
    for i, s in enumerate(states):
        lo, hi = mdp.action_start[s], mdp.action_start[s + 1]
        acts = [] if s in task.absorbing else range(lo, hi)
        first.append(len(action_state))
        has.append(bool(acts))
        for a in acts:
            k = len(action_state)
            action_state.append(i)
            for b in range(mdp.branch_start[a], mdp.branch_start[a + 1]):
                if prob[b] <= 0:
                    continue
                br_action.append(k)
                br_prob.append(prob[b])
                br_gain.append(task.gain[b])
                br_go.append(bool(task.go_on[b]))
                br_target.append(index[targets[b]])
    absorbing = np.zeros(len(states), dtype=bool)
    absorbed = np.zeros(len(states))
    for s, v in task.absorbing.items():
        if s in index:
            absorbing[index[s]] = True
            absorbed[index[s]] = v
    return _Arrays(
        n=len(states),
        action_state=np.array(action_state, dtype=np.int64),
        first_action=np.array(first, dtype=np.int64),
        has_actions=np.array(has, dtype=bool),
        br_action=np.array(br_action, dtype=np.int64),
        br_prob=np.array(br_prob),
        br_gain=np.array(br_gain, dtype=float),
        br_go=np.array(br_go, dtype=bool),
        br_target=np.array(br_target, dtype=np.int64),
        absorbing=absorbing,
        absorbed=absorbed,
    )


def _end_components(ar: _Arrays, uniform: bool) -> tuple[Any, Any]:
    """The maximal end components: per state its component (-1: none), and per action
    whether it stays inside its state's component.  For ``uniform`` (a Markov chain) a
    state with any action leaving its component is no part of one: what remains are the
    bottom strongly connected components."""
    n_actions = len(ar.action_state)
    alive_s = ar.has_actions & ~ar.absorbing
    alive_a = alive_s[ar.action_state].copy()
    # A branch that ends the run leaves every end component.
    leaves = ~ar.br_go
    while True:
        src = ar.action_state[ar.br_action]
        keep = alive_a[ar.br_action] & ar.br_go & alive_s[ar.br_target]
        graph = csr_matrix(
            (np.ones(int(keep.sum())), (src[keep], ar.br_target[keep])), shape=(ar.n, ar.n)
        )
        _, comp = connected_components(graph, directed=True, connection="strong")
        out = leaves | ~alive_s[ar.br_target] | (comp[ar.br_target] != comp[src])
        bad_a = np.zeros(n_actions, dtype=bool)
        np.logical_or.at(bad_a, ar.br_action, out)
        bad_a &= alive_a
        if uniform:
            bad_s = np.zeros(ar.n, dtype=bool)
            bad_s[ar.action_state[bad_a]] = True
            bad_s &= alive_s
        else:
            alive_a_next = alive_a & ~bad_a
            count = np.bincount(ar.action_state[alive_a_next], minlength=ar.n)
            bad_s = alive_s & (count == 0)
        if not bad_a.any() and not bad_s.any():
            break
        alive_a &= ~bad_a
        alive_s &= ~bad_s
        alive_a &= alive_s[ar.action_state]
    ec = np.where(alive_s, comp, -1)
    return ec, alive_a


def solve_numeric(
    mdp: MDP,
    task: Task,
    rates: LossRates,
    opt: str,
    *,
    eps: float = EPS,
    max_seconds: float | None = None,
) -> Value:
    """Interval iteration (see the module docstring)."""
    ar = _arrays(mdp, task, rates)
    ec, inside = _end_components(ar, uniform=opt == "uniform")
    in_ec = ec >= 0
    # Minimum and uniform: staying in an end component forever reaches nothing.
    fixed = ar.absorbing | ~ar.has_actions | (in_ec if task.bounded and opt != "max" else False)
    fixed_value = np.where(ar.absorbing, ar.absorbed, 0.0)
    # Deflation (maximum): the actions leaving each end component, by component.
    exits = np.flatnonzero(~inside & in_ec[ar.action_state]) if opt == "max" else None
    if not task.bounded and opt == "max" and _earns_forever(ar, inside):
        return Value(0.0, float("inf"), "unknown")
    counts = np.bincount(ar.action_state, minlength=ar.n)
    starts = ar.first_action
    with_acts = ~fixed & (counts > 0)

    def step(v: Any) -> tuple[Any, Any]:
        contrib = ar.br_prob * (ar.br_gain + np.where(ar.br_go, v[ar.br_target], 0.0))
        q = np.bincount(ar.br_action, weights=contrib, minlength=len(ar.action_state))
        new = fixed_value.copy()
        if len(q):
            if opt == "max":
                new[with_acts] = np.maximum.reduceat(q, starts[counts > 0])[_pos(counts, with_acts)]
            elif opt == "min":
                new[with_acts] = np.minimum.reduceat(q, starts[counts > 0])[_pos(counts, with_acts)]
            else:
                sums = np.add.reduceat(q, starts[counts > 0])[_pos(counts, with_acts)]
                new[with_acts] = sums / counts[with_acts]
        return new, q

    def deflate(v: Any, q: Any) -> Any:
        if exits is None or not in_ec.any():
            return v
        best = np.zeros(int(ec.max()) + 1)
        if len(exits):
            np.maximum.at(best, ec[ar.action_state[exits]], q[exits])
        v = v.copy()
        v[in_ec] = np.minimum(v[in_ec], best[ec[in_ec]])
        return v

    t0 = time.monotonic()
    low = fixed_value.copy()
    high = np.where(fixed, fixed_value, 1.0) if task.bounded else None
    for _ in range(MAX_ITERATIONS):
        new_low, _ = step(low)
        if high is not None:
            new_high, q = step(high)
            new_high = deflate(np.minimum(new_high, high), q)
            high = new_high
            low = np.maximum(new_low, low)
            if high[0] - low[0] <= 2 * eps:
                return Value(float(low[0]), float(max(high[0], low[0])), "numeric")
        else:
            change = float(np.max(np.abs(new_low - low))) if ar.n else 0.0
            low = new_low
            if change < eps:
                return Value(float(low[0]), float(low[0]) + change, "numeric")
            if not np.isfinite(low[0]) or low[0] > 1e15:
                return Value(float(low[0]), float("inf"), "unknown")
        if max_seconds is not None and time.monotonic() - t0 > max_seconds:
            break
    hi = float(high[0]) if high is not None else float("inf")
    return Value(float(low[0]), hi, "unknown")


def _earns_forever(ar: _Arrays, inside: Any) -> bool:
    """Does some end component have an action inside it that earns (a scheduler could
    collect it forever)?"""
    earning = np.zeros(len(ar.action_state), dtype=bool)
    np.logical_or.at(earning, ar.br_action, ar.br_gain > 0)
    return bool((earning & inside).any())


def _pos(counts: Any, with_acts: Any) -> Any:
    """Where each state of ``with_acts`` sits among the states that have actions."""
    has = counts > 0
    rank = np.cumsum(has) - 1
    return rank[with_acts]
