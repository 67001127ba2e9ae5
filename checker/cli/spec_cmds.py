"""``tcpcheck spec`` and ``tcpcheck variants``: the endpoint spec and its overlays."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..model.load import list_variants
from .app import cli
from .console import conclude, out_console
from .options import load, output_options, spec_file_option, spec_options

__all__ = ["spec_cmd", "variants_cmd"]


@cli.command("spec")
@spec_options
@output_options()
def spec_cmd(
    spec_file: Path | None, variant: str | None, params: tuple[str, ...], as_json: bool
) -> None:
    """Print the endpoint spec: states, transitions with their RFC references, timers.

    \b
    Example:
      tcpcheck spec --variant linux --json
    """
    spec = load(spec_file, variant, params)
    if as_json:
        click.echo(json.dumps(spec.to_json(), indent=2, ensure_ascii=False))
        return
    out = out_console()
    title = spec.heading
    out.print(f"[bold]{escape(title)}[/bold]")
    states = Table("state", "description", title="States", title_justify="left")
    for s in spec.states:
        states.add_row(escape(s.name), escape(s.description))
    out.print(states)
    table = Table(
        "from", "event", "guard", "to", "send", "ref", title="Transitions", title_justify="left"
    )
    for t in spec.transitions:
        # The guard tells apart rules of one state and event (SYN-RECEIVED's rcv RST goes
        # back to LISTEN after a passive open, to CLOSED after an active one).
        to = "—" if t.target == t.source else t.target
        if t.error:
            to = f"{to} (error: {t.error})"
        cells = (t.source, t.event, str(t.guard or ""), to, ", ".join(t.send), t.ref)
        table.add_row(*(escape(c) for c in cells))  # a guard's [..] is text, not markup
    out.print(table)
    timers = Table(
        "timer", "runs in", "duration", "untimed", "ref", title="Timers", title_justify="left"
    )
    for tm in spec.timers:
        row = (tm.name, ", ".join(tm.states), tm.duration_text, tm.untimed, tm.ref)
        timers.add_row(*(escape(c) for c in row))
    out.print(timers)
    conclude(
        f"{title}: {len(spec.states)} states, {len(spec.transitions)} transitions, "
        f"{len(spec.timers)} timers"
    )


@cli.command("variants")
@spec_file_option("List the variants beside this spec instead.")
@output_options()
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
    out_console().print(table)
    conclude(f"{len(found)} variants: {', '.join(v.name for v in found)}")
