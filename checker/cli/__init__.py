"""The ``tcpcheck`` command line: a thin layer over the library's functions.

Every command takes ``--spec FILE`` (a spec of your own, or an overlay on the bundled
one), ``--variant NAME`` and ``--json``.  A mistake in the input -- a malformed spec, an
unknown name, an impossible option -- prints one message and exits with status 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from .. import __version__
from ..errors import TcpcheckError, UsageError, unknown_name
from ..model.load import list_variants, load_spec
from ..model.spec import Spec
from ..product.config import CLOSE_MODES, ORDERINGS, OVERFLOWS, AppConfig, ProductConfig
from ..product.explore import Exploration, explore

if TYPE_CHECKING:
    from ..check.properties import Property
    from ..export.crosscheck import CrossCheck
    from ..timed.solver import SolverLimits

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def _out() -> Console:
    # Not a terminal (a CI log, a pipe): do not squeeze tables into 80 columns.
    width = None if sys.stdout.isatty() else 160
    return Console(highlight=False, soft_wrap=True, width=width)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _parse_params(values: tuple[str, ...]) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param expects NAME=VALUE (got {item!r})")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--param {name}: {value!r} is not a number") from None
    return params


def spec_file_option(
    help: str = "Load this spec (or overlay on the bundled spec) instead of the bundled TCP spec.",
) -> Callable[[F], F]:
    """``--spec FILE``: a spec or an overlay instead of the bundled one."""
    return click.option(
        "--spec",
        "spec_file",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help=help,
    )


def spec_options(func: F) -> F:
    """``--spec``, ``--variant`` and ``--param``, shared by every command."""
    func = click.option(
        "--param",
        "params",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a parameter, e.g. --param SYN_RETRIES=1.",
    )(func)
    func = click.option(
        "--variant", metavar="NAME", help="Apply a variant overlay (see `tcpcheck variants`)."
    )(func)
    return spec_file_option()(func)


def suite_options(verb: str) -> Callable[[F], F]:
    """``--spec`` and ``--properties``, for the commands that run a property suite."""

    def add(func: F) -> F:
        func = click.option(
            "--properties",
            "props_file",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="A property suite instead of the bundled one.",
        )(func)
        return spec_file_option(f"{verb} this spec (or overlay) instead of the bundled one.")(func)

    return add


def _load(spec_file: Path | None, variant: str | None, params: tuple[str, ...]) -> Spec:
    return load_spec(spec_file, variant=variant, params=_parse_params(params))


def product_options(func: F) -> F:
    """Channel and application options of the product automaton."""
    options = [
        click.option(
            "--capacity",
            type=int,
            default=2,
            show_default=True,
            help="Segments each one-way channel can hold.",
        ),
        click.option(
            "--ordering",
            type=click.Choice(ORDERINGS),
            default="unordered",
            show_default=True,
            help="fifo keeps order; unordered lets segments overtake.",
        ),
        click.option(
            "--loss",
            default="any",
            show_default=True,
            metavar="none|any|K",
            help="Segments the network may lose: none, any number, or at most K per run.",
        ),
        click.option(
            "--overflow",
            type=click.Choice(OVERFLOWS),
            default="block",
            show_default=True,
            help="What a full channel does with a segment sent into it: the sender waits "
            "(block) or the segment is dropped (drop).",
        ),
        click.option(
            "--dup",
            "duplication",
            default="none",
            show_default=True,
            metavar="none|K",
            help="Segments the network may duplicate per run.",
        ),
        click.option(
            "--a-close",
            type=click.Choice(list(CLOSE_MODES)),
            default="first",
            show_default=True,
            help="When A's application closes.",
        ),
        click.option(
            "--b-close",
            type=click.Choice(list(CLOSE_MODES)),
            default="after-peer",
            show_default=True,
            help="When B's application closes.",
        ),
        click.option(
            "--a-abort", is_flag=True, help="A's application may ABORT instead of closing."
        ),
        click.option(
            "--b-abort", is_flag=True, help="B's application may ABORT instead of closing."
        ),
        click.option(
            "--simultaneous-open",
            is_flag=True,
            help="Both endpoints open actively (B does not listen).",
        ),
        click.option(
            "--listen-send",
            is_flag=True,
            help="B's application may SEND while listening (LISTEN -> SYN-SENT).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _config(kw: dict[str, Any]) -> ProductConfig:
    b_open = "active" if kw.pop("simultaneous_open") else "passive"
    listen_send = kw.pop("listen_send")
    if listen_send and b_open == "active":
        raise UsageError("--listen-send needs B to listen: drop --simultaneous-open")
    return ProductConfig(
        a=AppConfig("active", kw.pop("a_close"), kw.pop("a_abort")),
        b=AppConfig(b_open, kw.pop("b_close"), kw.pop("b_abort"), listen_send),
        capacity=kw.pop("capacity"),
        ordering=kw.pop("ordering"),
        loss=kw.pop("loss"),
        duplication=kw.pop("duplication"),
        overflow=kw.pop("overflow"),
    )


@contextmanager
def _live(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A live status line on stderr; nothing when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    ) as bar:
        task = bar.add_task("working", total=None)
        yield lambda text: bar.update(task, description=text)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    """A live line on stderr while exploring; nothing when stderr is not a terminal."""
    with _live(enabled) as say:
        if say is None:
            yield None
            return
        show = say

        def update(states: int, transitions: int, depth: int) -> None:
            show(f"exploring: {states:,} states, {transitions:,} transitions, depth {depth}")

        yield update


class _Group(click.Group):
    """Turns tcpcheck errors into one line and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TcpcheckError as exc:
            _err().print(f"tcpcheck: error: {exc}", markup=False)
            ctx.exit(exc.exit_status)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tcpcheck")
