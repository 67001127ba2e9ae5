"""What a probabilistic question is, the tasks it sets the solver, and its answer.

A question is one of

* ``SIDE enters STATE`` / ``SIDE leaves STATE by EVENT[, EVENT ...]`` (a move pattern,
  :mod:`checker.check.patterns`; ``timeout`` names every timer event): the probability
  of reaching such a move;
* ``SIDE leaves STATE``: how the endpoint leaves the state, the probability of each
  outcome: *by EVENT* for each event of a move leaving it (the first such move), *stays*
  (it is in the state when the run ends) and *never enters*;
* a state formula (:mod:`checker.check.formula`): the probability of reaching a state
  where it holds;
* ``expected retransmissions`` / ``expected segments``: the expected number of
  retransmissions (timer moves that resend) or of segments sent, per connection.

:func:`outcomes` gives, for a question, what the solver is asked for each outcome: the
goal branches (a gain of 1 that ends the run), the branches that end it without a gain,
the goal states and the rewards (:class:`checker.prob.solve.Task`) -- the same sets an
exporter writes as labels and rewards.  :func:`ask` solves them at each loss rate, for
the minimum and the maximum over schedulers (and ``uniform`` on request).

Examples
--------
>>> from checker import load_spec
>>> from checker.prob.mdp import build_mdp
>>> from checker.prob.rates import LossRates
>>> spec = load_spec(params={"FIN_RETRIES": 1})
>>> q = parse_question("B leaves LAST-ACK by timeout", spec)
>>> ans = ask(build_mdp(spec), q, [LossRates.parse("1/10")])
>>> row = ans.rows[0]
>>> row.outcome, row.low.method, row.low.text(), row.high.text()
('B leaves LAST-ACK by timeout', 'exact', '0', '0.035739')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..check.formula import Formula, FormulaError, node_values, parse_formula
from ..check.patterns import MovePattern, parse_move_pattern
from ..errors import UsageError, did_you_mean
from ..model.spec import Spec
from ..product.exploration import Exploration
from .clocks import ClockedGraph
from .mdp import MDP
from .rates import LossRates
from .solve import EPS, Task, Value, solve

__all__ = [
    "EXPECTED",
    "Answer",
    "Outcome",
    "Question",
    "Row",
    "ask",
    "assumptions",
    "counts",
    "outcomes",
    "parse_question",
]

#: The expected totals a question may ask for.
EXPECTED = ("retransmissions", "segments")

_BY = re.compile(
    r"^\s*(?P<side>[AB])\s+leaves\s+(?P<state>[A-Z][A-Z0-9-]*)\s+by\s+(?P<events>.+?)\s*$"
)
_LEAVES = re.compile(r"^\s*(?P<side>[AB])\s+leaves\s+(?P<state>[A-Z][A-Z0-9-]*)\s*$")
_EXPECTED = re.compile(r"^\s*expected\s+(?P<what>\S+)\s*$")


@dataclass(frozen=True)
class Question:
    """A parsed question (see the module docstring); ``kind`` is ``reach``, ``leaves``,
    ``formula`` or ``expected``."""

    text: str
    kind: str
    pattern: MovePattern | None = None
    #: ``leaves ... by``: the events (``timeout``: any timer event).
    events: tuple[str, ...] | None = None
    formula: Formula | None = None
    expected: str | None = None


def parse_question(text: str, spec: Spec, *, timed: bool = False) -> Question:
    """Read a question; unknown states and events are a :class:`UsageError`.  ``timed``:
    the MDP has clocks and incarnations (:mod:`checker.prob.clocks` with reuse), so
    ``SIDE accepts an old segment`` can be asked.

    Examples
    --------
    >>> from checker import load_spec
    >>> q = parse_question("B leaves LAST-ACK by timeout", load_spec())
    >>> q.kind, q.events
    ('reach', ('timeout',))
    >>> parse_question("expected segments", load_spec()).kind
    'expected'
    """
    states = list(spec.state_names)
    events = [e.name for e in spec.events]
    m = _EXPECTED.match(text)
    if m is not None:
        if m["what"] not in EXPECTED:
            hint = did_you_mean(m["what"], EXPECTED)
            raise UsageError(
                f"question {text!r}: expected {m['what']!r}? one of {', '.join(EXPECTED)}"
                + (f" ({hint})" if hint else "")
            )
        return Question(text.strip(), "expected", expected=m["what"])
    m = _BY.match(text)
    try:
        if m is not None:
            evs = tuple(e.strip() for e in m["events"].split(","))
            for ev in evs:
                if ev != "timeout" and ev not in events:
                    hint = did_you_mean(ev, events)
                    raise ValueError(f"unknown event '{ev}'" + (f" ({hint})" if hint else ""))
            pattern = parse_move_pattern(f"{m['side']} leaves {m['state']}", states, events)
            return Question(text.strip(), "reach", pattern, evs)
        if "only by" in text:
            raise ValueError(
                "'only by' claims a property; ask 'SIDE leaves STATE' for how it is left"
            )
        if _LEAVES.match(text) is not None:
            return Question(text.strip(), "leaves", parse_move_pattern(text, states, events))
        if re.match(r"^\s*(A|B|an endpoint)\s+(enters|accepts)\s", text):
            pattern = parse_move_pattern(text, states, events)
            if pattern.verb == "accepts" and not timed:
                raise ValueError(
                    "old segments need time and a reused connection: give --delay and --reuse"
                )
            return Question(text.strip(), "reach", pattern)
    except ValueError as exc:
        raise UsageError(f"question {text!r}: {exc}") from None
    try:
        formula = parse_formula(text, states)
    except FormulaError as exc:
        raise UsageError(
            f"question {text!r}: {exc} (write 'B leaves LAST-ACK', 'B leaves LAST-ACK by "
            "timeout', 'A enters TIME-WAIT', a state formula, or 'expected retransmissions')"
        ) from None
    return Question(text.strip(), "formula", formula=formula)


@dataclass(frozen=True)
class Outcome:
    """One thing whose probability (or expectation) is asked, as a solver task."""

    name: str
    task: Task


def _sides(mdp: MDP, side: str) -> list[str]:
    """Each product node's control state of ``side`` (reachable nodes only)."""
    ex = mdp.exploration
    out = [""] * mdp.states
    for s in range(mdp.states):
        if mdp.reachable[s]:
            out[s] = ex.state(s).a.state if side == "A" else ex.state(s).b.state
    return out


