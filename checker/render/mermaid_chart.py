"""Message sequence charts as Mermaid ``sequenceDiagram`` text.

A segment leaves its sender in one step of a trace and arrives (or is lost) in a later
one, possibly after other moves; :func:`flights` pairs every send with its end, and
:func:`render_mermaid` draws each segment once, as a numbered arrow at the step that
sent it: delivered (``A->>B: SYN``), lost on the way (``A-xB: ACK (lost)``), or still on
its way when the trace ends (``A-->>B: FIN (still in flight at the end)``).  Every move
of an endpoint is a note over it, with the new state when it changes (``Note over A:
CLOSE → FIN-WAIT-1``); a receipt names the arrow it takes (``rcv SYN (1) →
SYN-RECEIVED``).  A timed run prefixes every arrow and note with its instant (``t=61
FIN+ACK``).  A lasso marks where its cycle starts; a run that may stop forever says so
at the end.

:mod:`checker.render.svg_chart` draws the same pairing as an SVG.

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> from checker.product.explore import explore
>>> from checker.check.traces import trace_of
>>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> print(render_mermaid(trace_of(ex, [0])), end="")
sequenceDiagram
    autonumber
    participant A
    participant B
    Note over A,B: CLOSED / CLOSED
    Note over A: active OPEN → SYN-SENT
    A-->>B: SYN (still in flight at the end)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..check.traces import Trace
from ..model.segments import Segment
from ..product.semantics import Label, PState

__all__ = [
    "DELIVERED",
    "DROPPED",
    "FATE_WORDS",
    "IN_FLIGHT",
    "LOST",
    "Flight",
    "event_text",
    "flights",
    "instant_text",
    "mismatch_chart",
    "render_mermaid",
    "step_instants",
]

DELIVERED = "delivered"
LOST = "lost"
#: Sent into a full channel that drops what does not fit (``overflow = "drop"``).
DROPPED = "dropped"
IN_FLIGHT = "in flight"
#: How a chart names each end of a segment's journey (a delivery goes without saying).
FATE_WORDS = {DELIVERED: "", LOST: "lost", DROPPED: "dropped, channel full", IN_FLIGHT: "in flight"}


@dataclass(frozen=True)
class Flight:
    """One copy of a segment on its way from ``sender`` to the other endpoint.

    Rows number the trace's states: ``0`` is the initial state, ``k`` the state after
    step ``k`` (counting from 1, as :func:`checker.render.text_chart.render_text` does).
    ``sent`` is the row of the step that sent the copy (``0``: already in flight at the start; for a
    duplicate, the row its original was sent at); ``end`` the row of the step where it
    arrived, was lost or was dropped, ``None`` while it is still in flight at the end.
    """

    segment: Segment
    sender: str
    sent: int
    end: int | None
    fate: str
    duplicate: bool = False
    #: Forged by the off-path attacker: drawn from the peer's side (whose addresses it
    #: spoofs), sent and delivered on one step, never in a channel.
    forged: bool = False
    #: The row where this copy entered the network: ``sent``, but a duplicate's own row.
    entered: int | None = None

    @property
    def born(self) -> int:
        """The row a chart draws the copy's departure at."""
        return self.sent if self.entered is None else self.entered

    @property
    def receiver(self) -> str:
        return "B" if self.sender == "A" else "A"

    @property
    def channel(self) -> str:
        return f"{self.sender}->{self.receiver}"


def _sender_of(channel: str) -> str:
    return channel.split("->", 1)[0]


def _arrived(received: Segment, before: PState, after: PState, sender: str) -> Segment:
    """The copy a receipt took out of the channel from ``sender``.

    Usually the segment the move names; but a segment of another incarnation is named as
    the receiver read it (its numbers placed against the receiver's own connection), so
    the copy that left the channel is what tells it apart.
    """
    gone = Counter(before.channel_from(sender)) - Counter(after.channel_from(sender))
    if received in gone or not gone:
        return received
    return min(gone)


