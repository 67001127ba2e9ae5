"""SPIN cross-check benchmark: both tools on one product, every untimed verdict.

    .venv/bin/python benchmarks/spin.py [--variant V ...] [--config NAME ...]

One row per (variant, configuration): the states both tools store, the verdicts that
agree, tcpcheck's time (exploration and every property), SPIN's time for the state count
(generation / compilation / search) and for all verdicts (two SPIN runs at a time, so
the wall time is about half their sum), and the largest search a verdict took (the
product with the property's claim and, for liveness, the fairness monitor).  Whole-run
wall times, once each: SPIN's runs are separate processes with their own variance.
"""

from __future__ import annotations

import argparse
import time

from checker.check.properties import load_properties
from checker.export.crosscheck import crosscheck
from checker.model.load import load_spec
from checker.product.config import ProductConfig

CONFIGS = {
    "default": ProductConfig(),
    "fifo, loss 1": ProductConfig(ordering="fifo", loss="1"),
    "capacity 1, no loss": ProductConfig(capacity=1, loss="none"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", help="a variant ('base'); repeatable")
    parser.add_argument("--config", action="append", choices=list(CONFIGS), help="repeatable")
    args = parser.parse_args()
    variants = [None if v == "base" else v for v in (args.variant or ["base"])]
    props = [p for p in load_properties(spec=load_spec()) if not p.timed]
    print(
        "| variant | configuration | states (tcpcheck = SPIN) | verdicts equal | "
        "tcpcheck s | SPIN count s (gen / cc / search) | SPIN verdicts s | "
        "largest verdict search | wall s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|")
    for name in args.config or list(CONFIGS):
        for variant in variants:
            t0 = time.perf_counter()
            (row,) = crosscheck(props, [variant], CONFIGS[name])
            wall = time.perf_counter() - t0
            same = sum(c.tcpcheck == c.spin and c.trail is None for c in row.verdicts)
            ours = row.tcpcheck_seconds + sum(c.tcpcheck_seconds for c in row.verdicts)
            biggest = max(row.verdicts, key=lambda c: c.spin_states)
            verdicts_s = sum(c.spin_seconds for c in row.verdicts)
            states = f"{row.tcpcheck_states:,}" + (
                "" if row.same_states else f" ≠ {row.spin.states:,}"
            )
            print(
                f"| {variant or 'base'} | {name} | {states} | {same}/{len(row.verdicts)} | "
                f"{ours:.2f} | {row.spin.generate_seconds:.2f} / {row.spin.compile_seconds:.2f}"
                f" / {row.spin.search_seconds:.2f} | {verdicts_s:.1f}"
                f" | {biggest.prop}: {biggest.spin_states:,} | {wall:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
