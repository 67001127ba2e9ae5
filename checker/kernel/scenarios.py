"""The conformance scenarios: scripted runs of this machine's TCP stack, recorded.

Each scenario drives a :class:`~checker.kernel.lab.Lab` call by call and returns a
:class:`~checker.kernel.recording.Recording`: every socket call with its result or
errno, the segments captured on each side, the segments nftables dropped (the first
``count`` matching ones reaching the receiver after the rule), the segments a third
party forged (:meth:`~checker.kernel.lab.Lab.inject`), the sampled ``ss`` states of the
connection, the kernel's release and its TCP sysctls as read in each namespace.  Timers
are made fast with per-namespace sysctls where that does not defeat the scenario's
point; TIME-WAIT (60 s in Linux) is never waited out.  Three scenarios measure the
kernel's default give-up times and take minutes (:data:`LONG`): :func:`record_many`
runs them alongside the others.

Examples
--------
>>> sorted(SCENARIOS)[:3]
['active-close', 'close-with-unread-data', 'coalesced-sends']
>>> sorted(LONG)
['orphan-give-up-default', 'syn-retries-3', 'syn-retries-default']
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .lab import Lab, abort_all
from .pcap import read_segments
from .recording import (
    ACK_BYTES,
    CLIENT_ADDR,
    PORT,
    SERVER_ADDR,
    SYN_BYTES,
    SYSCTLS,
    DropRule,
    Recording,
)

__all__ = ["CLIENT_PORT", "LONG", "SCENARIOS", "record", "record_many"]

Script = Callable[[Lab, Recording], None]

#: The client's port where a scenario needs a fixed one (to reuse a 4-tuple).
CLIENT_PORT = 40000


def _open(lab: Lab, local_port: int | None = None) -> None:
    lab.do("B", "listen", port=PORT)
    if local_port is None:
        lab.do("A", "connect", host=SERVER_ADDR, port=PORT)
    else:
        lab.do("A", "connect", host=SERVER_ADDR, port=PORT, local_port=local_port)
    lab.do("B", "accept")


def _drop(lab: Lab, rec: Recording, rule: DropRule) -> None:
    lab.drop(rule.receiver, rule.nft, rule.count, rule.size)
    since = round(time.monotonic() - lab.t0, 4)
    rec.drops.append(DropRule(rule.receiver, rule.flags, rule.exact, rule.count, rule.size, since))


def _wait_gone(lab: Lab, side: str, limit: float) -> None:
    """Wait (at most ``limit`` seconds) until a round of ``ss`` finds no connection on
    ``side`` (the listener aside) after one that did."""
    deadline = time.monotonic() + limit
    seen = False
    while time.monotonic() < deadline:
        rounds = [t for t, who in lab.rounds if who == side]
        if rounds:
            last = rounds[-1]
            there = any(s.t == last and s.side == side and s.state != "LISTEN" for s in lab.samples)
            if seen and not there:
                return
            seen = seen or there
        lab.pause(0.2)


def _active_close_end(lab: Lab) -> None:
    """The client closes, the server reads the FIN and closes after the ACK went out."""
    lab.do("A", "close")
    lab.pause(0.1)
    lab.drain("B")
    lab.do("B", "close")
    lab.pause(0.2)


def active_close(lab: Lab, rec: Recording) -> None:
    """Client FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT; server CLOSE-WAIT -> LAST-ACK."""
    _open(lab)
    lab.do("A", "close")
    lab.pause(0.1)  # past the delayed ACK of the FIN (~40 ms): B acknowledges apart
    lab.do("B", "recv", wait=1)
    lab.do("B", "close")
    lab.pause(0.2)


def server_never_closes(lab: Lab, rec: Recording) -> None:
    """The client closes and exits; its orphaned FIN-WAIT-2 leaves after
    tcp_fin_timeout; the server's late FIN is answered with RST."""
    _open(lab)
    lab.do("A", "close")
    lab.pause(0.1)
    lab.do("B", "recv", wait=1)
    lab.do("A", "exit")
    lab.pause(1.6)  # tcp_fin_timeout = 1
    lab.do("B", "close")
    lab.pause(0.2)


