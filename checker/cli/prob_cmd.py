"""``tcpcheck prob``: how likely a move, a state or an outcome is at a loss rate."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..prob.mdp import TIMER_MODES, build_mdp
from ..prob.questions import EXPECTED, Answer, ask, parse_question
from ..prob.rates import rate_list
from ..prob.solve import EPS
from .app import cli
from .console import conclude, live, out_console
from .exits import Exit
from .options import (
    COUNT,
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
    default="wait",
    show_default=True,
    help="wait: a timer expires only when no segment can be delivered (an RTO longer "
    "than the round trip); any: whenever the spec enables it.",
)
@click.option(
    "--uniform",
    is_flag=True,
    help="Also the randomized scheduler that takes every enabled action equally likely.",
)
@click.option(
    "--eps",
    type=click.FloatRange(min=1e-15, max=0.1),
    default=EPS,
    show_default=True,
    help="Precision of numeric answers (an MDP with cycles).",
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
    timers: str,
    uniform: bool,
    eps: float,
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
    names every timer event), 'A enters TIME-WAIT', or a state formula.  Every delivery
    of a segment is lost with its class's rate; timers wait for the network; the other
    choices (which application call, which delivery, which timer) are the scheduler's.
    Answers are exact fractions where the MDP is acyclic (bounded retries) and numeric
    (± --eps) where it is not.  Exit status 0, or 3 when a bound left an answer unknown.

    \b
    Examples:
      tcpcheck prob "B leaves LAST-ACK" --param FIN_RETRIES=1 --loss-rate 0.01,0.2
      tcpcheck prob "B leaves LAST-ACK by timeout" --variant linux --loss-rate 0.05
      tcpcheck prob "A leaves SYN-SENT" --param SYN_RETRIES=1 --uniform --json
      tcpcheck prob --expected retransmissions --expected segments --loss-rate 0.1
      tcpcheck prob "B leaves LAST-ACK" --param FIN_RETRIES=inf --loss-rate 0.2 -q
    """
    spec = load(spec_file, variant, params)
    config = product_config(kw)
    rates = rate_list(loss_rates or ("0.01",))
    questions = [parse_question(question, spec)] if question else []
    questions += [parse_question(f"expected {what}", spec) for what in expected]
    if not questions:
        raise click.UsageError("name a QUESTION, or --expected retransmissions|segments")
    with live(not as_json) as say:
        if say is not None:
            say("exploring the product")
        mdp = build_mdp(spec, config, timers=timers, max_states=max_states)
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
                    "timers": timers,
                    "answers": [a.to_json() for a in answers],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        _print(answers, uniform)
    if any(a.method == "unknown" for a in answers):
        sys.exit(Exit.INCOMPLETE)


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