def flights(trace: Trace) -> list[Flight]:
    """Every segment copy of ``trace`` with the rows where it was sent and where it ended.

    Copies are listed in the order they entered the network (those in flight at the
    start first).  A delivery or loss takes the oldest copy of an equal segment in its
    channel: on a FIFO channel that is the head; on an unordered one equal copies cannot
    be told apart, so the oldest is as good as any and keeps the pairing deterministic.

    >>> from checker.model.load import load_spec
    >>> from checker.product.config import ProductConfig
    >>> from checker.product.explore import explore
    >>> from checker.check.traces import trace_of
    >>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    >>> [(f.segment.name, f.sender, f.sent, f.end, f.fate) for f in flights(trace_of(ex, [0]))]
    [('SYN', 'A', 1, None, 'in flight')]
    """
    out: list[Flight] = []
    queues: dict[str, list[int]] = {"A->B": [], "B->A": []}

    def launch(
        seg: Segment, sender: str, row: int, duplicate: bool = False, entered: int | None = None
    ) -> None:
        flight = Flight(seg, sender, row, None, IN_FLIGHT, duplicate, entered=entered)
        queues[flight.channel].append(len(out))
        out.append(flight)

    def oldest(channel: str, seg: Segment) -> int | None:
        return next((i for i in queues[channel] if out[i].segment == seg), None)

    def finish(channel: str, seg: Segment, row: int, fate: str) -> None:
        i = oldest(channel, seg)
        if i is None:
            # Nothing to pair it with (a trace whose states do not account for the
            # copy): it is drawn as if sent where it ended.
            out.append(Flight(seg, _sender_of(channel), row, row, fate))
            return
        queues[channel].remove(i)
        out[i] = replace(out[i], end=row, fate=fate)

    for seg in trace.initial.ab:
        launch(seg, "A", 0)
    for seg in trace.initial.ba:
        launch(seg, "B", 0)
    before = trace.initial
    for row, step in enumerate(trace.steps, start=1):
        label, previous, before = step.label, before, step.state
        if label.actor == "net":
            if label.segment is None or label.channel is None:
                continue
            if label.kind == "loss":
                finish(label.channel, label.segment, row, LOST)
            elif label.kind == "dup":
                i = oldest(label.channel, label.segment)
                sent = out[i].sent if i is not None else row
                launch(label.segment, _sender_of(label.channel), sent, True, entered=row)
            continue
        if label.kind == "attack" and label.received is not None:
            other = "B" if label.actor == "A" else "A"
            out.append(Flight(label.received, other, row, row, DELIVERED, forged=True))
        elif label.received is not None:
            other = "B" if label.actor == "A" else "A"
            finish(
                f"{other}->{label.actor}",
                _arrived(label.received, previous, step.state, other),
                row,
                DELIVERED,
            )
        # A full channel keeps what fits, in order, and drops the rest.
        kept = len(label.sent) - len(label.dropped)
        for seg in label.sent[:kept]:
            launch(seg, label.actor, row)
        for seg in label.dropped:
            out.append(Flight(seg, label.actor, row, row, DROPPED))
    return out


def event_text(label: Label, before: PState, after: PState, clock: str = "") -> str:
    """An endpoint move in words, with its new state when it changed.

    ``CLOSE → FIN-WAIT-1``, ``timeout RETX``, ``rcv FIN → TIME-WAIT``; empty for a
    network move.  ``clock`` marks a timer's expiry (the SVG chart's ``◷``): a Mermaid
    chart is drawn with whatever fonts its reader has, so it says ``timeout`` in words.
    """
    if label.actor == "net":
        return ""
    event = f"{clock} {label.event}" if clock and label.kind == "timeout" else label.event
    old = before.local(label.actor).state
    new = after.local(label.actor).state
    return f"{event} → {new}" if new != old else event


def step_instants(trace: Trace, instants: Sequence[float] | None) -> list[float] | None:
    """``instants`` (or a timed run's own) as floats, checked: one per state of ``trace``."""
    if instants is None and trace.times is not None:
        instants = [float(t) for t in trace.times]
    if instants is None:
        return None
    if len(instants) != len(trace.steps) + 1:
        raise ValueError("one instant per step, the initial state's first")
    return [float(t) for t in instants]


def instant_text(value: float) -> str:
    """``t=61``, ``t=10.2``."""
    return f"t={value:g}"


# Mermaid reads ``;`` as the end of a statement and ``#`` as the start of an entity code,
# and ``:`` separates a message from its text: inside text they go as entity codes.
_ESCAPES = {"#": "#35;", ";": "#59;", ":": "#58;", "<": "#60;", ">": "#62;"}


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _flight_text(flight: Flight, times: list[float] | None) -> str:
    """The words on a segment's arrow, drawn where it was sent: its fate unless it was
    delivered (its receipt is a note, at the step it arrives, naming the arrow's number);
    in a timed run its instants, sent first."""
    notes = ["duplicate"] if flight.duplicate else []
    if flight.forged:
        notes.append("forged by the attacker")
    if flight.fate == IN_FLIGHT:
        notes.append("still in flight at the end")
    elif times is None or flight.end is None:
        notes.append(FATE_WORDS[flight.fate])
    elif flight.fate == DELIVERED:
        if flight.end != flight.born:
            notes.append(f"arrives {instant_text(times[flight.end])}")
    else:
        notes.append(f"{FATE_WORDS[flight.fate]} {instant_text(times[flight.end])}")
    words = ", ".join(n for n in notes if n)
    text = flight.segment.name + (f" ({words})" if words else "")
    if times is not None:
        text = f"{instant_text(times[flight.born])} {text}"
    return text


