"""Digital clocks: the product in integer time as an MDP (checker.prob.clocks)."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker import load_spec
from checker.cli import cli
from checker.errors import UsageError
from checker.prob import solve as solve_module
from checker.prob.clocks import ClockedGraph, Delays, Timing, build_clocked
from checker.prob.questions import ask, parse_question
from checker.prob.rates import LossRates
from checker.product.config import ProductConfig

#: Only B's FIN and A's ACKs are lost: B's LAST-ACK is a sequence of rounds, each lost
#: when the FIN or its ACK is.
CLOSE_LOSSES = "0,B->A:FIN+ACK=0.1,A->B:ACK=0.1"
FIFO = ProductConfig(ordering="fifo", capacity=4)


def _answer(
    question: str, rates: str, within: F | None = None, **params: float
) -> dict[str, tuple[F, F]]:
    spec = load_spec(params={"FIN_RETRIES": 1, "RTO": 1, **params})
    timing = Timing(Delays.parse("0.1", spec), horizon=within)
    mdp = build_clocked(spec, FIFO, timing)
    assert mdp.complete and mdp.acyclic
    answer = ask(mdp, parse_question(question, spec), [LossRates.parse(rates)])
    out = {}
    for row in answer.rows:
        assert row.low.method == row.high.method == "exact"
        assert isinstance(row.low.low, F) and isinstance(row.high.high, F)
        out[row.outcome] = (row.low.low, row.high.high)
    return out


def test_give_up_in_last_ack_closed_form() -> None:
    """Applications act at once and time orders the rest: the answer is a single
    number (min = max), the closed form (1 - (1 - p)^2)^(FIN_RETRIES + 1) -- two rounds
    of B's FIN, each failing when the FIN or A's ACK of it is lost."""
    got = _answer("B leaves LAST-ACK", CLOSE_LOSSES)
    q = 1 - (1 - F(1, 10)) ** 2
    assert got["by timeout RETX"] == (q**2, q**2) == (F(361, 10000), F(361, 10000))
    assert got["by rcv ACK of FIN"] == (1 - q**2, 1 - q**2)
    assert got["never enters"] == got["stays"] == (F(0), F(0))


@pytest.mark.parametrize(
    ("within", "want"),
    [
        # SYN 0 -> 0.1, SYN+ACK -> 0.2, A's ACK and FIN -> 0.3, B's ACK and FIN -> 0.4,
        # A's ACK -> 0.5: before that nothing can complete.
        (F(4, 10), F(0)),
        # The first round: B's FIN and A's ACK both arrive (0.9^2).
        (F(1), F(81, 100)),
        # B retransmits at 0.3 + RTO = 1.3; its ACK is back at 1.5: both rounds.
        (F(3, 2), 1 - (1 - F(81, 100)) ** 2),
    ],
)
def test_close_completes_within(within: F, want: F) -> None:
    """P(B's close ends by the ACK of its FIN within T): a step function of T whose
    steps are the rounds of B's FIN."""
    got = _answer("B leaves LAST-ACK", CLOSE_LOSSES, within=within)
    assert got["by rcv ACK of FIN"] == (want, want)
    late = got[f"after {float(within):g} s"]
    assert late[0] == late[1] == 1 - want - got["by timeout RETX"][0]


def test_delays_are_drawn_from_a_distribution() -> None:
    """A segment's delay is a branch per value, exactly.  With delays 0.1 or 0.2 s
    equally likely and no loss, B's close ends within 0.7 s when its critical path is:
    SYN, SYN+ACK, then A's ACK and FIN side by side on a FIFO channel (the FIN arrives
    when both have: the slower of two draws), B's ACK and FIN likewise, then A's ACK --
    five terms, at least 0.5 s, each slow term adding 0.1 s.  A single draw is slow with
    probability 1/2, the slower of two with 3/4; within 0.7 s means at most two slow
    terms: counting the 2^7 draws gives 40, so 5/16."""
    spec = load_spec(params={"FIN_RETRIES": 1, "RTO": 1})
    timing = Timing(Delays.parse("0.1=1/2,0.2=1/2", spec), horizon=F(7, 10))
    mdp = build_clocked(spec, FIFO, timing)
    assert isinstance(mdp.exploration, ClockedGraph)
    assert mdp.exploration.tick == F(1, 10)
    rows = ask(mdp, parse_question("B leaves LAST-ACK", spec), [LossRates.parse("0")]).rows
    got = {r.outcome: (r.low.low, r.high.high) for r in rows}
    assert got["by rcv ACK of FIN"] == (F(5, 16), F(5, 16))
    assert got["after 0.7 s"] == (F(11, 16), F(11, 16))


def test_delays_parse() -> None:
    spec = load_spec(params={"MSL": 2})
    assert Delays.parse("0.5", spec).choices == ((F(1, 2), F(1)),)
    assert Delays.parse("MSL", spec).choices == ((F(2), F(1)),)
    uniform = Delays.parse("uniform:2", spec)
    assert uniform.choices == ((F(1), F(1, 2)), (F(2), F(1, 2)))
    assert "1 s (1/2)" in uniform.describe()
    for bad, words in [
        ("0", "(0, MSL]"),
        ("3", "(0, MSL]"),
        ("0.1=0.5,0.2=0.4", "sum to 1"),
        ("uniform:0", "uniform:N"),
        ("soon", "neither a number"),
        ("0.1=x", "not a number"),
    ]:
        with pytest.raises(UsageError, match=words.replace("(", r"\(").replace("]", r"\]")):
            Delays.parse(bad, spec)
    # The messages name the value as the input does: an option, or a suite's field.
    endless = load_spec(params={"MSL": float("inf")})
    with pytest.raises(UsageError, match=r"^--delay 0.1: .* finite \(give it in --param\)"):
        Delays.parse("0.1", endless)
    with pytest.raises(UsageError, match=r"^delay = 0.1: .* finite \(give it in params\)"):
        Delays.parse("0.1", endless, option="delay =")


def test_float_induction_beyond_the_exact_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past EXACT_STATES the acyclic solver works in floats: numeric, within its stated
    rounding bound of the exact answer."""
    exact = _answer("B leaves LAST-ACK", CLOSE_LOSSES)
    monkeypatch.setattr(solve_module, "EXACT_STATES", 10)
    spec = load_spec(params={"FIN_RETRIES": 1, "RTO": 1})
    mdp = build_clocked(spec, FIFO, Timing(Delays.parse("0.1", spec)))
    rows = ask(mdp, parse_question("B leaves LAST-ACK", spec), [LossRates.parse(CLOSE_LOSSES)]).rows
    for row in rows:
        assert row.low.method == "numeric"
        assert row.low.error < 1e-12
        assert abs(row.low.value - float(exact[row.outcome][0])) <= row.low.error + 1e-15


def test_old_segments_need_time_wait_and_rfc1337() -> None:
    """The quantitative no-old-duplicates: with reuse, delays uniform on (0, MSL] and a
    handshake that cannot fail (SYN and SYN+ACK never lost), the most probability that
    an endpoint takes an old segment for its own falls as TIME-WAIT grows; at 2*MSL it
    is smaller with RFC 1337 (a RST no longer ends TIME-WAIT) than without."""

    def most(variant: str | None, time_wait: float) -> float:
        spec = load_spec(
            variant=variant,
            params={
                "MSL": 1, "RTO": 3, "TIME_WAIT": time_wait,
                "SYN_RETRIES": 0, "SYNACK_RETRIES": 0, "FIN_RETRIES": 2,
            },
        )  # fmt: skip
        mdp = build_clocked(
            spec, ProductConfig(capacity=4), Timing(Delays.parse("uniform:2", spec), reuse=True)
        )
        question = parse_question("an endpoint accepts an old segment", spec, timed=True)
        [row] = ask(mdp, question, [LossRates.parse("0.1,SYN=0,SYN+ACK=0")]).rows
        assert row.low.value < 1e-12  # a scheduler can keep every old segment away
        return float(row.high.value)

    base = [most(None, tw) for tw in (0.5, 1, 2)]
    assert base[0] > base[1] > base[2] > 0
    assert most("rfc1337", 2) < base[2]


def test_cli(tmp_path: object) -> None:
    args = [
        "prob", "B leaves LAST-ACK", "--delay", "0.1", "--within", "1.5",
        "--loss-rate", CLOSE_LOSSES, "--param", "FIN_RETRIES=1", "--param", "RTO=1",
        "--capacity", "4", "--ordering", "fifo", "--json",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["timers"] == "clocks"
    assert data["clocks"] == {
        "tick": "1/10",
        "delays": [["1/10", "1"]],
        "within": 1.5,
        "reuse": False,
    }
    rows = {r["outcome"]: r for r in data["answers"][0]["rows"]}
    assert rows["by rcv ACK of FIN"]["min"]["fraction"] == "9639/10000"
    assert "digital clocks: time in ticks of 0.1 s" in data["answers"][0]["assumptions"][2]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--within", "2"], "give --delay too"),
        (["--reuse"], "give --delay too"),
        (["--delay", "0.1", "--scheduler-timers", "any"], "drop --scheduler-timers"),
        (["--delay", "100"], "(0, MSL]"),
        (["--delay", "0.1", "--within", "nan"], "nan: give a finite number"),
        (["--delay", "0.1", "--within", "inf"], "inf: give a finite number"),
        (["--eps", "nan"], "nan: give a finite number"),
        # A name in colons is printed as written, not as an emoji.
        (["--delay", "uniform:x:"], "--delay uniform:x:: uniform:N needs"),
        (["--delay", "0.1", "--capacity", "1"], None),
    ],
)
def test_cli_refuses(extra: list[str], words: str | None) -> None:
    result = CliRunner().invoke(cli, ["prob", "B leaves LAST-ACK", "--param", "MSL=30", *extra])
    if words is None:
        # A channel too small for the clocked run: unknown (exit 3), with the reason.
        assert result.exit_code == 3, result.output
        assert "raise --capacity" in result.output
        return
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Traceback" not in result.output


def test_old_segment_question_needs_reuse() -> None:
    spec = load_spec()
    with pytest.raises(UsageError, match="--delay and --reuse"):
        parse_question("A accepts an old segment", spec)


def test_running_out_of_memory_is_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of memory, the search stops, drops what it built and every answer is unknown
    with the reason -- never a crash, never a silent number."""
    from checker.prob import clocks

    def exhausted(*args: object, **kwargs: object) -> object:
        raise MemoryError

    monkeypatch.setattr(clocks, "receive", exhausted)
    spec = load_spec(params={"FIN_RETRIES": 1, "RTO": 1})
    mdp = build_clocked(spec, FIFO, Timing(Delays.parse("0.1", spec)))
    assert not mdp.complete and mdp.exploration.stopped() == "memory, after 1 states"
    [row, *_] = ask(mdp, parse_question("B leaves LAST-ACK", spec), [LossRates.parse("0.1")]).rows
    assert row.low.method == row.high.method == "unknown"


SUITE = """
[[properties]]
name = "close-quick"
kind = "probability"
formula = "B leaves LAST-ACK by rcv ACK of FIN"
loss_rate = [0.1]
bound = ">= 0.5"
config = {{ ordering = "fifo", capacity = 4 }}
params = {{ FIN_RETRIES = 1, RTO = 1 }}
description = "d"
ref = "r"
expected = {{ default = "holds" }}
{extra}
"""


def test_a_suite_property_reads_time(tmp_path: Path) -> None:
    """``delay`` and ``within`` in a ``probability`` property: the verdict is decided on
    the clocked MDP, and its claim says so.  Within 1 s, before any retransmission, the
    close needs five segments to arrive (SYN, SYN+ACK, A's FIN, B's FIN, A's last
    ACK; A's ACK of the SYN+ACK and B's of A's FIN are redundant): 0.9^5."""
    path = tmp_path / "p.toml"
    path.write_text(SUITE.format(extra="delay = 0.1\nwithin = 1.0"))
    result = CliRunner().invoke(
        cli, ["check", "--properties", str(path), "--variant", "base", "--json"]
    )
    assert result.exit_code == 0, result.output
    [verdict] = json.loads(result.output)["properties"]
    assert verdict["verdict"] == "holds"
    assert "within 1 s" in verdict["claim"] and "digital clocks" in verdict["claim"]
    assert "0.59049 at 0.1" in verdict["message"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("within = 1.0", "'within' reads time: give 'delay' too"),
        ("delay = 500", "properties[0] close-quick: delay = 500: a delay is in (0, MSL]"),
        ("delay = 0.1\\nwithin = -1", "within"),
        ("delay = 0.1\\nwithin = inf", "within: input should be a finite number (got inf)"),
        ("delay = nan", "'nan' is neither a number of seconds"),
    ],
)
def test_a_suite_property_with_bad_timing_is_refused(
    tmp_path: Path, extra: str, words: str
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(SUITE.format(extra=extra.replace("\\n", "\n")))
    result = CliRunner().invoke(cli, ["check", "--properties", str(path), "--variant", "base"])
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


def test_clocked_answers_and_their_explicit_model_are_the_same_bytes_whatever_the_hash_seed(
    tmp_path: Path,
) -> None:
    """The clocked reading numbers its states in the order it finds them: the JSON of
    ``tcpcheck prob --delay`` and the explicit model Storm is given (export.drn) are
    the same bytes under two hash seeds."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from checker import load_spec\n"
        "from checker.export.drn import drn\n"
        "from checker.prob.clocks import build_reading\n"
        "from checker.prob.questions import outcomes, parse_question\n"
        "from checker.prob.rates import LossRates\n"
        "from checker.product.config import ProductConfig\n"
        "spec = load_spec(params={'FIN_RETRIES': 1})\n"
        "mdp = build_reading(spec, ProductConfig(ordering='fifo', capacity=4),\n"
        "                    delay='0.01=1/2,0.02=1/2', within=1.5)\n"
        "for o in outcomes(mdp, parse_question('B leaves LAST-ACK', spec)):\n"
        "    sys.stdout.write(drn(mdp, o.task, LossRates.parse('A->B=0.1,B->A=0.2')))\n"
    )
    prob = [
        "-c", "from checker.cli import main; main()",
        "prob", "B leaves LAST-ACK", "--param", "FIN_RETRIES=1",
        "--delay", "0.01=1/2,0.02=1/2", "--within", "1.5", "--capacity", "4",
        "--ordering", "fifo", "--loss-rate", "0.1", "--json",
    ]  # fmt: skip
    root = str(Path(__file__).resolve().parents[1])
    seen = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}
        runs = [
            subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env)
            for argv in (["-c", code], prob)
        ]
        assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
        seen.append([r.stdout for r in runs])
    assert seen[0] == seen[1]
    assert seen[0][0].count("@model") == 5 and json.loads(seen[0][1])["answers"]


@pytest.mark.parametrize(
    ("rates", "words"),
    [
        ('["2"]', "loss rate '2': a probability is between 0 and 1"),
        ('["A->B:FOO=0.1"]', "FOO"),
        ('"0.1,x"', "loss rate 'x'"),
    ],
)
def test_a_suite_property_with_unreadable_loss_rates_is_refused_by_name(
    tmp_path: Path, rates: str, words: str
) -> None:
    """A loss rate given as text is read as --loss-rate reads it; one that does not read
    is refused naming the file and the property (exit 2)."""
    path = tmp_path / "p.toml"
    path.write_text(SUITE.format(extra="").replace("loss_rate = [0.1]", f"loss_rate = {rates}"))
    result = CliRunner().invoke(cli, ["check", "--properties", str(path), "--variant", "base"])
    assert result.exit_code == 2, result.output
    assert f"{path}: properties[0] close-quick: loss_rate: " in result.output
    assert words in result.output and "Traceback" not in result.output
