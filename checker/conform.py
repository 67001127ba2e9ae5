"""Conformance: does the model have a run that does what a real TCP stack did?

A *run* (:class:`Run`) is what was observed of one connection: the segments each side
sent, in order, with the ones the network lost; and, when the run was recorded by the
harness (:mod:`checker.scenarios`), each side's own view in time order -- the segments it
sent and received, the socket calls its application made with their outcomes -- and the
states ``ss`` sampled.  :func:`check_run` searches the product of two endpoints of a
variant (``linux`` by default) joined by FIFO channels for a path that

* sends the same segments in the same order in each direction (flags, and what the
  sequence and acknowledgment numbers cover -- the model's relative numbers),
* loses exactly the segments that were lost, and delivers the others in order,
* makes the recorded socket calls where each side made them, with the recorded
  outcomes (``connect`` succeeded or was refused, ``send`` failed with EPIPE...),
* passes through each side's sampled states in order (a subsequence: sampling every few
  milliseconds misses short-lived states; a side whose connection vanished from ``ss``
  was sampled as CLOSED).

Each side's events must happen in the order that side saw them; the two sides are
ordered against each other only through the segments.  Timer expiries are not observed:
the model may fire any timer whose rule fits.  The retry bounds (``ORPHAN_RETRIES``...)
are not taken from the spec: Linux counts a time budget rather than retransmissions, so
the search keeps, for every count parameter, the range of values consistent with the
path so far, and reports the range the run implies.

A *capture* brought by a user (:func:`run_from_pcap`) says less: only the segments, as
seen at one point.  Its socket calls are then free (any call the model allows), and
every segment may have been lost after the capture point or delivered at any moment
after it was sent.

When no path matches, the report (:class:`Mismatch`) says where kernel and model part:
the longest prefix the model can follow, what the kernel did next, and what the model
could do instead -- with a sequence chart of the prefix and the kernel's next events.

Examples
--------
>>> from checker.pcapread import Wire
>>> w = Wire(0.0, "10.77.0.1:4000", "10.77.0.2:80", "FIN+ACK", 1, 1, 0)
>>> abstract(w, own_fin=1, peer_fin=None).describe()
'FIN+ACK seq=1 ack=1'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from .endpoint import Local, initial_local, step
from .errors import UsageError
from .mermaid import render_mermaid
from .netlab import CLIENT_ADDR, SERVER_ADDR
from .pcapread import Wire, read_segments
from .product import CHANNELS, SIDES, Label, PState, step_label
from .properties import Step as TraceStep
from .properties import Trace
from .scenarios import SCENARIOS, Recording
from .segments import ACK, FIN, RST, SYN, Segment, classify
from .spec import Spec, Transition

__all__ = [
    "COUNT_LIMIT",
    "Mismatch",
    "Obs",
    "Packet",
    "Run",
    "Verdict",
    "abstract",
    "check_run",
    "load_for_conformance",
    "run_from_pcap",
    "run_from_recording",
]

#: The largest retry count the search considers for a count parameter.
COUNT_LIMIT = 16
#: States in which a connection is synchronized (the handshake is complete).
SYNCHRONIZED = frozenset(
    {"ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}
)
#: What a sampled "no connection" stands for in the model.
NO_CONNECTION = frozenset({"CLOSED", "LISTEN"})
_BITS = {"SYN": SYN, "ACK": ACK, "FIN": FIN, "RST": RST}
_CHANNELS = ("A->B", "B->A")


# ----------------------------------------------------------------------- the run ---
@dataclass(frozen=True)
class Packet:
    """One segment of the run, the ``index``-th in its channel (``A->B`` or ``B->A``).

    ``segment`` is the model's segment, or ``None`` when the wire segment carries data
    (the model transfers none).  ``lost``: ``None`` when unknown (a capture brought by
    a user).  ``arrived``: when the receiver saw it (``None``: not seen there).
    """

    channel: str
    index: int
    wire: Wire
    segment: Segment | None
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


#: What a call's outcome says about its endpoint's state.
EXPECTATIONS: dict[str, str] = {
    "synchronized": "the connection is synchronized (the handshake is complete)",
    "closed": "the connection is gone (CLOSED)",
    "fin-received": "the peer's FIN has been received",
    "may-send": "the connection can carry data (ESTABLISHED or CLOSE-WAIT)",
}


def _expectation_holds(spec: Spec, what: str, local: Local) -> bool:
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
    for chan in _CHANNELS:
        other = _CHANNELS[1 - _CHANNELS.index(chan)]
        rows = []
        for i, w in enumerate(wires.get(chan, [])):
            seg = abstract(w, fins[chan], fins.get(other))
            was_lost: bool | None = None if unknown_losses else i in (lost or {}).get(chan, set())
            when = arrived[chan][i] if arrived and i < len(arrived.get(chan, [])) else None
            rows.append(Packet(chan, i, w, seg, w.t, was_lost, when))
        out[chan] = rows
    return out


# ---------------------------------------------------------------- the search ---
Bounds = tuple[tuple[int, int], ...]


class _Node(NamedTuple):
    s: PState
    sent: tuple[int, int]  # per channel: packets sent so far
    gone: tuple[int, int]  # per channel: packets delivered or lost so far
    obs: tuple[int, int]  # per side: observations consumed
    seen: tuple[int, int]  # per side: sampled states matched
    bounds: Bounds  # per count parameter: the (lo, hi) range still possible
    losses: int


@dataclass(frozen=True)
class Mismatch:
    """Where the kernel and the model part (see the module docstring)."""

    step: int
    kernel: str
    model: tuple[str, ...]
    why: str
    at: str
    chart: str

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kernel": self.kernel,
            "model_could": list(self.model),
            "why": self.why,
            "state": self.at,
            "chart": self.chart,
        }


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`check_run`."""

    name: str
    conforms: bool
    variant: str
    trace: Trace
    #: For each count parameter, the values (as ranges) for which a path matches.
    parameters: dict[str, list[tuple[int, int]]]
    #: Whether a path matches with the variant's own parameter values.
    as_given: bool
    losses: int
    mismatch: Mismatch | None
    source: str = ""
    explored: int = 0
    #: The search hit its limit: a negative verdict is then unknown.
    incomplete: bool = False
    #: The run's instant of each step of ``trace`` (the start's first).
    times: list[float] = field(default_factory=list)
    #: The count parameters' values on the path shown (the variant's own where the path
    #: allows them, else the least it allows).
    chosen: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "conforms": self.conforms,
            "variant": self.variant,
            "source": self.source,
            "parameters": {k: [list(r) for r in v] for k, v in self.parameters.items()},
            "with_variant_parameters": self.as_given,
            "losses": self.losses,
            "search_states": self.explored,
            "incomplete": self.incomplete,
            "mismatch": self.mismatch.to_json() if self.mismatch else None,
            "trace": self.trace.to_json() if self.conforms else None,
        }