_ARROWS = {DELIVERED: "->>", LOST: "-x", DROPPED: "-x", IN_FLIGHT: "-->>"}


def render_mermaid(trace: Trace, instants: Sequence[float] | None = None) -> str:
    """Render ``trace`` as a Mermaid ``sequenceDiagram`` (deterministic, newline-terminated).

    Every segment is an arrow drawn at the step that sent it, numbered (``autonumber``),
    so that a chart reads in the order things happened: a copy lost later still leaves
    its sender before the sender moves on.  A delivery's receipt is a note over the
    receiver at the step it arrives, naming the arrow (``rcv FIN (3) → CLOSE-WAIT``).
    With ``instants`` (one per step, the initial state's first) -- or when the trace is
    a timed run -- every arrow and note starts with its instant.
    """
    times = step_instants(trace, instants)
    lines = ["sequenceDiagram", "    autonumber", "    participant A", "    participant B"]

    def put(text: str) -> None:
        lines.append(f"    {text}")

    def note(over: str, text: str, row: int | None = None) -> None:
        if times is not None and row is not None:
            text = f"{instant_text(times[row])} {text}"
        put(f"Note over {over}: {_escape(text)}")

    number: dict[int, int] = {}  # flight -> its arrow's number (Mermaid's autonumber)

    def arrow(i: int, flight: Flight) -> None:
        number[i] = len(number) + 1
        put(
            f"{flight.sender}{_ARROWS[flight.fate]}{flight.receiver}: "
            f"{_escape(_flight_text(flight, times))}"
        )

    every = flights(trace)
    leaving: dict[int, list[int]] = {}
    arriving: dict[int, list[int]] = {}
    for i, flight in enumerate(every):
        leaving.setdefault(flight.born, []).append(i)
        if flight.end is not None and flight.fate == DELIVERED:
            arriving.setdefault(flight.end, []).append(i)

    note("A,B", f"{trace.initial.a.state} / {trace.initial.b.state}", 0)
    for i in leaving.get(0, []):
        arrow(i, every[i])
    before = trace.initial
    for row, step in enumerate(trace.steps, start=1):
        if trace.loop is not None and row - 1 == trace.loop:
            note("A,B", "the cycle starts here and repeats forever")
        label = step.label
        if label.actor == "net":
            if label.kind == "dup" and label.segment is not None and label.channel is not None:
                sender = _sender_of(label.channel)
                note("A,B", f"the network duplicates {label.segment.name} from {sender}", row)
        else:
            # A forged segment arrives on the step it is sent: its arrow comes first.
            for i in leaving.get(row, []):
                if every[i].forged:
                    arrow(i, every[i])
            words = event_text(label, before, step.state)
            got = [i for i in arriving.get(row, []) if every[i].receiver == label.actor]
            if label.received is not None and got:
                event, _, rest = words.partition(" → ")
                marks = ", ".join(str(number[i]) for i in got if i in number)
                words = f"{event} ({marks})" + (f" → {rest}" if rest else "")
            note(label.actor, words, row)
        for i in leaving.get(row, []):
            if not every[i].forged:
                arrow(i, every[i])
        before = step.state
    if trace.loop is not None:
        note("A,B", f"back to the state after step {trace.loop}")
    if trace.stops:
        note("A,B", "and stays here forever")
    return "\n".join(lines) + "\n"


def mismatch_chart(trace: Trace, instants: Sequence[float], pending: Sequence[str]) -> str:
    """The chart of a run that parts from the model (:mod:`checker.kernel.conform`): the
    prefix the model can follow, where they part, and the kernel's next events."""
    lines = [render_mermaid(trace, instants).rstrip("\n")]
    lines.append("    Note over A,B: kernel and model part here")
    lines += [f"    Note over A,B: kernel: {text.replace(';', ',')}" for text in pending]
    return "\n".join(lines) + "\n"
