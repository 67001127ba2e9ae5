"""Loss rates: the probability that the network loses a segment, by loss class.

A *loss class* is a channel (``A->B`` or ``B->A``) and a segment kind (``SYN``,
``SYN+ACK``, ``ACK``, ``FIN+ACK``, ``RST+ACK``, ...): every delivery in the MDP
(:mod:`checker.prob.mdp`) keeps its class, so that one MDP serves every rate.  A
:class:`LossRates` maps classes to probabilities, written as a default rate and
overrides, the most specific winning (channel and kind, then kind, then channel)::

    0.01                          every segment is lost with probability 1/100
    A->B=0.01,B->A=0.05           by direction
    0.01,FIN+ACK=0.2              FIN+ACK segments (either way) 1/5, the rest 1/100
    A->B:FIN+ACK=0.3              one channel and kind

Rates are exact rationals (``0.01`` is 1/100), so that answers on an acyclic MDP are
exact fractions.

Examples
--------
>>> r = LossRates.parse("0.01,FIN+ACK=0.2,B->A=0.05")
>>> r.rate(LossClass("A->B", "FIN+ACK")), r.rate(LossClass("B->A", "ACK"))
(Fraction(1, 5), Fraction(1, 20))
>>> str(r)
'0.01,B->A=0.05,FIN+ACK=0.2'
>>> LossRates.parse("1.5")
Traceback (most recent call last):
...
checker.errors.UsageError: loss rate '1.5': a probability is between 0 and 1
>>> LossRates.parse("A->C=0.1")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
checker.errors.UsageError: loss rate 'A->C=0.1': unknown loss class 'A->C' (a channel ...)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import UsageError
from ..model.segments import Segment

__all__ = ["CHANNELS", "LossClass", "LossRates", "rate_list"]

CHANNELS = ("A->B", "B->A")
_FLAGS = ("SYN", "FIN", "RST", "ACK")
_CLASS_HELP = "a channel A->B or B->A, a segment kind such as FIN+ACK, or CHANNEL:KIND"


@dataclass(frozen=True, order=True)
class LossClass:
    """A channel and a segment kind (:attr:`checker.model.segments.Segment.name`)."""

    channel: str
    kind: str

    @staticmethod
    def of(channel: str, segment: Segment) -> LossClass:
        return LossClass(channel, segment.name)

    def __str__(self) -> str:
        return f"{self.channel}:{self.kind}"


def _is_kind(text: str) -> bool:
    """Is ``text`` a segment kind as :attr:`Segment.name` writes one (flags in order)?"""
    parts = text.split("+")
    data = parts[-1] == "DATA"
    flags = parts[:-1] if data else parts
    order = [_FLAGS.index(f) for f in flags if f in _FLAGS]
    return len(order) == len(flags) and order == sorted(set(order)) and (bool(flags) or data)


def _probability(text: str, entry: str) -> Fraction:
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"loss rate {entry!r}: {text.strip()!r} is not a number") from None
    if not 0 <= value <= 1:
        raise UsageError(f"loss rate {entry!r}: a probability is between 0 and 1")
    return value


def _decimal(value: Fraction) -> str:
    """``value`` as written: a short decimal where one is exact, else ``n/d``."""
    d = value.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    text = f"{value.numerator * 10**places // value.denominator:0{places + 1}d}"
    if places:
        text = text[:-places] + "." + text[-places:]
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class LossRates:
    """Loss probabilities: a default and overrides by channel, kind, or both.

    Examples
    --------
    >>> rates = LossRates.parse("0.01,B->A:FIN+ACK=0")
    >>> rates.rate(LossClass("B->A", "FIN+ACK")), rates.rate(LossClass("A->B", "ACK"))
    (Fraction(0, 1), Fraction(1, 100))
    """

    default: Fraction = Fraction(0)
    by_channel: tuple[tuple[str, Fraction], ...] = ()
    by_kind: tuple[tuple[str, Fraction], ...] = ()
    by_class: tuple[tuple[LossClass, Fraction], ...] = field(default=())

    @staticmethod
    def uniform(p: Fraction | str | float) -> LossRates:
        """The same rate for every class."""
        return LossRates.parse(str(p))

    @staticmethod
    def parse(text: str) -> LossRates:
        """Read ``0.01``, ``A->B=0.01,B->A=0.05``, ``FIN+ACK=0.2``, ``A->B:ACK=0.1``."""
        default = Fraction(0)
        chans: dict[str, Fraction] = {}
        kinds: dict[str, Fraction] = {}
        classes: dict[LossClass, Fraction] = {}
        items = [item for item in text.split(",") if item.strip()]
        if not items:
            raise UsageError("loss rate: empty (write e.g. 0.01 or A->B=0.01,B->A=0.05)")
        for item in items:
            if "=" not in item:
                default = _probability(item, item.strip())
                continue
            key, value = (part.strip() for part in item.split("=", 1))
            p = _probability(value, item.strip())
            channel, _, kind = key.partition(":") if ":" in key else ("", "", "")
            if channel and channel in CHANNELS and _is_kind(kind):
                classes[LossClass(channel, kind)] = p
            elif key in CHANNELS:
                chans[key] = p
            elif _is_kind(key):
                kinds[key] = p
            else:
                raise UsageError(
                    f"loss rate {item.strip()!r}: unknown loss class {key!r} ({_CLASS_HELP})"
                )
        return LossRates(
            default,
            tuple(sorted(chans.items())),
            tuple(sorted(kinds.items())),
            tuple(sorted(classes.items())),
        )

    def rate(self, cls: LossClass) -> Fraction:
        """The probability that a segment of class ``cls`` is lost."""
        for c, p in self.by_class:
            if c == cls:
                return p
        for kind, p in self.by_kind:
            if kind == cls.kind:
                return p
        for channel, p in self.by_channel:
            if channel == cls.channel:
                return p
        return self.default

    def __str__(self) -> str:
        parts = [_decimal(self.default)] if self.default or not self.overrides() else []
        parts += self.overrides()
        return ",".join(parts)

    def check_classes(self, classes: Sequence[LossClass]) -> None:
        """Refuse an override that names a kind or class no delivery has (a typo, or a
        segment this configuration never sends): it would change nothing."""
        kinds = {c.kind for c in classes}
        named = [(k, k in kinds) for k, _ in self.by_kind]
        named += [(str(c), c in classes) for c, _ in self.by_class]
        for name, known in named:
            if not known:
                there = ", ".join(str(c) for c in classes)
                raise UsageError(
                    f"loss rate {name}: no segment of that class is ever delivered here "
                    f"(the loss classes are {there})"
                )

    def overrides(self) -> list[str]:
        return (
            [f"{c}={_decimal(p)}" for c, p in self.by_channel]
            + [f"{k}={_decimal(p)}" for k, p in self.by_kind]
            + [f"{c}={_decimal(p)}" for c, p in self.by_class]
        )


def rate_list(values: tuple[str, ...] | list[str]) -> list[LossRates]:
    """The rates a ``--loss-rate`` option names: ``0.01,0.05,0.2`` (only numbers) is three
    uniform rates; anything with ``=`` is one :class:`LossRates`; the option repeats.

    >>> [str(r) for r in rate_list(["0.01,0.05", "A->B=0.1,B->A=0.2"])]
    ['0.01', '0.05', 'A->B=0.1,B->A=0.2']
    """
    out: list[LossRates] = []
    for value in values:
        if "=" in value:
            out.append(LossRates.parse(value))
        else:
            out += [LossRates.parse(item) for item in value.split(",") if item.strip()]
    return out
