"""A socket program driven step by step, one JSON command per line on standard input.

Run inside a network namespace by :mod:`checker.kernel.lab` (``python -m checker.kernel.agent``);
each command's result -- or the errno of its failure -- goes to standard output as one
JSON line, so the harness records exactly what every socket call returned.

Commands (``{"op": ...}``): ``listen`` (port), ``unlisten`` (the listener is closed),
``accept``, ``connect`` (host, port; ``local_port``: bind that port first, with
SO_REUSEADDR), ``send`` (bytes; ``more``: with MSG_MORE, so the kernel holds a short
write back for more), ``recv`` (max bytes; ``wait``: seconds to wait for something to
read, after which the result says ``timeout``), ``shutdown`` (``wr``),
``linger0`` (SO_LINGER on, 0 s), ``nodelay`` (TCP_NODELAY), ``close``, ``forge`` (a
segment of someone else's, sent through a raw socket: see :func:`forge`), ``batch``
(``cmds``: several commands back to back, with no round trip to the harness between
them; one result each),
``exit`` (the process exits, leaving any connection to the kernel: orphaned).

Any command may carry ``at``: an instant on the machine's monotonic clock (which every
namespace shares) to start at -- two programs given one instant make their calls
within microseconds of each other, which one harness writing to both cannot -- and
``cpu``: the processor to make the call on.

Examples
--------
>>> run_one({"op": "nope"}, {})["error"]
'unknown op nope'
>>> seg = tcp_segment("10.0.0.2", "10.0.0.1", 80, 4000, 1, 0, 0x04)
>>> len(seg), checksum(seg[:20])  # an IP header sums to 0 with its checksum in
(40, 0)
>>> checksum(seg[12:20] + bytes([0, 6, 0, 20]) + seg[20:])  # TCP, with its pseudo-header
0
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["checksum", "forge", "main", "run_one", "tcp_segment"]


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``.

    >>> hex(checksum(bytes.fromhex("45000073000040004011 0000 c0a80001 c0a800c7".replace(" ", ""))))
    '0xb861'
    """
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_segment(
    src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, window: int = 0
) -> bytes:
    """An IPv4 datagram carrying a TCP segment without options or data, both checksums
    filled in (the kernel would fill the IP one; it is done here so the bytes are
    whole on their own)."""
    tcp = struct.pack(
        "!HHIIBBHHH", sport, dport, seq % 2**32, ack % 2**32, 5 << 4, flags, window, 0, 0
    )
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(tcp), 0, 0x4000, 64, socket.IPPROTO_TCP, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )  # fmt: skip
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def forge(cmd: dict[str, Any]) -> None:
    """Send the segment ``cmd`` describes (``src``, ``dst``, ``sport``, ``dport``,
    ``seq``, ``ack``: absolute numbers; ``flags``: the raw TCP flags byte; ``window``)
    through a raw socket (IPPROTO_RAW: the IP header is ours)."""
    packet = tcp_segment(
        cmd["src"], cmd["dst"], int(cmd["sport"]), int(cmd["dport"]),
        int(cmd["seq"]), int(cmd["ack"]), int(cmd["flags"]), int(cmd.get("window", 0)),
    )  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.sendto(packet, (cmd["dst"], 0))


