"""Exact linear expressions over the timing parameters.

The timed layer never rounds: parameter values are read as exact fractions (``0.2`` is
``1/5``), a duration such as ``RTO * 2^retries`` folds to an exact :class:`Linear` --
a constant when every parameter is fixed, ``4*RTO`` when RTO is left free for synthesis.

:func:`parameter_env` resolves the spec's parameters into linear expressions: the free
ones become variables, the fixed ones their exact values, and a parameter defined from
others (``TIME_WAIT = 2 * MSL``) follows them unless it is itself fixed or free.

Examples
--------
>>> from checker.model.load import load_spec
>>> env = parameter_env(load_spec(), free=["MSL"])
>>> str(env["TIME_WAIT"]), str(env["RTO"])
('2*MSL', '1')
>>> str(env["TIME_WAIT"] - env["MSL"] / 2 + 3)
'1.5*MSL + 3'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..errors import UsageError, unknown_name
from ..model.expr import Expr
from ..model.spec import Spec

__all__ = ["Linear", "exact", "parameter_env"]


def exact(value: float | int | Fraction) -> Fraction:
    """The fraction a decimal value was written as: ``exact(0.2) == Fraction(1, 5)``.

    Times are kept to the nanosecond: the noise binary floating point adds to a value
    computed from others (``0.004 * 51 = 0.20400000000000001``) is dropped, or the
    zone graph's integers grow without bound.

    >>> exact(0.004 * 51), exact(0.20690200000000003)
    (Fraction(51, 250), Fraction(103451, 500000))
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    written = Fraction(repr(float(value)))
    return written if written.denominator <= _NANO else written.limit_denominator(_NANO)


#: The finest time the timed layer keeps: a nanosecond.
_NANO = 10**9


@dataclass(frozen=True, order=True)
class Linear:
    """``const + sum(coef * name)`` with exact coefficients, names sorted."""

    const: Fraction = Fraction(0)
    terms: tuple[tuple[str, Fraction], ...] = ()

    def __hash__(self) -> int:
        # Expressions key the zone graph's tables and are hashed millions of times in a
        # synthesis; a Fraction's hash is a modular inverse each time, so keep it.
        got: int | None = self.__dict__.get("_hash")
        if got is None:
            got = hash((self.const, self.terms))
            object.__setattr__(self, "_hash", got)
        return got

    def __getstate__(self) -> dict[str, Any]:
        # A string's hash differs between processes: a worker computes its own.
        return {"const": self.const, "terms": self.terms}

    @classmethod
    def of(cls, value: float | int | Fraction) -> Linear:
        return cls(exact(value))

    @classmethod
    def var(cls, name: str) -> Linear:
        return cls(Fraction(0), ((name, Fraction(1)),))

    @property
    def is_const(self) -> bool:
        return not self.terms

    def coef(self, name: str) -> Fraction:
        return dict(self.terms).get(name, Fraction(0))

    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.terms)

    def evaluate(self, values: Mapping[str, Fraction | float]) -> Fraction:
        return self.const + sum((c * exact(values[n]) for n, c in self.terms), Fraction(0))

    def z3(self, variables: Mapping[str, Any]) -> Any:
        """The expression as a Z3 real term over ``variables`` (name -> Z3 term)."""
        import z3

        out: Any = z3.RealVal(self.const)
        for name, c in self.terms:
            out = out + z3.RealVal(c) * variables[name]
        return out

    # ------------------------------------------------------------------ arithmetic
    @staticmethod
    def _lift(other: Linear | float | int | Fraction) -> Linear:
        return other if isinstance(other, Linear) else Linear.of(other)

    def _combine(self, other: Linear, sign: int) -> Linear:
        coefs = dict(self.terms)
        for n, c in other.terms:
            coefs[n] = coefs.get(n, Fraction(0)) + sign * c
        terms = tuple(sorted((n, c) for n, c in coefs.items() if c != 0))
        return Linear(self.const + sign * other.const, terms)

    def __add__(self, other: Linear | float | int | Fraction) -> Linear:
        return self._combine(self._lift(other), 1)

    __radd__ = __add__

    def __sub__(self, other: Linear | float | int | Fraction) -> Linear:
        return self._combine(self._lift(other), -1)

    def __rsub__(self, other: Linear | float | int | Fraction) -> Linear:
        return self._lift(other)._combine(self, -1)

    def __neg__(self) -> Linear:
        return Linear(-self.const, tuple((n, -c) for n, c in self.terms))

    def scale(self, k: Fraction) -> Linear:
        if k == 0:
            return Linear()
        return Linear(self.const * k, tuple((n, c * k) for n, c in self.terms))

    def __mul__(self, other: Linear | float | int | Fraction) -> Linear:
        o = self._lift(other)
        if o.is_const:
            return self.scale(o.const)
        if self.is_const:
            return o.scale(self.const)
        raise ValueError("a product of two parameters is not linear")

    __rmul__ = __mul__

    def __truediv__(self, other: Linear | float | int | Fraction) -> Linear:
        o = self._lift(other)
        if not o.is_const:
            raise ValueError("division by a parameter is not linear")
        if o.const == 0:
            raise ValueError("division by zero")
        return self.scale(1 / o.const)

    def __str__(self) -> str:
        parts: list[str] = []
        for n, c in self.terms:
            mag = abs(c)
            body = n if mag == 1 else f"{_num(mag)}*{n}"
            parts.append(("- " if c < 0 else "+ ") + body)
        if self.const != 0 or not parts:
            parts.append(("- " if self.const < 0 else "+ ") + _num(abs(self.const)))
        text = " ".join(parts)
        return text[2:] if text.startswith("+ ") else "-" + text[2:]


