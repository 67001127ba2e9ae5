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

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model.endpoint import Local
from ..model.segments import ACK, AHEAD, BELOW, FIN, RST, SYN, Segment
from ..model.spec import Spec
from ..product.semantics import CHANNELS, SIDES
from .pcap import Wire, read_segments
from .recording import CLIENT_ADDR, SERVER_ADDR, SYSCTLS, Recording

__all__ = [
    "CHANNEL_ORDER",
    "EXPECTATIONS",
    "ORIGINS",
    "VANTAGE_POINTS",
    "Obs",
    "Packet",
    "Run",
    "abstract",
    "connections",
    "expectation_holds",
    "make_packets",
    "run_from_pcap",
    "run_from_recording",
    "runs_from_pcap",
    "runs_from_recording",
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
    #: For a segment from outside the connection's channels (:attr:`Run.injected`):
    #: ``forged`` by a third party, the ``next`` connection's SYN on the same ports, or a
    #: ``copy`` of one of the connection's own segments the network made.
    origin: str = ""
    #: Data that continues a send() an earlier segment began (the sender cut the call's
    #: bytes into segments, RFC 9293 §3.8.6.2): the model's one segment for the call,
    #: sent again with no step of the sender (:func:`make_packets`).
    cont: bool = False
    #: The place in its channel of the wire segment this packet is (a piece of).
    segment_of: int = -1

    def text(self) -> str:
        """``FIN+ACK seq=1 ack=2`` (the wire's relative numbers), ``+10 bytes`` for data."""
        w = self.wire
        out = f"{w.flags} seq={w.seq}" + (f" ack={w.ack}" if "ACK" in w.flags else "")
        return out + (f" +{w.length} bytes" if w.length else "")


@dataclass(frozen=True)
class Obs:
    """One event a side saw, in that side's order.

    ``kind``: ``send`` / ``deliver`` (the ``index``-th segment of ``channel``),
    ``forged`` (the ``index``-th of :attr:`Run.injected` reached this side), ``call`` (a
    socket call whose model event is ``event``, or ``None`` for a call the model has no
    event for), ``reopen`` (the connect() of the next connection on the 4-tuple, made
    on what this one left) or ``expect`` (a call's outcome: the state it needs, see
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
    """A connection as observed: what :func:`~checker.kernel.conform.check_run` checks.

    Examples
    --------
    >>> import pathlib
    >>> pcap = pathlib.Path(__file__).parents[2] / "tests/data/pcap/last-ack-gives-up-client.pcap"
    >>> [run] = runs_from_pcap(pcap)
    >>> run.free, {channel: len(packets) for channel, packets in run.packets.items()}
    (True, {'A->B': 8, 'B->A': 7})
    >>> run.packets["B->A"][0].segment.describe()
    'SYN+ACK seq=0 ack=1'
    """

    name: str
    packets: dict[str, list[Packet]]
    #: Each side's events in its own order (empty for a capture brought by a user).
    observed: dict[str, list[Obs]] = field(default_factory=lambda: {"A": [], "B": []})
    #: Each side's sampled states, consecutive repeats merged ("CLOSED": no connection).
    states: dict[str, list[str]] = field(default_factory=lambda: {"A": [], "B": []})
    #: A capture brought by a user: calls, losses and deliveries were not observed.
    free: bool = False
    #: The sides whose own order of sending and receiving was observed: both for a
    #: recording; for a capture, the end it was taken at (``--at``), or none (between).
    watched: tuple[str, ...] = ("A", "B")
    #: Each side's sampled state in every round of ``ss`` (no repeats merged).
    timeline: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    #: Model parameters fixed for this run beyond what its settings give (the variant
    #: maps those: :meth:`checker.model.spec.Spec.from_sysctls`).
    params: dict[str, float] = field(default_factory=dict)
    #: The sysctls the run was made with.
    sysctls: dict[str, str] = field(default_factory=dict)
    #: Each side's ``ss`` timer fields: (when, state, ``timer:(...)``).
    clocks: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)
    #: Where the run came from (the scenario, or the pcap file and connection).
    source: str = ""
    #: Segments from outside the connection's channels (:attr:`Packet.origin`): forged
    #: by a third party (:attr:`~checker.kernel.recording.Recording.injected`), the
    #: next connection's SYN, copies the network made of the connection's own: in no
    #: channel's packets (their apparent sender did not send them), each as the packet
    #: of the channel it travelled in, ``index`` its place among them, ``sent`` when it
    #: (or its original) was sent and ``arrived`` when the receiver's capture saw it.
    injected: list[Packet] = field(default_factory=list)
    #: The sides that start with a listening socket (a later connection of a recording:
    #: the listener is there before its SYN).
    listening: tuple[str, ...] = ()


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
    """Where each channel's FIN sits in its sequence space: after the data it rides on."""
    out: dict[str, int | None] = {}
    for chan, wires in packets.items():
        out[chan] = next((w.seq + w.length for w in wires if "FIN" in w.flags), None)
    return out


def _pieces(w: Wire, starts: Collection[int] = ()) -> list[Wire]:
    """The model's segments in one wire segment, back to back at its instant: the model
    sends one segment per call.  Data that begins a second send() inside the segment
    (``starts``: the first byte of each send() call; the sender put two calls' bytes
    in one segment) is cut there, and a FIN that rides on data (send() with MSG_MORE,
    then close()) is the data and then the FIN.

    >>> fin_on_30_bytes = Wire(0.5, "a", "b", "FIN+ACK", 1, 1, 30)
    >>> [(p.flags, p.seq, p.length) for p in _pieces(fin_on_30_bytes, [1, 11])]
    [('ACK', 1, 10), ('ACK', 11, 20), ('FIN+ACK', 31, 0)]
    """
    flags = w.flags.split("+")
    if w.length == 0:
        return [w]
    plain = "+".join(f for f in flags if f != "FIN")
    cuts = sorted(b for b in starts if w.seq < b < w.seq + w.length)
    edges = [w.seq, *cuts, w.seq + w.length]
    out = [replace(w, flags=plain, seq=lo, length=hi - lo) for lo, hi in itertools.pairwise(edges)]
    if "FIN" in flags:
        out.append(replace(w, seq=w.seq + w.length, length=0))
    elif len(out) == 1:
        return [w]
    return out


def _continues(pieces: Sequence[Wire], calls: Sequence[tuple[int, int]] | None) -> list[bool]:
    """Which data pieces, in send order, continue a send() an earlier piece began: a
    first transmission (beyond every byte sent before) inside a call's bytes (``calls``:
    each send()'s first byte and the byte after its last) but not at their start.
    ``None`` when the calls are unknown (a capture): then any piece that begins where
    the data before it ended may be the same call's.

    >>> data = [Wire(0.1, "a", "b", "ACK", 1, 1, 10), Wire(0.1, "a", "b", "ACK", 11, 1, 5)]
    >>> _continues(data, [(1, 16)]), _continues(data, [(1, 11), (11, 16)])
    ([False, True], [False, False])
    >>> _continues(data, [(1, 11)]), _continues(data, None)
    ([False, False], [False, True])
    """
    out = []
    top = 1  # data starts one after the SYN
    for w in pieces:
        fresh = w.length > 0 and w.seq >= top
        if calls is None:
            out.append(fresh and w.seq == top and top > 1)
        else:
            out.append(fresh and any(first < w.seq < end for first, end in calls))
        if w.length:
            top = max(top, w.seq + w.length)
    return out


def make_packets(
    wires: Mapping[str, Sequence[Wire]],
    lost: Mapping[str, set[int]] | None = None,
    arrived: Mapping[str, Sequence[float | None]] | None = None,
    *,
    unknown_losses: bool = False,
    sends: Mapping[str, Sequence[tuple[int, int]]] | None = None,
) -> dict[str, list[Packet]]:
    """Packets per channel from each channel's wire segments in send order (``lost``
    and ``arrived`` by wire segment; a wire segment may be several packets, see
    :func:`_pieces`).  ``sends``: per channel, the bytes of each send() call of its
    sender (first, after the last), which say where one call's data ends and which
    segments continue a call (:attr:`Packet.cont`); ``None`` when the calls are
    unknown (a capture)."""
    fins = _fin_positions(wires)
    out: dict[str, list[Packet]] = {}
    for chan in CHANNEL_ORDER:
        other = CHANNEL_ORDER[1 - CHANNEL_ORDER.index(chan)]
        mine = None if sends is None else sends.get(chan, ())
        starts = [first for first, _end in mine or ()]
        pieces: list[tuple[int, Wire]] = [
            (i, piece) for i, w in enumerate(wires.get(chan, [])) for piece in _pieces(w, starts)
        ]
        cont = _continues([piece for _i, piece in pieces], mine)
        rows: list[Packet] = []
        for (i, piece), more in zip(pieces, cont, strict=True):
            w = wires[chan][i]
            was_lost: bool | None = None if unknown_losses else i in (lost or {}).get(chan, set())
            when = arrived[chan][i] if arrived and i < len(arrived.get(chan, [])) else None
            seg = abstract(piece, fins[chan], fins.get(other))
            rows.append(
                Packet(chan, len(rows), piece, seg, w.t, was_lost, when, cont=more, segment_of=i)
            )
        out[chan] = rows
    return out


# ------------------------------------------------------- runs from recordings ---
def run_from_recording(rec: Recording) -> Run:
    """The run a harness recording of one connection describes (see
    :func:`runs_from_recording`; a recording of several is refused)."""
    runs = runs_from_recording(rec)
    if len(runs) != 1:
        raise ValueError(
            f"{rec.name}: {len(runs)} connections on one 4-tuple (runs_from_recording)"
        )
    return runs[0]


def runs_from_recording(rec: Recording) -> list[Run]:
    """The runs a harness recording describes (see :mod:`checker.kernel.scenarios`): one
    per connection on its 4-tuple (:func:`_cuts`: a reconnect starts a new one at its
    SYN).

    Each channel's segments in send order come from its sender's capture, their arrival
    from the receiver's; the drop rules say which arrivals were lost.  Each side's
    events are ordered by time: its captures, and its calls (a call's event where the
    call was made, its outcome where it returned).  A connection's run ends where the
    next one's begins; the next one's SYN, reaching what the first left behind (a
    TIME-WAIT), is an event of both.
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
        sent[chan], arrived[chan] = mine, theirs
    dropped = _dropped(rec, arrived)
    reached = {
        c: _reached(f"{rec.name}: {c}", sent[c], arrived[c], dropped[c], rec.wall0)
        for c in CHANNEL_ORDER
    }
    lost = {c: reached[c].lost for c in CHANNEL_ORDER}
    when = {c: reached[c].when for c in CHANNEL_ORDER}
    shift = {c: [replace(w, t=round(w.t - rec.wall0, 6)) for w in ws] for c, ws in sent.items()}
    # The values read in the namespaces (a recording made before they were kept has
    # the scenario's own settings only); the variant maps them onto its parameters
    # (Spec.from_sysctls).
    sysctls = dict(rec.read_sysctls() or SYSCTLS.get(rec.name, {}))
    cuts = _cuts(shift)
    bounds = [*cuts, _Cut(float("inf"), {c: len(shift[c]) for c in CHANNEL_ORDER}, {})]
    runs: list[Run] = []
    for k, (cut, nxt) in enumerate(itertools.pairwise(bounds)):
        part = {c: _renumbered(shift[c][cut.index[c] : nxt.index[c]], cut.isn, c) for c in shift}
        part_when = {c: when[c][cut.index[c] : nxt.index[c]] for c in when}
        part_lost = {c: {i - cut.index[c] for i in lost[c] if cut.index[c] <= i < nxt.index[c]}
                     for c in lost}  # fmt: skip
        window = (cut.t, nxt.t)
        sends = {c: _sends(rec, c.split("->")[0], window) for c in CHANNEL_ORDER}
        packets = make_packets(part, part_lost, part_when, sends=sends)
        injected = [
            p for p in _injected_packets(rec, forged, part, packets) if cut.t <= p.sent < nxt.t
        ]
        injected += _copies(packets, reached, cut, nxt, len(injected))
        if nxt.t < float("inf"):
            injected += _next_syn(shift, when, cut, nxt, packets, len(injected))
        listening = tuple(s for s in SIDES if k > 0 and _listening(rec, s, cut.t))
        observed = {
            side: _observations(rec, side, packets, injected, window, k > 0) for side in SIDES
        }
        for side, ob in _next_connect(rec, nxt.t):
            observed[side] = sorted([*observed[side], ob], key=lambda o: (o.t, _ORDER[o.kind]))
        timeline = {side: _timeline(rec, side, window) for side in SIDES}
        states = {side: _merged([state for _t, state in timeline[side]]) for side in SIDES}
        name = rec.name if len(cuts) == 1 else f"{rec.name} #{k + 1}"
        runs.append(
            Run(
                name, packets, observed, states, timeline=timeline, sysctls=sysctls,
                source=f"scenario {rec.name}" + (f", connection {k + 1}" if len(cuts) > 1 else ""),
                clocks={
                    side: [
                        (x.t, x.state, x.timer) for x in rec.samples
                        if x.side == side and x.timer and _within(rec, x.t, window)
                    ]
                    for side in SIDES
                },
                injected=injected,
                listening=listening,
            )
        )  # fmt: skip
    return runs


@dataclass(frozen=True)
class _Cut:
    """Where a connection begins in a recording: the instant of its first SYN, the
    index of its first segment in each channel, and each direction's initial sequence
    number in the recording's numbering (the first connection's)."""

    t: float
    index: dict[str, int]
    isn: dict[str, int]


def _cuts(shift: Mapping[str, Sequence[Wire]]) -> list[_Cut]:
    """The connections in a recording's channels: a SYN without ACK whose sequence
    number is not its direction's current ISN (a retransmitted SYN repeats it) starts a
    new one, which numbers both directions afresh (the other from its own SYN)."""
    cuts = [_Cut(float("-inf"), {c: 0 for c in CHANNEL_ORDER}, {c: 0 for c in CHANNEL_ORDER})]
    events = sorted((w.t, c, i) for c, ws in shift.items() for i, w in enumerate(ws))
    isn = {c: 0 for c in CHANNEL_ORDER}
    for t, chan, i in events:
        w = shift[chan][i]
        if w.flags != "SYN" or w.seq == isn[chan] or t <= cuts[-1].t:
            continue
        other = CHANNEL_ORDER[1 - CHANNEL_ORDER.index(chan)]
        first = next((j for j, x in enumerate(shift[other]) if x.t >= t), len(shift[other]))
        answer = next((x.seq for x in shift[other][first:] if "SYN" in x.flags), 0)
        isn = {chan: w.seq, other: answer}
        cuts.append(_Cut(t, {chan: i, other: first}, dict(isn)))
    return cuts


def _renumbered(wires: Sequence[Wire], isn: Mapping[str, int], chan: str) -> list[Wire]:
    """``wires`` of channel ``chan`` numbered from the connection's own ISNs."""
    if not any(isn.values()):
        return list(wires)
    mine, theirs = isn[chan], isn[CHANNEL_ORDER[1 - CHANNEL_ORDER.index(chan)]]
    out = []
    for w in wires:
        ack = (w.ack - theirs) % 2**32 if "ACK" in w.flags else 0
        out.append(replace(w, seq=(w.seq - mine) % 2**32, ack=ack))
    return out


