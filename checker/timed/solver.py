"""Limits for every Z3 call: a timeout and a resource limit, and what running out means.

Z3 answers ``unknown`` when a limit stops it.  tcpcheck never reads that as a yes or a
no: a call that needs a definite answer raises :class:`SolverLimit`, and the analysis
that made it reports ``unknown`` with the reason (a timed verdict, a synthesis, a
bound) -- never ``holds``.

The limits are a value (:class:`SolverLimits`) that each timed analysis is given and
hands down to the solvers it makes (``tcpcheck --z3-timeout MS --z3-rlimit N`` builds one
for the command); the resource limit makes a run reproducible where a timeout depends
on the machine.

Examples
--------
>>> import z3
>>> limits = SolverLimits(timeout_ms=10_000)
>>> s = limits.new_solver()
>>> x = z3.Real("x")
>>> s.add(x > 1, x < 2)
>>> limits.decide(s)
True
>>> SolverLimits(rlimit=1).describe()
'timeout 60000 ms, rlimit 1'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import TcpcheckError

__all__ = ["DEFAULT_LIMITS", "SolverLimit", "SolverLimits"]


@dataclass(frozen=True)
class SolverLimits:
    """Per-call limits: milliseconds (0: none) and Z3 resource units (0: none).

    Examples
    --------
    >>> SolverLimits(timeout_ms=5_000)
    SolverLimits(timeout_ms=5000, rlimit=0, own_signals=True)
    >>> SolverLimits(timeout_ms=-1)
    Traceback (most recent call last):
    ...
    checker.errors.TcpcheckError: --z3-timeout must be at least 0 (0: no timeout)
    """

    timeout_ms: int = 60_000
    rlimit: int = 0
    #: Z3's own SIGINT handler (cancel the call under way).  Off where the caller
    #: handles signals itself, as tcpcheck's command line does.
    own_signals: bool = True

    def __post_init__(self) -> None:
        if self.timeout_ms < 0:
            raise TcpcheckError("--z3-timeout must be at least 0 (0: no timeout)")
        if self.rlimit < 0:
            raise TcpcheckError("--z3-rlimit must be at least 0 (0: no limit)")

    def describe(self) -> str:
        parts = [f"timeout {self.timeout_ms} ms" if self.timeout_ms else "no timeout"]
        if self.rlimit:
            parts.append(f"rlimit {self.rlimit}")
        return ", ".join(parts)

    def _apply(self, obj: Any) -> Any:
        import z3  # here, not at the top: the command line reads limits without solving

        if not self.own_signals:
            z3.set_param("ctrl_c", False)
        # 0 means "none" to Z3 as well, so setting both always clears an earlier limit.
        obj.set("timeout", self.timeout_ms)
        obj.set("rlimit", self.rlimit)
        return obj

    def new_solver(self, ctx: Any = None) -> Any:
        """A Z3 solver under these limits (in Z3 context ``ctx``, default the main one)."""
        import z3

        return self._apply(z3.Solver(ctx=ctx))

    def new_optimizer(self) -> Any:
        """A Z3 optimizer under these limits."""
        import z3

        return self._apply(z3.Optimize())

    def decide(self, solver: Any, what: str = "a timing constraint") -> bool:
        """Is the solver's assertion set satisfiable?  :class:`SolverLimit` if Z3 gives up.

        The limits are applied to this call: a solver kept across calls (the incremental
        one of :mod:`checker.timed.pdbm`) answers each under the limits of its caller."""
        import z3

        self._apply(solver)
        answer = solver.check()
        if answer == z3.unknown:
            reason = solver.reason_unknown()
            # Z3 catches Ctrl-C during a call and answers unknown; the user meant to stop
            # the run, not to see one more undecided constraint.
            if reason == "interrupted from keyboard":
                raise KeyboardInterrupt
            raise SolverLimit(what, reason, self)
        return bool(answer == z3.sat)


#: The limits when none are given: a minute per call, no resource limit.
DEFAULT_LIMITS = SolverLimits()


class SolverLimit(TcpcheckError):
    """Z3 answered ``unknown`` where an answer was needed."""

    def __init__(self, what: str, reason: str, limits: SolverLimits) -> None:
        super().__init__(f"Z3 could not decide {what} ({reason}; {limits.describe()})")
        self.reason = reason
