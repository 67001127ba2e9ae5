"""Running SPIN on an exported model: generate the verifier, compile it, search.

``spin -a`` writes ``pan.c``; the C compiler builds it with partial-order reduction off
(``-DNOREDUCE``: every move touches shared variables, so it would change nothing, but the
counts must not depend on it) and ``-DSAFETY``; ``pan`` searches with a depth bound far
beyond any product's depth and a report that a bound was hit is an error, never a count.

Examples
--------
>>> missing_tools() in ([], ["spin"], ["cc"], ["spin", "cc"])
True
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SpinRun", "missing_tools", "run_spin", "spin_safety_verdict"]


@dataclass(frozen=True)
class SpinRun:
    """What SPIN reported, and how long each phase took (seconds)."""

    states: int
    transitions: int
    depth: int
    errors: int
    generate_seconds: float
    compile_seconds: float
    search_seconds: float
    report: str


def _compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def missing_tools() -> list[str]:
    """The tools a SPIN run needs that are not installed (``spin``, a C compiler)."""
    return [n for n, found in (("spin", shutil.which("spin")), ("cc", _compiler())) if not found]


def _number(pattern: str, report: str) -> int:
    got = re.search(pattern, report)
    if got is None:
        raise RuntimeError(f"SPIN's report has no {pattern!r}:\n{report}")
    return int(got.group(1))


def run_spin(model: str, max_depth: int = 1_000_000) -> SpinRun:
    """Verify ``model`` (Promela text) with SPIN in a scratch directory."""
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"missing: {', '.join(missing)} (Debian: apt-get install spin gcc)")
    cc = _compiler()
    assert cc is not None
    with tempfile.TemporaryDirectory(prefix="tcpcheck-spin-") as tmp:
        where = Path(tmp)
        (where / "model.pml").write_text(model, encoding="utf-8")

        def run(cmd: list[str]) -> tuple[str, float]:
            started = time.perf_counter()
            done = subprocess.run(cmd, cwd=where, capture_output=True, text=True, check=False)
            took = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
            return done.stdout, took

        _out, generate = run(["spin", "-a", "model.pml"])
        _out, compile_ = run([cc, "-O0", "-DNOREDUCE", "-DSAFETY", "-o", "pan", "pan.c"])
        report, search = run(["./pan", f"-m{max_depth}", "-w22"])
    if "max search depth too small" in report:
        raise RuntimeError(f"pan hit its depth bound ({max_depth}): the counts are partial")
    return SpinRun(
        states=_number(r"(\d+) states, stored", report),
        transitions=_number(r"(\d+) transitions \(", report),
        depth=_number(r"depth reached (\d+)", report),
        errors=_number(r"errors: (\d+)", report),
        generate_seconds=generate,
        compile_seconds=compile_,
        search_seconds=search,
        report=report,
    )


def spin_safety_verdict(prop: Any, spec: Any, config: Any) -> tuple[str, SpinRun]:
    """SPIN's verdict on an ``invariant`` or ``reachable`` property (and its run): a
    never claim that ends where the invariant fails, or where the target holds."""
    from .formula import parse_formula
    from .promela import promela

    if prop.kind not in ("invariant", "reachable"):
        raise ValueError(f"{prop.name}: SPIN claims cover invariant and reachable properties")
    formula = parse_formula(prop.formula)  # validated with the suite; a state the
    # variant lacks names no local state here, and reads as false, as in tcpcheck
    mode = "always" if prop.kind == "invariant" else "reach"
    run = run_spin(promela(spec, config, (mode, formula)))
    found = run.errors > 0
    if mode == "always":
        return ("violated" if found else "holds"), run
    return ("holds" if found else "violated"), run
