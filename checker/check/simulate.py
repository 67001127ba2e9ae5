"""Random simulation: runs of the product, one move at a time, chosen by a seeded RNG.

As in SPIN's random simulation (``spin -p``) or TLC's simulation mode, a run starts in
the initial state and takes, at each step, one of the moves enabled there, uniformly at
random.  It ends

* ``until``: at the first state where the ``until`` formula holds (the initial state
  too);
* ``final``: at a state without moves where ``final`` holds (by default the ends
  ``no-deadlock`` allows: A CLOSED, B CLOSED or LISTEN);
* ``deadlock``: at any other state without moves;
* ``max-steps``: after ``max_steps`` moves (the run is truncated).

The moves are those of the product (:meth:`Product.successors
<checker.product.reference.Product.successors>`: the same rules the explorer applies,
edge for edge, which the test suite checks), computed as the run goes, so a run costs
its length and never the whole graph.  They are sorted first -- by their text, then by
their full value -- so that a run depends on its seed alone, never on the hash seed or
on the order moves are generated in.  Run ``k`` (from 0) of a simulation seeded ``s``
draws from ``random.Random(s + k)``.

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> from checker.product.reference import Product
>>> product = Product(load_spec(), ProductConfig())
>>> run = simulate(product, seed=2, max_steps=100)
>>> run.ended, len(run.trace.steps), run.end.describe()
('final', 32, 'A=CLOSED B=CLOSED A->B=[-] B->A=[-]')
>>> [step.label.text() for step in run.trace.steps[:4]]
['A: active OPEN / snd SYN', 'A: timeout RETX / snd SYN', 'B: passive OPEN', 'net: lose SYN A->B']
>>> simulate(product, seed=2, max_steps=100) == run  # the seed decides the run
True
>>> held = simulate(product, seed=2, max_steps=100, until=parse_formula("B = ESTABLISHED"))
>>> held.ended, held.end.b.state
('until', 'ESTABLISHED')
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..product.reference import Product
from ..product.semantics import Label, PState
from .formula import Formula, FormulaError, parse_formula
from .traces import Trace, TraceStep

__all__ = ["ENDINGS", "FINAL", "Run", "read_formula", "simulate", "simulate_runs"]

#: How a run ends (see the module docstring).
ENDINGS = ("deadlock", "final", "max-steps", "until")
#: The states a run may stop in as a normal end: those of the suite's ``no-deadlock``.
FINAL = "A = CLOSED and B in (CLOSED, LISTEN)"


@dataclass(frozen=True)
class Run:
    """One simulated run: its seed, its trace, how it ended (:data:`ENDINGS`) and, when a
    full channel is what stopped it, the moves that wait for room."""

    seed: int
    trace: Trace
    ended: str
    waiting: tuple[Label, ...] = ()

    @property
    def end(self) -> PState:
        """The state the run ended in."""
        return self.trace.steps[-1].state if self.trace.steps else self.trace.initial

    def summary(self) -> str:
        """One line: its length, how it ended and where.

        >>> from checker.model.load import load_spec
        >>> from checker.product.config import ProductConfig
        >>> product = Product(load_spec(), ProductConfig())
        >>> simulate(product, seed=1, max_steps=3).summary()
        '3 steps, truncated at --max-steps; A=SYN-SENT B=CLOSED A->B=[SYN] B->A=[RST+ACK]'
        """
        n = len(self.trace.steps)
        how = {
            "deadlock": "deadlock: no move",
            "final": "final: no move",
            "max-steps": "truncated at --max-steps",
            "until": "stopped: --until holds",
        }[self.ended]
        if self.waiting:
            how += " (a full channel blocks " + "; ".join(w.text() for w in self.waiting) + ")"
        return f"{n} step{'s' * (n != 1)}, {how}; {self.end.describe()}"

    def to_json(self) -> dict[str, Any]:
        end = self.end
        return {
            "seed": self.seed,
            "steps": [s.label.text() for s in self.trace.steps],
            "ended": self.ended,
            "final": {
                "A": end.a.state,
                "B": end.b.state,
                "in_flight": {
                    "A->B": [s.describe() for s in end.ab],
                    "B->A": [s.describe() for s in end.ba],
                },
            },
            "waiting_for_room": [w.text() for w in self.waiting],
        }


def read_formula(option: str, text: str, product: Product) -> Formula:
    """``text`` as a state formula over ``product``'s spec, or a usage error naming
    ``option`` and the column at fault."""
    try:
        return parse_formula(text, [s.name for s in product.spec.states])
    except FormulaError as exc:
        raise UsageError(f"{option} {text!r}: {exc}") from None


def _moves(product: Product, state: PState) -> list[tuple[Label, PState]]:
    """The moves from ``state`` in a stable order: by text, then by full value."""
    return sorted(product.successors(state), key=lambda m: (m[0].text(), repr(m[0]), repr(m[1])))


def simulate(
    product: Product,
    *,
    seed: int,
    max_steps: int,
    until: Formula | None = None,
    final: Formula | None = None,
) -> Run:
    """One random run of ``product`` drawn with ``random.Random(seed)`` (see the module
    docstring); ``final`` defaults to :data:`FINAL`."""
    if max_steps < 1:
        raise UsageError(f"max-steps: at least 1 (got {max_steps})")
    done = final if final is not None else parse_formula(FINAL)
    rng = random.Random(seed)
    initial = product.initial()
    state = initial
    steps: list[TraceStep] = []
    ended = "max-steps"
    waiting: tuple[Label, ...] = ()
    while True:
        if until is not None and until(state):
            ended = "until"
            break
        moves = _moves(product, state)
        if not moves:
            ended = "final" if done(state) else "deadlock"
            waiting = tuple(product.waiting_for_room(state))
            break
        if len(steps) == max_steps:
            break
        label, state = moves[rng.randrange(len(moves))]
        steps.append(TraceStep(label, state))
    stops = ended in ("final", "deadlock")  # no move: the run stays there forever
    return Run(seed, Trace(initial, tuple(steps), stops=stops), ended, waiting)


def simulate_runs(
    product: Product,
    *,
    seed: int,
    runs: int,
    max_steps: int,
    until: Formula | None = None,
    final: Formula | None = None,
) -> list[Run]:
    """``runs`` runs, run ``k`` (from 0) seeded ``seed + k``.

    Examples
    --------
    >>> from checker import Product, ProductConfig, load_spec
    >>> product = Product(load_spec(variant="linux"), ProductConfig(loss="none"))
    >>> made = simulate_runs(product, seed=7, runs=3, max_steps=50)
    >>> [(run.seed, run.ended, len(run.trace.steps)) for run in made]
    [(7, ...), (8, ...), (9, ...)]
    >>> made == simulate_runs(product, seed=7, runs=3, max_steps=50)
    True
    """
    if runs < 1:
        raise UsageError(f"runs: at least 1 (got {runs})")
    return [
        simulate(product, seed=seed + k, max_steps=max_steps, until=until, final=final)
        for k in range(runs)
    ]
