"""Arithmetic over named parameters: ``2 * MSL``, ``RTO * 2^retries``.

Parameter values and timer durations in the spec are written in this tiny language and
parsed here, safely (no ``eval``).  The timed layer turns the same trees into solver
terms, so the grammar stays small: numbers, names, ``+ - * / ^``, unary minus and
parentheses, with the usual precedence (``^`` binds tightest and is right-associative).

Examples
--------
>>> e = parse("2 * MSL")
>>> e.evaluate({"MSL": 30})
60.0
>>> sorted(parse("RTO * 2^retries").names())
['RTO', 'retries']
>>> parse("2 *")
Traceback (most recent call last):
...
checker.expr.ExprSyntaxError: expected a number, a name or '(' at column 4
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .tokens import Token, tokenize

__all__ = ["BinOp", "Expr", "ExprSyntaxError", "Name", "Neg", "Num", "parse"]


class ExprSyntaxError(ValueError):
    """A syntax error, with the 1-based column where it was found."""

    def __init__(self, message: str, column: int) -> None:
        self.column = column
        super().__init__(f"{message} at column {column}")


class Expr:
    """Base of the expression tree."""

    def evaluate(self, env: Mapping[str, float]) -> float:
        raise NotImplementedError

    def names(self) -> set[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class Num(Expr):
    value: float

    def evaluate(self, env: Mapping[str, float]) -> float:
        return float(self.value)

    def names(self) -> set[str]:
        return set()

    def __str__(self) -> str:
        v = self.value
        return str(int(v)) if float(v).is_integer() else repr(v)


@dataclass(frozen=True)
class Name(Expr):
    name: str

    def evaluate(self, env: Mapping[str, float]) -> float:
        return float(env[self.name])

    def names(self) -> set[str]:
        return {self.name}

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr

    def evaluate(self, env: Mapping[str, float]) -> float:
        return -self.operand.evaluate(env)

    def names(self) -> set[str]:
        return self.operand.names()

    def __str__(self) -> str:
        return f"-{self.operand}"


@dataclass(frozen=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr

    def evaluate(self, env: Mapping[str, float]) -> float:
        a = self.left.evaluate(env)
        b = self.right.evaluate(env)
        if self.op == "+":
            return a + b
        if self.op == "-":
            return a - b
        if self.op == "*":
            return a * b
        if self.op == "/":
            return a / b
        return float(a**b)

    def names(self) -> set[str]:
        return self.left.names() | self.right.names()

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[-+*/^()]))"
)


def _tokenize(text: str) -> list[Token]:
    tokens = tokenize(_TOKEN, text, ExprSyntaxError)
    return [(k, "^" if (k, v) == ("op", "**") else v, c) for k, v, c in tokens]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

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
            return Neg(self.unary())
        return self.power()

    def power(self) -> Expr:
        base = self.atom()
        if self.peek()[:2] == ("op", "^"):
            self.take()
            return BinOp("^", base, self.unary())
        return base

    def atom(self) -> Expr:
        kind, text, column = self.take()
        if kind == "num":
            return Num(float(text))
        if kind == "name":
            return Name(text)
        if (kind, text) == ("op", "("):
            node = self.expr()
            kind2, text2, column2 = self.take()
            if (kind2, text2) != ("op", ")"):
                raise ExprSyntaxError("expected ')'", column2)
            return node
        raise ExprSyntaxError("expected a number, a name or '('", column)


def parse(text: str) -> Expr:
    """Parse ``text``; raise :class:`ExprSyntaxError` naming the column on a mistake."""
    parser = _Parser(text)
    node = parser.expr()
    kind, tok, column = parser.peek()
    if kind != "end":
        raise ExprSyntaxError(f"unexpected {tok!r}", column)
    return node
