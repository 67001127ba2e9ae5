"""``tcpcheck prob``: how likely a move, a state or an outcome is at a loss rate."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..model.spec import Spec
from ..prob.clocks import ClockedGraph, build_reading
from ..prob.mdp import MDP, TIMER_MODES
from ..prob.questions import EXPECTED, Answer, Question, ask, parse_question
from ..prob.rates import LossRates, rate_list
from ..prob.solve import EPS
from ..product.config import ProductConfig
from ..render.prob_plot import Curve, prob_plot
from ..render.region_plot import plot_format
from ..suite import suite_variants
from .app import cli
from .console import conclude, live, out_console
from .exits import Exit
from .options import (
    COUNT,
    finite,
    load,
    output_options,
    product_config,
    product_options,
    seconds_limit,
    spec_options,
)

__all__ = ["prob_cmd"]


@cli.command("prob")
@click.argument("question", required=False)
@spec_options
@product_options
@click.option(
    "--loss-rate",
    "loss_rates",
    multiple=True,
    metavar="RATES",
    help="Loss probabilities: 0.01,0.05,0.2 (one answer per rate), or one rate by loss "
    "class: A->B=0.01,B->A=0.05 or 0.01,FIN+ACK=0.2 (repeat the option for more).  "
    "[default: 0.01]",
)
@click.option(
    "--expected",
    type=click.Choice(EXPECTED),
    multiple=True,
    help="Also the expected number of retransmissions or of segments sent per connection.",
)
@click.option(
    "--scheduler-timers",
    "timers",
    type=click.Choice(TIMER_MODES),
    help="wait (the default): a timer expires only when no segment can be delivered (an "
    "RTO longer than the round trip); any: whenever the spec enables it.",
)
@click.option(
    "--delay",
    metavar="DELAYS",
    help="Read time in integer units (digital clocks): every segment spends DELAYS in "
    "flight -- seconds or a parameter (0.001, MSL), uniform:N (MSL*i/N, i = 1..N, equally "
    "likely) or D=P,D=P...; applications act at once, timers fire when due.",
)
@click.option(
    "--within",
    type=click.FloatRange(min=0, min_open=True),
    callback=finite,
    metavar="SECONDS",
    help="With --delay: count a move only if it happens within SECONDS of the start (the "
    "rest is 'after SECONDS').",
)
@click.option(
    "--reuse",
    is_flag=True,
    help="With --delay: an endpoint whose connection ended in CLOSED opens again on the "
    "same ports (for 'A accepts an old segment').",
)
@click.option(
    "--uniform",
    is_flag=True,
    help="Also the randomized scheduler that takes every enabled action equally likely.",
)
@click.option(
    "--eps",
    type=click.FloatRange(min=1e-15, max=0.1),
    callback=finite,
    default=EPS,
    show_default=True,
    help="Precision of numeric answers (an MDP with cycles).",
)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also draw the probability against the loss rate for the base spec and every "
    "bundled variant (min and max; .svg, .pdf or .png): a question with one outcome, "
    "at two or more rates.",
)
@click.option("--max-states", type=COUNT, metavar="N", help="Bound the exploration (unknown).")
@click.option(
    "--max-seconds",
    type=float,
    callback=seconds_limit,
    metavar="S",
    help="Bound each numeric solution (unknown when it has not converged).",
)
@output_options()
def prob_cmd(
    question: str | None,
    spec_file: Path | None,
    variant: str | None,
    params: tuple[str, ...],
    loss_rates: tuple[str, ...],
    expected: tuple[str, ...],
    timers: str | None,
    delay: str | None,
    within: float | None,
    reuse: bool,
    uniform: bool,
    eps: float,
    plot_file: Path | None,
    max_states: int | None,
    max_seconds: float | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """The least and the most probability, over every scheduler, of a move, a state or
    each way an endpoint leaves a state, when the network loses each segment with a
    loss rate.

    QUESTION is 'B leaves LAST-ACK' (the probability of each way out: by each event, or
    staying, or never entering), 'B leaves LAST-ACK by timeout' (one way; 'timeout'
    names every timer event), 'A enters TIME-WAIT', or a state formula; with --delay and
    --reuse also 'an endpoint accepts an old segment'.  Every delivery of a segment is
    lost with its class's rate; timers wait for the network; the other choices (which
    application call, which delivery, which timer) are the scheduler's.  With --delay,
    time in integer units instead (digital clocks): segments take their drawn delay,
    timers fire when due, applications act at once, and --within T counts only what
    happens by T.  Answers are exact fractions where the MDP is acyclic (bounded retries)
    and small, numeric (± --eps, or the rounding bound of an induction in floats) where
    not.  Exit status 0, or 3 when a bound left an answer unknown.

    \b
    Examples:
      tcpcheck prob "B leaves LAST-ACK" --param FIN_RETRIES=1 --loss-rate 0.01,0.2
      tcpcheck prob "B leaves LAST-ACK by timeout" --variant linux --loss-rate 0.05
      tcpcheck prob "A leaves SYN-SENT" --param SYN_RETRIES=1 --uniform --json
      tcpcheck prob --expected retransmissions --expected segments --loss-rate 0.1
      tcpcheck prob "B leaves LAST-ACK" --param FIN_RETRIES=inf --loss-rate 0.2 -q
      tcpcheck prob "B leaves LAST-ACK by timeout" --param FIN_RETRIES=2 \\
          --loss-rate 0.01,0.05,0.1,0.2 --plot give-up.svg
      tcpcheck prob "B leaves LAST-ACK" --delay 0.01 --within 1.5 --loss-rate 0.1 \\
          --capacity 4 --ordering fifo
      tcpcheck prob "an endpoint accepts an old segment" --delay uniform:2 --reuse \\
          --param MSL=1 --param RTO=3 --param TIME_WAIT=1 --param SYN_RETRIES=0 \\
          --param SYNACK_RETRIES=0 --param FIN_RETRIES=2 --capacity 4 \\
          --loss-rate 0.1,SYN=0,SYN+ACK=0
    """
    spec = load(spec_file, variant, params)
    config = product_config(kw)
    rates = rate_list(loss_rates or ("0.01",))
    if delay is None and (within is not None or reuse):
        raise UsageError("--within and --reuse read time: give --delay too (e.g. --delay 0.001)")
    if delay is not None and timers is not None:
        raise UsageError(
            "--scheduler-timers and --delay: with digital clocks time decides when a timer "
            "fires; drop --scheduler-timers"
        )
    reading = Reading(timers or "wait", delay, within, reuse)
    questions = [parse_question(question, spec, timed=reuse)] if question else []
    questions += [parse_question(f"expected {what}", spec) for what in expected]
    if not questions:
        raise click.UsageError("name a QUESTION, or --expected retransmissions|segments")
    if plot_file is not None:
        _check_plot(plot_file, questions, rates)
    with live(not as_json) as say:
        if say is not None:
            say("exploring the product")
        mdp = reading.mdp(spec, config, max_states=max_states)
        for r in rates:
            r.check_classes(mdp.classes)
        answers = []
        for q in questions:
            if say is not None:
                say(f"solving {q.text}")
            answers.append(ask(mdp, q, rates, uniform=uniform, eps=eps, max_seconds=max_seconds))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "variant": spec.variant.name if spec.variant else None,
                    "config": config.to_json(),
                    "timers": mdp.timers,
                    "clocks": reading.to_json(mdp),
                    "answers": [a.to_json() for a in answers],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        _print(answers, uniform)
    if plot_file is not None:
        curves = _curves(spec_file, params, config, reading, questions[0], rates, eps)
        title = f"P({questions[0].text}), {reading.text()}"
        plot_file.write_bytes(prob_plot(title, curves, plot_format(plot_file)))
        conclude(f"wrote {plot_file}")
    if any(a.method == "unknown" for a in answers):
        sys.exit(Exit.INCOMPLETE)


@dataclass(frozen=True)
class Reading:
    """How the product is read: untimed (``timers``) or with digital clocks (``delay``)."""

    timers: str = "wait"
    delay: str | None = None
    within: float | None = None
    reuse: bool = False

    def mdp(self, spec: Spec, config: ProductConfig, *, max_states: int | None = None) -> MDP:
        return build_reading(
            spec,
            config,
            timers=self.timers,
            delay=self.delay,
            within=self.within,
            reuse=self.reuse,
            max_states=max_states,
        )

    def text(self) -> str:
        if self.delay is not None:
            return f"digital clocks, delay {self.delay}"
        return "timers wait for the network" if self.timers == "wait" else "timers at any moment"

    def to_json(self, mdp: MDP) -> dict[str, Any] | None:
        graph = mdp.exploration
        if not isinstance(graph, ClockedGraph):
            return None
        return {
            "tick": str(graph.tick),
            "delays": [[str(d), str(p)] for d, p in graph.timing.delays.choices],
            "within": self.within,
            "reuse": self.reuse,
        }


def _check_plot(path: Path, questions: list[Question], rates: list[LossRates]) -> None:
    """Refuse a picture that could not be drawn before any work is done."""
    plot_format(path)
    if not path.resolve().parent.is_dir():
        raise UsageError(f"--plot {path}: no folder {path.parent} to write it in")
    if len(questions) != 1 or questions[0].kind == "leaves":
        raise UsageError(
            "--plot draws one probability: ask for one outcome, e.g. 'B leaves LAST-ACK by "
            "timeout', without --expected"
        )
    if len(rates) < 2 or any(r.overrides() for r in rates):
        raise UsageError("--plot needs two or more plain loss rates, e.g. --loss-rate 0.01,0.1")


def _curves(
    spec_file: Path | None,
    params: tuple[str, ...],
    config: ProductConfig,
    reading: Reading,
    question: Question,
    rates: list[LossRates],
    eps: float,
) -> list[Curve]:
    """The question's min and max at each rate on the base spec and every variant."""
    curves = []
    for variant in suite_variants(spec_file):
        spec = load(spec_file, variant or "base", params)
        mdp = reading.mdp(spec, config)
        rows = ask(
            mdp, parse_question(question.text, spec, timed=reading.reuse), rates, eps=eps
        ).rows
        curves.append(
            Curve(
                variant or "base",
                tuple(float(r.default) for r in rates),
                tuple(float(r.low.value) for r in rows),
                tuple(float(r.high.value) for r in rows),
            )
        )
    return curves


def _print(answers: list[Answer], uniform: bool) -> None:
    """Each answer's assumptions (left out by -q), then its table (the conclusion)."""
    out = out_console()
    for answer in answers:
        out.print("", markup=False)
        for line in answer.assumptions:
            out.print(f"  {line}", markup=False)
        head = ["loss rate", "outcome", "min", "max"] + (["uniform"] if uniform else [])
        rows = [
            [str(r.rates), r.outcome, r.low.text(), r.high.text()]
            + ([r.uniform.text()] if r.uniform is not None else [])
            for r in answer.rows
        ]
        widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
        conclude(f"{answer.question} ({answer.method})")
        for cells in [head, *rows]:
            conclude("  ".join(x.ljust(w) for x, w in zip(cells, widths, strict=True)).rstrip())
