"""Exploration benchmark: states, transitions, speed and memory of the search.

Run from the repository root:

    .venv/bin/python benchmarks/explore.py            # the table in the README
    .venv/bin/python benchmarks/explore.py --quick    # default configuration only

For each configuration the search is timed on its own (best of --repeat runs; the
compiled loop, and the pure-Python loop once for comparison), its peak
memory is measured in a separate run under tracemalloc (which slows it down), and the
networkx view is built and measured apart from the search, the same way: timed once,
then built again under tracemalloc for its memory.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from checker.model.load import load_spec
from checker.product.config import ProductConfig
from checker.product.explore import explore

CONFIGS: list[tuple[str, str | None, ProductConfig]] = [
    ("default (unordered, capacity 2, loss any)", None, ProductConfig()),
    ("capacity 3, loss any", None, ProductConfig(capacity=3)),
    ("linux, capacity 3, loss any", "linux", ProductConfig(capacity=3)),
    ("capacity 4, loss any", None, ProductConfig(capacity=4)),
]


def measure(variant: str | None, config: ProductConfig, repeat: int) -> dict[str, float]:
    spec = load_spec(variant=variant)
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        result = explore(spec, config)
        best = min(best, result.seconds)
    assert result is not None and result.complete
    gc.collect()
    python_seconds = explore(spec, config, engine="python").seconds  # the fallback, once
    gc.collect()
    traced = explore(spec, config, measure_memory=True)
    gc.collect()
    t0 = time.perf_counter()
    graph = result.to_networkx(max_states=None)
    view_seconds = time.perf_counter() - t0
    del graph
    gc.collect()
    tracemalloc.start()  # memory in a second build: tracemalloc slows what it watches
    graph = result.to_networkx(max_states=None)
    view_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del graph
    return {
        "states": result.states,
        "transitions": result.transitions,
        "seconds": best,
        "rate": result.states / best,
        "python_seconds": python_seconds,
        "search_mb": (traced.peak_bytes or 0) / 2**20,
        "bytes_per_state": (traced.peak_bytes or 0) / result.states,
        "view_seconds": view_seconds,
        "view_mb": view_peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="default configuration only")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per configuration")
    args = parser.parse_args()
    configs = CONFIGS[:1] if args.quick else CONFIGS
    print(
        "| configuration | states | transitions | search s | states/s | Python loop s | "
        "search peak MB | bytes/state | networkx view s | view peak MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, variant, config in configs:
        m = measure(variant, config, args.repeat)
        print(
            f"| {name} | {m['states']:,.0f} | {m['transitions']:,.0f} | {m['seconds']:.3f} | "
            f"{m['rate']:,.0f} | {m['python_seconds']:.2f} | {m['search_mb']:.1f} | "
            f"{m['bytes_per_state']:.0f} | "
            f"{m['view_seconds']:.2f} | {m['view_mb']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