def final_acks_lost(lab: Lab, rec: Recording) -> None:
    """The client's final ACKs are lost: LAST-ACK retransmits its FIN, TIME-WAIT
    acknowledges every copy, the server reaches CLOSED."""
    _open(lab)
    lab.do("A", "close")
    lab.pause(0.1)
    lab.do("B", "recv", wait=1)
    _drop(lab, rec, DropRule("B", ("ack",), True, 2, ACK_BYTES))
    lab.do("B", "close")
    lab.pause(0.8)


def last_ack_gives_up(lab: Lab, rec: Recording) -> None:
    """All the client's ACKs lost, one orphan retry: the server's orphaned LAST-ACK
    gives up silently (no RST)."""
    _open(lab)
    lab.do("A", "close")
    lab.pause(0.1)
    lab.do("B", "recv", wait=1)
    _drop(lab, rec, DropRule("B", ("ack",), True, 1000, ACK_BYTES))
    lab.do("B", "close")  # the only descriptor: the socket is orphaned
    lab.pause(1.5)


def simultaneous_close(lab: Lab, rec: Recording) -> None:
    """Simultaneous close made deterministic by losing the server's first FIN: the
    client's FIN reaches the server in FIN-WAIT-1, which enters CLOSING."""
    _open(lab)
    _drop(lab, rec, DropRule("A", ("fin",), False, 1, ACK_BYTES))
    lab.do("B", "close")
    lab.pause(0.05)
    lab.do("A", "close")
    lab.pause(0.8)


def write_after_peer_gone(lab: Lab, rec: Recording) -> None:
    """The server closes and exits; the client's first write succeeds and draws a RST,
    the next fails with EPIPE."""
    _open(lab)
    lab.do("B", "close")
    lab.do("B", "exit")
    lab.pause(0.1)
    lab.do("A", "send", bytes=10)
    lab.pause(0.1)
    lab.do("A", "send", bytes=10)


def connect_refused(lab: Lab, rec: Recording) -> None:
    """connect() to a port with no listener: RST, ECONNREFUSED."""
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT)
    lab.pause(0.1)


def linger_zero(lab: Lab, rec: Recording) -> None:
    """SO_LINGER {on, 0} then close: RST instead of FIN, no TIME-WAIT."""
    _open(lab)
    lab.do("A", "linger0")
    lab.do("A", "close")
    lab.pause(0.2)


def close_with_unread_data(lab: Lab, rec: Recording) -> None:
    """close() with received data unread: RST instead of FIN."""
    _open(lab)
    lab.do("A", "send", bytes=10)
    lab.pause(0.1)
    lab.do("B", "close")
    lab.pause(0.2)


def immediate_close(lab: Lab, rec: Recording) -> None:
    """The client closes; the server closes the moment recv() returns 0 (no pause, no
    round trip to the harness): the server's ACK of the FIN, still delayed, rides on
    its own FIN+ACK.  The server sends one segment fewer than in active-close, and the
    client goes from FIN-WAIT-1 straight to TIME-WAIT, never through FIN-WAIT-2.  The
    client sends 10 bytes first: a connection that has received no data acknowledges a
    bare FIN at the next timer tick or two (3-8 ms at HZ=250, sometimes before the
    application is back), one that has, after TCP_ATO_MIN's 40 ms."""
    _open(lab)
    lab.do("A", "send", bytes=10)
    lab.pause(0.1)
    lab.do("B", "recv", wait=1)
    lab.do("A", "close")
    lab.batch("B", ("recv", {"wait": 1}), ("close", {}))
    lab.pause(0.2)


def half_close_with_data(lab: Lab, rec: Recording) -> None:
    """shutdown(SHUT_WR) on the client: its FIN goes, the socket stays its own (no
    orphan, no FIN-WAIT-2 timeout).  The server reads the EOF and keeps sending; the
    client, in FIN-WAIT-2, reads and acknowledges the data; then the server closes,
    the client reads the EOF and closes (TIME-WAIT)."""
    _open(lab)
    lab.do("A", "shutdown")
    lab.pause(0.1)  # past the delayed ACK: the server acknowledges the FIN apart
    lab.do("B", "recv", wait=1)
    for _ in range(2):
        lab.do("B", "send", bytes=10)
        lab.pause(0.1)
        lab.do("A", "recv", wait=1)
    lab.do("B", "close")
    lab.pause(0.1)
    lab.drain("A")
    lab.do("A", "close")
    lab.pause(0.2)


