"""Arithmetic over named parameters: ``2 * MSL``, ``RTO * 2^retries``.

Parameter values and timer durations in the spec are written in this tiny language and
parsed here, safely (no ``eval``).  The timed layer turns the same trees into solver
terms, so the grammar stays small: numbers, names, ``+ - * / ^``, unary minus and
parentheses, with the usual precedence (``^`` binds tightest and is right-associative),
and five functions of numbers -- ``min(a, b)``, ``max(a, b)``, ``ceil(x)``, ``floor(x)``,
``log2(x)`` -- for the values a kernel derives from its settings (they take no solver
terms).

Examples
--------
>>> e = parse("2 * MSL")
>>> e.evaluate({"MSL": 30})
60.0
>>> sorted(parse("RTO * 2^retries").names())
['RTO', 'retries']
>>> parse("min(2^(N + 1) - 2, ceil(log2(12)))").evaluate({"N": 3})
4.0
>>> parse("2 *")
Traceback (most recent call last):
...
checker.model.expr.ExprSyntaxError: expected a number, a name or '(' at column 4
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .tokens import Token, TokenStream, tokenize

__all__ = [
    "FUNCTIONS",
    "BinOp",
    "Call",
    "Expr",
    "ExprSyntaxError",
    "Name",
    "Neg",
    "Num",
    "names_in_calls",
    "parse",
]


class ExprSyntaxError(ValueError):
    """A syntax error, with the 1-based column where it was found."""

    def __init__(self, message: str, column: int) -> None:
        self.column = column
        super().__init__(f"{message} at column {column}")


class Expr:
    """Base of the expression tree."""

    def fold(self, env: Mapping[str, Any], num: Callable[[float], Any] = float) -> Any:
        """Evaluate over any arithmetic (floats, solver terms): names from ``env``,
        literals through ``num``.  ``x ^ n`` with a natural ``n`` is repeated
        multiplication, so it stays linear in ``x`` for a solver."""
        raise NotImplementedError

    def evaluate(self, env: Mapping[str, float]) -> float:
        return float(self.fold(env))

    def names(self) -> set[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class Num(Expr):
    value: float

    def fold(self, env: Mapping[str, Any], num: Callable[[float], Any] = float) -> Any:
        return num(self.value)

    def names(self) -> set[str]:
        return set()

    def __str__(self) -> str:
        v = self.value
        return str(int(v)) if float(v).is_integer() else repr(v)


@dataclass(frozen=True)
class Name(Expr):
    name: str

    def fold(self, env: Mapping[str, Any], num: Callable[[float], Any] = float) -> Any:
        return env[self.name]

    def names(self) -> set[str]:
        return {self.name}

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr

    def fold(self, env: Mapping[str, Any], num: Callable[[float], Any] = float) -> Any:
        return -self.operand.fold(env, num)

    def names(self) -> set[str]:
        return self.operand.names()

    def __str__(self) -> str:
        return f"-{self.operand}"


@dataclass(frozen=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr

    def fold(self, env: Mapping[str, Any], num: Callable[[float], Any] = float) -> Any:
        a = self.left.fold(env, num)
        b = self.right.fold(env, num)
        if self.op == "+":
            return a + b
        if self.op == "-":
            return a - b
        if self.op == "*":
            return a * b
        if self.op == "/":
            return a / b
        exponent, base = _number(b), _number(a)
        if exponent is not None and exponent.is_integer() and 0 <= exponent <= 64:
            result = num(1)
            for _ in range(int(exponent)):
                result = result * a
            return result
        if base is not None and exponent is not None:
            return base**exponent
        raise ValueError(f"{self}: the exponent must be a natural number")

    def names(self) -> set[str]:
        return self.left.names() | self.right.names()

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


#: The functions an expression may call, by name: how many arguments, and what they do.
FUNCTIONS: dict[str, tuple[int, Callable[..., float]]] = {
    "min": (2, min),
    "max": (2, max),
    # Rounded to 9 places first: parameters are decimal seconds, and binary floating
    # point must not make (522.2 - 102.2) / 60 = 7.000000000000001 round up to 8.
    "ceil": (1, lambda x: float(math.ceil(round(x, 9)))),
    "floor": (1, lambda x: float(math.floor(round(x, 9)))),
    "log2": (1, math.log2),
}


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a number, or a solver term that is a constant (it
    has ``is_const`` and ``const``, as :class:`checker.timed.linear.Linear` does)."""
    if isinstance(value, (int, float)):
        return float(value)
    if getattr(value, "is_const", False):
        return float(value.const)
    return None


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]

    def fold(self, env: Mapping[str, Any], num: Callable[[float], Any] = float) -> Any:
        values = [_number(a.fold(env, num)) for a in self.args]
        if any(v is None for v in values):
            raise ValueError(f"{self}: {self.name}() takes numbers, not unknowns")
        try:
            # A plain number, whatever ``num`` makes: it may be an exponent.
            return float(FUNCTIONS[self.name][1](*values))
        except ValueError:  # log2 of a number not above 0
            raise ValueError(f"{self}: {self.name}() is undefined there") from None

    def names(self) -> set[str]:
        return set().union(*(a.names() for a in self.args))

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(a) for a in self.args)})"


