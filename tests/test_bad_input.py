"""Regression tests for inputs that once ended in a traceback or were silently misread:
wrong types in a suite, deep nesting, absurd parameter values.  Each must be one message
naming the file, the entry and the fix, exit 2."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.check.schema import ConfigTable
from checker.cli import cli
from checker.product.config import OPTION_KEYS

BASE = """
[[properties]]
name = "p"
kind = "invariant"
formula = "true"
description = "d"
ref = "RFC 9293"
expected = { base = "holds" }
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _suite(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "suite.toml"
    base = BASE if extra else BASE.replace('"holds" }', "1 }")
    path.write_text(base + extra, encoding="utf-8")
    return path


def test_the_schema_knows_every_product_option() -> None:
    assert tuple(ConfigTable.model_fields) == OPTION_KEYS


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("config = { a_close = {} }", "config.a_close: must be a string (got {}, a table)"),
        ('config = { capacity = "2" }', "config.capacity: must be a whole number (got '2'"),
        ("config = { capacity = 1.5 }", "config.capacity: must be a whole number (got 1.5"),
        ("config = { capacity = true }", "config.capacity: must be a whole number (got true"),
        ("config = { capacity = 0 }", "config.capacity: input should be greater than or equal"),
        ('config = { a_abort = "no" }', "config.a_abort: must be true or false (got 'no'"),
        ("config = { simultaneous_open = 1 }", "config.simultaneous_open: must be true or false"),
        ("config = { loss = 1.5 }", "config.loss: must be a string or a whole number (got 1.5"),
        ("params = { RTO = " + "9" * 401 + " }", "params.RTO: must be a number of at most"),
        ("final = 3", "final: must be a string (got 3, a whole number)"),
        ('fairness = "timers"', "fairness: must be a list (got 'timers'"),
        ("", "expected.base: must be a string (got 1"),
        ("reuse = 1", "reuse: must be true or false"),
        ("synth = []", "synth: must be a table"),
        ("config = { capacty = 2 }", "config: unknown key 'capacty' (did you mean 'capacity'?)"),
    ],
)
def test_a_suite_field_of_the_wrong_type_is_named(tmp_path: Path, extra: str, says: str) -> None:
    suite = _suite(tmp_path, extra)
    code, out = run("check", "--properties", str(suite))
    assert code == 2
    assert f"{suite}: properties[0] p: {says}" in " ".join(out.split())


def test_a_suite_value_of_the_wrong_meaning_is_named(tmp_path: Path) -> None:
    code, out = run("check", "--properties", str(_suite(tmp_path, 'fairness = ["timer"]')))
    assert code == 2 and "fairness: unknown assumption 'timer' (did you mean 'timers'?)" in out


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 600 + "]" * 600,
        "[properties]\nx = " + "[" * 5000 + "]" * 5000,
    ],
)
def test_toml_nested_too_deep_is_an_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(text, encoding="utf-8")
    for args in (["check", "--properties", str(path)], ["spec", "--spec", str(path)]):
        code, out = run(*args)
        assert code == 2
        assert "nested too deeply" in out or "malformed TOML" in out


@pytest.mark.parametrize(
    ("formula", "says"),
    [
        ("(" * 400 + "true" + ")" * 400, "nested more than 64 deep"),
        ("not " * 1000 + "true", "too long: more than 1000 tokens"),
        ("not " * 100 + "true", "nested more than 64 deep"),
        (" -> ".join(["true"] * 100), "nested more than 64 deep"),
    ],
)
def test_a_formula_nested_too_deep_is_named(tmp_path: Path, formula: str, says: str) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(BASE.replace('formula = "true"', f'formula = "{formula}"'), encoding="utf-8")
    code, out = run("check", "--properties", str(suite))
    assert code == 2
    assert f"{suite}: properties[0] p: formula: column" in out and says in out


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("(" * 200 + "MSL" + ")" * 200, "nested more than 64 deep"),
        ("-" * 1000 + "MSL", "too long: more than 1000 tokens"),
        ("2" + "^2" * 100, "nested more than 64 deep"),
    ],
)
def test_a_parameter_expression_nested_too_deep_is_named(
    tmp_path: Path, value: str, says: str
) -> None:
    overlay = tmp_path / "deep.toml"
    overlay.write_text(
        f'[variant]\nname = "deep"\ndescription = "d"\nref = "r"\n\n[parameters.TIME_WAIT]\n'
        f'value = "{value}"\nunit = "s"\ndescription = "d"\nref = "r"\n',
        encoding="utf-8",
    )
    code, out = run("spec", "--spec", str(overlay))
    assert code == 2
    assert str(overlay) in out and "TIME_WAIT" in out and says in out