def fin_on_data(lab: Lab, rec: Recording) -> None:
    """send(MSG_MORE) then close() at once: the kernel held the 10 bytes back for more,
    and close() puts the FIN on that very segment (tcp_send_fin appends it to the
    unsent tail of the write queue): one FIN+ACK carrying data."""
    _open(lab)
    lab.batch("A", ("send", {"bytes": 10, "more": True}), ("close", {}))
    lab.pause(0.1)  # past the delayed ACK: the server acknowledges apart
    lab.drain("B")
    lab.do("B", "close")
    lab.pause(0.2)


def large_send_then_close(lab: Lab, rec: Recording) -> None:
    """One send() of 60000 bytes and close() at once: the kernel cuts the call's bytes
    into several segments (its MSS and window, and segmentation offload: the capture
    shows the large ones), the server acknowledges them as they come, some ACKs
    covering several, and the client's FIN follows the last of the data, the close()
    long returned."""
    _open(lab)
    lab.do("B", "send", bytes=5)
    lab.pause(0.05)
    lab.do("A", "recv", wait=1)
    lab.do("A", "send", bytes=60000)
    lab.do("A", "close")
    lab.pause(0.1)
    lab.drain("B")
    lab.do("B", "close")
    lab.pause(0.2)


def coalesced_sends(lab: Lab, rec: Recording) -> None:
    """Three send() calls of 10 bytes, the first two with MSG_MORE: the kernel holds
    them and sends the 30 bytes as one segment, which the server acknowledges with one
    ACK; then an ordinary close."""
    _open(lab)
    lab.do("A", "send", bytes=10, more=True)
    lab.do("A", "send", bytes=10, more=True)
    lab.do("A", "send", bytes=10)
    lab.pause(0.1)
    lab.do("B", "recv", wait=1)
    _active_close_end(lab)


def simultaneous_close_crossing(lab: Lab, rec: Recording) -> None:
    """Both close at one instant (each program waits for a shared instant on the
    monotonic clock): the FINs cross -- each side is in FIN-WAIT-1 when the other's
    FIN arrives, acknowledges it and enters CLOSING, then TIME-WAIT; nothing lost.
    (A FIN reaching a socket its application is closing waits in the socket's backlog
    until close() is done, so overlapping calls suffice.)  A run whose FINs did not
    cross is made again (:data:`ATTEMPTS`)."""
    _open(lab)
    lab.pause(0.05)
    lab.together(("A", "close", {}), ("B", "close", {}))
    lab.pause(0.5)


def simultaneous_close_merged_ack(lab: Lab, rec: Recording) -> None:
    """Both applications close about together, but not for TCP: the server's FIN
    reaches the client 10 ms before the client's close(), and the client's delayed ACK
    of it rides on the client's FIN.  The client goes CLOSE-WAIT -> LAST-ACK, the
    server FIN-WAIT-1 -> TIME-WAIT without FIN-WAIT-2 or CLOSING; the client never read
    the EOF.  The server sends 10 bytes first: a connection that has received no data
    acknowledges a bare FIN at the next timer tick (its delayed-ACK timeout, ``ato``,
    is still 0), one that has, after ~40 ms (TCP_ATO_MIN)."""
    _open(lab)
    lab.do("B", "send", bytes=10)
    lab.pause(0.1)
    lab.do("A", "recv", wait=1)
    lab.do("B", "close")
    lab.pause(0.01)
    lab.do("A", "close")
    lab.pause(0.3)


def simultaneous_open(lab: Lab, rec: Recording) -> None:
    """Both sides connect to each other from fixed ports, no listener: each one's first
    SYN is lost, so both sockets are in SYN-SENT when the retransmissions cross; each
    answers the other's SYN with a SYN+ACK (SYN-SENT -> SYN-RECEIVED -> ESTABLISHED on
    both sides), and both connect() calls succeed.  Then an ordinary close.

    Both connect() calls are made at one instant on one processor: their
    retransmission timers (1 s) are armed there within microseconds and expire in one
    pass of its timer interrupt, which sends both SYNs before either is delivered
    (a segment a timer sends waits in the processor's backlog until the pass ends)."""
    for receiver in ("A", "B"):
        _drop(lab, rec, DropRule(receiver, ("syn",), True, 1, SYN_BYTES))
    lab.together(
        ("A", "connect", {"host": SERVER_ADDR, "port": PORT, "local_port": CLIENT_PORT, "cpu": 0}),
        ("B", "connect", {"host": CLIENT_ADDR, "port": CLIENT_PORT, "local_port": PORT, "cpu": 0}),
    )
    lab.pause(0.1)
    _active_close_end(lab)


