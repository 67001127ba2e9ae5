"""The exit statuses of every ``tcpcheck`` command: one table, one home.

A CI pipeline reads the status before the output, so each means one thing whatever the
command: 1 is only ever "a verdict differs" (never a crash, never Ctrl-C), 3 only ever "a
limit stopped the work" (the output says which and how far it got).

Examples
--------
>>> int(Exit.INCOMPLETE)
3
>>> Exit.for_signal(15)
143
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["EXIT_TABLE", "Exit"]


class Exit(IntEnum):
    """What a command's exit status says."""

    #: Every verdict as expected: holds where it should, conforms, agrees, up to date.
    OK = 0
    #: A verdict differs from the expected one, a capture does not conform, SPIN
    #: disagrees, the generated docs are stale.
    DIFFERS = 1
    #: Usage or input error: a malformed spec or suite, an unknown name, an impossible
    #: option, a broken capture, an output path the file system refuses.
    INPUT = 2
    #: Incomplete: a limit (states, seconds, memory, the solver) stopped the work before
    #: a definite answer; what was found so far is printed and marked so.
    INCOMPLETE = 3
    #: Internal error: a bug in tcpcheck (the message says where to report it;
    #: ``tcpcheck --debug`` shows the traceback).
    INTERNAL = 4
    #: Interrupted by Ctrl-C (SIGINT); everything the run created is removed.
    INTERRUPTED = 130

    @staticmethod
    def for_signal(signum: int) -> int:
        """The shell's convention for a run ended by signal ``signum``: 128 + its number
        (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + signum


#: The table, as ``--help`` and the README print it.
EXIT_TABLE = """\
Exit status:
  0    all as expected (holds where expected, conforms, agrees, up to date)
  1    a verdict differs from the expected one / does not conform / disagrees / stale
  2    usage or input error (the message names the file, the entry and the fix)
  3    incomplete: a limit (states, seconds, memory, solver) stopped it; partial result
  4    internal error: a bug in tcpcheck (rerun with --debug for the traceback)
  130  interrupted (Ctrl-C; 143 for SIGTERM): partial result, nothing left behind"""
