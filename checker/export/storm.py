"""Storm, through stormpy, on the PRISM model of the probabilistic reading.

Storm builds its own state space from the PRISM commands (:mod:`checker.export.prism`)
-- or reads tcpcheck's own, written explicitly (:mod:`checker.export.drn`,
:func:`storm_check_drn`) -- and solves the MDP in exact rational arithmetic: the
minimum and maximum over schedulers of the probability of each way a question's move
happens (``left_k``: the k-th event leaving the state), of any of them, and of the
expected retransmissions and segments sent.  stormpy is optional: :func:`storm_missing`
says why it cannot run here.

Examples
--------
>>> isinstance(storm_missing(), (str, type(None)))
True
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .prism import PrismModel

__all__ = ["StormAnswer", "storm_check", "storm_check_drn", "storm_checks", "storm_missing"]


def storm_missing() -> str | None:
    """Why Storm cannot run here, or ``None`` when it can."""
    try:
        import stormpy  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the machine
        return f"stormpy is not installed ({exc}); bash setup.sh test installs it where it can"
    return None


@dataclass(frozen=True)
class StormAnswer:
    """What Storm found: per event of the question (and ``any``), the minimum and the
    maximum probability that it happens; the expected totals per connection; the size of
    the state space it built."""

    events: Mapping[str, tuple[Fraction, Fraction]]
    retransmissions: tuple[Fraction, Fraction]
    segments: tuple[Fraction, Fraction]
    states: int
    choices: int
    #: Per group of events asked for: the first matching move's event is one of them.
    groups: Mapping[str, tuple[Fraction, Fraction]]


def _fraction(value: Any) -> Fraction:
    # Storm's exact numbers print as 99/100.
    return Fraction(str(value).split(" ", 1)[0])


def storm_check(
    model: PrismModel,
    rates: Mapping[str, Fraction],
    groups: Mapping[str, Sequence[str]] | None = None,
) -> StormAnswer:
    """Check ``model`` with Storm at the loss probabilities ``rates`` (by constant name,
    every one of ``model.constants``), exactly; ``groups`` names sets of the question's
    events to ask about together (the first matching move is one of them)."""
    return storm_checks(model, [rates], groups)[0]


def storm_checks(
    model: PrismModel,
    rates: Sequence[Mapping[str, Fraction]],
    groups: Mapping[str, Sequence[str]] | None = None,
) -> list[StormAnswer]:
    """:func:`storm_check` at each of ``rates``, the model parsed once (its parsing is
    most of a small check)."""
    import stormpy

    asked = []
    for k in range(1, len(model.events) + 1):
        asked += [f'Pmin=? [F "left_{k}"]', f'Pmax=? [F "left_{k}"]']
    if model.events:
        asked += ['Pmin=? [F "left"]', 'Pmax=? [F "left"]']
    named = dict(groups or {})
    for chosen in named.values():
        held = [f'"left_{model.events.index(e) + 1}"' for e in chosen if e in model.events]
        goal = " | ".join(held) or "false"
        asked += [f"Pmin=? [F ({goal})]", f"Pmax=? [F ({goal})]"]
    for reward in ("retransmissions", "segments"):
        asked += [f'R{{"{reward}"}}min=? [C]', f'R{{"{reward}"}}max=? [C]']
    with tempfile.TemporaryDirectory(prefix="tcpcheck-storm-") as scratch:
        path = Path(scratch) / "model.prism"
        path.write_text(model.text, encoding="utf-8")
        parsed = stormpy.parse_prism_program(str(path))
    answers = []
    for given in rates:
        properties = stormpy.parse_properties(";".join(asked), parsed)
        values = {name: stormpy.Rational(str(given[name])) for name in model.constants.values()}
        program, properties = stormpy.instantiate_constants(parsed, values, properties)
        built = stormpy.build_model[stormpy.Rational](program, properties)
        init = built.initial_states[0]
        found = [
            _fraction(stormpy.model_checking(built, p, only_initial_states=True).get_value(init))
            for p in properties
        ]
        pairs = [(found[i], found[i + 1]) for i in range(0, len(found), 2)]
        events = {e: pairs[i] for i, e in enumerate(model.events)}
        at = len(model.events)
        if model.events:
            events["any"] = pairs[at]
            at += 1
        asked_groups = {name: pairs[at + i] for i, name in enumerate(named)}
        answers.append(
            StormAnswer(
                events, pairs[-2], pairs[-1], built.nr_states, built.nr_choices, asked_groups
            )
        )
    return answers


def storm_check_drn(text: str) -> tuple[tuple[Fraction, Fraction], int]:
    """Check an explicit model (:func:`checker.export.drn.drn`) with Storm, exactly: the
    least and the most probability of reaching ``goal`` -- or, when the model has the
    reward model ``gain``, the least and the most expected total gain -- and the number
    of states Storm read."""
    import stormpy

    with tempfile.TemporaryDirectory(prefix="tcpcheck-storm-") as scratch:
        path = Path(scratch) / "model.drn"
        path.write_text(text, encoding="utf-8")
        built = stormpy.build_model_from_drn[stormpy.Rational](str(path))
    if "gain" in built.reward_models:
        asked = ['R{"gain"}min=? [C]', 'R{"gain"}max=? [C]']
    else:
        asked = ['Pmin=? [F "goal"]', 'Pmax=? [F "goal"]']
    init = built.initial_states[0]
    low, high = (
        _fraction(
            stormpy.model_checking(
                built, stormpy.parse_properties(q)[0], only_initial_states=True
            ).get_value(init)
        )
        for q in asked
    )
    return (low, high), built.nr_states
