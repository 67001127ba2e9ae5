"""``tcpcheck synth`` and ``tcpcheck bound``: timing parameters for which a timed
property holds, and the longest stay in a state."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import UsageError
from ..model.load import load_spec
from ..model.overrides import merge_params, parameter_names
from .app import cli
from .console import conclude, err_console, every, live, out_console, quiet
from .exits import Exit
from .options import (
    find_property,
    output_options,
    parse_params,
    product_config,
    product_options,
    refuse_free_and_fixed,
    seconds_limit,
    solver_limits,
    spec_options,
    workers,
    workers_options,
)

if TYPE_CHECKING:
    from ..timed.synth import Synthesis

__all__ = ["bound_cmd", "synth_cmd"]


@cli.command("synth")
@click.argument("prop_name", metavar="PROPERTY")
@spec_options
@click.option(
    "--properties",
    "props_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A property suite instead of the bundled one.",
)
@click.option(
    "--free",
    "free",
    multiple=True,
    metavar="NAME",
    help="A parameter left free (repeatable; default TIME_WAIT, MSL and RTO).",
)
@click.option(
    "--losses",
    metavar="K[,K...]",
    help="Synthesize once per loss budget K (any K segments may be lost) and tabulate.",
)
@click.option(
    "--max-seconds",
    type=float,
    callback=seconds_limit,
    metavar="S",
    help="Bound the exploration in time.",
)
@workers_options()
@click.option(
    "--round",
    "round_size",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    metavar="N",
    help="Parameter points explored side by side per round.  The tiles depend on N "
    "(not on --workers): raise it for a cluster of many workers.",
)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also draw the region over the two free parameters: FILE.svg, .png or .pdf.",
)
@output_options()
def synth_cmd(
    prop_name: str,
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    props_file: Path | None,
    free: tuple[str, ...],
    losses: str | None,
    max_seconds: float | None,
    workers_n: int | None,
    scheduler: str | None,
    round_size: int,
    plot_file: Path | None,
    as_json: bool,
) -> None:
    """Synthesize the timing parameters for which a timed property holds.

    The free parameters stay symbolic; the others take the spec's values (after the
    property's own and --param overrides).  The constraint is exact when the parametric
    exploration completes, "unknown" otherwise (exit status 3).

    Unnamed, the free parameters are TIME_WAIT, MSL and RTO, less those --param fixes.
    --plot draws the tiles over two free parameters, coloured by verdict.
    Each FIN retry multiplies the work by about four: the bundled last-ack-not-stuck
    (FIN_RETRIES = 6) takes minutes, the examples a few seconds.

    \b
    Examples:
      tcpcheck synth last-ack-not-stuck --param MSL=30 --param FIN_RETRIES=2
      tcpcheck synth last-ack-not-stuck --param FIN_RETRIES=2 --free TIME_WAIT --free MSL \\
          --json --plot region.svg
      tcpcheck synth last-ack-not-stuck --param MSL=2 --param RTO=1 --param FIN_RETRIES=3 \\
          --free TIME_WAIT --losses 0,1,2
    """
    from ..jobs import open_pool
    from ..timed.synth import DEFAULT_FREE, SynthStatus, folklore, loss_budgets, synthesize

    prop = find_property(spec_file, props_file, prop_name)
    known = parameter_names(spec_file, variant)
    merged = merge_params(prop.params, parse_params(params), known=known)
    # Unnamed, the free parameters are the usual durations less those given a value.
    fixed_here = parse_params(params)
    chosen = list(free) or [n for n in DEFAULT_FREE if n in known and n not in fixed_here]
    if not chosen:
        raise UsageError(
            f"--param fixes every parameter synthesis leaves free by default "
            f"({', '.join(DEFAULT_FREE)}): name the free ones with --free"
        )
    refuse_free_and_fixed(chosen, merged)
    if plot_file is not None:
        from ..render.region_plot import plot_axes, plot_format

        # Refused before the synthesis, which may take minutes.
        plot_format(plot_file)
        plot_axes(chosen)
        if not plot_file.resolve().parent.is_dir():
            raise UsageError(f"--plot {plot_file}: no folder {plot_file.parent} to write it in")
        if losses is not None:
            raise UsageError("--plot draws one region: leave out --losses, or plot each budget")
    spec = load_spec(spec_file, variant=variant, params=merged)
    if losses is not None:
        try:
            budgets = [int(k) for k in losses.split(",")]
        except ValueError:
            raise UsageError(f"--losses expects counts like 0,1,2 (got {losses!r})") from None
        with open_pool(workers(workers_n, scheduler)) as pool:
            rows = loss_budgets(
                prop,
                spec,
                variant,
                chosen,
                budgets,
                max_seconds=max_seconds,
                limits=solver_limits(),
                pool=pool,
                round_size=round_size,
            )
        if as_json:
            table = [{"losses": k, **r.to_json()} for k, r in rows]
            click.echo(json.dumps(table, indent=2, ensure_ascii=False))
        else:
            out = out_console()
            out.print(f"[bold]{prop.name}[/bold] on {variant or 'base'}, by loss budget")
            fixed = ", ".join(f"{k}={v:g}" for k, v in sorted(rows[0][1].fixed.items()))
            out.print(f"free: {', '.join(chosen)}; fixed: {fixed}", markup=False)
            for k, r in rows:
                conclude(f"  at most {k} lost: holds iff {r.text()}  ({r.status})")
        if any(r.status != SynthStatus.EXACT for _k, r in rows):
            sys.exit(Exit.INCOMPLETE)
        return
    with live(not as_json) as say, open_pool(workers(workers_n, scheduler)) as pool:
        show = say if say is not None else every(10.0)

        def progress(tiles: int, bad: int, queued: int) -> None:
            show(
                f"covering the parameter space: {tiles:,} tiles ({bad:,} violating), "
                f"{queued:,} points of this round queued"
            )

        result = synthesize(
            prop,
            spec,
            variant,
            chosen,
            max_seconds=max_seconds,
            progress=progress,
            limits=solver_limits(),
            interruptible=True,
            pool=pool,
            round_size=round_size,
        )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        out = out_console()
        out.print(f"[bold]{prop.name}[/bold] on {variant or 'base'}: {prop.description}")
        fixed = ", ".join(f"{k}={v:g}" for k, v in sorted(result.fixed.items()))
        out.print(f"free: {', '.join(result.free)}; fixed: {fixed}", markup=False)
        conclude(f"holds iff: {result.text()}")
        if result.conditions:
            out.print(
                "conditions (each clause, the violations it rules out, and how it "
                f"fares at {_values(result.values)}):",
                markup=False,
            )
            for i, c in enumerate(result.conditions, 1):
                out.print(f"  {i}. {c.describe()}", markup=False)
        if result.clauses is None:
            for what, tiles in result.partial().items():
                shown = tiles[:8] + (
                    [f"... {len(tiles) - 8} more (--json lists all)"] if len(tiles) > 8 else []
                )
                out.print(f"so far {what}: " + ("; ".join(shown) or "nothing yet"), markup=False)
        textbook = folklore(result)
        if textbook is not None:
            out.print(textbook, markup=False)
        conclude(f"({result.status}: {result.message}; {result.seconds:.1f} s)")
    if plot_file is not None:
        _plot(result, plot_file, as_json)
    if result.interrupted is not None:
        sys.exit(Exit.for_signal(result.interrupted))
    if result.status != SynthStatus.EXACT:
        sys.exit(Exit.INCOMPLETE)


def _plot(result: Synthesis, plot_file: Path, as_json: bool) -> None:
    """Draw the region into ``plot_file``, and say so (on standard error under --json)."""
    from ..render.region_plot import plot_format, region_plot

    plot_file.write_bytes(region_plot(result, plot_format(plot_file)))
    what = f"wrote {plot_file} ({len(result.tiles):,} tiles, {result.status})"
    if as_json:
        err_console().print(what, markup=False)
    else:
        conclude(what)


def _values(values: dict[str, float]) -> str:
    """``TIME_WAIT=240, MSL=120, RTO=1``: the spec's values of the free parameters."""
    return ", ".join(f"{k}={v:g}" for k, v in values.items()) or "the spec's values"