def lost_handshake_ack(lab: Lab, rec: Recording) -> None:
    """The client's ACK of the SYN+ACK is lost: the client is ESTABLISHED (its
    connect() returns), the server's request is not; the server retransmits its
    SYN+ACK after 1 s (TCP_TIMEOUT_INIT), the client acknowledges it again and the
    server's accept() returns.  Then an ordinary close."""
    lab.do("B", "listen", port=PORT)
    _drop(lab, rec, DropRule("B", ("ack",), True, 1, ACK_BYTES))
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT)
    lab.do("B", "accept")
    _active_close_end(lab)


def syn_retries(lab: Lab, rec: Recording) -> None:
    """Every SYN is lost on the way in (a filter at the server): connect() retransmits
    the SYN tcp_syn_retries times -- the first tcp_syn_linear_timeouts intervals 1 s
    each, then doubling -- and fails with ETIMEDOUT one more interval after the last."""
    _drop(lab, rec, DropRule("B", ("syn",), True, 1000, SYN_BYTES))
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT)
    lab.pause(0.2)


def orphan_give_up_default(lab: Lab, rec: Recording) -> None:
    """last-ack-gives-up at the kernel's defaults (tcp_orphan_retries = 0, read as 8;
    tcp_rto_min 200 ms): every ACK of the client lost, the server's orphaned LAST-ACK
    retransmits its FIN -- a tail loss probe, then 8 timeouts doubling from RTO --
    and leaves silently after about 108 s.  The client's TIME-WAIT lasts throughout:
    each retransmitted FIN restarts its 60 s."""
    _open(lab)
    lab.do("A", "close")
    lab.pause(0.1)
    lab.drain("B")
    _drop(lab, rec, DropRule("B", ("ack",), True, 1000, ACK_BYTES))
    lab.do("B", "close")
    _wait_gone(lab, "B", 200)
    lab.pause(0.5)


def time_wait_reuse_by_syn(lab: Lab, rec: Recording) -> None:
    """The server closes first, so the TIME-WAIT is the server's; the client closes
    (LAST-ACK -> CLOSED) and at once connects again from the same port.  Its SYN, with
    a higher sequence number, reaches the server's TIME-WAIT, which hands it to the
    listener: a new connection on the same 4-tuple, the server's new initial sequence
    number its old SND.NXT + 65537 (tcp_timewait_state_process).  Numbers in the
    recording stay relative to the first connection's SYNs."""
    _open(lab, CLIENT_PORT)
    lab.do("B", "close")
    lab.pause(0.1)
    lab.drain("A")
    lab.do("A", "close")
    lab.pause(0.05)
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT, local_port=CLIENT_PORT)
    lab.do("B", "accept")
    _active_close_end(lab)


def tw_reuse(lab: Lab, rec: Recording) -> None:
    """tcp_tw_reuse = 1, and one ephemeral port (ip_local_port_range): the client closes
    first (its TIME-WAIT holds the port) and connects again without binding.  Once a
    second has passed since the TIME-WAIT last heard from the peer
    (tcp_tw_reuse_delay, 1000 ms), connect() takes the 4-tuple over from TIME-WAIT
    (tcp_twsk_unique): the new SYN is numbered the old SND.NXT + 65537, and the server,
    whose side is CLOSED, accepts it.  (Before that delay, or with tcp_tw_reuse = 0,
    that connect() fails with EADDRNOTAVAIL; a port bound explicitly takes the
    TIME-WAIT over at once whatever tcp_tw_reuse says: tests/test_netlab.py.)"""
    _open(lab)
    _active_close_end(lab)
    lab.pause(1.1)
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT)
    lab.do("B", "accept")
    _active_close_end(lab)


