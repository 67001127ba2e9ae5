"""A conformance check from end to end: the library side of ``tcpcheck conform``.

Three steps, each callable on its own:

1. :func:`conformance_target` loads what runs are checked against: the variant's product
   with every count parameter left open (:func:`checker.kernel.conform.load_for_conformance`),
   and the variant's own parameter values, which the retry bounds a run implies are
   shown against;
2. the runs: :func:`record_scenarios` runs scenarios on this machine's kernel
   (:mod:`checker.kernel.scenarios`; root and the lab's tools needed), or
   :func:`checker.kernel.runs.run_from_pcap` reads a capture;
3. :func:`check_runs` searches each run's path in the product
   (:func:`checker.kernel.conform.check_run`) and, for a run that has one, holds its
   instants against the timed model (:func:`checker.kernel.instants.check_instants`).
   A run conforms when both agree.

The result (:class:`ConformanceReport`) is data; its JSON is what ``tcpcheck conform
--json`` prints.  A matched run's chart is the caller's to draw
(:func:`checker.render.mermaid_chart.render_mermaid` of the verdict's trace and times);
a run that parts from the model is drawn by the caller too, from its mismatch
(:func:`checker.render.mermaid_chart.mismatch_chart`).

Examples
--------
>>> import json, pathlib
>>> from checker.kernel.runs import runs_from_recording
>>> from checker.kernel.recording import Recording
>>> where = pathlib.Path(__file__).parents[2] / "tests" / "data" / "recordings"
>>> rec = Recording.from_json(json.loads((where / "connect-refused.json").read_text()))
>>> report = check_runs(conformance_target("linux"), runs_from_recording(rec))
>>> report.conforms, [(c.verdict.name, c.conforms) for c in report.runs]
(True, [('connect-refused', True)])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError, unknown_name
from ..model.load import load_spec
from ..model.spec import Spec
from ..timed.solver import DEFAULT_LIMITS, SolverLimits
from .conform import (
    COUNT_LIMIT,
    Conformance,
    MismatchChart,
    check_run,
    departures,
    load_for_conformance,
)
from .instants import TimingReport, check_instants
from .lab import abort_all, missing
from .runs import Run, runs_from_recording
from .scenarios import SCENARIOS, record_many

__all__ = [
    "Checked",
    "ConformanceReport",
    "Target",
    "check_runs",
    "conformance_target",
    "record_scenarios",
]


#: The variant that is this machine's kernel: runs that part from another variant are
#: checked against it too, to name where the kernel departs.
KERNEL_VARIANT = "linux"


@dataclass(frozen=True)
class Target:
    """What runs are checked against (see :func:`conformance_target`).

    Examples
    --------
    >>> target = conformance_target("linux")
    >>> target.variant, target.chosen, target.defaults["ORPHAN_RETRIES"]
    ('linux', 'linux', 9.0)
    >>> conformance_target("base").chosen is None
    True
    """

    #: The variant as named by the user: ``base`` is RFC 9293 itself.
    variant: str
    spec_file: Path | None
    #: The variant's spec with every count parameter at
    #: :data:`~checker.kernel.conform.COUNT_LIMIT`.
    spec: Spec
    #: The variant's own parameter values.
    defaults: dict[str, float]

    def under(self, run: Run) -> dict[str, float]:
        """The variant's own parameter values on the machine that made ``run``: the
        parameters that are sysctls take the run's settings (tcp_orphan_retries = 1
        gives ORPHAN_RETRIES = 4 with tcp_rto_min_us = 50000)."""
        settings = self.spec.from_sysctls(run.sysctls)
        if not settings:
            return self.defaults
        return load_spec(self.spec_file, self.chosen, settings, check_behaviour=False).values

    @property
    def chosen(self) -> str | None:
        """The variant for :func:`~checker.model.load.load_spec` (``None``: the base)."""
        return None if self.variant == "base" else self.variant


def conformance_target(variant: str = "linux", spec_file: Path | None = None) -> Target:
    """The product of ``variant`` (``base``: RFC 9293) of the spec at ``spec_file`` (the
    bundled one by default), ready for :func:`check_runs`.

    Examples
    --------
    >>> target = conformance_target("linux")
    >>> target.spec.variant.name, target.defaults["TIME_WAIT"]
    ('linux', 60.0)
    """
    chosen = None if variant == "base" else variant
    spec = load_for_conformance(chosen, spec_file)
    return Target(variant, spec_file, spec, load_spec(spec_file, chosen).values)


def record_scenarios(
    names: Sequence[str] = (),
    keep: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Run]:
    """Run the scenarios ``names`` (all of them when empty) on this machine's kernel, in
    order; with ``keep``, each one's captures and its recording (``recording.json``, as
    :meth:`~checker.kernel.scenarios.Recording.from_json` reads it) stay in
    ``keep/NAME/``.  Every name is checked, and the lab's needs, before anything runs;
    ``progress`` hears of each recording as it is collected."""
    for name in names:
        if name not in SCENARIOS:
            raise unknown_name("scenario", name, sorted(SCENARIOS), "scenarios")
    lacking = missing()
    if lacking:
        raise UsageError(
            f"the conformance scenarios need {', '.join(lacking)} "
            "(run as root; bash setup.sh installs ip, nft, tcpdump and ss)"
        )
    chosen = list(names or SCENARIOS)
    if keep is not None:
        for name in chosen:
            (keep / name).mkdir(parents=True, exist_ok=True)
    # The long ones (SYN and orphan give-ups, minutes) run beside the others.
    futures = record_many(chosen, keep)
    runs = []
    try:
        recordings = []
        for done, name in enumerate(chosen):
            if progress is not None:
                progress(f"recording the kernel: {done}/{len(chosen)} scenarios, now {name}")
            recordings.append(futures[name].result())
    except BaseException:
        abort_all()  # a signal while the long ones still run: they tear down too
        raise
    for name, rec in zip(chosen, recordings, strict=True):
        if keep is not None:
            text = json.dumps(rec.to_json(), indent=1, sort_keys=True)
            (keep / name / "recording.json").write_text(text + "\n")
        runs.extend(runs_from_recording(rec))
    return runs


@dataclass(frozen=True)
class Checked:
    """One run's outcome: its path in the product, and its instants against the timed
    model when it has a path (``None`` otherwise)."""

    verdict: Conformance
    timing: TimingReport | None
    #: For a run that does not conform to the variant asked for (RFC 9293 itself, say)
    #: but does to the kernel's (:data:`KERNEL_VARIANT`): where the kernel's path leaves
    #: the variant asked for (:func:`~checker.kernel.conform.departures`).
    departures: tuple[str, ...] = ()

    @property
    def conforms(self) -> bool:
        return self.verdict.conforms and self.timing is not None and self.timing.ok

    def implied(self) -> dict[str, list[tuple[int, int]]]:
        """The retry bounds the run implies: each count parameter with the values (as
        ranges) a matching path allows, when that is not every value the search tries
        (0 to :data:`~checker.kernel.conform.COUNT_LIMIT`) nor none at all."""
        return {
            name: ranges
            for name, ranges in self.verdict.parameters.items()
            if ranges and ranges != [(0, COUNT_LIMIT)]
        }

    def to_json(self, chart: MismatchChart) -> dict[str, Any]:
        row = self.verdict.to_json(chart)
        row["timing"] = self.timing.to_json() if self.timing is not None else None
        row["conforms"] = self.conforms
        row["departures"] = list(self.departures)
        return row


@dataclass(frozen=True)
class ConformanceReport:
    """Every run checked against one variant (see :func:`check_runs`).

    Examples
    --------
    >>> import pathlib
    >>> pcap = pathlib.Path(__file__).parents[2] / "tests/data/pcap/last-ack-gives-up-client.pcap"
    >>> from checker import runs_from_pcap
    >>> report = check_runs(conformance_target("linux"), runs_from_pcap(pcap))
    >>> report.conforms, [c.conforms for c in report.runs]
    (True, [True])
    >>> report.to_json(chart=lambda *args: "")["variant"]
    'linux'
    """

    variant: str
    #: The variant's own parameter values (:attr:`Target.defaults`).
    defaults: dict[str, float]
    runs: tuple[Checked, ...]

    @property
    def conforms(self) -> bool:
        return all(c.conforms for c in self.runs)

    def to_json(self, chart: MismatchChart) -> dict[str, Any]:
        """What ``conform --json`` prints; ``chart`` draws each mismatch
        (:func:`checker.render.mermaid_chart.mismatch_chart`)."""
        rows = [c.to_json(chart) for c in self.runs]
        return {"variant": self.variant, "scenarios": rows, "conforms": self.conforms}


def check_runs(
    target: Target,
    runs: Iterable[Run],
    limits: SolverLimits = DEFAULT_LIMITS,
    progress: Callable[[str], None] | None = None,
) -> ConformanceReport:
    """Each run's path in ``target``'s product, then its instants against the timed
    model when it has one (see the module docstring); ``progress`` hears of each run.

    Examples
    --------
    >>> import pathlib
    >>> pcap = pathlib.Path(__file__).parents[2] / "tests/data/pcap/last-ack-gives-up-client.pcap"
    >>> from checker import runs_from_pcap
    >>> report = check_runs(conformance_target("linux"), runs_from_pcap(pcap))
    >>> [checked] = report.runs
    >>> checked.conforms, checked.implied()
    (True, {'ORPHAN_RETRIES': [(4, 16)]})
    >>> checked.verdict.trace.steps[-1].state.describe()
    'A=TIME-WAIT B=CLOSED A->B=[ACK] B->A=[-]'
    """
    runs = list(runs)
    verdicts = []
    for i, run in enumerate(runs):
        if progress is not None:
            progress(f"searching the product for the runs: {i}/{len(runs)}, now {run.name}")
        verdicts.append(
            check_run(target.spec, run, variant=target.variant, defaults=target.under(run))
        )
    timings = [
        check_instants(v, run, target.chosen, target.spec_file, limits) if v.conforms else None
        for v, run in zip(verdicts, runs, strict=True)
    ]
    checked = [Checked(v, t) for v, t in zip(verdicts, timings, strict=True)]
    if target.variant != KERNEL_VARIANT and target.spec_file is None:
        # Where the runs that part from the variant asked for meet the kernel's rules.
        kernel = conformance_target(KERNEL_VARIANT)
        asked = load_spec(None, target.chosen)
        for i, (run, c) in enumerate(zip(runs, checked, strict=True)):
            if c.conforms:
                continue
            theirs = check_runs(kernel, [run], limits).runs[0]
            if theirs.conforms:
                clocked = {state for line in run.clocks.values() for _t, state, _f in line}
                found = departures(kernel.spec, asked, theirs.verdict.trace, clocked)
                checked[i] = Checked(c.verdict, c.timing, tuple(found))
    return ConformanceReport(target.variant, target.defaults, tuple(checked))