def _num(value: Fraction) -> str:
    """``3``, ``3/2`` or ``0.25`` -- a decimal when it is short and exact."""
    if value.denominator == 1:
        return str(value.numerator)
    as_float = float(value)
    if Fraction(repr(as_float)) == value and len(repr(as_float)) <= 8:
        return repr(as_float)
    return f"{value.numerator}/{value.denominator}"


def parameter_env(
    spec: Spec, free: Iterable[str] = (), fixed: Mapping[str, float] | None = None
) -> dict[str, Linear]:
    """Every finite parameter as a :class:`Linear`: ``free`` ones as variables, ``fixed``
    ones (and those the spec gives a number) as exact constants, the others folded from
    their defining expressions.  An infinite parameter (``R2 = inf``) is left out: it
    can only be a retry bound, which the untimed layer handles."""
    by_name = {p.name: p for p in spec.parameters}
    free = list(free)
    for name in [*free, *(fixed or {})]:
        if name not in by_name:
            raise unknown_name("parameter", name, sorted(by_name), "parameters")
    env: dict[str, Linear] = {}

    def resolve(name: str) -> Linear | None:
        if name in env:
            return env[name]
        p = by_name[name]
        if name in free:
            env[name] = Linear.var(name)
        elif fixed and name in fixed:
            env[name] = Linear.of(fixed[name])
        elif p.value == float("inf"):
            return None
        else:
            deps = {d: resolve(d) for d in p.expr.names()}
            if any(v is None for v in deps.values()):
                return None
            try:
                env[name] = _fold(p.expr, {d: v for d, v in deps.items() if v is not None}, name)
            except UsageError:
                # Derived non-linearly from a free parameter (a retry count from a
                # time budget: ceil(log2(B / RTO))): left out, as an infinite one is; a
                # duration that names it says so when folded.
                return None
        return env[name]

    for p in spec.parameters:
        resolve(p.name)
    return env


def _fold(expr: Expr, env: Mapping[str, Any], what: str) -> Linear:
    try:
        value = expr.fold(env, Linear.of)
    except ValueError as exc:
        raise UsageError(f"{what} = {expr}: {exc} in the timed layer") from None
    except KeyError as exc:
        raise UsageError(
            f"{what} = {expr}: {exc.args[0]} has no value in the timed layer (infinite, or "
            "derived non-linearly from a free parameter: fix it with --param)"
        ) from None
    return value if isinstance(value, Linear) else Linear.of(value)


def fold_duration(expr: Expr, env: Mapping[str, Linear], retries: int) -> Linear:
    """A timer's duration for a given retry count, e.g. ``RTO * 2^retries`` -> ``4*RTO``."""
    return _fold(expr, {**env, "retries": retries}, f"duration {expr}")