def _next_syn(
    shift: Mapping[str, Sequence[Wire]],
    when: Mapping[str, Sequence[float | None]],
    cut: _Cut,
    nxt: _Cut,
    packets: Mapping[str, Sequence[Packet]],
    number: int,
) -> list[Packet]:
    """The next connection's first SYN as the endpoint it reached saw it -- the socket
    this connection left on that 4-tuple, a TIME-WAIT -- placed against its RCV.NXT by
    whether it comes after it (Linux's test, RFC 9293 MAY-2 / RFC 6191), not by the
    window: ``AHEAD`` if it does, ``BELOW`` if not."""

    def opens(c: str) -> bool:
        ws = shift[c]
        return (
            nxt.index[c] < len(ws)
            and ws[nxt.index[c]].t == nxt.t
            and ws[nxt.index[c]].flags == "SYN"
        )

    chan = next(c for c in CHANNEL_ORDER if opens(c))
    i = nxt.index[chan]
    arrival = when[chan][i]
    if arrival is None:
        return []  # never arrived
    w = shift[chan][i]
    seq = (w.seq - cut.isn[chan]) % 2**32
    rcv_nxt = _rcv_nxt(packets[chan], arrival)
    after = 0 < (seq - rcv_nxt) % 2**32 < 2**31
    segment = Segment(SYN, AHEAD if after else BELOW, 0)
    return [Packet(chan, number, replace(w, seq=seq), segment, w.t, False, arrival, "next")]


