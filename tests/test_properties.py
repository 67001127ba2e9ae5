"""The property suite: every verdict on every variant, pinned traces, fairness, mutations."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from bundled import BUNDLED_VARIANTS
from click.testing import CliRunner

from checker.check.formula import FormulaError, parse_formula
from checker.check.liveness import GraphFacts
from checker.check.outcome import Outcome
from checker.check.properties import (
    EXISTENTIAL,
    Property,
    bundled_properties_path,
    load_properties,
)
from checker.check.untimed import check_property
from checker.check.verdicts import Verdict
from checker.cli import cli
from checker.errors import SpecError
from checker.model.load import load_spec
from checker.model.spec import Spec
from checker.product.explore import explore
from checker.render.junit_report import junit_xml
from checker.render.text_chart import render_text
from checker.suite import run_suite

SUITE = load_properties(spec=load_spec())
BY_NAME = {p.name: p for p in SUITE}
VARIANTS = [None, *BUNDLED_VARIANTS]


def row(default: str, **others: str) -> list[str]:
    """A verdict per variant of :data:`VARIANTS`: ``default`` but where ``others`` names
    the variant (``base``, and dashes written as underscores).

    >>> row("holds", no_time_wait="violated")[:3]
    ['holds', 'holds', 'violated']
    """
    names = [(v or "base").replace("-", "_") for v in VARIANTS]
    assert set(others) <= set(names), others
    return [others.get(name, default) for name in names]


# (property, variant) -> verdict, for every pair: what RFC 9293 or the variant implies.
# rst-time-wait differs from base only after an ABORT, which no configuration here makes.
EXPECTED = {
    "textbook-client-path": row("holds", no_time_wait="violated"),
    "textbook-server-path": row("holds"),
    "fin-wait-1-straight-to-time-wait": row("holds", no_time_wait="violated"),
    "closing-reachable": row("holds"),
    "no-closing-when-b-closes-after-a": row("holds"),
    "closing-only-after-both-fins": row("holds"),
    # "No run takes the second closer into TIME-WAIT" (exists = false): true everywhere.
    "only-the-first-closer-enters-time-wait": row("holds"),
    "only-the-first-closer-enters-time-wait-a": row("holds"),
    "both-enter-time-wait-in-simultaneous-close": row("holds", no_time_wait="violated"),
    "fin-wait-2-leads-to-closed": row("violated", linux="holds"),
    # The claim that CLOSE-WAIT ends without the application: false everywhere.
    "close-wait-ends-even-if-the-application-never-closes": row("violated"),
    "close-wait-leads-to-closed": row("holds"),
    "both-eventually-closed": row("holds"),
    "no-deadlock": row("holds"),
    "no-deadlock-with-bounded-retries": row("violated"),
    "graceful-close": row(
        "holds", linux="violated", no_time_wait="violated", short_time_wait="violated"
    ),
    "rst-from-closed-endpoint": row("holds"),
    # With the bundled values: base/rfc1337/short-time-wait give up after 127 s before a
    # re-ACK can return (2 MSL = 240 s); linux's orphaned FIN-WAIT-2 may time out first;
    # no-time-wait answers the retransmitted FIN with a RST.  (tests/test_timedcheck.py
    # checks the boundary with the parameters.)
    "last-ack-not-stuck": row("violated"),
    # Only RFC 1337's rule keeps TIME-WAIT from being cut short by a RST (base, short,
    # none); linux's orphaned FIN-WAIT-2 timeout skips TIME-WAIT altogether.
    "no-old-duplicates": row("violated", rfc1337="holds"),
    # timed-within: the duration bound against a limit (tests/test_within.py).
    "last-ack-gives-up-within-r2": row("holds"),
    "connect-fails-within-3-minutes": row("violated", linux="holds"),
    # A blind attacker striking ESTABLISHED (RFC 5961 §1.1).
    "blind-rst-cannot-reset": row("violated", linux="holds", rfc5961="holds"),
    "exact-rst-resets": row("holds"),
    "blind-syn-cannot-reset": row("holds", rfc793="violated"),
    # probability: the maximum (<=) or minimum (>=) over schedulers against a bound.
    "last-ack-give-up-rare": row("holds"),
    "last-ack-give-up-rare-with-two-retries": row("violated", linux="holds"),
    "close-ends-by-ack-whatever-the-scheduler": row("violated"),
    # ... in integer time (digital clocks).
    "close-completes-within-seconds": row("holds", no_time_wait="violated"),
}


@pytest.fixture(scope="module")
def verdicts(bundled_verdicts: list[Verdict]) -> dict[tuple[str, str | None], Verdict]:
    assert sorted({v.variant or "" for v in bundled_verdicts}) == sorted(n or "" for n in VARIANTS)
    assert len(bundled_verdicts) == len(SUITE) * len(VARIANTS)
    return {(v.prop.name, v.variant): v for v in bundled_verdicts}


def test_the_suite_is_the_pinned_one() -> None:
    assert [p.name for p in SUITE] == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_property_on_every_variant(
    name: str, verdicts: dict[tuple[str, str | None], Verdict]
) -> None:
    got = [verdicts[(name, v)].verdict for v in VARIANTS]
    assert got == EXPECTED[name]
    assert all(verdicts[(name, v)].ok for v in VARIANTS)  # and the suite expects exactly that


def test_every_existential_claim_states_its_polarity() -> None:
    """A reachable or path property says whether it claims that some run does it or that
    none does, so that its verdict is the verdict on the claim its name makes."""
    raw = tomllib.loads(bundled_properties_path().read_text(encoding="utf-8"))["properties"]
    unstated = [p["name"] for p in raw if p["kind"] in EXISTENTIAL and "exists" not in p]
    assert not unstated, f"state exists = true or false for {unstated}"
    claims = {p.name: p.claim() for p in SUITE}
    assert claims["only-the-first-closer-enters-time-wait"].startswith("no run takes B")
    assert claims["textbook-client-path"].startswith("some run takes A")


def test_a_universal_claim_is_refuted_by_the_run_an_existential_one_is_shown_by() -> None:
    """exists = false turns the run that a path search finds into a counterexample."""
    prop = BY_NAME["textbook-client-path"]
    none = dataclasses.replace(prop, name="no-textbook-client-path", exists=False)
    some, never = run_suite([prop, none], variants=[None])
    assert (some.verdict, never.verdict) == (Outcome.HOLDS, Outcome.VIOLATED)
    assert some.trace is not None and never.trace is not None
    assert labels(some) == labels(never)
    assert some.message.startswith("witness:") and never.message.startswith("counterexample:")
    on_no_time_wait = run_suite([prop, none], variants=["no-time-wait"])
    assert [v.verdict for v in on_no_time_wait] == [Outcome.VIOLATED, Outcome.HOLDS]
    assert all(v.trace is None for v in on_no_time_wait)


def test_exists_belongs_only_to_existential_kinds(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text(
        '[[properties]]\nname = "x"\nkind = "invariant"\nformula = "true"\nexists = false\n'
        'description = "d"\nref = "r"\nexpected = { base = "holds" }\n'
    )
    with pytest.raises(SpecError, match="'exists' belongs only in a claim that a run exists"):
        load_properties(bad)


def labels(v: Verdict) -> list[str]:
    assert v.trace is not None
    return [s.label.text() for s in v.trace.steps]


HANDSHAKE_AND_A_CLOSES = [
    "A: active OPEN / snd SYN",
    "B: passive OPEN",
    "B: rcv SYN / snd SYN+ACK",
    "A: rcv SYN+ACK / snd ACK",
    "A: CLOSE / snd FIN+ACK",
    "B: rcv ACK of SYN",
    "B: rcv FIN / snd ACK",
]


def test_fin_wait_2_forever_counterexample_is_pinned(
    verdicts: dict[tuple[str, str | None], Verdict],
) -> None:
    v = verdicts[("fin-wait-2-leads-to-closed", None)]
    assert labels(v) == [*HANDSHAKE_AND_A_CLOSES, "A: rcv ACK of FIN"]
    assert v.trace is not None and v.trace.stops and v.trace.loop is None
    assert v.assumptions == ("fair-lossy", "fair-apps", "timers")
    end = v.trace.steps[-1].state
    assert (end.a.state, end.b.state) == ("FIN-WAIT-2", "CLOSE-WAIT")


def test_no_time_wait_draws_a_rst_in_last_ack(
    verdicts: dict[tuple[str, str | None], Verdict],
) -> None:
    v = verdicts[("graceful-close", "no-time-wait")]
    # The final ACK is lost; B's retransmitted FIN meets a CLOSED endpoint: RST.
    assert labels(v) == [
        *HANDSHAKE_AND_A_CLOSES,
        "A: rcv ACK of FIN",
        "B: CLOSE / snd FIN+ACK",
        "A: rcv FIN / snd ACK",
        "B: timeout RETX / snd FIN+ACK",
        "A: rcv FIN / snd RST",
        "net: lose ACK A->B",
    ]


def test_textbook_client_witness_is_pinned(
    verdicts: dict[tuple[str, str | None], Verdict],
) -> None:
    v = verdicts[("textbook-client-path", None)]
    assert labels(v) == [
        *HANDSHAKE_AND_A_CLOSES,
        "A: rcv ACK of FIN",
        "B: CLOSE / snd FIN+ACK",
        "A: rcv FIN / snd ACK",
        "B: rcv ACK of FIN",
        "A: timeout 2MSL",
    ]


def test_dropping_fair_lossy_channels_gives_a_lasso_of_endless_losses() -> None:
    (v,) = run_suite(
        [BY_NAME["both-eventually-closed"]], variants=[None], fairness_off=["fair-lossy"]
    )
    assert v.verdict == Outcome.VIOLATED and v.assumptions == ("fair-apps", "timers")
    assert v.trace is not None and v.trace.loop == 2
    assert labels(v) == [
        "A: active OPEN / snd SYN",
        "B: passive OPEN",
        "A: timeout RETX / snd SYN",
        "net: lose SYN A->B",
    ]
    # The cycle returns to the state it started from.
    assert v.trace.steps[-1].state == v.trace.steps[v.trace.loop - 1].state
    assert "the cycle starts here" in render_text(v.trace)


def test_fair_loss_covers_what_a_full_channel_drops() -> None:
    """Fair loss reads "sent infinitely often => delivered infinitely often": a segment a
    full channel drops forever (``overflow = drop``) was sent all the same.  Before, the
    bundled closing claim was violated under full fairness by a run that retransmits
    B's SYN+ACK into a full channel forever; now it holds, and still needs fair loss."""
    prop = dataclasses.replace(BY_NAME["both-eventually-closed"], config={"overflow": "drop"})
    (fair,) = run_suite([prop], variants=[None])
    assert fair.verdict == Outcome.HOLDS, fair.message
    assert "fair-lossy" in fair.assumptions
    (unfair,) = run_suite([prop], variants=[None], fairness_off=["fair-lossy"])
    assert unfair.verdict == Outcome.VIOLATED and unfair.trace is not None
    assert unfair.assumptions == ("fair-apps", "timers")
    assert fair.states == unfair.states == 1_674


