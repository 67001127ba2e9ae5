"""The project's own fuzzing, bounded: generated spec overlays, property suites,
formulas, parameter expressions, command lines and captures (:mod:`fuzzing`) must end
with an exit status of the table and, for an input error, a message naming the file --
never a traceback, a hang, or a file outside the run's folder.  ``benchmarks/fuzz.py``
runs the same families on 10,000 inputs and more."""

from __future__ import annotations

import random
from itertools import count
from pathlib import Path

import pytest
from fuzzing import FAMILIES, run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Examples per family: a command line runs a search (about 0.6 s), the other families
#: mostly stop at loading (a few milliseconds) -- about a minute in all on one core.
EXAMPLES = {"cli": 50, "overlay": 300, "suite": 300, "formula": 300, "expression": 300, "pcap": 150}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generated_input_never_escapes_the_exit_table(family: str, tmp_path: Path) -> None:
    cases = count()

    @settings(
        max_examples=EXAMPLES[family],
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(st.randoms(use_true_random=False))
    def one(rng: random.Random) -> None:
        case = FAMILIES[family](rng)
        outcome = run_case(case, tmp_path / f"case-{next(cases)}", seconds=60)
        assert not outcome.bad, (outcome, case.args, case.files)

    one()