def _next_connect(rec: Recording, t: float) -> list[tuple[str, Obs]]:
    """The connect() that opens the next connection, at ``t`` (its SYN), made by a side
    of this one: it is called on the 4-tuple this connection leaves (Linux's
    tcp_tw_reuse takes a TIME-WAIT over), so it is this connection's event too."""
    out = []
    for side in SIDES:
        for call in rec.calls.get(side, []):
            start, end = float(call.get("start", call["t"])), float(call["t"])
            if call["op"] == "connect" and call.get("ok") and start < t <= end:
                text = "connect() of the next connection on the 4-tuple"
                out.append((side, Obs(start, side, "reopen", event="active OPEN", text=text)))
    return out


def _listening(rec: Recording, side: str, t: float) -> bool:
    """Whether ``side`` had a listening socket at ``t`` (its last listen() or unlisten
    before then was a successful listen())."""
    last = None
    for call in rec.calls.get(side, []):
        if float(call.get("start", call["t"])) < t and call["op"] in ("listen", "unlisten"):
            last = call["op"] if call.get("ok") else last
    return last == "listen"


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
    rec: Recording,
    forged: Mapping[int, int],
    sent: Mapping[str, Sequence[Wire]],
    packets: Mapping[str, Sequence[Packet]],
) -> list[Packet]:
    """The injections as packets of the channel each travelled in (see
    :attr:`Run.injected`), placed against the receiver as it was when each arrived
    (:func:`placed`)."""
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
        if at is not None:
            segment = placed(segment, wire.seq, _rcv_nxt(packets[chan], at), fins.get(chan))
        out.append(Packet(chan, k, wire, segment, inj.t, False, at, "forged"))
    return out


