"""tcpcheck's probabilities against Storm's: the cross-check of the probabilistic reading.

tcpcheck reads the explored graph as an MDP and solves it itself (:mod:`checker.prob`);
Storm builds its own MDP from the PRISM commands (:mod:`checker.export.prism`) and
solves it in exact arithmetic (:mod:`checker.export.storm`).  For each probabilistic
property of a suite, each variant and each of its loss rates, every outcome the question
names is compared: the least and the most probability over schedulers (or expectation),
equal when both are exact, within ``tolerance`` otherwise.

Compared: questions about a move (``B leaves LAST-ACK by timeout``, ``A enters
TIME-WAIT``), how an endpoint leaves a state (each event; ``stays`` and ``never enters``
are not written in PRISM), and the expected retransmissions and segments.  A state
formula is not translated to PRISM, and says so.

A property read in integer time (a ``delay``: :mod:`checker.prob.clocks`) is not written
in PRISM either: its states hold countdowns the export has no variables for.  For it,
Storm reads tcpcheck's own MDP, written state by state (:mod:`checker.export.drn`), and
every outcome is compared, ``stays`` and ``never enters`` and any state formula too --
a check of the branch probabilities, the question's tasks and the solvers, not of the
exploration (the row says which: ``built`` is ``PRISM`` or ``explicit``).

Examples
--------
>>> from checker.check.properties import load_properties
>>> prop = next(p for p in load_properties() if p.name == "last-ack-give-up-rare")
>>> rows = crosscheck_storm([prop], [None]) if storm_missing() is None else []
>>> all(r.agree for r in rows)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..check.properties import Property
from ..errors import UsageError
from ..model.load import load_spec
from ..prob.mdp import build_mdp
from ..prob.questions import Question, Row, ask, counts, outcomes, parse_question
from ..prob.rates import LossClass, LossRates
from ..prob.solve import Value
from ..prob.verdict import probability_mdp, property_rates
from .drn import drn
from .prism import prism_model
from .storm import storm_check_drn, storm_checks, storm_missing

__all__ = ["TOLERANCE", "StormRow", "crosscheck_storm", "storm_missing"]

#: How far apart two numeric answers may be (exact ones must be equal).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class StormRow:
    """One outcome of one property on one variant at one loss rate, by both tools."""

    prop: str
    variant: str | None
    rate: str
    outcome: str
    tcpcheck: tuple[Value, Value]
    storm: tuple[Fraction, Fraction]
    states: tuple[int, int]  # the states each tool's MDP reaches
    agree: bool
    #: What Storm solved: the MDP it built from the PRISM model (``PRISM``), or
    #: tcpcheck's own, written out (``explicit``).
    built: str = "PRISM"

    def to_json(self) -> dict[str, Any]:
        return {
            "property": self.prop,
            "variant": self.variant,
            "loss_rate": self.rate,
            "outcome": self.outcome,
            "tcpcheck": {"min": self.tcpcheck[0].to_json(), "max": self.tcpcheck[1].to_json()},
            "storm": {"min": float(self.storm[0]), "max": float(self.storm[1])},
            "states": {"tcpcheck": self.states[0], "storm": self.states[1]},
            "storm_built": self.built,
            "agree": self.agree,
        }


def _same(ours: Value, theirs: Fraction, tolerance: float) -> bool:
    if ours.method == "exact":
        return ours.low == theirs
    if ours.method == "numeric":
        return float(ours.low) - tolerance <= float(theirs) <= float(ours.high) + tolerance
    return False  # unknown: nothing to agree on


def _pattern_text(question: Question) -> str:
    assert question.pattern is not None
    p = question.pattern
    return f"{p.side} {p.verb} {p.state}"


def crosscheck_storm(
    props: Sequence[Property],
    variants: Sequence[str | None],
    spec_file: str | Path | None = None,
    tolerance: float = TOLERANCE,
) -> list[StormRow]:
    """Compare every probabilistic property of ``props`` on every variant of
    ``variants`` with Storm (see the module docstring)."""
    rows: list[StormRow] = []
    for prop in props:
        if prop.kind != "probability":
            continue
        if prop.delay is not None:  # the PRISM export writes the untimed reading only
            rows += [
                row
                for variant in variants
                for row in _explicit(prop, variant, spec_file, tolerance)
            ]
            continue
        for variant in variants:
            spec = load_spec(spec_file, variant=variant, params=prop.params)
            question = parse_question(prop.formula, spec)
            if question.kind == "formula":
                raise UsageError(
                    f"{prop.name}: a state formula is not written in PRISM; cross-check "
                    "questions about moves and expectations"
                )
            config = prop.product_config()
            mdp = build_mdp(spec, config)
            pattern = None if question.kind == "expected" else _pattern_text(question)
            model = prism_model(spec, config, question=pattern)
            every = property_rates(prop)
            answers = [ask(mdp, question, [rates]) for rates in every]
            groups: dict[str, list[str]] = {}
            for row in answers[0].rows if answers else []:
                if question.kind == "expected" or row.outcome in ("stays", "never enters"):
                    continue
                if question.kind == "leaves":
                    groups[row.outcome] = [row.outcome.removeprefix("by ")]
                else:
                    groups[row.outcome] = [
                        e
                        for e, timer in zip(model.events, model.timed, strict=True)
                        if counts(question.events, e, timer)
                    ]
            consts = [
                {
                    name: rates.rate(LossClass(channel, kind))
                    for (channel, kind), name in model.constants.items()
                }
                for rates in every
            ]
            storms = storm_checks(model, consts, groups)
            for rates, answer, storm in zip(every, answers, storms, strict=True):
                for row in answer.rows:
                    if question.kind == "expected":
                        assert question.expected is not None
                        theirs = getattr(storm, question.expected)
                    elif row.outcome in groups:
                        theirs = storm.groups[row.outcome]
                    else:
                        continue
                    states = (int(mdp.summary()["states"]), storm.states)
                    rows.append(_row(prop, variant, rates, row, theirs, states, tolerance))
    return rows


def _row(
    prop: Property,
    variant: str | None,
    rates: LossRates,
    row: Row,
    theirs: tuple[Fraction, Fraction],
    states: tuple[int, int],
    tolerance: float,
    built: str = "PRISM",
) -> StormRow:
    """One outcome by both tools, and whether they agree."""
    agree = _same(row.low, theirs[0], tolerance) and _same(row.high, theirs[1], tolerance)
    both = (row.low, row.high)
    return StormRow(prop.name, variant, str(rates), row.outcome, both, theirs, states, agree, built)


def _explicit(
    prop: Property, variant: str | None, spec_file: str | Path | None, tolerance: float
) -> list[StormRow]:
    """``prop`` on ``variant`` by Storm on tcpcheck's own MDP (:mod:`checker.export.drn`),
    every outcome at every loss rate."""
    spec = load_spec(spec_file, variant=variant, params=prop.params)
    mdp = probability_mdp(prop, spec, prop.product_config())
    question = parse_question(prop.formula, spec)
    tasks = outcomes(mdp, question)
    every = property_rates(prop)
    states = int(mdp.summary()["states"])
    rows = []
    # ask's rows run over the rates, and for each over the outcomes, in their order.
    answer = ask(mdp, question, every)
    for row, outcome in zip(answer.rows, tasks * len(every), strict=True):
        title = f"{prop.name} on {variant or 'base'} at {row.rates}: {row.outcome}"
        theirs, read = storm_check_drn(drn(mdp, outcome.task, row.rates, title=title))
        # Storm read two more states: the sinks the export adds.
        both = (states, read - 2)
        rows.append(_row(prop, variant, row.rates, row, theirs, both, tolerance, "explicit"))
    return rows