def _reachable_branches(mdp: MDP) -> list[tuple[int, int]]:
    """Every branch of a reachable state, with that state: ``(branch, source)``."""
    out = []
    for s in range(mdp.states):
        if mdp.reachable[s]:
            lo, hi = mdp.action_start[s], mdp.action_start[s + 1]
            out += [(b, s) for b in range(mdp.branch_start[lo], mdp.branch_start[hi])]
    return out


def outcomes(mdp: MDP, question: Question) -> list[Outcome]:
    """The solver tasks of ``question`` on ``mdp`` (see the module docstring).  Only the
    branches of reachable states are read: the others are never taken."""
    n = mdp.branches
    branches = _reachable_branches(mdp)
    labels = {b: mdp.label(b) for b, _ in branches}
    if question.kind == "expected":
        gain = [0] * n
        for b, lab in labels.items():
            if question.expected == "retransmissions":
                gain[b] = int(lab.kind == "timeout" and bool(lab.sent))
            elif lab.actor in ("A", "B"):
                gain[b] = len(lab.sent)
        return [Outcome(question.text, Task(gain, [True] * n, {}, bounded=False))]
    if question.kind == "formula":
        assert question.formula is not None
        ex = mdp.exploration
        if isinstance(ex, Exploration):
            holds: Sequence[int] = node_values(ex, question.formula)
        else:
            holds = [
                int(bool(mdp.reachable[s]) and question.formula(ex.state(s)))
                for s in range(mdp.states)
            ]
        goal = {
            s: 1 for s in range(mdp.states) if mdp.reachable[s] and holds[s] and not _late(mdp, s)
        }
        return [Outcome(question.text, Task([0] * n, [True] * n, goal))]
    pattern = question.pattern
    assert pattern is not None
    side = pattern.side
    local = _sides(mdp, side)
    dst = mdp.exploration.dst
    targets = {b: dst[mdp.branch_edge[b]] for b, _ in branches}
    if pattern.verb == "accepts":
        moves = _old_receipts(mdp, branches, side)
    else:
        moves = [
            b
            for b, s in branches
            if labels[b].actor == side and pattern.matches(side, local[s], local[targets[b]])
        ]
    # With a horizon (the clocked reading), a move after it counts as "after T".
    late = {b for b, s in branches if _late(mdp, s)}
    if question.kind == "reach":
        wanted = [
            b
            for b in moves
            if counts(question.events, labels[b].event, labels[b].kind == "timeout")
            and b not in late
        ]
        return [_reach(question.text, n, wanted, moves)]
    # leaves: the first move out of the state, by event; or none.
    by_event: dict[str, list[int]] = {}
    for b in moves:
        by_event.setdefault(labels[b].event, [])
        if b not in late:
            by_event[labels[b].event].append(b)
    out = [
        _reach(f"by {event}", n, bs, moves)
        for event, bs in sorted(by_event.items(), key=lambda kv: kv[0])
    ]
    horizon = _horizon(mdp)
    if horizon is not None:
        out.append(_reach(f"after {horizon}", n, [b for b in moves if b in late], moves))
    terminal = [
        s
        for s in range(mdp.states)
        if mdp.reachable[s] and mdp.action_start[s] == mdp.action_start[s + 1]
    ]
    stays = {s: 1 for s in terminal if local[s] == pattern.state}
    out.append(Outcome("stays", _stop(n, moves, stays)))
    entering = [
        b
        for b, s in branches
        if labels[b].actor == side
        and local[s] != pattern.state
        and local[targets[b]] == pattern.state
    ]
    if local[0] == pattern.state:
        never: dict[int, int] = {0: 0}
    else:
        never = {s: 1 for s in terminal}
    out.append(Outcome("never enters", _stop(n, entering, never)))
    return out


