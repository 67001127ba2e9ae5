"""One TCP endpoint as a function of its spec: local states and the steps between them.

An endpoint's *local state* is its control state plus what the RFC needs to remember
about how it got there (:class:`Local`): whether the connection came from a passive OPEN
(MUST-11), how far our own sequence space is acknowledged (SND.UNA: whether our SYN has
been acknowledged matters after a CLOSE in SYN-RECEIVED), how many retransmissions the
running retransmission timer has made, and what the application has done so far (opened;
closed -- after which the socket is *orphaned*).

:func:`step` applies one spec transition; :func:`receive` classifies a segment
(:func:`checker.model.segments.classify`) and applies the one rule that matches;
:func:`closure` explores the endpoint alone against *any* peer -- every segment any
endpoint of this spec can send may arrive at any moment -- and proves, at load time,
that no reachable local state lacks a rule for a segment it can receive and that no two
rules match at once.

Examples
--------
>>> from checker.model.load import load_spec
>>> spec = load_spec()
>>> a = initial_local(spec)
>>> [s.rule.event for s in user_steps(spec, a)]
['active OPEN', 'passive OPEN']
>>> syn_sent = user_steps(spec, a)[0]
>>> syn_sent.target.state, [seg.describe() for seg in syn_sent.sent]
('SYN-SENT', ['SYN seq=0'])
>>> len(closure(spec).locals) > 20
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import ModelError, SpecError
from .segments import ACK, FIN, OLD_EVENTS, RST, SYN, Segment, build, classify, placements
from .spec import Spec, Transition

__all__ = [
    "CLOSURE_LIMIT",
    "Closure",
    "EndpointMemo",
    "Local",
    "Step",
    "app_may",
    "closure",
    "enabled_rule",
    "initial_local",
    "receive",
    "receive_foreign",
    "step",
    "timer_steps",
    "user_steps",
]

#: More local states than this means a retransmission rule lacks a retry bound.
CLOSURE_LIMIT = 100_000


class Local(NamedTuple):
    """The local state of one endpoint (see the module docstring)."""

    state: str
    passive: bool = False
    una: int = 0
    retries: int = 0
    opened: bool = False
    closed: bool = False

    def describe(self) -> str:
        """``SYN-RECEIVED (passive, una=0, retries=1, app: opened)``."""
        bits = [
            "passive" if self.passive else "active",
            f"una={self.una}",
            f"retries={self.retries}",
        ]
        app = "closed" if self.closed else ("opened" if self.opened else "idle")
        return f"{self.state} ({', '.join(bits)}, app: {app})"


@dataclass(frozen=True)
class Step:
    """The effect of one transition on one endpoint."""

    rule: Transition
    source: Local
    target: Local
    received: Segment | None
    sent: tuple[Segment, ...]


@dataclass(frozen=True)
class Closure:
    """An endpoint explored alone against any peer."""

    locals: frozenset[Local]
    segments: frozenset[Segment]
    steps: int


@dataclass
class EndpointMemo:
    """What this module has worked out about one spec, kept with it
    (:attr:`Spec.endpoint_memo <checker.model.spec.Spec.endpoint_memo>`).

    The answers depend on the spec alone, and the explorers ask the same ones many times
    (the product's tables, the zone graph, the load-time closure), so each is computed
    once per spec.
    """

    #: :func:`receive`'s steps by (local state, segment).
    received: dict[tuple[Local, Segment], Step] = field(default_factory=dict)
    #: :func:`receive_foreign`'s steps by (local state, segment, blind).
    foreign: dict[tuple[Local, Segment, bool], list[Step]] = field(default_factory=dict)
    #: :func:`closure`'s result.
    closure: Closure | None = None


def _memo(spec: Spec) -> EndpointMemo:
    memo = spec.endpoint_memo
    if isinstance(memo, EndpointMemo):
        return memo
    # The spec is frozen; its memo slot is declared for this module to fill.
    memo = EndpointMemo()
    object.__setattr__(spec, "endpoint_memo", memo)
    return memo


def initial_local(spec: Spec) -> Local:
    return Local(spec.initial)


def app_may(local: Local, event: str) -> bool:
    """What any application can do: open once, then send or close/abort once."""
    if event in ("active OPEN", "passive OPEN"):
        return not local.opened
    return local.opened and not local.closed


def enabled_rule(spec: Spec, local: Local, event: str) -> Transition | None:
    """The one rule for ``event`` in ``local`` whose guard holds, or ``None``.

    Raises :class:`SpecError` when two rules hold at once (the spec is not deterministic).
    """
    values = spec.values
    found: Transition | None = None
    for rule in spec.rules(local.state, event):
        if rule.guard.holds(
            passive=local.passive,
            orphaned=local.closed,
            una=local.una,
            retries=local.retries,
            params=values,
        ):
            if found is not None:
                raise SpecError(
                    rule.file,
                    rule.entry,
                    f"rules overlap: in {local.describe()} both '{found.label}' ({found.entry}) "
                    f"and '{rule.label}' match '{event}'",
                    "make the guards exclusive",
                )
            found = rule
    return found


def step(
    spec: Spec,
    local: Local,
    rule: Transition,
    received: Segment | None = None,
    *,
    orphans: bool | None = None,
) -> Step:
    """Apply ``rule`` to ``local`` (``received``: the segment that triggered it, if any).

    ``orphans``: whether the application leaves the socket with this call.  By default
    CLOSE and ABORT do (a program's close()); ``False`` makes a CLOSE the half-close of
    shutdown(SHUT_WR), RFC 9293's CLOSE proper ("no more data to send"), after which the
    application still reads and the rules for an attached socket apply."""
    src = spec.state(local.state)
    tgt = spec.state(rule.target)
    event = rule.event
    accepted = received is not None and event not in OLD_EVENTS
    # RCV.NXT moves over a SYN that opens the receive space (IRS + 1) and over a FIN that
    # arrives in order -- also when the rule then leaves for CLOSED, whose ACK still says
    # so.  No other segment moves it: a SYN in a synchronized state is answered with
    # RCV.NXT as it is (§3.10.7.4), and a FIN beyond RCV.NXT is held, not processed.
    brought = 0
    if accepted and received is not None and not received.flags & RST:
        if received.flags & SYN and src.received == 0:
            brought = 1
        elif received.flags & FIN and received.seq == src.received:
            brought = src.received + 1
    snd_nxt = max(src.sent, tgt.sent)
    rcv_nxt = max(src.received, tgt.received, brought)
    # A RST of the endpoint's own (ABORT) carries SND.NXT as it is when the RST leaves,
    # whatever state the rule enters (Note 3: TIME-WAIT after a reset).
    sent = tuple(
        build(
            tok,
            snd_nxt=src.sent if tok.startswith("RST") else snd_nxt,
            rcv_nxt=rcv_nxt,
            trigger=received,
        )
        for tok in rule.send
    )

    # SND.UNA advances on an acceptable ACK processed by a synchronized (or synchronizing)
    # endpoint; an old SYN in a synchronized state is answered, not processed (§3.10.7.4).
    una = local.una
    if tgt.sent == 0:
        una = 0
    elif (
        accepted
        and received is not None
        and received.flags & ACK
        and not received.flags & RST
        and tgt.received > 0
        and not (received.flags & SYN and src.received > 0)
    ):
        una = max(una, received.ack)
    una = min(una, tgt.sent)

    if rule.target == spec.initial:
        passive = False
    elif event == "passive OPEN":
        passive = True
    elif event in ("active OPEN", "SEND"):
        passive = False
    else:
        passive = local.passive

    if rule.retransmit:
        retries = min(local.retries + 1, max(spec.retry_cap, local.retries))
    elif (rule.target != local.state and not rule.keeps_timer) or rule.restart:
        retries = 0
    else:
        retries = local.retries

    target = Local(
        state=rule.target,
        passive=passive,
        una=una,
        retries=retries,
        opened=local.opened or event in ("active OPEN", "passive OPEN"),
        closed=local.closed or (event in ("CLOSE", "ABORT") if orphans is None else orphans),
    )
    return Step(rule, local, target, received, sent)


def receive(spec: Spec, local: Local, seg: Segment) -> Step:
    """The step taken when ``seg`` arrives at ``local`` (the event:
    :func:`checker.model.segments.classify`).  Raises :class:`ModelError` when the spec
    has no rule for the event in this local state.
    """
    held = spec.endpoint_memo  # the hot path: no call when the memo exists
    memo = (held if isinstance(held, EndpointMemo) else _memo(spec)).received
    key = (local, seg)
    if key in memo:
        return memo[key]
    state = spec.state(local.state)
    event = classify(seg, state.sent, state.received, local.una, spec.acceptance)
    rule = enabled_rule(spec, local, event)
    if rule is None:
        files = ", ".join(spec.files)
        raise ModelError(
            f"{files}: no rule for '{event}' in state {local.state} "
            f"(reached as {local.describe()}, receiving {seg.describe()}); "
            f"add a transition from {local.state} on '{event}' (RFC 9293 §3.10.7 says what "
            "every state does with every segment)"
        )
    memo[key] = result = step(spec, local, rule, seg)
    return result


def receive_foreign(spec: Spec, local: Local, seg: Segment, *, blind: bool = False) -> list[Step]:
    """The steps ``local`` may take when a segment of *another incarnation* of the
    connection arrives (an old duplicate, or a new connection's segment meeting the old
    one), or one forged by an off-path attacker (``blind``).

    Its numbers were chosen against another ISS, so how they fall against this
    connection's is unknown: every placement of its sequence and acknowledgment numbers is
    tried (:func:`~checker.model.segments.placements`: the three points of the abstraction
    and :data:`~checker.model.segments.AHEAD`, a sequence number further inside the
    window, an acknowledgment of more than was ever sent; below the window is the
    placement at a point under RCV.NXT).  This is the worst case, where the choice of ISS
    (RFC 9293 §3.4.1) gives no protection and only time (TIME-WAIT, MSL) keeps old
    segments away.  A blind attacker knows the connection's addresses and ports but not
    its numbers: it never hits RCV.NXT nor an acceptable acknowledgment exactly (RFC 5961
    §1.1).  Each placement is classified by RFC 9293 §3.10.7
    (:func:`~checker.model.segments.classify`) and needs a rule (a :class:`ModelError`
    names the missing one).  Distinct steps, in a fixed order.
    """
    memo = _memo(spec).foreign
    key = (local, seg, blind)
    got = memo.get(key)
    if got is not None:
        return got
    out: list[Step] = []
    seen: set[tuple[int, Local, tuple[Segment, ...]]] = set()
    state = spec.state(local.state)
    for placed in placements(seg, state.sent, state.received, local.una, blind=blind):
        try:
            st = receive(spec, local, placed)
        except ModelError as exc:
            who = "an attacker's segment" if blind else "a segment of another incarnation"
            raise ModelError(
                f"{exc}; {who} ({seg.describe()}) can cause it, so it needs a rule "
                "(RFC 9293 §3.10.7)"
            ) from None
        mark = (st.rule.index, st.target, st.sent)
        if mark not in seen:
            seen.add(mark)
            out.append(st)
    memo[key] = out
    return out


def user_steps(spec: Spec, local: Local) -> list[Step]:
    """Steps for the user calls that have a rule here and that an application may make."""
    out: list[Step] = []
    for ev in spec.events:
        if ev.kind != "user" or not app_may(local, ev.name):
            continue
        rule = enabled_rule(spec, local, ev.name)
        if rule is not None:
            out.append(step(spec, local, rule))
    return out


def timer_steps(spec: Spec, local: Local, untimed: str | None = None) -> list[Step]:
    """Steps for the timers running in ``local`` whose expiry has an enabled rule.

    ``untimed`` keeps only the timers with that untimed firing policy (``any`` or
    ``quiescent``); ``None`` keeps them all.
    """
    out: list[Step] = []
    for timer in spec.timers:
        if untimed is not None and timer.untimed != untimed:
            continue
        if local.state in timer.states:
            rule = enabled_rule(spec, local, timer.event)
            if rule is not None:
                out.append(step(spec, local, rule))
    return out


def closure(spec: Spec) -> Closure:
    """Explore one endpoint against any peer; validate completeness and determinism.

    The segment universe grows with the exploration: it is every segment some reachable
    local state sends.  Any of them may arrive in any local state.  A missing rule is a
    :class:`SpecError` naming the state, the event and the segment.
    """
    memo = _memo(spec)
    if memo.closure is not None:
        return memo.closure
    start = initial_local(spec)
    seen: set[Local] = {start}
    order: list[Local] = [start]
    segments: set[Segment] = set()
    seg_order: list[Segment] = []
    done: dict[Local, int] = {}  # local -> number of segments already tried against it
    steps = 0
    progress = True
    while progress:
        progress = False
        i = 0
        while i < len(order):
            local = order[i]
            i += 1
            results: list[Step] = []
            if local not in done:
                results += user_steps(spec, local)
                results += timer_steps(spec, local)
                done[local] = 0
            for seg in seg_order[done[local] :]:
                try:
                    st = receive(spec, local, seg)
                except ModelError as exc:
                    raise SpecError(
                        spec.files[-1], f"state {local.state}", str(exc).split(": ", 1)[1]
                    ) from None
                results.append(st)
            done[local] = len(seg_order)
            for st in results:
                steps += 1
                for seg in st.sent:
                    if seg not in segments:
                        segments.add(seg)
                        seg_order.append(seg)
                        progress = True
                if st.target not in seen:
                    seen.add(st.target)
                    order.append(st.target)
                    progress = True
                    if len(seen) > CLOSURE_LIMIT:
                        raise SpecError(
                            spec.files[-1],
                            "transitions",
                            f"the endpoint has more than {CLOSURE_LIMIT} local states",
                            "a retransmitting rule probably lacks a 'retries >= PARAM' bound",
                        )
        if any(done.get(loc, -1) < len(seg_order) for loc in order):
            progress = True
    result = memo.closure = Closure(frozenset(seen), frozenset(segments), steps)
    return result
