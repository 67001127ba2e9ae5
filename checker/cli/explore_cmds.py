"""``tcpcheck explore`` and ``tcpcheck graph``: the product's reachable states, counted
or drawn."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import UsageError
from ..product.exploration import Exploration
from ..product.explore import explore
from .app import cli
from .console import conclude, err_console, exploring, out_console, quiet
from .exits import Exit
from .options import (
    COUNT,
    find_property,
    load,
    output_options,
    parse_params,
    product_config,
    product_options,
    seconds_limit,
    solver_limits,
    spec_options,
)

if TYPE_CHECKING:
    from ..model.spec import Spec
    from ..product.config import ProductConfig

__all__ = ["explore_cmd", "graph_cmd"]


@cli.command("explore")
@spec_options
@product_options
@click.option("--max-states", type=COUNT, metavar="N", help="Stop after N states (incomplete).")
@click.option(
    "--max-seconds",
    type=float,
    callback=seconds_limit,
    metavar="S",
    help="Stop after S seconds (incomplete).",
)
@click.option(
    "--deadlocks",
    "show_deadlocks",
    type=int,
    default=10,
    show_default=True,
    metavar="N",
    help="Print at most N deadlock states.",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "compiled", "python"]),
    default="auto",
    show_default=True,
    help="The search loop: compiled (built by the set-up), or the same loop in Python; "
    "auto takes the compiled one where it is built.",
)
@output_options()
def explore_cmd(
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    max_states: int | None,
    max_seconds: float | None,
    show_deadlocks: int,
    engine: str,
    as_json: bool,
    **kw: Any,
) -> None:
    """Explore every reachable state of two endpoints joined by two channels.

    A opens actively and closes first; B listens and closes after A (change this with
    --a-close/--b-close).  Exit status 0 when the exploration is complete, 3 when a
    --max-states/--max-seconds bound or the memory stopped it, 130 on Ctrl-C (the
    counts so far are printed).

    \b
    Examples:
      tcpcheck explore
      tcpcheck explore --ordering fifo --loss 1 --json
      tcpcheck explore --b-close never --variant linux
    """
    spec = load(spec_file, variant, params)
    config = product_config(kw)
    with exploring(not as_json) as progress:
        result = explore(
            spec,
            config,
            max_states=max_states,
            max_seconds=max_seconds,
            progress=progress,
            interruptible=True,
            engine=engine,
        )
    if as_json:
        click.echo(json.dumps(result.summary(), indent=2))
    elif quiet():
        conclude(exploration_summary(result))
    else:
        print_exploration(result, show_deadlocks)
    if result.limit == "interrupted":
        sys.exit(Exit.INTERRUPTED)
    if not result.complete:
        sys.exit(Exit.INCOMPLETE)


@cli.command("graph")
@spec_options
@product_options
@click.option(
    "--view",
    type=click.Choice(["auto", "whole", "states", "around"]),
    default="auto",
    show_default=True,
    help="whole: every state; states: folded by the pair of endpoint states; around: a "
    "property's counterexample and its neighbours; auto: whole when it fits.",
)
@click.option(
    "--property",
    "prop_name",
    metavar="NAME",
    help="For --view around: the property whose counterexample (or witness) to show; "
    "its own configuration is explored.",
)
@click.option(
    "--max-nodes",
    type=int,
    default=60,
    show_default=True,
    metavar="N",
    help="The most states drawn one by one.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write FILE.svg, .png, .pdf, .dot, .graphml or .json (by its suffix, unless "
    "--format says) instead of standard output.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "svg", "png", "pdf", "graphml", "json"]),
    help="dot/svg/png/pdf: the picture of the view; graphml, json (node-link): the whole "
    "explored state graph with typed attributes, for networkx, Gephi, yEd and the like.  "
    "Default: the --out suffix, else dot.",
)
@click.option(
    "--max-states",
    type=COUNT,
    metavar="N",
    help="Explore at most N states (a partial graph, exit 3).",
)
@click.option(
    "--max-seconds",
    type=float,
    callback=seconds_limit,
    metavar="S",
    help="Explore for at most S seconds (a partial graph, exit 3).",
)
@output_options("Print a JSON summary of what --out got: format, view, counts.")
def graph_cmd(
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    view: str,
    prop_name: str | None,
    max_nodes: int,
    out_file: Path | None,
    fmt: str | None,
    max_states: int | None,
    max_seconds: float | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Draw the product state graph: whole, folded, or around a counterexample.

    Never a hairball: --view whole is refused past --max-nodes states; auto folds
    instead, and the picture's title says which view it is.  --format graphml or json
    writes the whole explored graph instead, for other tools to read.

    \b
    Examples:
      tcpcheck graph --out product.svg
      tcpcheck graph --format graphml --out product.graphml
      tcpcheck graph --loss none --ordering fifo --format json
      tcpcheck graph --loss none --ordering fifo --capacity 1 --view whole --out small.png
      tcpcheck graph --view around --property graceful-close --variant linux --out cex.svg
    """
    from ..render.product_diagram import product_dot

    if max_nodes < 1:
        raise UsageError("--max-nodes must be at least 1")
    fmt = _graph_format(out_file, fmt)
    if as_json and out_file is None:
        raise UsageError(
            "--json prints a summary on standard output: give --out FILE for the graph itself"
        )
    spec = load(spec_file, variant, params)
    config = product_config(kw)
    if fmt in ("graphml", "json"):
        if prop_name is not None or view != "auto":
            raise UsageError(
                f"--format {fmt} writes the whole state graph: drop --view and --property "
                "(they choose what a picture shows)"
            )
        _write_state_graph(spec, config, fmt, out_file, max_states, max_seconds, as_json)
        return
    trace = None
    title = None
    if prop_name is not None:
        from ..suite import run_suite

        prop = find_property(spec_file, None, prop_name)
        if prop.timed:
            raise UsageError(f"{prop_name} is timed: its runs live in the zone graph, not here")
        (verdict,) = run_suite(
            [prop],
            variants=[variant],
            spec_path=spec_file,
            params=parse_params(params),
            max_states=max_states,
            max_seconds=max_seconds,
            limits=solver_limits(),
        )
        if verdict.trace is None or verdict.config is None:
            raise UsageError(f"{prop_name} has no trace to show ({verdict.verdict})")
        trace, config = verdict.trace, verdict.config
        title = f"{prop_name} on {variant or 'base'}: {verdict.verdict}; {config.describe()}"
    elif view == "around":
        raise UsageError("--view around needs --property NAME")
    with exploring(not as_json) as progress:
        ex = explore(
            spec, config, max_states=max_states, max_seconds=max_seconds, progress=progress
        )
    if not ex.complete:
        title = f"{title or 'product'} (partial: {ex.stopped()})"
    dot, drawn = product_dot(
        ex, "around" if trace is not None and view == "auto" else view, trace, max_nodes, title
    )
    if out_file is None and fmt == "dot":
        click.echo(dot, nl=False)
    else:
        _write_graph(out_file, fmt, dot)
        _wrote(out_file, fmt, ex, as_json, f"{drawn} view, {ex.states:,} states explored", drawn)
    if not ex.complete:
        err_console().print(
            f"tcpcheck: the graph is partial: exploration stopped ({ex.stopped()})", markup=False
        )
        sys.exit(Exit.INCOMPLETE)