@click.option(
    "--z3-timeout",
    type=int,
    default=60_000,
    show_default=True,
    metavar="MS",
    help="Time limit of each Z3 call (0: none); running out gives unknown, never holds.",
)
@click.option(
    "--z3-rlimit",
    type=int,
    default=0,
    show_default=True,
    metavar="N",
    help="Resource limit of each Z3 call (0: none; reproducible across machines).",
)
@click.pass_context
def cli(ctx: click.Context, z3_timeout: int, z3_rlimit: int) -> None:
    """Model checker and specification generator for TCP connection management.

    \b
    Examples:
      tcpcheck spec                      the RFC 9293 endpoint: states and transitions
      tcpcheck explore                   explore two endpoints over lossy channels
      tcpcheck explore --variant linux --ordering fifo --loss 1
      tcpcheck variants                  the overlays shipped with the spec
    """
    from ..timed.solver import SolverLimits

    ctx.obj = SolverLimits(timeout_ms=z3_timeout, rlimit=z3_rlimit)


def _limits() -> SolverLimits:
    """The Z3 limits of this command: the global --z3-timeout and --z3-rlimit."""
    from ..timed.solver import DEFAULT_LIMITS, SolverLimits

    got = click.get_current_context().find_object(SolverLimits)
    return got if got is not None else DEFAULT_LIMITS


@cli.command("spec")
@spec_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def spec_cmd(
    spec_file: Path | None, variant: str | None, params: tuple[str, ...], as_json: bool
) -> None:
    """Print the endpoint spec: states, transitions with their RFC references, timers.

    \b
    Example:
      tcpcheck spec --variant linux --json
    """
    spec = _load(spec_file, variant, params)
    if as_json:
        click.echo(json.dumps(spec.to_json(), indent=2, ensure_ascii=False))
        return
    out = _out()
    title = spec.title + (f" — variant {spec.variant.name}" if spec.variant else "")
    out.print(f"[bold]{title}[/bold]")
    states = Table("state", "description", title="States", title_justify="left")
    for s in spec.states:
        states.add_row(s.name, s.description)
    out.print(states)
    table = Table("from", "event", "to", "send", "ref", title="Transitions", title_justify="left")
    for t in spec.transitions:
        event = t.event + (f" [{t.guard}]" if t.guard else "")
        to = "—" if t.target == t.source else t.target
        if t.error:
            to = f"{to} (error: {t.error})"
        table.add_row(t.source, event, to, ", ".join(t.send), t.ref)
    out.print(table)
    timers = Table(
        "timer", "runs in", "duration", "untimed", "ref", title="Timers", title_justify="left"
    )
    for tm in spec.timers:
        timers.add_row(tm.name, ", ".join(tm.states), tm.duration_text, tm.untimed, tm.ref)
    out.print(timers)


