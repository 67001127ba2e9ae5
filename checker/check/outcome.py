"""The verdict vocabulary: every check answers ``holds``, ``violated`` or ``unknown``.

``unknown`` means the check could not decide: an exploration bound was reached, or the
only counterexamples are artefacts of the channel capacity.  The same three values are
the expected verdicts of a property suite, tcpcheck's and SPIN's answers in a cross-check,
and the verdicts of the timed checks.  They are strings, so JSON and printed text show the
plain words.

Examples
--------
>>> Outcome("violated") is Outcome.VIOLATED, f"{Outcome.HOLDS}", Outcome.UNKNOWN == "unknown"
(True, 'holds', True)
>>> ", ".join(Outcome)
'holds, violated, unknown'
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Outcome"]


class Outcome(StrEnum):
    """A three-valued verdict.

    Examples
    --------
    >>> Outcome("holds"), str(Outcome.VIOLATED)
    (<Outcome.HOLDS: 'holds'>, 'violated')
    """

    HOLDS = "holds"
    VIOLATED = "violated"
    UNKNOWN = "unknown"