def rst_into_time_wait(lab: Lab, rec: Recording) -> None:
    """The client closes first and reaches TIME-WAIT; a third party's RST at the
    client's RCV.NXT (the only number TIME-WAIT takes a RST at) arrives 0.1 s later.
    With tcp_rfc1337 = 0 it ends the TIME-WAIT at once ("TIME-WAIT assassination",
    RFC 1337); with 1 it is ignored and the TIME-WAIT stays."""
    _open(lab)
    _active_close_end(lab)
    lab.inject("A", "RST", 0, note="at RCV.NXT, into TIME-WAIT")
    lab.pause(0.3)


def injected_rst_exact(lab: Lab, rec: Recording) -> None:
    """A third party's RST at exactly the client's RCV.NXT (after 10 bytes from the
    server) resets the ESTABLISHED connection: the client's recv() fails with
    ECONNRESET, its socket is gone; the server's next data draws a RST from the client
    and the server's recv() fails with ECONNRESET too."""
    _open(lab)
    lab.do("B", "send", bytes=10)
    lab.pause(0.05)
    lab.do("A", "recv", wait=1)
    lab.pause(0.05)
    lab.inject("A", "RST", 0, note="at RCV.NXT")
    lab.pause(0.05)
    lab.do("A", "recv", wait=1)
    lab.do("B", "send", bytes=10)
    lab.pause(0.05)
    lab.do("B", "recv", wait=1)
    lab.pause(0.1)


def injected_rst_in_window(lab: Lab, rec: Recording) -> None:
    """A third party's RST inside the client's receive window but 1000 past RCV.NXT
    (RFC 5961 §3.2): not a reset; the client answers with a challenge ACK (its
    SND.NXT and RCV.NXT) and the connection carries on -- more data, then an ordinary
    close."""
    _open(lab)
    lab.do("B", "send", bytes=10)
    lab.pause(0.05)
    lab.do("A", "recv", wait=1)
    lab.pause(0.05)
    lab.inject("A", "RST", 1000, note="in the window, 1000 past RCV.NXT")
    lab.pause(0.05)
    lab.do("B", "send", bytes=10)
    lab.pause(0.05)
    lab.do("A", "recv", wait=1)
    _active_close_end(lab)


def port_reuse(lab: Lab, rec: Recording) -> None:
    """Two whole connections on one 4-tuple, as when a server restarts: the server
    closes first (its TIME-WAIT), the client closes; the server's listener is closed
    and bound again (SO_REUSEADDR lets it, the old connection still in TIME-WAIT);
    the client connects again from the same port, its SYN accepted through the
    TIME-WAIT; data both ways in each connection, and the second one closed by the
    client first."""
    _open(lab, CLIENT_PORT)
    lab.do("B", "send", bytes=10)
    lab.pause(0.05)
    lab.do("A", "recv", wait=1)
    lab.do("B", "close")
    lab.pause(0.1)
    lab.drain("A")
    lab.do("A", "close")
    lab.pause(0.05)
    lab.do("B", "unlisten")
    lab.do("B", "listen", port=PORT)
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT, local_port=CLIENT_PORT)
    lab.do("B", "accept")
    lab.do("A", "send", bytes=10)
    lab.pause(0.05)
    lab.do("B", "recv", wait=1)
    _active_close_end(lab)


def lost_syn_ack(lab: Lab, rec: Recording) -> None:
    """The server's first two SYN+ACKs are lost (the first, and whichever comes next:
    its timer's retransmission or its answer to the client's SYN), so the client's
    SYN timer surely fires: its retransmitted SYN reaching the server's request is
    answered with a SYN+ACK (tcp_check_req), not dropped or answered with a bare ACK.
    Then an ordinary close."""
    lab.do("B", "listen", port=PORT)
    _drop(lab, rec, DropRule("A", ("syn", "ack"), True, 2, SYN_BYTES))
    lab.do("A", "connect", host=SERVER_ADDR, port=PORT)
    lab.do("B", "accept")
    lab.pause(0.1)
    _active_close_end(lab)


