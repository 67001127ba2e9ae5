"""``tcpcheck export promela`` and ``tcpcheck crosscheck spin``: the product in SPIN's
language, and the comparison with SPIN's verdicts."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from ..errors import UsageError
from ..prob.mdp import TIMER_MODES
from ..product.config import ProductConfig
from .app import cli
from .console import conclude, every, live, out_console, quiet
from .options import (
    find_property,
    load,
    load_suite,
    output_options,
    parse_params,
    pick_properties,
    pick_variants,
    product_config,
    product_options,
    spec_options,
    suite_options,
    workers,
    workers_options,
)

if TYPE_CHECKING:
    from ..export.crosscheck import CrossCheck

__all__ = [
    "crosscheck_group",
    "crosscheck_spin_cmd",
    "crosscheck_storm_cmd",
    "export_group",
    "export_prism_cmd",
    "export_promela_cmd",
]


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
    "the model is then the product under the property's own configuration and parameters "
    "(--param overrides them).",
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
@output_options("Print a JSON summary of what -o got (needs -o).")
def export_promela_cmd(
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    prop_name: str | None,
    props_file: Path | None,
    out_file: Path | None,
    as_json: bool,
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
    from ..export.claims import property_model
    from ..export.promela import promela

    config = product_config(kw)
    if as_json and out_file is None:
        raise UsageError(
            "--json prints a summary on standard output: give -o FILE.pml for the model"
        )
    if prop_name is not None:
        if config != ProductConfig():
            raise UsageError(
                "--property exports the product under the property's own configuration: "
                "drop the product options"
            )
        load(spec_file, variant, params)  # the names and values are the spec's
        prop = find_property(spec_file, props_file, prop_name)
        # --param on top of the property's own parameters (e.g. smaller retry counts).
        prop = replace(prop, params={**prop.params, **parse_params(params)})
        with live(not as_json) as say:
            if say is not None:
                say(f"exploring {prop_name}'s product for Promela")
            text = property_model(prop, spec_file, variant)
    else:
        spec = load(spec_file, variant, params)
        with live(not as_json) as say:
            if say is not None:
                say("exploring the product for Promela")
            text = promela(spec, config)
    if out_file is None:
        click.echo(text, nl=False)
        return
    out_file.write_text(text, encoding="utf-8")
    moves = text.count("d_step")
    if as_json:
        summary = {"out": str(out_file), "moves": moves, "variant": variant, "property": prop_name}
        click.echo(json.dumps(summary, indent=2))
    else:
        conclude(f"wrote {out_file} ({moves} moves)")


@export_group.command("prism")
@spec_options
@product_options
@click.option(
    "--question",
    metavar="PATTERN",
    help="How an endpoint leaves or enters a state (e.g. 'B leaves LAST-ACK'): a variable "
    "'left' and labels left_1, left_2, ... (one per event, first match) to ask about.",
)
@click.option(
    "--loss-rate",
    "loss_rate",
    metavar="P",
    help="Write the loss constants with these probabilities, as tcpcheck prob reads one "
    "rate (0.01, 1/100, A->B=0.01,B->A=0.05, 0.01,FIN+ACK=0.2); without it they are left "
    "for the checker to define (storm --constants).",
)
@click.option(
    "--timers",
    type=click.Choice(TIMER_MODES),
    default="wait",
    show_default=True,
    help="wait: a retransmission timer fires only where no delivery is offered (RTO longer "
    "than the round trip); any: at any moment.",
)
@click.option(
    "-o",
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.prism",
    help="Write the model here instead of standard output.",
)
@output_options("Print a JSON summary of what -o got (needs -o).")
def export_prism_cmd(
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    question: str | None,
    loss_rate: str | None,
    timers: str,
    out_file: Path | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """The product's probabilistic reading as a PRISM MDP, for Storm or PRISM.

    Each segment in flight is lost with its constant's probability (p_ab_FIN_ACK: a
    FIN+ACK from A to B) when it is delivered; the applications' calls, the
    interleavings and the timers are the scheduler's.  Generated from the explorer's
    tables, as the Promela model is: Storm's states are tcpcheck's.

    \b
    Examples:
      tcpcheck export prism --variant linux --capacity 1 -o linux.prism
      tcpcheck export prism --question "B leaves LAST-ACK" --loss-rate 0.01 -o tcp.prism
      storm --prism tcp.prism --prop 'Pmax=? [F "left_1"]' --exact
    """
    from ..export.prism import prism_model
    from ..prob.rates import LossRates

    config = product_config(kw)
    if as_json and out_file is None:
        raise UsageError(
            "--json prints a summary on standard output: give -o FILE.prism for the model"
        )
    spec = load(spec_file, variant, params)
    rates = None if loss_rate is None else LossRates.parse(loss_rate)
    with live(not as_json) as say:
        if say is not None:
            say("writing the PRISM model")
        model = prism_model(spec, config, question, rates, timers=timers)
    if out_file is None:
        click.echo(model.text, nl=False)
        return
    out_file.write_text(model.text, encoding="utf-8")
    if as_json:
        summary = {
            "out": str(out_file),
            "constants": sorted(model.constants.values()),
            "events": list(model.events),
        }
        click.echo(json.dumps(summary, indent=2))
    else:
        conclude(f"wrote {out_file} ({len(model.constants)} loss constants)")


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
    "--property",
    "names",
    multiple=True,
    metavar="NAME",
    help="Cross-check only this property's verdict (the state counts always); repeatable.",
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
@output_options()
@workers_options(default="1: the products one after the other here, SPIN's runs two at a time")
def crosscheck_spin_cmd(
    spec_file: Path | None,
    props_file: Path | None,
    variants: tuple[str, ...],
    names: tuple[str, ...],
    suite: bool,
    params: tuple[str, ...],
    as_json: bool,
    workers_n: int | None,
    scheduler: str | None,
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

    Each product (a variant under a configuration) is one job: they run here one
    after the other by default -- SPIN's runs are processes of their own, two at a
    time, so the cores are busy already -- or on --workers N local processes or the
    workers of a Dask --scheduler (which need SPIN and a C compiler too).  Progress
    shows the products done and queued.

    The whole suite on every variant takes SPIN about 15 minutes (`tcpcheck crosscheck
    spin` alone); the examples take seconds.

    \b
    Examples:
      tcpcheck crosscheck spin --property no-deadlock --variant base --variant linux
      tcpcheck crosscheck spin --ordering fifo --loss 1 --variant no-time-wait \\
          --property closing-reachable
      tcpcheck crosscheck spin --suite --property graceful-close --json
    """
    from ..export.crosscheck import crosscheck, crosscheck_suite
    from ..export.spin import missing_tools
    from ..jobs import open_pool
    from ..suite import suite_variants

    missing = missing_tools()
    if missing:
        raise UsageError(
            f"the cross-check needs {' and '.join(missing)}: install them "
            "(Debian: apt-get install spin gcc tcc; bash setup.sh does it as root)"
        )
    chosen = pick_variants(spec_file, variants) or list(suite_variants(spec_file))
    props = pick_properties(load_suite(spec_file, props_file), names)
    config = product_config(kw)
    if suite and (params or config != ProductConfig()):
        raise UsageError(
            "--suite checks each property under its own configuration: drop the "
            "product options and --param, or drop --suite"
        )
    if not suite:
        load(spec_file, None, params)  # names the file and entry of a bad --param
    where = workers(workers_n, scheduler, default=1)
    # Products are long jobs (seconds to minutes): a local cluster starts at once.
    with live(not as_json) as say, open_pool(where, warmup=0.0) as pool:
        show = say if say is not None else every(30.0)

        def progress(done: int, total: int, row: CrossCheck) -> None:
            mark = "agree" if row.agree else "DIFFER"
            show(
                f"cross-checking with SPIN: {done}/{total} products done "
                f"({row.variant or 'base'}: {mark}), {total - done} queued"
            )

        if suite:
            rows = crosscheck_suite(props, chosen, spec_file, pool=pool, progress=progress)
        else:
            given = parse_params(params)
            rows = crosscheck(props, chosen, config, spec_file, given, pool=pool, progress=progress)
    agree = all(r.agree for r in rows)
    if as_json:
        doc = {"configurations": [r.to_json() for r in rows], "agree": agree}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print_crosscheck(rows)
        if quiet():
            for r in rows:
                for c in r.verdicts:
                    if c.tcpcheck != c.spin or c.trail is not None:
                        conclude(
                            f"{r.variant or 'base'}: {c.prop}: tcpcheck {c.tcpcheck}, SPIN {c.spin}"
                        )
        differ = sum(not r.agree for r in rows)
        conclude(f"{len(rows)} configurations cross-checked with SPIN, {differ} disagree")
    if not agree:
        sys.exit(1)


