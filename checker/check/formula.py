"""State formulas over the product: the vocabulary properties are written in.

Grammar (precedence from loosest to tightest; ``->`` is right-associative)::

    formula   := implies
    implies   := or ( "->" implies )?
    or        := and ( "or" and )*
    and       := not ( "and" not )*
    not       := "not" not | atom
    atom      := "(" formula ")" | "true" | "false" | "empty"
               | SIDE ( "=" | "!=" ) STATE
               | SIDE "in" "(" STATE ( "," STATE )* ")"
               | SIDE "." FLAG                      -- opened, closed, orphaned, passive
               | SIDE "." "retries" CMP NUMBER
               | "inflight" "(" SIDE ( "," SEGMENT )? ")"
    SIDE      := "A" | "B"
    CMP       := "<" | "<=" | ">" | ">=" | "=" | "!="

``inflight(B, FIN)`` holds when a segment sent by B carrying (at least) the named flags is
in flight; ``inflight(A)`` when anything A sent is; ``empty`` when nothing is in flight.
State names are checked against the spec; a mistake names the column.

Examples
--------
>>> f = parse_formula("A = FIN-WAIT-2 and not inflight(B, FIN)")
>>> str(f)
'(A = FIN-WAIT-2 and not inflight(B, FIN))'
>>> parse_formula("A = FIN-WAIT-2 and")
Traceback (most recent call last):
...
checker.check.formula.FormulaError: column 19: expected a condition (A = STATE, inflight(...), ...)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import did_you_mean
from ..model.segments import ACK, FIN, RST, SYN
from ..model.tokens import TokenStream, tokenize
from ..product.exploration import Exploration
from ..product.semantics import PState

__all__ = ["FLAGS", "Formula", "FormulaError", "node_values", "parse_formula"]

FLAGS = ("opened", "closed", "orphaned", "passive")
_FLAG_BITS = {"SYN": SYN, "ACK": ACK, "FIN": FIN, "RST": RST}
_CMP = ("<=", ">=", "!=", "<", ">", "=")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:[-+][A-Za-z0-9_]+)*)"
    r"|(?P<op>->|!=|<=|>=|[=<>(),.]))"
)


class FormulaError(ValueError):
    """A formula that does not parse or names something unknown; carries the column."""

    def __init__(self, message: str, column: int) -> None:
        self.column = column
        super().__init__(f"column {column}: {message}")


Eval = Callable[[PState], bool]


class Atoms(Protocol):
    """What a formula's atoms mean in another language (e.g. Promela expressions)."""

    def local(self, side: str, test: Callable[[Any], bool]) -> str:
        """The side's local state satisfies ``test`` (a predicate on a ``Local``)."""

    def inflight(self, side: str, bits: int) -> str:
        """A segment sent by ``side`` with (at least) the flag ``bits`` is in flight."""

    def empty(self) -> str:
        """Nothing is in flight."""


