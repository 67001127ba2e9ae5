"""Property-suite benchmark: how long `tcpcheck check` spends, per variant and in all.

    .venv/bin/python benchmarks/check.py

Each row runs the whole bundled suite on one variant (explorations included, shared
between the properties that use the same configuration), best of --repeat runs.
"""

from __future__ import annotations

import argparse
import time

from checker.check.properties import load_properties
from checker.model.load import load_spec
from checker.suite import run_suite, suite_variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row")
    args = parser.parse_args()
    suite = load_properties(spec=load_spec())
    print("| variant | checks | seconds (best) |")
    print("|---|---:|---:|")
    total = 0.0
    for variant in suite_variants():
        best = float("inf")
        count = 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            count = len(run_suite(suite, variants=[variant]))
            best = min(best, time.perf_counter() - t0)
        total += best
        print(f"| {variant or 'base'} | {count} | {best:.2f} |", flush=True)
    print(f"| all {len(suite_variants())} | {len(suite) * len(suite_variants())} | {total:.2f} |")


if __name__ == "__main__":
    main()
