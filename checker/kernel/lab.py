"""Two network namespaces joined by a veth pair, for driving the machine's own TCP stack.

A :class:`Lab` creates a client and a server namespace (``10.77.0.1`` and ``10.77.0.2``),
sets per-namespace sysctls (fast retransmission and FIN-WAIT-2 timers), captures the
segments each side receives and sends with tcpdump (``--immediate-mode``: without it a
capture loses packets), samples the sockets' states with ``ss -tan -o``, loses exact
segments with nftables in the *receiving* namespace's input hook (a drop in the sender's
output hook is a local transmit error, which the kernel retries at once: not a loss), and
drives one socket program per side (:mod:`checker.kernel.agent`).  Everything it creates --
namespaces, processes -- is removed on exit, also on failure.

Needs root, ``ip``, ``nft``, ``tcpdump`` and ``ss``: :func:`missing` says what is not there.

Examples
--------
>>> isinstance(missing(), list)
True
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from .recording import CLIENT_ADDR, SERVER_ADDR, SsSample, parse_ss

__all__ = ["Lab", "missing"]


def missing() -> list[str]:
    """Why the lab cannot run here (empty when it can)."""
    out = []
    if os.geteuid() != 0:
        out.append("root (network namespaces)")
    for tool in ("ip", "nft", "tcpdump", "ss"):
        if shutil.which(tool) is None:
            out.append(tool)
    return out


@dataclass
class Agent:
    """A socket program in a namespace, and every command it ran with its result."""

    side: str
    proc: subprocess.Popen[str]
    log: list[dict[str, Any]] = field(default_factory=list)

    def do(self, op: str, t0: float, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        start = round(time.monotonic() - t0, 6)
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.side} socket program died running {op}")
        result: dict[str, Any] = json.loads(line)
        # ``start``: when the call began; ``t``: when it returned (seconds since t0), as
        # the socket program saw it (its first command waits for the program to start).
        began, ended = result.pop("began", None), result.pop("ended", None)
        end = round(time.monotonic() - t0, 6)
        if began is not None and ended is not None:
            start, end = round(began - t0, 6), round(ended - t0, 6)
        entry = {"start": start, "t": end, "op": op}
        self.log.append({**entry, **args, **result})
        return result


_ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends: a second signal must not cut the
    teardown of the first short and leave namespaces behind.  A signal that came is
    raised again once the block is done (only the main thread can hold signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        came.append(signum)

    before = {s: signal.signal(s, hold) for s in _ENDING}
    try:
        yield
    finally:
        for s, handler in before.items():
            if handler is not None:  # None: a handler not set from Python; leave ours
                signal.signal(s, handler)
        if came:
            signal.raise_signal(came[0])


class Lab:
    """The namespaces, captures, samplers and agents of one run (a context manager)."""

    def __init__(self, sysctls: dict[str, str] | None = None, keep: Path | None = None):
        tag = f"{os.getpid()}-{int(time.monotonic() * 1000) % 100000}"
        self.ns = {"A": f"tcpck-c-{tag}", "B": f"tcpck-s-{tag}"}
        self.addr = {"A": CLIENT_ADDR, "B": SERVER_ADDR}
        self.sysctls = sysctls or {}
        self.dir = Path(tempfile.mkdtemp(prefix="tcpcheck-lab-"))
        self.keep = keep
        self.procs: list[subprocess.Popen[Any]] = []
        self.agents: dict[str, Agent] = {}
        self.samples: list[SsSample] = []
        #: (when, side) of every successful ``ss`` run: one that left no sample of the
        #: connection saw none there.
        self.rounds: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self.t0 = time.monotonic()
        #: The wall clock at t0: capture timestamps are wall-clock times.
        self.wall0 = time.time()

    # ------------------------------------------------------------------ set-up ---
    def _run(self, *argv: str) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def ns_run(self, side: str, *argv: str) -> str:
        """Run a command in ``side``'s namespace; its standard output."""
        return self._run("ip", "netns", "exec", self.ns[side], *argv)

    def __enter__(self) -> Lab:
        try:
            for side in ("A", "B"):
                self._run("ip", "netns", "add", self.ns[side])
            veth_a, veth_b = f"va{os.getpid() % 100000}", f"vb{os.getpid() % 100000}"
            self._run("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b)
            for side, dev in (("A", veth_a), ("B", veth_b)):
                self._run("ip", "link", "set", dev, "netns", self.ns[side])
                self.ns_run(side, "ip", "addr", "add", f"{self.addr[side]}/24", "dev", dev)
                self.ns_run(side, "ip", "link", "set", dev, "up")
                self.ns_run(side, "ip", "link", "set", "lo", "up")
                for key, value in self.sysctls.items():
                    self.ns_run(side, "sysctl", "-q", "-w", f"{key}={value}")
                self.ns_run(side, "nft", "add", "table", "inet", "tcpcheck")
                self.ns_run(
                    side,
                    "nft",
                    "add chain inet tcpcheck input { type filter hook input priority 0; }",
                )
                self._capture(side, dev)
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
            self.t0, self.wall0 = time.monotonic(), time.time()
        except BaseException:
            self._teardown()
            raise
        return self

    def _capture(self, side: str, dev: str) -> None:
        pcap = self.dir / f"{side}.pcap"
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[side], "tcpdump", "-i", dev, "-U", "-n",
             "--immediate-mode", "-w", str(pcap), "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.procs.append(proc)
        # tcpdump says "listening on" once its capture runs: wait for it, or the first
        # segments go uncaptured.
        assert proc.stderr is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "listening on" in line or not line:
                break

    def _sample(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic() - self.t0
            for side in ("A", "B"):
                try:
                    text = self.ns_run(side, "ss", "-tan", "-o")
                except RuntimeError:
                    continue
                self.samples.extend(parse_ss(text, round(now, 4), side))
                self.rounds.append((round(now, 4), side))
            self._stop.wait(0.005)

    # ---------------------------------------------------------------- the run ---
    def agent(self, side: str) -> Agent:
        """The socket program of ``side`` (started on first use)."""
        if side not in self.agents:
            proc = subprocess.Popen(
                [
                    *("ip", "netns", "exec", self.ns[side]),
                    *(sys.executable, "-m", "checker.kernel.agent"),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            self.procs.append(proc)
            self.agents[side] = Agent(side, proc)
        return self.agents[side]

    def do(self, side: str, op: str, **args: Any) -> dict[str, Any]:
        """Run one socket call on ``side``; its result (``ok``, or ``errno``)."""
        return self.agent(side).do(op, self.t0, **args)

    def drop(self, receiver: str, match: str, count: int, size: int) -> None:
        """Lose the first ``count`` segments matching the nft expression ``match`` that
        reach ``receiver`` (each ``size`` bytes long at the IP layer): ``quota until``
        passes nothing until that many bytes have matched."""
        rule = f"add rule inet tcpcheck input {match} quota until {count * size} bytes drop"
        self.ns_run(receiver, "nft", rule)

    def pcap(self, side: str) -> Path:
        """The capture of ``side``'s interface while the lab runs (removed at its exit:
        pass ``keep`` to have it copied there once complete)."""
        return self.dir / f"{side}.pcap"

    # --------------------------------------------------------------- teardown ---
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._teardown()

    def _teardown(self) -> None:
        with _signals_deferred():
            self._remove()

    def _remove(self) -> None:
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join(timeout=2)
        for agent in self.agents.values():
            if agent.proc.poll() is None and agent.proc.stdin is not None:
                try:
                    agent.proc.stdin.write('{"op": "exit"}\n')
                    agent.proc.stdin.flush()
                except OSError:
                    pass
        time.sleep(0.2)  # the last segments reach the captures
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for side in ("A", "B"):
            subprocess.run(["ip", "netns", "del", self.ns[side]], capture_output=True, check=False)
        if self.keep is not None:
            self.keep.mkdir(parents=True, exist_ok=True)
            for side in ("A", "B"):
                if self.pcap(side).exists():
                    shutil.copy(self.pcap(side), self.keep / f"{side}.pcap")
        shutil.rmtree(self.dir, ignore_errors=True)
