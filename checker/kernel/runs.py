"""What was observed of one connection: a *run*, from a harness recording or a capture.

A run (:class:`Run`) holds the segments each side sent, in order, with the ones the
network lost (:class:`Packet`); and, when the run was recorded by the harness
(:mod:`checker.kernel.scenarios`), each side's own view in time order (:class:`Obs`) -- the
segments it sent and received, the socket calls its application made with their
outcomes -- and the states ``ss`` sampled.  :mod:`checker.kernel.conform` searches the model
for it.

Each wire segment becomes the model's segment (:func:`abstract`): its flags, and its
numbers folded onto the model's three points.  A recording (:func:`run_from_recording`)
says which arrivals the drop rules lost and when each call began and returned; a capture
a user brings (:func:`run_from_pcap`) says only what was seen at one point.

Examples
--------
>>> from checker.kernel.pcap import Wire
>>> w = Wire(0.0, "10.77.0.1:4000", "10.77.0.2:80", "FIN+ACK", 1, 1, 0)
>>> abstract(w, own_fin=1, peer_fin=None).describe()
'FIN+ACK seq=1 ack=1'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UsageError
from ..model.endpoint import Local
from ..model.segments import ACK, FIN, RST, SYN, Segment
from ..model.spec import Spec
from ..product.semantics import CHANNELS, SIDES
from .pcap import Wire, read_segments
from .recording import CLIENT_ADDR, SERVER_ADDR, SYSCTLS, Recording

__all__ = [
    "CHANNEL_ORDER",
    "EXPECTATIONS",
    "Obs",
    "Packet",
    "Run",
    "abstract",
    "connections",
    "expectation_holds",
    "make_packets",
    "run_from_pcap",
    "run_from_recording",
]

#: States in which a connection is synchronized (the handshake is complete).
SYNCHRONIZED = frozenset(
    {"ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}
)
_BITS = {"SYN": SYN, "ACK": ACK, "FIN": FIN, "RST": RST}
#: The two channels, A's first.
CHANNEL_ORDER = ("A->B", "B->A")


# ----------------------------------------------------------------------- the run ---
@dataclass(frozen=True)
class Packet:
    """One segment of the run, the ``index``-th in its channel (``A->B`` or ``B->A``).

    ``segment`` is the model's segment (:func:`abstract`).  ``lost``: ``None`` when
    unknown (a capture brought by a user).  ``arrived``: when the receiver saw it
    (``None``: not seen there).
    """

    channel: str
    index: int
    wire: Wire
    segment: Segment
    sent: float
    lost: bool | None = False
    arrived: float | None = None

    def text(self) -> str:
        """``FIN+ACK seq=1 ack=2`` (the wire's relative numbers), ``+10 bytes`` for data."""
        w = self.wire
        out = f"{w.flags} seq={w.seq}" + (f" ack={w.ack}" if "ACK" in w.flags else "")
        return out + (f" +{w.length} bytes" if w.length else "")


@dataclass(frozen=True)
class Obs:
    """One event a side saw, in that side's order.

    ``kind``: ``send`` / ``deliver`` (the ``index``-th segment of ``channel``), ``call``
    (a socket call whose model event is ``event``, or ``None`` for a call the model has
    no event for) or ``expect`` (a call's outcome: the state it needs, see
    :data:`EXPECTATIONS`).
    """

    t: float
    side: str
    kind: str
    channel: str = ""
    index: int = -1
    event: str | None = None
    expect: str = ""
    text: str = ""
    #: The socket call (``close``, ``connect``...) behind a ``call`` or ``expect``.
    op: str = ""


#: What a call's outcome says about its endpoint's state.
EXPECTATIONS: dict[str, str] = {
    "synchronized": "the connection is synchronized (the handshake is complete)",
    "closed": "the connection is gone (CLOSED)",
    "fin-received": "the peer's FIN has been received",
    "may-send": "the connection can carry data (ESTABLISHED or CLOSE-WAIT)",
}


def expectation_holds(spec: Spec, what: str, local: Local) -> bool:
    if what == "synchronized":
        return local.state in SYNCHRONIZED
    if what == "closed":
        return local.state == "CLOSED"
    if what == "fin-received":
        return spec.state(local.state).received == 2
    if what == "may-send":
        return local.state in ("ESTABLISHED", "CLOSE-WAIT")
    raise ValueError(what)


@dataclass
class Run:
    """A connection as observed: what :func:`check_run` checks."""

    name: str
    packets: dict[str, list[Packet]]
    #: Each side's events in its own order (empty for a capture brought by a user).
    observed: dict[str, list[Obs]] = field(default_factory=lambda: {"A": [], "B": []})
    #: Each side's sampled states, consecutive repeats merged ("CLOSED": no connection).
    states: dict[str, list[str]] = field(default_factory=lambda: {"A": [], "B": []})
    #: A capture brought by a user: calls, losses and deliveries were not observed.
    free: bool = False
    #: Each side's sampled state in every round of ``ss`` (no repeats merged).
    timeline: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    #: Model parameters the run's settings fix (``tcp_fin_timeout`` is FIN_TIMEOUT).
    params: dict[str, float] = field(default_factory=dict)
    #: The sysctls the run was made with.
    sysctls: dict[str, str] = field(default_factory=dict)
    #: Each side's ``ss`` timer fields: (when, state, ``timer:(...)``).
    clocks: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)
    #: Where the run came from (the scenario, or the pcap file and connection).
    source: str = ""
    #: Segments a third party forged (:attr:`~checker.kernel.recording.Recording.injected`):
    #: in no channel's packets (their apparent sender never sent them), each as the
    #: packet of the channel it travelled in, ``index`` its place among the injections,
    #: ``sent`` when it was sent and ``arrived`` when the receiver's capture saw it.
    #: The search does not make them yet: a run that has some needs them checked.
    injected: list[Packet] = field(default_factory=list)