@pytest.mark.parametrize(
    "args",
    [
        ["explore", "--param", "FIN_RETRIES=1e9", "--max-seconds", "3"],
        ["spec", "--param", "SYN_RETRIES=100000"],
        ["check", "--param", "FIN_RETRIES=256"],
    ],
)
def test_an_absurd_retry_count_is_refused_before_loading(args: list[str]) -> None:
    started = time.monotonic()
    code, out = run(*args)
    assert code == 2 and "a retry count is at most 255" in out
    assert time.monotonic() - started < 10


def test_a_retry_count_in_a_spec_file_is_held_to_the_same_rule(tmp_path: Path) -> None:
    overlay = tmp_path / "many.toml"
    overlay.write_text(
        '[variant]\nname = "many"\ndescription = "d"\nref = "r"\n\n[parameters.FIN_RETRIES]\n'
        'value = 100000\nunit = "count"\ndescription = "d"\nref = "r"\n',
        encoding="utf-8",
    )
    code, out = run("spec", "--spec", str(overlay))
    assert code == 2 and str(overlay) in out and "FIN_RETRIES" in out and "at most 255" in out


def test_a_capture_whose_retransmission_takes_no_time_is_a_timing_difference() -> None:
    """Found by benchmarks/fuzz.py (seed 1, input 310): a capture edited so that a FIN is
    repeated at the instant it was sent fixed RTO = 0, which the timed model refused as
    a --param error not naming the capture.  It is a timing that differs."""
    capture = Path(__file__).parent / "data" / "bad" / "zero-interval-retransmission.pcap"
    code, out = run("conform", "--pcap", str(capture), "--variant", "linux")
    assert code == 1
    assert "a retransmission timer never fires at once" in " ".join(out.split())


@pytest.mark.parametrize(
    ("overlay", "says"),
    [
        # remove_timers = ["2MSL"] without remove_states: TIME-WAIT's rule still fires on
        # it -- named at the overlay (it blamed the bundled spec's rule).
        (
            "timer-removed-still-used.toml",
            "variant: remove_timers: 1 rule(s) still fire on timeout 2MSL: spec/tcp.toml: "
            "transitions[",
        ),
        # event = {} in an overlay's rule: a TypeError inside the merge (exit 4).
        ("event-a-table.toml", "transitions[0] (line 10): 'event' must be a string or a list"),
        # MSL = "... TIME_WAIT ...": the cycle closed by the overlay is named there (it
        # blamed the base's TIME_WAIT = 2 * MSL).
        ("parameter-cycle.toml", "parameters.MSL: parameters refer to each other in a cycle"),
        # A 4000-digit value: an OverflowError converting it (exit 4).
        ("value-4000-digits.toml", "parameters.TIME_WAIT: 'value' has 4000 digits"),
        # The 2MSL timer moved to LISTEN: the base's TIME-WAIT rule times out on a timer
        # that no longer runs there (it blamed the bundled spec's rule alone).
        (
            "timer-moved-from-its-rule.toml",
            "as this overlay leaves the base spec: spec/tcp.toml: transitions[",
        ),
    ],
)
def test_overlays_found_by_fuzzing(overlay: str, says: str) -> None:
    """Found by benchmarks/fuzz.py (seed 1, inputs 3669, 4659, 7027 and 7857) and by the
    test suite's own fuzzing (the moved timer)."""
    path = Path(__file__).parent / "data" / "bad" / overlay
    code, out = run("spec", "--spec", str(path))
    assert code == 2
    assert f"data/bad/{overlay}: {says}" in " ".join(out.split())


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{", "not a recording.json that conform --keep-captures wrote (JSONDecodeError"),
        ('{"name": 3}', "not a recording.json that conform --keep-captures wrote (KeyError"),
        ("[1, 2]", "not a recording.json that conform --keep-captures wrote"),
        (None, "no such file"),
    ],
)
def test_a_broken_recording_is_named(tmp_path: Path, content: str | None, says: str) -> None:
    path = tmp_path / "recording.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out = run("conform", "--recording", str(path))
    assert code == 2 and f"{path}: {says}" in " ".join(out.split())


def test_a_recording_whose_captures_disagree_is_named(tmp_path: Path) -> None:
    """B's capture shows a segment A's never shows sent: the two captures disagree."""
    data = json.loads(
        (Path(__file__).parent / "data" / "recordings" / "active-close.json").read_text()
    )
    first = next(w for w in data["wire"]["B"] if w["src"].startswith("10.77.0.1:"))
    data["wire"]["B"].append({**first, "seq": first["seq"] + 999})
    path = tmp_path / "recording.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, out = run("conform", "--recording", str(path))
    assert code == 2 and "never shows sent (the two captures disagree)" in " ".join(out.split())
