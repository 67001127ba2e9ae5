"""Conformance: does the model have a run that does what a real TCP stack did?

A *run* (:class:`checker.kernel.runs.Run`) is what was observed of one connection: the
segments each side sent, in order, with the ones the network lost; and, when the run was
recorded by the harness, each side's own view in time order -- the segments it sent and
received, the socket calls its application made with their outcomes -- and the states
``ss`` sampled.  :func:`check_run` searches the product of two endpoints of a
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

A *capture* brought by a user (:func:`checker.kernel.runs.run_from_pcap`) says less:
only the segments, as seen at one point.  Its socket calls are then free (any call the
model allows), and every segment may have been lost after the capture point or delivered
at any moment after it was sent.

When no path matches, the report (:class:`Mismatch`) says where kernel and model part:
the longest prefix the model can follow, what the kernel did next, and what the model
could do instead -- with a sequence chart of the prefix and the kernel's next events.

Examples
--------
>>> import json, pathlib
>>> from checker.kernel.recording import Recording
>>> from checker.kernel.runs import run_from_recording
>>> where = pathlib.Path(__file__).parents[2] / "tests" / "data" / "recordings"
>>> rec = Recording.from_json(json.loads((where / "active-close.json").read_text()))
>>> verdict = check_run(load_for_conformance("linux"), run_from_recording(rec))
>>> verdict.conforms, len(verdict.trace.steps)
(True, 11)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..check.traces import Trace, TraceStep
from ..model.endpoint import Local, initial_local, step
from ..model.segments import ACK, Segment, classify
from ..model.spec import Spec, Transition
from ..product.semantics import (
    CHANNELS,
    SIDES,
    Label,
    PState,
    app_calls,
    may_fire,
    net_label,
    quiescent,
    step_label,
)
from .runs import CHANNEL_ORDER, EXPECTATIONS, ORIGINS, Obs, Packet, Run, expectation_holds

__all__ = [
    "COUNT_LIMIT",
    "Conformance",
    "Mismatch",
    "check_run",
    "count_parameters",
    "departures",
    "load_for_conformance",
]

#: How long after a capture shows a segment arriving at a side that side may still send
#: what it decided before processing it: the capture stamps a segment as it reaches the
#: interface, and the stack takes it up after the segment before it -- in a simultaneous
#: open on veth both SYN+ACKs reach the interfaces before either side has sent its own.
PROCESSING_SLACK = 0.001
#: The largest retry count the search considers for a count parameter.
COUNT_LIMIT = 16
#: What a sampled "no connection" stands for in the model.
NO_CONNECTION = frozenset({"CLOSED", "LISTEN"})


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
    merged: int = 0  # pure ACKs of the model that rode on a later segment
    # per side: an observation already matched ahead of the pointer (a send matched
    # before the arrival just before it, see PROCESSING_SLACK), or -1
    ahead: tuple[int, int] = (-1, -1)
    # per channel: packets past ``gone`` delivered already, overtaking the ones before
    early: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())
    reordered: int = 0  # deliveries that overtook a segment sent before them


@dataclass(frozen=True)
class Mismatch:
    """Where the kernel and the model part (see the module docstring)."""

    step: int
    kernel: str
    model: tuple[str, ...]
    why: str
    at: str
    #: The kernel's next events where they part, for the chart (at most three).
    pending: tuple[str, ...]

    def to_json(self, chart: str) -> dict[str, Any]:
        """``chart``: the prefix and the kernel's next events, as drawn by the caller
        (:func:`checker.render.mermaid_chart.mismatch_chart`)."""
        return {
            "step": self.step,
            "kernel": self.kernel,
            "model_could": list(self.model),
            "why": self.why,
            "state": self.at,
            "chart": chart,
        }


#: Draws the chart of a run that parts from the model: its trace, the instants of its
#: steps and the kernel's next events (:func:`checker.render.mermaid_chart.mismatch_chart`).
MismatchChart = Callable[[Trace, Sequence[float], Sequence[str]], str]


@dataclass(frozen=True)
class Conformance:
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
    #: The model's pure ACKs that rode on a later segment of their sender (delayed ACKs).
    merged: int = 0
    #: The variant's own values of the count parameters the run was held against (on a
    #: recording, under the settings of the machine that made it).
    expected: dict[str, float] = field(default_factory=dict)
    #: Deliveries on the path that overtook segments sent before them (the network
    #: reordered), and copies of segments the network made (it duplicated).
    reordered: int = 0
    copies: int = 0

    def to_json(self, chart: MismatchChart) -> dict[str, Any]:
        """The JSON row; ``chart`` draws a mismatch (the kernel layer draws nothing)."""
        mismatch = None
        if self.mismatch is not None:
            mismatch = self.mismatch.to_json(chart(self.trace, self.times, self.mismatch.pending))
        return {
            "name": self.name,
            "conforms": self.conforms,
            "variant": self.variant,
            "source": self.source,
            "parameters": {k: [list(r) for r in v] for k, v in self.parameters.items()},
            "with_variant_parameters": self.as_given,
            "variant_parameters": {k: v for k, v in sorted(self.expected.items())},
            "losses": self.losses,
            "merged_acks": self.merged,
            "reordered": self.reordered,
            "network_copies": self.copies,
            "search_states": self.explored,
            "incomplete": self.incomplete,
            "mismatch": mismatch,
            "trace": self.trace.to_json() if self.conforms else None,
        }


class _Search:
    """The search of :func:`check_run` over one run."""

    def __init__(self, spec: Spec, run: Run, counts: Sequence[str]) -> None:
        self.spec = spec
        self.run = run
        self.counts = tuple(counts)
        self.packets = [run.packets.get(c, []) for c in CHANNEL_ORDER]
        self.observed = [run.observed.get(s, []) for s in SIDES]
        self.states = [run.states.get(s, []) for s in SIDES]
        #: Per channel, how many packets the receiver saw arrive (all must be consumed).
        self.arrivals = [sum(p.arrived is not None for p in ps) for ps in self.packets]
        #: Per side, the state the last round of ``ss`` saw, if it came after every other
        #: observation of the side.
        self.final: list[str | None] = []
        for side, obs in zip(SIDES, self.observed, strict=True):
            line = run.timeline.get(side, [])
            last = max((o.t for o in obs), default=float("-inf"))
            self.final.append(line[-1][1] if line and line[-1][0] > last else None)

    # -- the model's rules, with the count parameters as ranges ----------------------
    def rules_under(
        self, local: Local, event: str, bounds: Bounds
    ) -> list[tuple[Transition, Bounds]]:
        """The rules for ``event`` in ``local`` that hold for some parameter values in
        ``bounds``, each with the narrowed ranges under which it holds."""
        out = []
        given = dict(zip(self.counts, bounds, strict=True))
        for rule in self.spec.rules(local.state, event):
            ranges = rule.guard.narrow(
                passive=local.passive,
                orphaned=local.closed,
                una=local.una,
                retries=local.retries,
                ranges=given,
            )
            if ranges is not None:
                out.append((rule, tuple(ranges[name] for name in self.counts)))
        return out

    def pending(self, local: Local, bounds: Bounds) -> bool:
        """Can a timer of ``local`` fire whatever else happens, for some values of the
        count parameters (:func:`checker.product.semantics.timer_pending`, ranged)?"""
        return any(
            may_fire(timer.untimed, False)
            and local.state in timer.states
            and self.rules_under(local, timer.event, bounds)
            for timer in self.spec.timers
        )

    def quiescent(self, s: PState, bounds: Bounds) -> bool:
        """The product's quiescence (:func:`checker.product.semantics.quiescent`) with
        the count parameters as ranges."""
        return quiescent(bool(s.ab or s.ba), (self.pending(loc, bounds) for loc in (s.a, s.b)))

    # -- moves --------------------------------------------------------------------
    def _past(self, side: int, obs: int, ahead: int) -> tuple[int, int]:
        """The observation pointer of ``side`` past ``obs``, and over the one matched
        ahead of it (``ahead``) if that comes next."""
        obs += 1
        if obs == ahead:
            return obs + 1, -1
        return obs, ahead

    def _send(
        self, n: _Node, side: int, sent: tuple[Segment, ...], obs: int, ahead: int
    ) -> tuple[tuple[int, int], int, tuple[Segment, ...], int, int] | str:
        """Match the segments a move of ``side`` sends against the run; the new send
        counts, observation pointer, channel and merged ACKs, or why they do not match.

        A pure ACK the model sends that the run does not show, where the side's next
        segment acknowledges as much or more, rode on that segment: a delayed ACK (RFC
        9293 §3.8.6.3, SHLD-18; Linux delays the ACK of a FIN up to 40 ms and sends it
        on its own FIN or data if the application is quicker).  An ACK carries nothing
        but its number, so the peer's model never sees it, as if the network lost it."""
        c = side  # A sends on A->B (0), B on B->A (1)
        counts = list(n.sent)
        chan = n.s.channel_from(SIDES[side])
        merged = n.merged
        for seg in sent:
            k = counts[c]
            packets = self.packets[c]
            if k >= len(packets):
                return f"sends {seg.describe()}, but {SIDES[side]} sent nothing more"
            p = packets[k]
            if p.segment != seg and _rides_on(seg, p.segment):
                merged += 1
                continue
            if p.segment != seg:
                return f"sends {seg.describe()}, but {SIDES[side]} sent {p.text()}"
            if SIDES[side] in self.run.watched:
                want = self.observed[side]
                if obs < len(want) and want[obs].kind == "send" and want[obs].index == k:
                    obs, ahead = self._past(side, obs, ahead)
                elif ahead < 0 and self._before_arrival(want, obs, k):
                    ahead = obs + 1
                elif _rides_on(seg, p.segment):
                    # Not sent yet where the model sends it: it rides on that same
                    # segment, sent later (one ACK for several segments received).
                    merged += 1
                    continue
                else:
                    nxt = want[obs].text if obs < len(want) else "nothing more"
                    return f"sends {seg.describe()} here, but {SIDES[side]}'s next event is {nxt}"
            counts[c] = k + 1
            chan = (*chan, seg)
        return (counts[0], counts[1]), obs, chan, merged, ahead

    @staticmethod
    def _before_arrival(want: Sequence[Obs], obs: int, k: int) -> bool:
        """Whether the ``k``-th send, observed just after the arrival at ``obs``, may have
        been decided before that arrival was processed (:data:`PROCESSING_SLACK`)."""
        if obs + 1 >= len(want) or want[obs].kind != "deliver":
            return False
        nxt = want[obs + 1]
        return nxt.kind == "send" and nxt.index == k and nxt.t - want[obs].t <= PROCESSING_SLACK

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
        ahead: int | None = None,
    ) -> _Node | str:
        put = self._send(n, side, sent, obs, n.ahead[side] if ahead is None else ahead)
        if isinstance(put, str):
            return put
        counts, obs, chan, merged, still = put
        s = n.s
        if side == 0:
            s = PState(target, s.b, chan, s.ba if incoming is None else incoming)
        else:
            s = PState(s.a, target, s.ab if incoming is None else incoming, chan)
        pointers = list(n.obs)
        pointers[side] = obs
        aheads = list(n.ahead)
        aheads[side] = still
        return self._seen(
            _Node(
                s, counts, gone or n.gone, (pointers[0], pointers[1]), n.seen, bounds, n.losses
            )._replace(
                merged=merged,
                ahead=(aheads[0], aheads[1]),
                early=n.early,
                reordered=n.reordered,
            )
        )

    def _consumed(self, n: _Node, side: int) -> _Node:
        """``n`` with ``side``'s next observation consumed."""
        pointers, aheads = list(n.obs), list(n.ahead)
        pointers[side], aheads[side] = self._past(side, n.obs[side], n.ahead[side])
        return n._replace(obs=(pointers[0], pointers[1]), ahead=(aheads[0], aheads[1]))

    def _seen(self, n: _Node) -> _Node:
        """Advance each side's sampled-state pointer over the states it is in now."""
        seen = list(n.seen)
        for i, local in enumerate((n.s.a, n.s.b)):
            want = self.states[i]
            while seen[i] < len(want) and _shows(want[seen[i]], local.state):
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
                if expectation_holds(spec, nxt.expect, local):
                    yield None, self._consumed(n, side), text
                else:
                    why = f"needs {EXPECTATIONS[nxt.expect]}; {name} is {local.state}"
                    yield None, why, text
            if nxt is not None and nxt.kind == "call":
                yield from self._call(n, side, local, nxt)
            if nxt is not None and nxt.kind == "reopen":
                yield from self._reopen(n, side, local, nxt)
            if nxt is not None and nxt.kind == "forged":
                yield from self._forged(n, side, local, self.run.injected[nxt.index])
            # More of a send() the side began (the call's bytes cut into segments).
            k = n.sent[side]
            if k < len(self.packets[side]) and self.packets[side][k].cont:
                yield self._continued(n, side, local, self.packets[side][k])
            # The head of the incoming channel: delivered, or lost; or, where the side
            # saw a later segment arrive first, that one (the network reordered them).
            c = 1 - side
            if n.gone[c] < n.sent[c]:
                yield from self._head(n, side, local, self.packets[c][n.gone[c]])
                if name in self.run.watched:
                    yield from self._overtaking(n, side, local)
            # Timers.
            quiet = None
            for timer in spec.timers:
                if local.state not in timer.states:
                    continue
                if not may_fire(timer.untimed, False):
                    quiet = self.quiescent(n.s, n.bounds) if quiet is None else quiet
                    if not may_fire(timer.untimed, quiet):
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

    def _continued(
        self, n: _Node, side: int, local: Local, p: Packet
    ) -> tuple[Label | None, _Node | str, str]:
        """``side`` sends more of a send() it began: the sender chose how to cut the
        call's bytes into segments (RFC 9293 §3.8.6.2, MSS and window), which the model,
        one segment per call, does not; its segment for the call goes out again, with no
        step of the sender.  Queued data goes out after a close() too (RFC 9293 §3.10.4:
        the FIN follows the data), never once the connection is gone."""
        name = SIDES[side]
        label = Label(name, "user", "SEND (continued)", sent=(p.segment,),
                      channel=CHANNELS[name], target=local.state)  # fmt: skip
        if local.state in NO_CONNECTION:
            return label, f"{name} is {local.state}: no data goes out", label.text()
        return label, self._after(n, side, local, (p.segment,), n.obs[side], n.bounds), label.text()

    def _call(
        self, n: _Node, side: int, local: Local, ob: Obs
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        name = SIDES[side]
        past = self._consumed(n, side)
        if ob.event is None:
            yield None, past, f"{name}: {ob.text}"
            return
        rules = self.rules_under(local, ob.event, n.bounds)
        if not rules:
            yield None, f"{local.state} has no rule for {ob.event}", f"{name}: {ob.text}"
        for rule, bounds in rules:
            if rule.error:
                if ob.op in ("close", "exit"):
                    # close() on a connection already gone only frees the descriptor.
                    moved = past._replace(bounds=bounds)
                    yield None, moved, f"{name}: {ob.text} (no connection left)"
                else:
                    why = f"{ob.event} in {local.state} is an error ({rule.error})"
                    yield None, why, f"{name}: {ob.text}"
                continue
            # shutdown(SHUT_WR) is a CLOSE after which the application stays.
            st = step(self.spec, local, rule, orphans=False if ob.op == "shutdown" else None)
            label = step_label(name, st, "user")
            yield (
                label,
                self._after(
                    n, side, st.target, st.sent, past.obs[side], bounds, ahead=past.ahead[side]
                ),
                (label.text()),
            )

    def _reopen(
        self, n: _Node, side: int, local: Local, ob: Obs
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        """The side's connect() of the next connection on the 4-tuple, made on what
        this connection left there: nothing (the new socket's connection is the next
        run), or a TIME-WAIT, which the variant's rules for an active OPEN decide
        (Linux's tcp_tw_reuse hands it over; RFC 9293 calls it an error)."""
        name = SIDES[side]
        text = f"{name}: {ob.text}"
        past = self._consumed(n, side)
        if local.state in NO_CONNECTION:
            yield None, past, f"{text} (no socket of this connection left)"
            return
        rules = self.rules_under(local, "active OPEN", n.bounds)
        if not rules:
            yield None, f"{local.state} has no rule for active OPEN", text
        for rule, bounds in rules:
            if rule.error:
                yield None, f"active OPEN in {local.state} is an error ({rule.error})", text
                continue
            st = step(self.spec, local, rule)
            label = step_label(name, st, "user")
            moved = self._after(
                n, side, st.target, st.sent, past.obs[side], bounds, ahead=past.ahead[side]
            )
            yield label, moved, label.text()

    def _free_calls(
        self, n: _Node, side: int, local: Local
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        name = SIDES[side]
        # A capture says nothing of the application: any call an application may make.
        for call in app_calls(self.spec, None, local):
            for rule, bounds in self.rules_under(local, call, n.bounds):
                if rule.error:
                    continue
                st = step(self.spec, local, rule)
                label = step_label(name, st, "user")
                yield (
                    label,
                    self._after(n, side, st.target, st.sent, n.obs[side], bounds),
                    (label.text()),
                )

    def _forged(
        self, n: _Node, side: int, local: Local, p: Packet
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        """A segment from outside the connection reaches ``side``: a third party's
        (the attacker of the product), the next connection's SYN on the same ports, or
        a copy of one of the connection's own segments the network made (a duplicating
        channel of the product); it travels in no channel of the model, and is placed
        as the run shows it."""
        name = SIDES[side]
        seg = p.segment
        text = f"{name}: receive {ORIGINS[p.origin]} {seg.describe()}"
        past = self._consumed(n, side)
        if p.origin == "next" and local.state in NO_CONNECTION:
            # No socket of this connection is left on the ports: the listener takes it.
            yield None, past, f"{text} (no socket of this connection left: the listener's)"
            return
        kind = "attack" if p.origin == "forged" else "segment"
        yield from self._arrive(n, side, local, seg, kind, text, past.obs[side], past.ahead[side])

    def _arrive(
        self,
        n: _Node,
        side: int,
        local: Local,
        seg: Segment,
        kind: str,
        text: str,
        obs: int,
        ahead: int,
        incoming: tuple[Segment, ...] | None = None,
        gone: tuple[int, int] | None = None,
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        """``seg`` reaches ``side``: the rules for its event (RFC 9293 §3.10.7,
        :func:`~checker.model.segments.classify`), each a move labelled ``kind``."""
        state = self.spec.state(local.state)
        event = classify(seg, state.sent, state.received, local.una, self.spec.acceptance)
        rules = self.rules_under(local, event, n.bounds)
        if not rules:
            yield None, f"{local.state} has no rule for '{event}'", text
        for rule, bounds in rules:
            st = step(self.spec, local, rule, seg)
            label = step_label(SIDES[side], st, kind)
            moved = self._after(n, side, st.target, st.sent, obs, bounds, incoming, gone, ahead)
            yield label, moved, label.text()

    def _head(
        self, n: _Node, side: int, local: Local, p: Packet
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        name = SIDES[side]
        c = 1 - side
        incoming = n.s.channel_from(SIDES[c])
        moved_gone, early = _passed(n, c)
        n = n._replace(early=early)
        if p.lost is not False:  # lost, or maybe lost
            seg = incoming[0]
            label = net_label("loss", seg, SIDES[c])
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
        obs, ahead = n.obs[side], n.ahead[side]
        text = f"{name}: receive {seg.describe()}"
        if name in self.run.watched:
            want = self.observed[side]
            if obs >= len(want) or want[obs].kind != "deliver" or want[obs].index != p.index:
                nxt = want[obs].text if obs < len(want) else "nothing more"
                yield None, f"{name}'s next event is {nxt}", text
                return
            obs, ahead = self._past(side, obs, ahead)
        yield from self._arrive(
            n, side, local, seg, "segment", text, obs, ahead, incoming[1:], moved_gone
        )

    def _overtaking(
        self, n: _Node, side: int, local: Local
    ) -> Iterator[tuple[Label | None, _Node | str, str]]:
        """The segment ``side`` saw arrive next, taken from behind the channel's head:
        the network delivered it before segments sent earlier (RFC 9293 §3.4: segments
        may arrive out of order).  Only where the side's own capture shows its order,
        and never past a segment the run lost (that one is lost first)."""
        name = SIDES[side]
        c = 1 - side
        want = self.observed[side]
        obs = n.obs[side]
        if obs >= len(want) or want[obs].kind != "deliver" or want[obs].channel != CHANNEL_ORDER[c]:
            return
        j, head = want[obs].index, n.gone[c]
        if not head < j < n.sent[c] or j in n.early[c] or self.packets[c][head].lost is True:
            return
        incoming = n.s.channel_from(SIDES[c])
        at = j - head - sum(e < j for e in n.early[c])
        seg = incoming[at]
        early = list(n.early)
        early[c] = early[c] | {j}
        moved = n._replace(early=(early[0], early[1]), reordered=n.reordered + 1)
        text = f"{name}: receive {seg.describe()} (ahead of {at} sent before it)"
        obs, ahead = self._past(side, obs, n.ahead[side])
        rest = incoming[:at] + incoming[at + 1 :]
        yield from self._arrive(moved, side, local, seg, "segment", text, obs, ahead, rest, n.gone)

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
        for i, local in enumerate((n.s.a, n.s.b)):
            if n.sent[i] < len(self.packets[i]):
                return False
            if SIDES[1 - i] in self.run.watched and n.gone[i] + len(n.early[i]) < self.arrivals[i]:
                return False
            if n.obs[i] < len(self.observed[i]) or n.seen[i] < len(self.states[i]):
                return False
            # The last round of ss, after everything else the side did, shows where it
            # ended: a path that leaves it elsewhere (a TIME-WAIT the model ended, which
            # the kernel kept) does not fit.
            final = self.final[i]
            if final is not None and not _shows(final, local.state):
                return False
        return True

    def progress(self, n: _Node) -> int:
        return sum(n.sent) + sum(n.gone) + sum(map(len, n.early)) + sum(n.obs) + sum(n.seen)


def departures(variant: Spec, base: Spec, trace: Trace, clocked: Collection[str] = ()) -> list[str]:
    """Where a path of ``variant`` leaves ``base`` (RFC 9293): each rule of the variant's
    own on the path, and each timer whose duration differs from the base's where it
    expires on the path or where the run showed it running (``clocked``: the states
    ``ss`` showed a timer in), once, in path order, with its reference.

    >>> import json, pathlib
    >>> from checker.kernel.recording import Recording
    >>> from checker.kernel.runs import run_from_recording
    >>> from checker.model.load import load_spec
    >>> where = pathlib.Path(__file__).parents[2] / "tests" / "data" / "recordings"
    >>> rec = Recording.from_json(json.loads((where / "linger-zero.json").read_text()))
    >>> v = check_run(load_for_conformance("linux"), run_from_recording(rec))
    >>> departures(load_spec(variant="linux"), load_spec(), v.trace)[0].split(" (")[0]
    'ESTABLISHED: ABORT / snd RST+ACK -> CLOSED'
    """
    out: list[str] = []

    def add(text: str) -> None:
        if text and text not in out:
            out.append(text)

    before = trace.initial
    for st in trace.steps:
        label = st.label
        if label.actor in SIDES:
            entered = st.state.local(label.actor).state
            if entered != before.local(label.actor).state and entered in clocked:
                for line in _timers_differ(variant, base, entered):
                    add(line)
        before = st.state
        if label.rule is None or label.actor not in SIDES:
            continue
        rule = variant.transitions[label.rule]
        if rule.variant is not None:
            add(f"{rule.source}: {rule.label} -> {rule.target} ({rule.ref})")
        if rule.kind == "timeout":
            for line in _timers_differ(variant, base, rule.source, rule.event):
                add(line)
    return out


def _timers_differ(variant: Spec, base: Spec, state: str, event: str = "") -> list[str]:
    """The timers (``event``'s, or all) armed in ``state`` whose duration there differs
    between ``variant`` and ``base``: in its expression or its value (TIME-WAIT: 60 s in
    Linux, 2 MSL = 240 s in the RFC's defaults)."""
    out = []
    for timer in variant.timers:
        plain = base.timer_for_event(timer.event)
        if event and timer.event != event:
            continue
        if state not in timer.states or plain is None or state not in plain.states:
            continue
        mine, theirs = timer.duration_text_in(state), plain.duration_text_in(state)
        values = [
            (t.duration_in(state).evaluate({**spec.values, "retries": 0}))
            for t, spec in ((timer, variant), (plain, base))
        ]
        if mine != theirs or abs(values[0] - values[1]) > 1e-9:
            out.append(
                f"timer {timer.name} in {state} lasts {mine} = {values[0]:g} s at first "
                f"(RFC 9293: {theirs} = {values[1]:g} s; {timer.ref})"
            )
    return out


def _listener(spec: Spec, start: Local) -> Local:
    """An endpoint that has made its passive OPEN: a listening socket already there
    when the run begins (a later connection of a recording)."""
    (rule,) = [r for r in spec.rules(start.state, "passive OPEN") if not r.error]
    return step(spec, start, rule).target


def _shows(sampled: str, state: str) -> bool:
    """Whether a sampled state (``CLOSED``: ``ss`` found no connection) shows the model's
    ``state``."""
    return sampled == state or (sampled == "CLOSED" and state in NO_CONNECTION)


def _rides_on(ack: Segment, later: Segment) -> bool:
    """Whether the pure ACK ``ack`` may have ridden on ``later``, the next segment its
    sender put on the wire: ``later`` acknowledges at least as much."""
    pure = ack.flags == ACK and not ack.data
    return pure and bool(later.flags & ACK) and later.ack >= ack.ack


def count_parameters(spec: Spec) -> list[str]:
    """The parameters a guard compares the retry counter with, sorted."""
    return sorted({p for t in spec.transitions for p in t.guard.parameters()})


def load_for_conformance(variant: str | None = "linux", spec_file: Path | None = None) -> Spec:
    """The spec with every count parameter at :data:`COUNT_LIMIT`: the search keeps
    their values as ranges, and the retry counter must be able to count that far."""
    from ..model.load import load_spec

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
) -> Conformance:
    """Search ``spec``'s product for every path matching ``run`` (see the module
    docstring); ``defaults``: the variant's own values of the count parameters.

    ``spec`` must have been loaded with every count parameter at :data:`COUNT_LIMIT` (see
    :func:`load_for_conformance`) so that the retry counter can count that far.
    """
    defaults = defaults or {}
    counts = count_parameters(spec)
    search = _Search(spec, run, counts)
    start = initial_local(spec)
    a, b = (_listener(spec, start) if side in run.listening else start for side in SIDES)
    root = search._seen(
        _Node(
            PState(a, b),
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
    # capture of a user ends while they are in flight, or they were lost after it), then
    # the one with the fewest unseen events (merged ACKs, timers expiring without a
    # segment: the untimed search lets a TIME-WAIT end at any moment, and the instants
    # judge only the path shown), one the variant's own parameter values allow if
    # there is one.
    accepted.sort(
        key=lambda n: (
            n.losses + sum(n.sent) - sum(n.gone) - sum(map(len, n.early)),
            n.reordered,
            n.merged,
            _silent(parent, n),
        )
    )
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
    return Conformance(
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
        end.merged,
        {name: float(defaults[name]) for name in counts if name in defaults},
        end.reordered,
        sum(p.origin == "copy" for p in run.injected),
    )


def _passed(n: _Node, c: int) -> tuple[tuple[int, int], tuple[frozenset[int], frozenset[int]]]:
    """``n``'s counts of packets delivered or lost per channel, and of those delivered
    ahead of their turn, once channel ``c``'s head is gone (and every packet after it
    that overtook it)."""
    gone, early = list(n.gone), list(n.early)
    gone[c] += 1
    while gone[c] in early[c]:
        early[c] = early[c] - {gone[c]}
        gone[c] += 1
    return (gone[0], gone[1]), (early[0], early[1])


def _silent(parent: Mapping[_Node, tuple[_Node, Label | None] | None], n: _Node) -> int:
    """How many timer expiries on the path to ``n`` sent nothing."""
    count = 0
    link = parent[n]
    while link is not None:
        up, label = link
        count += label is not None and label.kind == "timeout" and not label.sent
        link = parent[up]
    return count


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
    for c, chan in enumerate(CHANNEL_ORDER):
        if best.sent[c] < len(search.packets[c]):
            p = search.packets[c][best.sent[c]]
            sender = chan.split("->")[0]
            pending.append((p.sent, f"{sender}: send {p.text()} (t={p.sent:.4f})"))
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
    return Mismatch(
        len(trace.steps),
        kernel,
        tuple(options),
        why,
        best.s.describe(),
        tuple(text for _t, text in pending[:3]),
    )
