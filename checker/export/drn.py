"""One question's task on tcpcheck's own MDP, in Storm's explicit format (DRN).

The PRISM export (:mod:`checker.export.prism`) lets Storm build its own state space from
the product's rules, which checks the explorer and the solvers together; it writes the
untimed reading only.  The clocked reading (:mod:`checker.prob.clocks`: countdowns and
delays in the states) is written here instead, state by state, as tcpcheck explored it,
so Storm checks what remains -- the branch probabilities (losses and delays), the
question's task and the solvers (backward induction in fractions or floats, interval
iteration) -- not the exploration.

What is written, for one task (:class:`checker.prob.solve.Task`) at one loss rate:

- the states the MDP reaches, renumbered in order (the initial one is 0), then two
  sinks: ``goal`` (labelled) and ``stop``;
- a state the task values (``absorbing``) loops on itself, labelled ``goal`` when its
  value is 1; a state without actions (the run ends there) loops on itself;
- every other state has the MDP's actions in order; a branch that goes on leads to its
  target, one that stops leads to ``goal`` when it gains (a reachability: the first
  matching move) or to ``stop``.  Branches of one action with one target are summed,
  branches of probability 0 left out; probabilities are exact fractions;
- an expected total (``bounded = False``) is the reward model ``gain``: each action's
  reward is the expected gain of its branches.

Storm then answers ``Pmin``/``Pmax`` of ``F "goal"``, or ``R{"gain"}min``/``max`` of
``C`` (:func:`checker.export.storm.storm_check_drn`).

Examples
--------
>>> from checker import load_spec
>>> from checker.prob.mdp import build_mdp
>>> from checker.prob.questions import outcomes, parse_question
>>> from checker.prob.rates import LossRates
>>> spec = load_spec(params={"FIN_RETRIES": 1, "SYN_RETRIES": 1, "SYNACK_RETRIES": 1})
>>> mdp = build_mdp(spec)
>>> task = outcomes(mdp, parse_question("B leaves LAST-ACK", spec))[0].task
>>> text = drn(mdp, task, LossRates.parse("0.1"))
>>> text.splitlines()[1:3]
['@type: MDP', '@parameters']
>>> "state 0 init" in text and "goal" in text
True
"""

from __future__ import annotations

from fractions import Fraction

from ..prob.mdp import MDP
from ..prob.rates import LossRates
from ..prob.solve import Task

__all__ = ["drn"]


def _number(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def drn(mdp: MDP, task: Task, rates: LossRates, *, title: str = "tcpcheck MDP") -> str:
    """``task`` on ``mdp`` at ``rates`` as a DRN model (see the module docstring).  A
    reachability task whose gains go on (a gain counted and the run continuing) has no
    reachability reading: ValueError."""
    order = [s for s in range(mdp.states) if mdp.reachable[s]]
    index = {s: i for i, s in enumerate(order)}
    goal, stop = len(order), len(order) + 1
    prob = mdp.probabilities(rates)
    dst, edge = mdp.exploration.dst, mdp.branch_edge
    a_start, b_start = mdp.action_start, mdp.branch_start
    reward = not task.bounded
    lines: list[str] = []
    choices = 0

    def action(k: int, gain: Fraction, successors: dict[int, Fraction]) -> None:
        nonlocal choices
        choices += 1
        lines.append(f"\taction {k}" + (f" [{_number(gain)}]" if reward else ""))
        lines.extend(f"\t\t{t} : {_number(p)}" for t, p in sorted(successors.items()))

    def loop(i: int) -> None:
        action(0, Fraction(0), {i: Fraction(1)})

    zero = " [0]" if reward else ""
    for i, s in enumerate(order):
        labels = " init" if i == 0 else ""
        if s in task.absorbing:
            value = task.absorbing[s]
            if value not in (0, 1) or reward:
                raise ValueError(f"state {s}: a value of {value} is no reachability")
            lines.append(f"state {i}{zero}{labels}{' goal' if value else ''}")
            loop(i)
            continue
        lines.append(f"state {i}{zero}{labels}")
        actions = range(a_start[s], a_start[s + 1])
        if not actions:
            loop(i)
            continue
        for k, a in enumerate(actions):
            successors: dict[int, Fraction] = {}
            gained = Fraction(0)
            for b in range(b_start[a], b_start[a + 1]):
                p = prob[b]
                if not p:
                    continue
                if task.go_on[b]:
                    if task.gain[b] and not reward:
                        raise ValueError(f"branch {b} gains and goes on: no reachability")
                    t = index[dst[edge[b]]]
                else:
                    t = goal if task.gain[b] and not reward else stop
                gained += p * task.gain[b]
                successors[t] = successors.get(t, Fraction(0)) + p
            action(k, gained, successors)
    lines.append(f"state {goal}{zero} goal")
    loop(goal)
    lines.append(f"state {stop}{zero}")
    loop(stop)
    head = [
        f"// {title}",
        "@type: MDP",
        "@parameters",
        "",
        "@reward_models",
        "gain" if reward else "",
        "@nr_states",
        str(len(order) + 2),
        "@nr_choices",
        str(choices),
        "@model",
    ]
    return "\n".join(head + lines) + "\n"