def abstract(wire: Wire, own_fin: int | None, peer_fin: int | None) -> Segment:
    """The model's segment for ``wire``: flags, and relative numbers folded onto the
    model's three points (0: the SYN; 1: after the SYN, up to the FIN; 2: after the FIN).

    ``own_fin`` / ``peer_fin``: where the sender's / receiver's FIN sits in its sequence
    space (``None``: no FIN).  Data moves the real numbers inside the span between SYN
    and FIN, which the model keeps as one point; a segment carrying data is ``+DATA``.

    >>> abstract(Wire(0.0, "a", "b", "ACK", 1, 11, 0), own_fin=None, peer_fin=None)
    Segment(flags=2, seq=1, ack=1, data=False)
    >>> abstract(Wire(0.0, "a", "b", "RST", 2, 0, 0), own_fin=1, peer_fin=1).describe()
    'RST seq=2'
    """
    flags = 0
    for name in wire.flags.split("+"):
        flags |= _BITS.get(name, 0)

    def level(number: int, fin: int | None) -> int:
        if number == 0:
            return 0
        return 2 if fin is not None and number > fin else 1

    ack = level(wire.ack, peer_fin) if flags & ACK else 0
    return Segment(flags, level(wire.seq, own_fin), ack, data=wire.length > 0)


