"""``tcpcheck conform``: this machine's Linux TCP stack (or a capture) against a variant.

The runs are made or read and checked by :mod:`checker.kernel.conformance`; this
command reads the options, draws the charts and prints the report.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from ..errors import UsageError
from .app import cli
from .console import conclude, live, out_console
from .exits import Exit
from .options import output_options, solver_limits, spec_file_option

if TYPE_CHECKING:
    from ..kernel.binomial import Agreement
    from ..kernel.conform import Conformance
    from ..kernel.conformance import ConformanceReport, Target
    from ..kernel.instants import Timing
    from ..kernel.lossy import LossyRun, Predict
    from ..kernel.runs import Run

__all__ = ["conform_cmd"]


@cli.command("conform")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    metavar="NAME",
    help="Run only this scenario (see the README's list); repeatable. Default: all.",
)
@click.option(
    "--pcap",
    "pcap",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Check one TCP connection of this capture instead of running the scenarios.",
)
@click.option(
    "--recording",
    "recording",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Check a recording --keep-captures kept (DIR/NAME/recording.json) instead of "
    "running the scenarios: no root needed.",
)
@click.option(
    "--client",
    metavar="HOST:PORT",
    help="With --pcap: the connection whose first SYN came from HOST:PORT.",
)
@click.option(
    "--at",
    "at",
    type=click.Choice(["client", "server", "between"]),
    default=None,
    help="With --pcap: where the capture was taken. At an end, what it shows arriving "
    "was received and only what it sent may have been lost; between (the default), "
    "any segment may have been lost after the capture.",
)
@click.option(
    "--variant",
    default="linux",
    show_default=True,
    metavar="NAME",
    help="The variant the runs are checked against ('base' for RFC 9293 itself).",
)
@spec_file_option()
@click.option(
    "--keep-captures",
    "keep",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Keep each scenario's captures and recording in DIR/NAME/.",
)
@click.option(
    "--charts",
    "charts",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write a Mermaid sequence chart of every run (matched path, or where it parts).",
)
@click.option(
    "--loss-rate",
    "loss_rates",
    metavar="P[,P...]",
    help="Lossy mode: open --connections short connections at each loss rate P (each "
    "segment dropped at random with probability P) and count how each endpoint leaves "
    "each state, with 99% intervals.",
)
@click.option(
    "--connections",
    type=click.IntRange(1, 10000),
    default=1000,
    show_default=True,
    help="With --loss-rate: connections per loss rate (100 opened per second).",
)
@click.option(
    "--loss-direction",
    type=click.Choice(["both", "A->B", "B->A"]),
    default="both",
    show_default=True,
    help="With --loss-rate: the direction(s) losing segments.",
)
@output_options()
def conform_cmd(
    scenarios: tuple[str, ...],
    pcap: Path | None,
    recording: Path | None,
    client: str | None,
    at: str | None,
    variant: str,
    spec_file: Path | None,
    keep: Path | None,
    charts: Path | None,
    loss_rates: str | None,
    connections: int,
    loss_direction: str,
    as_json: bool,
) -> None:
    """Check the machine's own Linux TCP stack (or a capture) against a variant.

    Each scenario runs this kernel's TCP in two network namespaces joined by a veth
    pair -- two socket programs driven call by call, losses made exact with nftables,
    both sides captured with tcpdump and sampled with ss -- and the recorded run is
    searched for in the variant's product: the same segments per direction, the same
    losses, the same call outcomes, the sampled states in order.  The retry bounds are
    inferred (Linux counts time, not retransmissions).  Needs root, ip, nft, tcpdump
    and ss (bash setup.sh installs them).  Exit 0 when every run conforms, 1 when one
    does not, 2 when a run cannot be made or read.  Without --scenario, --pcap or
    --recording every scenario runs (a minute or two).

    With --loss-rate, the lossy mode: N short connections (A closes first, B after
    reading EOF; many at once) with each segment dropped at random with probability P
    in the receiving namespace's input hook; each connection is classified by how each
    endpoint left each state (A leaves SYN-SENT by rcv SYN+ACK or timeout RETX, B
    leaves LAST-ACK by rcv ACK of FIN, by timeout RETX or by rcv RST...), from what
    each side sent and received (captures before and after the drop), connect() and
    read() results and ss; per P the counts, frequencies and 99% Clopper-Pearson
    intervals, each against the range the variant predicts for the same workload
    (digital clocks at the lab's settings, the connection's RTO anywhere from its value
    there to 3 s); exit 1 when a count lies outside.  A run whose captures were not
    whole (the machine too loaded for tcpdump to keep up) is run again, twice at most,
    then shown incomplete and not compared (exit 3).  About 25 s per 1,000
    connections.

    \b
    Examples:
      tcpcheck conform --loss-rate 0.05 --connections 50 -q
      tcpcheck conform --scenario last-ack-gives-up --json
      tcpcheck conform --scenario network-reorders --keep-captures kept
      tcpcheck conform --recording kept/network-reorders/recording.json
      tcpcheck conform --pcap capture.pcap --client 10.77.0.1:33798
    """
    from ..kernel.conformance import check_runs, conformance_target, record_scenarios
    from ..kernel.runs import runs_from_pcap
    from ..render.mermaid_chart import mismatch_chart, render_mermaid

    if loss_rates is not None:
        others = {
            "--scenario": bool(scenarios), "--pcap": pcap is not None,
            "--recording": recording is not None, "--client": client is not None,
            "--at": at is not None, "--keep-captures": keep is not None,
            "--charts": charts is not None,
        }  # fmt: skip
        given = [name for name, on in others.items() if on]
        if given:
            raise UsageError(f"--loss-rate runs the lossy mode: drop {', '.join(given)}")
        target = conformance_target(variant, spec_file)
        _lossy(_rates(loss_rates), connections, loss_direction, as_json, target)
        return
    target = conformance_target(variant, spec_file)
    if recording is not None:
        if pcap is not None or scenarios or keep is not None or client or at:
            raise UsageError(
                "--recording checks a kept recording: drop --pcap, --scenario, "
                "--keep-captures, --client and --at"
            )
        runs = _recorded(recording)
    elif pcap is not None:
        if scenarios or keep is not None:
            raise UsageError("--pcap checks a capture: drop --scenario and --keep-captures")
        if not pcap.exists():
            raise UsageError(f"{pcap}: no such file (give a pcap capture to --pcap)")
        runs = runs_from_pcap(pcap, client, at or "between")
    else:
        if client is not None:
            raise UsageError("--client picks a connection in a capture: use it with --pcap")
        if at is not None:
            raise UsageError("--at says where a capture was taken: use it with --pcap")
        with live(not as_json) as say:
            runs = record_scenarios(scenarios, keep, say)
    with live(not as_json) as say:
        report = check_runs(target, runs, solver_limits(), say)
    if charts is not None:
        charts.mkdir(parents=True, exist_ok=True)
        for checked in report.runs:
            v = checked.verdict
            text = (
                mismatch_chart(v.trace, v.times, v.mismatch.pending)
                if v.mismatch
                else render_mermaid(v.trace, v.times)
            )
            number = f"-{v.name.rsplit('#', 1)[1]}" if "#" in v.name else ""
            (charts / f"{v.name.split()[0]}{number}.mmd").write_text(text)
    if as_json:
        click.echo(json.dumps(report.to_json(mismatch_chart), indent=2, ensure_ascii=False))
    else:
        print_conformance(report)
        matched = sum(c.conforms for c in report.runs)
        parted = [c.verdict.name for c in report.runs if not c.conforms]
        conclude(
            f"{matched} of {len(report.runs)} runs match {report.variant}"
            + (f"; not: {', '.join(parted)}" if parted else "")
        )
    if not report.conforms:
        sys.exit(1)


def _rates(text: str) -> list[float]:
    """``0.01,0.05,0.2`` as loss rates, each in [0, 1]."""
    rates = []
    for item in text.split(","):
        try:
            p = float(item)
        except ValueError:
            p = -1.0
        if not 0 <= p <= 1:
            raise UsageError(
                f"--loss-rate {text}: {item.strip()!r} is not a probability "
                "(give numbers in [0, 1], comma-separated: --loss-rate 0.01,0.05,0.2)"
            )
        rates.append(p)
    return rates


def _lossy(
    rates: list[float], connections: int, direction: str, as_json: bool, target: Target
) -> None:
    """Run the lossy mode at each rate; print (or --json) the counts against the
    variant's prediction (:mod:`checker.kernel.predict`); exit 1 when a count disagrees
    with it."""
    from ..kernel.lab import missing
    from ..kernel.lossy import compare_run, run_lossy
    from ..kernel.predict import lossy_predictor

    lacking = missing()
    if lacking:
        raise UsageError(
            f"the lossy mode needs {', '.join(lacking)} "
            "(run as root; bash setup.sh installs ip, nft, tcpdump and ss)"
        )
    results: list[tuple[LossyRun, list[Agreement]]] = []
    predictors: dict[tuple[tuple[str, str], ...], Predict] = {}
    with live(not as_json) as say:
        for p in rates:
            p_ab = p if direction in ("both", "A->B") else 0.0
            p_ba = p if direction in ("both", "B->A") else 0.0
            run = run_lossy(p_ab, p_ba, connections, say=say)
            if say:
                say(f"p = {p:g}: predicting with the {target.variant} variant")
            if run.incomplete:  # no evidence: nothing to compare
                results.append((run, []))
                continue
            # One prediction per set of sysctls: the runs of one call share theirs.
            sysctls = run.sysctls.get("A", {})
            key = tuple(sorted(sysctls.items()))
            if key not in predictors:
                predictors[key] = lossy_predictor(sysctls, target.chosen, target.spec_file)
            results.append((run, compare_run(run, predictors[key])))
    differing = [a for _run, agreements in results for a in agreements if not a.agrees]
    incomplete = [run for run, _ in results if run.incomplete]
    if as_json:
        runs = [run.to_json(agreements) for run, agreements in results]
        click.echo(json.dumps({"runs": runs}, indent=2, ensure_ascii=False))
    else:
        for run, agreements in results:
            print_lossy(run, agreements)
        total = sum(len(run.outcomes) for run, _ in results)
        shown = ", ".join(f"{p:g}" for p in rates)
        conclude(
            f"{total} connections classified at loss rate {shown}"
            + (f"; {len(differing)} outcome(s) outside the prediction" if differing else "")
            + (f"; {len(incomplete)} run(s) incomplete, not compared" if incomplete else "")
        )
    if differing:
        sys.exit(1)
    if incomplete:
        sys.exit(Exit.INCOMPLETE)


def print_lossy(run: LossyRun, agreements: Sequence[Agreement] = ()) -> None:
    """A table per run: each outcome seen (or predicted), its count, frequency and 99%
    interval, and the prediction when there is one."""
    out = out_console()
    predicted = {a.outcome: a for a in agreements}
    n = len(run.outcomes)
    where = (
        f"p = {run.loss_ab:g}" if run.loss_ab == run.loss_ba
        else f"p(A->B) = {run.loss_ab:g}, p(B->A) = {run.loss_ba:g}"
    )  # fmt: skip
    seg = run.segments()
    lost = ", ".join(
        f"{d} {1 - c['delivered'] / c['sent']:.3f}" for d, c in seg.items() if c["sent"]
    )
    out.print(
        f"\n[bold]{where}[/]: {n} connections in {run.seconds:.0f} s "
        f"(segments lost: {lost}; kernel {run.kernel})"
    )
    columns = ["outcome", "count", "frequency", "99% interval"]
    if agreements:
        columns += ["predicted", ""]
    table = Table(*columns)
    frequencies = run.frequencies()
    names = list(frequencies) + [a.outcome for a in agreements if a.outcome not in frequencies]
    for name in names:
        f = frequencies.get(name) or predicted[name].measured
        row = [name, str(f.count), f"{f.share:.4f}", f"[{f.low:.4f}, {f.high:.4f}]"]
        if agreements:
            a = predicted.get(name)
            row += (
                [f"[{a.predicted[0]:.4f}, {a.predicted[1]:.4f}]", "agrees" if a.agrees else a.side]
                if a else ["-", ""]
            )  # fmt: skip
        table.add_row(*row)
    out.print(table)
    for note in run.notes:
        out.print(f"  note: {note}", markup=False)
    if run.incomplete:
        why = "; ".join(run.incomplete)
        out.print(f"  incomplete: {why} -- the counts are no evidence", markup=False)


def _recorded(path: Path) -> list[Run]:
    """The runs of a recording file, or a usage error naming it."""
    from ..kernel.recording import Recording
    from ..kernel.runs import runs_from_recording

    kept = "a recording.json that conform --keep-captures wrote"
    if not path.exists():
        raise UsageError(f"{path}: no such file (give {kept})")
    try:
        rec = Recording.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: not {kept} ({type(exc).__name__}: {exc})") from None
    try:
        return runs_from_recording(rec)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise UsageError(f"{path}: cannot read the run ({type(exc).__name__}: {exc})") from None


def _agreeing(rows: Sequence[Timing]) -> str:
    return f"{sum(r.ok for r in rows)}/{len(rows)} agree" if rows else "none timed"


def _network(v: Conformance) -> str:
    """What the network did on the path shown, beyond delivering in order: ``2 (+1 ACK
    merged, 1 reordered, 1 copy)``."""
    more = [
        f"{count} {what}"
        for count, what in (
            (v.merged, "ACK merged"),
            (v.reordered, "reordered"),
            (v.copies, "copy" if v.copies == 1 else "copies"),
        )
        if count
    ]
    return f"{v.losses}" + (f" (+{', '.join(more)})" if more else "")


def print_conformance(report: ConformanceReport) -> None:
    """A row per run; then each timed run's instants, and where each other run parts
    from the model, charted."""
    from ..render.text_chart import render_text

    out = out_console()
    table = Table(
        "run", "path", "losses", "retry bounds the run implies", "instants", "search states"
    )
    for checked in report.runs:
        v, timing = checked.verdict, checked.timing
        implied = []
        for name, ranges in checked.implied().items():
            shown = ", ".join(str(lo) if lo == hi else f"{lo}..{hi}" for lo, hi in ranges)
            own = v.expected.get(name, report.defaults[name])
            implied.append(f"{name} ∈ {{{shown}}} (variant: {own:g})")
        table.add_row(
            v.name,
            "matches" if v.conforms else ("UNKNOWN" if v.incomplete else "NO"),
            _network(v) if v.conforms else "-",
            "; ".join(implied) or ("any" if v.conforms else "-"),
            "-" if timing is None else _agreeing(timing.rows),
            f"{v.explored:,}",
        )
    out.print(table)
    for checked in report.runs:
        v, timing = checked.verdict, checked.timing
        if timing is None or not timing.rows:
            continue
        shown = ", ".join(f"{k} = {x:g}" for k, x in sorted(timing.params.items()))
        out.print(f"\n[bold]{v.name}[/]: instants against the timed model ({shown})")
        for r in timing.rows:
            mark = (
                ("fitted" if r.ok else "fitted, DIFFERS")
                if r.fitted
                else ("agrees" if r.ok else "DIFFERS")
            )
            out.print(
                f"  {r.side}: {r.what}: measured {r.measured_text()}; model {r.model}  [{mark}]",
                markup=False,
            )
    for checked in report.runs:
        if checked.verdict.source.endswith("(at between)"):
            out.print(
                f"{checked.verdict.name}: the capture is taken as seen between the ends "
                "(any segment may have been lost after it); pass --at client or --at server "
                "if it was taken at an end",
                markup=False,
            )
    for checked in report.runs:
        if checked.departures:
            out.print(
                f"\n[bold]{checked.verdict.name}[/]: Linux departs from {report.variant} here "
                "(the linux variant's path):"
            )
            for line in checked.departures:
                out.print(f"  - {line}", markup=False)
    for checked in report.runs:
        v = checked.verdict
        m = v.mismatch
        if m is None:
            continue
        out.print(f"\n[bold]{v.name}[/]: kernel and model part after {m.step} matched steps")
        out.print(f"  the kernel: {m.kernel}", markup=False)
        out.print(f"  the model, at {m.at}, could: {'; '.join(m.model)}", markup=False)
        out.print(f"  why not: {m.why}", markup=False)
        out.print(render_text(v.trace, v.times), markup=False)
