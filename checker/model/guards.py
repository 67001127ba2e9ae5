"""Transition guards: the facts beyond the control state that a rule may depend on.

A guard is a conjunction (``and``) of atoms:

``passive`` / ``active``
    the connection was (not) initiated by a passive OPEN -- RFC 9293 §3.5 (MUST-11)
    requires this to be remembered for SYN-RECEIVED;
``orphaned`` / ``attached``
    the application has (not) closed its socket (Linux's orphan timers apply only then);
``syn-acked`` / ``syn-unacked``
    our SYN has (not) been acknowledged (SND.UNA > ISS);
``retries < P`` / ``retries >= P``
    retransmissions so far against the retry bound parameter ``P``;
``P = N`` / ``P != N``
    a setting parameter at (or not at) the whole number ``N``: a switch off or on
    (``tcp_rfc1337 = 0``), or one mode of several (``tcp_tw_reuse = 1``).

Examples
--------
>>> g = parse_guard("retries < FIN_RETRIES and syn-acked")
>>> g.holds(passive=False, orphaned=True, una=1, retries=0, params={"FIN_RETRIES": 2})
True
>>> sorted(g.parameters())
['FIN_RETRIES']
>>> parse_guard("retries < ")
Traceback (most recent call last):
...
checker.model.guards.GuardSyntaxError: cannot read guard atom 'retries <' (expected one of: ...)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TRUE", "Atom", "Guard", "GuardSyntaxError", "parse_guard"]

_FLAGS = ("passive", "active", "orphaned", "attached", "syn-acked", "syn-unacked")
_RETRIES = re.compile(r"^retries\s*(<|>=)\s*([A-Za-z_][A-Za-z0-9_]*)$")
_SETTING = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(=|!=)\s*([0-9]+)$")


class GuardSyntaxError(ValueError):
    """A guard that does not parse."""


@dataclass(frozen=True)
class Atom:
    """One guard atom: a flag, a comparison of the retry counter with a parameter, or
    of a setting parameter with ``value``."""

    kind: str
    param: str | None = None
    value: int = 0

    def holds(
        self, *, passive: bool, orphaned: bool, una: int, retries: int, params: Mapping[str, float]
    ) -> bool:
        if self.kind == "passive":
            return passive
        if self.kind == "active":
            return not passive
        if self.kind == "orphaned":
            return orphaned
        if self.kind == "attached":
            return not orphaned
        if self.kind == "syn-acked":
            return una >= 1
        if self.kind == "syn-unacked":
            return una < 1
        assert self.param is not None
        bound = params[self.param]
        if self.kind in ("=", "!="):
            return (bound == self.value) == (self.kind == "=")
        return retries < bound if self.kind == "<" else retries >= bound

    def __str__(self) -> str:
        if self.kind in ("=", "!="):
            return f"{self.param} {self.kind} {self.value}"
        return f"retries {self.kind} {self.param}" if self.param else self.kind


@dataclass(frozen=True)
class Guard:
    """A conjunction of atoms; the empty guard always holds."""

    atoms: tuple[Atom, ...] = ()

    def holds(
        self, *, passive: bool, orphaned: bool, una: int, retries: int, params: Mapping[str, float]
    ) -> bool:
        return all(
            a.holds(passive=passive, orphaned=orphaned, una=una, retries=retries, params=params)
            for a in self.atoms
        )

    def parameters(self) -> set[str]:
        return {a.param for a in self.atoms if a.param is not None}

    def narrow(
        self,
        *,
        passive: bool,
        orphaned: bool,
        una: int,
        retries: int,
        ranges: Mapping[str, tuple[int, int]],
    ) -> dict[str, tuple[int, int]] | None:
        """The guard with its retry bounds unknown: ``ranges`` (lo, hi) of each bound
        parameter narrowed to the values for which it holds, or ``None`` if none do.
        A range has no holes: ``P != N`` narrows it only where ``N`` is at its end.

        >>> g = parse_guard("retries < FIN_RETRIES and syn-acked")
        >>> g.narrow(passive=False, orphaned=True, una=1, retries=2,
        ...          ranges={"FIN_RETRIES": (0, 16)})
        {'FIN_RETRIES': (3, 16)}
        """
        out = dict(ranges)
        for a in self.atoms:
            if a.param is None:
                if not a.holds(
                    passive=passive, orphaned=orphaned, una=una, retries=retries, params={}
                ):
                    return None
                continue
            lo, hi = out[a.param]
            # retries < P  <=>  P >= retries + 1;   retries >= P  <=>  P <= retries
            if a.kind == "<":
                lo = max(lo, retries + 1)
            elif a.kind == ">=":
                hi = min(hi, retries)
            elif a.kind == "=":
                lo, hi = max(lo, a.value), min(hi, a.value)
            elif lo == a.value:
                lo += 1
            elif hi == a.value:
                hi -= 1
            if lo > hi:
                return None
            out[a.param] = (lo, hi)
        return out

    def __bool__(self) -> bool:
        return bool(self.atoms)

    def __str__(self) -> str:
        return " and ".join(str(a) for a in self.atoms)


TRUE = Guard()


def parse_guard(text: str | None) -> Guard:
    """Parse a guard; ``None`` or an empty string is the guard that always holds."""
    if text is None or not text.strip():
        return TRUE
    atoms: list[Atom] = []
    for part in re.split(r"\s+and\s+", text.strip()):
        part = part.strip()
        if part in _FLAGS:
            atoms.append(Atom(part))
            continue
        m = _RETRIES.match(part)
        if m is not None:
            atoms.append(Atom(m.group(1), m.group(2)))
            continue
        m = _SETTING.match(part)
        if m is None:
            raise GuardSyntaxError(
                f"cannot read guard atom {part!r} (expected one of: "
                + ", ".join(_FLAGS)
                + ", retries < PARAM, retries >= PARAM, PARAM = N, PARAM != N)"
            )
        atoms.append(Atom(m.group(2), m.group(1), int(m.group(3))))
    return Guard(tuple(atoms))