@cli.command("variants")
@spec_file_option("List the variants beside this spec instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def variants_cmd(spec_file: Path | None, as_json: bool) -> None:
    """List the variants that can be applied with --variant.

    \b
    Example:
      tcpcheck variants
    """
    found = list_variants(spec_file)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "variants": [
                        {
                            "name": v.name,
                            "description": v.description,
                            "ref": v.ref,
                            "broken": v.broken,
                        }
                        for v in found
                    ]
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    table = Table("variant", "description", "reference")
    for v in found:
        table.add_row(v.name + (" (broken)" if v.broken else ""), v.description, v.ref)
    _out().print(table)


@cli.command("explore")
@spec_options
@product_options
@click.option("--max-states", type=int, metavar="N", help="Stop after N states (incomplete).")
@click.option("--max-seconds", type=float, metavar="S", help="Stop after S seconds (incomplete).")
@click.option(
    "--deadlocks",
    "show_deadlocks",
    type=int,
    default=10,
    show_default=True,
    metavar="N",
    help="Print at most N deadlock states.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def explore_cmd(
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    max_states: int | None,
    max_seconds: float | None,
    show_deadlocks: int,
    as_json: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    """Explore every reachable state of two endpoints joined by two channels.

    A opens actively and closes first; B listens and closes after A (change this with
    --a-close/--b-close).  Exit status 0 when the exploration is complete, 3 when a
    --max-states/--max-seconds bound stopped it.

    \b
    Examples:
      tcpcheck explore
      tcpcheck explore --ordering fifo --loss 1 --json
      tcpcheck explore --b-close never --variant linux
    """
    if max_states is not None and max_states < 1:
        raise UsageError("--max-states must be at least 1")
    if max_seconds is not None and max_seconds <= 0:
        raise UsageError("--max-seconds must be positive")
    spec = _load(spec_file, variant, params)
    config = _config(kw)
    with _progress(not quiet and not as_json) as progress:
        result = explore(
            spec, config, max_states=max_states, max_seconds=max_seconds, progress=progress
        )
    if as_json:
        click.echo(json.dumps(result.summary(), indent=2))
    else:
        _print_exploration(result, show_deadlocks)
    if not result.complete:
        sys.exit(3)


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
    help="Write FILE.svg, FILE.png or FILE.dot (by its suffix) instead of DOT on stdout.",
)
def graph_cmd(
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    view: str,
    prop_name: str | None,
    max_nodes: int,
    out_file: Path | None,
    **kw: Any,
) -> None:
    """Draw the product state graph: whole, folded, or around a counterexample.

    Never a hairball: --view whole is refused past --max-nodes states; auto folds
    instead, and the picture's title says which view it is.

    \b
    Examples:
      tcpcheck graph --out product.svg
      tcpcheck graph --loss none --ordering fifo --capacity 1 --view whole --out small.png
      tcpcheck graph --view around --property graceful-close --variant linux --out cex.svg
    """
    from ..render.endpoint_diagram import render
    from ..render.product_diagram import product_dot

    if max_nodes < 1:
        raise UsageError("--max-nodes must be at least 1")
    spec = _load(spec_file, variant, params)
    config = _config(kw)
    trace = None
    title = None
    if prop_name is not None:
        from ..suite import run_suite

        prop = _property(spec_file, None, prop_name)
        if prop.timed:
            raise UsageError(f"{prop_name} is timed: its runs live in the zone graph, not here")
        (verdict,) = run_suite(
            [prop], variants=[variant], spec_path=spec_file, params=_parse_params(params)
        )
        if verdict.trace is None or verdict.config is None:
            raise UsageError(f"{prop_name} has no trace to show ({verdict.verdict})")
        trace, config = verdict.trace, verdict.config
        title = f"{prop_name} on {variant or 'base'}: {verdict.verdict}; {config.describe()}"
    elif view == "around":
        raise UsageError("--view around needs --property NAME")
    ex = explore(spec, config)
    dot, drawn = product_dot(
        ex, "around" if trace is not None and view == "auto" else view, trace, max_nodes, title
    )
    if out_file is None:
        click.echo(dot, nl=False)
        return
    fmt = out_file.suffix.lstrip(".")
    if fmt not in ("svg", "png", "dot", "pdf"):
        raise UsageError(f"{out_file}: the suffix names the format: .svg, .png, .pdf or .dot")
    out_file.write_bytes(dot.encode() if fmt == "dot" else render(dot, fmt))
    _out().print(f"wrote {out_file} ({drawn} view, {ex.states:,} states explored)", markup=False)


@cli.group("export")
def export_group() -> None:
    """Export a configuration of the product automaton to another checker's language."""


@export_group.command("promela")
@spec_options
@product_options
@click.option(
    "--property",
    "prop_name",
    metavar="NAME",
    help="Add this untimed property's claim (never claim, watcher or fairness monitor); "
    "the model is then the product under the property's own configuration and parameters.",
)
@click.option(
    "--properties",
    "props_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Look --property up in this suite instead of the bundled one.",
)
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.pml",
    help="Write the model here instead of standard output.",
)
def export_promela_cmd(
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    prop_name: str | None,
    props_file: Path | None,
    out_file: Path | None,
    **kw: Any,
) -> None:
    """The product as a Promela model for SPIN, generated from the explorer's tables.

    One proctype per endpoint (and one for the network's losses), one d_step per move,
    each commented with the spec rule it comes from; SPIN's stored states equal
    tcpcheck's state count.  With --property, the property's claim is part of the model
    and its first lines say how to run SPIN and what an error means.

    \b
    Examples:
      tcpcheck export promela -o tcp.pml
      spin -a tcp.pml && cc -DNOREDUCE -DSAFETY -o pan pan.c && ./pan -m1000000
      tcpcheck export promela --ordering fifo --loss 1 --variant linux -o linux.pml
      tcpcheck export promela --property close-wait-leads-to-closed -o cw.pml
    """
    from ..export.claims import claim_for
    from ..export.promela import promela

    config = _config(kw)
    claim = None
    if prop_name is not None:
        if params or config != ProductConfig():
            raise UsageError(
                "--property exports the product under the property's own configuration "
                "and parameters: drop the product options and --param"
            )
        prop = _property(spec_file, props_file, prop_name)
        if prop.timed:
            raise UsageError(
                f"{prop_name} is a timed property: SPIN has no clocks; export an untimed one"
            )
        known = {p.name for p in load_spec(spec_file, variant=variant).parameters}
        params = tuple(f"{k}={v}" for k, v in prop.params.items() if k in known)
        config = prop.product_config()
        claim = claim_for(prop)
    text = promela(_load(spec_file, variant, params), config, claim)
    if out_file is None:
        click.echo(text, nl=False)
        return
    out_file.write_text(text, encoding="utf-8")
    _out().print(f"wrote {out_file} ({text.count('d_step')} moves)", markup=False)


