"""Traces: the runs a verdict shows, as witnesses or counterexamples.

A trace starts in a product state and lists its steps, each a move and the state after
it.  A liveness counterexample is a lasso -- the steps from ``loop`` on repeat forever --
or a run that may stop in its last state forever; a timed trace carries the instant of
each step.  The charts (:mod:`checker.render`) draw traces; the untimed checks build them
from edge indices of an exploration with :func:`trace_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..product.exploration import Exploration
from ..product.semantics import Label, PState

__all__ = ["Trace", "TraceStep", "trace_of"]


@dataclass(frozen=True)
class TraceStep:
    """One step of a trace: the move and the product state after it."""

    label: Label
    state: PState

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.label.to_json())
        data["A"] = self.state.a.state
        data["B"] = self.state.b.state
        data["in_flight"] = {
            "A->B": [s.describe() for s in self.state.ab],
            "B->A": [s.describe() for s in self.state.ba],
        }
        return data


@dataclass(frozen=True)
class Trace:
    """A path from the initial state; ``loop`` is the index in ``steps`` where a cycle
    starts (the last step returns to the state before it), ``stops`` says the run may
    stay in the last state forever."""

    initial: PState
    steps: tuple[TraceStep, ...]
    loop: int | None = None
    stops: bool = False
    #: A timed run's instants (seconds): the start's first, then one per step.
    times: tuple[Fraction, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        steps = [s.to_json() for s in self.steps]
        if self.times is not None:
            for step, t in zip(steps, self.times[1:], strict=True):
                step["time"] = _seconds(t)
        return {
            "initial": {"A": self.initial.a.state, "B": self.initial.b.state},
            "steps": steps,
            "cycle_start": self.loop,
            "stops_forever": self.stops,
        }


def _seconds(t: Fraction) -> float | str:
    """A time for JSON: a number when it is exact as one, else the fraction ``"p/q"``."""
    as_float = float(t)
    return as_float if Fraction(as_float) == t else f"{t.numerator}/{t.denominator}"


def trace_of(
    exploration: Exploration, edges: list[int], *, loop: int | None = None, stops: bool = False
) -> Trace:
    """A :class:`Trace` from edge indices of ``exploration``."""
    steps = tuple(
        TraceStep(exploration.labels[exploration.lbl[e]], exploration.state(exploration.dst[e]))
        for e in edges
    )
    return Trace(exploration.state(0), steps, loop, stops)
