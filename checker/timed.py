"""The timed layer, first part: is a path of the untimed graph possible in real time?

The explored graph is untimed: a timer is an event that may fire.  This module turns one
path of it into linear real arithmetic and asks Z3 whether real time admits it.

Timing model (closed bounds; times in the parameters' unit, seconds):

* every step ``i`` happens at an instant ``t_i``; ``0 = t_0 <= t_1 <= ... <= t_n``;
* a delivered segment spends ``(0, MSL]`` in flight: ``0 < t_recv - t_sent <= MSL``; a
  lost segment never arrives (its loss has no timing constraint); which in-flight copy a
  delivery or a loss consumes, among identical ones, is left to the solver;
* a timer fires exactly when its duration has elapsed since it was (re)started, unless
  the state it guards was left first: if the endpoint enters a state with a running timer
  at ``t_s`` (or restarts it there), the timer's expiry is ``t_s + D`` with ``D`` its
  duration expression -- for the retransmission timer ``RTO * 2^retries`` (RFC 6298
  backoff), for TIME-WAIT ``TIME_WAIT`` -- and then the firing step happens exactly at
  ``t_s + D`` and every other step of the path before it happens at or before ``t_s + D``;
* application calls happen at any instant.

Parameters are concrete (the spec's values, or overrides) or symbolic (Z3 reals); with
symbolic parameters, :func:`path_condition` eliminates the instants and returns the
condition on the parameters under which the path is possible.  Paths to check must come
from a graph explored with every timer allowed to fire at any moment
(:func:`eager_timers`): the untimed ``quiescent`` reading of TIME-WAIT would hide exactly
the runs a too-short TIME-WAIT allows.

Examples
--------
>>> from checker.spec import load_spec
>>> spec = eager_timers(load_spec())
>>> [t.untimed for t in spec.timers]
['any', 'any']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from .errors import UsageError
from .explore import Exploration
from .expr import Expr
from .spec import Spec

__all__ = ["PathCheck", "TimedPath", "check_path", "eager_timers", "encode_path", "path_condition"]


def eager_timers(spec: Spec) -> Spec:
    """``spec`` with every timer allowed to fire at any moment in the untimed graph."""
    timers = tuple(dataclasses.replace(t, untimed="any") for t in spec.timers)
    return dataclasses.replace(spec, timers=timers, cache={})


def _term(expr: Expr, env: Mapping[str, Any]) -> Any:
    """A Z3 term for ``expr`` (``^`` only with a natural exponent, e.g. ``2^retries``)."""
    try:
        return expr.fold(env, z3.RealVal)
    except ValueError as exc:
        raise UsageError(f"duration {exc} in the timed layer") from None


@dataclass(frozen=True)
class TimedPath:
    """A path's timing constraints, its instant variables and the parameter terms."""

    constraints: tuple[Any, ...]
    instants: tuple[Any, ...]
    choices: tuple[Any, ...]
    params: Mapping[str, Any]


