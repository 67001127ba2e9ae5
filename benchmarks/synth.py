"""Synthesis on workers: the headline's region at growing retry budgets, one point at a
time, in rounds on one worker, and in rounds on a local Dask cluster, in the same run.

    .venv/bin/python benchmarks/synth.py                  # FIN_RETRIES = 2..5
    .venv/bin/python benchmarks/synth.py --retries 6      # the bundled headline (minutes)
    .venv/bin/python benchmarks/synth.py --workers 4      # on a larger machine

Every figure is a whole ``tcpcheck synth last-ack-not-stuck --param FIN_RETRIES=R --json``
process, measured by the kernel (``wait4``: wall seconds, and user + system CPU seconds
of the process and the worker processes it waited for).  Columns:

* ``one by one``: ``--round 1 --workers 1``, cartography without rounds (each point
  chosen with every tile found before it);
* ``rounds``: ``--round N --workers 1``: the same rounds the cluster runs, here;
* ``cluster``: ``--round N --workers W``: a local cluster of W worker processes.

The region and the tiles of the last two are the same bytes (checked); ``speed-up`` is
the rounds' wall time over the cluster's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TCPCHECK = str(Path(sys.executable).with_name("tcpcheck"))


@dataclass
class Run:
    wall: float
    cpu: float
    doc: dict[str, object]


def synth(retries: int, round_size: int, workers: int) -> Run:
    cmd = [
        TCPCHECK,
        "synth",
        "last-ack-not-stuck",
        "--param",
        f"FIN_RETRIES={retries}",
        "--round",
        str(round_size),
        "--workers",
        str(workers),
        "--json",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retries", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--round", dest="round_size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(
        f"| FIN_RETRIES | tiles | one by one | rounds of {args.round_size}, 1 worker "
        f"| rounds of {args.round_size}, {args.workers} workers (CPU) | speed-up |"
    )
    print("|---|---|---|---|---|---|")
    for r in args.retries:
        single = synth(r, 1, 1)
        here = synth(r, args.round_size, 1)
        cluster = synth(r, args.round_size, args.workers)
        same = here.doc == cluster.doc and here.doc["constraint"] == single.doc["constraint"]
        tiles = str(here.doc["message"]).split(" tiles")[0]
        print(
            f"| {r} | {tiles} | {single.wall:.1f} s | {here.wall:.1f} s "
            f"| {cluster.wall:.1f} s ({cluster.cpu:.1f} s) | {here.wall / cluster.wall:.2f}x"
            f"{'' if same else ' (RESULTS DIFFER)'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
