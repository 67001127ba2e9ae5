"""The conformance scenarios: scripted runs of this machine's TCP stack, recorded.

Each scenario drives a :class:`~checker.kernel.lab.Lab` call by call and returns a
:class:`Recording`: every socket call with its result or errno, the segments captured on
each side, the segments nftables dropped (the first ``count`` matching ones reaching the
receiver after the rule), and the sampled ``ss`` states of the connection.  Timers are made
fast with per-namespace sysctls; TIME-WAIT (60 s in Linux) is never waited out.

Examples
--------
>>> sorted(SCENARIOS)[:3]
['active-close', 'close-with-unread-data', 'connect-refused']
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lab import SERVER_ADDR, Lab, SsSample
from .pcap import Wire, read_segments

__all__ = ["SCENARIOS", "DropRule", "Recording", "record"]

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


Script = Callable[[Lab, Recording], None]


def _open(lab: Lab) -> None:
    lab.do("B", "listen", port=PORT)
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT)
    lab.do("B", "accept")


def _drop(lab: Lab, rec: Recording, rule: DropRule) -> None:
    lab.drop(rule.receiver, rule.nft, rule.count, rule.size)
    since = round(time.monotonic() - lab.t0, 4)
    rec.drops.append(DropRule(rule.receiver, rule.flags, rule.exact, rule.count, rule.size, since))


def active_close(lab: Lab, rec: Recording) -> None:
    """Client FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT; server CLOSE-WAIT -> LAST-ACK."""
    _open(lab)
    lab.do("A", "close")
    time.sleep(0.1)  # past the delayed ACK of the FIN (~40 ms): B acknowledges apart
    lab.do("B", "recv", timeout=1)
    lab.do("B", "close")
    time.sleep(0.2)


def server_never_closes(lab: Lab, rec: Recording) -> None:
    """The client closes and exits; its orphaned FIN-WAIT-2 leaves after
    tcp_fin_timeout; the server's late FIN is answered with RST."""
    _open(lab)
    lab.do("A", "close")
    time.sleep(0.1)
    lab.do("B", "recv", timeout=1)
    lab.do("A", "exit")
    time.sleep(1.6)  # tcp_fin_timeout = 1
    lab.do("B", "close")
    time.sleep(0.2)


def final_acks_lost(lab: Lab, rec: Recording) -> None:
    """The client's final ACKs are lost: LAST-ACK retransmits its FIN, TIME-WAIT
    acknowledges every copy, the server reaches CLOSED."""
    _open(lab)
    lab.do("A", "close")
    time.sleep(0.1)
    lab.do("B", "recv", timeout=1)
    _drop(lab, rec, DropRule("B", ("ack",), True, 2, ACK_BYTES))
    lab.do("B", "close")
    time.sleep(0.8)


def last_ack_gives_up(lab: Lab, rec: Recording) -> None:
    """All the client's ACKs lost, one orphan retry: the server's orphaned LAST-ACK
    gives up silently (no RST)."""
    _open(lab)
    lab.do("A", "close")
    time.sleep(0.1)
    lab.do("B", "recv", timeout=1)
    _drop(lab, rec, DropRule("B", ("ack",), True, 1000, ACK_BYTES))
    lab.do("B", "close")  # the only descriptor: the socket is orphaned
    time.sleep(1.5)


def simultaneous_close(lab: Lab, rec: Recording) -> None:
    """Simultaneous close made deterministic by losing the server's first FIN: the
    client's FIN reaches the server in FIN-WAIT-1, which enters CLOSING."""
    _open(lab)
    _drop(lab, rec, DropRule("A", ("fin",), False, 1, ACK_BYTES))
    lab.do("B", "close")
    time.sleep(0.05)
    lab.do("A", "close")
    time.sleep(0.8)


def write_after_peer_gone(lab: Lab, rec: Recording) -> None:
    """The server closes and exits; the client's first write succeeds and draws a RST,
    the next fails with EPIPE."""
    _open(lab)
    lab.do("B", "close")
    lab.do("B", "exit")
    time.sleep(0.1)
    lab.do("A", "send", bytes=10)
    time.sleep(0.1)
    lab.do("A", "send", bytes=10)


def connect_refused(lab: Lab, rec: Recording) -> None:
    """connect() to a port with no listener: RST, ECONNREFUSED."""
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT)
    time.sleep(0.1)


def linger_zero(lab: Lab, rec: Recording) -> None:
    """SO_LINGER {on, 0} then close: RST instead of FIN, no TIME-WAIT."""
    _open(lab)
    lab.do("A", "linger0")
    lab.do("A", "close")
    time.sleep(0.2)


def close_with_unread_data(lab: Lab, rec: Recording) -> None:
    """close() with received data unread: RST instead of FIN."""
    _open(lab)
    lab.do("A", "send", bytes=10)
    time.sleep(0.1)
    lab.do("B", "close")
    time.sleep(0.2)


SCENARIOS: dict[str, tuple[Script, dict[str, str]]] = {
    "active-close": (active_close, {}),
    "server-never-closes": (server_never_closes, {"net.ipv4.tcp_fin_timeout": "1"}),
    "final-acks-lost": (final_acks_lost, {"net.ipv4.tcp_rto_min_us": "50000"}),
    "last-ack-gives-up": (
        last_ack_gives_up,
        {"net.ipv4.tcp_rto_min_us": "50000", "net.ipv4.tcp_orphan_retries": "1"},
    ),
    "simultaneous-close": (simultaneous_close, {"net.ipv4.tcp_rto_min_us": "200000"}),
    "write-after-peer-gone": (write_after_peer_gone, {}),
    "connect-refused": (connect_refused, {}),
    "linger-zero": (linger_zero, {}),
    "close-with-unread-data": (close_with_unread_data, {}),
}


def record(name: str, keep: Path | None = None) -> Recording:
    """Run scenario ``name`` in a fresh lab; everything it did and saw."""
    script, sysctls = SCENARIOS[name]
    rec = Recording(name)
    with tempfile.TemporaryDirectory(prefix="tcpcheck-captures-") as tmp:
        where = keep or Path(tmp)
        with Lab(sysctls, keep=where) as lab:
            script(lab, rec)
            rec.samples = list(lab.samples)
            rec.rounds = list(lab.rounds)
            rec.wall0 = lab.wall0
            agents = lab.agents
        # The captures are complete once tcpdump has stopped (the lab's exit).
        for side in ("A", "B"):
            if (where / f"{side}.pcap").exists():
                rec.wire[side] = read_segments(where / f"{side}.pcap")
    rec.calls = {side: list(agent.log) for side, agent in agents.items()}
    return rec
