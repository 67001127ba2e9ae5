"""Limits for every Z3 call: a timeout and a resource limit, and what running out means.

Z3 answers ``unknown`` when a limit stops it.  tcpcheck never reads that as a yes or a
no: a call that needs a definite answer raises :class:`SolverLimit`, and the analysis
that made it reports ``unknown`` with the reason (a timed verdict, a synthesis, a
bound) -- never ``holds``.

The limits are process-wide (``tcpcheck --z3-timeout MS --z3-rlimit N``); the resource
limit makes a run reproducible where a timeout depends on the machine.

Examples
--------
>>> import z3
>>> s = new_solver()
>>> x = z3.Real("x")
>>> s.add(x > 1, x < 2)
>>> decide(s)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3

from ..errors import TcpcheckError

__all__ = ["LIMITS", "SolverLimit", "configure", "decide", "new_optimizer", "new_solver"]


@dataclass
class Limits:
    """Per-call limits: milliseconds (0: none) and Z3 resource units (0: none)."""

    timeout_ms: int = 60_000
    rlimit: int = 0

    def describe(self) -> str:
        parts = [f"timeout {self.timeout_ms} ms" if self.timeout_ms else "no timeout"]
        if self.rlimit:
            parts.append(f"rlimit {self.rlimit}")
        return ", ".join(parts)


#: The limits in force.
LIMITS = Limits()


class SolverLimit(TcpcheckError):
    """Z3 answered ``unknown`` where an answer was needed."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"Z3 could not decide {what} ({reason}; {LIMITS.describe()})")
        self.reason = reason


def configure(timeout_ms: int | None = None, rlimit: int | None = None) -> None:
    """Set the limits for the Z3 calls that follow."""
    if timeout_ms is not None:
        if timeout_ms < 0:
            raise TcpcheckError("--z3-timeout must be at least 0 (0: no timeout)")
        LIMITS.timeout_ms = timeout_ms
    if rlimit is not None:
        if rlimit < 0:
            raise TcpcheckError("--z3-rlimit must be at least 0 (0: no limit)")
        LIMITS.rlimit = rlimit


def _limit(obj: Any) -> Any:
    # 0 means "none" to Z3 as well, so setting both always clears an earlier limit.
    obj.set("timeout", LIMITS.timeout_ms)
    obj.set("rlimit", LIMITS.rlimit)
    return obj


def new_solver() -> Any:
    """A Z3 solver under the current limits."""
    return _limit(z3.Solver())


def new_optimizer() -> Any:
    """A Z3 optimizer under the current limits."""
    return _limit(z3.Optimize())


def decide(solver: Any, what: str = "a timing constraint") -> bool:
    """Is the solver's assertion set satisfiable?  :class:`SolverLimit` if Z3 gives up.

    The limits in force now are applied to this call: a solver kept across calls (the
    incremental one of :mod:`checker.timed.pdbm`) must not keep those of its creation."""
    _limit(solver)
    answer = solver.check()
    if answer == z3.unknown:
        raise SolverLimit(what, solver.reason_unknown())
    return bool(answer == z3.sat)
