"""The JUnit report of ``tcpcheck check --junit``, read as CI systems read it.

One run of a small suite (``tests/data/junit_suite.toml``) under a state bound gives a
pass, a failure (a wrong expectation: its counterexample is charted) and an error (the
bound left the verdict unknown).  The report must be valid against the format Jenkins and
GitLab consume (``tests/data/junit.xsd``), its counts must be its cases', and it must read
back with junitparser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from click.testing import CliRunner
from junitparser import Error, Failure, JUnitXml, Skipped

from checker.cli import cli

DATA = Path(__file__).resolve().parent / "data"
SCHEMA = DATA / "junit.xsd"
ARGS = ["check", "--properties", str(DATA / "junit_suite.toml"), "--max-states", "200"]


@dataclass(frozen=True)
class Run:
    """What one ``tcpcheck check --junit`` printed, and the report it wrote."""

    output: str
    report: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    report = tmp_path_factory.mktemp("junit") / "report.xml"
    result = CliRunner().invoke(cli, [*ARGS, "--junit", str(report)])
    # A definite verdict differs (the failure), so the exit status is 1.
    assert result.exit_code == 1, result.output
    return Run(result.output, report)


def test_the_report_is_valid_junit(run: Run) -> None:
    schema = xmlschema.XMLSchema(SCHEMA)
    schema.validate(run.report)
    # The schema can refuse: a negative time, a case without a name.
    text = run.report.read_text(encoding="utf-8")
    for broken in (
        re.sub(r'time="[^"]*"', 'time="-1"', text, count=1),
        text.replace('<testcase name="syn-sent-reachable"', "<testcase"),
        re.sub(r'time="[^"]*"', 'time="1e-05"', text, count=1),
    ):
        assert broken != text
        with pytest.raises(xmlschema.XMLSchemaValidationError):
            schema.validate(broken)


def test_pass_failure_and_error(run: Run) -> None:
    root = ElementTree.parse(run.report).getroot()
    ended = {
        c.get("name"): [r.tag for r in c if r.tag != "system-out"] for c in root.iter("testcase")
    }
    assert ended == {
        "syn-sent-reachable": [],
        "never-established": ["failure"],
        "no-closing-when-b-closes-after-a": ["error"],
    }
    failure = root.find(".//failure")
    assert failure is not None
    assert failure.get("type") == "violated"
    assert failure.get("message") == (
        "expected holds, got violated: the claim that every reachable state satisfies "
        "A != ESTABLISHED"
    )
    error = root.find(".//error")
    assert error is not None and error.get("type") == "unknown"
    # Which limit stopped it.
    assert "max-states, after 200 states" in (error.get("message") or "")


def test_counts_are_the_cases(run: Run) -> None:
    root = ElementTree.parse(run.report).getroot()
    assert root.tag == "testsuites"

    def counts(node: ElementTree.Element) -> dict[str, int]:
        cases = list(node.iter("testcase"))
        return {
            "tests": len(cases),
            **{
                plural: sum(c.find(tag) is not None for c in cases)
                for plural, tag in (
                    ("failures", "failure"),
                    ("errors", "error"),
                    ("skipped", "skipped"),
                )
            },
        }

    for node in [root, *root.iter("testsuite")]:
        assert {k: int(node.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped")} == (
            counts(node)
        )
    assert counts(root) == {"tests": 3, "failures": 1, "errors": 1, "skipped": 0}
    # One suite: only the base spec has expectations; its cases are named after it.
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "tcpcheck.base"
    assert {c.get("classname") for c in suite.iter("testcase")} == {"tcpcheck.base"}


def test_the_failure_holds_the_chart_check_prints(run: Run) -> None:
    root = ElementTree.parse(run.report).getroot()
    failure = root.find(".//failure")
    assert failure is not None and failure.text is not None
    body = [line.rstrip() for line in failure.text.splitlines()]
    start = next(i for i, line in enumerate(body) if line.startswith("step  A"))
    chart = body[start:]
    assert any("rcv SYN+ACK → ESTABLISHED" in line for line in chart)
    assert chart[-1].strip().startswith("final: A=ESTABLISHED")
    # The very lines the command printed for the counterexample, and no markup.
    printed = [line.rstrip() for line in run.output.splitlines()]
    at = printed.index(chart[0])
    assert printed[at : at + len(chart)] == chart
    assert "[bold" not in failure.text and "\x1b[" not in failure.text


def test_times_are_seconds(run: Run) -> None:
    root = ElementTree.parse(run.report).getroot()
    nodes = [root, *root.iter("testsuite"), *root.iter("testcase")]
    times = [node.get("time") or "" for node in nodes]
    assert all(re.fullmatch(r"\d+(\.\d+)?", t) for t in times), times
    (suite,) = root.findall("testsuite")
    cases = [float(c.get("time") or "") for c in suite.iter("testcase")]
    assert float(suite.get("time") or "") == pytest.approx(sum(cases), abs=0.002)
    # Measured: the first check loaded the spec and explored the graph the others share.
    assert cases[0] > 0
    # The run's time counts the variants' loading too.
    assert float(root.get("time") or "") >= float(suite.get("time") or "")


def test_the_report_reads_back_with_junitparser(run: Run) -> None:
    report = JUnitXml.fromfile(str(run.report))
    assert (report.tests, report.failures, report.errors, report.skipped) == (3, 1, 1, 0)
    results = {case.name: [type(r) for r in case.result] for suite in report for case in suite}
    assert results == {
        "syn-sent-reachable": [],
        "never-established": [Failure],
        "no-closing-when-b-closes-after-a": [Error],
    }
    assert Skipped not in {t for kinds in results.values() for t in kinds}
    assert all(case.time is not None and case.time >= 0 for s in report for case in s)


def test_json_has_no_times() -> None:
    """Only the report is timed: the JSON of a run is the same bytes every time."""
    outputs = [CliRunner().invoke(cli, [*ARGS, "--json"]).output for _ in range(2)]
    assert outputs[0] == outputs[1]
    keys = {key for v in json.loads(outputs[0])["properties"] for key in v}
    assert keys and not keys & {"time", "elapsed", "seconds"}