#: The receive window assumed for a forged segment's sequence number: a captured
#: segment does not carry the receiver's window in this abstraction.  Linux opens with
#: 64 KiB and more; the scenarios' forged numbers are a few kilobytes from RCV.NXT.
WINDOW = 65535


def placed(seg: Segment, seq: int, rcv_nxt: int, fin: int | None = None) -> Segment:
    """A forged segment's sequence number against the receiver's RCV.NXT: exactly
    there (the abstraction's own point), inside the window past it
    (:data:`~checker.model.segments.AHEAD`), or outside (:data:`~checker.model.segments.
    BELOW`) -- the placements of an attacker's segments in the product.

    >>> placed(Segment(RST, 1, 0), 11, 11).seq, placed(Segment(RST, 1, 0), 1011, 11).seq
    (1, 3)
    >>> placed(Segment(RST, 1, 0), 5, 11).seq
    -1

    The number of the sender's FIN (``fin``), once the FIN is in (RCV.NXT just past
    it), is the abstraction's own point too: the model tells a segment there apart
    (``rcv RST at FIN``: Linux's tcp_reset_check).

    >>> placed(Segment(RST, 1, 0), 10, 11, fin=10).seq
    1
    """
    if seq == rcv_nxt or (fin is not None and seq == fin and rcv_nxt == fin + 1):
        return seg
    at = AHEAD if rcv_nxt < seq < rcv_nxt + WINDOW else BELOW
    return Segment(seg.flags, at, seg.ack, seg.data)