@cli.group("crosscheck")
def crosscheck_group() -> None:
    """Compare tcpcheck with another model checker."""


@crosscheck_group.command("spin")
@suite_options("Cross-check")
@product_options
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME",
    help="Only this variant ('base' for the spec itself); repeatable. Default: all.",
)
@click.option(
    "--suite",
    is_flag=True,
    help="Each property under its own configuration and parameters, as `tcpcheck check` "
    "decides it (product options and --param do not apply).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a spec parameter (e.g. FIN_RETRIES=inf); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def crosscheck_spin_cmd(
    spec_file: Path | None,
    props_file: Path | None,
    variants: tuple[str, ...],
    suite: bool,
    params: tuple[str, ...],
    as_json: bool,
    **kw: Any,
) -> None:
    """Explore with tcpcheck and with SPIN; compare states and every untimed verdict.

    The product is exported as Promela, SPIN generates and compiles its verifier and
    searches; the stored states must equal tcpcheck's.  Every untimed property is then
    decided by both tools on the same product -- invariants, reachability and paths as
    never claims, deadlock-freedom by a watcher process, eventually and leads-to as
    acceptance cycles under tcpcheck's fairness -- the verdicts must be equal, and
    every trail SPIN writes must replay through tcpcheck's product.  Exit 0 only when
    everything agrees, 1 when anything differs, 2 when SPIN or a C compiler is missing.

    \b
    Examples:
      tcpcheck crosscheck spin
      tcpcheck crosscheck spin --ordering fifo --loss 1 --variant base --variant no-time-wait
      tcpcheck crosscheck spin --suite --json
    """
    from ..check.properties import load_properties
    from ..export.crosscheck import crosscheck, crosscheck_suite
    from ..export.spin import missing_tools
    from ..suite import suite_variants

    missing = missing_tools()
    if missing:
        raise UsageError(
            f"the cross-check needs {' and '.join(missing)}: install them "
            "(Debian: apt-get install spin gcc tcc; bash setup.sh does it as root)"
        )
    chosen = _variants(spec_file, variants) or list(suite_variants(spec_file))
    props = load_properties(props_file, spec=load_spec(spec_file))
    config = _config(kw)
    if suite:
        if params or config != ProductConfig():
            raise UsageError(
                "--suite checks each property under its own configuration: drop the "
                "product options and --param, or drop --suite"
            )
        rows = crosscheck_suite(props, chosen, spec_file)
    else:
        _load(spec_file, None, params)  # names the file and entry of a bad --param
        rows = crosscheck(props, chosen, config, spec_file, _parse_params(params))
    agree = all(r.agree for r in rows)
    if as_json:
        doc = {"configurations": [r.to_json() for r in rows], "agree": agree}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _print_crosscheck(rows)
    if not agree:
        sys.exit(1)