#: A translation: given the atoms' meaning, the formula as an expression.
Render = Callable[[Atoms], str]
_P = tuple[str, Eval, Render]


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its text, a canonical rendering and an evaluator."""

    text: str
    canonical: str
    evaluate: Eval
    states: frozenset[str]
    #: The formula in another language, from its atoms' meaning there (``&&``, ``||``,
    #: ``!`` connectives, as in Promela and C).
    render: Render

    def __call__(self, state: PState) -> bool:
        return self.evaluate(state)

    def __str__(self) -> str:
        return self.canonical


def node_values(exploration: Exploration, formula: Formula) -> bytearray:
    """``formula``'s value (1 or 0) at every node of ``exploration``.

    A formula's atoms read the two local states and what is in flight, never the counts
    of losses, duplications or forged segments; so each distinct combination of the
    node's first three words (:mod:`checker.product.flat`) is decided once, on one
    decoded state, and the rest of the nodes reuse it."""
    nodes = exploration.nodes
    out = bytearray(exploration.states)
    memo: dict[tuple[int, int, int], int] = {}
    for i in range(exploration.states):
        at = 4 * i
        key = (nodes[at], nodes[at + 1], nodes[at + 2])
        got = memo.get(key)
        if got is None:
            got = memo[key] = 1 if formula(exploration.state(i)) else 0
        out[i] = got
    return out


class _Parser(TokenStream):
    def __init__(self, text: str, state_names: Iterable[str] | None) -> None:
        self.text = text
        self.names = list(state_names) if state_names is not None else None
        super().__init__(tokenize(_TOKEN, text, FormulaError), FormulaError)
        self.used_states: set[str] = set()

    def expect(self, text: str) -> None:
        kind, value, col = self.take()
        if value != text:
            found = "the end" if kind == "end" else repr(value)
            raise FormulaError(f"expected {text!r}, found {found}", col)

    def parse(self) -> _P:
        result = self.implies()
        kind, value, col = self.peek()
        if kind != "end":
            raise FormulaError(f"unexpected {value!r}", col)
        return result

    def implies(self) -> _P:
        left = self.disj()
        if self.peek()[1] == "->":
            self.take()
            with self.nested():
                right = self.implies()
            lt, lf, lr = left
            rt, rf, rr = right
            return (
                f"({lt} -> {rt})",
                lambda s: (not lf(s)) or rf(s),
                lambda x: f"(!({lr(x)}) || {rr(x)})",
            )
        return left

    def disj(self) -> _P:
        parts = [self.conj()]
        while self.peek()[1] == "or":
            self.take()
            parts.append(self.conj())
        if len(parts) == 1:
            return parts[0]
        funcs = [f for _, f, _r in parts]
        renders = [r for _, _f, r in parts]
        return (
            "(" + " or ".join(t for t, _f, _r in parts) + ")",
            lambda s: any(f(s) for f in funcs),
            lambda x: "(" + " || ".join(r(x) for r in renders) + ")",
        )

    def conj(self) -> _P:
        parts = [self.neg()]
        while self.peek()[1] == "and":
            self.take()
            parts.append(self.neg())
        if len(parts) == 1:
            return parts[0]
        funcs = [f for _, f, _r in parts]
        renders = [r for _, _f, r in parts]
        return (
            "(" + " and ".join(t for t, _f, _r in parts) + ")",
            lambda s: all(f(s) for f in funcs),
            lambda x: "(" + " && ".join(r(x) for r in renders) + ")",
        )

    def neg(self) -> _P:
        if self.peek()[1] == "not":
            self.take()
            with self.nested():
                text, f, r = self.neg()
            return f"not {text}", lambda s: not f(s), lambda x: f"!({r(x)})"
        return self.atom()

    def state_name(self) -> str:
        kind, value, col = self.take()
        if kind != "name":
            raise FormulaError("expected a state name", col)
        if self.names is not None and value not in self.names:
            hint = did_you_mean(value, self.names)
            raise FormulaError(f"unknown state {value!r}" + (f" ({hint})" if hint else ""), col)
        self.used_states.add(value)
        return value

    def atom(self) -> _P:
        _kind, value, col = self.take()
        if value == "(":
            with self.nested():
                inner = self.implies()
            self.expect(")")
            return inner
        if value == "true":
            return "true", lambda s: True, lambda x: "true"
        if value == "false":
            return "false", lambda s: False, lambda x: "false"
        if value == "empty":
            return "empty", lambda s: not s.ab and not s.ba, lambda x: x.empty()
        if value == "inflight":
            return self.inflight()
        if value in ("A", "B"):
            return self.side_atom(value)
        raise FormulaError("expected a condition (A = STATE, inflight(...), ...)", col)

    def inflight(self) -> _P:
        self.expect("(")
        _kind, side, col = self.take()
        if side not in ("A", "B"):
            raise FormulaError("expected the sending side, A or B", col)
        bits = 0
        seg_text = ""
        if self.peek()[1] == ",":
            self.take()
            _kind, seg_text, col = self.take()
            for part in seg_text.split("+"):
                if part not in _FLAG_BITS:
                    hint = did_you_mean(part, _FLAG_BITS)
                    raise FormulaError(
                        f"unknown segment flag {part!r}" + (f" ({hint})" if hint else ""), col
                    )
                bits |= _FLAG_BITS[part]
        self.expect(")")
        text = f"inflight({side}" + (f", {seg_text})" if seg_text else ")")

        def holds(s: PState) -> bool:
            chan = s.ab if side == "A" else s.ba
            return any(seg.flags & bits == bits for seg in chan)

        return text, holds, lambda x: x.inflight(side, bits)

    def side_atom(self, side: str) -> _P:
        def local(s: PState) -> object:
            return s.a if side == "A" else s.b

        kind, op, col = self.take()
        if op in ("=", "!="):
            name = self.state_name()
            if op == "=":
                return (
                    f"{side} = {name}",
                    lambda s: local(s).state == name,  # type: ignore[attr-defined]
                    lambda x: x.local(side, lambda loc: loc.state == name),
                )
            return (
                f"{side} != {name}",
                lambda s: local(s).state != name,  # type: ignore[attr-defined]
                lambda x: x.local(side, lambda loc: loc.state != name),
            )
        if op == "in":
            self.expect("(")
            names = [self.state_name()]
            while self.peek()[1] == ",":
                self.take()
                names.append(self.state_name())
            self.expect(")")
            group = frozenset(names)
            return (
                f"{side} in ({', '.join(names)})",
                lambda s: local(s).state in group,  # type: ignore[attr-defined]
                lambda x: x.local(side, lambda loc: loc.state in group),
            )
        if op == ".":
            kind, fld, col = self.take()
            if fld == "retries":
                kind, cmp, col = self.take()
                if cmp not in _CMP:
                    raise FormulaError("expected a comparison (<, <=, >, >=, =, !=)", col)
                kind, num, col = self.take()
                if kind != "num":
                    raise FormulaError("expected a number", col)
                n = int(num)
                ops: dict[str, Callable[[int], bool]] = {
                    "<": lambda r: r < n,
                    "<=": lambda r: r <= n,
                    ">": lambda r: r > n,
                    ">=": lambda r: r >= n,
                    "=": lambda r: r == n,
                    "!=": lambda r: r != n,
                }
                test = ops[cmp]
                return (
                    f"{side}.retries {cmp} {n}",
                    lambda s: test(local(s).retries),  # type: ignore[attr-defined]
                    lambda x: x.local(side, lambda loc: test(loc.retries)),
                )
            if fld not in FLAGS:
                hint = did_you_mean(fld, (*FLAGS, "retries"))
                raise FormulaError(f"unknown field {fld!r}" + (f" ({hint})" if hint else ""), col)
            attr = "closed" if fld == "orphaned" else fld
            return (
                f"{side}.{fld}",
                lambda s: bool(getattr(local(s), attr)),
                lambda x: x.local(side, lambda loc: bool(getattr(loc, attr))),
            )
        raise FormulaError(f"expected '=', '!=', 'in' or '.' after {side}", col)


def parse_formula(text: str, state_names: Iterable[str] | None = None) -> Formula:
    """Parse ``text``; with ``state_names``, unknown states are errors (with a hint)."""
    parser = _Parser(text, state_names)
    canonical, evaluate, render = parser.parse()
    return Formula(text, canonical, evaluate, frozenset(parser.used_states), render)
