"""Parameter synthesis against hand arithmetic and against the concrete checker.

The instances are small enough to finish in seconds: the headline property with
FIN_RETRIES = 2, first with MSL = 2 s and RTO = 1 s and TIME_WAIT free, then with all
three free.  By the arithmetic of tests/test_timedcheck.py it holds iff TIME_WAIT >= RTO +
MSL (the first retransmission leaves RTO after B's FIN and may take MSL) and B does not
give up first: its last retransmission leaves at 3 RTO and it gives up at 7 RTO, and a
re-ACK of the first retransmission arrives by RTO + 2 MSL, so 2 MSL < 6 RTO.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import z3
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.check.outcome import Outcome
from checker.check.properties import load_properties
from checker.cli import cli
from checker.errors import UsageError
from checker.model.load import load_spec
from checker.suite import run_suite
from checker.timed.synth import (
    Synthesis,
    SynthStatus,
    folklore,
    loss_budgets,
    region_formula,
    synthesize,
)

EXACT = SynthStatus.EXACT

PROPS = {p.name: p for p in load_properties(spec=load_spec())}
HEADLINE = PROPS["last-ack-not-stuck"]
FIXED = {"FIN_RETRIES": 2, "MSL": 2, "RTO": 1}


@pytest.fixture(scope="module")
def synthesized() -> Synthesis:
    return synthesize(HEADLINE, load_spec(params=FIXED), None, ["TIME_WAIT"])


def test_synthesized_constraint_matches_hand_arithmetic(synthesized: Synthesis) -> None:
    assert synthesized.status == "exact"
    assert synthesized.text() == "TIME_WAIT >= 3"
    doc = synthesized.to_json()
    assert doc["free"] == ["TIME_WAIT"] and doc["fixed"]["MSL"] == 2
    assert doc["clauses"] == [[{"coefficients": {"TIME_WAIT": 1}, "constant": -3, "op": ">="}]]
    assert doc["textbook"] == "TIME_WAIT = 2*MSL = 4 always suffices here"


def test_whether_two_msl_suffices_is_read_off_the_region() -> None:
    """The headline's region over TIME_WAIT, MSL and RTO (FIN_RETRIES = 6), as the
    concrete boundary tests of tests/test_timedcheck.py pin it: TIME_WAIT >= RTO + MSL
    and 2 MSL < 126 RTO.  With TIME_WAIT = 2 MSL the first reads RTO <= MSL."""
    free = ("TIME_WAIT", "MSL", "RTO")
    region = (((0, (1, -1, -1), False),), ((0, (0, -2, 126), True),))
    syn = Synthesis(HEADLINE, None, free, {"FIN_RETRIES": 6}, EXACT, "", region, 0, 0.0)
    assert syn.text() == "TIME_WAIT >= MSL + RTO and MSL < 63*RTO"
    assert folklore(syn) == "TIME_WAIT = 2*MSL suffices iff MSL >= RTO and MSL < 63*RTO"
    # MSL fixed at 30: 2 MSL = 60 against TIME_WAIT >= 31 and TIME_WAIT >= RTO + 30.
    one = Synthesis(
        HEADLINE, None, ("TIME_WAIT",), {"MSL": 30}, EXACT, "", (((-61, (1,), False),),), 0, 0.0
    )
    assert folklore(one) == "TIME_WAIT = 2*MSL = 60 never suffices here"
    two = (((-30, (1, -1), False),),)
    syn = Synthesis(HEADLINE, None, ("TIME_WAIT", "RTO"), {"MSL": 30}, EXACT, "", two, 0, 0.0)
    assert folklore(syn) == "TIME_WAIT = 2*MSL = 60 suffices iff RTO <= 30"


@settings(max_examples=12, deadline=None)
@given(st.integers(min_value=1, max_value=60).map(lambda n: Fraction(n, 10)))
def test_region_agrees_with_the_concrete_verdict(synthesized: Synthesis, tw: Fraction) -> None:
    assert synthesized.clauses is not None
    region = region_formula(synthesized.clauses, synthesized.free)
    inside = z3.simplify(z3.substitute(region, (z3.Real("TIME_WAIT"), z3.RealVal(tw))))
    expected = Outcome.HOLDS if z3.is_true(inside) else Outcome.VIOLATED
    # The concrete checker reads a decimal as the fraction it spells (0.1 is 1/10).
    params = {**FIXED, "TIME_WAIT": float(tw)}
    assert run_suite([HEADLINE], variants=[None], params=params)[0].verdict == expected


FREE3 = ["TIME_WAIT", "MSL", "RTO"]
SMALL = {"FIN_RETRIES": 2}


@pytest.fixture(scope="module")
def three() -> Synthesis:
    return synthesize(HEADLINE, load_spec(params=SMALL), None, FREE3)


def test_three_free_parameters_match_hand_arithmetic(three: Synthesis) -> None:
    assert three.status == "exact", three.message
    assert three.text() == "TIME_WAIT >= MSL + RTO and MSL < 3*RTO"
    assert folklore(three) == "TIME_WAIT = 2*MSL suffices iff MSL >= RTO and MSL < 3*RTO"
    assert "tiles of the parameter space" in three.message and "RTO = 1" in three.message


def test_the_region_is_split_into_named_conditions(three: Synthesis) -> None:
    """Each clause is named by the violations it alone rules out, and weighed at the
    spec's values (TIME_WAIT = 240, MSL = 120, RTO = 1): the TIME-WAIT condition holds
    with 119 s to spare, the retry-budget condition fails by 117 s -- B gives up first."""
    tw, retry = three.conditions
    assert tw.text == "TIME_WAIT >= MSL + RTO" and retry.text == "MSL < 3*RTO"
    assert tw.rules_out == ("a RST from A, which had closed by timeout 2MSL (from TIME-WAIT)",)
    assert retry.rules_out == ("B gave up after 2 retransmissions (FIN_RETRIES = 2)",)
    assert (tw.holds, tw.slack, retry.holds, retry.slack) == (
        True,
        Fraction(119),
        False,
        Fraction(-117),
    )
    doc = three.to_json()
    assert doc["values"] == {"TIME_WAIT": 240, "MSL": 120, "RTO": 1}
    assert doc["conditions"][1] == {
        "condition": "MSL < 3*RTO",
        "rules_out": ["B gave up after 2 retransmissions (FIN_RETRIES = 2)"],
        "holds_at_spec_values": False,
        "slack": -117,
    }
    assert doc["partial"] is None
    assert retry.describe().endswith("FAILS at the spec's values, by 117")


def test_a_stopped_synthesis_reports_its_partial_region() -> None:
    """A limit leaves the region unknown, but the tiles found so far -- where the claim
    holds, where it fails and why, and the verdict at the spec's values if covered --
    are in the text and the JSON; progress is reported as tiles are found."""
    seen: list[tuple[int, int]] = []
    result = synthesize(
        HEADLINE,
        load_spec(params={"FIN_RETRIES": 3}),
        None,
        FREE3,
        # The whole synthesis takes several seconds here, more under load: a bound well
        # below it, and not so short that a loaded machine finds no tile of each kind.
        max_seconds=2.0,
        progress=lambda tiles, bad, _queued: seen.append((tiles, bad)),
    )
    assert result.status == "unknown" and result.clauses is None
    assert seen and seen == sorted(seen) and len(result.tiles) == seen[-1][0]
    partial = result.to_json()["partial"]
    assert partial is not None and set(partial) == {
        "at TIME_WAIT=240, MSL=120, RTO=1",
        "holds on",
        "violated on",
    }
    assert len(partial["holds on"]) + len(partial["violated on"]) == len(result.tiles)
    assert all(v.endswith(")") for v in partial["violated on"])  # each with its cause
    cli_out = CliRunner().invoke(
        cli,
        [
            "synth",
            "last-ack-not-stuck",
            "--param",
            "FIN_RETRIES=3",
            "--free",
            "TIME_WAIT",
            "--free",
            "MSL",
            "--free",
            "RTO",
            "--max-seconds",
            "1.5",
        ],
    )
    assert cli_out.exit_code == 3 and "so far holds on:" in cli_out.output


# Points on both sides of both boundaries, and generic ones: tenths of a second.
tenths = st.integers(min_value=1, max_value=80).map(lambda n: Fraction(n, 10))


@settings(max_examples=15, deadline=None)
@given(tenths, tenths, tenths)
def test_three_parameter_region_agrees_with_the_concrete_verdict(
    three: Synthesis, tw: Fraction, msl: Fraction, rto: Fraction
) -> None:
    """The independent oracle: the concrete zone-graph checker at the sampled point."""
    assert three.clauses is not None
    region = region_formula(three.clauses, three.free)
    point = {"TIME_WAIT": tw, "MSL": msl, "RTO": rto}
    inside = z3.simplify(
        z3.substitute(region, *((z3.Real(n), z3.RealVal(v)) for n, v in point.items()))
    )
    expected = Outcome.HOLDS if z3.is_true(inside) else Outcome.VIOLATED
    params = {**SMALL, **{n: float(v) for n, v in point.items()}}
    assert run_suite([HEADLINE], variants=[None], params=params)[0].verdict == expected


def test_synth_cli_json_and_errors() -> None:
    args = ["synth", "last-ack-not-stuck", "--free", "TIME_WAIT"]
    fixed = [x for k, v in FIXED.items() for x in ("--param", f"{k}={v}")]
    result = CliRunner().invoke(cli, [*args, *fixed, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["constraint"] == "TIME_WAIT >= 3" and doc["status"] == "exact"
    bad = CliRunner().invoke(cli, ["synth", "last-ack-not-stuk"])
    assert bad.exit_code == 2 and "did you mean" in bad.output and "Traceback" not in bad.output
    both = CliRunner().invoke(cli, [*args, "--param", "TIME_WAIT=3"])
    assert both.exit_code == 2 and "both free and fixed" in both.output
    untimed = CliRunner().invoke(cli, ["synth", "no-deadlock"])
    assert untimed.exit_code == 2 and "needs a timed-exit, timed-never" in untimed.output


def test_counts_cannot_be_free() -> None:
    with pytest.raises(UsageError, match="counts retransmissions"):
        synthesize(HEADLINE, load_spec(), None, ["FIN_RETRIES"])


def test_a_limit_gives_unknown_not_a_constraint() -> None:
    result = synthesize(HEADLINE, load_spec(params=FIXED), None, ["TIME_WAIT"], max_nodes=20)
    assert result.status == "unknown" and result.clauses is None and result.text() == "unknown"


def test_time_scales_so_one_parameter_may_be_one() -> None:
    """Every duration a multiple of the free parameters: the region is a cone, RTO = 1
    is explored and the constraints are homogenized back."""
    from checker.timed.synth import _lift, _scale_pivot

    base = load_spec()
    assert _scale_pivot(base, ["TIME_WAIT", "MSL", "RTO"]) == "RTO"
    assert _scale_pivot(base, ["MSL", "RTO"]) == "RTO"  # TIME_WAIT = 2*MSL follows
    assert _scale_pivot(base, ["TIME_WAIT", "RTO"]) is None  # MSL = 120 s is a scale
    assert _scale_pivot(base, ["TIME_WAIT"]) is None
    # Linux's FIN_TIMEOUT = 60 s fixes the scale unless it is free too; its RTO is capped
    # at tcp_rto_max (a min()), which fixes one whatever is free.
    linux = load_spec(variant="linux")
    assert _scale_pivot(linux, ["TIME_WAIT", "MSL", "FIN_TIMEOUT"]) is None
    assert _scale_pivot(linux, ["TIME_WAIT", "MSL", "RTO", "FIN_TIMEOUT"]) is None
    uncapped = load_spec(variant="short-time-wait")
    assert _scale_pivot(uncapped, ["TIME_WAIT", "MSL", "RTO"]) == "RTO"
    # TIME_WAIT - MSL - 1 >= 0 found at RTO = 1 is TIME_WAIT - MSL - RTO >= 0.
    lifted = _lift(frozenset({(-1, (1, -1), False)}), ["TIME_WAIT", "MSL"],
                   ["TIME_WAIT", "MSL", "RTO"], "RTO")  # fmt: skip
    assert lifted == frozenset({(0, (1, -1, -1), False)})


def test_loss_budgets_over_three_free_parameters() -> None:
    """The k-th retransmission leaves (2^k - 1) RTO after B's FIN: TIME_WAIT >= MSL +
    (2^k - 1) RTO; its re-ACK is back by (2^k - 1) RTO + 2 MSL, before B gives up at
    7 RTO (FIN_RETRIES = 2) only if MSL < (8 - 2^k)/2 RTO."""
    rows = loss_budgets(HEADLINE, load_spec(params=SMALL), None, FREE3, [1, 2])
    assert [(k, r.status, r.text()) for k, r in rows] == [
        (1, "exact", "TIME_WAIT >= MSL + RTO and MSL < 3*RTO"),
        (2, "exact", "TIME_WAIT >= MSL + 3*RTO and MSL < 2*RTO"),
    ]


def test_old_duplicates_region_and_the_textbook_rule(
    bundled_syntheses: dict[str, Synthesis],
) -> None:
    """rfc1337's no-old-duplicates over TIME_WAIT, MSL and RTO.  TIME_WAIT = 2 MSL is
    enough only when MSL < RTO/2 (the close is over before B could retransmit) or MSL >=
    2 RTO; in between the model finds runs of ties -- an ACK taking exactly MSL arrives
    as B's retransmission timer fires, and that retransmission, taking exactly MSL,
    arrives as TIME-WAIT ends -- so TIME_WAIT must exceed 2 MSL.  Each side is
    confirmed by the concrete checker."""
    prop = PROPS["no-old-duplicates"]
    assert prop.synth == {"variant": "rfc1337", "free": FREE3}
    result = bundled_syntheses[prop.name]  # synthesize(prop, rfc1337 spec, "rfc1337", FREE3)
    assert result.status == "exact", result.message
    assert folklore(result) == "TIME_WAIT = 2*MSL suffices iff MSL < 0.5*RTO or MSL >= 2*RTO"
    assert result.clauses is not None
    region = region_formula(result.clauses, result.free)
    holds, violated = Outcome.HOLDS, Outcome.VIOLATED
    for msl, tw, verdict in [(30, 60, holds), (0.75, 1.5, violated), (0.75, 1.6, holds),
                             (1.75, 3.5, violated), (0.4, 0.8, holds)]:  # fmt: skip
        point = {"TIME_WAIT": tw, "MSL": msl, "RTO": 1}
        params = {**prop.params, **point}
        got = run_suite([prop], variants=["rfc1337"], params=params)[0].verdict
        inside = z3.simplify(
            z3.substitute(
                region, *((z3.Real(n), z3.RealVal(Fraction(str(v)))) for n, v in point.items())
            )
        )
        assert (got, z3.is_true(inside)) == (verdict, verdict == Outcome.HOLDS), point


def test_the_default_free_parameters_leave_out_those_given_values() -> None:
    """``--param MSL=30`` fixes MSL: unnamed, the free ones are the other defaults (this
    example of ``synth --help`` once exited 2, "MSL is both free and fixed")."""
    args = ["synth", "last-ack-not-stuck", "--param", "MSL=30", "--param", "FIN_RETRIES=2"]
    got = CliRunner().invoke(cli, [*args, "--json", "--workers", "1"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["free"] == ["TIME_WAIT", "RTO"]
    fixed = ["--param", "TIME_WAIT=60", "--param", "RTO=1"]
    got = CliRunner().invoke(cli, [*args, *fixed])
    assert got.exit_code == 2 and "name the free ones with --free" in got.output
    got = CliRunner().invoke(cli, [*args, "--free", "MSL"])
    assert got.exit_code == 2 and "MSL is both free and fixed" in got.output