def _rcv_nxt(packets: Sequence[Packet], at: float) -> int:
    """The receiver's RCV.NXT when a segment reached it at ``at``: past every segment
    of its peer delivered before, data and SYN and FIN counted."""
    top = 0
    for p in packets:
        if p.lost or p.arrived is None or p.arrived >= at:
            continue
        w = p.wire
        end = w.seq + w.length + (1 if "SYN" in w.flags or "FIN" in w.flags else 0)
        top = max(top, end)
    return top


#: How much earlier than its arrival a segment's capture at the receiver may be
#: stamped than at its sender (two tcpdump processes, one clock): none on veth.
_CLOCK_SLACK = 0.001


@dataclass(frozen=True)
class _Reached:
    """How one channel's segments reached the receiver, by the two captures (see
    :func:`_reached`); indexed by the segment's place in the sender's capture."""

    #: When each one arrived (the first copy the receiver kept), ``None``: never seen.
    when: list[float | None]
    #: The ones every arrival of which the drop rules lost.
    lost: set[int]
    #: The copies the network made: (segment, when the copy arrived), in arrival order.
    copies: list[tuple[int, float]]


def _reached(
    where: str, sent: Sequence[Wire], seen: Sequence[Wire], dropped: Collection[int], wall0: float
) -> _Reached:
    """Match each arrival the receiver's capture shows with the segment the sender's
    capture shows it sent: the first one not yet arrived with the same flags, numbers
    and length, sent before.  The network may reorder (arrivals then come in another
    order than the sends) and duplicate: an arrival of a segment whose every sending
    has arrived already is a copy the network made (the sender never sent it again).
    An arrival the sender never sent means the captures disagree.

    The second segment overtook the first, which then arrived twice:

    >>> a = [Wire(0.1, "a", "b", "ACK", 1, 1, 10), Wire(0.2, "a", "b", "ACK", 11, 1, 10)]
    >>> b = [replace(a[1], t=0.3), replace(a[0], t=0.4), replace(a[0], t=0.5)]
    >>> _reached("ex", a, b, set(), 0.0)
    _Reached(when=[0.4, 0.3], lost=set(), copies=[(0, 0.5)])

    A copy that arrives after the drop rules lost the original is its delivery:

    >>> _reached("ex", a, b, {1}, 0.0)
    _Reached(when=[0.5, 0.3], lost=set(), copies=[])
    """
    index: dict[tuple[str, int, int, int], list[int]] = {}
    for i, w in enumerate(sent):
        index.setdefault((w.flags, w.seq, w.ack, w.length), []).append(i)
    when: list[float | None] = [None] * len(sent)
    kept: list[bool] = [False] * len(sent)
    copies = []
    for j, w in enumerate(seen):
        t = round(w.t - wall0, 6)
        sendings = [
            i
            for i in index.get((w.flags, w.seq, w.ack, w.length), [])
            if sent[i].t <= w.t + _CLOCK_SLACK
        ]
        if not sendings:
            raise ValueError(
                f"{where}: the receiver's capture shows {w.flags} seq={w.seq} ack={w.ack} "
                f"+{w.length} bytes at {t:g} s, which the sender's capture never shows sent "
                "(the two captures disagree)"
            )
        fresh = [i for i in sendings if when[i] is None]
        i = fresh[0] if fresh else sendings[-1]
        if when[i] is None or (not kept[i] and j not in dropped):
            when[i] = t
        elif j not in dropped:
            copies.append((i, t))
        kept[i] = kept[i] or j not in dropped
    lost = {i for i, t in enumerate(when) if t is not None and not kept[i]}
    return _Reached(when, lost, copies)


