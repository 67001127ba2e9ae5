"""Timed-layer benchmark: zone-graph sizes and times for the timed properties and bounds.

    .venv/bin/python benchmarks/timed.py

Each row decides a timed property at one parameter point (concrete zone graph; a check
stops at its first counterexample) or computes a duration bound, best of --repeat
runs; the last rows synthesize parameter regions (tiles of the parameter space, one
exploration each; nodes summed over the tiles), once each.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from checker.check.properties import load_properties
from checker.model.load import load_spec
from checker.model.spec import Spec
from checker.product.config import ProductConfig
from checker.suite import run_suite
from checker.timed.bound import duration_bound
from checker.timed.synth import synthesize

#: (property, variant, parameters)
POINTS: list[tuple[str, str | None, dict[str, float]]] = [
    ("last-ack-not-stuck", None, {"MSL": 30, "RTO": 1, "TIME_WAIT": 60}),
    ("last-ack-not-stuck", None, {"MSL": 30, "RTO": 1, "TIME_WAIT": 10}),
    ("last-ack-not-stuck", None, {"MSL": 30, "RTO": 45, "TIME_WAIT": 60}),
    ("last-ack-not-stuck", None, {}),
    ("no-old-duplicates", "rfc1337", {"MSL": 30, "RTO": 1, "TIME_WAIT": 60}),
    ("no-old-duplicates", "rfc1337", {"MSL": 30, "RTO": 1, "TIME_WAIT": 10}),
    ("no-old-duplicates", None, {}),
]


def bound_rows(repeat: int) -> None:
    """Duration bounds: the number and the formula (parametric) together."""
    cases: list[tuple[str, Spec, str, str, dict[str, Any]]] = [
        ("SYN-SENT (A), linux, peer gone", load_spec(variant="linux"), "A", "SYN-SENT", {}),
        ("LAST-ACK (B), linux, peer gone", load_spec(variant="linux"), "B", "LAST-ACK", {}),
        (
            "TIME-WAIT (A), live peer, MSL=30, TIME_WAIT=60, no loss",
            load_spec(params={"MSL": 30, "TIME_WAIT": 60}),
            "A",
            "TIME-WAIT",
            {
                "peer": "live",
                "start": "A = FIN-WAIT-2 and B = CLOSE-WAIT",
                # B's six FIN retransmissions (FIN_RETRIES = 6, RTO 1 s) may all be in
                # flight within one MSL: capacity 4 answers "unknown", 8 is enough.
                "config": ProductConfig(loss="none", capacity=8),
                "free": (),
            },
        ),
    ]
    for title, spec, side, state, kw in cases:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            b = duration_bound(spec, side, state, **kw)
            best = min(best, time.perf_counter() - t0)
        print(f"| bound {title} | {b.headline().split(': ', 1)[1]} | {b.nodes:,} | {best:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row")
    args = parser.parse_args()
    props = {p.name: p for p in load_properties(spec=load_spec())}
    print("| question | answer | zone-graph nodes | seconds (best) |")
    print("|---|---|---:|---:|")
    for name, variant, point in POINTS:
        best = float("inf")
        verdict = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            verdict = run_suite([props[name]], variants=[variant], params=dict(point))[0]
            best = min(best, time.perf_counter() - t0)
        assert verdict is not None
        shown = ", ".join(f"{k}={v}" for k, v in point.items()) or "bundled values"
        where = f"{name} on {variant or 'base'}, {shown}"
        print(f"| {where} | {verdict.verdict} | {verdict.states:,} | {best:.2f} |", flush=True)
    bound_rows(args.repeat)
    synth_rows: list[tuple[str, str, str | None, dict[str, float], list[str]]] = [
        (
            "TIME_WAIT (MSL=2, RTO=1, FIN_RETRIES=2)",
            "last-ack-not-stuck",
            None,
            {"FIN_RETRIES": 2, "MSL": 2, "RTO": 1},
            ["TIME_WAIT"],
        ),
        (
            "TIME_WAIT, MSL, RTO (FIN_RETRIES=2)",
            "last-ack-not-stuck",
            None,
            {"FIN_RETRIES": 2},
            ["TIME_WAIT", "MSL", "RTO"],
        ),
        (
            "no-old-duplicates on rfc1337: TIME_WAIT, MSL, RTO",
            "no-old-duplicates",
            "rfc1337",
            dict(props["no-old-duplicates"].params),
            ["TIME_WAIT", "MSL", "RTO"],
        ),
    ]
    for title, name, variant, fixed, free in synth_rows:
        t0 = time.perf_counter()
        spec = load_spec(variant=variant, params=fixed)
        result = synthesize(props[name], spec, variant, free)
        print(
            f"| synth {title} | {result.text()} | {result.nodes:,} | "
            f"{time.perf_counter() - t0:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
