"""The network between the two ends of a lab: a forwarder that can duplicate and reorder.

Run as ``python -m checker.kernel.between CLIENT_DEV SERVER_DEV`` in a namespace of its
own that holds the far ends of both veth pairs (:class:`~checker.kernel.lab.Lab` with
``between=True``).  It passes every frame from one device to the other, as a cable
would, and takes commands on its standard input, one JSON object per line, answering
each on one line:

``{"op": "copy", "channel": "A->B", "match": "data"}``
    send the next matching frame of that channel twice (the network duplicates it);
``{"op": "hold", "channel": "A->B", "match": "data"}``
    keep the next matching frame back until the channel's next frame has passed (the
    network reorders them; released anyway after ``HOLD_LIMIT`` seconds);
``{"op": "log"}``
    what was done so far: ``{"ok": true, "done": [[t, op, channel, flags, seq, length]]}``.

``match`` is ``data`` (a segment with payload), ``fin``, ``syn`` or ``any``.  Each end
captures its own interface, so the captures show what the network did: a segment sent
once and seen arriving twice, or arriving after one sent after it.  The TCP checksum of
every frame passed is computed afresh: veth leaves it to be filled in by the device
(checksum offload), and a frame sent again from here must carry it.

Examples
--------
>>> frame = bytes(12) + b"\\x08\\x00" + tcp_frame_example()
>>> describe(frame)
('ACK', 1000, 5)
>>> matches(frame, "data"), matches(frame, "fin")
(True, False)
>>> framed = with_checksum(frame)
>>> checksum(framed[26:34] + bytes([0, 6, 0, 25]) + framed[34:])  # sums to 0 with it in
0
"""

from __future__ import annotations

import json
import select
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any

from .agent import checksum
from .pcap import flag_names

__all__ = ["describe", "main", "matches", "with_checksum"]

#: How long a held frame waits for the one that is to overtake it.
HOLD_LIMIT = 0.5
_ETH_P_ALL = 0x0003


def _tcp(frame: bytes) -> tuple[int, int, int] | None:
    """Where the IPv4 header, the TCP header and the payload start in an Ethernet
    frame carrying TCP, or ``None``."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ip = 14
    tcp = ip + (frame[ip] & 0x0F) * 4
    if len(frame) < tcp + 20:
        return None
    return ip, tcp, tcp + (frame[tcp + 12] >> 4) * 4


def describe(frame: bytes) -> tuple[str, int, int] | None:
    """A TCP frame's flags (named as in a capture), sequence number and payload length."""
    where = _tcp(frame)
    if where is None:
        return None
    ip, tcp, payload = where
    total = struct.unpack("!H", frame[ip + 2 : ip + 4])[0]
    flags = flag_names(frame[tcp + 13])
    seq = struct.unpack("!I", frame[tcp + 4 : tcp + 8])[0]
    return flags, seq, ip + total - payload


def matches(frame: bytes, what: str) -> bool:
    """Whether a frame is a TCP segment of the kind ``what`` names."""
    seen = describe(frame)
    if seen is None:
        return False
    flags, _seq, length = seen
    if what == "data":
        return length > 0
    if what in ("fin", "syn"):
        return what.upper() in flags.split("+")
    return what == "any"


def with_checksum(frame: bytes) -> bytes:
    """The frame with its TCP checksum computed (RFC 9293 §3.1: over a pseudo-header
    of the addresses, the protocol and the length, and the segment)."""
    where = _tcp(frame)
    if where is None:
        return frame
    ip, tcp, _payload = where
    total = struct.unpack("!H", frame[ip + 2 : ip + 4])[0]
    end = ip + total
    segment = bytearray(frame[tcp:end])
    segment[16:18] = b"\x00\x00"
    pseudo = frame[ip + 12 : ip + 20] + struct.pack("!BBH", 0, 6, len(segment))
    segment[16:18] = struct.pack("!H", checksum(pseudo + bytes(segment)))
    return frame[:tcp] + bytes(segment) + frame[end:]