def _old_receipts(mdp: MDP, branches: Sequence[tuple[int, int]], side: str) -> list[int]:
    """The branches where ``side`` (``*``: either) takes another incarnation's segment
    for its own: it receives it and its local state changes."""
    ex = mdp.exploration
    if not isinstance(ex, ClockedGraph):
        return []
    out = []
    for b, s in branches:
        actor = mdp.label(b).actor
        if not ex.old[mdp.branch_edge[b]] or side not in ("*", actor):
            continue
        before = ex.cstates[s].local(actor)
        after = ex.cstates[ex.dst[mdp.branch_edge[b]]].local(actor)
        if before != after:
            out.append(b)
    return out


def _late(mdp: MDP, s: int) -> bool:
    """Is ``s`` past the clocked reading's horizon (never, without one)?"""
    ex = mdp.exploration
    return isinstance(ex, ClockedGraph) and ex.late(s)


def _horizon(mdp: MDP) -> str | None:
    ex = mdp.exploration
    if isinstance(ex, ClockedGraph) and ex.timing.horizon is not None:
        return f"{float(ex.timing.horizon):g} s"
    return None


def counts(asked: Sequence[str] | None, event: str, timer: bool) -> bool:
    """Does a ``... by EVENTS`` question count a move with ``event`` (``timer``: a timer's
    expiry)?  ``timeout`` names every timer's; no list counts every move.

    >>> counts(("timeout",), "timeout RETX", True), counts(("rcv RST",), "rcv FIN", False)
    (True, False)
    """
    return asked is None or event in asked or ("timeout" in asked and timer)


def _reach(name: str, n: int, goals: Sequence[int], stops: Sequence[int]) -> Outcome:
    """Reach a move of ``goals`` before any other move of ``stops``."""
    gain = [0] * n
    go_on = [True] * n
    for b in stops:
        go_on[b] = False
    for b in goals:
        gain[b] = 1
    return Outcome(name, Task(gain, go_on, {}))


def _stop(n: int, stops: Sequence[int], goal_states: dict[int, int]) -> Task:
    go_on = [True] * n
    for b in stops:
        go_on[b] = False
    return Task([0] * n, go_on, goal_states)