def print_crosscheck(rows: Sequence[CrossCheck]) -> None:
    """One line per row: both tools' counts, verdicts and times; then what differs."""
    from ..export.crosscheck import number

    out = out_console()
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


@crosscheck_group.command("storm")
@suite_options("Cross-check")
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME",
    help="Only this variant ('base' for the spec itself); repeatable. Default: all.",
)
@click.option(
    "--property",
    "names",
    multiple=True,
    metavar="NAME",
    help="Only this probabilistic property; repeatable. Default: every one of the suite.",
)
@output_options()
def crosscheck_storm_cmd(
    spec_file: Path | None,
    props_file: Path | None,
    variants: tuple[str, ...],
    names: tuple[str, ...],
    as_json: bool,
) -> None:
    """tcpcheck's probabilities against Storm's, on every probabilistic property.

    tcpcheck solves its own MDP of the explored graph (tcpcheck prob); Storm builds
    its MDP from the PRISM model (tcpcheck export prism) and solves it in exact
    arithmetic.  A property read in integer time (a delay) has no PRISM model: Storm
    solves tcpcheck's MDP, written out state by state (a check of the probabilities
    and the solvers, not of the exploration; the table says which).  The least and
    the most probability of every outcome a property asks about must be equal (within
    1e-9 where tcpcheck's answer is numeric).  Exit 1 when a value differs.  Needs
    stormpy (bash setup.sh test installs it).

    \b
    Examples:
      tcpcheck crosscheck storm --property last-ack-give-up-rare --variant linux
      tcpcheck crosscheck storm --variant base --json
    """
    from ..export.probcheck import crosscheck_storm, storm_missing
    from ..prob.solve import Value
    from ..suite import suite_variants

    why = storm_missing()
    if why is not None:
        raise UsageError(f"the cross-check needs Storm: {why}")
    chosen = pick_variants(spec_file, variants) or list(suite_variants(spec_file))
    props = [
        p
        for p in pick_properties(load_suite(spec_file, props_file), names)
        if p.kind == "probability"
    ]
    if not props:
        raise UsageError('no probabilistic property to cross-check (kind = "probability")')
    with live(not as_json) as say:
        if say is not None:
            say(f"cross-checking {len(props)} properties on {len(chosen)} variants with Storm")
        rows = crosscheck_storm(props, chosen, spec_file)
    agree = all(r.agree for r in rows)
    if as_json:
        doc = {"rows": [r.to_json() for r in rows], "agree": agree}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        table = Table(
            "property", "variant", "loss rate", "outcome", "tcpcheck", "Storm", "Storm solved",
            "agree",
        )  # fmt: skip
        for r in rows:
            table.add_row(
                r.prop,
                r.variant or "base",
                r.rate,
                r.outcome,
                f"[{r.tcpcheck[0].text()}, {r.tcpcheck[1].text()}]",
                "[{}, {}]".format(*(Value(v, v, "exact").text() for v in r.storm)),
                "its own MDP" if r.built == "PRISM" else "tcpcheck's MDP",
                "yes" if r.agree else "NO",
            )
        out_console().print(table)
        for r in rows:
            if not r.agree:
                conclude(f"{r.prop} on {r.variant or 'base'} at {r.rate}: {r.outcome} differs")
        differ = sum(not r.agree for r in rows)
        conclude(f"{len(rows)} values cross-checked with Storm, {differ} differ")
    if not agree:
        sys.exit(1)
