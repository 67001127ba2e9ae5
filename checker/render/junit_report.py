"""JUnit XML reports of a property suite, in the form CI systems read (Jenkins' JUnit
plugin, GitLab's test reports).

One ``<testsuite>`` per variant, named ``tcpcheck.<variant>`` (``base`` for the spec
itself), in the order the run reached them; in it one ``<testcase>`` per property checked
on that variant: ``classname`` the suite's name, ``name`` the property's, ``time`` the
seconds its verdict took (:attr:`~checker.check.verdicts.Verdict.elapsed`).  A verdict
other than the expected one is

- an ``<error type="unknown">`` when it is ``unknown``: a limit (states, seconds, memory,
  the solver, the channel capacity) stopped the check, and the message says which -- the
  check is incomplete, not failed;
- a ``<failure>`` when it is definite: its ``type`` is the verdict found (``violated``
  where ``holds`` was expected, or the other way), its message the expectation, the
  verdict and the claim in words, and its body the plain-text message sequence chart of
  the counterexample or witness (:func:`~checker.render.text_chart.render_text`) under
  the lines ``tcpcheck check`` prints above it.

Every case's ``<system-out>`` gives the verdict and why.  A suite's counts and time are
its cases'; the top level's time is the whole run's when it is given (loading the
variants included), else its suites' sum.  Times are in seconds, to the millisecond.

Examples
--------
>>> import dataclasses
>>> from checker.check.properties import load_properties
>>> from checker.check.untimed import check_property
>>> from checker.model.load import load_spec
>>> from checker.product.explore import explore
>>> prop = next(p for p in load_properties() if p.name == "closing-reachable")
>>> wrong = dataclasses.replace(prop, expected={"default": Outcome.VIOLATED})
>>> verdict = check_property(wrong, explore(load_spec(), wrong.product_config()), None)
>>> report = JUnitXml.fromstring(junit_xml([verdict], elapsed=0.25))
>>> report.tests, report.failures, report.errors, report.time
(1, 1, 0, 0.25)
>>> [(suite.name, case.classname, case.name) for suite in report for case in suite]
[('tcpcheck.base', 'tcpcheck.base', 'closing-reachable')]
>>> [(r.type, r.message.split(":")[0]) for s in report for c in s for r in c.result]
[('holds', 'expected violated, got holds')]
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

from ..check.outcome import Outcome
from ..check.verdicts import Verdict
from .text_chart import render_text

__all__ = ["junit_xml", "suite_name"]

#: Times are written to the millisecond: enough for a check, and never in the exponent
#: notation (``1e-05``) a float would print as, which a decimal-typed reader refuses.
_DIGITS = 3


def suite_name(variant: str | None) -> str:
    """The test suite (and ``classname``) of a variant's checks: stable from run to run.

    >>> suite_name(None), suite_name("linux")
    ('tcpcheck.base', 'tcpcheck.linux')
    """
    return f"tcpcheck.{variant or 'base'}"


def _seconds(value: float) -> float:
    return round(max(value, 0.0), _DIGITS)


def _failure(v: Verdict) -> Failure:
    """A definite verdict against the expected one: what was found, against what, and the
    run that shows it."""
    failure = Failure(
        f"expected {v.expected}, got {v.verdict}: the claim that {v.prop.claim()}",
        type_=str(v.verdict),
    )
    body = [f"{v.prop.name} on {v.variant or 'base'}: {v.verdict} — {v.message}", *v.preamble()]
    if v.trace is not None:
        body.append(render_text(v.trace))
    failure.text = "\n".join(body) + "\n"
    return failure


def _error(v: Verdict) -> Error:
    """An ``unknown`` verdict: a limit stopped the check (the message says which)."""
    error = Error(f"expected {v.expected}, undecided: {v.message}", type_=str(Outcome.UNKNOWN))
    error.text = "\n".join([v.message, *(f"note: {n}" for n in v.notes)]) + "\n"
    return error


def _case(v: Verdict) -> TestCase:
    case = TestCase(v.prop.name, classname=suite_name(v.variant), time=_seconds(v.elapsed))
    if v.verdict == Outcome.UNKNOWN and not v.ok:
        case.result = [_error(v)]
    elif not v.ok:
        case.result = [_failure(v)]
    case.system_out = "\n".join([f"{v.verdict}: {v.message}", *(f"note: {n}" for n in v.notes)])
    return case


def junit_xml(verdicts: Sequence[Verdict], *, elapsed: float | None = None) -> str:
    """The JUnit XML report of ``verdicts`` (see the module's description); ``elapsed``
    is the whole run's time in seconds.

    Examples
    --------
    >>> from checker import load_properties, run_suite
    >>> suite = [p for p in load_properties() if p.name == "closing-reachable"]
    >>> report = junit_xml(run_suite(suite, variants=["linux"]))
    >>> print(report.splitlines()[2].split(" time=")[0])
      <testsuite name="tcpcheck.linux" tests="1" errors="0" failures="0" skipped="0"
    """
    report = JUnitXml("tcpcheck")
    suites: dict[str, TestSuite] = {}
    for v in verdicts:
        name = suite_name(v.variant)
        if name not in suites:
            suites[name] = TestSuite(name)
        suites[name].add_testcase(_case(v))
    for suite in suites.values():
        report.add_testsuite(suite)
    report.update_statistics()
    if elapsed is not None:
        report.time = _seconds(elapsed)
    # Indented for a reader; only whitespace between elements is added, never inside a
    # failure's chart.
    root = ElementTree.fromstring(report.tostring())
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
