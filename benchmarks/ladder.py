"""tcpcheck's search against SPIN's on a ladder of products, in the same run.

    .venv/bin/python benchmarks/ladder.py              # the README's table
    .venv/bin/python benchmarks/ladder.py --upto 3     # the first three rungs only
    .venv/bin/python benchmarks/ladder.py --no-gcc     # skip the gcc -O2 compiles

Every figure is a whole process, measured by the kernel (``wait4``: user + system CPU
seconds, peak resident memory), once per rung:

* tcpcheck: ``tcpcheck explore ... --json --quiet`` -- start-up, spec, search and exit;
  its bytes per state are the peak memory above that of the smallest product's run;
* SPIN: the model ``tcpcheck export promela`` writes for the same product, then
  ``spin -a``, the compile (tcc, as ``crosscheck spin`` uses, and ``gcc -O2``) and
  ``pan`` with its hash table (``-w``) fitted to twice the states and its depth bound
  (``-m``) to the depth, as a careful SPIN user would set them; SPIN's end-to-end is
  the sum of the three.

The two tools store the same states (the export is built for that: ``crosscheck spin``
checks it); a rung where they do not is marked.  Ratios are SPIN's time over
tcpcheck's: above 1, tcpcheck is faster.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TCPCHECK = str(Path(sys.executable).with_name("tcpcheck"))

#: (name, tcpcheck options): from thousands of states to more than ten million.
RUNGS: list[tuple[str, list[str]]] = [
    (
        "default, retry counts 2",
        ["--param", "SYN_RETRIES=2", "--param", "SYNACK_RETRIES=2", "--param", "FIN_RETRIES=2"],
    ),
    ("default", []),
    ("linux", ["--variant", "linux"]),
    ("capacity 3", ["--capacity", "3"]),
    ("linux, capacity 3", ["--variant", "linux", "--capacity", "3"]),
    ("capacity 4", ["--capacity", "4"]),
    ("linux, capacity 4", ["--variant", "linux", "--capacity", "4"]),
    (
        "linux, capacity 4, close any",
        ["--variant", "linux", "--capacity", "4", "--a-close", "any", "--b-close", "any"],
    ),
]


@dataclass
class Proc:
    """One whole process: CPU seconds (user + system), wall seconds, peak RSS bytes."""

    cpu: float
    wall: float
    rss: int
    out: str


def run(cmd: list[str], cwd: str | None = None) -> Proc:
    """Run ``cmd`` and measure it alone (its own rusage, not the children's total)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-2000:]}")
    return Proc(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss * 1024, out)


def tcpcheck(options: list[str]) -> tuple[Proc, dict[str, object]]:
    got = run([TCPCHECK, "explore", *options, "--json", "--quiet"])
    return got, json.loads(got.out[got.out.index("{") :])


def spin(options: list[str], states: int, depth: int, cc: list[str]) -> dict[str, float]:
    """SPIN on the exported model: seconds of generation, compilation and search, the
    search's peak memory and the states it stored."""
    with tempfile.TemporaryDirectory(prefix="ladder-") as tmp:
        run([TCPCHECK, "export", "promela", *options, "-o", f"{tmp}/m.pml"])
        gen = run(["spin", "-a", "m.pml"], cwd=tmp)
        comp = run([*cc, "-DNOREDUCE", "-DSAFETY", "-o", "pan", "pan.c"], cwd=tmp)
        width = max(10, math.ceil(math.log2(2 * states)))
        search = run(["./pan", f"-m{10 * depth + 1000}", f"-w{width}"], cwd=tmp)
    stored = re.search(r"(\d+) states, stored", search.out)
    return {
        "gen": gen.cpu,
        "cc": comp.cpu,
        "search": search.cpu,
        "rss": search.rss,
        "states": int(stored.group(1)) if stored else -1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upto", type=int, default=len(RUNGS), help="the first N rungs")
    parser.add_argument("--no-gcc", action="store_true", help="skip SPIN compiled by gcc -O2")
    args = parser.parse_args()
    compilers = [("tcc", ["tcc"])] if shutil.which("tcc") else []
    if not args.no_gcc:
        compilers.append(("gcc -O2", ["gcc", "-O2"]))
    base, _ = tcpcheck(["--ordering", "fifo", "--loss", "none"])
    head = "| product | states | tcpcheck s (search) | states/s | B/state |"
    rule = "|---|---:|---:|---:|---:|"
    for name, _cc in compilers:
        head += f" SPIN+{name} s (gen / cc / search) | B/state | end-to-end ratio | search ratio |"
        rule += "---:|---:|---:|---:|"
    print(head)
    print(rule, flush=True)
    for name, options in RUNGS[: args.upto]:
        ours, summary = tcpcheck(options)
        states = int(summary["states"])  # type: ignore[call-overload]
        search_s = float(summary["seconds"])  # type: ignore[arg-type]
        per_state = max(0, ours.rss - base.rss) / states
        row = (
            f"| {name} | {states:,} | {ours.cpu:.2f} ({search_s:.2f}) | "
            f"{states / search_s / 1e6:.2f} M | {per_state:.0f} |"
        )
        for _cc_name, cc in compilers:
            theirs = spin(options, states, int(summary["depth"]), cc)  # type: ignore[call-overload]
            total = theirs["gen"] + theirs["cc"] + theirs["search"]
            mark = "" if theirs["states"] == states else f" (SPIN: {theirs['states']:,} states)"
            row += (
                f" {total:.2f} ({theirs['gen']:.2f} / {theirs['cc']:.2f} / "
                f"{theirs['search']:.2f}){mark} | {theirs['rss'] / max(states, 1):.0f} | "
                f"{total / ours.cpu:.2f} | {theirs['search'] / search_s:.2f} |"
            )
        print(row, flush=True)


if __name__ == "__main__":
    main()