@cli.command("bound")
@click.argument("state", metavar="STATE")
@click.option(
    "--endpoint",
    type=click.Choice(["A", "B"]),
    default="A",
    show_default=True,
    help="The endpoint whose stay is measured.",
)
@click.option(
    "--peer",
    type=click.Choice(["gone", "live"]),
    default="gone",
    show_default=True,
    help="gone: nothing arrives and every entry into STATE is a start; live: the full "
    "product from --start.",
)
@click.option(
    "--start",
    metavar="FORMULA",
    help="With --peer live: start in the quiescent states satisfying FORMULA "
    "(default: the initial state).",
)
@spec_options
@product_options
@click.option(
    "--free",
    "free",
    multiple=True,
    metavar="NAME",
    help="Write the bound over this parameter (repeatable; default: the durations the "
    "timers use, less those given with --param).",
)
@click.option("--no-formula", is_flag=True, help="Only the number, no symbolic bound.")
@click.option(
    "--max-seconds",
    type=float,
    callback=seconds_limit,
    default=120.0,
    show_default=True,
    metavar="S",
)
@output_options()
def bound_cmd(
    state: str,
    endpoint: str,
    peer: str,
    start: str | None,
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    free: tuple[str, ...],
    no_formula: bool,
    max_seconds: float,
    as_json: bool,
    **kw: Any,
) -> None:
    """The longest time an endpoint can stay in STATE, in real time.

    Bounded: the supremum in seconds, a formula over the free durations and the run
    that stays that long.  Unbounded: the run that stays forever (idle, or a cycle that
    repeats).  Unknown (exit status 3): a limit came first.

    \b
    Examples:
      tcpcheck bound SYN-SENT --variant linux
      tcpcheck bound LAST-ACK --endpoint B --param FIN_RETRIES=6
      tcpcheck bound FIN-WAIT-2 --variant linux
      tcpcheck bound TIME-WAIT --peer live --start "A = FIN-WAIT-2 and B = CLOSE-WAIT" \\
          --loss none --capacity 6 --param MSL=30 --param TIME_WAIT=60 --no-formula
    """
    from ..render.text_chart import render_text
    from ..timed.bound import BoundStatus, default_free, duration_bound

    config = product_config(kw)
    overrides = parse_params(params)
    spec = load_spec(spec_file, variant=variant, params=overrides)
    refuse_free_and_fixed(free, overrides)
    chosen: tuple[str, ...] = ()
    if not no_formula:
        chosen = tuple(free) or default_free(spec, peer, tuple(overrides))
    with live(not as_json) as say:
        if say is not None:
            say(f"bounding {endpoint}'s stay in {state}")
        result = duration_bound(
            spec,
            endpoint,
            state,
            peer=peer,
            config=config,
            start=start,
            free=chosen,
            max_seconds=max_seconds,
            limits=solver_limits(),
        )
    if as_json:
        data = result.to_json()
        data["variant"] = variant
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        out = out_console()
        out.print(f"[bold]{result.headline()}[/bold] on {variant or 'base'}")
        if quiet():
            conclude(f"{result.headline()} on {variant or 'base'}")
        out.print(result.message, markup=False)
        if result.formula_note:
            out.print(result.formula_note, markup=False)
        out.print("assumes: " + "; ".join(result.assumptions), markup=False)
        if result.trace is not None:
            out.print(render_text(result.trace), markup=False, soft_wrap=True)
    if result.status == BoundStatus.UNKNOWN:
        sys.exit(Exit.INCOMPLETE)