def _copies(
    packets: Mapping[str, Sequence[Packet]],
    reached: Mapping[str, _Reached],
    cut: _Cut,
    nxt: _Cut,
    number: int,
) -> list[Packet]:
    """The copies the network made of this connection's segments (:func:`_reached`),
    each as the packets of its segment, arriving when the copy did."""
    out: list[Packet] = []
    for chan in CHANNEL_ORDER:
        for i, t in reached[chan].copies:
            if not cut.index[chan] <= i < nxt.index[chan]:
                continue
            for p in packets[chan]:
                if p.segment_of == i - cut.index[chan]:
                    out.append(replace(p, index=number + len(out), arrived=t, origin="copy"))
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


#: How a segment from outside the connection's channels is named, by its origin.
ORIGINS = {"forged": "a forged", "next": "the next connection's", "copy": "the network's copy of"}

#: Order of simultaneous events of one side: a call is made before what it causes, a
#: segment arrives before the answer to it, an outcome is known last.
_ORDER = {"call": 0, "reopen": 0, "deliver": 1, "forged": 1, "send": 2, "expect": 3}


def _observations(
    rec: Recording,
    side: str,
    packets: Mapping[str, list[Packet]],
    injected: Sequence[Packet],
    window: tuple[float, float] = (float("-inf"), float("inf")),
    later: bool = False,
) -> list[Obs]:
    """``side``'s events of the connection that began at ``window[0]`` and ended at
    ``window[1]``: the calls that returned between (a later connection's listen() and
    unlisten() manage the listener, not the connection)."""
    out: list[Obs] = []
    out_chan = CHANNELS[side]
    in_chan = "B->A" if side == "A" else "A->B"
    calls = [
        c for c in rec.calls.get(side, [])
        if window[0] < float(c["t"]) <= window[1]
        and not (c["op"] in ("listen", "unlisten") and (later or _accepted_before(rec, side, c)))
    ]  # fmt: skip
    held = _held_sends(calls, packets[out_chan])
    for p in packets[out_chan]:
        t = held.get(p.index, p.sent)
        out.append(Obs(t, side, "send", p.channel, p.index, text=f"send {p.text()}"))
    for p in packets[in_chan]:
        if p.arrived is not None and not p.lost:
            out.append(
                Obs(p.arrived, side, "deliver", p.channel, p.index, text=f"receive {p.text()}")
            )
    for p in injected:
        if p.channel == in_chan and p.arrived is not None:
            text = f"receive {ORIGINS[p.origin]} {p.text()}"
            out.append(Obs(p.arrived, side, "forged", p.channel, p.index, text=text))
    linger0 = closed = False
    opened = False
    read = 0
    for call in calls:
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
            if ok:  # the call's first segment; the rest of its bytes continue it (cont)
                out.append(Obs(start, side, "call", event="SEND", text=shown, op=op))
            else:
                out.append(Obs(start, side, "expect", expect="closed", text=shown, op=op))
        elif op == "recv":
            if ok and call.get("timeout") is not True:  # (old files: the argument too)
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