def _print_crosscheck(rows: Sequence[CrossCheck]) -> None:
    from ..export.crosscheck import number

    out = _out()
    table = Table(
        "variant", "configuration", "tcpcheck states", "SPIN states", "verdicts",
        "tcpcheck s", "SPIN gen / cc / search s", "SPIN verdicts s", "agree",
    )  # fmt: skip
    for r in rows:
        same = sum(c.tcpcheck == c.spin and c.trail is None for c in r.verdicts)
        shown = r.config.describe()
        if r.params:
            shown += "; " + ", ".join(f"{k}={number(v)}" for k, v in r.params)
        table.add_row(
            r.variant or "base",
            shown,
            f"{r.tcpcheck_states:,}",
            f"{r.spin.states:,}",
            f"{same}/{len(r.verdicts)} equal",
            f"{r.tcpcheck_seconds + sum(c.tcpcheck_seconds for c in r.verdicts):.2f}",
            f"{r.spin.generate_seconds:.2f} / {r.spin.compile_seconds:.2f} / "
            f"{r.spin.search_seconds:.2f}",
            f"{sum(c.spin_seconds for c in r.verdicts):.1f}",
            "yes" if r.agree else "NO",
        )
    out.print(table)
    for r in rows:
        if not r.same_states:
            out.print(
                f"{r.variant or 'base'}: states/transitions: tcpcheck {r.tcpcheck_states:,}/"
                f"{r.tcpcheck_transitions:,}, SPIN {r.spin.states:,}/{r.spin.transitions:,}"
            )
        for c in r.verdicts:
            if c.tcpcheck != c.spin:
                out.print(f"{r.variant or 'base'}: {c.prop}: tcpcheck {c.tcpcheck}, SPIN {c.spin}")
            if c.trail is not None:
                out.print(
                    f"{r.variant or 'base'}: {c.prop}: SPIN's trail does not replay: {c.trail}"
                )


def _print_exploration(result: Exploration, show: int) -> None:
    out = _out()
    spec = result.spec
    out.print(
        f"[bold]{spec.title}[/bold]" + (f" — variant {spec.variant.name}" if spec.variant else "")
    )
    out.print(result.config.describe())
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
        else f"[bold red]NO[/bold red] — stopped by {result.limit}; counts are partial",
    )
    table.add_row("seconds", f"{result.seconds:.3f}")
    out.print(table)
    if result.deadlocks and show:
        out.print("Deadlock states (no move is possible):")
        for node in result.deadlocks[:show]:
            out.print(f"  #{node}: {result.state(node).describe()}", markup=False)
        if len(result.deadlocks) > show:
            out.print(f"  … and {len(result.deadlocks) - show:,} more (--deadlocks N)")


def _property(spec_file: Path | None, props_file: Path | None, name: str) -> Property:
    """The property ``name`` of the suite (bundled, or ``props_file``), or a usage error
    with a hint."""
    from ..check.properties import load_properties

    by_name = {p.name: p for p in load_properties(props_file, spec=load_spec(spec_file))}
    if name not in by_name:
        raise unknown_name("property", name, list(by_name), "properties")
    return by_name[name]


