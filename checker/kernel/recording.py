"""What a recorded kernel run is, and how its pieces are read: the data of the lab.

A :class:`Recording` is what one scenario did and saw: its socket calls with their
results, each side's capture, the losses nftables made (:class:`DropRule`) and the
``ss`` samples (:class:`SsSample`, read by :func:`parse_ss` and :func:`parse_timer`).
Reading a recording back -- to check it against the model -- needs this module alone,
not the lab that drives namespaces and processes (:mod:`checker.kernel.lab`).

Examples
--------
>>> sorted(SYSCTLS)[:3]
['active-close', 'close-with-unread-data', 'connect-refused']
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from .pcap import Wire

__all__ = [
    "ACK_BYTES",
    "CLIENT_ADDR",
    "PORT",
    "SERVER_ADDR",
    "SYSCTLS",
    "DropRule",
    "Recording",
    "SsSample",
    "parse_ss",
    "parse_timer",
]

#: The lab's addresses: the client (A) and the server (B).
CLIENT_ADDR = "10.77.0.1"
SERVER_ADDR = "10.77.0.2"
#: The port the server listens on.
PORT = 80
#: A pure ACK at the IP layer: 20 bytes of IP, 32 of TCP with the timestamp option.
ACK_BYTES = 52


#: TCP flag bits as nftables and the capture name them.
TCP_BITS = {"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20}


@dataclass(frozen=True)
class DropRule:
    """Lose the first ``count`` segments reaching ``receiver`` whose TCP flags are exactly
    ``flags`` (``exact``) or include them, each ``size`` bytes at the IP layer; ``since``:
    seconds after the start when the rule went in."""

    receiver: str
    flags: tuple[str, ...]
    exact: bool
    count: int
    size: int
    since: float = 0.0

    @property
    def mask(self) -> int:
        return sum(TCP_BITS[f] for f in self.flags)

    @property
    def nft(self) -> str:
        """The rule's match, e.g. ``tcp flags == ack`` or ``tcp flags & fin == fin``."""
        names = " | ".join(self.flags)
        return f"tcp flags == {names}" if self.exact else f"tcp flags & {names} == {names}"

    def matches(self, tcp_flags: int) -> bool:
        """Whether a segment with this raw flags byte matches.

        >>> acks = DropRule("B", ("ack",), True, 1, 52)
        >>> acks.matches(0x10), acks.matches(0x18)  # a pure ACK; PSH+ACK does not match
        (True, False)
        """
        return tcp_flags == self.mask if self.exact else tcp_flags & self.mask == self.mask

    def describe(self) -> str:
        return f"lose the first {self.count} segment(s) reaching {self.receiver} with {self.nft}"


@dataclass
class Recording:
    """What one scenario run did and saw."""

    name: str
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Segments captured on each side's interface (the receiver's capture sees a segment
    #: its input hook then drops).
    wire: dict[str, list[Wire]] = field(default_factory=dict)
    drops: list[DropRule] = field(default_factory=list)
    samples: list[SsSample] = field(default_factory=list)
    #: (when, side) of every ``ss`` run (see :attr:`checker.kernel.lab.Lab.rounds`).
    rounds: list[tuple[float, str]] = field(default_factory=list)
    #: The wall clock at the lab's start (capture times are wall-clock times).
    wall0: float = 0.0

    def states(self, side: str) -> list[str]:
        """The connection's sampled states on ``side``, consecutive repeats merged
        (the listener is left out)."""
        out: list[str] = []
        for s in self.samples:
            if s.side == side and s.state != "LISTEN" and (not out or out[-1] != s.state):
                out.append(s.state)
        return out

    def to_json(self) -> dict[str, Any]:
        """Everything recorded, as JSON (:meth:`from_json` reads it back)."""
        return {
            "name": self.name,
            "calls": self.calls,
            "wire": {side: [dataclasses.asdict(w) for w in ws] for side, ws in self.wire.items()},
            "drops": [dataclasses.asdict(d) for d in self.drops],
            "samples": [dataclasses.asdict(s) for s in self.samples],
            "rounds": [list(r) for r in self.rounds],
            "wall0": self.wall0,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Recording:
        return Recording(
            data["name"],
            data["calls"],
            {side: [Wire(**w) for w in ws] for side, ws in data["wire"].items()},
            [DropRule(**{**d, "flags": tuple(d["flags"])}) for d in data["drops"]],
            [SsSample(**s) for s in data["samples"]],
            [(float(t), str(side)) for t, side in data["rounds"]],
            float(data["wall0"]),
        )

    def flow(self, side: str) -> list[tuple[str, str]]:
        """(direction, flags) of the segments captured on ``side``."""
        return [
            ("A->B" if w.dst.startswith(SERVER_ADDR) else "B->A", w.flags) for w in self.wire[side]
        ]


#: The sysctls each scenario runs under, per namespace: timers made fast, TIME-WAIT
#: (60 s in Linux) never waited out.
SYSCTLS: dict[str, dict[str, str]] = {
    "active-close": {},
    "server-never-closes": {"net.ipv4.tcp_fin_timeout": "1"},
    "final-acks-lost": {"net.ipv4.tcp_rto_min_us": "50000"},
    "last-ack-gives-up": {"net.ipv4.tcp_rto_min_us": "50000", "net.ipv4.tcp_orphan_retries": "1"},
    "simultaneous-close": {"net.ipv4.tcp_rto_min_us": "200000"},
    "write-after-peer-gone": {},
    "connect-refused": {},
    "linger-zero": {},
    "close-with-unread-data": {},
}


@dataclass(frozen=True)
class SsSample:
    """One socket in one ``ss -tan -o`` sample: when, which side, its state and timer."""

    t: float
    side: str
    state: str
    local: str
    peer: str
    timer: str


_SS_STATES = {
    "SYN-SENT": "SYN-SENT",
    "SYN-RECV": "SYN-RECEIVED",
    "ESTAB": "ESTABLISHED",
    "FIN-WAIT-1": "FIN-WAIT-1",
    "FIN-WAIT-2": "FIN-WAIT-2",
    "CLOSE-WAIT": "CLOSE-WAIT",
    "CLOSING": "CLOSING",
    "LAST-ACK": "LAST-ACK",
    "TIME-WAIT": "TIME-WAIT",
    "LISTEN": "LISTEN",
}


_TIMER = re.compile(r"^timer:\(([a-z_-]+),([^,]*),(\d+)\)$")
_REMAINING = re.compile(r"^(?:(\d+)min)?(?:(\d+)(sec|\.))?(?:(\d{3})ms)?$")


def parse_timer(field: str) -> tuple[str, float, float] | None:
    """``ss -o``'s ``timer:(KIND,REMAINING,RETRIES)`` as (kind, least, most seconds left).

    ``ss`` prints the time left in pieces and drops the smaller ones as the larger grow:
    ``1min`` (at least a minute: the seconds dropped), ``59sec`` (the milliseconds
    dropped), ``004ms``, and -- the trap -- ``1.500ms`` for 1.5 *seconds* (below 10 s
    the seconds are followed by a dot and the milliseconds).  The range says what the
    printed value allows.

    >>> parse_timer("timer:(timewait,59sec,0)")
    ('timewait', 59.0, 60.0)
    >>> parse_timer("timer:(on,1.500ms,0)")
    ('on', 1.5, 1.501)
    >>> parse_timer("timer:(timewait,1sec,0)")  # below 10 s, no milliseconds: exact
    ('timewait', 1.0, 1.001)
    >>> parse_timer("timer:(timewait,1min,0)")
    ('timewait', 60.0, 61.0)
    >>> parse_timer("timer:(on,044ms,0)")
    ('on', 0.044, 0.045)
    >>> parse_timer("timer:(on,,3)") is None
    True
    """
    m = _TIMER.match(field)
    if m is None or not m.group(2):
        return None
    parts = _REMAINING.match(m.group(2))
    if parts is None:
        return None
    minutes, secs, _mark, msecs = parts.groups()
    value = int(minutes or 0) * 60 + int(secs or 0) + int(msecs or 0) / 1000
    if minutes and int(minutes) > 9:
        step = 60.0  # the seconds are dropped too
    elif minutes or (secs and int(secs) > 9):
        step = 1.0  # the milliseconds are dropped
    else:
        step = 0.001
    return m.group(1), round(value, 3), round(value + step, 3)


def parse_ss(text: str, t: float, side: str) -> list[SsSample]:
    """The sockets of one ``ss -tan -o`` output, states in RFC 9293's names.

    >>> out = "State Recv-Q Send-Q Local Peer\\nFIN-WAIT-2 0 0 10.77.0.1:40000 "
    >>> out += "10.77.0.2:80 timer:(timewait,59sec,0)"
    >>> parse_ss(out, 0.0, "A")[0].state
    'FIN-WAIT-2'
    """
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5 or parts[0] not in _SS_STATES:
            continue
        timer = next((p for p in parts[5:] if p.startswith("timer:")), "")
        out.append(SsSample(t, side, _SS_STATES[parts[0]], parts[3], parts[4], timer))
    return out