class _Forwarder:
    """Frames from each device to the other, with the commands' changes."""

    def __init__(self, devices: dict[str, str]) -> None:
        self.socks: dict[str, socket.socket] = {}
        for channel, dev in devices.items():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
            s.bind((dev, 0))
            self.socks[channel] = s
        self.out = {"A->B": self.socks["B->A"], "B->A": self.socks["A->B"]}
        self.lock = threading.Lock()
        self.pending: list[tuple[str, str, str]] = []  # (op, channel, match)
        self.held: dict[str, tuple[bytes, float]] = {}
        self.done: list[list[Any]] = []

    def command(self, op: str, channel: str, match: str) -> None:
        with self.lock:
            self.pending.append((op, channel, match))

    def _note(self, op: str, channel: str, frame: bytes) -> None:
        flags, seq, length = describe(frame) or ("", 0, 0)
        self.done.append([time.time(), op, channel, flags, seq, length])

    def _send(self, channel: str, frame: bytes) -> None:
        try:
            self.out[channel].send(frame)
        except OSError as exc:  # larger than the device takes: say so, go on
            print(json.dumps({"ok": False, "error": f"{channel}: {exc}"}), file=sys.stderr)

    def _pass(self, channel: str, frame: bytes) -> None:
        frame = with_checksum(frame)
        with self.lock:
            chosen = next(
                (
                    k
                    for k, (_op, chan, what) in enumerate(self.pending)
                    if chan == channel and matches(frame, what)
                ),
                None,
            )
            op = self.pending.pop(chosen)[0] if chosen is not None else ""
            if op == "hold":
                self.held[channel] = (frame, time.monotonic() + HOLD_LIMIT)
                self._note("hold", channel, frame)
                return
            released = self.held.pop(channel, None)
        self._send(channel, frame)
        if op == "copy":
            self._send(channel, frame)
            with self.lock:
                self._note("copy", channel, frame)
        if released is not None:
            self._send(channel, released[0])

    def _expire(self) -> None:
        now = time.monotonic()
        with self.lock:
            late = [c for c, (_f, until) in self.held.items() if until <= now]
            frames = [(c, self.held.pop(c)[0]) for c in late]
        for channel, frame in frames:
            self._send(channel, frame)

    def run(self, stop: threading.Event) -> None:
        by_fd = {s.fileno(): (channel, s) for channel, s in self.socks.items()}
        while not stop.is_set():
            ready, _w, _x = select.select(list(by_fd), [], [], 0.05)
            for fd in ready:
                channel, s = by_fd[fd]
                frame, address = s.recvfrom(65535)
                if address[2] == socket.PACKET_OUTGOING:
                    continue  # our own sending, seen on the way out
                self._pass(channel, frame)
            self._expire()


def tcp_frame_example() -> bytes:
    """An IPv4 TCP segment (ACK+PSH, 5 bytes at sequence number 1000), for examples."""
    tcp = struct.pack("!HHIIBBHHH", 4000, 80, 1000, 1, 5 << 4, 0x18, 65535, 0, 0) + b"hello"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                     bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2]))  # fmt: skip
    return ip + tcp


def main() -> None:
    """Forward between the devices given on the command line (the client's first);
    read commands until ``exit`` or end of input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness ends this program
    forwarder = _Forwarder({"A->B": sys.argv[1], "B->A": sys.argv[2]})
    stop = threading.Event()
    worker = threading.Thread(target=forwarder.run, args=(stop,), daemon=True)
    worker.start()
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.get("op")
        if op == "exit":
            break
        if op in ("copy", "hold"):
            forwarder.command(op, str(cmd["channel"]), str(cmd.get("match", "any")))
            print(json.dumps({"ok": True}), flush=True)
        elif op == "log":
            with forwarder.lock:
                print(json.dumps({"ok": True, "done": forwarder.done}), flush=True)
        else:
            print(json.dumps({"ok": False, "error": f"unknown op {op}"}), flush=True)
    stop.set()
    worker.join(timeout=1)


if __name__ == "__main__":
    main()
