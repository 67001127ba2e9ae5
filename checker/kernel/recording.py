"""What a recorded kernel run is, and how its pieces are read: the data of the lab.

A :class:`Recording` is what one scenario did and saw: its socket calls with their
results, each side's capture, the losses nftables made (:class:`DropRule`) and the
``ss`` samples (:class:`SsSample`, read by :func:`parse_ss` and :func:`parse_timer`).
Reading a recording back -- to check it against the model -- needs this module alone,
not the lab that drives namespaces and processes (:mod:`checker.kernel.lab`).

Examples
--------
>>> sorted(SYSCTLS)[:3]
['active-close', 'close-with-unread-data', 'coalesced-sends']
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
    "READ_SYSCTLS",
    "SERVER_ADDR",
    "SYN_BYTES",
    "SYSCTLS",
    "DropRule",
    "Injected",
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
#: A SYN at the IP layer: 20 bytes of IP, 40 of TCP with its options (MSS, SACK
#: permitted, timestamps, window scale).
SYN_BYTES = 60


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


@dataclass(frozen=True)
class Injected:
    """A segment a third party forged and sent to ``receiver`` as if from its peer.

    In the captures it looks like the peer's own segment (it leaves the peer's
    interface with the peer's address): :func:`checker.kernel.runs.run_from_recording`
    takes it out of the peer's channel by these fields.  ``t``: when it was sent
    (seconds after the start); ``seq`` and ``ack``: numbered as the capture numbers the
    peer's segments (relative to the initial sequence numbers of the connection's
    first SYNs, :func:`checker.kernel.pcap.read_segments`); ``flags`` as the capture
    names them (``RST``, ``RST+ACK``...); ``note``: where it was placed and why.
    """

    t: float
    receiver: str
    src: str
    dst: str
    flags: str
    seq: int
    ack: int
    length: int = 0
    note: str = ""


#: The TCP sysctls a recording keeps, read in each namespace after the scenario's own
#: settings (:attr:`Recording.sysctls`); a name this kernel lacks is left out.  Besides
#: the timers and retry counts: what decides a TIME-WAIT's fate (tcp_rfc1337,
#: tcp_tw_reuse and its delay), the challenge ACK's limits, and the ephemeral ports.
READ_SYSCTLS = tuple(
    f"net.ipv4.{name}"
    for name in (
        "tcp_syn_retries",
        "tcp_synack_retries",
        "tcp_orphan_retries",
        "tcp_syn_linear_timeouts",
        "tcp_rto_min_us",
        "tcp_rto_max_ms",
        "tcp_fin_timeout",
        "tcp_rfc1337",
        "tcp_tw_reuse",
        "tcp_tw_reuse_delay",
        "tcp_retries1",
        "tcp_retries2",
        "tcp_delack_min",
        "tcp_timestamps",
        "tcp_challenge_ack_limit",
        "tcp_invalid_ratelimit",
        "ip_local_port_range",
    )
)


@dataclass
class Recording:
    """What one scenario run did and saw.

    ``kernel``: the kernel's release (``uname -r``); ``sysctls``: the values of
    :data:`READ_SYSCTLS` as each namespace had them, per side (``{"A": {name: value},
    "B": {...}}``, values as ``sysctl -n`` prints them); ``injected``: the segments a
    third party forged (:class:`Injected`).  Recordings made before these were kept
    read back with them empty.
    """

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
    kernel: str = ""
    sysctls: dict[str, dict[str, str]] = field(default_factory=dict)
    injected: list[Injected] = field(default_factory=list)
    #: What the network between the sides did (a lab with a forwarder between them:
    #: :mod:`checker.kernel.between`): ``[when, "copy" or "hold", channel, flags, seq,
    #: length]``, ``when`` from the lab's start, ``seq`` as on the wire.  The runs do
    #: not read it: the captures show what the network did; it is the harness's word.
    network: list[list[Any]] = field(default_factory=list)

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
            "kernel": self.kernel,
            "sysctls": self.sysctls,
            "injected": [dataclasses.asdict(i) for i in self.injected],
            **({"network": self.network} if self.network else {}),
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
            str(data.get("kernel", "")),
            {
                side: {str(k): str(v) for k, v in values.items()}
                for side, values in data.get("sysctls", {}).items()
            },
            [Injected(**i) for i in data.get("injected", [])],
            [list(row) for row in data.get("network", [])],
        )

    def read_sysctls(self) -> dict[str, str]:
        """The sysctls read in the namespaces, as one mapping: a name both sides had at
        one value maps to it; a name they differ on appears as ``NAME@A`` and ``NAME@B``
        (the lab sets both alike, so this does not happen in the scenarios).  Empty
        for a recording made before the values were kept.

        >>> rec = Recording("x", sysctls={"A": {"a": "1", "b": "2"}, "B": {"a": "1", "b": "3"}})
        >>> rec.read_sysctls()
        {'a': '1', 'b@A': '2', 'b@B': '3'}
        """
        sides = sorted(self.sysctls)
        names = sorted({name for side in sides for name in self.sysctls[side]})
        out: dict[str, str] = {}
        for name in names:
            values = {side: self.sysctls[side].get(name) for side in sides}
            if len(set(values.values())) == 1 and None not in values.values():
                out[name] = str(values[sides[0]])
            else:
                out.update({f"{name}@{s}": v for s, v in values.items() if v is not None})
        return out

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
    "immediate-close": {},
    "half-close-with-data": {},
    "fin-on-data": {},
    "large-send-then-close": {},
    "coalesced-sends": {},
    "simultaneous-close-crossing": {},
    "simultaneous-close-merged-ack": {},
    "simultaneous-open": {},
    "lost-handshake-ack": {},
    "syn-retries-1": {"net.ipv4.tcp_syn_retries": "1"},
    "syn-retries-3": {"net.ipv4.tcp_syn_retries": "3"},
    # The kernel's defaults, on purpose: these two measure the default give-up times.
    "syn-retries-default": {},
    "orphan-give-up-default": {},
    "time-wait-reuse-by-syn": {},
    "tw-reuse": {"net.ipv4.tcp_tw_reuse": "1", "net.ipv4.ip_local_port_range": "40000 40000"},
    "rst-into-time-wait-rfc1337-0": {"net.ipv4.tcp_rfc1337": "0"},
    "rst-into-time-wait-rfc1337-1": {"net.ipv4.tcp_rfc1337": "1"},
    "injected-rst-exact": {},
    "injected-rst-in-window": {},
    "port-reuse": {},
    "lost-syn-ack": {},
    "rst-at-fin": {},
    # Without SACK, the duplicate ACK of the early segment marks nothing lost (RACK
    # needs SACK; fast retransmit, three duplicate ACKs): no retransmission races the
    # late one.
    "network-reorders": {"net.ipv4.tcp_sack": "0"},
    "network-duplicates": {},
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
