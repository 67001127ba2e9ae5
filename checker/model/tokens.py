"""One tokenizer for the two small languages (parameter arithmetic and state formulas).

>>> import re
>>> pattern = re.compile(r"\\s*(?:(?P<num>\\d+)|(?P<op>[+*]))")
>>> tokenize(pattern, "1 + 2", ValueError)
[('num', '1', 1), ('op', '+', 3), ('num', '2', 5), ('end', '', 6)]
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["Token", "TokenStream", "tokenize"]

#: (kind -- the name of the group that matched, text, 1-based column)
Token = tuple[str, str, int]


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
        pos = m.end()
    tokens.append(("end", "", len(text) + 1))
    return tokens


class TokenStream:
    """A cursor over tokens, the base of both small parsers."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok
