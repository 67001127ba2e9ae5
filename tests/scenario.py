"""Scripted runs through the reference product automaton, for tests that read like protocol runs.

>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> run = Run(load_spec(), ProductConfig())
>>> _ = run.do("A", "active OPEN").do("B", "passive OPEN").do("B", "rcv SYN")
>>> run.states("B")
['CLOSED', 'LISTEN', 'SYN-RECEIVED']
"""

from __future__ import annotations

from checker.model.spec import Spec
from checker.product.config import ProductConfig
from checker.product.reference import Product
from checker.product.semantics import Label, PState


class ScriptError(AssertionError):
    """A scripted step that the product does not allow (or allows more than one way)."""


class Run:
    """A path through the product, built one named move at a time."""

    def __init__(self, spec: Spec, config: ProductConfig) -> None:
        self.spec = spec
        self.product = Product(spec, config)
        self.state: PState = self.product.initial()
        self.path: list[tuple[PState, Label, PState]] = []

    def moves(self) -> list[tuple[Label, PState]]:
        return self.product.successors(self.state)

    def can(self, actor: str, event: str, seg: str | None = None) -> bool:
        return bool(self._matching(actor, event, seg))

    def _matching(self, actor: str, event: str, seg: str | None) -> list[tuple[Label, PState]]:
        found = []
        for label, nxt in self.moves():
            if label.actor != actor or label.event != event:
                continue
            if seg is not None:
                carried = label.segment if label.actor == "net" else label.received
                if carried is None or seg not in (carried.name, carried.describe()):
                    continue
            found.append((label, nxt))
        return found

    def do(self, actor: str, event: str, seg: str | None = None) -> Run:
        """Take the one move of ``actor`` on ``event`` (``seg`` picks the segment)."""
        found = self._matching(actor, event, seg)
        if not found:
            options = "\n  ".join(label.text() for label, _ in self.moves())
            raise ScriptError(
                f"no move '{actor}: {event}' ({seg}) from {self.state.describe()}; "
                f"possible:\n  {options}"
            )
        distinct = {nxt for _, nxt in found}
        if len(distinct) > 1:
            raise ScriptError(
                f"'{actor}: {event}' is ambiguous from {self.state.describe()}: "
                + "; ".join(label.text() for label, _ in found)
            )
        label, nxt = found[0]
        self.path.append((self.state, label, nxt))
        self.state = nxt
        return self

    def states(self, side: str) -> list[str]:
        """The control states ``side`` went through, without repeats."""
        seq = [self.product.initial().local(side).state]
        for _, _, nxt in self.path:
            name = nxt.local(side).state
            if name != seq[-1]:
                seq.append(name)
        return seq

    def rules(self) -> list[int]:
        """Spec transitions taken, in order."""
        return [label.rule for _, label, _ in self.path if label.rule is not None]

    def figure5_arrows(self) -> set[int]:
        arrows = set()
        for index in self.rules():
            arrow = self.spec.transitions[index].figure5
            if arrow is not None:
                arrows.add(arrow)
        return arrows
