"""The RFC requirement ids the spec cites, and where.

RFC 9293 numbers its requirements (MUST-13, SHLD-11, MAY-2, ...).  Every rule,
parameter, timer and choice of a spec carries a reference; the ids in those references
say which requirements the spec implements, and with which rule -- or, in a choice,
which it does not take and why.  The generated specification prints the index.

Examples
--------
>>> from checker.model.load import load_spec
>>> index = requirement_index(load_spec())
>>> index["MUST-23"][-3:]
['parameter SYN_RETRIES', 'parameter SYNACK_RETRIES', 'choice: R2']
>>> [where for where in index["MUST-13"] if where.startswith("timer")]
['timer 2MSL']
"""

from __future__ import annotations

import re

from .spec import Spec

__all__ = ["REQUIREMENT", "requirement_index"]

#: A requirement id of RFC 9293 (its Appendix B lists them all).
REQUIREMENT = re.compile(r"\b(MUST|SHLD|MAY)-(\d+)\b")
_LEVELS = ("MUST", "SHLD", "MAY")


def requirement_index(spec: Spec) -> dict[str, list[str]]:
    """Each requirement id cited in ``spec`` -> where: ``rule SOURCE: LABEL -> TARGET``,
    ``parameter NAME``, ``timer NAME`` or ``choice: TOPIC``; ids in RFC order (MUST,
    then SHLD, then MAY, each by number), places in the spec's order."""
    cited: list[tuple[str, str]] = []
    for t in spec.transitions:
        target = t.source if t.target == "same" else t.target
        cited.append((t.ref, f"rule {t.source}: {t.label} -> {target}"))
    cited += [(p.ref, f"parameter {p.name}") for p in spec.parameters]
    cited += [(t.ref, f"timer {t.name}") for t in spec.timers]
    cited += [(c.ref, f"choice: {c.topic}") for c in spec.choices]
    index: dict[str, list[str]] = {}
    for ref, where in cited:
        for level, number in REQUIREMENT.findall(ref):
            places = index.setdefault(f"{level}-{number}", [])
            if where not in places:
                places.append(where)
    return dict(sorted(index.items(), key=lambda kv: _order(kv[0])))


def _order(rid: str) -> tuple[int, int]:
    level, number = rid.split("-")
    return _LEVELS.index(level), int(number)
