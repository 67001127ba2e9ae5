"""Message sequence charts as Mermaid ``sequenceDiagram`` text.

A segment leaves its sender in one step of a trace and arrives (or is lost) in a later
one, possibly after other moves; :func:`flights` pairs every send with its end, and
:func:`render_mermaid` draws each segment once, as an arrow at the step where it arrives
(``A->>B: SYN``), is lost (``A-xB: ACK (lost)``), or -- still on its way when the trace
ends -- as a dashed arrow at the end (``A-->>B: FIN (in flight)``).  Application calls
and timer expiries are notes over their endpoint, with the new state when it changes
(``Note over A: CLOSE → FIN-WAIT-1``); a receipt that changes its endpoint's state is
followed by such a note (``rcv FIN → CLOSE-WAIT``).  A timed run prefixes every arrow
and note with its instant (``t=61 FIN+ACK``).  A lasso marks where its cycle starts;
a run that may stop forever says so at the end.

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
    participant A
    participant B
    Note over A,B: CLOSED / CLOSED
    Note over A: active OPEN → SYN-SENT
    A-->>B: SYN (in flight)
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

    def launch(seg: Segment, sender: str, row: int, duplicate: bool = False) -> None:
        flight = Flight(seg, sender, row, None, IN_FLIGHT, duplicate)
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
                launch(label.segment, _sender_of(label.channel), sent, duplicate=True)
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


def event_text(label: Label, before: PState, after: PState) -> str:
    """An endpoint move in words, with its new state when it changed.

    ``CLOSE → FIN-WAIT-1``, ``⏱ timeout RETX``, ``rcv FIN → TIME-WAIT``; empty for a
    network move.
    """
    if label.actor == "net":
        return ""
    event = f"⏱ {label.event}" if label.kind == "timeout" else label.event
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
    """The words on a segment's arrow; in a timed run its end's instant first, and when
    it was sent (a Mermaid chart draws the arrow only where the segment arrives)."""
    notes = ["duplicate"] if flight.duplicate else []
    if flight.forged:
        notes.append("forged by the attacker")
    if times is None:
        notes.append(FATE_WORDS[flight.fate])
    else:
        sent = "the start" if flight.sent == 0 else instant_text(times[flight.sent])
        if flight.fate == IN_FLIGHT:
            notes.append(f"in flight since {sent}")
        else:
            notes.append("in flight at the start" if flight.sent == 0 else f"sent {sent}")
            notes.append(FATE_WORDS[flight.fate])
    words = ", ".join(n for n in notes if n)
    text = flight.segment.name + (f" ({words})" if words else "")
    if times is not None and flight.end is not None:
        text = f"{instant_text(times[flight.end])} {text}"
    return text


_ARROWS = {DELIVERED: "->>", LOST: "-x", DROPPED: "-x", IN_FLIGHT: "-->>"}


def render_mermaid(trace: Trace, instants: Sequence[float] | None = None) -> str:
    """Render ``trace`` as a Mermaid ``sequenceDiagram`` (deterministic, newline-terminated).

    With ``instants`` (one per step, the initial state's first) -- or when the trace is a
    timed run -- every arrow and note starts with its instant, and an arrow also says when
    its segment was sent.
    """
    times = step_instants(trace, instants)
    lines = ["sequenceDiagram", "    participant A", "    participant B"]

    def put(text: str) -> None:
        lines.append(f"    {text}")

    def note(over: str, text: str, row: int | None = None) -> None:
        if times is not None and row is not None:
            text = f"{instant_text(times[row])} {text}"
        put(f"Note over {over}: {_escape(text)}")

    def arrow(flight: Flight) -> None:
        put(
            f"{flight.sender}{_ARROWS[flight.fate]}{flight.receiver}: "
            f"{_escape(_flight_text(flight, times))}"
        )

    every = flights(trace)
    ending: dict[int, list[Flight]] = {}
    for flight in every:
        if flight.end is not None:
            ending.setdefault(flight.end, []).append(flight)

    note("A,B", f"{trace.initial.a.state} / {trace.initial.b.state}", 0)
    before = trace.initial
    for row, step in enumerate(trace.steps, start=1):
        if trace.loop is not None and row - 1 == trace.loop:
            note("A,B", "the cycle starts here and repeats forever")
        label = step.label
        arrived = [f for f in ending.get(row, []) if f.fate != DROPPED]
        dropped = [f for f in ending.get(row, []) if f.fate == DROPPED]
        for flight in arrived:
            arrow(flight)
        if label.actor == "net":
            if label.kind == "dup" and label.segment is not None and label.channel is not None:
                sender = _sender_of(label.channel)
                note("A,B", f"the network duplicates {label.segment.name} from {sender}", row)
        else:
            changed = before.local(label.actor).state != step.state.local(label.actor).state
            # A receipt is its arrow; only a change of state needs a word.
            if label.received is None or changed:
                note(label.actor, event_text(label, before, step.state), row)
        for flight in dropped:
            arrow(flight)
        before = step.state
    for flight in every:
        if flight.end is None:
            arrow(flight)
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