def _sends(rec: Recording, side: str, window: tuple[float, float]) -> list[tuple[int, int]]:
    """The bytes of each send() call ``side`` made in the connection of ``window``
    (its first, and the one after its last), in the connection's relative numbers (data
    starts at 1)."""
    out = []
    written = 1
    for call in rec.calls.get(side, []):
        if call["op"] == "send" and call.get("ok") and window[0] < float(call["t"]) <= window[1]:
            size = int(call.get("sent", 0))
            out.append((written, written + size))
            written += size
    return out


def _held_sends(calls: Sequence[dict[str, Any]], sent: Sequence[Packet]) -> dict[int, float]:
    """Data the kernel held past the application's next call (send() with MSG_MORE,
    Nagle, or the rest of a large send() queued behind the window): each packet that
    carries a send()'s bytes, by index, with the instant of that call.  The model sends
    a call's data at the call; the holding is invisible to the peer, like a longer
    flight, so the send is placed there in the side's order.

    >>> from checker.kernel.pcap import Wire
    >>> data = Wire(0.5, "a", "b", "FIN+ACK", 1, 1, 10)
    >>> ps = make_packets({"A->B": [data]})["A->B"]
    >>> calls = [{"op": "send", "ok": True, "start": 0.1, "t": 0.1, "sent": 10},
    ...          {"op": "close", "ok": True, "start": 0.4, "t": 0.4}]
    >>> _held_sends(calls, ps)  # the data piece; its FIN stays at 0.5
    {0: 0.1}
    """
    # (first byte, call start, next call start, byte after the last)
    writes: list[tuple[int, float, float, int]] = []
    written = 1  # data starts one after the SYN
    ok_calls = [c for c in calls if c.get("ok")]
    for i, call in enumerate(ok_calls):
        if call["op"] != "send":
            continue
        start = float(call.get("start", call["t"]))
        later = [float(c.get("start", c["t"])) for c in ok_calls[i + 1 :]]
        size = int(call.get("sent", 0))
        writes.append((written, start, later[0] if later else float("inf"), written + size))
        written += size
    out: dict[int, float] = {}
    top = 1
    for p in sent:
        if not p.wire.length or p.wire.seq < top:
            continue  # no data, or a retransmission
        top = p.wire.seq + p.wire.length
        for first, start, nxt, end in writes:
            if first <= p.wire.seq < end and p.sent > nxt:
                out[p.index] = start
    return out


def _bytes_in(packets: Sequence[Packet], before: float) -> int:
    """How far the data delivered before ``before`` reaches (bytes after the SYN)."""
    top = 0
    for p in packets:
        if p.wire.length and not p.lost and p.arrived is not None and p.arrived < before:
            top = max(top, p.wire.seq + p.wire.length - 1)
    return top


def _timeline(
    rec: Recording, side: str, window: tuple[float, float] = (float("-inf"), float("inf"))
) -> list[tuple[float, str]]:
    """The side's connection state in every round of ``ss`` that ran within ``window``
    (:func:`_within`; a round that straddles an end of it is left out): CLOSED when the
    round saw no connection there (the listener is left out)."""
    by_round: dict[float, list[str]] = {}
    for s in rec.samples:
        if s.side == side and s.state != "LISTEN":
            by_round.setdefault(s.t, []).append(s.state)
    return [
        (t, state)
        for t, who in rec.rounds
        if who == side and _within(rec, t, window)
        for state in by_round.get(t, ["CLOSED"])
    ]