def _fin_positions(packets: Mapping[str, Sequence[Wire]]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for chan, wires in packets.items():
        out[chan] = next((w.seq for w in wires if "FIN" in w.flags), None)
    return out


def make_packets(
    wires: Mapping[str, Sequence[Wire]],
    lost: Mapping[str, set[int]] | None = None,
    arrived: Mapping[str, Sequence[float]] | None = None,
    *,
    unknown_losses: bool = False,
) -> dict[str, list[Packet]]:
    """Packets per channel from each channel's wire segments in send order."""
    fins = _fin_positions(wires)
    out: dict[str, list[Packet]] = {}
    for chan in CHANNEL_ORDER:
        other = CHANNEL_ORDER[1 - CHANNEL_ORDER.index(chan)]
        rows = []
        for i, w in enumerate(wires.get(chan, [])):
            seg = abstract(w, fins[chan], fins.get(other))
            was_lost: bool | None = None if unknown_losses else i in (lost or {}).get(chan, set())
            when = arrived[chan][i] if arrived and i < len(arrived.get(chan, [])) else None
            rows.append(Packet(chan, i, w, seg, w.t, was_lost, when))
        out[chan] = rows
    return out


# ------------------------------------------------------- runs from recordings ---
def run_from_recording(rec: Recording) -> Run:
    """The run a harness recording describes (see :mod:`checker.kernel.scenarios`).

    Each channel's segments in send order come from its sender's capture, their arrival
    from the receiver's; the drop rules say which arrivals were lost.  Each side's
    events are ordered by time: its captures, and its calls (a call's event where the
    call was made, its outcome where it returned).
    """
    address = {"A": CLIENT_ADDR + ":", "B": SERVER_ADDR + ":"}
    sent: dict[str, list[Wire]] = {}
    arrived: dict[str, list[Wire]] = {}
    forged = _forged(rec)
    for chan in CHANNEL_ORDER:
        sender, receiver = chan.split("->")
        mine = [
            w
            for w in rec.wire.get(sender, [])
            if w.src.startswith(address[sender]) and id(w) not in forged
        ]
        theirs = [
            w
            for w in rec.wire.get(receiver, [])
            if w.src.startswith(address[sender]) and id(w) not in forged
        ]
        key = [(w.flags, w.seq, w.ack, w.length) for w in mine]
        if [(w.flags, w.seq, w.ack, w.length) for w in theirs] != key[: len(theirs)]:
            raise ValueError(f"{rec.name}: the two captures of {chan} disagree")
        sent[chan], arrived[chan] = mine, theirs
    lost = _dropped(rec, arrived)
    shift = {c: [replace(w, t=round(w.t - rec.wall0, 6)) for w in ws] for c, ws in sent.items()}
    when = {c: [round(w.t - rec.wall0, 6) for w in ws] for c, ws in arrived.items()}
    packets = make_packets(shift, lost, when)
    observed = {side: _observations(rec, side, packets) for side in SIDES}
    timeline = {side: _timeline(rec, side) for side in SIDES}
    states = {side: _merged([state for _t, state in timeline[side]]) for side in SIDES}
    # The values read in the namespaces; a recording made before they were kept has
    # the scenario's own settings only.
    sysctls = rec.read_sysctls() or SYSCTLS.get(rec.name, {})
    params = {}
    if "net.ipv4.tcp_fin_timeout" in sysctls:
        params["FIN_TIMEOUT"] = float(sysctls["net.ipv4.tcp_fin_timeout"])
    return Run(
        rec.name, packets, observed, states, timeline=timeline, params=params,
        sysctls=dict(sysctls), source=f"scenario {rec.name}",
        clocks={
            side: [(x.t, x.state, x.timer) for x in rec.samples if x.side == side and x.timer]
            for side in SIDES
        },
        injected=_injected_packets(rec, forged, sent),
    )  # fmt: skip


def _forged(rec: Recording) -> dict[int, int]:
    """The captured segments that are injections (by ``id``), each with the number of
    its injection: in each capture, the first segment after it was sent (within half
    a second) with its endpoints, flags and numbers."""
    out: dict[int, int] = {}
    for k, inj in enumerate(rec.injected):
        key = (inj.src, inj.dst, inj.flags, inj.seq, inj.ack, inj.length)
        for wires in rec.wire.values():
            for w in wires:
                if id(w) in out or (w.src, w.dst, w.flags, w.seq, w.ack, w.length) != key:
                    continue
                if -0.05 <= w.t - rec.wall0 - inj.t <= 0.5:
                    out[id(w)] = k
                    break
    return out


def _injected_packets(
    rec: Recording, forged: Mapping[int, int], sent: Mapping[str, Sequence[Wire]]
) -> list[Packet]:
    """The injections as packets of the channel each travelled in (see
    :attr:`Run.injected`), numbers folded as their channel's are."""
    fins = _fin_positions(sent)
    out = []
    for k, inj in enumerate(rec.injected):
        receiver = inj.receiver
        chan = "B->A" if receiver == "A" else "A->B"
        other = CHANNEL_ORDER[1 - CHANNEL_ORDER.index(chan)]
        seen = [w for w in rec.wire.get(receiver, []) if forged.get(id(w)) == k]
        at = round(seen[0].t - rec.wall0, 6) if seen else None
        wire = Wire(
            inj.t, inj.src, inj.dst, inj.flags, inj.seq, inj.ack, inj.length,
            seen[0].tcp_flags if seen else 0, seen[0].ip_len if seen else 0,
        )  # fmt: skip
        segment = abstract(wire, fins.get(chan), fins.get(other))
        out.append(Packet(chan, k, wire, segment, inj.t, False, at))
    return out


def _dropped(rec: Recording, arrived: Mapping[str, Sequence[Wire]]) -> dict[str, set[int]]:
    """Which arrivals the drop rules lost: nftables' ``quota until N bytes`` passes (to
    the drop) the matching segments until N bytes have matched."""
    out: dict[str, set[int]] = {c: set() for c in CHANNEL_ORDER}
    for rule in rec.drops:
        chan = "B->A" if rule.receiver == "A" else "A->B"
        used = 0
        for i, w in enumerate(arrived[chan]):
            if i in out[chan] or w.t - rec.wall0 < rule.since or not rule.matches(w.tcp_flags):
                continue
            used += w.ip_len
            if used <= rule.count * rule.size:
                out[chan].add(i)
    return out


#: Order of simultaneous events of one side: a call is made before what it causes, a
#: segment arrives before the answer to it, an outcome is known last.
_ORDER = {"call": 0, "deliver": 1, "send": 2, "expect": 3}


def _observations(rec: Recording, side: str, packets: Mapping[str, list[Packet]]) -> list[Obs]:
    out: list[Obs] = []
    out_chan = CHANNELS[side]
    in_chan = "B->A" if side == "A" else "A->B"
    for p in packets[out_chan]:
        out.append(Obs(p.sent, side, "send", p.channel, p.index, text=f"send {p.text()}"))
    for p in packets[in_chan]:
        if p.arrived is not None and not p.lost:
            out.append(
                Obs(p.arrived, side, "deliver", p.channel, p.index, text=f"receive {p.text()}")
            )
    linger0 = closed = False
    opened = False
    read = 0
    for call in rec.calls.get(side, []):
        op = call["op"]
        start, end = float(call.get("start", call["t"])), float(call["t"])
        ok = bool(call.get("ok"))
        failed = call.get("errno", "")
        shown = f"{op}() = {'ok' if ok else failed or call.get('error', 'error')}"
        if op == "listen":
            out.append(Obs(start, side, "call", event="passive OPEN", text=shown, op=op))
        elif op == "connect":
            opened = True
            out.append(Obs(start, side, "call", event="active OPEN", text=shown, op=op))
            expect = "synchronized" if ok else "closed"
            out.append(Obs(end, side, "expect", expect=expect, text=shown, op=op))
        elif op == "accept":
            opened = opened or ok
            if ok:
                out.append(Obs(end, side, "expect", expect="synchronized", text=shown, op=op))
        elif op == "send":
            if ok:  # one segment per call: the scenarios write a few bytes at a time
                out.append(Obs(start, side, "call", event="SEND", text=shown, op=op))
            else:
                out.append(Obs(start, side, "expect", expect="closed", text=shown, op=op))
        elif op == "recv":
            if ok and not call.get("timeout"):
                got = int(call.get("received", 0))
                read += got
                if got == 0:
                    out.append(Obs(end, side, "expect", expect="fin-received", text=shown, op=op))
        elif op == "linger0":
            linger0 = ok
        elif op == "shutdown":
            out.append(Obs(start, side, "call", event="CLOSE", text=shown, op=op))
        elif op in ("close", "exit") and opened and not closed:
            closed = True
            unread = _bytes_in(packets[in_chan], start) - read
            if linger0:
                why = "with SO_LINGER {on, 0}: ABORT"
                event = "ABORT"
            elif unread > 0:
                why = f"with {unread} bytes unread: ABORT (RFC 1122 §4.2.2.13)"
                event = "ABORT"
            else:
                why, event = "", "CLOSE"
            text = f"{shown} {why}".rstrip()
            out.append(Obs(start, side, "call", event=event, text=text, op=op))
    out.sort(key=lambda o: (o.t, _ORDER[o.kind]))
    return out


def _bytes_in(packets: Sequence[Packet], before: float) -> int:
    """How far the data delivered before ``before`` reaches (bytes after the SYN)."""
    top = 0
    for p in packets:
        if p.wire.length and not p.lost and p.arrived is not None and p.arrived < before:
            top = max(top, p.wire.seq + p.wire.length - 1)
    return top


def _timeline(rec: Recording, side: str) -> list[tuple[float, str]]:
    """The side's connection state in every round of ``ss``: CLOSED when the round saw
    no connection there (the listener is left out)."""
    by_round: dict[float, list[str]] = {}
    for s in rec.samples:
        if s.side == side and s.state != "LISTEN":
            by_round.setdefault(s.t, []).append(s.state)
    return [
        (t, state) for t, who in rec.rounds if who == side for state in by_round.get(t, ["CLOSED"])
    ]


def _merged(states: Sequence[str]) -> list[str]:
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


# --------------------------------------------------------- runs from captures ---
def connections(wires: Sequence[Wire]) -> list[tuple[str, str]]:
    """The connections in a capture, as (client, server) endpoints, by their SYN."""
    out: list[tuple[str, str]] = []
    for w in wires:
        if w.flags == "SYN" and (w.src, w.dst) not in out:
            out.append((w.src, w.dst))
    return out


def run_from_pcap(path: Path, client: str | None = None) -> Run:
    """The run of one connection in the pcap file ``path`` (``client``: its active
    opener as ``HOST:PORT``; needed only when the capture holds several connections)."""
    try:
        wires = read_segments(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the capture ({exc})") from None
    conns = connections(wires)
    if client is not None:
        conns = [c for c in conns if c[0] == client]
        if not conns:
            raise UsageError(
                f"{path}: no connection from {client} starts in the capture "
                "(pass the HOST:PORT that sent the first SYN)"
            )
    if not conns:
        raise UsageError(
            f"{path}: no connection starts in the capture (no SYN without ACK); capture the "
            "connection from its first segment"
        )
    if len(conns) > 1:
        listed = ", ".join(f"{a} -> {b}" for a, b in conns)
        raise UsageError(f"{path}: {len(conns)} connections ({listed}); choose one with --client")
    a, b = conns[0]
    by_chan: dict[str, list[Wire]] = {"A->B": [], "B->A": []}
    for w in wires:
        if (w.src, w.dst) == (a, b):
            by_chan["A->B"].append(w)
        elif (w.src, w.dst) == (b, a):
            by_chan["B->A"].append(w)
    t0 = by_chan["A->B"][0].t
    shifted = {c: [replace(w, t=round(w.t - t0, 6)) for w in ws] for c, ws in by_chan.items()}
    packets = make_packets(shifted, unknown_losses=True)
    return Run(f"{path.name} {a} -> {b}", packets, free=True, source=str(path))
