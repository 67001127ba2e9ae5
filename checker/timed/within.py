"""``timed-within`` claims: an endpoint leaves a state within a time limit.

``B leaves LAST-ACK within 127 * RTO`` holds when every stay of B in LAST-ACK lasts at
most 127·RTO seconds at the spec's parameter values: the duration bound of
:func:`checker.timed.bound.duration_bound` (the supremum of the stays, attained or not)
is at most the limit.  It is violated by a stay longer than the limit -- the longest
one is the counterexample -- or by a stay that never ends; it is unknown when a limit
stopped the bound.  ``peer`` is where the stays are measured, as ``tcpcheck bound
--peer``: ``gone`` (every entry into the state, nothing arrives) or ``live`` (the whole
product from ``start``).

Examples
--------
>>> from checker.check.properties import load_properties
>>> from checker.model.load import load_spec
>>> prop = next(p for p in load_properties() if p.name == "last-ack-gives-up-within-r2")
>>> check_within(prop, load_spec(variant="linux"), "linux").verdict
<Outcome.HOLDS: 'holds'>
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..check.outcome import Outcome
from ..check.patterns import parse_within
from ..check.properties import Property
from ..check.verdicts import Verdict, make_verdict
from ..model.spec import Spec
from ..product.config import ProductConfig
from .bound import BoundStatus, duration_bound
from .solver import DEFAULT_LIMITS, SolverLimits

__all__ = ["check_within"]


@dataclass(frozen=True)
class _Searched:
    """What a verdict reports of the zone graph the bound was read from."""

    states: int
    config: ProductConfig


def check_within(
    prop: Property,
    spec: Spec,
    variant: str | None,
    *,
    max_nodes: int | None = None,
    max_seconds: float | None = None,
    limits: SolverLimits = DEFAULT_LIMITS,
) -> Verdict:
    """Decide the ``timed-within`` property ``prop`` on ``spec`` (the variant and the
    parameters already applied).

    Examples
    --------
    >>> from checker import load_properties, load_spec
    >>> prop = next(p for p in load_properties() if p.name == "last-ack-gives-up-within-r2")
    >>> prop.formula
    'B leaves LAST-ACK within 127 * RTO'
    >>> verdict = check_within(prop, load_spec(variant="linux"), "linux")
    >>> verdict.verdict, verdict.message
    (<Outcome.HOLDS: 'holds'>, 'B in LAST-ACK stays at most 104.448 s, within 127 * RTO = 127 s')
    """
    claim = parse_within(prop.formula)
    limit = Fraction(claim.seconds(spec.values)).limit_denominator(10**9)
    config = prop.product_config()
    bound = duration_bound(
        spec,
        claim.side,
        claim.state,
        peer=prop.peer,
        config=config,
        start=prop.start,
        free=(),  # the verdict needs the value at this point, not a formula
        max_nodes=max_nodes,
        max_seconds=max_seconds,
        limits=limits,
    )
    searched = _Searched(bound.nodes, config)
    where = f"{claim.side} in {claim.state}"
    shown = f"{claim.text} = {float(limit):g} s" if claim.limit.names() else f"{float(limit):g} s"

    def verdict(value: Outcome, message: str) -> Verdict:
        return make_verdict(prop, searched, variant, value, message, bound.trace, bound.assumptions)

    if bound.status == BoundStatus.UNKNOWN:
        return verdict(Outcome.UNKNOWN, f"no bound for {where}: {bound.message}")
    if bound.status == BoundStatus.UNBOUNDED:
        return verdict(
            Outcome.VIOLATED, f"{where} can stay forever, past the limit {shown}: {bound.message}"
        )
    assert bound.value is not None
    stay = f"{'at most' if bound.attained else 'less than'} {float(bound.value):g} s"
    if bound.value <= limit:
        return verdict(Outcome.HOLDS, f"{where} stays {stay}, within {shown}")
    return verdict(
        Outcome.VIOLATED,
        f"{where} can stay longer than {shown} ({stay}); the chart shows the longest stay",
    )