def run_one(cmd: dict[str, Any], socks: dict[str, socket.socket]) -> dict[str, Any]:
    """Carry out one command on the agent's sockets (``listener``, ``conn``)."""
    op = cmd.get("op")
    try:
        if op == "listen":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", int(cmd["port"])))
            s.listen(8)
            socks["listener"] = s
            return {"ok": True}
        if op == "unlisten":
            socks.pop("listener").close()
            return {"ok": True}
        if op == "accept":
            conn, peer = socks["listener"].accept()
            socks["conn"] = conn
            return {"ok": True, "peer": f"{peer[0]}:{peer[1]}"}
        if op == "connect":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks["conn"] = s
            if cmd.get("local_port") is not None:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("0.0.0.0", int(cmd["local_port"])))
            s.connect((cmd["host"], int(cmd["port"])))
            local = s.getsockname()
            return {"ok": True, "local": f"{local[0]}:{local[1]}"}
        if op == "send":
            more = socket.MSG_MORE if cmd.get("more") else 0
            sent = socks["conn"].send(b"x" * int(cmd.get("bytes", 1)), more)
            return {"ok": True, "sent": sent}
        if op == "recv":
            conn = socks["conn"]
            # (The argument is not called ``timeout``: the harness logs arguments and
            # results in one entry, and the result's ``timeout`` says the wait ran out.)
            ready, _w, _x = select.select([conn], [], [], float(cmd.get("wait", 1.0)))
            if not ready:
                return {"ok": True, "timeout": True}
            data = conn.recv(int(cmd.get("bytes", 4096)))
            return {"ok": True, "received": len(data)}
        if op == "nodelay":  # TCP_NODELAY: no Nagle, each send() goes out at once
            socks["conn"].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return {"ok": True}
        if op == "shutdown":
            socks["conn"].shutdown(socket.SHUT_WR)
            return {"ok": True}
        if op == "linger0":
            socks["conn"].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return {"ok": True}
        if op == "close":
            socks.pop("conn").close()
            return {"ok": True}
        if op == "forge":
            forge(cmd)
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op}"}
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        return {"ok": False, "errno": name}


def _wait_until(at: float) -> None:
    """Sleep until just before ``at``, then spin: a sleep alone wakes late by the
    scheduler's whim, tens of microseconds or more."""
    while (left := at - time.monotonic()) > 0.01:
        time.sleep(left - 0.01)
    while time.monotonic() < at:
        pass


@contextmanager
def _undisturbed(wanted: bool) -> Iterator[None]:
    """Run the block at a real-time priority (SCHED_FIFO) when ``wanted`` and allowed:
    a program spinning towards an instant is otherwise preempted now and then by the
    harness's own processes (``ss`` every few milliseconds), and starts its call
    milliseconds late.  The block is short: a wait of 10 ms and one call."""
    if not wanted:
        yield
        return
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (OSError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


@contextmanager
def _on_cpu(cpu: int | None) -> Iterator[None]:
    """Run the block on processor ``cpu`` only (when given): a timer a call arms is
    kept on the processor that armed it, so two programs' calls made there arm timers
    that expire in one pass of that processor's timer interrupt."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:  # not a processor this program may use: the call goes on anywhere
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def timed(cmd: dict[str, Any], socks: dict[str, socket.socket]) -> dict[str, Any]:
    """One command's result with when it began and ended on the monotonic clock (the
    namespaces share it): the harness orders calls and captures by these."""
    cpu = None if cmd.get("cpu") is None else int(cmd["cpu"])
    with _on_cpu(cpu), _undisturbed(cmd.get("at") is not None):
        if cmd.get("at") is not None:
            _wait_until(float(cmd["at"]))
        began = time.monotonic()
        result = run_one(cmd, socks)
        result.update(began=began, ended=time.monotonic())
    return result


def main() -> None:
    """Read commands until ``exit`` or end of input; answer each on one line."""
    # Ctrl-C on a terminal reaches the whole process group: the harness decides when
    # this program ends (it closes our input or terminates us), not the keyboard.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    socks: dict[str, socket.socket] = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("op") == "exit":
            began = time.monotonic()
            print(json.dumps({"ok": True, "began": began, "ended": began}), flush=True)
            return
        if cmd.get("op") == "batch":
            first, *rest = cmd["cmds"]
            results = [timed({**first, "at": cmd.get("at")}, socks)]
            results += [timed(one, socks) for one in rest]
            print(json.dumps({"ok": True, "results": results}), flush=True)
            continue
        print(json.dumps(timed(cmd, socks)), flush=True)


if __name__ == "__main__":
    main()
