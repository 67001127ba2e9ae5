"""One tokenizer for the two small languages (parameter arithmetic and state formulas).

>>> import re
>>> pattern = re.compile(r"\\s*(?:(?P<num>\\d+)|(?P<op>[+*]))")
>>> tokenize(pattern, "1 + 2", ValueError)
[('num', '1', 1), ('op', '+', 3), ('num', '2', 5), ('end', '', 6)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["MAX_NESTING", "MAX_TOKENS", "Token", "TokenStream", "tokenize"]

#: (kind -- the name of the group that matched, text, 1-based column)
Token = tuple[str, str, int]

#: The longest text either language reads, in tokens: a parameter's arithmetic or a
#: state formula is a line, and a tree built from more -- ``a + a + ...`` folds one
#: level per operator -- would outgrow Python's stack when evaluated.
MAX_TOKENS = 1000
#: How deep constructs may nest (parentheses, a unary minus or ``not``, the right side of
#: ``^`` or ``->``): each level is several frames of the recursive-descent parsers.
MAX_NESTING = 64


def tokenize(
    pattern: re.Pattern[str], text: str, error: Callable[[str, int], Exception]
) -> list[Token]:
    """Split ``text`` with ``pattern`` (named groups, leading whitespace allowed); raise
    ``error(message, column)`` at the first character it cannot read."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text) and text[pos:].strip():
        m = pattern.match(text, pos)
        if m is None or m.lastgroup is None:
            column = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise error(f"unexpected character {text[column - 1]!r}", column)
        kind = m.lastgroup
        tokens.append((kind, m.group(kind), m.start(kind) + 1))
        if len(tokens) > MAX_TOKENS:
            raise error(f"too long: more than {MAX_TOKENS} tokens", m.start(kind) + 1)
        pos = m.end()
    tokens.append(("end", "", len(text) + 1))
    return tokens


class TokenStream:
    """A cursor over tokens, the base of both small parsers; ``error(message, column)``
    is the parser's exception."""

    def __init__(self, tokens: list[Token], error: Callable[[str, int], Exception]) -> None:
        self.tokens = tokens
        self.i = 0
        self.error = error
        self.depth = 0

    @contextmanager
    def nested(self) -> Iterator[None]:
        """One level deeper (a parenthesis, a unary operator, a right-recursive one); an
        error at the token that goes past :data:`MAX_NESTING`."""
        if self.depth >= MAX_NESTING:
            raise self.error(f"nested more than {MAX_NESTING} deep", self.tokens[self.i][2])
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok
