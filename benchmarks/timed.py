"""Timed-layer benchmark: zone-graph sizes and times for the headline property.

    .venv/bin/python benchmarks/timed.py

Each row decides last-ack-not-stuck at one parameter point (concrete zone graph), best
of --repeat runs; the last row synthesizes TIME_WAIT on the small instance of
tests/test_synth.py (parametric zone graph).
"""

from __future__ import annotations

import argparse
import time

from checker.check import run_suite
from checker.properties import load_properties
from checker.spec import load_spec
from checker.synth import synthesize

POINTS = [
    {"MSL": 30, "RTO": 1, "TIME_WAIT": 60},
    {"MSL": 30, "RTO": 1, "TIME_WAIT": 10},
    {"MSL": 30, "RTO": 45, "TIME_WAIT": 60},
    {},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row")
    args = parser.parse_args()
    props = {p.name: p for p in load_properties(spec=load_spec())}
    prop = props["last-ack-not-stuck"]
    print("| parameters | verdict | zone-graph nodes | seconds (best) |")
    print("|---|---|---:|---:|")
    for point in POINTS:
        best = float("inf")
        verdict = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            verdict = run_suite([prop], variants=[None], params=dict(point))[0]
            best = min(best, time.perf_counter() - t0)
        assert verdict is not None
        shown = ", ".join(f"{k}={v}" for k, v in point.items()) or "bundled (MSL=120, RTO=1)"
        print(f"| {shown} | {verdict.verdict} | {verdict.states:,} | {best:.2f} |", flush=True)
    fixed = {"FIN_RETRIES": 2, "MSL": 2, "RTO": 1}
    t0 = time.perf_counter()
    result = synthesize(prop, load_spec(params=fixed), None, ["TIME_WAIT"])
    print(
        f"| synth TIME_WAIT (MSL=2, RTO=1, FIN_RETRIES=2) | {result.text()} | "
        f"{result.nodes:,} | {time.perf_counter() - t0:.2f} |"
    )


if __name__ == "__main__":
    main()