def _within(rec: Recording, t: float, window: tuple[float, float]) -> bool:
    """Whether the round of ``ss`` that began at ``t`` ran within ``window``: a round is
    stamped when it began, and a side's ``ss`` ran some time after, before the next
    round began."""
    if window == (float("-inf"), float("inf")):
        return True
    later = [r for r, _who in rec.rounds if r > t]
    end = min(later) if later else float("inf")
    return window[0] <= t and (end <= window[1] or window[1] == float("inf"))


def _accepted_before(rec: Recording, side: str, call: Mapping[str, Any]) -> bool:
    """Whether ``side`` had accepted a connection before ``call`` began: a listen() or
    unlisten() after that manages the listener, not the connection."""
    start = float(call.get("start", call["t"]))
    return any(
        c["op"] == "accept" and c.get("ok") and float(c["t"]) <= start
        for c in rec.calls.get(side, [])
    )


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


#: Where a capture may have been taken: at the client (the active opener), at the
#: server, or somewhere between (or unknown).
VANTAGE_POINTS = ("client", "server", "between")


def run_from_pcap(path: str | Path, client: str | None = None, at: str = "between") -> Run:
    """The run of the one connection in the pcap file ``path`` (see
    :func:`runs_from_pcap`; a capture of several on its 4-tuple is refused)."""
    runs = runs_from_pcap(path, client, at)
    if len(runs) != 1:
        raise UsageError(f"{path}: {len(runs)} connections one after another on one 4-tuple")
    return runs[0]


def runs_from_pcap(path: str | Path, client: str | None = None, at: str = "between") -> list[Run]:
    """The runs of the connections on one 4-tuple in the pcap file ``path``, one per
    connection (a reconnect from the same port starts a new one at its SYN); ``client``:
    the active opener as ``HOST:PORT``, needed only when the capture holds several
    4-tuples.

    ``at``: where the capture was taken (:data:`VANTAGE_POINTS`).  At an end, that end
    sent every segment it shows leaving and received every one it shows arriving, in
    the order shown: only what it sent may have been lost, after the capture.  Between
    (or unknown), any segment may have been lost after the capture and delivered at any
    moment after it was sent.

    Examples
    --------
    >>> import pathlib
    >>> pcap = pathlib.Path(__file__).parents[2] / "tests/data/pcap/last-ack-gives-up-client.pcap"
    >>> [run] = runs_from_pcap(pcap)
    >>> run.name
    'last-ack-gives-up-client.pcap 10.77.0.1:33798 -> 10.77.0.2:80'
    """
    if at not in VANTAGE_POINTS:
        raise UsageError(f"--at {at}: one of {', '.join(VANTAGE_POINTS)}")
    path = Path(path)
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
    cuts = _cuts(shifted)
    bounds = [*cuts, _Cut(float("inf"), {c: len(shifted[c]) for c in CHANNEL_ORDER}, {})]
    runs = []
    for k, (cut, nxt) in enumerate(itertools.pairwise(bounds)):
        part = {
            c: _renumbered(shifted[c][cut.index[c] : nxt.index[c]], cut.isn, c) for c in shifted
        }
        packets = make_packets(part, unknown_losses=True)
        watched: tuple[str, ...] = ()
        observed: dict[str, list[Obs]] = {"A": [], "B": []}
        if at != "between":
            side = "A" if at == "client" else "B"
            watched = (side,)
            packets, observed[side] = _seen_at(side, packets)
        name = f"{path.name} {a} -> {b}" + (f" #{k + 1}" if len(cuts) > 1 else "")
        runs.append(
            Run(name, packets, observed, free=True, source=f"{path} (at {at})", watched=watched)
        )
    return runs


def _seen_at(side: str, packets: Mapping[str, list[Packet]]) -> tuple[
    dict[str, list[Packet]], list[Obs]
]:  # fmt: skip
    """A capture taken at ``side``: what it shows arriving was delivered there, when it
    shows; ``side``'s sends and receipts are in the capture's order."""
    in_chan = "B->A" if side == "A" else "A->B"
    out = dict(packets)
    out[in_chan] = [replace(p, lost=False, arrived=p.sent) for p in packets[in_chan]]
    events = [Obs(p.sent, side, "send", p.channel, p.index, text=f"send {p.text()}")
              for p in out[CHANNELS[side]]]  # fmt: skip
    events += [Obs(p.sent, side, "deliver", p.channel, p.index, text=f"receive {p.text()}")
               for p in out[in_chan]]  # fmt: skip
    events.sort(key=lambda o: (o.t, _ORDER[o.kind], o.index))
    return out, events
