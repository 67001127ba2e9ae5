"""Fuzz the command line: generated spec overlays, property suites, formulas, parameter
expressions, command lines and captures, counted by family and outcome.

Run from the repository root:

    .venv/bin/python benchmarks/fuzz.py                     # 10,000 inputs, seed 1
    .venv/bin/python benchmarks/fuzz.py --count 500 --seed 7 --family pcap

Each input runs in-process in a folder of its own under a time limit (``--seconds``);
the outcomes are those of ``tests/fuzzing.py``: an exit status of the table (``ok``,
``differs``, ``input-error``, ``incomplete``), or a defect -- ``traceback``, ``bad-exit``,
``unnamed`` (an input error not naming the file), ``hang``, ``escaped`` (a file written
outside the run's folder or left in the temp folder).  Exit status 1 when any input gave
a defect; each is printed with its command line and the files are kept under --keep.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzzing import FAMILIES, run_case

OUTCOMES = ["ok", "differs", "input-error", "incomplete", "interrupted"]
DEFECTS = ["traceback", "bad-exit", "unnamed", "hang", "escaped"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="inputs in all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=60, help="time limit per input")
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES))
    parser.add_argument("--keep", type=Path, help="copy each defect's files here")
    args = parser.parse_args()
    families = args.family or sorted(FAMILIES)
    counts: dict[str, Counter[str]] = {f: Counter() for f in families}
    seconds: dict[str, float] = dict.fromkeys(families, 0.0)
    defects = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tcpcheck-fuzz-") as tmp:
        for i in range(args.count):
            family = families[i % len(families)]
            rng = random.Random(f"{args.seed}/{i}")
            case = FAMILIES[family](rng)
            folder = Path(tmp) / f"case-{i}"
            t0 = time.perf_counter()
            outcome = run_case(case, folder, seconds=args.seconds)
            seconds[family] += time.perf_counter() - t0
            counts[family][outcome.kind] += 1
            if outcome.bad:
                defects += 1
                print(f"{outcome.kind} #{i} ({family}): tcpcheck {' '.join(case.args)}")
                print(f"    {outcome.detail}")
                if args.keep is not None:
                    shutil.copytree(folder, args.keep / f"case-{i}", dirs_exist_ok=True)
            shutil.rmtree(folder, ignore_errors=True)
            if (i + 1) % 500 == 0:
                print(f"... {i + 1:,} inputs, {defects} defects", file=sys.stderr)
    kinds = OUTCOMES + DEFECTS
    print(f"\n{args.count:,} inputs, seed {args.seed}, {time.perf_counter() - started:.0f} s")
    print("| family | inputs | " + " | ".join(kinds) + " | s/input |")
    print("|---|---:|" + "---:|" * (len(kinds) + 1))
    for family in families:
        row = counts[family]
        n = sum(row.values())
        cells = " | ".join(str(row[k]) for k in kinds)
        print(f"| {family} | {n:,} | {cells} | {seconds[family] / max(n, 1):.2f} |")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