def names_in_calls(expr: Expr) -> set[str]:
    """The names ``expr`` passes to a function (``min(RTO * 2^retries, RTO_MAX)``: RTO
    and RTO_MAX): the timed layer cannot keep them as unknowns.

    >>> sorted(names_in_calls(parse("min(RTO * 2^retries, RTO_MAX) + MSL")))
    ['RTO', 'RTO_MAX', 'retries']
    """
    if isinstance(expr, Call):
        return expr.names()
    if isinstance(expr, BinOp):
        return names_in_calls(expr.left) | names_in_calls(expr.right)
    if isinstance(expr, Neg):
        return names_in_calls(expr.operand)
    return set()


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[-+*/^(),]))"
)


def _tokenize(text: str) -> list[Token]:
    tokens = tokenize(_TOKEN, text, ExprSyntaxError)
    return [(k, "^" if (k, v) == ("op", "**") else v, c) for k, v, c in tokens]


class _Parser(TokenStream):
    def __init__(self, text: str) -> None:
        super().__init__(_tokenize(text), ExprSyntaxError)

    def expr(self) -> Expr:
        node = self.term()
        while self.peek()[:2] in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.peek()[:2] in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            node = BinOp(op, node, self.unary())
        return node

    def unary(self) -> Expr:
        if self.peek()[:2] == ("op", "-"):
            self.take()
            with self.nested():
                return Neg(self.unary())
        return self.power()

    def power(self) -> Expr:
        base = self.atom()
        if self.peek()[:2] == ("op", "^"):
            self.take()
            with self.nested():
                return BinOp("^", base, self.unary())
        return base

    def atom(self) -> Expr:
        kind, text, column = self.take()
        if kind == "num":
            return Num(float(text))
        if kind == "name":
            if text in FUNCTIONS and self.peek()[:2] == ("op", "("):
                return self.call(text, column)
            return Name(text)
        if (kind, text) == ("op", "("):
            with self.nested():
                node = self.expr()
            kind2, text2, column2 = self.take()
            if (kind2, text2) != ("op", ")"):
                raise ExprSyntaxError("expected ')'", column2)
            return node
        raise ExprSyntaxError("expected a number, a name or '('", column)

    def call(self, name: str, column: int) -> Expr:
        """``name(arg, ...)``, its argument count checked."""
        self.take()  # "("
        args: list[Expr] = []
        with self.nested():
            args.append(self.expr())
            while self.peek()[:2] == ("op", ","):
                self.take()
                args.append(self.expr())
        kind, text, at = self.take()
        if (kind, text) != ("op", ")"):
            raise ExprSyntaxError("expected ',' or ')'", at)
        want = FUNCTIONS[name][0]
        if len(args) != want:
            raise ExprSyntaxError(f"{name}() takes {want} argument(s), not {len(args)}", column)
        return Call(name, tuple(args))


def parse(text: str) -> Expr:
    """Parse ``text``; raise :class:`ExprSyntaxError` naming the column on a mistake."""
    parser = _Parser(text)
    node = parser.expr()
    kind, tok, column = parser.peek()
    if kind != "end":
        raise ExprSyntaxError(f"unexpected {tok!r}", column)
    return node