@pytest.mark.parametrize(
    ("name", "variant", "off"),
    [
        ("fin-wait-2-leads-to-closed", "linux", "timers"),  # the orphan timer must fire
        ("close-wait-leads-to-closed", None, "fair-apps"),  # the application must close
        ("both-eventually-closed", None, "timers"),  # TIME-WAIT must end
    ],
)
def test_liveness_needs_its_fairness_assumption(name: str, variant: str | None, off: str) -> None:
    (with_it,) = run_suite([BY_NAME[name]], variants=[variant])
    (without,) = run_suite([BY_NAME[name]], variants=[variant], fairness_off=[off])
    assert with_it.verdict == Outcome.HOLDS
    assert without.verdict == Outcome.VIOLATED
    assert off not in without.assumptions


def test_chart_marks_a_run_that_stops_forever(
    verdicts: dict[tuple[str, str | None], Verdict],
) -> None:
    v = verdicts[("fin-wait-2-leads-to-closed", None)]
    assert v.trace is not None
    text = render_text(v.trace)
    assert "rcv ACK of FIN → FIN-WAIT-2" in text
    assert "stays here forever" in text
    assert text == render_text(v.trace)  # deterministic


def test_wrong_expectation_makes_check_exit_1(tmp_path: Path) -> None:
    text = bundled_properties_path().read_text(encoding="utf-8")
    wrong = text.replace('name = "closing-reachable"', 'name = "closing-reachable"', 1)
    wrong = wrong.replace(
        'config = { b_close = "first" }\nexpected = { default = "holds" }',
        'config = { b_close = "first" }\nexpected = { default = "violated" }',
        1,
    )
    assert wrong != text
    suite = tmp_path / "suite.toml"
    suite.write_text(wrong, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "check",
            "--properties",
            str(suite),
            "--property",
            "closing-reachable",
            "--variant",
            "base",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "MISMATCH" in result.output


def test_check_json_contract_and_exit_0() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "check",
            "--property",
            "fin-wait-2-leads-to-closed",
            "--variant",
            "base",
            "--variant",
            "linux",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True
    first, second = data["properties"]
    assert set(first) >= {"name", "kind", "verdict", "expected", "assumptions", "trace"}
    assert (first["verdict"], second["verdict"]) == ("violated", "holds")
    steps = first["trace"]["steps"]
    assert steps[0]["actor"] == "A" and steps[0]["event"] == "active OPEN"
    assert steps[0]["sent"] == ["SYN seq=0"] and steps[0]["A"] == "SYN-SENT"
    assert first["trace"]["stops_forever"] is True


def test_junit_report(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    result = CliRunner().invoke(
        cli, ["check", "--property", "graceful-close", "--junit", str(report)]
    )
    assert result.exit_code == 0, result.output
    root = ElementTree.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "0", "0")
    # One suite per variant, named as its cases' classname.
    suites = root.findall("testsuite")
    assert len(suites) == 8 and all(s.get("tests") == "1" for s in suites)
    for suite in suites:
        (case,) = suite.iter("testcase")
        assert case.get("classname") == suite.get("name")
    names = {(c.get("classname"), c.get("name")) for c in root.iter("testcase")}
    assert ("tcpcheck.no-time-wait", "graceful-close") in names


def test_junit_marks_mismatches() -> None:
    prop = BY_NAME["closing-reachable"]
    wrong = Property(**{**prop.__dict__, "expected": {"default": Outcome.VIOLATED}})
    xml = junit_xml(run_suite([wrong], variants=[None]))
    assert 'failures="1"' in xml and 'errors="0"' in xml
    assert 'type="holds"' in xml and "expected violated, got holds" in xml
    # The witness that the claim holds, charted in the failure.
    assert "rcv FIN" in xml and "step  A" in xml


def test_expected_verdicts_are_outcomes_that_print_as_words() -> None:
    """The suite's expectations are read into the verdict vocabulary; a verdict shows
    and serialises as its plain word."""
    prop = BY_NAME["closing-reachable"]
    assert all(type(e) is Outcome for e in prop.expected.values())
    (v,) = run_suite([prop], variants=[None])
    assert v.verdict is Outcome.HOLDS and f"{v.verdict}: {v.expected}" == "holds: holds"
    assert json.dumps(v.to_json()["verdict"]) == '"holds"'


def test_liveness_properties_share_the_components_of_one_exploration() -> None:
    """The SCCs of the whole graph are computed once, for every property decided on it,
    and sharing them changes no verdict."""
    prop, other = BY_NAME["both-eventually-closed"], BY_NAME["close-wait-leads-to-closed"]
    ex = explore(load_spec(), prop.product_config())
    facts = GraphFacts(ex)
    shared = [check_property(p, ex, None, facts=facts).verdict for p in (prop, other)]
    components = facts.components()
    assert check_property(other, ex, None, facts=facts).verdict == shared[1]
    assert facts.components() is components
    assert shared == [check_property(p, ex, None).verdict for p in (prop, other)]


def test_unknown_property_lists_the_valid_ones() -> None:
    result = CliRunner().invoke(cli, ["check", "--property", "graceful-clos"])
    assert result.exit_code == 2
    assert "unknown property 'graceful-clos' (did you mean 'graceful-close'?)" in result.output
    assert "textbook-client-path" in result.output


def test_formula_syntax_error_points_at_the_column() -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula("A = FIN-WAIT-2 and or B = CLOSED")
    assert info.value.column == 20
    with pytest.raises(FormulaError, match=r"unknown state 'FIN-WAIT2' \(did you mean"):
        parse_formula("A = FIN-WAIT2", load_spec().state_names)


def test_formula_evaluates_states_and_channels(spec: Spec) -> None:
    from checker.product.config import ProductConfig
    from checker.product.explore import explore

    ex = explore(spec, ProductConfig(loss="none", ordering="fifo"))
    s1 = ex.state(1)  # A sent its SYN
    assert parse_formula("A = SYN-SENT and inflight(A, SYN) and not inflight(B)")(s1)
    assert parse_formula("A in (SYN-SENT, CLOSED) -> A.opened")(s1)
    assert not parse_formula("empty or B.opened")(s1)
    assert parse_formula("A.retries = 0 and not A.closed")(s1)


def test_bad_property_file_is_one_message(tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(
        '[[properties]]\nname = "p"\nkind = "invariant"\nformula = "A = CLOSD"\n'
        'description = "d"\nref = "r"\nexpected = { base = "holds" }\n',
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match=r"properties\[0\] p: formula: column 5: unknown state"):
        load_properties(suite, spec=load_spec())
    result = CliRunner().invoke(cli, ["check", "--properties", str(suite)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    suite.write_text(
        suite.read_text(encoding="utf-8").replace('"invariant"', '"timed"'), encoding="utf-8"
    )
    with pytest.raises(SpecError, match=r"unknown kind 'timed' \(did you mean 'timed-exit'\?\)"):
        load_properties(suite, spec=load_spec())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('kind = "timed-exit"\nformula = "B leaves LAST-AK only by rcv RST"', "unknown state"),
        ('kind = "timed-exit"\nformula = "B leaves LAST-ACK only by rcv ACK of FNI"', "did you"),
        ('kind = "timed-exit"\nformula = "B enters LAST-ACK"', "only by EVENT"),
        ('kind = "invariant"\nformula = "true"\nlose = "A enters TIME-WAIT"', "only in a timed"),
        ('kind = "timed-invariant"\nformula = "true"\nlose = "A enter TIME-WAIT"', "lose: "),
        ('kind = "timed-invariant"\nformula = "true"\nstart = "A = NOPE"', "start: column 5"),
        ('kind = "timed-never"\nformula = "A accepts an old segment"', "add reuse = true"),
        ('kind = "timed-never"\nformula = "A leaves CLOSED only by rcv SYN"', "without 'only by'"),
        ('kind = "invariant"\nformula = "true"\nreuse = true', "'reuse' belongs only"),
        ('kind = "timed-never"\nformula = "A enters CLOSED"\nreuse = "yes"', "true or false"),
        ('kind = "invariant"\nformula = "true"\nsynth = {}', "'synth' belongs only"),
        ('kind = "timed-never"\nformula = "A enters CLOSED"\nsynth = { fre = [] }', "free"),
        ('kind = "timed-never"\nformula = "A enters CLOSED"\nsynth = { free = "MSL" }', "a list"),
        ('kind = "timed-never"\nformula = "A enters CLOSED"\nsynth = 3', "must be a table"),
        (
            'kind = "timed-never"\nformula = "A enters CLOSED"\nlose = "A accepts an old segment"',
            "lose: name the moves that send",
        ),
    ],
)
def test_bad_timed_property_is_one_message(tmp_path: Path, body: str, message: str) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(
        f'[[properties]]\nname = "p"\n{body}\ndescription = "d"\nref = "r"\n'
        'expected = { base = "holds" }\n',
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match=message):
        load_properties(suite, spec=load_spec())
    result = CliRunner().invoke(cli, ["check", "--properties", str(suite)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_every_trace_is_pinned_by_a_golden_file(
    verdicts: dict[tuple[str, str | None], Verdict], golden: Any
) -> None:
    pinned = {}
    for (name, variant), v in sorted(verdicts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if v.trace is None:
            continue
        pinned[f"{name} on {variant or 'base'}"] = {
            "verdict": v.verdict,
            "steps": labels(v),
            "cycle_start": v.trace.loop,
            "stops_forever": v.trace.stops,
            "end": v.trace.steps[-1].state.describe() if v.trace.steps else None,
            **({"times": [str(t) for t in v.trace.times]} if v.trace.times else {}),
        }
    golden("traces.json", json.dumps(pinned, indent=2, ensure_ascii=False) + "\n")


@pytest.mark.parametrize(
    ("name", "variant", "off"),
    [
        ("fin-wait-2-leads-to-closed", None, ()),
        ("graceful-close", "no-time-wait", ()),
        ("both-eventually-closed", None, ("fair-lossy",)),
    ],
)
def test_charts_match_their_golden_files(
    name: str, variant: str | None, off: tuple[str, ...], golden: Any
) -> None:
    (v,) = run_suite([BY_NAME[name]], variants=[variant], fairness_off=off)
    assert v.trace is not None
    suffix = "-without-" + "-".join(off) if off else ""
    golden(f"msc/{name}-{variant or 'base'}{suffix}.txt", render_text(v.trace) + "\n")


@pytest.mark.parametrize("name", ["both-eventually-closed", "close-wait-leads-to-closed"])
def test_liveness_on_a_cut_exploration_is_unknown(name: str) -> None:
    """A state limit leaves states never expanded; liveness says unknown, naming the
    limit (it once crashed on a never-expanded state in the SCC search)."""
    (v,) = run_suite([BY_NAME[name]], variants=[None], max_states=500)
    assert v.verdict == Outcome.UNKNOWN and "max-states" in v.message


SEED_CLAIMS = Path(__file__).parent / "data" / "seed_claims.toml"


def test_the_seeds_claims_with_one_loss_get_definite_verdicts() -> None:
    """The folklore's claims stated plainly -- at most one loss, no capacity -- get holds
    or violated: the suite raises the capacity while a verdict depends only on a full
    channel, and says so.  Pinned: where it stopped and why."""
    props = load_properties(SEED_CLAIMS, spec=load_spec())
    verdicts = run_suite(props, variants=[None])
    verdicts += run_suite(props[:1], variants=["linux"])
    verdicts += run_suite(props[3:4], variants=["no-time-wait", "linux"])
    verdicts += run_suite(props[4:], variants=["rfc1337"])
    assert [(v.prop.name, v.variant, v.verdict) for v in verdicts if not v.ok] == []
    assert Outcome.UNKNOWN not in {v.verdict for v in verdicts}
    raised = {
        (v.prop.name, v.variant): (v.config.capacity if v.config else None, v.states)
        for v in verdicts
        if v.notes
    }
    assert raised == {
        ("close-wait-ends-after-one-loss", None): (6, 2_160_039),
        ("no-stop-but-closed-after-one-loss", None): (6, 2_160_039),
        ("old-duplicates-vanish-in-2msl", "rfc1337"): (3, 788),
    }
    by = {(v.prop.name, v.variant): v for v in verdicts}
    close_wait = by["close-wait-ends-after-one-loss", None].notes[0]
    # The move that needed room, the capacity decided at, and why it was not raised more.
    assert "'A: timeout RETX / snd FIN+ACK' waits for room in A->B (capacity 4)" in close_wait
    assert "the verdict is for channels of capacity 6" in close_wait
    assert "at 7: exploration incomplete (max-states, after " in close_wait
    # A counterexample found at a raised capacity is a run at any larger one.
    stops = by["no-stop-but-closed-after-one-loss", None]
    assert stops.trace is not None and stops.trace.steps[-1].state.describe().startswith(
        "A=CLOSED B=ESTABLISHED"
    )


def test_a_capacity_the_property_sets_is_kept_and_the_move_named() -> None:
    """With the capacity set by the property, an unknown stands and names the move that
    needed room."""
    prop = dataclasses.replace(
        load_properties(SEED_CLAIMS, spec=load_spec())[1], config={"loss": "1", "capacity": 2}
    )
    (v,) = run_suite([prop], variants=[None])
    assert v.verdict == Outcome.UNKNOWN and v.notes == ()
    assert v.needs_room is not None and "waits for room in" in v.needs_room
    assert v.needs_room in v.message and v.to_json()["needs_room"] == v.needs_room


def test_no_capacity_is_tried_when_an_endpoint_sends_without_end() -> None:
    """Retransmission never abandoned (R2 infinite) puts unboundedly many segments in
    flight: the suite says so at once instead of raising the capacity."""
    prop = dataclasses.replace(
        load_properties(SEED_CLAIMS, spec=load_spec())[1],
        params={
            "SYN_RETRIES": float("inf"),
            "SYNACK_RETRIES": float("inf"),
            "FIN_RETRIES": float("inf"),
        },
    )
    (v,) = run_suite([prop], variants=[None])
    assert v.verdict == Outcome.UNKNOWN and v.notes == ()
    assert "no capacity avoids it: A retransmits without end" in v.message
    assert v.config is not None and v.config.capacity == 2


def test_check_overrides_the_configuration_from_the_command_line() -> None:
    """``--config overflow=drop`` on the command line: the issue's run, both ways."""
    args = ["check", "--property", "both-eventually-closed", "--variant", "base"]
    fair = CliRunner().invoke(cli, [*args, "--config", "overflow=drop", "--json"])
    assert fair.exit_code == 0, fair.output
    (doc,) = json.loads(fair.output)["properties"]
    assert doc["verdict"] == "holds" and doc["states"] == 1_674
    unfair = CliRunner().invoke(cli, [*args, "--config", "overflow=drop", "--no-fair-lossy"])
    assert unfair.exit_code == 1 and "violated" in unfair.output
    bad = CliRunner().invoke(cli, [*args, "--config", "overflw=drop"])
    assert bad.exit_code == 2 and "did you mean 'overflow'" in bad.output
    assert "Traceback" not in bad.output


@pytest.mark.parametrize("name", ["../../../x", "/abs/path", ".hidden", "a/b", "x" * 101, ""])
def test_a_property_name_that_could_leave_a_folder_is_refused(tmp_path: Path, name: str) -> None:
    """Property names name files (charts): one that could climb out of --diagrams is an
    input error at load time, exit 2, naming the file and the entry; nothing written."""
    suite = tmp_path / "props.toml"
    suite.write_text(
        f'[[properties]]\nname = "{name}"\nkind = "invariant"\nformula = "true"\n'
        'description = "d"\nref = "r"\nexpected = { default = "holds" }\n'
    )
    out = tmp_path / "site"
    got = CliRunner().invoke(
        cli,
        [
            "docs",
            "--properties",
            str(suite),
            "--out",
            str(out / "docs"),
            "--diagrams",
            str(out / "diagrams"),
        ],
    )
    assert got.exit_code == 2 and "Traceback" not in got.output
    assert "props.toml" in got.output and "properties[0]" in got.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["props.toml"]


def test_a_variant_name_that_could_leave_a_folder_is_refused(tmp_path: Path) -> None:
    overlay = tmp_path / "evil.toml"
    overlay.write_text('[variant]\nname = "../../x"\ndescription = "d"\nref = "r"\n')
    got = CliRunner().invoke(cli, ["explore", "--spec", str(overlay)])
    assert got.exit_code == 2 and "evil.toml" in got.output and "variant name" in got.output
    assert "Traceback" not in got.output
