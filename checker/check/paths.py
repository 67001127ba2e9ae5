"""Path patterns: the formulas of ``path`` properties.

``A: CLOSED, SYN-SENT, *, TIME-WAIT`` is matched by a run that takes endpoint A through
exactly these control states, in order; ``*`` stands for any states, possibly none.  A
run's control state matters only when it changes: staying in a state is no new element.
The pattern is followed position by position (:func:`path_start`, :func:`path_step`), so
that a search can pair it with the states of a graph -- tcpcheck's path check
(:mod:`checker.check.untimed`), SPIN's claims (:mod:`checker.export.claims`) and the
replay of SPIN's trails (:mod:`checker.export.crosscheck`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import did_you_mean
from .formula import FormulaError

__all__ = ["parse_path", "path_start", "path_step"]


def parse_path(text: str, names: Iterable[str] | None = None) -> tuple[str, list[str]]:
    """``"A: CLOSED, SYN-SENT, *"`` -> ``("A", ["CLOSED", "SYN-SENT", "*"])``."""
    side, sep, rest = text.partition(":")
    if side.strip() not in ("A", "B") or not sep:
        raise FormulaError("a path starts with the endpoint, 'A:' or 'B:'", 1)
    known = list(names) if names is not None else None
    pattern: list[str] = []
    column = len(side) + 2
    for item in rest.split(","):
        name = item.strip()
        if not name:
            raise FormulaError("empty element in the path", column)
        if name != "*" and known is not None and name not in known:
            hint = did_you_mean(name, known)
            raise FormulaError(f"unknown state {name!r}" + (f" ({hint})" if hint else ""), column)
        pattern.append(name)
        column += len(item) + 1
    return side.strip(), pattern


def _closure(pattern: list[str], positions: Iterable[int]) -> frozenset[int]:
    out = set(positions)
    frontier = list(out)
    while frontier:
        i = frontier.pop()
        if i < len(pattern) and pattern[i] == "*" and i + 1 not in out:
            out.add(i + 1)
            frontier.append(i + 1)
    return frozenset(out)


def path_start(pattern: list[str], state: str) -> frozenset[int]:
    """The pattern positions reached by a run whose first control state is ``state``
    (position ``i``: the first ``i`` elements matched; ``len(pattern)``: all of it).

    >>> sorted(path_start(["CLOSED", "*", "TIME-WAIT"], "CLOSED"))
    [1, 2]
    """
    return _advance(pattern, _closure(pattern, {0}), state)


def path_step(pattern: list[str], positions: frozenset[int], state: str) -> frozenset[int]:
    """The positions after the control state changes to ``state`` (empty: no match)."""
    return _advance(pattern, positions, state)


def _advance(pattern: list[str], positions: frozenset[int], state: str) -> frozenset[int]:
    nxt = set()
    for i in positions:
        if i < len(pattern) and (pattern[i] == "*" or pattern[i] == state):
            nxt.add(i if pattern[i] == "*" else i + 1)
    return _closure(pattern, nxt)