def rst_at_fin(lab: Lab, rec: Recording) -> None:
    """A third party's RST at the number of the client's FIN (RCV.NXT - 1) reaches the
    server in CLOSE-WAIT: Linux resets (tcp_reset_check), where RFC 9293 would take it
    as outside RCV.NXT and answer with a challenge ACK (RFC 5961 §3.2).  The server's
    send() then fails; the client, in FIN-WAIT-2, is left to its FIN-WAIT-2 timer."""
    _open(lab)
    lab.do("A", "close")
    lab.pause(0.1)
    lab.drain("B", wait=0.2)
    lab.inject("B", "RST", -1, note="at the FIN's number, RCV.NXT - 1")
    lab.pause(0.05)
    lab.do("B", "send", bytes=10)
    lab.pause(0.1)


def network_reorders(lab: Lab, rec: Recording) -> None:
    """The network between reorders: A's first data segment is held back until its
    second has passed (two send() calls with TCP_NODELAY, both in flight at once).
    B sees data beyond RCV.NXT first and acknowledges what it has (a duplicate ACK,
    RFC 9293 §3.10.7.4), then all of it; an ordinary close follows."""
    _open(lab)
    lab.do("A", "nodelay")
    lab.network("hold", "A->B", "data")
    lab.batch("A", ("send", {"bytes": 100}), ("send", {"bytes": 100}))
    lab.pause(0.1)
    lab.do("B", "recv", wait=1)
    _active_close_end(lab)


def network_duplicates(lab: Lab, rec: Recording) -> None:
    """The network between duplicates: A's data segment and then its FIN each reach B
    twice, sent once.  B acknowledges each copy (a duplicate ACK for old data, an ACK
    for the repeated FIN), and the close goes on."""
    _open(lab)
    lab.network("copy", "A->B", "data")
    lab.do("A", "send", bytes=100)
    lab.pause(0.1)
    lab.do("B", "recv", wait=1)
    lab.network("copy", "A->B", "fin")
    _active_close_end(lab)


def _crossed(rec: Recording) -> bool:
    """Whether each side's first FIN left before the other's arrived (it does not
    acknowledge it)."""
    fins = [w for w in rec.wire.get("A", []) if "FIN" in w.flags]
    return len(fins) >= 2 and all(w.ack == 1 for w in fins[:2])


def _both_syn_received(rec: Recording) -> bool:
    """Whether both sides answered the other's SYN with a SYN+ACK."""
    senders = {w.src.split(":")[0] for w in rec.wire.get("A", []) if w.flags == "SYN+ACK"}
    return senders == {CLIENT_ADDR, SERVER_ADDR}


def _ack_rode_on_fin(closer: str) -> Callable[[Recording], bool]:
    """Whether ``closer``'s first segment after its peer's FIN is its own FIN+ACK (the
    delayed ACK rode on it), as its peer's capture shows."""
    other = "A" if closer == "B" else "B"
    mine = CLIENT_ADDR if closer == "A" else SERVER_ADDR

    def rode(rec: Recording) -> bool:
        seen = rec.wire.get(other, [])
        fin = next((i for i, w in enumerate(seen) if "FIN" in w.flags and
                    not w.src.startswith(mine)), None)  # fmt: skip
        if fin is None:
            return False
        after = [w for w in seen[fin + 1 :] if w.src.startswith(mine)]
        return bool(after) and "FIN" in after[0].flags

    return rode


#: Scenarios whose point hangs on timing: made again (at most this often) until the
#: run shows it (:data:`WANTED`).
ATTEMPTS = {
    "simultaneous-close-crossing": 5,
    "simultaneous-open": 5,
    "immediate-close": 5,
    "simultaneous-close-merged-ack": 5,
}
WANTED: dict[str, Callable[[Recording], bool]] = {
    "simultaneous-close-crossing": _crossed,
    "simultaneous-open": _both_syn_received,
    "immediate-close": _ack_rode_on_fin("B"),
    "simultaneous-close-merged-ack": _ack_rode_on_fin("A"),
}


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
        ("immediate-close", immediate_close),
        ("half-close-with-data", half_close_with_data),
        ("fin-on-data", fin_on_data),
        ("large-send-then-close", large_send_then_close),
        ("coalesced-sends", coalesced_sends),
        ("simultaneous-close-crossing", simultaneous_close_crossing),
        ("simultaneous-close-merged-ack", simultaneous_close_merged_ack),
        ("simultaneous-open", simultaneous_open),
        ("lost-handshake-ack", lost_handshake_ack),
        ("syn-retries-1", syn_retries),
        ("syn-retries-3", syn_retries),
        ("syn-retries-default", syn_retries),
        ("orphan-give-up-default", orphan_give_up_default),
        ("time-wait-reuse-by-syn", time_wait_reuse_by_syn),
        ("tw-reuse", tw_reuse),
        ("rst-into-time-wait-rfc1337-0", rst_into_time_wait),
        ("rst-into-time-wait-rfc1337-1", rst_into_time_wait),
        ("injected-rst-exact", injected_rst_exact),
        ("injected-rst-in-window", injected_rst_in_window),
        ("port-reuse", port_reuse),
        ("lost-syn-ack", lost_syn_ack),
        ("rst-at-fin", rst_at_fin),
        ("network-reorders", network_reorders),
        ("network-duplicates", network_duplicates),
    )
}