def _variants(spec_file: Path | None, names: tuple[str, ...]) -> list[str | None] | None:
    """``--variant`` values (``base`` is the spec itself); ``None`` when none is given."""
    if not names:
        return None
    from ..suite import suite_variants

    available = suite_variants(spec_file)
    chosen: list[str | None] = []
    for name in names:
        value = None if name == "base" else name
        if value not in available:
            shown = ["base", *(v for v in available if v)]
            raise unknown_name("variant", name, shown, "variants")
        chosen.append(value)
    return chosen


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
@click.option("--no-fair-lossy", is_flag=True, help="Drop the fair-lossy channel assumption.")
@click.option("--no-fair-apps", is_flag=True, help="Drop the fair application assumption.")
@click.option("--no-fair-timers", is_flag=True, help="Drop weak fairness of timers.")
@click.option("--witnesses", is_flag=True, help="Also chart the witnesses of properties that hold.")
@click.option(
    "--max-states", type=int, metavar="N", help="Bound each exploration (unknown verdicts)."
)
@click.option("--max-seconds", type=float, metavar="S", help="Bound each exploration in time.")
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write a JUnit XML report.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_cmd(
    spec_file: Path | None,
    props_file: Path | None,
    variants: tuple[str, ...],
    names: tuple[str, ...],
    params: tuple[str, ...],
    no_fair_lossy: bool,
    no_fair_apps: bool,
    no_fair_timers: bool,
    witnesses: bool,
    max_states: int | None,
    max_seconds: float | None,
    junit_file: Path | None,
    as_json: bool,
) -> None:
    """Check the property suite on every variant; chart each counterexample.

    Exit status 0 when every verdict is the expected one, 1 when any differs, 2 on a
    usage or spec error.

    \b
    Examples:
      tcpcheck check
      tcpcheck check --property fin-wait-2-leads-to-closed --variant linux
      tcpcheck check --property both-eventually-closed --no-fair-lossy
      tcpcheck check --json --junit report.xml
    """
    from ..check.properties import load_properties
    from ..render.text_chart import render_text
    from ..suite import junit_xml, run_suite

    base = load_spec(spec_file)
    props = load_properties(props_file, spec=base)
    if names:
        known = [p.name for p in props]
        for name in names:
            if name not in known:
                raise unknown_name("property", name, known, "properties")
        props = [p for p in props if p.name in names]
    chosen = _variants(spec_file, variants)
    off = [
        name
        for name, flag in (
            ("fair-lossy", no_fair_lossy),
            ("fair-apps", no_fair_apps),
            ("timers", no_fair_timers),
        )
        if flag
    ]
    verdicts = run_suite(
        props,
        variants=chosen,
        spec_path=spec_file,
        params=_parse_params(params),
        fairness_off=off,
        max_states=max_states,
        max_seconds=max_seconds,
        limits=_limits(),
    )
    ok = all(v.ok for v in verdicts)
    if junit_file is not None:
        junit_file.write_text(junit_xml(verdicts), encoding="utf-8")
    if as_json:
        click.echo(
            json.dumps(
                {"ok": ok, "properties": [v.to_json() for v in verdicts]},
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        out = _out()
        table = Table("property", "variant", "kind", "verdict", "expected", "")
        for v in verdicts:
            colour = {"holds": "green", "violated": "red", "unknown": "yellow"}[v.verdict]
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
            show = v.trace is not None and (v.verdict == "violated" or witnesses or not v.ok)
            if not show:
                continue
            assert v.trace is not None
            kind = "witness" if v.verdict == "holds" else "counterexample"
            out.print(
                f"\n[bold]{v.prop.name}[/bold] on {v.variant or 'base'}: {v.verdict} "
                f"({kind}) — {v.message}",
                markup=True,
                highlight=False,
            )
            if v.assumptions:
                out.print("assumes: " + ", ".join(v.assumptions), markup=False)
            if v.config is not None:
                out.print(v.config.describe(), markup=False)
            out.print(render_text(v.trace), markup=False)
        bad = [v for v in verdicts if not v.ok]
        out.print(f"\n{len(verdicts)} checks, {len(bad)} unexpected", markup=False)
    if not ok:
        sys.exit(1)


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
@click.option("--max-seconds", type=float, metavar="S", help="Bound the exploration in time.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def synth_cmd(
    prop_name: str,
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    props_file: Path | None,
    free: tuple[str, ...],
    losses: str | None,
    max_seconds: float | None,
    as_json: bool,
) -> None:
    """Synthesize the timing parameters for which a timed property holds.

    The free parameters stay symbolic; the others take the spec's values (after the
    property's own and --param overrides).  The constraint is exact when the parametric
    exploration completes, "unknown" otherwise (exit status 3).

    \b
    Examples:
      tcpcheck synth last-ack-not-stuck --param MSL=30
      tcpcheck synth last-ack-not-stuck --free TIME_WAIT --free MSL --free RTO --json
      tcpcheck synth last-ack-not-stuck --param MSL=2 --param RTO=1 --param FIN_RETRIES=3 \\
          --free TIME_WAIT --losses 0,1,2
    """
    from ..timed.synth import folklore, loss_budgets, synthesize

    prop = _property(spec_file, props_file, prop_name)
    known = {
        p.name for p in load_spec(spec_file, variant=variant, check_behaviour=False).parameters
    }
    merged = {k: v for k, v in prop.params.items() if k in known}
    merged.update(_parse_params(params))
    chosen = list(free) or [n for n in ("TIME_WAIT", "MSL", "RTO") if n in known]
    for name in chosen:
        if name in merged:
            raise UsageError(f"{name} is both free and fixed (--param {name}=...); choose one")
    spec = load_spec(spec_file, variant=variant, params=merged)
    if losses is not None:
        try:
            budgets = [int(k) for k in losses.split(",")]
        except ValueError:
            raise UsageError(f"--losses expects counts like 0,1,2 (got {losses!r})") from None
        rows = loss_budgets(
            prop, spec, variant, chosen, budgets, max_seconds=max_seconds, limits=_limits()
        )
        if as_json:
            table = [{"losses": k, **r.to_json()} for k, r in rows]
            click.echo(json.dumps(table, indent=2, ensure_ascii=False))
        else:
            out = _out()
            out.print(f"[bold]{prop.name}[/bold] on {variant or 'base'}, by loss budget")
            fixed = ", ".join(f"{k}={v:g}" for k, v in sorted(rows[0][1].fixed.items()))
            out.print(f"free: {', '.join(chosen)}; fixed: {fixed}", markup=False)
            for k, r in rows:
                out.print(f"  at most {k} lost: holds iff {r.text()}  ({r.status})", markup=False)
        if any(r.status != "exact" for _k, r in rows):
            sys.exit(3)
        return
    with _live(not as_json) as say:
        progress = None
        if say is not None:
            show = say

            def progress(tiles: int, bad: int) -> None:
                show(f"covering the parameter space: {tiles:,} tiles ({bad:,} violating)")

        result = synthesize(
            prop,
            spec,
            variant,
            chosen,
            max_seconds=max_seconds,
            progress=progress,
            limits=_limits(),
        )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        out = _out()
        out.print(f"[bold]{prop.name}[/bold] on {variant or 'base'}: {prop.description}")
        fixed = ", ".join(f"{k}={v:g}" for k, v in sorted(result.fixed.items()))
        out.print(f"free: {', '.join(result.free)}; fixed: {fixed}", markup=False)
        out.print(f"holds iff: {result.text()}", markup=False)
        textbook = folklore(result)
        if textbook is not None:
            out.print(textbook, markup=False)
        out.print(f"({result.status}: {result.message}; {result.seconds:.1f} s)", markup=False)
    if result.status != "exact":
        sys.exit(3)


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
@click.option("--max-seconds", type=float, default=120.0, show_default=True, metavar="S")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
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
      tcpcheck bound TIME-WAIT --peer live --start "A = FIN-WAIT-2 and B = CLOSE-WAIT" --loss 1
    """
    from ..render.text_chart import render_text
    from ..timed.bound import default_free, duration_bound

    config = _config(kw)
    overrides = _parse_params(params)
    spec = load_spec(spec_file, variant=variant, params=overrides)
    for name in free:
        if name in overrides:
            raise UsageError(f"{name} is both free and fixed (--param {name}=...); choose one")
    chosen: tuple[str, ...] = ()
    if not no_formula:
        chosen = tuple(free) or default_free(spec, peer, tuple(overrides))
    result = duration_bound(
        spec,
        endpoint,
        state,
        peer=peer,
        config=config,
        start=start,
        free=chosen,
        max_seconds=max_seconds,
        limits=_limits(),
    )
    if as_json:
        data = result.to_json()
        data["variant"] = variant
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        out = _out()
        out.print(f"[bold]{result.headline()}[/bold] on {variant or 'base'}")
        out.print(result.message, markup=False)
        if result.formula_note:
            out.print(result.formula_note, markup=False)
        out.print("assumes: " + "; ".join(result.assumptions), markup=False)
        if result.trace is not None:
            out.print(render_text(result.trace), markup=False, soft_wrap=True)
    if result.status == "unknown":
        sys.exit(3)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="tcpcheck")


@cli.command("docs")
@suite_options("Document")
@click.option(
    "--out",
    "docs_dir",
    default="docs",
    show_default=True,
    metavar="DIR",
    help="Where the Markdown goes.",
)
@click.option(
    "--diagrams",
    "diagrams_dir",
    default="diagrams",
    show_default=True,
    metavar="DIR",
    help="Where the diagrams go.",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME",
    help="Document only this variant ('base' for the spec itself); repeatable.",
)
@click.option("--png", is_flag=True, help="Also write a PNG copy of every diagram and chart.")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 with a summary when the files on disk differ.",
)
def docs_cmd(
    spec_file: Path | None,
    props_file: Path | None,
    docs_dir: str,
    diagrams_dir: str,
    variants: tuple[str, ...],
    png: bool,
    check_only: bool,
) -> None:
    """Write the Markdown specification, the property report and the diagrams.

    The same input gives the same bytes, so a CI job can run `tcpcheck docs --check`
    and fail when the committed copies are stale (exit 1, with what differs).

    \b
    Examples:
      tcpcheck docs
      tcpcheck docs --out site/spec --diagrams site/img --variant base --variant linux
      tcpcheck docs --check
    """
    from ..docs import compare, generate, write

    chosen = _variants(spec_file, variants)
    with _live(True) as say:
        if say is not None:
            say("generating the specification, the report and the diagrams")
        files = generate(
            chosen,
            spec_file=spec_file,
            props_file=props_file,
            docs_dir=docs_dir,
            diagrams_dir=diagrams_dir,
            png=png,
            limits=_limits(),
        )
    if check_only:
        report = compare(files)
        if report:
            _out().print(f"{len(report)} line(s) of difference: run `tcpcheck docs`", markup=False)
            for line in report:
                click.echo(line)
            sys.exit(1)
        _out().print(f"up to date: {len(files)} files", markup=False)
        return
    write(files)
    _out().print(f"wrote {len(files)} files under {docs_dir}/ and {diagrams_dir}/", markup=False)


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
    "--client",
    metavar="HOST:PORT",
    help="With --pcap: the connection whose first SYN came from HOST:PORT.",
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def conform_cmd(
    scenarios: tuple[str, ...],
    pcap: Path | None,
    client: str | None,
    variant: str,
    spec_file: Path | None,
    keep: Path | None,
    charts: Path | None,
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
    does not, 2 when a run cannot be made or read.

    \b
    Examples:
      tcpcheck conform
      tcpcheck conform --scenario last-ack-gives-up --json
      tcpcheck conform --pcap capture.pcap --client 10.0.0.1:40000
    """
    from ..kernel.conform import check_run, load_for_conformance
    from ..kernel.lab import missing
    from ..kernel.runs import run_from_pcap, run_from_recording
    from ..kernel.scenarios import SCENARIOS, record

    chosen = None if variant == "base" else variant
    spec = load_for_conformance(chosen, spec_file)
    defaults = load_spec(spec_file, chosen).values
    if pcap is not None:
        if scenarios or keep is not None:
            raise UsageError("--pcap checks a capture: drop --scenario and --keep-captures")
        if not pcap.exists():
            raise UsageError(f"{pcap}: no such file (give a pcap capture to --pcap)")
        runs = [run_from_pcap(pcap, client)]
    else:
        if client is not None:
            raise UsageError("--client picks a connection in a capture: use it with --pcap")
        for name in scenarios:
            if name not in SCENARIOS:
                raise unknown_name("scenario", name, sorted(SCENARIOS), "scenarios")
        lacking = missing()
        if lacking:
            raise UsageError(
                f"the conformance scenarios need {', '.join(lacking)} "
                "(run as root; bash setup.sh installs ip, nft, tcpdump and ss)"
            )
        runs = []
        for name in scenarios or tuple(SCENARIOS):
            where = keep / name if keep is not None else None
            if where is not None:
                where.mkdir(parents=True, exist_ok=True)
            rec = record(name, where)
            if where is not None:
                text = json.dumps(rec.to_json(), indent=1, sort_keys=True)
                (where / "recording.json").write_text(text + "\n")
            runs.append(run_from_recording(rec))
    from ..kernel.instants import check_instants

    verdicts = [check_run(spec, run, variant=variant, defaults=defaults) for run in runs]
    timings = [
        check_instants(v, run, chosen, spec_file, _limits()) if v.conforms else None
        for v, run in zip(verdicts, runs, strict=True)
    ]
    if charts is not None:
        from ..render.mermaid_chart import render_mermaid

        charts.mkdir(parents=True, exist_ok=True)
        for v in verdicts:
            text = v.mismatch.chart if v.mismatch else render_mermaid(v.trace, v.times)
            (charts / f"{v.name.split()[0]}.mmd").write_text(text)
    rows = []
    for v, timing in zip(verdicts, timings, strict=True):
        row = v.to_json()
        row["timing"] = timing.to_json() if timing is not None else None
        row["conforms"] = v.conforms and timing is not None and timing.ok
        rows.append(row)
    ok = all(row["conforms"] for row in rows)
    if as_json:
        doc = {"variant": variant, "scenarios": rows, "conforms": ok}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _print_conformance(verdicts, timings, defaults)
    if not ok:
        sys.exit(1)


def _agreeing(rows: Sequence[Any]) -> str:
    return f"{sum(r.ok for r in rows)}/{len(rows)} agree" if rows else "none timed"


def _print_conformance(
    verdicts: Sequence[Any], timings: Sequence[Any], defaults: dict[str, float]
) -> None:
    from ..kernel.conform import COUNT_LIMIT
    from ..render.text_chart import render_text

    out = _out()
    table = Table(
        "run", "path", "losses", "retry bounds the run implies", "instants", "search states"
    )
    for v, timing in zip(verdicts, timings, strict=True):
        implied = []
        for name, ranges in v.parameters.items():
            shown = ", ".join(str(lo) if lo == hi else f"{lo}..{hi}" for lo, hi in ranges)
            if ranges and ranges != [(0, COUNT_LIMIT)]:
                implied.append(f"{name} ∈ {{{shown}}} (variant: {defaults[name]:g})")
        table.add_row(
            v.name,
            "matches" if v.conforms else ("UNKNOWN" if v.incomplete else "NO"),
            str(v.losses) if v.conforms else "-",
            "; ".join(implied) or ("any" if v.conforms else "-"),
            "-" if timing is None else _agreeing(timing.rows),
            f"{v.explored:,}",
        )
    out.print(table)
    for v, timing in zip(verdicts, timings, strict=True):
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
    for v in verdicts:
        m = v.mismatch
        if m is None:
            continue
        out.print(f"\n[bold]{v.name}[/]: kernel and model part after {m.step} matched steps")
        out.print(f"  the kernel: {m.kernel}", markup=False)
        out.print(f"  the model, at {m.at}, could: {'; '.join(m.model)}", markup=False)
        out.print(f"  why not: {m.why}", markup=False)
        out.print(render_text(v.trace, v.times), markup=False)
