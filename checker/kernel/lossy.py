"""Lossy conformance: how often this machine's TCP opens and closes each way at loss rate p.

:func:`run_lossy` opens ``N`` short connections in the namespace lab
(:class:`~checker.kernel.lab.Lab`), ``rate`` new ones per second, many in flight at
once: the client A connects and closes the moment connect() returns (A closes first),
the server B reads to EOF and then closes (B closes after its peer) -- the model's
default close order (:mod:`checker.kernel.crowd` holds the two programs).  Connection
``i`` uses the client port ``FIRST_PORT + i`` and the server port :data:`PORT`.  nftables
drops each segment of those connections at random, independently: a rule
``numgen random mod 10000 < p·10000 drop`` in the *receiving* namespace's input hook, for
each direction with its own p (A->B in B, B->A in A).

The per-namespace sysctls :data:`SYSCTLS` make every give-up come within seconds, so a
run ends: ``tcp_syn_retries = 2`` (with the kernel's ``tcp_syn_linear_timeouts``, 4 by
default, A sends its SYN up to six times 1 s apart before connect() fails),
``tcp_synack_retries = 2`` (B's SYN+ACK at 0, 1 and 3 s), ``tcp_orphan_retries = 1``
(an orphaned FIN-WAIT-1 or LAST-ACK gives its FIN up at the first retransmission timer
past the budget that count gives from the 200 ms minimum RTO: after two or three
retransmissions, within seconds -- longer when a lost SYN left the connection without an
RTT sample and its RTO at 3 s) and ``tcp_fin_timeout = 2`` (an orphaned FIN-WAIT-2
leaves after 2 s); ``tcp_no_metrics_save = 1`` makes each connection estimate its own
RTT, as the model's do.  The route between the two turns delayed ACKs off
(``quickack 1``): the variant answers a FIN at once, and with delayed ACKs whether B's
ACK rides on its FIN depends on how fast the server program closes.  TIME-WAIT stays
60 s on Linux: longer than a run.  The values each namespace then had are kept with the
run (:attr:`LossyRun.sysctls`).

What the lab observes, per connection (the client port picks its segments out):

* **sent**: each side's interface capture holds every segment that side sent (tcpdump
  sees a segment before the receiver's input hook can drop it, so the captures show
  what was *sent*, never what was lost);
* **delivered**: each side's delivered capture (:meth:`~checker.kernel.lab.Lab.delivered`:
  a second input chain, after the dropping one, logs every TCP segment that reached it
  to nflog, which tcpdump records) holds exactly the segments that side received;
* the socket calls: connect()'s result at A; at B whether the connection was accepted
  and how reading ended (EOF, an error, or still waiting when the run ends);
* one ``ss -tan`` of each side when the run ends: once every socket but a TIME-WAIT or
  a B in ESTABLISHED has gone (or after :data:`SETTLE` seconds), the network is frozen
  (a rule drops every segment of the run in both input hooks), and then ``ss`` looks --
  so no segment is delivered after the look, and a socket it does not show left by its
  own timer.

How each endpoint leaves each state, named as the model names the events
(:func:`classify`; ``never entered`` and ``still there at the end`` when it does not):

* **A leaves SYN-SENT** by ``rcv SYN+ACK`` (connect() succeeds), ``timeout RETX``
  (connect() fails with ETIMEDOUT: tcp_syn_retries given up), ``rcv RST`` (ECONNREFUSED)
  -- connect()'s own result, the kernel's word for it.
* **A leaves FIN-WAIT-1** (entered when A sent its FIN) by the first segment delivered to
  A that acknowledges the FIN or resets: ``rcv FIN+ACK of FIN`` (to TIME-WAIT), ``rcv ACK
  of FIN`` (to FIN-WAIT-2), ``rcv RST``; with none, ``timeout RETX`` (the orphan's FIN
  given up) when ``ss`` no longer shows the socket at the end.
* **A leaves FIN-WAIT-2** by ``rcv FIN`` when A acknowledged B's FIN with an ACK (a
  FIN-WAIT-2 answers B's FIN so, then sits in TIME-WAIT); by ``timeout FIN-WAIT-2``
  when it did not -- B's FIN never came, or came after the timer and drew a RST from the
  gone socket (A's answer, not the times, tells which: the captures' clocks are not
  compared); ``rcv RST`` when a RST reached it first.
* **A leaves TIME-WAIT** by ``rcv RST`` when one reached it there; else ``still there
  at the end`` (``ss`` shows it; 60 s on Linux) or ``timeout 2MSL``.
* **B leaves SYN-RECEIVED** (entered when A's SYN reached B) by ``rcv ACK of SYN`` or
  ``rcv FIN`` (the first acknowledging segment delivered: a bare ACK, or the FIN+ACK
  when the ACK was lost) when B accepted the connection; otherwise ``rcv RST`` when a
  RST reached B, else ``timeout RETX`` (the request given up: B answers A's later
  segments with RST, or ``ss`` no longer shows it).
* **B leaves ESTABLISHED** (entered by ``rcv ACK of SYN``) as its read ended: ``rcv
  FIN`` (EOF), ``rcv RST`` (ECONNRESET), ``still there at the end`` (A gave up its FIN).
* **B leaves LAST-ACK** (entered when B read EOF and closed) by the first segment
  delivered to B that acknowledges its FIN (``rcv ACK of FIN``) or resets (``rcv RST``);
  with none, ``timeout RETX`` (its FIN given up: ``tcp_orphan_retries``) when ``ss`` no
  longer shows it, ``still there at the end`` when it does.

The run also counts, per direction, the segments sent and delivered
(:meth:`LossyRun.segments`): their ratio is the loss rate the rules made, and at p = 0 the
two must be equal -- a check that the captures are whole.

A RST counts only where it moves the receiver: at its RCV.NXT (the peer's ISN + 1 before
the peer's FIN, the FIN's number + 1 after it), or in LAST-ACK also at the number of the
peer's FIN (``tcp_reset_check``); Linux answers another RST in the window with a
challenge ACK and drops the rest -- e.g. B's RST answering A's retransmitted FIN, which
reaches an A already in TIME-WAIT and leaves it there.  And a segment reaches a socket
only while it is there: a gone socket answers every segment but a RST (and, at the
listener, a SYN) with a RST, a live one in this workload sends none -- so the last ``k``
segments an endpoint received, ``k`` the RSTs it sent, came after it had gone (a FIN+ACK
that acknowledges A's FIN after A gave it up is not how A left FIN-WAIT-1).

The captures are read only once whole: a marker sent after the look has reached every
one of them (:meth:`~checker.kernel.lab.Lab.sync_captures`: a tcpdump the machine's
load holds back is waited for), and then they are stopped and their buffer overflows
counted (:meth:`~checker.kernel.lab.Lab.stop_captures`).  A run whose captures are not
whole is made again, and marked :attr:`LossyRun.incomplete` if it stays so.

Limits: the classification trusts what the captures hold to be what happened; a connection
whose segments the captures lack altogether is classified from its socket calls alone;
a "timeout" is recognised by the socket's absence at the end, not seen to happen;
TIME-WAIT's end (60 s) is beyond a run.

Examples
--------
>>> SYSCTLS["net.ipv4.tcp_orphan_retries"]
'1'
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dpkt  # type: ignore[import-untyped]

from .binomial import CONFIDENCE, Agreement, Frequency, compare, frequency
from .lab import Lab
from .pcap import Seg, read_tcp
from .recording import CLIENT_ADDR, SERVER_ADDR, parse_ss

__all__ = [
    "ATTEMPTS",
    "EXITS",
    "FIRST_PORT",
    "MAX_CONNECTIONS",
    "NEVER",
    "PORT",
    "SETTLE",
    "STILL",
    "SYSCTLS",
    "Evidence",
    "LossyRun",
    "classify",
    "compare_run",
    "evidence",
    "run_lossy",
]

#: The server's port, and the first client port (connection ``i`` has ``FIRST_PORT + i``,
#: below the kernel's ephemeral range: no other socket takes them).
PORT = 7000
FIRST_PORT = 20000
MAX_CONNECTIONS = 10000
#: How many times :func:`run_lossy` runs when the captures are not whole.
ATTEMPTS = 3

#: The per-namespace sysctls a lossy run sets: every give-up within seconds.
SYSCTLS = {
    "net.ipv4.tcp_syn_retries": "2",
    "net.ipv4.tcp_synack_retries": "2",
    "net.ipv4.tcp_orphan_retries": "1",
    "net.ipv4.tcp_fin_timeout": "2",
    # Each connection estimates its own RTT, as the model's do: none starts from the
    # RTT a closed one to the same host left in the metrics cache (which, fed by
    # retransmitted segments, pushes a later connection's RTO to seconds).
    "net.ipv4.tcp_no_metrics_save": "1",
}

#: The most seconds a run waits, once every connect() has returned, for the sockets
#: still closing to be gone.
SETTLE = 60.0

NEVER = "never entered"
STILL = "still there at the end"

#: The (endpoint, state) pairs classified, and the events each may be left by.
EXITS: dict[tuple[str, str], tuple[str, ...]] = {
    ("A", "SYN-SENT"): ("rcv SYN+ACK", "timeout RETX", "rcv RST"),
    ("A", "FIN-WAIT-1"): ("rcv ACK of FIN", "rcv FIN+ACK of FIN", "rcv RST", "timeout RETX"),
    ("A", "FIN-WAIT-2"): ("rcv FIN", "timeout FIN-WAIT-2", "rcv RST"),
    ("A", "TIME-WAIT"): ("timeout 2MSL", "rcv RST"),
    ("B", "SYN-RECEIVED"): ("rcv ACK of SYN", "rcv FIN", "rcv RST", "timeout RETX"),
    ("B", "ESTABLISHED"): ("rcv FIN", "rcv RST"),
    ("B", "LAST-ACK"): ("rcv ACK of FIN", "rcv RST", "timeout RETX"),
}

_SYN, _FIN, _RST, _ACK = dpkt.tcp.TH_SYN, dpkt.tcp.TH_FIN, dpkt.tcp.TH_RST, dpkt.tcp.TH_ACK


@dataclass
class Evidence:
    """What the lab saw of one connection (see the module's docstring)."""

    port: int
    #: connect()'s result at A (``ok`` or an errno's name).
    connect: str
    #: Whether B accepted it, and how B's reading ended (``eof``, an errno, ``pending``).
    accepted: bool = False
    read: str = "pending"
    sent_a: list[Seg] = field(default_factory=list)
    sent_b: list[Seg] = field(default_factory=list)
    to_a: list[Seg] = field(default_factory=list)
    to_b: list[Seg] = field(default_factory=list)
    #: The state ``ss`` showed each side's socket in at the end (None: none).
    end_a: str | None = None
    end_b: str | None = None


def _covers(ack: int, fin: int) -> bool:
    """``ack`` acknowledges the FIN numbered ``fin`` (sequence space wraps)."""
    return (ack - fin - 1) % 2**32 < 2**31


def _first_fin(segs: Iterable[Seg]) -> int | None:
    return next((s.seq + s.length for s in segs if s.flags & _FIN), None)


def _ended(state: str, at_end: str | None, gone: str) -> str:
    return STILL if at_end == state else gone


def _reached(received: list[Seg], sent: list[Seg], syn_opens: bool) -> list[Seg]:
    """The segments of ``received`` that reached the endpoint's socket while it was
    there.  A socket once gone stays gone, and the kernel answers every segment that
    finds none with a RST -- except a RST, and (``syn_opens``: at the listener) a SYN,
    which opens anew -- while a live socket of this workload sends none: so the last
    ``k`` answerable segments, ``k`` the RSTs the endpoint sent, came too late."""
    k = sum(1 for s in sent if s.flags & _RST)
    cut = len(received)
    while k and cut:
        cut -= 1
        flags = received[cut].flags
        if not flags & _RST and not (syn_opens and flags & _SYN and not flags & _ACK):
            k -= 1
    return received[:cut]


def _at(seq: int, nxt: int) -> bool:
    return (seq - nxt) % 2**32 == 0


def _resets(s: Seg, nxt: int | None, fin_too: bool = False) -> bool:
    """``s`` is a RST that resets a synchronized endpoint whose RCV.NXT is ``nxt``: only
    one at RCV.NXT does (Linux answers another in the window with a challenge ACK and
    drops the rest), or -- ``fin_too``, in LAST-ACK -- at the number of the peer's FIN,
    RCV.NXT - 1 (``tcp_reset_check``)."""
    if not s.flags & _RST or nxt is None:
        return False
    return _at(s.seq, nxt) or (fin_too and _at(s.seq + 1, nxt))


def classify(ev: Evidence) -> dict[tuple[str, str], str]:
    """How each endpoint left each state of :data:`EXITS` (an event, :data:`NEVER` or
    :data:`STILL`), as the module's docstring says.

    >>> a_syn = Seg(True, 0x02, 100, 0)
    >>> out = classify(Evidence(20000, "ETIMEDOUT", sent_a=[a_syn] * 3))
    >>> out["A", "SYN-SENT"], out["B", "SYN-RECEIVED"], out["B", "LAST-ACK"]
    ('timeout RETX', 'never entered', 'never entered')
    """
    out = {key: NEVER for key in EXITS}
    to_a = _reached(ev.to_a, ev.sent_a, syn_opens=False)
    to_b = _reached(ev.to_b, ev.sent_b, syn_opens=True)
    fin_a = _first_fin(s for s in ev.sent_a if not s.flags & _RST)
    fin_b = _first_fin(s for s in ev.sent_b if not s.flags & _RST)
    # Each side's RCV.NXT before the peer's FIN: the peer's ISN + 1.
    isn_b = next((s.seq for s in ev.sent_b if s.flags & _SYN), None)
    nxt_a = None if isn_b is None else isn_b + 1
    # ---- A ----
    out["A", "SYN-SENT"] = {"ok": "rcv SYN+ACK", "ETIMEDOUT": "timeout RETX"}.get(
        ev.connect, "rcv RST" if ev.connect in ("ECONNREFUSED", "ECONNRESET") else ev.connect
    )
    if ev.connect == "ok" and fin_a is not None:
        after: list[Seg] = []
        how = _ended("FIN-WAIT-1", ev.end_a, "timeout RETX")
        for i, s in enumerate(to_a):
            if _resets(s, nxt_a):
                how = "rcv RST"
            elif not s.flags & _RST and s.flags & _ACK and _covers(s.ack, fin_a):
                how = "rcv FIN+ACK of FIN" if s.flags & _FIN else "rcv ACK of FIN"
            else:
                continue
            after = to_a[i + 1 :]
            break
        out["A", "FIN-WAIT-1"] = how
        time_wait = after if how == "rcv FIN+ACK of FIN" else None
        if how == "rcv ACK of FIN":
            out["A", "FIN-WAIT-2"] = _ended("FIN-WAIT-2", ev.end_a, "timeout FIN-WAIT-2")
            for i, s in enumerate(after):
                if _resets(s, nxt_a):
                    out["A", "FIN-WAIT-2"] = "rcv RST"
                    break
                if s.flags & _FIN and not s.flags & _RST:
                    out["A", "FIN-WAIT-2"] = "rcv FIN"
                    time_wait = after[i + 1 :]
                    break
        if time_wait is not None:
            nxt = None if fin_b is None else fin_b + 1
            if any(_resets(s, nxt) for s in time_wait):  # TIME-WAIT assassination
                out["A", "TIME-WAIT"] = "rcv RST"
            else:
                out["A", "TIME-WAIT"] = _ended("TIME-WAIT", ev.end_a, "timeout 2MSL")
    # ---- B ----
    if any(s.flags & _SYN and not s.flags & _ACK for s in ev.to_b):
        if ev.accepted:
            first = next((s for s in to_b if s.flags & _ACK and not s.flags & (_SYN | _RST)), None)
            via_fin = first is not None and bool(first.flags & _FIN)
            out["B", "SYN-RECEIVED"] = "rcv FIN" if via_fin else "rcv ACK of SYN"
            if not via_fin:
                out["B", "ESTABLISHED"] = {"eof": "rcv FIN", "pending": STILL}.get(
                    ev.read, "rcv RST" if ev.read in ("ECONNRESET", "EPIPE") else ev.read
                )
        elif any(s.flags & _RST for s in to_b):
            out["B", "SYN-RECEIVED"] = "rcv RST"
        else:
            out["B", "SYN-RECEIVED"] = _ended("SYN-RECEIVED", ev.end_b, "timeout RETX")
    if ev.accepted and ev.read == "eof" and fin_b is not None:
        # B read A's FIN: its RCV.NXT is past it.
        nxt_b = None if fin_a is None else fin_a + 1
        how = _ended("LAST-ACK", ev.end_b, "timeout RETX")
        for s in to_b:
            if _resets(s, nxt_b, fin_too=True):
                how = "rcv RST"
                break
            if not s.flags & _RST and s.flags & _ACK and _covers(s.ack, fin_b):
                how = "rcv ACK of FIN"
                break
        out["B", "LAST-ACK"] = how
    return out


def outcome_name(side: str, state: str, how: str) -> str:
    """``B leaves LAST-ACK by rcv ACK of FIN``; ``B leaves LAST-ACK: never entered``.

    >>> outcome_name("A", "TIME-WAIT", STILL)
    'A leaves TIME-WAIT: still there at the end'
    """
    joint = ": " if how in (NEVER, STILL) else " by "
    return f"{side} leaves {state}{joint}{how}"


#: A prediction: for an outcome name (:func:`outcome_name`), the model's [min, max]
#: probability at the run's loss rates, or None when it has none.
Predict = Callable[[str, float, float], "tuple[float, float] | None"]


@dataclass
class LossyRun:
    """The connections of one run at loss rates ``loss_ab`` (A->B) and ``loss_ba``, each
    one's evidence and classification."""

    loss_ab: float
    loss_ba: float
    connections: list[Evidence]
    outcomes: list[dict[tuple[str, str], str]]
    #: The sysctls each namespace had (:data:`SYSCTLS` set, read back), the kernel.
    sysctls: dict[str, dict[str, str]] = field(default_factory=dict)
    kernel: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: Why the captures are not whole, if they are not: the classification then rests
    #: on missing segments and is no evidence (empty: whole).
    incomplete: list[str] = field(default_factory=list)

    def counts(self) -> dict[tuple[str, str], Counter[str]]:
        """For each (endpoint, state), how many connections left it each way."""
        out: dict[tuple[str, str], Counter[str]] = {key: Counter() for key in EXITS}
        for outcome in self.outcomes:
            for key, how in outcome.items():
                out[key][how] += 1
        return out

    def segments(self) -> dict[str, dict[str, int]]:
        """Per direction, the segments sent and delivered (all connections)."""
        return {
            "A->B": {
                "sent": sum(len(c.sent_a) for c in self.connections),
                "delivered": sum(len(c.to_b) for c in self.connections),
            },
            "B->A": {
                "sent": sum(len(c.sent_b) for c in self.connections),
                "delivered": sum(len(c.to_a) for c in self.connections),
            },
        }

    def frequencies(self, confidence: float = CONFIDENCE) -> dict[str, Frequency]:
        """Every outcome seen, by name, as a frequency over all the run's connections,
        in :data:`EXITS` order (events, then never entered / still there)."""
        n = len(self.outcomes)
        out = {}
        for (side, state), counter in self.counts().items():
            for how in (*EXITS[side, state], STILL, NEVER, *sorted(counter)):
                name = outcome_name(side, state, how)
                if counter[how] and name not in out:
                    out[name] = frequency(counter[how], n, confidence)
        return out

    def to_json(self, agreements: list[Agreement] | None = None) -> dict[str, Any]:
        return {
            "loss_rate": {"A->B": self.loss_ab, "B->A": self.loss_ba},
            "connections": len(self.outcomes),
            "seconds": round(self.seconds, 1),
            "kernel": self.kernel,
            "sysctls": self.sysctls,
            "segments": self.segments(),
            "outcomes": {name: f.to_json() for name, f in self.frequencies().items()},
            "compared": [a.to_json() for a in agreements or []],
            "notes": self.notes,
            "incomplete": self.incomplete,
            # Each connection's whole outcome (which ways go together), compactly.
            "per_connection": {
                "columns": ["client port", *(f"{side} leaves {state}" for side, state in EXITS)],
                "rows": [
                    [c.port, *(o[key] for key in EXITS)]
                    for c, o in zip(self.connections, self.outcomes, strict=True)
                ],
            },
        }


def compare_run(
    run: LossyRun,
    predicted: Mapping[str, tuple[float, float]] | Predict,
    confidence: float = CONFIDENCE,
) -> list[Agreement]:
    """Each outcome with a prediction against its measured count: ``predicted`` maps an
    outcome name (:func:`outcome_name`, e.g. ``B leaves LAST-ACK by timeout RETX``) to its
    [min, max] probability, or is a function of (name, loss A->B, loss B->A) giving it
    (None: no prediction).  Outcomes predicted but never seen are compared as a count of
    0; names a mapping gives that no outcome can have are an error."""
    n = len(run.outcomes)
    counts = run.counts()
    names: dict[str, int] = {}
    for (side, state), counter in counts.items():
        for how in (*EXITS[side, state], STILL, NEVER, *sorted(counter)):
            names.setdefault(outcome_name(side, state, how), counter[how])
    if not callable(predicted):
        unknown = sorted(set(predicted) - set(names))
        if unknown:
            raise ValueError(f"no such outcome: {', '.join(unknown)} (known: {', '.join(names)})")
    out = []
    for name, count in names.items():
        if callable(predicted):
            rng = predicted(name, run.loss_ab, run.loss_ba)
        else:
            rng = predicted.get(name)
        if rng is not None:
            out.append(compare(name, count, n, rng, confidence))
    return out


# ------------------------------------------------------------------------- the run ---
def _ss_states(lab: Lab, side: str) -> dict[int, str]:
    """Client port -> state of each of ``side``'s sockets of the run (ss -tan)."""
    out = {}
    for s in parse_ss(lab.ns_run(side, "ss", "-tan"), 0.0, side):
        ours, theirs = (s.local, s.peer) if side == "A" else (s.peer, s.local)
        host, _, port = ours.rpartition(":")
        if theirs.endswith(f":{PORT}") and host == CLIENT_ADDR and port.isdigit():
            out[int(port)] = s.state
    return out


def _line(proc: Any, what: str) -> dict[str, Any]:
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the {what} program ended without its report")
    result: dict[str, Any] = json.loads(line)
    return result


def evidence(
    lab_dir: Mapping[str, Path],
    client: Mapping[str, Any],
    server: Mapping[str, Any],
    end: Mapping[str, Mapping[int, str]],
) -> list[Evidence]:
    """Each connection's evidence from the captures (``lab_dir``: ``A``, ``B`` -- the
    interface captures -- and ``A-delivered``, ``B-delivered``), the two programs'
    reports and the final ``ss`` states (by side, by client port)."""
    segs = {name: read_tcp(path, PORT) for name, path in lab_dir.items()}
    out = []
    for key in sorted(client, key=int):
        port = int(key)
        seen = server.get(key, {})
        out.append(
            Evidence(
                port,
                str(client[key]["connect"]),
                accepted=bool(seen),
                read=str(seen.get("read", "pending")),
                sent_a=[s for s in segs["A"].get(port, []) if s.from_a],
                sent_b=[s for s in segs["B"].get(port, []) if not s.from_a],
                to_a=[s for s in segs["A-delivered"].get(port, []) if not s.from_a],
                to_b=[s for s in segs["B-delivered"].get(port, []) if s.from_a],
                end_a=end["A"].get(port),
                end_b=end["B"].get(port),
            )
        )
    return out


def _settled(states: Mapping[str, Mapping[int, str]]) -> bool:
    """Nothing left to happen but TIME-WAIT's end and B's wait for a FIN that A gave up."""
    return all(s == "TIME-WAIT" for s in states["A"].values()) and all(
        s == "ESTABLISHED" for s in states["B"].values()
    )


def _route(lab: Lab, side: str) -> tuple[str, ...]:
    """The route the lab's addresses give ``side`` to its peer, as ``ip route`` names it."""
    net = lab.addr[side].rsplit(".", 1)[0] + ".0/24"
    return (net, "dev", lab.veth[side], "proto", "kernel", "scope", "link", "src", lab.addr[side])


def run_lossy(
    loss_ab: float,
    loss_ba: float,
    connections: int,
    rate: float = 100.0,
    say: Callable[[str], None] | None = None,
    settle: float = SETTLE,
    attempts: int = ATTEMPTS,
) -> LossyRun:
    """Open ``connections`` connections at ``rate`` per second with each segment of
    A->B lost with probability ``loss_ab`` and of B->A with ``loss_ba``; classify each,
    waiting at most ``settle`` seconds after the last connect() for the sockets still
    closing.  Needs root (:func:`checker.kernel.lab.missing`).

    A run whose captures are not whole (a capture's buffer overflowed, or a capture
    never caught up: :attr:`LossyRun.incomplete`) is no evidence about the kernel, and
    whether the captures keep up depends on the machine's load, not on how the
    connections went: it is run again, up to ``attempts`` times in all, and the last
    one returned -- marked incomplete if it still is."""
    if not 1 <= connections <= MAX_CONNECTIONS:
        raise ValueError(f"between 1 and {MAX_CONNECTIONS} connections, not {connections}")
    for p in (loss_ab, loss_ba):
        if not 0 <= p <= 1:
            raise ValueError(f"a loss rate is between 0 and 1, not {p}")
    shown = f"p = {loss_ab:g}" if loss_ab == loss_ba else f"p = {loss_ab:g} / {loss_ba:g}"
    for attempt in range(1, attempts + 1):
        run = _run_once(loss_ab, loss_ba, connections, rate, say, settle, shown)
        if not run.incomplete or attempt == attempts:
            break
        if say:
            say(f"{shown}: the captures were not whole ({'; '.join(run.incomplete)}): again")
    return run


def _run_once(
    loss_ab: float,
    loss_ba: float,
    connections: int,
    rate: float,
    say: Callable[[str], None] | None,
    settle: float,
    shown: str,
) -> LossyRun:
    began = time.monotonic()
    with Lab(SYSCTLS, sample_every=5.0, delivered=True) as lab:
        for side in ("A", "B"):
            lab.ns_run(side, "ip", "route", "change", *_route(lab, side), "quickack", "1")
        directions = (("B", f"tcp dport {PORT}", loss_ab), ("A", f"tcp sport {PORT}", loss_ba))
        for receiver, match, p in directions:
            if p > 0:
                threshold = round(p * 10000)
                rule = f"{match} numgen random mod 10000 < {threshold} drop"
                lab.ns_run(receiver, "nft", f"add rule inet tcpcheck input {rule}")
        server = lab.program("B", "checker.kernel.crowd", "server", str(PORT))
        _line(server, "server")  # listening
        if say:
            say(f"{shown}: opening {connections} connections")
        client = lab.program(
            "A", "checker.kernel.crowd", "client", SERVER_ADDR, str(PORT), str(FIRST_PORT),
            str(connections), str(rate),
        )  # fmt: skip
        opened = _line(client, "client")
        settled_from = time.monotonic()
        while True:
            end = {side: _ss_states(lab, side) for side in ("A", "B")}
            if _settled(end) or time.monotonic() - settled_from > settle:
                break
            if say:
                left = sum(
                    s not in ("TIME-WAIT", "ESTABLISHED") for v in end.values() for s in v.values()
                )
                say(f"{shown}: {left} sockets still closing")
            lab.pause(0.5)
        # Freeze the network, then look: no segment is delivered after the last ``ss``,
        # so a socket it does not show left by its own timer, not by a late arrival the
        # captures would show after the look.
        for receiver, match, _p in directions:
            lab.ns_run(receiver, "nft", f"insert rule inet tcpcheck input {match} drop")
        lab.pause(0.2)
        end = {side: _ss_states(lab, side) for side in ("A", "B")}
        assert server.stdin is not None
        server.stdin.write("report\n")
        server.stdin.flush()
        served = _line(server, "server")
        incomplete = [] if lab.sync_captures() else ["a capture did not catch up in 30 s"]
        incomplete += [
            f"{name} lost segments ({n} buffer overflows)"
            for name, n in lab.stop_captures().items()
            if n
        ]
        paths = {
            "A": lab.pcap("A"),
            "B": lab.pcap("B"),
            "A-delivered": lab.delivered("A"),
            "B-delivered": lab.delivered("B"),
        }
        conns = evidence(paths, opened, served, end)
        notes = []
        if time.monotonic() - settled_from > settle:
            notes.append(f"sockets still closing after {settle:g} s: classified as they were")
        run = LossyRun(
            loss_ab, loss_ba, conns, [classify(c) for c in conns], dict(lab.read), lab.kernel,
            notes=notes, incomplete=incomplete,
        )  # fmt: skip
    run.seconds = time.monotonic() - began
    return run
