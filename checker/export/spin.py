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

import ctypes
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..check.outcome import Outcome
from ..check.properties import Property
from ..check.untimed import polarity
from ..model.spec import Spec
from ..product.config import ProductConfig
from .claims import claim_for
from .promela import Claim, LineAction, promela_with_moves

__all__ = [
    "SpinRun",
    "interruptible_runs",
    "missing_tools",
    "run_spin",
    "spin_verdict",
    "trail_lines",
    "trail_steps",
]


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
    #: ``spin -t -p``'s replay of the error trail, when one was asked for and written.
    trail: str | None = None


#: The SPIN, compiler and pan processes running now (from any thread), so that an
#: interrupt can end them: a worker thread's process would outlive the main thread's
#: KeyboardInterrupt otherwise, and its scratch folder with it.
_live: set[subprocess.Popen[str]] = set()
_live_lock = threading.Lock()
_stopping = threading.Event()


class Stopped(RuntimeError):
    """A run refused or ended because the cross-check is being interrupted."""


def _run_tracked(cmd: list[str], cwd: Path) -> tuple[int, str, str]:
    """``cmd``'s exit status, standard output and error; ended by :func:`_stop_all`."""
    with _live_lock:
        if _stopping.is_set():
            raise Stopped("interrupted")
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent,
        )
        _live.add(proc)
    try:
        out, err = proc.communicate()
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    finally:
        with _live_lock:
            _live.discard(proc)
    if _stopping.is_set():
        raise Stopped("interrupted")
    return proc.returncode, out, err


def _die_with_parent() -> None:
    """In the child, before it runs SPIN, the compiler or pan: be killed when the
    thread that started it ends.  That thread waits for the child, so it ends first
    only when its process is killed -- a Dask worker stopped mid-job, whose runs would
    otherwise go on alone (Linux's PR_SET_PDEATHSIG; elsewhere nothing)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None  # pragma: no cover - not Linux
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc symbol
        return None


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PRCTL = _libc_prctl()


def _stop_all() -> None:
    with _live_lock:
        _stopping.set()
        for proc in _live:
            proc.kill()


@contextmanager
def interruptible_runs(pool: Executor | None = None) -> Iterator[None]:
    """SPIN runs (in this thread or in ``pool``'s) that an interrupt ends at once: on
    any exception out of the block -- Ctrl-C, SIGTERM -- the pending jobs of ``pool``
    are cancelled, the running processes killed, and no new one starts; each run's
    scratch folder is removed as its job unwinds."""
    _stopping.clear()
    try:
        yield
    except BaseException:
        _stop_all()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        # Every run has ended: later runs in this process (the next cross-check, a
        # direct run_spin) are not refused.
        _stopping.clear()
        raise


def _compiler() -> str | None:
    """The C compiler for a verifier: tcc when installed -- it compiles a verifier in
    0.05 s where gcc -O0 takes 2 s, and one with the fairness monitor (its update in
    every move) in 0.5 s where gcc takes 100 s; its code searches about half as fast,
    which the searches here never make up for -- else the system's ``cc``."""
    return shutil.which("tcc") or shutil.which("cc") or shutil.which("gcc")


def missing_tools() -> list[str]:
    """The tools a SPIN run needs that are not installed (``spin``, a C compiler)."""
    return [n for n, found in (("spin", shutil.which("spin")), ("cc", _compiler())) if not found]


def _number(pattern: str, report: str) -> int:
    got = re.search(pattern, report)
    if got is None:
        raise RuntimeError(f"SPIN's report has no {pattern!r}:\n{report}")
    return int(got.group(1))


def run_spin(
    model: str,
    max_depth: int = 1_000_000,
    trail: bool = False,
    liveness: bool = False,
    scratch: str | None = None,
) -> SpinRun:
    """Verify ``model`` (Promela text) with SPIN in a scratch directory; with ``trail``,
    the error trail's replay (``spin -t -p``) when an error was found; with ``liveness``,
    a search for acceptance cycles (``pan -a``) instead of safety errors; ``scratch``:
    where the scratch directory goes (default: the system's temporary folder)."""
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"missing: {', '.join(missing)} (Debian: apt-get install spin gcc tcc)")
    cc = _compiler()
    assert cc is not None
    with tempfile.TemporaryDirectory(prefix="tcpcheck-spin-", dir=scratch) as tmp:
        where = Path(tmp)
        (where / "model.pml").write_text(model, encoding="utf-8")

        def run(cmd: list[str]) -> tuple[str, float]:
            started = time.perf_counter()
            status, out, err = _run_tracked(cmd, where)
            took = time.perf_counter() - started
            if status != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{out}{err}")
            return out, took

        _out, generate = run(["spin", "-a", "model.pml"])
        mode = [] if liveness else ["-DSAFETY"]
        _out, compile_ = run([cc, "-O0", "-DNOREDUCE", *mode, "-o", "pan", "pan.c"])
        report, search = run(["./pan", f"-m{max_depth}", "-w22", *(["-a"] if liveness else [])])
        replayed = None
        if trail and (where / "model.pml.trail").exists():
            replayed, _took = run(["spin", "-t", "-p", "model.pml"])
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
        trail=replayed,
    )


