"""Verdicts: what checking one property on one variant found.

A :class:`Verdict` holds the answer (an :class:`~checker.check.outcome.Outcome`), the one
the suite expects, the assumptions it was decided under, why (``message``), the witness or
counterexample, and the size of the graph it was decided on -- the untimed product
(:mod:`checker.check.untimed`) or the zone graph (:mod:`checker.timed.checks`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..product.config import ProductConfig
from .outcome import Outcome
from .properties import FAIRNESS, Property
from .traces import Trace

__all__ = ["SEVERAL_RUNS", "Explored", "Verdict", "make_verdict", "with_runs"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one property on one variant: :attr:`verdict` (an
    :class:`~checker.check.outcome.Outcome`), the one the suite expects, the assumptions,
    why (:attr:`message`), and the witness or counterexample (:attr:`trace`).

    Examples
    --------
    >>> from checker import run_suite, load_properties
    >>> prop = next(p for p in load_properties() if p.name == "closing-reachable")
    >>> [verdict] = run_suite([prop], variants=[None])
    >>> verdict.verdict, verdict.expected, verdict.ok
    (<Outcome.HOLDS: 'holds'>, <Outcome.HOLDS: 'holds'>, True)
    >>> verdict.to_json()["message"]
    'witness: a shortest path to (A = CLOSING or B = CLOSING)'
    """

    prop: Property
    variant: str | None
    verdict: Outcome
    expected: Outcome | None
    assumptions: tuple[str, ...]
    trace: Trace | None
    message: str
    states: int = 0
    config: ProductConfig | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: An ``unknown`` caused by the channel capacity: the move that needed room, in words.
    needs_room: str | None = None
    #: Untimed: the states of the graph where a full channel blocked a send (0: the
    #: verdict is the one for unbounded channels); ``None`` for the zone graph.
    room_waits: int | None = None
    #: Seconds spent deciding it, measured (graph building included when it was built for
    #: this verdict); only the JUnit report shows them -- JSON output stays the same bytes
    #: from run to run, and two verdicts that differ only in time are equal.
    elapsed: float = field(default=0.0, compare=False, repr=False)
    #: When several runs were asked for: the distinct shortest ones found, ``trace``
    #: first (:mod:`checker.check.shortest`); ``None`` when one was asked for.
    traces: tuple[Trace, ...] | None = None

    def assumed(self) -> list[str]:
        """The assumptions in words: a fairness assumption's meaning, or the sentence a
        timed check states (its timing model, parameters and losses)."""
        return [FAIRNESS.get(a, a) for a in self.assumptions]

    def preamble(self) -> list[str]:
        """What a chart of its trace is read with: each assumption in words, each note,
        and the product configuration it was decided under."""
        lines = [f"assumes {a}" for a in self.assumed()]
        lines += [f"note: {note}" for note in self.notes]
        if self.config is not None:
            lines.append(self.config.describe())
        return lines

    @property
    def ok(self) -> bool:
        return self.expected is None or self.verdict == self.expected

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.prop.name,
            "kind": self.prop.kind,
            # What the verdict is the verdict on, in words.
            "claim": self.prop.claim(),
            "variant": self.variant or "base",
            "verdict": self.verdict,
            "expected": self.expected,
            "assumptions": list(self.assumptions),
            # Each assumption's meaning: a verdict under fairness reads with its terms.
            "assumption_meanings": {a: FAIRNESS[a] for a in self.assumptions if a in FAIRNESS},
            "message": self.message,
            "notes": list(self.notes),
            "needs_room": self.needs_room,
            "states": self.states,
            "trace": self.trace.to_json() if self.trace else None,
            # Only when several runs were asked for: one run's output stays as it was.
            **({"traces": [t.to_json() for t in self.traces]} if self.traces is not None else {}),
        }


class Explored(Protocol):
    """What a verdict reports about the graph it was decided on (an untimed
    :class:`~checker.product.explore.Exploration` or a
    :class:`~checker.timed.zonegraph.ZoneGraph`)."""

    @property
    def states(self) -> int: ...

    @property
    def config(self) -> ProductConfig: ...


def make_verdict(
    prop: Property,
    exploration: Explored,
    variant: str | None,
    value: Outcome,
    message: str,
    trace: Trace | None = None,
    assumptions: tuple[str, ...] = (),
    needs_room: str | None = None,
    traces: tuple[Trace, ...] | None = None,
) -> Verdict:
    """A :class:`Verdict` for ``prop`` on ``exploration``, with its expectation filled in
    (``states`` counts the graph's states, or zone-graph nodes for a timed property)."""
    return Verdict(
        prop=prop,
        variant=variant,
        verdict=value,
        expected=prop.expected_for(variant),
        assumptions=assumptions,
        trace=trace,
        message=message,
        states=exploration.states,
        config=exploration.config,
        needs_room=needs_room,
        room_waits=getattr(exploration, "capacity_waits", None),
        traces=traces,
    )


#: The kinds whose run is a path, so that several shortest ones can be given.
SEVERAL_RUNS = ("invariant", "reachable", "path", "deadlock-free")


def with_runs(verdict: Verdict, runs: int) -> Verdict:
    """``verdict`` as an answer to a request for ``runs`` runs: when it has no
    :attr:`~Verdict.traces` yet (one was asked for, or its kind gives one -- a lasso, a
    timed run), its one trace, and for a kind that gives one a note saying so."""
    if runs <= 1 or verdict.traces is not None:
        return verdict
    if verdict.trace is None:
        return dataclasses.replace(verdict, traces=())
    notes = verdict.notes
    if verdict.prop.kind not in SEVERAL_RUNS:
        notes = (
            *notes,
            f"one run: a {verdict.prop.kind} property gives one (several shortest ones are "
            f"given for {', '.join(SEVERAL_RUNS)})",
        )
    return dataclasses.replace(verdict, traces=(verdict.trace,), notes=notes)
