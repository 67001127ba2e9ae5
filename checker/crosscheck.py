"""tcpcheck against SPIN on one configuration: reachable states and safety verdicts.

For each variant: tcpcheck explores the product; SPIN searches the exported model
(:mod:`checker.promela`); the stored-state counts must be equal (SPIN's transitions are
tcpcheck's plus one: pan counts the initial state).  Every invariant and reachability
property is then decided by both under that same configuration -- tcpcheck on its graph,
SPIN with a never claim -- and the verdicts must be equal.  Both tools' times are kept,
SPIN's generation, compilation and search apart.

A violation SPIN finds is replayed through tcpcheck's product (:func:`replay`): every
step must be one of tcpcheck's moves, and the last state must violate the property.

Path and liveness properties are not compared yet.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ProductConfig
from .explore import Exploration, explore
from .formula import parse_formula
from .product import CHANNELS
from .promela import Move, promela
from .properties import Property, check_property
from .spec import load_spec
from .spin import SpinRun, run_spin, spin_verdict, trail_lines

__all__ = ["CrossCheck", "crosscheck", "replay"]

#: The property kinds SPIN decides here (as never claims).
KINDS = ("invariant", "reachable")


@dataclass(frozen=True)
class CrossCheck:
    """One variant under one configuration, by both tools."""

    variant: str | None
    config: ProductConfig
    tcpcheck_states: int
    tcpcheck_transitions: int
    tcpcheck_seconds: float
    spin: SpinRun
    #: (property, tcpcheck's verdict, SPIN's verdict)
    verdicts: tuple[tuple[str, str, str], ...]
    #: Per property with a SPIN trail: ``None`` when it replays through tcpcheck's
    #: product to a state that violates the property, else why it does not.
    trails: tuple[tuple[str, str | None], ...] = ()

    @property
    def agree(self) -> bool:
        same_graph = (self.spin.states, self.spin.transitions) == (
            self.tcpcheck_states,
            self.tcpcheck_transitions + 1,
        )
        same = all(ours == theirs for _p, ours, theirs in self.verdicts)
        return same_graph and same and all(why is None for _p, why in self.trails)

    def to_json(self) -> dict[str, Any]:
        return {
            "options": {"variant": self.variant or "base", **self.config.to_json()},
            "tcpcheck_states": self.tcpcheck_states,
            "spin_states": self.spin.states,
            "tcpcheck_transitions": self.tcpcheck_transitions,
            "spin_transitions": self.spin.transitions,
            "verdicts": [
                {"property": p, "tcpcheck": ours, "spin": theirs}
                for p, ours, theirs in self.verdicts
            ],
            "trails": [
                {"property": p, "replays": why is None, "why": why} for p, why in self.trails
            ],
            "agree": self.agree,
            "seconds": {
                "tcpcheck": round(self.tcpcheck_seconds, 3),
                "spin_generate": round(self.spin.generate_seconds, 3),
                "spin_compile": round(self.spin.compile_seconds, 3),
                "spin_search": round(self.spin.search_seconds, 3),
            },
        }


def crosscheck(
    props: Sequence[Property],
    variants: Sequence[str | None],
    config: ProductConfig,
    spec_path: str | Path | None = None,
) -> list[CrossCheck]:
    """Compare tcpcheck and SPIN on ``config`` for each variant (see the module doc)."""
    out = []
    for variant in variants:
        spec = load_spec(spec_path, variant=variant)
        started = time.perf_counter()
        ex = explore(spec, config)
        ours_seconds = time.perf_counter() - started
        run = run_spin(promela(spec, config))
        verdicts = []
        trails = []
        for prop in props:
            if prop.kind not in KINDS:
                continue
            # The property under this configuration: both tools see the same product.
            here = dataclasses.replace(prop, config={})
            ours = check_property(here, ex, variant).verdict
            moves: dict[int, Move] = {}
            theirs, found = spin_verdict(here, spec, config, moves)
            verdicts.append((prop.name, ours, theirs))
            if found.trail is not None:
                trails.append((prop.name, replay(found.trail, moves, ex, prop)))
        row = CrossCheck(
            variant, config, ex.states, ex.transitions, ours_seconds, run, tuple(verdicts)
        )
        out.append(dataclasses.replace(row, trails=tuple(trails)))
    return out


def replay(trail: str, moves: dict[int, Move], ex: Exploration, prop: Property) -> str | None:
    """Follow SPIN's error trail through tcpcheck's product: ``None`` when every step is
    a move of the product and the last state violates ``prop`` (an invariant fails, or
    the target of a reachability property holds); otherwise why not."""
    node = 0
    steps = trail_lines(trail)
    if not steps:
        return "the trail has no steps"
    for i, (proc, line) in enumerate(steps, start=1):
        move = moves.get(line)
        if move is None:
            return f"step {i} ({proc}) runs model line {line}, which is no move"
        here = ex.state(node)
        kind, where, how, what = move
        targets = []
        for label, m in ex.edges_from(node):
            after = ex.state(m)
            if kind == "move":
                if label == how and after.local(where) == what:
                    targets.append(m)
                continue
            side = "A" if where == "ab" else "B"
            content = here.channel_from(side)
            code = what if how == "code" else content[what].code if what < len(content) else -1
            net_kind = "loss" if kind == "lose" else "dup"
            if label.actor != "net" or label.kind != net_kind or label.channel != CHANNELS[side]:
                continue
            if label.segment is None or label.segment.code != code:
                continue
            if how == "position":
                rest = content[:what] + content[what + 1 :]
                if after.channel_from(side) != rest:
                    continue
            targets.append(m)
        if len(targets) != 1:
            found = "no" if not targets else f"{len(targets)}"
            return f"step {i} ({proc}, model line {line}): {found} matching move in tcpcheck"
        node = targets[0]
    formula = parse_formula(prop.formula)
    end = ex.state(node)
    holds = formula(end)
    if (prop.kind == "invariant") == holds:
        return f"the trail ends in {end.describe()}, which does not violate {prop.name}"
    return None