def spin_verdict(
    prop: Property,
    spec: Spec,
    config: ProductConfig,
    moves: dict[int, LineAction] | None = None,
    scratch: str | None = None,
) -> tuple[Outcome, SpinRun]:
    """SPIN's verdict on an untimed property under ``config`` (and the run that decided
    it), tcpcheck's three values included: ``unknown`` when the only counterexamples stop
    at a full channel (a second search that accepts those).  With ``moves`` (a dict to
    fill) the run keeps its error trail and ``moves`` receives what each line of the
    model does (:func:`checker.export.promela.promela_with_moves`); ``scratch``: the
    folder the runs' scratch folders go in (default: the system's temporary folder)."""
    # Formulas were validated with the suite; a state the variant lacks names no local
    # state here, and reads as false, as in tcpcheck.
    Searched = tuple[SpinRun, dict[int, LineAction]]  # a run, and what each model line does

    def search(claim: Claim) -> Searched:
        model, lines = promela_with_moves(spec, config, claim)
        run = run_spin(model, trail=moves is not None, liveness=claim.liveness, scratch=scratch)
        return run, lines

    def decided(verdict: Outcome, searched: Searched) -> tuple[Outcome, SpinRun]:
        run, lines = searched
        if moves is not None:  # what each line does in the model this run searched
            moves.clear()
            moves.update(lines)
        return verdict, run

    first = search(claim_for(prop, blocked=prop.kind in ("eventually", "leads-to")))
    found = first[0].errors > 0
    kind = prop.kind
    if kind == "invariant":
        return decided(Outcome.VIOLATED if found else Outcome.HOLDS, first)
    if kind in ("reachable", "path"):
        return decided(polarity(prop, found), first)
    if kind == "deadlock-free":
        if found:
            return decided(Outcome.VIOLATED, first)
        again = search(claim_for(prop, blocked=True))
        return decided(Outcome.UNKNOWN if again[0].errors else Outcome.HOLDS, again)
    # Liveness: runs stuck at a full channel accepted too, so no cycle at all is
    # "holds" in one search; a cycle that is not such a run is "violated"; else ask
    # again without them.
    if not found:
        return decided(Outcome.HOLDS, first)
    trail = first[0].trail
    if trail is not None and not _ends_stuck(trail):
        return decided(Outcome.VIOLATED, first)
    strict = search(claim_for(prop))
    return (
        decided(Outcome.VIOLATED, strict) if strict[0].errors else decided(Outcome.UNKNOWN, first)
    )


def _ends_stuck(trail: str) -> bool:
    """Does the trail end where nothing can move although something is owed (the
    monitor's ``fin = 2``)?"""
    return bool(re.search(r"\[fin = 2\]", trail))


# A statement executed: "  6:\tproc  2 (Net:1) model.pml:1091 (state 6)\t[...]" (the final
# listing of where each process stopped has no statement, only "<valid end state>"); an
# acceptance cycle begins after the line "<<<<<START OF CYCLE>>>>>".
_STEP = re.compile(
    r"^\s*(\d+):\s+proc\s+\d+ \((\w+):\d+\) \S+:(\d+) \(state \d+\)\s+\["
    r"|^\s*<<<<<START OF CYCLE>>>>>",
    re.M,
)


def trail_lines(trail: str) -> list[tuple[str, int]]:
    """(process, model line) of every step of a ``spin -t -p`` replay, in order (a
    ``d_step`` prints one line per statement, all with the same step number)."""
    return trail_steps(trail)[0]


def trail_steps(trail: str) -> tuple[list[tuple[str, int]], int | None]:
    """:func:`trail_lines`, and the index of the first step of the acceptance cycle
    (``None`` for a trail without one)."""
    out: list[tuple[str, int]] = []
    cycle = None
    last = None
    for got in _STEP.finditer(trail):
        step, proc, line = got.groups()
        if step is None:
            cycle = len(out)
        elif step != last:
            out.append((proc, int(line)))
            last = step
    return out, cycle
