"""Independent jobs side by side: in this process, or on the workers of a Dask cluster.

A synthesis explores many parameter points, ``crosscheck spin`` checks many variants,
``docs`` renders many pages: jobs that share their inputs and not their state.  A
:class:`Pool` runs a function over a list of items with one shared argument, and returns
the results **in the items' order**, whoever computed them and whenever they finished:
the caller folds them in that order, so its answer is the same bytes with one worker,
two, or a remote cluster (``tcpcheck synth --workers N`` / ``--scheduler ADDRESS``).

With one worker the jobs run here, one after the other, and Dask is never imported.
Otherwise a local cluster (``distributed.LocalCluster``: one single-threaded worker
process per core, since the jobs are pure Python and hold the GIL) is started on first
use and torn down when the pool closes -- on an exception and on Ctrl-C too -- or the
pool connects to a running scheduler, whose workers must have tcpcheck installed.
The shared argument is sent to each worker once.

Examples
--------
>>> with open_pool(Workers(count=1)) as pool:
...     pool.map(pow, [1, 2, 3], shared=2)
[2, 4, 8]
>>> Workers(count=1).describe()
'1 worker (this process)'
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import UsageError

__all__ = ["Pool", "Workers", "open_pool"]

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Workers:
    """Where jobs run: ``count`` local worker processes (``None``: one per core; 1: in
    this process), or the workers of the Dask scheduler at ``scheduler``."""

    count: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise UsageError(f"--workers must be at least 1 (got {self.count})")
        if self.count is not None and self.scheduler is not None:
            raise UsageError(
                "--workers and --scheduler exclude each other: a cluster's scheduler "
                "decides its own workers (give one of them)"
            )

    @property
    def local(self) -> int:
        """How many local workers (0 with a scheduler)."""
        if self.scheduler is not None:
            return 0
        return self.count if self.count is not None else cores()

    def describe(self) -> str:
        if self.scheduler is not None:
            return f"the Dask scheduler at {self.scheduler}"
        n = self.local
        return "1 worker (this process)" if n == 1 else f"{n} local worker processes"


#: Jobs in this process: what a library caller gets unless it asks for more.
HERE = Workers(count=1)


#: Seconds of jobs run in this process before a local cluster is started: starting
#: one costs about two seconds, more than a small synthesis takes in all.
WARMUP = 3.0


class Pool:
    """Runs ``fn(shared, item)`` for every item; see the module docstring.

    A local cluster starts only once the jobs run here have taken ``warmup`` seconds:
    where the jobs run never changes their results, so small work is simply done here."""

    def __init__(self, workers: Workers, warmup: float = WARMUP) -> None:
        self.workers = workers
        self.warmup = warmup if workers.scheduler is None else 0.0
        self._here = 0.0  # seconds of jobs run in this process
        self._client: Any = None
        self._cluster: Any = None
        self._shared: list[tuple[Any, Any]] = []  # (object, its future on the cluster)
        self._scratch: str | None = None  # the local workers' scratch folder

    @property
    def parallel(self) -> bool:
        return self.workers.local != 1

    def map(
        self,
        fn: Callable[[S, T], R],
        items: Sequence[T],
        shared: S,
        done: Callable[[int, R], None] | None = None,
        dealt: bool = False,
    ) -> list[R]:
        """``[fn(shared, item) for item in items]``, computed by the workers;
        ``done(index, result)`` is called as each job finishes (in any order).

        ``dealt``: the items are dealt to the workers up front, round-robin, one task
        per worker, rather than one task per item handed to whichever worker is free.
        For many short jobs (a synthesis' points: tens of milliseconds each) that saves
        a task's round trip through the scheduler per item; for a few long jobs of
        unequal length, leave it off so that a free worker takes the next one."""
        if (
            not self.parallel
            or len(items) <= 1
            or (self._client is None and self._here < self.warmup)
        ):
            out = []
            for i, item in enumerate(items):
                started = time.perf_counter()
                got = fn(shared, item)
                self._here += time.perf_counter() - started
                if done is not None:
                    done(i, got)
                out.append(got)
            return out
        from distributed import as_completed

        client = self._connect()
        remote = self._scatter(client, shared)
        if dealt:
            # A local cluster's size is known; asking a scheduler is a round trip.
            workers = self.workers.local or len(client.scheduler_info()["workers"])
            n = min(len(items), max(1, workers))
            hands = [list(range(len(items)))[w::n] for w in range(n)]
        else:
            hands = [[i] for i in range(len(items))]
        futures = [
            client.submit(_each, fn, remote, [items[i] for i in hand], pure=False) for hand in hands
        ]
        index = {f.key: k for k, f in enumerate(futures)}
        results: list[Any] = [None] * len(items)
        try:
            for future in as_completed(futures):
                hand = hands[index[future.key]]
                # A job's exception is raised here.
                for i, got in zip(hand, future.result(), strict=True):
                    results[i] = got
                    if done is not None:
                        done(i, got)
        finally:
            for f in futures:
                f.cancel()
        return results

    def _scatter(self, client: Any, shared: Any) -> Any:
        for obj, future in self._shared:
            if obj is shared:
                return future
        future = client.scatter(shared, broadcast=True, hash=False)
        self._shared.append((shared, future))
        return future

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        import dask
        from distributed import Client, LocalCluster

        if self.workers.scheduler is not None:
            try:
                self._client = Client(self.workers.scheduler, timeout="5s")
            except ValueError as exc:  # distributed could not read the address
                raise UsageError(
                    f"--scheduler {self.workers.scheduler}: not a scheduler's address ({exc}); "
                    "give one as tcp://host:port, e.g. tcp://127.0.0.1:8786"
                ) from None
            except (OSError, TimeoutError) as exc:
                raise UsageError(
                    f"--scheduler {self.workers.scheduler}: no Dask scheduler answers there "
                    f"({exc}); start one (dask scheduler) or leave --scheduler out"
                ) from None
            return self._client
        # The shared argument is on every worker: Dask's memory manager would drop
        # the "extra" copies, and every job would then queue on the one worker left
        # holding it.  The workers' own sampling (a stack profile every 10 ms, the GIL
        # watched every millisecond, memory every 100 ms) contends for the GIL with
        # jobs that hold it.
        # The workers' scratch space in a folder of this run's own, removed with it.
        self._scratch = tempfile.mkdtemp(prefix="tcpcheck-workers-")
        dask.config.set(
            {
                "temporary-directory": self._scratch,
                "distributed.scheduler.active-memory-manager.start": False,
                "distributed.worker.profile.enabled": False,
                "distributed.admin.system-monitor.gil.enabled": False,
                "distributed.admin.system-monitor.interval": "5s",
                "distributed.worker.memory.monitor-interval": "5s",
            }
        )
        with _signals_deferred():
            self._cluster = LocalCluster(
                local_directory=self._scratch,
                n_workers=self.workers.local,
                threads_per_worker=1,
                processes=True,
                # Its HTTP endpoints on a free port: never a clash with another run's.
                dashboard_address="127.0.0.1:0",
                scheduler_kwargs={"host": "127.0.0.1"},
                silence_logs=logging.CRITICAL,  # a job's failure is raised to its caller
                memory_limit=0,
            )
            self._client = Client(self._cluster)
        return self._client

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        self._shared = []
        if client is None and cluster is None and "distributed" not in sys.modules:
            return
        # Workers stopped mid-job make Dask log the jobs and data they took with them:
        # the run is over, and says so itself.
        for name in ("distributed", "tornado", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        # A cluster a signal interrupted while it started was never handed to us: close
        # it too, now, rather than leave it to Dask's exit hook (which would print the
        # interruption's traceback) -- with whatever workers it had started.
        from distributed.deploy.spec import SpecCluster

        for orphan in list(SpecCluster._instances):
            with suppress(Exception):
                orphan.close(timeout=10)
            SpecCluster._instances.discard(orphan)
        _stop_resource_tracker()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _each(fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
    """One task: ``fn`` on each of ``items``, in order."""
    return [fn(shared, item) for item in items]


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and termination signals while a cluster starts: one arriving midway
    leaves Dask's start-up half done and its shutdown waiting forever.  A signal held is
    sent again once the cluster is ours to close."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    kinds = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {kind: signal.getsignal(kind) for kind in kinds}
    for kind in kinds:
        signal.signal(kind, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        for kind, handler in before.items():
            signal.signal(kind, handler)
        if held:
            os.kill(os.getpid(), held[0])


def _stop_resource_tracker() -> None:
    """Stop the helper process multiprocessing started for the workers' semaphores: it
    would otherwise outlive the run by a moment (every process a run starts ends with
    it)."""
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    stop = getattr(tracker, "_stop", None)
    # Only a tracker this process started and still runs (one whose start a worker's
    # own use raced has a descriptor and no process id yet).
    if stop is not None and getattr(tracker, "_pid", None) is not None:
        with suppress(OSError, ChildProcessError):
            stop()


@contextmanager
def open_pool(workers: Workers = HERE, warmup: float = WARMUP) -> Iterator[Pool]:
    """A :class:`Pool` closed (its local cluster stopped) when the block ends, however."""
    pool = Pool(workers, warmup)
    try:
        yield pool
    finally:
        pool.close()
