"""Counts of independent trials as frequencies with a confidence interval, and a measured
count against a predicted probability range.

The interval is Clopper--Pearson's exact one (``scipy.stats.binomtest``): it holds the
true probability with at least the stated confidence whatever that probability is, so
a count of 0 or ``n`` still gets an interval of positive width.  A count *agrees* with a
predicted range [min, max] when its interval meets the range: the measurement does not
rule the prediction out at that confidence (a model's min and max over schedulers give
a range; a single predicted probability is the range [q, q]).

Examples
--------
>>> f = frequency(5, 1000)
>>> f.share, round(f.low, 5), round(f.high, 5)
(0.005, 0.00108, 0.01409)
>>> compare("B leaves LAST-ACK by timeout RETX", 5, 1000, (0.01, 0.02)).agrees
True
>>> compare("B leaves LAST-ACK by timeout RETX", 5, 1000, (0.02, 0.03)).agrees
False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scipy.stats import binomtest

__all__ = ["CONFIDENCE", "Agreement", "Frequency", "compare", "frequency"]

#: The confidence of the intervals reported and compared.
CONFIDENCE = 0.99


@dataclass(frozen=True)
class Frequency:
    """``count`` of ``trials``, its share, and the exact interval at ``confidence``."""

    count: int
    trials: int
    low: float
    high: float
    confidence: float = CONFIDENCE

    @property
    def share(self) -> float:
        return self.count / self.trials

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "trials": self.trials,
            "frequency": round(self.share, 6),
            "interval": [round(self.low, 6), round(self.high, 6)],
            "confidence": self.confidence,
        }


def frequency(count: int, trials: int, confidence: float = CONFIDENCE) -> Frequency:
    """``count`` successes of ``trials`` with its Clopper--Pearson interval.

    >>> f = frequency(0, 200)
    >>> f.low, round(f.high, 5)
    (0.0, 0.02614)
    """
    if trials < 1 or not 0 <= count <= trials:
        raise ValueError(f"a count of {count} in {trials} trials")
    ci = binomtest(count, trials).proportion_ci(confidence_level=confidence, method="exact")
    return Frequency(count, trials, float(ci.low), float(ci.high), confidence)


@dataclass(frozen=True)
class Agreement:
    """A measured count against a predicted range: ``agrees`` when the interval meets
    it; ``side`` says where the measurement lies when it does not (``below``/``above``)."""

    outcome: str
    measured: Frequency
    predicted: tuple[float, float]
    agrees: bool
    side: str

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            **self.measured.to_json(),
            "predicted": [round(x, 6) for x in self.predicted],
            "agrees": self.agrees,
            "side": self.side,
        }


def compare(
    outcome: str,
    count: int,
    trials: int,
    predicted: tuple[float, float],
    confidence: float = CONFIDENCE,
) -> Agreement:
    """``count`` of ``trials`` against the predicted probability range ``predicted``
    (min, max; min <= max, both in [0, 1]).

    >>> a = compare("A leaves SYN-SENT by timeout RETX", 0, 1000, (0.0, 0.0))
    >>> a.agrees, a.side
    (True, 'within')
    >>> compare("x", 60, 100, (0.3, 0.4)).side
    'above'
    """
    low, high = predicted
    if not 0 <= low <= high <= 1:
        raise ValueError(f"a predicted range must be 0 <= min <= max <= 1, not {predicted}")
    measured = frequency(count, trials, confidence)
    if measured.high < low:
        side = "below"
    elif measured.low > high:
        side = "above"
    else:
        side = "within"
    return Agreement(outcome, measured, (low, high), side == "within", side)