#: The scenarios run with a network between the sides that duplicates and reorders
#: (:mod:`checker.kernel.between`): a third namespace, a forwarder in it.
BETWEEN = frozenset({"network-reorders", "network-duplicates"})

#: The scenarios that take more than a few seconds (default give-up timers), with the
#: pause between their rounds of ``ss``: they sample less often.
LONG: dict[str, float] = {
    "syn-retries-3": 0.1,
    "syn-retries-default": 0.2,
    "orphan-give-up-default": 0.2,
}


def _record_once(name: str, keep: Path | None) -> Recording:
    script, sysctls = SCENARIOS[name]
    rec = Recording(name)
    with tempfile.TemporaryDirectory(prefix="tcpcheck-captures-") as tmp:
        where = keep or Path(tmp)
        with Lab(
            sysctls, keep=where, sample_every=LONG.get(name, 0.005), between=name in BETWEEN
        ) as lab:
            rec.kernel, rec.sysctls = lab.kernel, lab.read
            script(lab, rec)
            rec.samples = list(lab.samples)
            rec.rounds = list(lab.rounds)
            rec.wall0 = lab.wall0
            rec.injected = list(lab.injected)
            agents = lab.agents
        rec.network = [[round(row[0] - lab.wall0, 6), *row[1:]] for row in lab.network_log]
        # The captures are complete once tcpdump has stopped (the lab's exit).
        for side in ("A", "B"):
            if (where / f"{side}.pcap").exists():
                rec.wire[side] = read_segments(where / f"{side}.pcap")
    rec.calls = {side: list(agent.log) for side, agent in agents.items()}
    return rec


def record(name: str, keep: Path | None = None) -> Recording:
    """Run scenario ``name`` in a fresh lab; everything it did and saw.  A scenario
    that hangs on timing is run again until it shows its point (:data:`ATTEMPTS`); the
    last run is returned if none did."""
    rec = _record_once(name, keep)
    for _ in range(ATTEMPTS.get(name, 1) - 1):
        if WANTED[name](rec):
            break
        rec = _record_once(name, keep)
    return rec


def record_many(
    names: Sequence[str] = (), keep: Path | None = None
) -> dict[str, Future[Recording]]:
    """Run the scenarios ``names`` (all when empty): each long one (:data:`LONG`) in a
    thread of its own, started first, and meanwhile the others one after another in
    this thread; returns when those are done, with every scenario's future (the long
    ones complete when their runs end).  ``keep``: each one's captures in
    ``keep/NAME/``.  At most ``len(LONG) + 1`` labs run at once; the kernel stamps the
    captured segments, so their timing does not suffer from it."""
    chosen = list(names or SCENARIOS)
    out: dict[str, Future[Recording]] = {}

    def where(name: str) -> Path | None:
        return keep / name if keep is not None else None

    long = [n for n in chosen if n in LONG]
    pool = ThreadPoolExecutor(max_workers=max(1, len(long)), thread_name_prefix="scenario")
    try:
        for name in long:
            out[name] = pool.submit(record, name, where(name))
        for name in chosen:
            if name not in LONG:
                done: Future[Recording] = Future()
                try:
                    done.set_result(record(name, where(name)))
                except Exception as exc:
                    done.set_exception(exc)
                out[name] = done
    except BaseException:
        # A signal (or an error) in this thread: the long ones stop and tear down too.
        abort_all()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=False)
    return {name: out[name] for name in chosen}
