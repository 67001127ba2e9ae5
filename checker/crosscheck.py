"""tcpcheck against SPIN on one configuration: reachable states and safety verdicts.

For each variant: tcpcheck explores the product; SPIN searches the exported model
(:mod:`checker.promela`); the stored-state counts must be equal (SPIN's transitions are
tcpcheck's plus one: pan counts the initial state).  Every invariant and reachability
property is then decided by both under that same configuration -- tcpcheck on its graph,
SPIN with a never claim -- and the verdicts must be equal.  Both tools' times are kept,
SPIN's generation, compilation and search apart.

Path and liveness properties, and replaying SPIN's trails, are not compared yet.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ProductConfig
from .explore import explore
from .promela import promela
from .properties import Property, check_property
from .spec import load_spec
from .spin import SpinRun, run_spin, spin_safety_verdict

__all__ = ["CrossCheck", "crosscheck"]

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

    @property
    def agree(self) -> bool:
        same_graph = (self.spin.states, self.spin.transitions) == (
            self.tcpcheck_states,
            self.tcpcheck_transitions + 1,
        )
        return same_graph and all(ours == theirs for _p, ours, theirs in self.verdicts)

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
        for prop in props:
            if prop.kind not in KINDS:
                continue
            # The property under this configuration: both tools see the same product.
            here = dataclasses.replace(prop, config={})
            ours = check_property(here, ex, variant).verdict
            theirs, _run = spin_safety_verdict(here, spec, config)
            verdicts.append((prop.name, ours, theirs))
        out.append(
            CrossCheck(
                variant, config, ex.states, ex.transitions, ours_seconds, run, tuple(verdicts)
            )
        )
    return out
