"""What a product move is: the one definition every search engine reads.

The product joins two endpoints (:mod:`checker.model.endpoint`), two applications and two
one-way channels (:mod:`checker.product.network`).  This module holds its rules:

* **labels** (:class:`Label`): what a transition did, for traces, charts and fairness;
* **product states** (:class:`PState`): both local states and both channels' contents,
  with the losses and duplications a bounded run has used;
* **the application policy** (:func:`app_calls`, :func:`app_steps`): which user calls an
  application makes where, by its configured modes;
* **timer eligibility** (:func:`may_fire`, :func:`eligible_timer_steps`) and
  **quiescence** (:func:`quiescent`): the untimed reading of time -- a timer marked
  ``any`` may expire at any moment; one marked ``quiescent`` (TIME-WAIT's 2·MSL) only
  when nothing is in flight and no other timer of either endpoint can fire;
* **an endpoint's moves** (:func:`endpoint_moves`): its application's calls, its timers
  and the deliveries its incoming channel offers;
* **the attacker's injections** (:func:`attack_steps`): an off-path attacker's forged
  segment arriving at an endpoint, at every placement it can aim at.

The engines differ in how they hold a state -- dataclasses (:mod:`checker.product.reference`),
four-word states (:mod:`checker.product.flat`), clocked copies
(:mod:`checker.timed.zonegraph`), ranged retry bounds (:mod:`checker.kernel.conform`),
Promela text (:mod:`checker.export.promela`), fairness obligations
(:mod:`checker.check.liveness`) -- and that difference is real; what a move is, is here.

Examples
--------
>>> from checker import load_spec
>>> from checker.model.endpoint import initial_local
>>> from checker.product.config import AppConfig
>>> spec = load_spec()
>>> [st.rule.event for st in app_steps(spec, AppConfig("passive"), initial_local(spec))]
['passive OPEN']
>>> [m.label("A").text() for m in endpoint_moves(
...     spec, AppConfig(), Network(), initial_local(spec), (), quiet=False)]
['A: active OPEN / snd SYN']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model.endpoint import (
    Local,
    Step,
    app_may,
    closure,
    enabled_rule,
    receive,
    receive_foreign,
    step,
    timer_steps,
    user_steps,
)
from ..model.segments import Segment, template
from ..model.spec import Spec
from .config import AppConfig, ProductConfig
from .network import Network

__all__ = [
    "CHANNELS",
    "SIDES",
    "EndpointMove",
    "Label",
    "PState",
    "app_calls",
    "app_steps",
    "attack_steps",
    "delivery",
    "eligible_timer_steps",
    "endpoint_moves",
    "local_moves",
    "may_fire",
    "net_label",
    "quiescent",
    "quiet_only_timer_steps",
    "step_label",
    "timer_pending",
    "universe",
    "waits_for_quiescence",
]

SIDES = ("A", "B")
#: Channel name by sending side.
CHANNELS = {"A": "A->B", "B": "B->A"}


# ------------------------------------------------------------------- labels ---
@dataclass(frozen=True)
class Label:
    """What happened on one transition of the product.

    ``actor`` is ``A``, ``B`` or ``net``; ``kind`` is ``user``, ``segment``, ``timeout``,
    ``attack`` (the endpoint receives a segment an attacker forged: ``received``, with
    the numbers it landed on), ``loss`` or ``dup``; ``rule`` the index of the spec
    transition taken (endpoint moves).

    Examples
    --------
    >>> from checker import ProductConfig, explore, load_spec
    >>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    >>> label, target = ex.edges_from(0)[0]
    >>> label.actor, label.kind, label.event, label.channel, label.text()
    ('A', 'user', 'active OPEN', 'A->B', 'A: active OPEN / snd SYN')
    """

    actor: str
    kind: str
    event: str
    rule: int | None = None
    received: Segment | None = None
    sent: tuple[Segment, ...] = ()
    segment: Segment | None = None  # the segment lost or duplicated
    channel: str | None = None
    target: str | None = None  # the actor's control state after the move
    dropped: tuple[Segment, ...] = ()  # sent into a full channel and dropped (overflow drop)

    def text(self) -> str:
        """One line, e.g. ``B: rcv FIN / snd ACK`` or ``net: lose FIN+ACK A->B``."""
        if self.actor == "net":
            assert self.segment is not None
            verb = "lose" if self.kind == "loss" else "duplicate"
            return f"net: {verb} {self.segment.name} {self.channel}"
        text = f"{self.actor}: {self.event}"
        if self.kind == "attack" and self.received is not None:
            text += f" (forged {self.received.describe()})"
        if self.sent:
            text += " / snd " + ", ".join(s.name for s in self.sent)
        if self.dropped:
            text += " (channel full: " + ", ".join(s.name for s in self.dropped) + " dropped)"
        return text

    def with_dropped(self, dropped: tuple[Segment, ...]) -> Label:
        """The same move, with what a full channel dropped of its segments."""
        return dataclasses.replace(self, dropped=dropped) if dropped else self

    def to_json(self) -> dict[str, object]:
        return {
            "actor": self.actor,
            "kind": self.kind,
            "event": self.event,
            "rule": self.rule,
            "received": self.received.describe() if self.received else None,
            "sent": [s.describe() for s in self.sent],
            "lost": self.segment.describe() if self.kind == "loss" and self.segment else None,
            "duplicated": self.segment.describe() if self.kind == "dup" and self.segment else None,
            "channel": self.channel,
            "overflow_dropped": [s.describe() for s in self.dropped],
        }


def step_label(side: str, st: Step, kind: str) -> Label:
    """The product label of an endpoint step (``kind``: user, timeout or segment)."""
    rule = st.rule
    return Label(
        side, kind, rule.event, rule.index, st.received, st.sent, None, CHANNELS[side], rule.target
    )


def net_label(kind: str, seg: Segment, sender: str) -> Label:
    """The label of the network losing (``kind`` ``loss``) or duplicating (``dup``) ``seg``
    on the channel ``sender`` sends into."""
    event = "lose" if kind == "loss" else "duplicate"
    return Label("net", kind, event, segment=seg, channel=CHANNELS[sender])


# ----------------------------------------------------------- product states ---
@dataclass(frozen=True)
class PState:
    """A product state.  Unordered channels keep their contents sorted (a multiset).

    Examples
    --------
    >>> from checker import ProductConfig, explore, load_spec
    >>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    >>> state = ex.state(1)
    >>> state.describe()
    'A=SYN-SENT B=CLOSED A->B=[SYN] B->A=[-]'
    >>> state.a.state, state.local("B").state, len(state.ab), state.lost
    ('SYN-SENT', 'CLOSED', 1, 0)
    """

    a: Local
    b: Local
    ab: tuple[Segment, ...] = ()
    ba: tuple[Segment, ...] = ()
    lost: int = 0
    dups: int = 0
    injected: int = 0  # segments the attacker has forged so far

    def local(self, side: str) -> Local:
        return self.a if side == "A" else self.b

    def channel_from(self, side: str) -> tuple[Segment, ...]:
        return self.ab if side == "A" else self.ba

    def describe(self) -> str:
        ab = " ".join(s.name for s in self.ab) or "-"
        ba = " ".join(s.name for s in self.ba) or "-"
        return f"A={self.a.state} B={self.b.state} A->B=[{ab}] B->A=[{ba}]"


# ---------------------------------------------------- the application policy ---
def app_calls(spec: Spec, app: AppConfig | None, local: Local) -> list[str]:
    """The user calls an application makes in ``local``, in the spec's event order.

    Any application opens once, then may send or close/abort once
    (:func:`checker.model.endpoint.app_may`).  A configured one (``app``) opens the way
    it is configured to, sends only while listening (and only if allowed to), and closes
    -- or aborts, if it may -- where its close mode says.  ``None`` is an application
    about which nothing is known (a capture's): every call any application may make.
    """
    out: list[str] = []
    for ev in spec.events:
        name = ev.name
        if ev.kind != "user" or not app_may(local, name):
            continue
        if app is None:
            out.append(name)
            continue
        if name in ("active OPEN", "passive OPEN"):
            allowed = name.split()[0] == app.open
        elif name == "SEND":
            allowed = app.listen_send and local.state == "LISTEN"
        elif name in ("CLOSE", "ABORT"):
            allowed = (name == "CLOSE" or app.abort) and app.may_close_in(local.state)
        else:
            allowed = False
        if allowed:
            out.append(name)
    return out


def app_steps(spec: Spec, app: AppConfig, local: Local) -> list[Step]:
    """The calls ``app`` makes in ``local`` (:func:`app_calls`) whose rule succeeds: an
    application never makes a call whose rule is an error response."""
    out: list[Step] = []
    for name in app_calls(spec, app, local):
        rule = enabled_rule(spec, local, name)
        if rule is not None and not rule.error:
            out.append(step(spec, local, rule))
    return out


# ------------------------------------------------ timers and quiescence ---
#: The untimed firing policies a timer may have, in the order their expiries are offered.
POLICIES = ("any", "quiescent")


def may_fire(policy: str, quiet: bool) -> bool:
    """May a timer with untimed firing ``policy`` expire now in the untimed product?
    ``any`` (the retransmission timer: a retransmission can overtake its original) at any
    moment; ``quiescent`` only in a quiescent state (:func:`quiescent`) -- the untimed
    reading of "this timer lasts long enough for the network to drain" (TIME-WAIT's
    2·MSL, RFC 9293 §3.10.8)."""
    return policy == "any" or quiet


def quiescent(in_flight: bool, pending: Iterable[bool]) -> bool:
    """Is the product quiescent: nothing in flight and no timer that may fire whatever
    happens (:func:`timer_pending`) pending at either endpoint?  ``pending`` holds, per
    endpoint, :func:`timer_pending` or an engine's own reading of it."""
    return not in_flight and not any(pending)


def timer_pending(spec: Spec, local: Local) -> bool:
    """Can a timer of ``local`` expire whatever the rest of the product does?"""
    return bool(eligible_timer_steps(spec, local, False))


def eligible_timer_steps(spec: Spec, local: Local, quiet: bool) -> list[Step]:
    """The expiries of ``local``'s timers that may happen now (:func:`may_fire`; ``quiet``:
    the product is quiescent), those that may fire at any moment first."""
    return [
        st
        for policy in POLICIES
        if may_fire(policy, quiet)
        for st in timer_steps(spec, local, policy)
    ]


def quiet_only_timer_steps(spec: Spec, local: Local) -> list[Step]:
    """The expiries that may happen in a quiescent product and not otherwise."""
    return [
        st
        for policy in POLICIES
        if may_fire(policy, True) and not may_fire(policy, False)
        for st in timer_steps(spec, local, policy)
    ]


def restarts_timers(spec: Spec, label: Label, left: bool) -> bool:
    """Does ``label``'s move (re)start its actor's timers?  On leaving the control state
    (``left``), unless the rule keeps the running timer (RFC 6298 §5.3: only an ACK of
    new data restarts it); on every timer expiry (a retransmission backs off, a give-up
    ends); on a rule marked ``restart`` or ``retransmit``.  A move by the network
    restarts nothing.  The timed engines (zones, digital clocks) and the kernel's timing
    checks all read this rule.

    >>> from checker import load_spec
    >>> spec = load_spec()
    >>> restarts_timers(spec, Label("A", "timeout", "timeout RETX"), left=False)
    True
    >>> restarts_timers(spec, Label("net", "loss", "lose"), left=False)
    False
    """
    if label.actor not in ("A", "B"):
        return False
    rule = spec.transitions[label.rule] if label.rule is not None else None
    return (
        (left and not (rule is not None and rule.keeps_timer))
        or label.kind == "timeout"
        or (rule is not None and (rule.restart or rule.retransmit))
    )


def waits_for_quiescence(spec: Spec) -> bool:
    """Does some timer of the spec fire only in a quiescent product?"""
    return any(not may_fire(t.untimed, False) for t in spec.timers)


# ------------------------------------------------------- an endpoint's moves ---
@dataclass(frozen=True)
class EndpointMove:
    """A move of one endpoint: ``kind`` ``user``, ``timeout`` or ``segment``, the step
    it takes, and the position in its incoming channel of the segment it consumed."""

    kind: str
    step: Step
    consumed: int | None = None

    def label(self, side: str) -> Label:
        return step_label(side, self.step, self.kind)


def endpoint_moves(
    spec: Spec,
    app: AppConfig,
    network: Network,
    local: Local,
    incoming: Sequence[Segment],
    *,
    quiet: bool,
) -> list[EndpointMove]:
    """Every move of an endpoint in ``local`` whose incoming channel holds ``incoming``:
    its application's calls, the timers that may expire (``quiet``: the product is
    quiescent), then the delivery of each segment the network may deliver next.  Where
    its segments go (and whether they fit) is the engine's business."""
    moves = local_moves(spec, app, local, quiet=quiet)
    moves += [delivery(spec, local, incoming, i) for i in network.deliverable(incoming)]
    return moves


def local_moves(spec: Spec, app: AppConfig, local: Local, *, quiet: bool) -> list[EndpointMove]:
    """The moves of :func:`endpoint_moves` that consume no segment: the application's
    calls, then the timers that may expire."""
    moves = [EndpointMove("user", st) for st in app_steps(spec, app, local)]
    moves += [EndpointMove("timeout", st) for st in eligible_timer_steps(spec, local, quiet)]
    return moves


def attack_steps(spec: Spec, config: ProductConfig, local: Local) -> list[Step]:
    """What an endpoint in ``local`` may do when the attacker of ``config`` forges a
    segment to it: for each kind it forges, every placement of its numbers it can aim at
    (:func:`checker.model.endpoint.receive_foreign`; all of them if it knows the numbers,
    otherwise never an exact point of either sequence space), distinct steps in a fixed
    order; none where the attacker does not strike (``attack_states``).  A forged SYN
    accepted in LISTEN or SYN-SENT synchronizes the endpoint to the attacker's numbers,
    which the relative numbers cannot tell from the peer's: runs through it
    over-approximate (they may find the peer's later segments exact).  Its segment
    comes from outside the channels and takes no room in them; what
    the endpoint answers goes to its peer, as any segment it sends.

    >>> from checker import load_spec
    >>> spec = load_spec()
    >>> est = Local("ESTABLISHED", una=1, opened=True)
    >>> cfg = ProductConfig(attacker=1, attack_kinds=("RST",))
    >>> [(st.rule.event, st.target.state) for st in attack_steps(spec, cfg, est)]
    [('rcv bad RST', 'ESTABLISHED'), ('rcv RST in window', 'CLOSED')]
    """
    if config.attack_states and local.state not in config.attack_states:
        return []
    out: list[Step] = []
    seen: set[tuple[int, Local, tuple[Segment, ...], Segment | None]] = set()
    for kind in config.attack_kinds:
        for st in receive_foreign(spec, local, template(kind), blind=not config.attack_exact):
            mark = (st.rule.index, st.target, st.sent, st.received)
            if mark not in seen:
                seen.add(mark)
                out.append(st)
    return out


def universe(spec: Spec, config: ProductConfig) -> tuple[list[Local], list[Segment]]:
    """Every local state and every segment in flight the product of ``config`` can meet,
    sorted: the endpoint's closure against any peer
    (:func:`checker.model.endpoint.closure`) and, with an attacker, what its forged
    segments make an endpoint do and send, and what those answers do in turn, to a fixed
    point.  The explorer numbers its local states from it up front; so does the Promela
    model.

    >>> from checker import load_spec
    >>> spec = load_spec()
    >>> base = universe(spec, ProductConfig())
    >>> attacked = universe(spec, ProductConfig(attacker=1))
    >>> len(attacked[1]) > len(base[1]) and set(base[0]) <= set(attacked[0])
    True
    """
    found = closure(spec)
    locals_ = set(found.locals)
    segments = set(found.segments)
    if not config.attacker:
        return sorted(locals_), sorted(segments)
    todo = sorted(locals_)
    while todo:
        grown: list[Local] = []
        for local in todo:
            steps = attack_steps(spec, config, local)
            if local in found.locals:  # the closure has done the rest
                fresh = sorted(segments - found.segments)
            else:  # beyond the closure: everything it can do
                fresh = sorted(segments)
                steps += user_steps(spec, local) + timer_steps(spec, local)
            steps += [receive(spec, local, seg) for seg in fresh]
            for st in steps:
                if st.target not in locals_:
                    locals_.add(st.target)
                    grown.append(st.target)
                new = [seg for seg in st.sent if seg not in segments]
                if new:
                    segments.update(new)
                    grown.extend(sorted(locals_))  # a new segment may arrive anywhere
        todo = sorted(set(grown))
    return sorted(locals_), sorted(segments)


def delivery(spec: Spec, local: Local, incoming: Sequence[Segment], i: int) -> EndpointMove:
    """The move of an endpoint in ``local`` receiving ``incoming[i]`` (RFC 9293 §3.10.7,
    :func:`checker.model.endpoint.receive`)."""
    return EndpointMove("segment", receive(spec, local, incoming[i]), i)
