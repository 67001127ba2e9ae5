"""The conformance scenarios: scripted runs of this machine's TCP stack, recorded.

Each scenario drives a :class:`~checker.kernel.lab.Lab` call by call and returns a
:class:`~checker.kernel.recording.Recording`: every socket call with its result or
errno, the segments captured on each side, the segments nftables dropped (the first
``count`` matching ones reaching the receiver after the rule), and the sampled ``ss``
states of the connection.  Timers are made fast with per-namespace sysctls; TIME-WAIT
(60 s in Linux) is never waited out.

Examples
--------
>>> sorted(SCENARIOS)[:3]
['active-close', 'close-with-unread-data', 'connect-refused']
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .lab import Lab
from .pcap import read_segments
from .recording import ACK_BYTES, PORT, SERVER_ADDR, SYSCTLS, DropRule, Recording

__all__ = ["SCENARIOS", "record"]

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


#: Each scenario's script, with the sysctls it runs under (:data:`SYSCTLS`).
SCENARIOS: dict[str, tuple[Script, dict[str, str]]] = {
    name: (script, SYSCTLS[name])
    for name, script in (
        ("active-close", active_close),
        ("server-never-closes", server_never_closes),
        ("final-acks-lost", final_acks_lost),
        ("last-ack-gives-up", last_ack_gives_up),
        ("simultaneous-close", simultaneous_close),
        ("write-after-peer-gone", write_after_peer_gone),
        ("connect-refused", connect_refused),
        ("linger-zero", linger_zero),
        ("close-with-unread-data", close_with_unread_data),
    )
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
