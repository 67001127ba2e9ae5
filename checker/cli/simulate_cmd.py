"""``tcpcheck simulate``: random runs of the product, each charted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..check.simulate import FINAL, Run, read_formula, simulate_runs
from ..product.reference import Product
from .app import cli
from .console import conclude, live, out_console
from .options import COUNT, load, output_options, product_config, product_options, spec_options

__all__ = ["simulate_cmd"]


@cli.command("simulate")
@spec_options
@product_options
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    metavar="N",
    help="Seed of the first run (run k draws from seed + k - 1): the same seed gives the "
    "same runs.",
)
@click.option("--runs", type=COUNT, default=1, show_default=True, metavar="K", help="Runs to make.")
@click.option(
    "--max-steps",
    type=COUNT,
    default=100,
    show_default=True,
    metavar="M",
    help="End a run after M moves (truncated).",
)
@click.option(
    "--until",
    metavar="FORMULA",
    help='End a run at the first state where this state formula holds (e.g. "A = '
    'TIME-WAIT and empty").',
)
@click.option(
    "--final",
    default=FINAL,
    show_default=True,
    metavar="FORMULA",
    help="A state without moves where this holds is a normal end (final); elsewhere it is "
    "a deadlock.",
)
@click.option(
    "--chart",
    type=click.Choice(["text", "mermaid", "none"]),
    default="text",
    show_default=True,
    help="The message sequence chart printed for each run.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also write each run's chart as DIR/run-K.svg (the folder is made if needed).",
)
@output_options()
def simulate_cmd(
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    seed: int,
    runs: int,
    max_steps: int,
    until: str | None,
    final: str,
    chart: str,
    out_dir: Path | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Random runs of two endpoints joined by two channels, as SPIN's `spin -p`.

    Each run starts in the initial state and takes one of the enabled moves at a time,
    uniformly at random (the moves of `explore` and `check`, sorted first, so that a
    run depends on its seed alone), until a state without moves (final, or a
    deadlock), --max-steps (truncated) or a state where --until holds.  Each run is
    charted, then summed up in one line.

    \b
    Examples:
      tcpcheck simulate
      tcpcheck simulate --seed 7 --runs 3 --chart none
      tcpcheck simulate --until "A = TIME-WAIT" --seed 7 --chart mermaid
      tcpcheck simulate --variant linux --b-close never --max-steps 40 --json
      tcpcheck simulate --runs 2 --out runs --chart none
    """
    spec = load(spec_file, variant, params)
    config = product_config(kw)
    product = Product(spec, config)
    stop = read_formula("--until", until, product) if until is not None else None
    done = read_formula("--final", final, product)
    with live(not as_json) as say:
        if say is not None:
            say(f"simulating {runs} run(s) of at most {max_steps} steps")
        made = simulate_runs(
            product, seed=seed, runs=runs, max_steps=max_steps, until=stop, final=done
        )
    written = _write_charts(out_dir, made) if out_dir is not None else []
    if as_json:
        click.echo(
            json.dumps(
                {
                    "seed": seed,
                    "variant": spec.variant.name if spec.variant else None,
                    "config": config.to_json(),
                    "max_steps": max_steps,
                    "until": until,
                    "final_states": final,
                    "runs": [run.to_json() for run in made],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    out = out_console()
    out.print(spec.heading, markup=False)
    out.print(config.describe(), markup=False)
    for k, run in enumerate(made, 1):
        if chart != "none":
            out.print(f"\nrun {k} of {len(made)} (seed {run.seed})", markup=False)
            out.print(_chart(run, chart), markup=False)
        conclude(f"run {k} (seed {run.seed}): {run.summary()}")
    for path in written:
        conclude(f"wrote {path}")


def _chart(run: Run, chart: str) -> str:
    """The run's chart as ``--chart`` names it."""
    if chart == "mermaid":
        from ..render.mermaid_chart import render_mermaid

        return render_mermaid(run.trace).rstrip("\n")
    from ..render.text_chart import render_text

    return render_text(run.trace)


def _write_charts(out_dir: Path, runs: list[Run]) -> list[Path]:
    """Each run's SVG chart as ``out_dir/run-K.svg``: names made here, never taken from
    the input, so nothing is written outside ``out_dir``."""
    from ..render.svg_chart import chart_svg

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for k, run in enumerate(runs, 1):
        path = out_dir / f"run-{k}.svg"
        title = f"run {k} (seed {run.seed}): {run.summary()}"
        path.write_text(chart_svg(run.trace, title=title), encoding="utf-8")
        written.append(path)
    return written
