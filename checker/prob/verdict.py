"""The verdict on a ``probability`` property of a suite: does the probability keep its
bound at every loss rate, under every scheduler?

``bound = "<= b"`` holds when the *maximum* over schedulers is at most ``b`` at every
rate, ``">= b"`` when the *minimum* is at least ``b``: ``holds`` says the claim is true
whatever the scheduler does (:meth:`checker.check.properties.Property.claim`).  A
numeric value decides only when its whole interval is on one side of the bound;
otherwise -- and when a limit left a value unknown -- the verdict is ``unknown``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..check.outcome import Outcome
from ..check.properties import Property, bound_of
from ..check.verdicts import Verdict, make_verdict
from ..errors import UsageError
from ..model.spec import Spec
from ..product.config import ProductConfig
from .clocks import build_reading
from .mdp import MDP
from .questions import assumptions, outcomes, parse_question
from .rates import LossClass, LossRates, rate_list
from .solve import Value, solve

__all__ = ["check_probability", "probability_mdp", "property_rates"]


def property_rates(prop: Property, classes: Sequence[LossClass] | None = None) -> list[LossRates]:
    """The loss rates a ``probability`` property names (``loss_rate``, read as
    ``--loss-rate`` values are), each checked against the MDP's loss ``classes`` when
    given; one that does not read or names no class there is a usage error naming the
    file and the property."""
    try:
        rates = rate_list(list(prop.loss_rates))
        if classes is not None:
            for r in rates:
                r.check_classes(classes)
    except UsageError as exc:
        raise UsageError(f"{prop.file}: {prop.entry}: loss_rate: {exc}") from None
    return rates


def probability_mdp(
    prop: Property,
    spec: Spec,
    config: ProductConfig,
    *,
    max_states: int | None = None,
    max_seconds: float | None = None,
) -> MDP:
    """The MDP a ``probability`` property is decided on: the untimed reading, or the
    clocked one when it names a ``delay`` (with its horizon ``within``)."""
    try:
        return build_reading(
            spec,
            config,
            delay=prop.delay,
            within=prop.within,
            max_states=max_states,
            max_seconds=max_seconds,
            delay_option="delay =",
        )
    except UsageError as exc:
        if prop.delay is None:
            raise
        raise UsageError(f"{prop.file}: {prop.entry}: {exc}") from None


def _side(value: Value, op: str, bound: float) -> Outcome:
    """Is ``value`` on the right side of ``bound`` (holds), the wrong side (violated), or
    not known to be on either?"""
    low, high = float(value.low), float(value.high)
    good, bad = (high <= bound, low > bound) if op == "<=" else (low >= bound, high < bound)
    if value.method == "exact":
        return Outcome.HOLDS if good else Outcome.VIOLATED
    return Outcome.HOLDS if good else Outcome.VIOLATED if bad else Outcome.UNKNOWN


def check_probability(
    prop: Property,
    spec: Spec,
    mdp: MDP,
    variant: str | None,
    *,
    max_seconds: float | None = None,
) -> Verdict:
    """Decide ``prop`` (kind ``probability``) on ``mdp``, the MDP of ``spec``'s product."""
    op, bound = bound_of(prop)
    question = parse_question(prop.formula, spec)
    [outcome] = outcomes(mdp, question)
    opt = "max" if op == "<=" else "min"
    found: list[tuple[str, Value, Outcome]] = []
    for rates in property_rates(prop, mdp.classes):
        value = solve(mdp, outcome.task, rates, opt, max_seconds=max_seconds)
        found.append((str(rates), value, _side(value, op, bound)))
    verdicts = {side for _, _, side in found}
    verdict = (
        Outcome.VIOLATED
        if Outcome.VIOLATED in verdicts
        else Outcome.UNKNOWN
        if Outcome.UNKNOWN in verdicts
        else Outcome.HOLDS
    )
    shown = [f for f in found if f[2] == verdict] if verdict != Outcome.HOLDS else found
    values = "; ".join(f"{value.text()} at {rate}" for rate, value, _ in shown)
    negated = {"<=": ">", ">=": "<"}[op]
    if verdict == Outcome.HOLDS:
        message = f"{opt} P {op} {bound:g} at every rate: {values}"
    elif verdict == Outcome.VIOLATED:
        message = f"{opt} P {negated} {bound:g}: {values}"
    else:
        message = f"{opt} P not known to be {op} {bound:g}: {values}"
    return make_verdict(
        prop,
        mdp.exploration,
        variant,
        verdict,
        message,
        assumptions=tuple(assumptions(mdp)),
    )
