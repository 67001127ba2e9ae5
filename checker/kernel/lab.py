"""Two network namespaces joined by a veth pair, for driving the machine's own TCP stack.

A :class:`Lab` creates a client and a server namespace (``10.77.0.1`` and ``10.77.0.2``),
sets per-namespace sysctls (fast retransmission and FIN-WAIT-2 timers), captures the
segments each side receives and sends with tcpdump (``--immediate-mode``: without it a
capture loses packets), samples the sockets' states with ``ss -tan -o``, loses exact
segments with nftables in the *receiving* namespace's input hook (a drop in the sender's
output hook is a local transmit error, which the kernel retries at once: not a loss), and
drives one socket program per side (:mod:`checker.kernel.agent`).  With ``between``, a third
namespace sits between the two, holding the far ends of one veth pair per side and a
forwarder that can duplicate and reorder (:mod:`checker.kernel.between`).  With
``delivered``, each side also captures what its input hook let through: a second input
chain, after the one that drops, hands every TCP segment that reached it to an nflog
group that a second tcpdump records (:meth:`Lab.delivered`) -- the interface capture
shows a segment *before* the drop, so it tells what was sent, this one what was
received.  Everything it creates -- namespaces, processes -- is removed on exit, also on
failure.

Needs root, ``ip``, ``nft``, ``tcpdump`` and ``ss``: :func:`missing` says what is not there.

Examples
--------
>>> isinstance(missing(), list)
True
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import dpkt  # type: ignore[import-untyped]

from .pcap import read_tcp
from .recording import (
    CLIENT_ADDR,
    READ_SYSCTLS,
    SERVER_ADDR,
    TCP_BITS,
    Injected,
    SsSample,
    parse_ss,
)

__all__ = ["Lab", "LabAborted", "abort_all", "missing"]


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

    def _ask(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.side} socket program died running {cmd['op']}")
        result: dict[str, Any] = json.loads(line)
        return result

    def _keep(
        self, op: str, t0: float, args: dict[str, Any], result: dict[str, Any], sent: float,
        at: float | None,
    ) -> dict[str, Any]:  # fmt: skip
        # ``start``: when the call began; ``t``: when it returned (seconds since t0), as
        # the socket program saw it (its first command waits for the program to start).
        began, ended = result.pop("began", None), result.pop("ended", None)
        start, end = round(sent - t0, 6), round(time.monotonic() - t0, 6)
        if began is not None and ended is not None:
            start, end = round(began - t0, 6), round(ended - t0, 6)
        entry: dict[str, Any] = {"start": start, "t": end, "op": op}
        if at is not None:
            entry["at"] = round(at - t0, 6)  # the instant it was told to start at
        self.log.append({**entry, **args, **result})
        return result

    def do(self, op: str, t0: float, at: float | None = None, **args: Any) -> dict[str, Any]:
        """Run ``op``; with ``at`` (monotonic clock), starting at that instant."""
        sent = time.monotonic()
        cmd = {"op": op, **args} if at is None else {"op": op, "at": at, **args}
        return self._keep(op, t0, args, self._ask(cmd), sent, at)

    def batch(
        self, cmds: list[tuple[str, dict[str, Any]]], t0: float, at: float | None = None
    ) -> list[dict[str, Any]]:
        """Run several commands back to back in the program (no round trip between
        them); each one kept as if run alone."""
        sent = time.monotonic()
        whole: dict[str, Any] = {"op": "batch", "cmds": [{"op": op, **args} for op, args in cmds]}
        if at is not None:
            whole["at"] = at
        answer = self._ask(whole)
        return [
            self._keep(op, t0, args, result, sent, at if i == 0 else None)
            for i, ((op, args), result) in enumerate(zip(cmds, answer["results"], strict=True))
        ]


@dataclass(frozen=True)
class _Seen:
    """A connection's numbers as its receiving side's capture shows them (absolute)."""

    sport: int
    dport: int
    #: The first SYN's sequence number of each direction (the capture numbers from it).
    peer_isn: int
    own_isn: int
    #: The next sequence number after all the peer sent that reached the receiver, and
    #: after all the receiver sent.
    rcv_nxt: int
    snd_nxt: int


def _connection(pcap: Path, peer: str, own: str) -> _Seen:
    """The numbers of the latest connection between ``peer`` and ``own`` in the capture
    ``pcap`` (tcpdump writes it packet by packet: it can be read while it runs).
    Resets are left out: they take no sequence number (and the forged ones are not the
    peer's)."""
    rows: list[tuple[str, int, int, int, int, int]] = []
    with pcap.open("rb") as f:
        try:
            for _ts, buf in dpkt.pcap.Reader(f):
                ip = dpkt.ethernet.Ethernet(buf).data
                if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP):
                    src = socket.inet_ntoa(ip.src)
                    t = ip.data
                    rows.append((src, t.sport, t.dport, t.seq, t.flags, len(t.data)))
        except (ValueError, dpkt.dpkt.UnpackError):
            pass  # a record being written: the ones before it are whole
    theirs = [r for r in rows if r[0] == peer and not r[4] & dpkt.tcp.TH_RST]
    if not theirs:
        raise RuntimeError(f"no segment from {peer} in {pcap} yet")
    _src, sport, dport, _seq, _flags, _len = theirs[-1]
    ends: dict[bool, list[int]] = {True: [], False: []}
    isn: dict[bool, int] = {}
    for src, a, b, seq, flags, length in rows:
        from_peer = src == peer
        if (a, b) != ((sport, dport) if from_peer else (dport, sport)):
            continue
        syn, fin = bool(flags & dpkt.tcp.TH_SYN), bool(flags & dpkt.tcp.TH_FIN)
        if syn and from_peer not in isn:
            isn[from_peer] = seq
        if not flags & dpkt.tcp.TH_RST:  # a reset (forged ones too) takes no number
            ends[from_peer].append((seq + length + syn + fin) % 2**32)

    def furthest(numbers: list[int], base: int) -> int:
        return max(numbers, key=lambda n: (n - base) % 2**32)

    peer_isn = isn.get(True, ends[True][0])
    own_isn = isn.get(False, ends[False][0] if ends[False] else 0)
    snd_nxt = furthest(ends[False], own_isn) if ends[False] else own_isn
    return _Seen(sport, dport, peer_isn, own_isn, furthest(ends[True], peer_isn), snd_nxt)


