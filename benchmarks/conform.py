"""Conformance benchmark: the check of each recorded kernel run, without the kernel.

    .venv/bin/python benchmarks/conform.py [--repeat N]

One row per recording in tests/data/recordings: the states the search visits, the time
of the path search (every matching path, for the retry ranges) and of the timing check
(its `tcpcheck bound` calls included), best of N.  The scenarios' own run time on the
kernel (about a second each, mostly the scripted sleeps) is measured as a whole process
and quoted in the README.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from checker.kernel.conform import check_run, load_for_conformance
from checker.kernel.instants import check_instants
from checker.kernel.recording import Recording
from checker.kernel.runs import run_from_recording
from checker.model.load import load_spec

RECORDINGS = Path(__file__).parent.parent / "tests" / "data" / "recordings"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    spec = load_for_conformance("linux")
    defaults = load_spec(variant="linux").values
    print("| recording | segments | search states | path s | instants | instants s |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in sorted(RECORDINGS.glob("*.json")):
        rec = Recording.from_json(json.loads(path.read_text()))
        run = run_from_recording(rec)
        best_path = best_time = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            verdict = check_run(spec, run, defaults=defaults)
            t1 = time.perf_counter()
            report = check_instants(verdict, run, "linux")
            t2 = time.perf_counter()
            best_path, best_time = min(best_path, t1 - t0), min(best_time, t2 - t1)
        segments = sum(len(ps) for ps in run.packets.values())
        print(
            f"| {rec.name} | {segments} | {verdict.explored:,} | {best_path:.4f} | "
            f"{len(report.rows)} | {best_time:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
