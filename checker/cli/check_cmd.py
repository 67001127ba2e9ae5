"""``tcpcheck check``: the property suite on every variant, each counterexample charted."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import click
from rich.table import Table

from ..check.outcome import Outcome
from ..check.verdicts import Verdict
from .app import cli
from .console import conclude, err_console, live, out_console, quiet
from .exits import Exit
from .options import (
    COUNT,
    load_suite,
    output_options,
    parse_config,
    parse_params,
    pick_properties,
    pick_variants,
    seconds_limit,
    solver_limits,
    suite_options,
)

__all__ = ["check_cmd", "suite_status"]


@cli.command("check")
@suite_options("Check")
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME",
    help="Check only this variant ('base' for the spec itself); repeatable.",
)
@click.option(
    "--property",
    "names",
    multiple=True,
    metavar="NAME",
    help="Check only this property; repeatable.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a parameter for every property.",
)
@click.option(
    "--config",
    "config",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a product option of every property's config, e.g. overflow=drop or "
    "capacity=4 (a capacity given here is kept: none is derived).",
)
@click.option("--no-fair-lossy", is_flag=True, help="Drop the fair-lossy channel assumption.")
@click.option("--no-fair-apps", is_flag=True, help="Drop the fair application assumption.")
@click.option("--no-fair-timers", is_flag=True, help="Drop weak fairness of timers.")
@click.option("--witnesses", is_flag=True, help="Also chart the witnesses of properties that hold.")
@click.option(
    "--counterexamples",
    "runs",
    type=COUNT,
    default=1,
    show_default=True,
    metavar="N",
    help="Chart up to N distinct shortest counterexamples (witnesses) of each property, "
    "shortest first; invariant, reachable, path and deadlock-free give several, liveness "
    "and timed kinds one.",
)
@click.option(
    "--max-states", type=COUNT, metavar="N", help="Bound each exploration (unknown verdicts)."
)
@click.option(
    "--max-seconds",
    type=float,
    callback=seconds_limit,
    metavar="S",
    help="Bound each exploration in time.",
)
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write a JUnit XML report: a test suite per variant, a timed test case per "
    "property; a definite mismatch is a failure (with its chart), an unknown an error.",
)
@output_options()
def check_cmd(
    spec_file: Path | None,
    props_file: Path | None,
    variants: tuple[str, ...],
    names: tuple[str, ...],
    params: tuple[str, ...],
    config: tuple[str, ...],
    no_fair_lossy: bool,
    no_fair_apps: bool,
    no_fair_timers: bool,
    witnesses: bool,
    runs: int,
    max_states: int | None,
    max_seconds: float | None,
    junit_file: Path | None,
    as_json: bool,
) -> None:
    """Check the property suite on every variant; chart each counterexample.

    Exit status 0 when every verdict is the expected one, 1 when a definite verdict
    differs, 3 when none differs but a limit left one unknown, 2 on a usage or spec
    error, 130 on Ctrl-C (the verdicts reached so far are printed).

    \b
    Examples:
      tcpcheck check
      tcpcheck check --property fin-wait-2-leads-to-closed --variant linux
      tcpcheck check --property both-eventually-closed --no-fair-lossy
      tcpcheck check --property both-eventually-closed --config overflow=drop
      tcpcheck check --property no-deadlock-with-bounded-retries --variant base \
        --counterexamples 3
      tcpcheck check --variant linux --json --junit report.xml
    """
    from ..render.text_chart import render_text
    from ..suite import run_suite

    props = pick_properties(load_suite(spec_file, props_file), names)
    override = parse_config(config)
    if override:
        props = [dataclasses.replace(p, config={**p.config, **override}) for p in props]
    chosen = pick_variants(spec_file, variants)
    off = [
        name
        for name, flag in (
            ("fair-lossy", no_fair_lossy),
            ("fair-apps", no_fair_apps),
            ("timers", no_fair_timers),
        )
        if flag
    ]
    verdicts: list[Verdict] = []
    interrupted: int | None = None
    start = time.perf_counter()
    try:
        with live(not as_json) as say:
            if say is not None:
                say(f"checking {len(props)} properties")

            def reached(v: Verdict) -> None:
                verdicts.append(v)
                if say is not None:
                    say(
                        f"checking: {len(verdicts)} verdicts, the last {v.prop.name} on "
                        f"{v.variant or 'base'}: {v.verdict}"
                    )

            run_suite(
                props,
                variants=chosen,
                spec_path=spec_file,
                params=parse_params(params),
                fairness_off=off,
                max_states=max_states,
                max_seconds=max_seconds,
                limits=solver_limits(),
                on_verdict=reached,
                counterexamples=runs,
            )
    except KeyboardInterrupt as exc:
        # The verdicts reached so far are printed, marked as a partial run.
        interrupted = getattr(exc, "signum", signal.SIGINT)
    elapsed = time.perf_counter() - start
    ok = all(v.ok for v in verdicts)
    if junit_file is not None:
        from ..render.junit_report import junit_xml  # its XML library only when asked

        junit_file.write_text(junit_xml(verdicts, elapsed=elapsed), encoding="utf-8")
    if as_json:
        click.echo(
            json.dumps(
                {"ok": ok, "properties": [v.to_json() for v in verdicts]},
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        out = out_console()
        table = Table("property", "variant", "kind", "verdict", "expected", "")
        for v in verdicts:
            colour = {Outcome.HOLDS: "green", Outcome.VIOLATED: "red", Outcome.UNKNOWN: "yellow"}[
                v.verdict
            ]
            table.add_row(
                v.prop.name,
                v.variant or "base",
                v.prop.kind,
                f"[{colour}]{v.verdict}[/{colour}]",
                v.expected or "—",
                "ok" if v.ok else "[bold red]MISMATCH[/bold red]",
            )
        out.print(table)
        for v in verdicts:
            show = v.trace is not None and (v.verdict == Outcome.VIOLATED or witnesses or not v.ok)
            if not show:
                # No chart, but an unknown says why and a derived capacity says so.
                if v.verdict == Outcome.UNKNOWN or v.notes:
                    out.print(
                        f"\n{v.prop.name} on {v.variant or 'base'}: {v.verdict} — {v.message}",
                        markup=False,
                    )
                    for note in v.notes:
                        out.print(f"note: {note}", markup=False)
                continue
            assert v.trace is not None
            kind = "witness" if v.verdict == Outcome.HOLDS else "counterexample"
            out.print(
                f"\n[bold]{v.prop.name}[/bold] on {v.variant or 'base'}: {v.verdict} "
                f"({kind}) — {v.message}",
                markup=True,
                highlight=False,
            )
            for line in v.preamble():
                out.print(line, markup=False)
            shown = v.traces if v.traces else (v.trace,)
            for i, trace in enumerate(shown, 1):
                if v.traces is not None:
                    gap = "\n" if i > 1 else ""
                    out.print(
                        f"{gap}{kind} {i} of {len(shown)} ({len(trace.steps)} steps)", markup=False
                    )
                out.print(render_text(trace), markup=False)
        bad = [v for v in verdicts if not v.ok]
        if quiet():
            for v in bad:
                conclude(
                    f"{v.prop.name} on {v.variant or 'base'}: {v.verdict}, expected "
                    f"{v.expected} — {v.message}"
                )
        else:
            out.print()
        conclude(f"{len(verdicts)} checks, {len(bad)} unexpected")
    if interrupted is not None:
        err_console().print(
            f"tcpcheck: interrupted ({signal.Signals(interrupted).name}) after "
            f"{len(verdicts)} checks: the rest were not run",
            markup=False,
        )
        sys.exit(Exit.for_signal(interrupted))
    sys.exit(suite_status(verdicts))


def suite_status(verdicts: Sequence[Verdict]) -> Exit:
    """A verdict that differs is a difference (1), even beside an unknown; otherwise an
    unknown one is an incomplete run (3): a limit stopped it, so it is no difference."""
    if any(not v.ok and v.verdict != Outcome.UNKNOWN for v in verdicts):
        return Exit.DIFFERS
    if any(v.verdict == Outcome.UNKNOWN and v.expected != Outcome.UNKNOWN for v in verdicts):
        return Exit.INCOMPLETE
    return Exit.OK
