"""The probabilistic reading: the MDP, its exact and numeric solutions, the questions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker import load_spec
from checker.cli import cli
from checker.errors import UsageError
from checker.model.spec import Spec
from checker.prob.mdp import MDP, build_mdp
from checker.prob.questions import ask, outcomes, parse_question
from checker.prob.rates import LossRates
from checker.prob.solve import OPTS, Task, solve, solve_exact, solve_numeric

ROOT = Path(__file__).resolve().parent.parent

#: One retry of every SYN, SYN+ACK and FIN: a small acyclic MDP (about 200 states).
ONE_RETRY = {"FIN_RETRIES": 1, "SYN_RETRIES": 1, "SYNACK_RETRIES": 1}


@pytest.fixture(scope="module")
def small() -> tuple[Spec, MDP]:
    spec = load_spec(params=ONE_RETRY)
    return spec, build_mdp(spec)


def _task(spec: Spec, mdp: MDP, text: str) -> Task:
    [outcome] = outcomes(mdp, parse_question(text, spec))
    return outcome.task


@pytest.mark.parametrize("p", [F(1, 10), F(1, 3), F(1, 2), F(0), F(1)])
def test_give_up_in_last_ack_closed_form(small: tuple[Spec, MDP], p: F) -> None:
    """The most likely way for B to give up in LAST-ACK, with one retry of everything.

    The scheduler that maximises it opens B before A's SYN arrives (otherwise B answers
    it with a RST and never gets to LAST-ACK).  Then, timers waiting for the network,
    every step that must happen is a segment with two chances: A's SYN reaches B
    (1 - p^2), B's SYN+ACK reaches A (1 - p^2; A's ACK of it may be lost, A's FIN
    acknowledges it again), A's FIN reaches B (1 - p^2; its ACK may be lost, B answers
    a retransmission).  B then closes (LAST-ACK) and gives up when both rounds of its
    FIN fail, a round failing when the FIN is lost or A's ACK of it is: 1 - (1 - p)^2.
    So P = (1 - p^2)^3 (1 - (1 - p)^2)^2.
    """
    spec, mdp = small
    task = _task(spec, mdp, "B leaves LAST-ACK by timeout")
    want = (1 - p * p) ** 3 * (1 - (1 - p) ** 2) ** 2
    assert solve_exact(mdp, task, LossRates(p), "max").low == want
    # The least: B's application never listens in time, and never reaches LAST-ACK.
    assert solve_exact(mdp, task, LossRates(p), "min").low == 0


def test_certain_loss_gives_up_the_handshake(small: tuple[Spec, MDP]) -> None:
    spec, mdp = small
    task = _task(spec, mdp, "A leaves SYN-SENT by timeout")
    for opt in ("min", "max", "uniform"):
        assert solve(mdp, task, LossRates(F(1)), opt).low == 1
        assert solve(mdp, task, LossRates(F(0)), opt).low == 0


def test_uniform_between_min_and_max_and_numeric_agrees(small: tuple[Spec, MDP]) -> None:
    spec, mdp = small
    rates = LossRates.parse("0.2")
    for text in ("B leaves LAST-ACK", "A = TIME-WAIT", "expected retransmissions"):
        for o in outcomes(mdp, parse_question(text, spec)):
            exact = {opt: solve_exact(mdp, o.task, rates, opt).low for opt in OPTS}
            assert exact["min"] <= exact["uniform"] <= exact["max"], (text, o.name)
            for opt, v in exact.items():
                num = solve_numeric(mdp, o.task, rates, opt)
                assert num.method == "numeric"
                assert float(num.low) - 1e-9 <= v <= float(num.high) + 1e-9, (o.name, opt)
                assert abs(num.value - float(v)) <= 1e-9


def test_cyclic_model_is_numeric_with_a_bound() -> None:
    spec = load_spec(params={**ONE_RETRY, "FIN_RETRIES": float("inf")})
    mdp = build_mdp(spec)
    assert not mdp.acyclic
    answer = ask(mdp, parse_question("B leaves LAST-ACK", spec), [LossRates.parse("0.1")])
    assert answer.method == "numeric"
    by = {row.outcome: row for row in answer.rows}
    assert "by timeout RETX" not in by  # no give-up without a retry bound
    ack = by["by rcv ACK of FIN"].high
    assert ack.method == "numeric" and ack.error <= 1e-12
    assert ack.low <= ack.high


def test_timers_any_lets_the_scheduler_give_up() -> None:
    spec = load_spec(params=ONE_RETRY)
    mdp = build_mdp(spec, timers="any")
    task = _task(spec, mdp, "B leaves LAST-ACK by timeout")
    # Once in LAST-ACK, B gives up for sure: its timer fires before any FIN arrives.
    # Getting there still takes the SYN, the SYN+ACK and A's FIN, two tries each.
    p = F(1, 100)
    assert solve(mdp, task, LossRates(p), "max").low == (1 - p * p) ** 3
    last_ack = _task(spec, mdp, "B = LAST-ACK")
    assert solve(mdp, last_ack, LossRates(p), "max").low == (1 - p * p) ** 3


def test_expected_totals_pinned(small: tuple[Spec, MDP]) -> None:
    """The fewest retransmissions and segments: the scheduler has B's application never
    listen, so A's SYN draws a RST+ACK from CLOSED B and the attempt ends.  A round (the
    SYN, and the RST+ACK if the SYN arrives) fails with 1 - (1 - p)^2; after one failed
    round A retransmits (one retransmission), after two it gives up (a timeout that sends
    nothing).  So E[retransmissions] = 1 - (1 - p)^2 = 0.19 and E[segments] =
    (1 + (1 - p)) (1 + 0.19) = 2.261 at p = 1/10.  The most and the uniform scheduler's
    are pinned as computed."""
    spec, mdp = small
    rates = LossRates(F(1, 10))
    want = {
        "expected retransmissions": (F(19, 100), F(74867581, 100000000)),
        "expected segments": (F(2261, 1000), F(10106409545831, 10**12)),
    }
    for text, (low, high) in want.items():
        task = _task(spec, mdp, text)
        assert solve_exact(mdp, task, rates, "min").low == low
        assert solve_exact(mdp, task, rates, "max").low == high
    uniform = solve_exact(mdp, _task(spec, mdp, "expected retransmissions"), rates, "uniform")
    assert f"{float(uniform.low):.15f}" == "0.474524409494353"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.5", "between 0 and 1"),
        ("A->C=0.1", "unknown loss class 'A->C'"),
        ("FIN+SYN=0.1", "unknown loss class"),
        ("x", "is not a number"),
    ],
)
def test_bad_rates(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        LossRates.parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("B leaves LAST-AK", "unknown state 'LAST-AK'"),
        ("B leaves LAST-ACK by rcv ACK of FINN", "unknown event"),
        ("expected retransmission", "one of retransmissions, segments"),
        ("A = NOPE", "NOPE"),
    ],
)
def test_bad_questions(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_question(text, load_spec())


def test_rates_by_class() -> None:
    r = LossRates.parse("0.01,A->B=0.02,FIN+ACK=0.2,B->A:ACK=0.5")
    from checker.prob.rates import LossClass

    assert r.rate(LossClass("B->A", "ACK")) == F(1, 2)
    assert r.rate(LossClass("A->B", "FIN+ACK")) == F(1, 5)
    assert r.rate(LossClass("A->B", "ACK")) == F(1, 50)
    assert r.rate(LossClass("B->A", "SYN+ACK")) == F(1, 100)


def _cli(*args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "from checker.cli import main; main()", "prob", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_cli_json_is_deterministic_and_exact() -> None:
    args = ("B leaves LAST-ACK", "--param", "FIN_RETRIES=1", "--loss-rate", "0.1", "--json")
    first, second = _cli(*args, seed="1"), _cli(*args, seed="2")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    data = json.loads(first.stdout)
    [answer] = data["answers"]
    assert answer["method"] == "exact"
    rows = {r["outcome"]: r for r in answer["rows"]}
    # B gives up: (1 - p^2)^3 (1 - (1 - p)^2)^2 with one retry of the FIN and seven of
    # the SYN and SYN+ACK: their failures are p^8 terms, the answer is close to 0.035739.
    give_up = rows["by timeout RETX"]["max"]
    assert give_up["fraction"] == "357389992852200035739/10000000000000000000000"
    assert rows["by timeout RETX"]["min"]["value"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("B leaves LAST-ACK", "--loss-rate", "2"), "between 0 and 1"),
        (("B leaves LAST-ACK", "--loss-rate", "A->C=0.1"), "unknown loss class"),
        (("B leaves LAST-ACK", "--loss-rate", "0.1,FIN+SYN=0.1"), "unknown loss class"),
        (("B leaves LAST-ACK", "--loss-rate", "B->A:SYN=0.1"), "no segment of that class"),
        (("B leaves LAST-AK",), "unknown state 'LAST-AK'"),
        (("B leaves LAST-ACK by rcv FINN",), "unknown event 'rcv FINN'"),
        (("B leaves LAST-ACK", "--loss", "1"), "needs --loss any"),
        ((), "name a QUESTION"),
    ],
)
def test_cli_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    result = CliRunner().invoke(cli, ["prob", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def _suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "props.toml"
    path.write_text(
        '[[properties]]\nname = "p"\nkind = "probability"\ndescription = "d"\nref = "r"\n'
        "params = { FIN_RETRIES = 1, SYN_RETRIES = 1, SYNACK_RETRIES = 1 }\n" + body,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("bound", "verdict"),
    [
        # The most is (1 - p^2)^3 (1 - (1 - p)^2)^2 = 0.035739 at p = 1/10.
        ("<= 0.036", "holds"),
        ("<= 0.035", "violated"),
        # The least is 0 (B's application listens too late), so no lower bound holds.
        (">= 0.0", "holds"),
        (">= 0.001", "violated"),
    ],
)
def test_suite_probability_kind(tmp_path: Path, bound: str, verdict: str) -> None:
    from checker.check.properties import load_properties
    from checker.suite import run_suite

    path = _suite(
        tmp_path,
        f'formula = "B leaves LAST-ACK by timeout"\nloss_rate = [0.1]\nbound = "{bound}"\n'
        f'expected = {{ base = "{verdict}" }}\n',
    )
    [prop] = load_properties(path)
    assert prop.claim().startswith(
        f"under every scheduler, P(B leaves LAST-ACK by timeout) {bound}"
    )
    [v] = run_suite([prop], variants=[None])
    assert v.verdict == verdict and v.ok, v.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('formula = "B leaves LAST-ACK"\nloss_rate = 0.1\nbound = "<= 0.1"\n', "name the way out"),
        ('formula = "B leaves LAST-ACK by timeout"\nbound = "<= 0.1"\n', "missing 'loss_rate'"),
        (
            'formula = "B leaves LAST-ACK by timeout"\nloss_rate = 2\nbound = "<= 0.1"\n',
            "not a probability",
        ),
        ('formula = "B leaves LAST-ACK by timeout"\nloss_rate = 0.1\nbound = "< 0.1"\n', "'bound'"),
        (
            'formula = "B leaves LAST-ACK by tmeout"\nloss_rate = 0.1\nbound = "<= 0.1"\n',
            "unknown event",
        ),
    ],
)
def test_suite_probability_bad_entries(tmp_path: Path, body: str, message: str) -> None:
    from checker.check.properties import load_properties
    from checker.errors import SpecError

    path = _suite(tmp_path, body + 'expected = { base = "holds" }\n')
    with pytest.raises(SpecError, match=message):
        load_properties(path, spec=load_spec())


def test_plot_is_deterministic_and_refuses_what_it_cannot_draw(tmp_path: Path) -> None:
    args = ["prob", "B leaves LAST-ACK by timeout", "--param", "FIN_RETRIES=1"]
    args += ["--loss-rate", "0.1,0.3", "-q"]
    first = CliRunner().invoke(cli, [*args, "--plot", str(tmp_path / "a.svg")])
    second = CliRunner().invoke(cli, [*args, "--plot", str(tmp_path / "b.svg")])
    assert first.exit_code == second.exit_code == 0, first.output
    svg = (tmp_path / "a.svg").read_bytes()
    assert svg == (tmp_path / "b.svg").read_bytes()
    assert b"linux (max)" in svg and b"<dc:date>" not in svg
    for bad, message in [
        (["--plot", str(tmp_path / "c.jpeg")], "the suffix names the format"),
        (["--loss-rate", "0.1", "--plot", str(tmp_path / "c.svg")], "two or more"),
    ]:
        result = CliRunner().invoke(cli, ["prob", "B leaves LAST-ACK by timeout", *bad])
        assert result.exit_code == 2 and message in result.output, result.output
    leaves = CliRunner().invoke(
        cli,
        ["prob", "B leaves LAST-ACK", "--loss-rate", "0.1,0.2", "--plot", str(tmp_path / "d.svg")],
    )
    assert leaves.exit_code == 2 and "one probability" in leaves.output


def test_a_limit_leaves_the_answer_unknown() -> None:
    result = CliRunner().invoke(
        cli, ["prob", "B leaves LAST-ACK by timeout", "--max-states", "1000", "--json"]
    )
    assert result.exit_code == 3, result.output
    [answer] = json.loads(result.output)["answers"]
    assert answer["method"] == "unknown"
    assert answer["rows"][0]["max"] == {"method": "unknown", "low": 0.0, "high": 1.0}


def test_end_components_do_not_stall_the_upper_bound() -> None:
    """With endless SYN retries and every segment lost, A resends its SYN forever: an end
    component.  Iterated from above without deflation, the most probability of reaching
    ESTABLISHED would stay at 1; it is 0."""
    spec = load_spec(params={**ONE_RETRY, "SYN_RETRIES": float("inf")})
    mdp = build_mdp(spec)
    task = _task(spec, mdp, "A enters ESTABLISHED")
    for opt in OPTS:
        value = solve(mdp, task, LossRates(F(1)), opt)
        assert value.method == "numeric" and value.low <= 0 <= value.high <= 2e-12, opt
    half = solve(mdp, task, LossRates(F(1, 2)), "max")
    # The SYN gets through in the end; the SYN+ACK must within its two tries, 1 - 1/2^2.
    assert abs(half.value - 0.75) <= 1e-12