def encode_path(
    exploration: Exploration,
    edges: Sequence[int],
    params: Mapping[str, Any] | None = None,
) -> TimedPath:
    """Constraints under which the path ``edges`` (edge indices from the initial state)
    can happen in real time.  ``params`` maps parameter names to numbers or Z3 terms;
    names not given take the spec's values."""
    spec = exploration.spec
    env: dict[str, Any] = {
        p.name: z3.RealVal(p.value) for p in spec.parameters if p.value != float("inf")
    }
    for name, value in (params or {}).items():
        env[name] = value if z3.is_expr(value) else z3.RealVal(value)
    if "MSL" not in env:
        raise UsageError("the timed layer needs an MSL parameter")
    msl = env["MSL"]
    n = len(edges)
    t = [z3.Real(f"t@{i}") for i in range(n + 1)]
    cons: list[Any] = [t[0] == 0]
    cons += [t[i] <= t[i + 1] for i in range(n)]
    if exploration.config.dup_budget:
        raise UsageError("the timed layer does not handle duplicated segments yet")

    # Every segment copy sent: (channel, code, step sent).  Which copy a delivery or a
    # loss consumes is a solver choice; each copy is consumed at most once.
    copies: list[tuple[str, int, int]] = []
    consumers: dict[int, list[tuple[Any, int, str]]] = {}  # copy -> [(bool, step, kind)]
    choices: list[Any] = []
    # Per side: (timer event, start step, duration term) of the running timer, if any.
    running: dict[str, list[tuple[str, int, Any]]] = {"A": [], "B": []}

    def start_timers(side: str, step: int) -> None:
        state = (
            exploration.state(exploration.dst[edges[step - 1]]) if step else exploration.state(0)
        )
        local = state.local(side)
        running[side] = []
        for timer in spec.timers:
            if local.state in timer.states:
                duration = _term(timer.duration, {**env, "retries": local.retries})
                running[side].append((timer.event, step, duration))

    start_timers("A", 0)
    start_timers("B", 0)
    before = exploration.state(0)
    for i, e in enumerate(edges, start=1):
        label = exploration.labels[exploration.lbl[e]]
        after = exploration.state(exploration.dst[e])
        # Every running timer not fired by this step must not have expired before it.
        for side in ("A", "B"):
            for event, start, duration in running[side]:
                fired = label.actor == side and label.kind == "timeout" and label.event == event
                if fired:
                    cons.append(t[i] == t[start] + duration)
                else:
                    cons.append(t[i] <= t[start] + duration)
        consumed = None
        channel_in = None
        if label.kind == "segment" and label.received is not None:
            consumed = label.received.code
            channel_in = "B->A" if label.actor == "A" else "A->B"
            kind = "deliver"
        elif label.kind == "loss" and label.segment is not None:
            consumed = label.segment.code
            channel_in = label.channel
            kind = "lose"
        if consumed is not None and channel_in is not None:
            candidates = [
                k
                for k, (ch, code, _s) in enumerate(copies)
                if ch == channel_in and code == consumed
            ]
            if not candidates:
                raise UsageError(f"step {i} consumes a segment that is not in flight")
            picks = []
            for k in candidates:
                sent = copies[k][2]
                if kind == "deliver":
                    timing = z3.And(t[i] - t[sent] > 0, t[i] - t[sent] <= msl)
                else:
                    timing = t[i] >= t[sent]
                if len(candidates) == 1:
                    # No choice to make: the constraint holds outright (keeps the
                    # quantifier elimination of path_condition free of Booleans).
                    cons.append(timing)
                    consumers.setdefault(k, []).append((z3.BoolVal(True), i, kind))
                    continue
                b = z3.Bool(f"step{i}_takes_copy{k}")
                picks.append(b)
                consumers.setdefault(k, []).append((b, i, kind))
                cons.append(z3.Implies(b, timing))
            if picks:
                cons.append(z3.PbEq([(b, 1) for b in picks], 1))
                choices.extend(picks)
        if label.actor in ("A", "B"):
            channel_out = "A->B" if label.actor == "A" else "B->A"
            for seg in label.sent:
                copies.append((channel_out, seg.code, i))
            side = label.actor
            left = before.local(side).state != after.local(side).state
            restarted = (
                label.kind == "timeout"
                or (label.rule is not None and spec.transitions[label.rule].restart)
                or (label.rule is not None and spec.transitions[label.rule].retransmit)
            )
            if left or restarted:
                start_timers(side, i)
        before = after
    # Each copy is consumed at most once.
    for _k, users in consumers.items():
        if len(users) > 1:
            cons.append(z3.PbLe([(b, 1) for b, _s, _kind in users], 1))
    return TimedPath(tuple(cons), tuple(t), tuple(choices), env)


@dataclass(frozen=True)
class PathCheck:
    """The outcome of :func:`check_path`: sat/unsat/unknown and, if sat, the instants."""

    result: str
    instants: tuple[float, ...] | None


def check_path(
    exploration: Exploration,
    edges: Sequence[int],
    params: Mapping[str, Any] | None = None,
    timeout_ms: int = 10_000,
) -> PathCheck:
    """Is the path possible in real time with these parameter values?"""
    encoded = encode_path(exploration, edges, params)
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*encoded.constraints)
    answer = solver.check()
    if answer == z3.sat:
        model = solver.model()
        instants = tuple(
            float(model.eval(x, model_completion=True).as_fraction()) for x in encoded.instants
        )
        return PathCheck("sat", instants)
    return PathCheck("unsat" if answer == z3.unsat else "unknown", None)


def path_condition(exploration: Exploration, edges: Sequence[int], symbolic: Sequence[str]) -> Any:
    """The condition on the ``symbolic`` parameters under which the path is possible
    (the instants and choices eliminated; other parameters take their values)."""
    params = {name: z3.Real(name) for name in symbolic}
    encoded = encode_path(exploration, edges, params)
    body = z3.And(*encoded.constraints)
    bound = [*encoded.instants, *encoded.choices]
    goal = z3.Goal()
    goal.add(z3.Exists(bound, body))
    positive = [v > 0 for v in params.values()]
    goal.add(*positive)
    result = z3.Then(z3.Tactic("qe2"), z3.Tactic("ctx-solver-simplify"))(goal)
    return z3.simplify(z3.And(*[f for sub in result for f in sub]))
