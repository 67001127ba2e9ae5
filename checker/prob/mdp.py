"""The product as a Markov decision process: states, actions, and branches that keep
their loss class.

Built from an :class:`~checker.product.exploration.Exploration` of the product with
``loss = "any"``, no duplication and no attacker (:func:`prob_config`):

* a **state** is a product node (the same ids; :attr:`MDP.reachable` marks those the
  MDP's own actions reach from node 0);
* in each state a scheduler picks one **action**:

  - an application call or a timer expiry: one branch, taken with probability 1;
  - *deliver segment s on channel c*, one for each receipt of an in-flight segment the
    receiver can take: two branches, the receipt (probability ``1 - p``) and the loss
    of ``s`` (``net: lose s c``, probability ``p``), where ``p`` is the rate of the
    loss class ``(c, kind of s)`` (:mod:`checker.prob.rates`).  A receipt that a full
    reverse channel blocks is no action, and a loss alone never is;

* **timers wait for the network** (``timers="wait"``): a timer expiry is an action only
  where no delivery is -- the untimed reading of a retransmission timeout longer than
  the round trip and of a TIME-WAIT long enough; ``timers="any"`` lets a timer fire
  whenever the spec enables it.

A branch is a product edge (its index into ``dst``/``lbl``), so its label, target and
loss class are the exploration's; ``branch_class`` is -1 for a certain branch, and
``branch_lost`` says whether a probabilistic branch is the loss or the delivery.  States
without actions are terminal (the run ends there).

Examples
--------
>>> from checker import load_spec
>>> mdp = build_mdp(load_spec(params={"FIN_RETRIES": 1, "SYN_RETRIES": 1,
...                                   "SYNACK_RETRIES": 1}))
>>> mdp.summary()["acyclic"], [str(c) for c in mdp.classes][:3]
(True, ['A->B:ACK', 'A->B:FIN+ACK', 'A->B:RST'])
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from ..errors import UsageError
from ..model.spec import Spec
from ..product.config import ProductConfig
from ..product.exploration import Exploration
from ..product.explore import explore
from ..product.semantics import Label, PState
from .rates import LossClass, LossRates

__all__ = [
    "MDP",
    "TIMER_MODES",
    "Graph",
    "build_mdp",
    "mdp_of",
    "prob_config",
    "reach_and_order",
    "with_timers",
]

#: When a timer may expire: only once the network is quiet, or whenever enabled.
TIMER_MODES = ("wait", "any")


def prob_config(config: ProductConfig | None = None) -> ProductConfig:
    """``config`` read probabilistically: any segment may be lost, none duplicated, no
    attacker (the loss rates take the place of the loss budget).  A budget other than
    these is refused: it would mix a count with a probability."""
    config = config or ProductConfig()
    if config.loss != "any" or config.dup_budget or config.attacker:
        raise UsageError(
            "the probabilistic reading needs --loss any, no --dup and no --attacker: "
            "the loss rates say how often segments are lost"
        )
    return config


class Graph(Protocol):
    """What the MDP reads of the graph it was built from: an
    :class:`~checker.product.exploration.Exploration`, or the clocked product
    (:class:`checker.prob.clocks.ClockedGraph`)."""

    spec: Spec
    config: ProductConfig
    dst: array[int]
    lbl: array[int]
    labels: list[Label]

    @property
    def states(self) -> int: ...

    @property
    def complete(self) -> bool: ...

    def stopped(self) -> str: ...

    def state(self, node: int) -> PState: ...


def _receipt_channel(label: Label) -> str:
    """The channel a segment received by ``label.actor`` travelled on."""
    return "B->A" if label.actor == "A" else "A->B"


@dataclass
class MDP:
    """States, actions and branches in flat arrays (see the module docstring).

    ``action_start[s]:action_start[s+1]`` are the actions of state ``s``;
    ``branch_start[a]:branch_start[a+1]`` the branches of action ``a``; a branch ``b``
    is the product edge ``branch_edge[b]`` with loss class ``classes[branch_class[b]]``
    (-1: certain) and ``branch_lost[b]`` (1: the loss, 0: the delivery), its probability
    that of its class times ``branch_weight[b]`` where there are weights (the clocked
    reading's draws of a delay; None: every weight is 1).

    Examples
    --------
    >>> from checker import load_spec
    >>> from checker.prob.rates import LossRates
    >>> mdp = build_mdp(load_spec(params={"FIN_RETRIES": 1}))
    >>> p = mdp.probabilities(LossRates.parse("1/10"))
    >>> sorted({str(x) for x in p})
    ['1', '1/10', '9/10']
    """

    exploration: Graph
    timers: str
    action_start: array[int]
    branch_start: array[int]
    branch_edge: array[int]
    branch_class: array[int]
    branch_lost: array[int]
    classes: list[LossClass]
    reachable: bytearray
    acyclic: bool
    branch_weight: list[Fraction] | None = None
    _order: list[int] = field(default_factory=list, repr=False)
    _float_weights: Any = field(default=None, repr=False)

    @property
    def states(self) -> int:
        return len(self.action_start) - 1

    @property
    def actions(self) -> int:
        return len(self.branch_start) - 1

    @property
    def branches(self) -> int:
        return len(self.branch_edge)

    @property
    def complete(self) -> bool:
        return self.exploration.complete

    def target(self, b: int) -> int:
        return self.exploration.dst[self.branch_edge[b]]

    def label(self, b: int) -> Label:
        return self.exploration.labels[self.exploration.lbl[self.branch_edge[b]]]

    def targets(self) -> list[int]:
        """Every branch's target state."""
        dst = self.exploration.dst
        return [dst[e] for e in self.branch_edge]

    def branch_labels(self) -> list[Label]:
        """Every branch's label."""
        labels, lbl = self.exploration.labels, self.exploration.lbl
        return [labels[lbl[e]] for e in self.branch_edge]

    def topological_order(self) -> list[int]:
        """The reachable states, every state before its successors (acyclic MDPs)."""
        return self._order

    def probabilities(self, rates: LossRates) -> list[Fraction]:
        """Every branch's probability under ``rates``, exactly."""
        by_class = [rates.rate(c) for c in self.classes]
        one = Fraction(1)
        out = [
            one if c < 0 else (by_class[c] if lost else one - by_class[c])
            for c, lost in zip(self.branch_class, self.branch_lost, strict=True)
        ]
        if self.branch_weight is not None:
            out = [p * w for p, w in zip(out, self.branch_weight, strict=True)]
        return out

    def float_probabilities(self, rates: LossRates) -> list[float]:
        """Every branch's probability under ``rates``, in floats (what the numeric
        solvers use; :meth:`probabilities` is the exact one)."""
        by_class = np.array([float(rates.rate(c)) for c in self.classes] + [1.0])
        cls = np.frombuffer(self.branch_class, dtype=np.int8).astype(np.int64)
        lost = np.frombuffer(self.branch_lost, dtype=np.int8).astype(bool)
        rate = by_class[cls]  # -1 (certain) picks the trailing 1.0
        out = np.where(cls < 0, 1.0, np.where(lost, rate, 1.0 - rate))
        if self.branch_weight is not None:
            if self._float_weights is None:
                self._float_weights = np.array([float(w) for w in self.branch_weight])
            out = out * self._float_weights
        result: list[float] = out.tolist()
        return result

    def summary(self) -> dict[str, Any]:
        reach = sum(self.reachable)
        acts = [
            a
            for s in range(self.states)
            if self.reachable[s]
            for a in range(self.action_start[s], self.action_start[s + 1])
        ]
        terminal = sum(
            1
            for s in range(self.states)
            if self.reachable[s] and self.action_start[s] == self.action_start[s + 1]
        )
        return {
            "product_states": self.states,
            "states": reach,
            "actions": len(acts),
            "branches": sum(self.branch_start[a + 1] - self.branch_start[a] for a in acts),
            "terminal": terminal,
            "loss_classes": [str(c) for c in self.classes],
            "acyclic": self.acyclic,
            "timers": self.timers,
            "complete": self.complete,
        }


def build_mdp(
    spec: Spec,
    config: ProductConfig | None = None,
    *,
    timers: str = "wait",
    max_states: int | None = None,
    max_seconds: float | None = None,
) -> MDP:
    """Explore the product of ``spec`` under ``config`` and read it as an MDP.

    Examples
    --------
    >>> from checker import load_spec
    >>> mdp = build_mdp(load_spec(params={"FIN_RETRIES": 1}))
    >>> mdp.acyclic, mdp.timers, mdp.complete
    (True, 'wait', True)
    """
    if timers not in TIMER_MODES:
        raise UsageError(f"timers: {timers!r} is not one of {', '.join(TIMER_MODES)}")
    ex = explore(spec, prob_config(config), max_states=max_states, max_seconds=max_seconds)
    return mdp_of(ex, timers=timers)


def mdp_of(ex: Exploration, *, timers: str = "wait") -> MDP:
    """The MDP of an exploration (see the module docstring)."""
    labels = ex.labels
    class_ids: dict[LossClass, int] = {}
    expanded = len(ex.offsets) - 1
    # Per state: (probabilistic?, [(edge, class, lost), ...]) for each action.
    acts: list[list[list[tuple[int, int, int]]]] = []
    for s in range(ex.states):
        if s >= expanded:
            acts.append([])
            continue
        lo, hi = ex.offsets[s], ex.offsets[s + 1]
        losses: dict[tuple[str, object], int] = {}
        for e in range(lo, hi):
            label = labels[ex.lbl[e]]
            if label.kind == "loss":
                losses[(label.channel or "", label.segment)] = e
        certain: list[list[tuple[int, int, int]]] = []
        timed: list[list[tuple[int, int, int]]] = []
        delivered: list[list[tuple[int, int, int]]] = []
        for e in range(lo, hi):
            label = labels[ex.lbl[e]]
            if label.kind == "user":
                certain.append([(e, -1, 0)])
            elif label.kind == "timeout":
                timed.append([(e, -1, 0)])
            elif label.kind == "segment":
                channel = _receipt_channel(label)
                assert label.received is not None
                lost = losses.get((channel, label.received))
                if lost is None:  # pragma: no cover - loss "any" loses every segment
                    raise AssertionError(f"no loss edge for {label.text()} in state {s}")
                cls = LossClass.of(channel, label.received)
                k = class_ids.setdefault(cls, len(class_ids))
                delivered.append([(e, k, 0), (lost, k, 1)])
        if timers == "any" or not delivered:
            certain += timed
        acts.append(certain + delivered)
    # Loss classes in a fixed order (sorted), whatever order the search met them in.
    order = sorted(class_ids, key=lambda c: (c.channel, c.kind))
    renumber = {class_ids[c]: i for i, c in enumerate(order)}
    action_start = array("q", [0])
    branch_start = array("q", [0])
    branch_edge, branch_class, branch_lost = array("q"), array("b"), array("b")
    for state_acts in acts:
        for branches in state_acts:
            for e, k, lost in branches:
                branch_edge.append(e)
                branch_class.append(renumber[k] if k >= 0 else -1)
                branch_lost.append(lost)
            branch_start.append(len(branch_edge))
        action_start.append(len(branch_start) - 1)
    mdp = MDP(
        exploration=ex,
        timers=timers,
        action_start=action_start,
        branch_start=branch_start,
        branch_edge=branch_edge,
        branch_class=branch_class,
        branch_lost=branch_lost,
        classes=order,
        reachable=bytearray(ex.states),
        acyclic=True,
    )
    reach_and_order(mdp)
    return mdp


def reach_and_order(mdp: MDP) -> None:
    """Mark the states reachable from node 0 and, if they form no cycle, order them
    topologically (iterative depth-first search: a back edge is a cycle)."""
    dst = mdp.exploration.dst
    a_start, b_start, edge = mdp.action_start, mdp.branch_start, mdp.branch_edge

    def successors(s: int) -> list[int]:
        lo, hi = b_start[a_start[s]], b_start[a_start[s + 1]]
        return sorted({dst[edge[b]] for b in range(lo, hi)})

    if mdp.states == 0:
        return
    colour = bytearray(mdp.states)  # 0 new, 1 on the stack, 2 done
    post: list[int] = []
    acyclic = True
    stack: list[tuple[int, list[int]]] = [(0, successors(0))]
    colour[0] = 1
    while stack:
        s, todo = stack[-1]
        if todo:
            t = todo.pop()
            if colour[t] == 0:
                colour[t] = 1
                stack.append((t, successors(t)))
            elif colour[t] == 1:
                acyclic = False
            continue
        colour[s] = 2
        post.append(s)
        stack.pop()
    for s in post:
        mdp.reachable[s] = 1
    mdp.acyclic = acyclic
    mdp._order = post[::-1] if acyclic else []


def with_timers(mdp: MDP, timers: str) -> MDP:
    """The same exploration read with another timer mode (no new search)."""
    if timers == mdp.timers:
        return mdp
    if not isinstance(mdp.exploration, Exploration):
        raise UsageError("the clocked reading has no timer modes: time decides when timers fire")
    return mdp_of(mdp.exploration, timers=timers)