def _graph_format(out_file: Path | None, fmt: str | None) -> str:
    """The format ``--format`` names, else the one the suffix of ``--out`` names."""
    if fmt is not None:
        return fmt
    if out_file is None:
        return "dot"
    suffix = out_file.suffix.lstrip(".")
    if suffix not in ("svg", "png", "dot", "pdf", "graphml", "json"):
        raise UsageError(
            f"{out_file}: the suffix names the format (.svg, .png, .pdf, .dot, .graphml, "
            ".json), or give --format"
        )
    return suffix


def _write_graph(out_file: Path | None, fmt: str, dot: str) -> None:
    from ..render.endpoint_diagram import render

    data = dot.encode() if fmt == "dot" else render(dot, fmt)
    if out_file is None:
        sys.stdout.buffer.write(data)
        return
    out_file.write_bytes(data)


def _wrote(
    out_file: Path | None,
    fmt: str,
    ex: Exploration,
    as_json: bool,
    what: str,
    view: str | None = None,
) -> None:
    """What ``graph`` wrote to ``out_file``: a line, or the JSON summary."""
    if out_file is None:
        return
    if as_json:
        summary = {
            "out": str(out_file),
            "format": fmt,
            "view": view,
            "states": ex.states,
            "transitions": ex.transitions,
            "complete": ex.complete,
            "stopped": None if ex.complete else ex.limit,
        }
        click.echo(json.dumps(summary, indent=2))
    else:
        conclude(f"wrote {out_file} ({what})")


def _write_state_graph(
    spec: Spec,
    config: ProductConfig,
    fmt: str,
    out_file: Path | None,
    max_states: int | None,
    max_seconds: float | None,
    as_json: bool,
) -> None:
    """The whole explored graph as GraphML or node-link JSON (exit 3 when partial)."""
    from ..export.stategraph import state_graph

    with exploring(not as_json) as progress:
        ex = explore(
            spec, config, max_states=max_states, max_seconds=max_seconds, progress=progress
        )
    data = state_graph(ex, fmt)
    if out_file is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out_file.write_bytes(data)
        what = f"{ex.states:,} states, {ex.transitions:,} transitions"
        _wrote(out_file, fmt, ex, as_json, what)
    if not ex.complete:
        err_console().print(
            f"tcpcheck: the graph is partial: exploration stopped ({ex.stopped()})", markup=False
        )
        sys.exit(Exit.INCOMPLETE)


def exploration_summary(result: Exploration) -> str:
    """An exploration in one line: its counts and whether they are complete."""
    done = "complete" if result.complete else f"stopped ({result.limit}); counts are partial"
    return (
        f"{result.states:,} states, {result.transitions:,} transitions, depth {result.depth}, "
        f"{len(result.deadlocks):,} deadlocks, {done}"
    )


def print_exploration(result: Exploration, show: int) -> None:
    """The counts of an exploration, and at most ``show`` of its deadlock states."""
    from rich.markup import escape

    out = out_console()
    out.print(f"[bold]{escape(result.spec.heading)}[/bold]")
    out.print(result.config.describe())
    from rich.table import Table  # after the search: start-up does not pay for it

    table = Table(show_header=False)
    table.add_row("states", f"{result.states:,}")
    table.add_row("transitions", f"{result.transitions:,}")
    table.add_row("depth", str(result.depth))
    dead = f"{len(result.deadlocks):,}"
    if result.capacity_blocked:
        dead += f" ({len(result.capacity_blocked):,} only because a channel is full)"
    table.add_row("deadlocks", dead)
    table.add_row(
        "complete",
        "yes"
        if result.complete
        else f"[bold red]NO[/bold red] — stopped ({result.limit}); counts are partial",
    )
    table.add_row("seconds", f"{result.seconds:.3f}")
    out.print(table)
    if result.deadlocks and show:
        out.print("Deadlock states (no move is possible):")
        for node in result.deadlocks[:show]:
            out.print(f"  #{node}: {result.state(node).describe()}", markup=False)
        if len(result.deadlocks) > show:
            out.print(f"  … and {len(result.deadlocks) - show:,} more (--deadlocks N)")