@dataclass(frozen=True)
class Row:
    """One outcome at one rate: the minimum and maximum over schedulers (and the
    randomized ``uniform`` scheduler's, when asked)."""

    outcome: str
    rates: LossRates
    low: Value
    high: Value
    uniform: Value | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "outcome": self.outcome,
            "loss_rate": str(self.rates),
            "min": self.low.to_json(),
            "max": self.high.to_json(),
        }
        if self.uniform is not None:
            out["uniform"] = self.uniform.to_json()
        return out


@dataclass(frozen=True)
class Answer:
    """The answer to one question: a :class:`Row` per loss rate and outcome, the
    assumptions it holds under, the MDP's size.

    Examples
    --------
    >>> from checker import load_spec
    >>> from checker.prob.mdp import build_mdp
    >>> spec = load_spec(params={"FIN_RETRIES": 1})
    >>> answer = ask(build_mdp(spec), parse_question("A enters TIME-WAIT", spec),
    ...              [LossRates.parse("0.2")])
    >>> answer.method, answer.to_json()["rows"][0]["max"]["method"]
    ('exact', 'exact')
    """

    question: str
    rows: list[Row]
    assumptions: list[str]
    mdp: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        """``exact`` if every value is, ``unknown`` if some is, else ``numeric``."""
        methods = {v.method for r in self.rows for v in (r.low, r.high, r.uniform) if v}
        return "unknown" if "unknown" in methods else "numeric" if "numeric" in methods else "exact"

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "method": self.method,
            "assumptions": self.assumptions,
            "mdp": self.mdp,
            "rows": [r.to_json() for r in self.rows],
        }


def assumptions(mdp: MDP, eps: float = EPS) -> list[str]:
    """What an answer holds under, in words."""
    ex = mdp.exploration
    spec = ex.spec
    counts = [f"{p.name} = {p.value:g}" for p in spec.parameters if p.unit == "count"]
    out = [
        spec.heading + (f"; {', '.join(counts)}" if counts else ""),
        ex.config.describe().replace("loss any", "each segment lost at its loss rate"),
    ]
    if isinstance(ex, ClockedGraph):
        out += ex.describe()
        out.append("min and max over every scheduler (the order of simultaneous moves)")
    else:
        out += [
            "timers wait for the network: a timer expires only when no segment can be delivered"
            if mdp.timers == "wait"
            else "timers may expire at any moment (a scheduler may fire a retransmission early)",
            "min and max over every scheduler (which enabled move happens next)",
        ]
    if not mdp.complete:
        out.append(f"the exploration stopped ({ex.stopped()}): values unknown")
    elif mdp.acyclic:
        out.append("exact: the MDP is acyclic, solved by backward induction in fractions")
    else:
        out.append(f"numeric: the MDP has cycles, solved by interval iteration to ± {eps:g}")
    return out


def ask(
    mdp: MDP,
    question: Question,
    rates: Sequence[LossRates],
    *,
    uniform: bool = False,
    eps: float = EPS,
    max_seconds: float | None = None,
) -> Answer:
    """Solve ``question`` on ``mdp`` at each of ``rates``: a row per rate and outcome.

    Examples
    --------
    >>> from checker import load_spec
    >>> from checker.prob.mdp import build_mdp
    >>> spec = load_spec(params={"FIN_RETRIES": 1})
    >>> answer = ask(build_mdp(spec), parse_question("B leaves LAST-ACK", spec),
    ...              [LossRates.parse("0.01")])
    >>> [(r.outcome, r.high.text(3)) for r in answer.rows][:2]
    [('by rcv ACK of FIN', '1 - 0.000303'), ('by rcv RST', '0.000296')]
    """
    tasks = outcomes(mdp, question)
    rows = []
    for r in rates:
        for o in tasks:

            def value(opt: str, task: Task = o.task, r: LossRates = r) -> Value:
                return solve(mdp, task, r, opt, eps=eps, max_seconds=max_seconds)

            rows.append(
                Row(o.name, r, value("min"), value("max"), value("uniform") if uniform else None)
            )
    return Answer(question.text, rows, assumptions(mdp, eps), mdp.summary())