#: The nflog group a lab made with ``delivered`` logs received segments to (groups are
#: per namespace: labs running at once do not share one).
_NFLOG = 77

_ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: Each capture's buffer, in KiB.
CAPTURE_BUFFER_KIB = 8192

#: The port :meth:`Lab.sync_captures` sends its marker to (the discard port: nothing of a
#: run listens there, so the server side answers the marker's SYN with a RST).
MARKER_PORT = 9


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


#: Numbers the labs of this process: several may run at once (in threads), and each
#: needs namespace and interface names of its own.
_LABS = itertools.count(1)
_LABS_LOCK = threading.Lock()


class LabAborted(RuntimeError):
    """The run was stopped from outside (a signal reached the process): the lab tears
    down what it made."""


#: Every lab that is set up and not yet torn down: :func:`abort_all` stops them.
_LIVE: set[Lab] = set()


def abort_all() -> None:
    """Stop every lab of this process that is still running, in whatever thread: its
    script's next pause raises :class:`LabAborted`, a call its programs are blocked in
    ends (the programs are terminated), and the lab tears down.  For a signal that
    reached the main thread while long scenarios run in others."""
    with _LABS_LOCK:
        live = list(_LIVE)
    for lab in live:
        lab.abort()


class Lab:
    """The namespaces, captures, samplers and agents of one run (a context manager).

    Several labs may run at once in one process (each in its own thread): names carry
    the process id and a count.  ``sample_every``: the pause between two rounds of
    ``ss`` (a round itself takes some milliseconds); a lab that runs for minutes
    samples less often.
    """

    def __init__(
        self,
        sysctls: dict[str, str] | None = None,
        keep: Path | None = None,
        sample_every: float = 0.005,
        between: bool = False,
        delivered: bool = False,
    ):
        with _LABS_LOCK:
            number = next(_LABS)
        tag = f"{os.getpid()}-{number}"
        self.ns = {"A": f"tcpck-c-{tag}", "B": f"tcpck-s-{tag}"}
        # Interface names have at most 15 characters.
        short = f"{os.getpid() % 100000}-{number % 1000}"
        self.veth = {"A": f"va{short}", "B": f"vb{short}"}
        #: With ``between``: a third namespace holding the far ends of the two veth
        #: pairs (one per side) and the forwarder that joins them
        #: (:mod:`checker.kernel.between`), which can duplicate and reorder segments.
        self.middle = f"tcpck-m-{tag}" if between else None
        self.far = {"A": f"ma{short}", "B": f"mb{short}"}
        self.network_log: list[list[Any]] = []
        self._network: Agent | None = None
        self.addr = {"A": CLIENT_ADDR, "B": SERVER_ADDR}
        self.sysctls = sysctls or {}
        self.with_delivered = delivered
        self.sample_every = sample_every
        self.stopped = threading.Event()
        #: The :data:`~checker.kernel.recording.READ_SYSCTLS` as each namespace has them
        #: once the lab's own are set (names this kernel lacks left out).
        self.read: dict[str, dict[str, str]] = {}
        #: The kernel's release (``uname -r``; the namespaces share the kernel).
        self.kernel = os.uname().release
        #: The segments forged so far (:meth:`inject`).
        self.injected: list[Injected] = []
        self.forgers: dict[str, Agent] = {}
        self.dir = Path(tempfile.mkdtemp(prefix="tcpcheck-lab-"))
        self.keep = keep
        self.procs: list[subprocess.Popen[Any]] = []
        #: The tcpdump of each capture file, while it runs.
        self.captures: dict[Path, subprocess.Popen[str]] = {}
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
        with _LABS_LOCK:
            _LIVE.add(self)
        try:
            for side in ("A", "B"):
                self._run("ip", "netns", "add", self.ns[side])
            veth_a, veth_b = self.veth["A"], self.veth["B"]
            if self.middle is None:
                self._run("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b)
            else:
                self._between()
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
                self.read[side] = self._read_sysctls(side)
                self._capture(side, dev)
                if self.with_delivered:
                    self._capture_delivered(side)
            # The clock starts before the sampler: every round is timed from it.
            self.t0, self.wall0 = time.monotonic(), time.time()
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        except BaseException:
            self._teardown()
            raise
        return self

    def _between(self) -> None:
        """The namespace between the sides: each side's veth paired with one there, the
        forwarder passing frames from one to the other."""
        assert self.middle is not None
        self._run("ip", "netns", "add", self.middle)
        for side in ("A", "B"):
            self._run("ip", "link", "add", self.veth[side], "type", "veth", "peer", "name",
                      self.far[side])  # fmt: skip
            self._run("ip", "link", "set", self.far[side], "netns", self.middle)
            self._run("ip", "netns", "exec", self.middle, "ip", "link", "set", self.far[side], "up")
        proc = subprocess.Popen(
            [
                *("ip", "netns", "exec", self.middle),
                *(sys.executable, "-m", "checker.kernel.between", self.far["A"], self.far["B"]),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        if not json.loads(proc.stdout.readline() or "{}").get("ready"):
            raise RuntimeError("the forwarder between the sides did not start")
        self._network = Agent("network", proc)

    def network(self, op: str, channel: str, match: str) -> None:
        """Have the network between the sides duplicate (``copy``) or reorder
        (``hold``) the next segment of ``channel`` that ``match`` names
        (:mod:`checker.kernel.between`); needs a lab made with ``between``."""
        if self._network is None:
            raise RuntimeError("this lab has no network between its sides (between=False)")
        result = self._network._ask({"op": op, "channel": channel, "match": match})
        if not result.get("ok"):
            raise RuntimeError(f"the network between: {result}")

    def _read_sysctls(self, side: str) -> dict[str, str]:
        """The :data:`~checker.kernel.recording.READ_SYSCTLS` in ``side``'s namespace
        (``sysctl -e``: a name the kernel lacks is skipped, not an error)."""
        out = {}
        for line in self.ns_run(side, "sysctl", "-e", *READ_SYSCTLS).splitlines():
            name, sep, value = line.partition(" = ")
            if sep:
                out[name.strip()] = value.strip()
        return out

    def _capture(self, side: str, dev: str, pcap: Path | None = None) -> None:
        pcap = pcap or self.dir / f"{side}.pcap"
        # An nflog group carries only what the rule logs (TCP): no filter there.
        only_tcp = [] if dev.startswith("nflog:") else ["tcp"]
        # -B: a buffer of CAPTURE_BUFFER_KIB (the kernel caps an nflog socket's at
        # net.core.rmem_max): a tcpdump that the machine's load holds back for a moment
        # must not lose the segments of a thousand connections meanwhile.
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[side], "tcpdump", "-i", dev, "-U", "-n",
             "--immediate-mode", "-B", str(CAPTURE_BUFFER_KIB), "-w", str(pcap), *only_tcp],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.procs.append(proc)
        self.captures[pcap] = proc
        # tcpdump says "listening on" once its capture runs: wait for it, or the first
        # segments go uncaptured.
        assert proc.stderr is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "listening on" in line or not line:
                break

    def _capture_delivered(self, side: str) -> None:
        # Priority 100: after the input chain whose rules drop (priority 0), so a
        # segment dropped there never gets here.
        self.ns_run(
            side,
            "nft",
            "add chain inet tcpcheck delivered { type filter hook input priority 100; }",
        )
        # queue-threshold 1: each segment goes to tcpdump at once (nflog batches by
        # default, up to a second)
        rule = f"add rule inet tcpcheck delivered meta l4proto tcp log group {_NFLOG} "
        rule += "queue-threshold 1"
        self.ns_run(side, "nft", rule)
        self._capture(side, f"nflog:{_NFLOG}", self.delivered(side))

    def sync_captures(self, timeout: float = 30.0) -> bool:
        """Wait until every capture has written all it saw so far; False if ``timeout``
        seconds were not enough.

        A capture is read while tcpdump writes it, and a tcpdump the machine's load
        holds back writes late: a fixed pause is no proof.  So A sends a marker -- a SYN
        to :data:`MARKER_PORT` at B, which B answers with a RST -- and the wait lasts
        until each capture holds its part of it (both segments on each interface, the
        SYN among what B's input hook let through, the RST among A's).  A capture
        writes in the order it receives, and each link delivers in order: once the
        marker is in a file, so is everything that came before it.  (The marker stays
        in the captures: a reader of every segment there leaves its port out.)"""
        code = (
            "import socket; s = socket.socket(); s.settimeout(2)\n"
            f"try: s.connect(({self.addr['B']!r}, {MARKER_PORT}))\n"
            "except OSError: pass"
        )
        self.ns_run("A", sys.executable, "-c", code)
        needed = {self.pcap("A"): 2, self.pcap("B"): 2}
        if self.with_delivered:
            needed |= {self.delivered("A"): 1, self.delivered("B"): 1}
        deadline = time.monotonic() + timeout
        while needed:
            for path, count in list(needed.items()):
                marks = sum(len(segs) for segs in read_tcp(path, MARKER_PORT).values())
                if marks >= count:
                    del needed[path]
            if not needed:
                break
            if time.monotonic() > deadline:
                return False
            self.pause(0.05)
        return True

    def stop_captures(self) -> dict[str, int]:
        """Stop every capture (tcpdump writes out and reports); by capture file name,
        how many times its kernel buffer overflowed and lost segments -- for an nflog
        capture the number of overflows, each one losing at least one segment.  Call
        :meth:`sync_captures` first: what tcpdump had not yet read when it stops is
        not written."""
        lost = {}
        for path, proc in self.captures.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                _out, err = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                _out, err = proc.communicate()
            found = re.search(r"(\d+) packets? dropped by kernel", err or "")
            lost[path.name] = int(found.group(1)) if found else 0
        return lost

    def delivered(self, side: str) -> Path:
        """The capture of the TCP segments ``side``'s input hook let through (a lab
        made with ``delivered``): link type NFLOG, in order of arrival."""
        return self.dir / f"{side}-delivered.pcap"

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
            self._stop.wait(self.sample_every)

    # ---------------------------------------------------------------- the run ---
    def agent(self, side: str) -> Agent:
        """The socket program of ``side`` (started on first use)."""
        if side not in self.agents:
            self.agents[side] = self._program(side, side)
        return self.agents[side]

    def _program(self, side: str, name: str) -> Agent:
        """A socket program (:mod:`checker.kernel.agent`) started in ``side``'s
        namespace, torn down with the lab."""
        return Agent(name, self.program(side, "checker.kernel.agent"))

    def program(self, side: str, module: str, *args: str) -> subprocess.Popen[str]:
        """``python -m module args`` started in ``side``'s namespace, its standard
        input and output piped (text), torn down with the lab."""
        self._go_on()
        proc = subprocess.Popen(
            [*("ip", "netns", "exec", self.ns[side]), sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def do(self, side: str, op: str, **args: Any) -> dict[str, Any]:
        """Run one socket call on ``side``; its result (``ok``, or ``errno``)."""
        self._go_on()
        try:
            return self.agent(side).do(op, self.t0, **args)
        except RuntimeError:
            self._go_on()  # the program died because the run was stopped
            raise

    def pause(self, seconds: float) -> None:
        """Let ``seconds`` pass (the kernel's timers run); :class:`LabAborted` at once
        if the run is stopped meanwhile (:func:`abort_all`)."""
        if self.stopped.wait(seconds):
            raise LabAborted("the run was stopped")

    def _go_on(self) -> None:
        if self.stopped.is_set():
            raise LabAborted("the run was stopped")

    def abort(self) -> None:
        """Stop this lab from another thread (see :func:`abort_all`)."""
        self.stopped.set()
        for proc in list(self.procs):
            if proc.poll() is None:
                proc.terminate()

    def batch(self, side: str, *cmds: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Run several socket calls on ``side`` back to back, with no round trip to
        this process between them (e.g. close() the moment recv() returns); each
        call's result, each one logged as if run alone."""
        return self.agent(side).batch(list(cmds), self.t0)

    def together(self, *calls: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Make the calls ``(side, op, args)`` at one instant: each side's program is
        told the instant and waits for it (the namespaces share the monotonic clock),
        so the calls start within microseconds of each other; each one logged with its
        own start and end."""
        fresh = any(side not in self.agents for side, _op, _args in calls)
        agents = [self.agent(side) for side, _op, _args in calls]
        # A program just started needs a moment before it reads its first command.
        at = time.monotonic() + (0.5 if fresh else 0.05)
        results: list[dict[str, Any]] = [{} for _ in calls]
        failed: list[BaseException] = []

        def call(i: int) -> None:
            _side, op, args = calls[i]
            try:
                results[i] = agents[i].do(op, self.t0, at=at, **args)
            except BaseException as exc:
                failed.append(exc)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failed:
            raise failed[0]
        return results

    def drain(self, side: str, wait: float = 1.0) -> int:
        """recv() on ``side`` until the peer's FIN (a read of 0 bytes), an error, or
        ``wait`` seconds without data; how many bytes came.  Each call is logged."""
        got = 0
        while True:
            result = self.do(side, "recv", wait=wait)
            if not result.get("ok") or result.get("timeout") or not result.get("received"):
                return got
            got += int(result["received"])

    def inject(self, receiver: str, flags: str, offset: int = 0, note: str = "") -> Injected:
        """Forge a segment from ``receiver``'s peer to ``receiver`` on their latest
        connection, as a third party on the path would, and send it from the peer's
        namespace (it leaves the peer's interface like the peer's own segments: both
        captures see it, the peer's TCP does not).

        ``flags``: as the capture names them (``RST``, ``RST+ACK``...).  The sequence
        number is the receiver's RCV.NXT plus ``offset`` -- read from the receiver's
        capture so far: the next number after everything the peer sent that reached it
        -- and the acknowledgment number, with ACK, the receiver's SND.NXT.  A blind
        attacker would have to guess them; here they are placed deliberately."""
        peer = "B" if receiver == "A" else "A"
        seen = _connection(self.pcap(receiver), self.addr[peer], self.addr[receiver])
        bits = sum(TCP_BITS[name.lower()] for name in flags.split("+"))
        seq = seen.rcv_nxt + offset
        ack = seen.snd_nxt if bits & TCP_BITS["ack"] else 0
        forger = self._forger(peer)
        result = forger.do(
            "forge", self.t0, src=self.addr[peer], dst=self.addr[receiver], sport=seen.sport,
            dport=seen.dport, seq=seq, ack=ack, flags=bits,
        )  # fmt: skip
        if not result.get("ok"):
            raise RuntimeError(f"forging {flags} for {receiver} failed: {result}")
        injected = Injected(
            t=forger.log[-1]["start"],
            receiver=receiver,
            src=f"{self.addr[peer]}:{seen.sport}",
            dst=f"{self.addr[receiver]}:{seen.dport}",
            flags=flags,
            seq=(seq - seen.peer_isn) % 2**32,
            ack=(ack - seen.own_isn) % 2**32 if ack else 0,
            note=note,
        )
        self.injected.append(injected)
        return injected

    def _forger(self, side: str) -> Agent:
        """A program in ``side``'s namespace that is not ``side``'s application: it
        sends forged segments (kept apart from the agents, whose calls are the run's)."""
        if side not in self.forgers:
            self.forgers[side] = self._program(side, f"forger in {side}")
        return self.forgers[side]

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
        with _LABS_LOCK:
            _LIVE.discard(self)
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join(timeout=2)
        for agent in [*self.agents.values(), *self.forgers.values()]:
            if agent.proc.poll() is None and agent.proc.stdin is not None:
                try:
                    agent.proc.stdin.write('{"op": "exit"}\n')
                    agent.proc.stdin.flush()
                except OSError:
                    pass
        time.sleep(0.2)  # the last segments reach the captures
        if self._network is not None and self._network.proc.poll() is None:
            with suppress(OSError, RuntimeError, ValueError):
                self.network_log = self._network._ask({"op": "log"}).get("done", [])
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for ns in (self.ns["A"], self.ns["B"], self.middle):
            if ns is not None:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        if self.keep is not None:
            self.keep.mkdir(parents=True, exist_ok=True)
            for side in ("A", "B"):
                if self.pcap(side).exists():
                    shutil.copy(self.pcap(side), self.keep / f"{side}.pcap")
        shutil.rmtree(self.dir, ignore_errors=True)