class _Search:
    """The search of :func:`check_run` over one run."""

    def __init__(self, spec: Spec, run: Run, counts: Sequence[str]) -> None:
        self.spec = spec
        self.run = run
        self.counts = tuple(counts)
        self.packets = [run.packets.get(c, []) for c in _CHANNELS]
        self.observed = [run.observed.get(s, []) for s in SIDES]
        self.states = [run.states.get(s, []) for s in SIDES]

    # -- the model's rules, with the count parameters as ranges ----------------------
    def rules_under(
        self, local: Local, event: str, bounds: Bounds
    ) -> list[tuple[Transition, Bounds]]:
        """The rules for ``event`` in ``local`` that hold for some parameter values in
        ``bounds``, each with the narrowed ranges under which it holds."""
        out = []
        for rule in self.spec.rules(local.state, event):
            ranges = list(bounds)
            ok = True
            for atom in rule.guard.atoms:
                if atom.param is None:
                    ok = atom.holds(
                        passive=local.passive,
                        orphaned=local.closed,
                        una=local.una,
                        retries=local.retries,
                        params={},
                    )
                else:
                    i = self.counts.index(atom.param)
                    lo, hi = ranges[i]
                    # retries < P  <=>  P >= retries + 1;  retries >= P  <=>  P <= retries
                    if atom.kind == "<":
                        lo = max(lo, local.retries + 1)
                    else:
                        hi = min(hi, local.retries)
                    ranges[i] = (lo, hi)
                    ok = lo <= hi
                if not ok:
                    break
            if ok:
                out.append((rule, tuple(ranges)))
        return out

    def quiescent(self, s: PState, bounds: Bounds) -> bool:
        """No segment in flight and no ``any`` timer of either endpoint can fire."""
        if s.ab or s.ba:
            return False
        for local in (s.a, s.b):
            for timer in self.spec.timers:
                if (
                    timer.untimed == "any"
                    and local.state in timer.states
                    and self.rules_under(local, timer.event, bounds)
                ):
                    return False
        return True

    # -- moves --------------------------------------------------------------------
    def _send(
        self, n: _Node, side: int, sent: tuple[Segment, ...], obs: int
    ) -> tuple[tuple[int, int], int, tuple[Segment, ...]] | str:
        """Match the segments a move of ``side`` sends against the run; the new send
        counts, observation pointer and channel, or why they do not match."""
        c = side  # A sends on A->B (0), B on B->A (1)
        counts = list(n.sent)
        chan = n.s.channel_from(SIDES[side])
        for seg in sent:
            k = counts[c]
            packets = self.packets[c]
            if k >= len(packets):
                return f"sends {seg.describe()}, but {SIDES[side]} sent nothing more"
            p = packets[k]
            if p.segment != seg:
                return f"sends {seg.describe()}, but {SIDES[side]} sent {p.text()}"
            if not self.run.free:
                want = self.observed[side]
                if obs >= len(want) or want[obs].kind != "send" or want[obs].index != k:
                    nxt = want[obs].text if obs < len(want) else "nothing more"
                    return f"sends {seg.describe()} here, but {SIDES[side]}'s next event is {nxt}"
                obs += 1
            counts[c] = k + 1
            chan = (*chan, seg)
        return (counts[0], counts[1]), obs, chan

    def _after(
        self,
        n: _Node,
        side: int,
        target: Local,
        sent: tuple[Segment, ...],
        obs: int,
        bounds: Bounds,
        incoming: tuple[Segment, ...] | None = None,
        gone: tuple[int, int] | None = None,
    ) -> _Node | str:
        put = self._send(n, side, sent, obs)
        if isinstance(put, str):
            return put
        counts, obs, chan = put
        s = n.s
        if side == 0:
            s = PState(target, s.b, chan, s.ba if incoming is None else incoming)
        else:
            s = PState(s.a, target, s.ab if incoming is None else incoming, chan)
        pointers = list(n.obs)
        pointers[side] = obs
        return self._seen(
            _Node(s, counts, gone or n.gone, (pointers[0], pointers[1]), n.seen, bounds, n.losses)
        )

    def _seen(self, n: _Node) -> _Node:
        """Advance each side's sampled-state pointer over the states it is in now."""
        seen = list(n.seen)
        for i, local in enumerate((n.s.a, n.s.b)):
            want = self.states[i]
            while seen[i] < len(want) and (
                want[seen[i]] == local.state
                or (want[seen[i]] == "CLOSED" and local.state in NO_CONNECTION)
            ):
                seen[i] += 1
        return n._replace(seen=(seen[0], seen[1]))

    def moves(self, n: _Node) -> Iterator[tuple[Label | None, _Node | str, str]]:
        """Every model move from ``n``, with the node it leads to or why it does not fit
        the run, and the move's text."""
        spec = self.spec
        free = self.run.free
        for side, name in enumerate(SIDES):
            local = n.s.local(name)
            want = self.observed[side]
            nxt = want[n.obs[side]] if n.obs[side] < len(want) else None
            # A call, or a call's outcome.
            if nxt is not None and nxt.kind == "expect":
                text = f"{name}: {nxt.text}"
                if _expectation_holds(spec, nxt.expect, local):
                    pointers = list(n.obs)
                    pointers[side] += 1
                    yield None, n._replace(obs=(pointers[0], pointers[1])), text
                else:
                    why = f"needs {EXPECTATIONS[nxt.expect]}; {name} is {local.state}"
                    yield None, why, text
            if nxt is not None and nxt.kind == "call":
                yield from self._call(n, side, local, nxt)
            # The head of the incoming channel: delivered, or lost.
            c = 1 - side
            if n.gone[c] < n.sent[c]:
                yield from self._head(n, side, local, self.packets[c][n.gone[c]])
            # Timers.
            quiet = None
            for timer in spec.timers:
                if local.state not in timer.states:
                    continue
                if timer.untimed == "quiescent":
                    quiet = self.quiescent(n.s, n.bounds) if quiet is None else quiet
                    if not quiet:
                        continue
                for rule, bounds in self.rules_under(local, timer.event, n.bounds):
                    st = step(spec, local, rule)
                    label = step_label(name, st, "timeout")
                    yield (
                        label,
                        self._after(n, side, st.target, st.sent, n.obs[side], bounds),
                        label.text(),
                    )
            if free:
                yield from self._free_calls(n, side, local)

    def _call(
        self, n: _Node, side: int, local: Local, ob: Obs
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        name = SIDES[side]
        pointers = list(n.obs)
        pointers[side] += 1
        if ob.event is None:
            yield None, n._replace(obs=(pointers[0], pointers[1])), f"{name}: {ob.text}"
            return
        rules = self.rules_under(local, ob.event, n.bounds)
        if not rules:
            yield None, f"{local.state} has no rule for {ob.event}", f"{name}: {ob.text}"
        for rule, bounds in rules:
            if rule.error:
                if ob.text.startswith(("close", "exit")):
                    # close() on a connection already gone only frees the descriptor.
                    moved = n._replace(obs=(pointers[0], pointers[1]), bounds=bounds)
                    yield None, moved, f"{name}: {ob.text} (no connection left)"
                else:
                    why = f"{ob.event} in {local.state} is an error ({rule.error})"
                    yield None, why, f"{name}: {ob.text}"
                continue
            st = step(self.spec, local, rule)
            label = step_label(name, st, "user")
            yield (
                label,
                self._after(n, side, st.target, st.sent, pointers[side], bounds),
                (label.text()),
            )

    def _free_calls(
        self, n: _Node, side: int, local: Local
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        name = SIDES[side]
        for ev in self.spec.events:
            if ev.kind != "user" or not _app_may(local, ev.name):
                continue
            for rule, bounds in self.rules_under(local, ev.name, n.bounds):
                if rule.error:
                    continue
                st = step(self.spec, local, rule)
                label = step_label(name, st, "user")
                yield (
                    label,
                    self._after(n, side, st.target, st.sent, n.obs[side], bounds),
                    (label.text()),
                )

    def _head(
        self, n: _Node, side: int, local: Local, p: Packet
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        name = SIDES[side]
        c = 1 - side
        incoming = n.s.channel_from(SIDES[c])
        gone = list(n.gone)
        gone[c] += 1
        moved_gone = (gone[0], gone[1])
        if p.lost is not False:  # lost, or maybe lost
            seg = incoming[0]
            label = Label("net", "loss", "lose", segment=seg, channel=p.channel)
            s = n.s
            s = (
                PState(s.a, s.b, incoming[1:], s.ba)
                if c == 0
                else PState(s.a, s.b, s.ab, incoming[1:])
            )
            yield (
                label,
                self._seen(n._replace(s=s, gone=moved_gone, losses=n.losses + 1)),
                (label.text()),
            )
        if p.lost is True:
            return
        seg = incoming[0]
        obs = n.obs[side]
        text = f"{name}: receive {seg.describe()}"
        if not self.run.free:
            want = self.observed[side]
            if obs >= len(want) or want[obs].kind != "deliver" or want[obs].index != p.index:
                nxt = want[obs].text if obs < len(want) else "nothing more"
                yield None, f"{name}'s next event is {nxt}", text
                return
            obs += 1
        state = self.spec.state(local.state)
        event = classify(seg, state.sent, state.received, local.una)
        if event is None:
            yield None, f"{seg.describe()} acknowledges something {name} never sent", text
            return
        rules = self.rules_under(local, event, n.bounds)
        if not rules:
            yield None, f"{local.state} has no rule for '{event}'", text
        for rule, bounds in rules:
            st = step(self.spec, local, rule, seg)
            label = step_label(name, st, "segment")
            yield (
                label,
                self._after(n, side, st.target, st.sent, obs, bounds, incoming[1:], moved_gone),
                label.text(),
            )

    def when(self, n: _Node, nxt: _Node, label: Label | None) -> float:
        """When the run did what the move from ``n`` to ``nxt`` matched: the first
        observation or segment it consumed (a timer expiry that sends nothing: never)."""
        for side in range(2):
            if nxt.obs[side] > n.obs[side]:
                return self.observed[side][n.obs[side]].t
        for c in range(2):
            if nxt.sent[c] > n.sent[c]:
                return self.packets[c][n.sent[c]].sent
            if nxt.gone[c] > n.gone[c]:
                p = self.packets[c][n.gone[c]]
                return p.arrived if p.arrived is not None else p.sent
        return float("inf")

    # -- acceptance ---------------------------------------------------------------
    def done(self, n: _Node) -> bool:
        for i in range(2):
            if n.sent[i] < len(self.packets[i]):
                return False
            if not self.run.free:
                arrived = [p for p in self.packets[i] if p.arrived is not None]
                if n.gone[i] < len(arrived):
                    return False
            if n.obs[i] < len(self.observed[i]) or n.seen[i] < len(self.states[i]):
                return False
        return True

    def progress(self, n: _Node) -> int:
        return sum(n.sent) + sum(n.gone) + sum(n.obs) + sum(n.seen)


def _app_may(local: Local, event: str) -> bool:
    if event in ("active OPEN", "passive OPEN"):
        return not local.opened
    return local.opened and not local.closed


def count_parameters(spec: Spec) -> list[str]:
    """The parameters a guard compares the retry counter with, sorted."""
    return sorted({p for t in spec.transitions for p in t.guard.parameters()})


def load_for_conformance(variant: str | None = "linux", spec_file: Path | None = None) -> Spec:
    """The spec with every count parameter at :data:`COUNT_LIMIT`: the search keeps
    their values as ranges, and the retry counter must be able to count that far."""
    from .spec import load_spec

    base = load_spec(spec_file, variant)
    counts = {name: float(COUNT_LIMIT) for name in count_parameters(base)}
    return load_spec(spec_file, variant, counts)


def check_run(
    spec: Spec,
    run: Run,
    *,
    variant: str = "linux",
    defaults: Mapping[str, float] | None = None,
    limit: int = 200_000,
) -> Verdict:
    """Search ``spec``'s product for every path matching ``run`` (see the module
    docstring); ``defaults``: the variant's own values of the count parameters.

    ``spec`` must have been loaded with every count parameter at :data:`COUNT_LIMIT` (see
    :func:`load_for_conformance`) so that the retry counter can count that far.
    """
    defaults = defaults or {}
    counts = count_parameters(spec)
    search = _Search(spec, run, counts)
    start = initial_local(spec)
    root = search._seen(
        _Node(
            PState(start, start),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            ((0, COUNT_LIMIT),) * len(counts),
            0,
        )
    )
    parent: dict[_Node, tuple[_Node, Label | None] | None] = {root: None}
    stack = [root]
    best = root
    accepted: list[_Node] = []
    while stack:
        n = stack.pop()
        if search.done(n):
            # Keep searching: other paths may need other values of the count parameters.
            accepted.append(n)
            continue
        if search.progress(n) > search.progress(best):
            best = n
        children: list[tuple[float, int, _Node]] = []
        for label, nxt, _text in search.moves(n):
            if isinstance(nxt, str) or nxt in parent:
                continue
            parent[nxt] = (n, label)
            children.append((search.when(n, nxt, label), len(children), nxt))
        if len(parent) > limit:
            break
        # The move the run made first is explored first: the path shown follows the
        # run's own order, and unobserved timer expiries come last.
        stack.extend(child for _t, _i, child in sorted(children, reverse=True))
    incomplete = len(parent) > limit
    wanted = tuple(int(min(defaults.get(name, 0), COUNT_LIMIT)) for name in counts)
    # Show the path that loses the fewest segments (counting those never delivered: the
    # capture of a user ends while they are in flight, or they were lost after it), one
    # the variant's own parameter values allow if there is one.
    accepted.sort(key=lambda n: n.losses + sum(n.sent) - sum(n.gone))
    shown = next(
        (
            n
            for n in accepted
            if all(lo <= v <= hi for v, (lo, hi) in zip(wanted, n.bounds, strict=True))
        ),
        accepted[0] if accepted else None,
    )
    end = shown if shown is not None else best
    trace, times = _trace(parent, end, search)
    params = {name: _union([n.bounds[i] for n in accepted]) for i, name in enumerate(counts)}
    as_given = shown is not None and all(
        lo <= v <= hi for v, (lo, hi) in zip(wanted, shown.bounds, strict=True)
    )
    mismatch = None
    if not accepted:
        mismatch = _mismatch(search, best, trace, times, incomplete=incomplete)
    return Verdict(
        run.name,
        bool(accepted),
        variant,
        trace,
        params,
        as_given,
        end.losses,
        mismatch,
        run.source,
        len(parent),
        incomplete,
        times,
        _chosen(counts, wanted, shown.bounds) if shown is not None else {},
    )


def _chosen(counts: Sequence[str], wanted: Sequence[int], bounds: Bounds) -> dict[str, int]:
    return {
        name: want if lo <= want <= hi else lo
        for name, want, (lo, hi) in zip(counts, wanted, bounds, strict=True)
    }


def _union(boxes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge integer ranges: ``[(0, 2), (3, 5), (8, 9)]`` -> ``[(0, 5), (8, 9)]``."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(set(boxes)):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _trace(
    parent: Mapping[_Node, tuple[_Node, Label | None] | None], end: _Node, search: _Search
) -> tuple[Trace, list[float]]:
    """The model's path to ``end`` (moves without a label -- a call the model has no
    event for, an outcome checked -- are left out) and an instant for each step."""
    path: list[tuple[_Node, _Node, Label]] = []
    n = end
    while True:
        link = parent[n]
        if link is None:
            break
        prev, label = link
        if label is not None:
            path.append((prev, n, label))
        n = prev
    path.reverse()
    steps = tuple(TraceStep(label, node.s) for _prev, node, label in path)
    times = [0.0]
    for prev, node, label in path:
        t = search.when(prev, node, label)
        times.append(times[-1] if t == float("inf") else max(times[-1], t))
    return Trace(n.s, steps), times


def _mismatch(
    search: _Search, best: _Node, trace: Trace, times: list[float], *, incomplete: bool
) -> Mismatch:
    """The report for a run no path matches: the furthest node the search reached."""
    pending: list[tuple[float, str]] = []
    for side, name in enumerate(SIDES):
        want = search.observed[side]
        if best.obs[side] < len(want):
            ob = want[best.obs[side]]
            pending.append((ob.t, f"{name}: {ob.text} (t={ob.t:.4f})"))
    for c, chan in enumerate(_CHANNELS):
        if best.sent[c] < len(search.packets[c]):
            p = search.packets[c][best.sent[c]]
            sender = chan.split("->")[0]
            why = " (it carries data, which the model does not)" if p.segment is None else ""
            pending.append((p.sent, f"{sender}: send {p.text()}{why} (t={p.sent:.4f})"))
    for side, name in enumerate(SIDES):
        states = search.states[side]
        if best.seen[side] < len(states):
            pending.append(
                (
                    float("inf"),
                    f"{name}: sampled in {states[best.seen[side]]}, which the model never reaches",
                )
            )
    pending.sort()
    kernel = pending[0][1] if pending else "nothing more"
    options = []
    reasons = []
    for _label, nxt, text in search.moves(best):
        options.append(text)
        if isinstance(nxt, str):
            reasons.append(f"{text}: {nxt}")
    if not options:
        options.append("nothing: no move is enabled")
    why = "; ".join(reasons) or "every move the model can make leads away from the run later"
    if incomplete:
        why = "search limit reached: " + why
    chart = render_mermaid(trace, times)
    lines = [chart.rstrip("\n"), "    Note over A,B: kernel and model part here"]
    for _t, text in pending[:3]:
        lines.append(f"    Note over A,B: kernel: {text.replace(';', ',')}")
    return Mismatch(
        len(trace.steps),
        kernel,
        tuple(options),
        why,
        best.s.describe(),
        "\n".join(lines) + "\n",
    )


# ------------------------------------------------------- runs from recordings ---
def run_from_recording(rec: Recording) -> Run:
    """The run a harness recording describes (see :mod:`checker.scenarios`).

    Each channel's segments in send order come from its sender's capture, their arrival
    from the receiver's; the drop rules say which arrivals were lost.  Each side's
    events are ordered by time: its captures, and its calls (a call's event where the
    call was made, its outcome where it returned).
    """
    address = {"A": CLIENT_ADDR + ":", "B": SERVER_ADDR + ":"}
    sent: dict[str, list[Wire]] = {}
    arrived: dict[str, list[Wire]] = {}
    for chan in _CHANNELS:
        sender, receiver = chan.split("->")
        mine = [w for w in rec.wire.get(sender, []) if w.src.startswith(address[sender])]
        theirs = [w for w in rec.wire.get(receiver, []) if w.src.startswith(address[sender])]
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
    sysctls = SCENARIOS[rec.name][1] if rec.name in SCENARIOS else {}
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
    )  # fmt: skip


def _dropped(rec: Recording, arrived: Mapping[str, Sequence[Wire]]) -> dict[str, set[int]]:
    """Which arrivals the drop rules lost: nftables' ``quota until N bytes`` passes (to
    the drop) the matching segments until N bytes have matched."""
    out: dict[str, set[int]] = {c: set() for c in _CHANNELS}
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
            out.append(Obs(start, side, "call", event="passive OPEN", text=shown))
        elif op == "connect":
            opened = True
            out.append(Obs(start, side, "call", event="active OPEN", text=shown))
            expect = "synchronized" if ok else "closed"
            out.append(Obs(end, side, "expect", expect=expect, text=shown))
        elif op == "accept":
            opened = opened or ok
            if ok:
                out.append(Obs(end, side, "expect", expect="synchronized", text=shown))
        elif op == "send":
            if ok:  # one segment per call: the scenarios write a few bytes at a time
                out.append(Obs(start, side, "call", event="SEND", text=shown))
            else:
                out.append(Obs(start, side, "expect", expect="closed", text=shown))
        elif op == "recv":
            if ok and not call.get("timeout"):
                got = int(call.get("received", 0))
                read += got
                if got == 0:
                    out.append(Obs(end, side, "expect", expect="fin-received", text=shown))
        elif op == "linger0":
            linger0 = ok
        elif op == "shutdown":
            out.append(Obs(start, side, "call", event="CLOSE", text=shown))
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
            out.append(Obs(start, side, "call", event=event, text=text))
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
