"""``timed-within`` claims: an endpoint leaves a state within a limit, decided with the
duration bound; pinned on both sides of the limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.check.outcome import Outcome
from checker.check.properties import Property, load_properties
from checker.cli import cli
from checker.errors import SpecError, UsageError
from checker.model.load import load_spec
from checker.timed.checks import check_timed
from checker.timed.within import check_within


def suite(tmp_path: Path, formula: str, **extra: str) -> Path:
    lines = [
        "[[properties]]",
        'name = "w"',
        'kind = "timed-within"',
        f"formula = {json.dumps(formula)}",
        'description = "d"',
        'ref = "r"',
        'expected = { default = "holds" }',
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    path = tmp_path / "props.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def claim(tmp_path: Path, formula: str, **extra: str) -> Property:
    [prop] = load_properties(suite(tmp_path, formula, **extra), spec=load_spec())
    return prop


@pytest.mark.parametrize(
    ("limit", "outcome", "last"),
    [
        ("127 * RTO", Outcome.HOLDS, 127),  # the bound is attained: exactly at the limit
        ("127", Outcome.HOLDS, 127),
        ("126.5", Outcome.VIOLATED, 127),  # the longest stay passes it
        ("100 * RTO", Outcome.VIOLATED, 127),
    ],
)
def test_last_ack_on_both_sides_of_its_bound(
    tmp_path: Path, limit: str, outcome: Outcome, last: int
) -> None:
    prop = claim(tmp_path, f"B leaves LAST-ACK within {limit}")
    verdict = check_within(prop, load_spec(), None)
    assert verdict.verdict == outcome, verdict.message
    assert verdict.trace is not None
    # The chart is the longest stay: B gives up its FIN at 127 s.
    assert verdict.trace.to_json()["steps"][-1]["time"] == last


def test_a_stay_that_never_ends_violates_any_limit(tmp_path: Path) -> None:
    prop = claim(tmp_path, "A leaves FIN-WAIT-2 within 10 * MSL")
    verdict = check_within(prop, load_spec(), None)
    assert verdict.verdict == Outcome.VIOLATED
    assert "can stay forever, past the limit 10 * MSL = 1200 s" in verdict.message
    linux = check_within(prop, load_spec(variant="linux"), "linux")
    assert linux.verdict == Outcome.HOLDS and "at most 60 s" in linux.message


def test_a_live_peer_from_a_start(tmp_path: Path) -> None:
    prop = claim(
        tmp_path,
        "A leaves TIME-WAIT within 2 * MSL",
        peer='"live"',
        start='"A = FIN-WAIT-2 and B = CLOSE-WAIT"',
        config='{ loss = "none", capacity = 6 }',
        params="{ MSL = 30, TIME_WAIT = 60 }",
    )
    spec = load_spec(params=dict(prop.params))
    # B's FIN retransmitted at 1 s can arrive by 31 s and restart TIME-WAIT: less than 91 s
    # (see the README's bound table), more than 2 * MSL = 60 s.
    verdict = check_within(prop, spec, None)
    assert verdict.verdict == Outcome.VIOLATED
    assert "less than 91 s" in verdict.message


def test_a_limit_gives_unknown(tmp_path: Path) -> None:
    prop = claim(tmp_path, "B leaves LAST-ACK within 127 * RTO")
    verdict = check_within(prop, load_spec(), None, max_nodes=2)
    assert verdict.verdict == Outcome.UNKNOWN


@pytest.mark.parametrize(
    ("formula", "extra", "message"),
    [
        ("B leaves LAST-ACK", {}, "cannot read"),
        ("B leaves LAST-AK within 3", {}, "unknown state 'LAST-AK'"),
        ("B leaves LAST-ACK within 3 * RTT", {}, "unknown parameter 'RTT' (did you mean 'RTO'?)"),
        ("B leaves LAST-ACK within 3 *", {}, "within: expected a number"),
        ("B leaves LAST-ACK within 3", {"peer": '"far"'}, "peer: 'far' is not one of gone, live"),
        ("B leaves LAST-ACK within 3", {"start": '"A = CLOSED"'}, 'add peer = "live"'),
        ("B leaves LAST-ACK within 3", {"lose": '"A enters TIME-WAIT"'}, "do not apply"),
    ],
)
def test_malformed_claims_are_one_message(
    tmp_path: Path, formula: str, extra: dict[str, str], message: str
) -> None:
    path = suite(tmp_path, formula, **extra)
    with pytest.raises(SpecError) as err:
        load_properties(path, spec=load_spec())
    assert message in str(err.value)
    result = CliRunner().invoke(cli, ["check", "--properties", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_peer_belongs_to_timed_within_alone(tmp_path: Path) -> None:
    path = suite(tmp_path, "A = CLOSED", peer='"live"')
    text = path.read_text(encoding="utf-8").replace("timed-within", "timed-invariant")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="'peer' belongs only in a timed-within property"):
        load_properties(path, spec=load_spec())


def test_the_bundled_claims_and_their_pinned_verdicts() -> None:
    args = ["check", "--property", "last-ack-gives-up-within-r2"]
    args += ["--property", "connect-fails-within-3-minutes", "--json"]
    result = CliRunner().invoke(cli, [*args, "--variant", "base", "--variant", "linux"])
    assert result.exit_code == 0, result.output
    got = {(v["name"], v["variant"]): v["verdict"] for v in json.loads(result.output)["properties"]}
    assert got == {
        ("last-ack-gives-up-within-r2", "base"): "holds",
        ("last-ack-gives-up-within-r2", "linux"): "holds",
        ("connect-fails-within-3-minutes", "base"): "violated",
        ("connect-fails-within-3-minutes", "linux"): "holds",
    }
    prop = next(p for p in load_properties() if p.name == "connect-fails-within-3-minutes")
    with pytest.raises(UsageError, match="check_within"):
        check_timed(prop, load_spec(), None)
    synth = CliRunner().invoke(cli, ["synth", "connect-fails-within-3-minutes"])
    assert synth.exit_code == 2 and "tcpcheck bound STATE --free" in synth.output
