"""Liveness under stated fairness: ``P ~> Q`` with lasso counterexamples.

A run violates ``P ~> Q`` when, after some state satisfying ``P``, it never again reaches
``Q``.  On a finite graph such a run either *stops* -- stays forever in a state where no
move is forced by the fairness assumptions -- or *cycles* forever inside a strongly
connected set of ``not Q`` states that the assumptions allow it to stay in.

Fairness assumptions (each can be switched off to see whether a property needs it):

``timers`` (weak fairness)
    a timer expiry that stays enabled is eventually taken: a run cannot stop, or cycle,
    while a timer of an endpoint can fire throughout;
``fair-apps`` (weak fairness)
    an application call that stays enabled is eventually made;
``fair-lossy`` (strong fairness of delivery)
    a segment sent infinitely often is delivered infinitely often -- whether the network
    loses its copies or a full channel drops them (``--overflow drop``), this cannot go
    on forever -- and a segment cannot stay in flight forever: a run cannot stop with
    segments in flight, nor cycle while one sits undelivered in a channel.

On a cycle of the finite graph, "sent infinitely often" means sent by some move of the
cycle, and such a segment is then lost, dropped or in flight somewhere on the cycle
(a channel's content falls only by delivery or loss, and the cycle returns to its
start).  So the obligation to deliver a segment is enabled in a *state* where it is in
flight and on a *move* that drops it into a full channel.

Fair cycles are found with the classical strongly-connected-component refinement for
strong fairness (Emerson and Lei): a component in which some delivery group is enabled
but never taken loses the states and the moves enabling it and is decomposed again.  The SCCs of the
whole graph are computed once per exploration and reused by every property decided on
it (:class:`GraphFacts`, kept by whoever shares the exploration); each property then
only decomposes the non-trivial components restricted to ``not Q``.

The counterexample is shortest in its prefix: a breadth-first search over the graph
paired with a one-bit monitor ("P seen, Q not since") finds the nearest state where the
run can stop or enter a fair cycle; the cycle then visits what fairness requires.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..model.endpoint import Local
from ..model.segments import Segment
from ..model.spec import Spec
from ..product.config import ProductConfig
from ..product.exploration import Exploration
from ..product.semantics import (
    Label,
    app_steps,
    eligible_timer_steps,
    quiescent,
    timer_pending,
)
from .formula import Formula, node_values
from .outcome import Outcome
from .properties import Property
from .room import room_needed
from .traces import Trace, trace_of
from .verdicts import Verdict, make_verdict

__all__ = [
    "GraphFacts",
    "check_leads_to",
    "delivery_group",
    "edge_group",
    "edge_groups",
    "edge_owed",
    "lasso_violates",
    "local_obligations",
    "obligations",
    "sccs",
]

Group = tuple[str, str, str]  # (kind of fairness, actor, what)

_FLIP = bytes([1, 0]) + bytes(254)  # bytes.translate table: 0 <-> 1


def local_obligations(
    spec: Spec, config: ProductConfig, side: str, local: Local, quiet: bool
) -> frozenset[tuple[str, Group]]:
    """The timer and application groups enabled for endpoint ``side`` in ``local``, with
    the assumption covering each; ``quiet``: nothing in flight and no other timer of
    either endpoint can fire (quiescent timers are enabled only then)."""
    groups: set[tuple[str, Group]] = set()
    for st in eligible_timer_steps(spec, local, quiet):
        groups.add(("timers", ("weak", side, st.rule.event)))
    if app_steps(spec, config.app(side), local):
        groups.add(("fair-apps", ("weak", side, "app")))
    return frozenset(groups)


def delivery_group(receiver: str, seg: Segment) -> tuple[str, Group]:
    """The strong-fairness group of delivering ``seg`` to ``receiver``."""
    return "fair-lossy", ("strong", receiver, seg.describe())


def obligations(
    exploration: Exploration, nodes: Iterable[int] | None = None
) -> list[frozenset[tuple[str, Group]]]:
    """Per node (every node of ``exploration``, or those of ``nodes`` in their order):
    the fairness groups enabled there, with the assumption covering each.

    Enabledness ignores the channel capacity: a delivery is enabled while its segment is
    in flight, a timer while its state runs it, an application call while the application
    may make it.  A run that avoids an obligation only because a bounded channel is full
    is an artefact of the capacity, not a behaviour fairness should admit.

    The groups depend only on the two local states and the two channels' contents, read
    off the node's words: each distinct combination is worked out once (its set shared).
    """
    spec = exploration.spec
    config = exploration.config
    local_states = exploration.local_states
    channels = exploration.channel_segments
    pending = [timer_pending(spec, loc) for loc in local_states]
    by_local: dict[tuple[str, int, bool], frozenset[tuple[str, Group]]] = {}
    by_chan: dict[tuple[str, int], frozenset[tuple[str, Group]]] = {}
    memo: dict[tuple[int, int, int], frozenset[tuple[str, Group]]] = {}

    def local_groups(side: str, lid: int, quiet: bool) -> frozenset[tuple[str, Group]]:
        found = by_local.get((side, lid, quiet))
        if found is None:
            found = by_local[(side, lid, quiet)] = local_obligations(
                spec, config, side, local_states[lid], quiet
            )
        return found

    def deliveries(receiver: str, cid: int) -> frozenset[tuple[str, Group]]:
        found = by_chan.get((receiver, cid))
        if found is None:
            found = by_chan[(receiver, cid)] = frozenset(
                delivery_group(receiver, seg) for seg in channels[cid]
            )
        return found

    words = exploration.nodes
    out: list[frozenset[tuple[str, Group]]] = []
    for v in range(exploration.states) if nodes is None else nodes:
        key = (words[4 * v], words[4 * v + 1], words[4 * v + 2])
        found = memo.get(key)
        if found is None:
            w0, ab, ba = key
            a, b = w0 & 0xFFFF, w0 >> 16
            quiet = quiescent(bool(ab or ba), (pending[a], pending[b]))
            found = memo[key] = (
                local_groups("A", a, quiet)
                | local_groups("B", b, quiet)
                | deliveries("A", ba)
                | deliveries("B", ab)
            )
        out.append(found)
    return out


def edge_group(label: Label) -> tuple[str | None, Group | None]:
    """The fairness assumption covering a move with ``label``, and its group (``None``
    for the network's losses and duplications: no fairness makes them happen)."""
    if label.kind == "timeout":
        return "timers", ("weak", label.actor, label.event)
    if label.kind == "user":
        return "fair-apps", ("weak", label.actor, "app")
    if label.kind == "segment":
        assert label.received is not None
        return delivery_group(label.actor, label.received)
    return None, None


def edge_groups(exploration: Exploration) -> list[tuple[str | None, Group | None]]:
    """Per label id: the fairness assumption covering it and its fairness group."""
    return [edge_group(lab) for lab in exploration.labels]


def dropped_groups(label: Label) -> frozenset[tuple[str, Group]]:
    """The deliveries a move with ``label`` owes because a full channel dropped what it
    sent: the segment was sent, so fair loss owes its delivery (``fair-lossy``)."""
    if not label.dropped:
        return frozenset()
    receiver = "B" if label.actor == "A" else "A"
    return frozenset(delivery_group(receiver, seg) for seg in label.dropped)


def edge_owed(exploration: Exploration) -> list[frozenset[tuple[str, Group]]]:
    """Per label id: :func:`dropped_groups` (empty for almost every move)."""
    return [dropped_groups(lab) for lab in exploration.labels]


def sccs(
    exploration: Exploration,
    nodes: Iterable[int] | None = None,
    banned: frozenset[int] = frozenset(),
) -> list[list[int]]:
    """Non-trivial strongly connected components (iterative Tarjan) of the subgraph
    induced by ``nodes`` (all expanded nodes by default) without the edges ``banned``,
    in a deterministic order."""
    offs, dst = exploration.offsets, exploration.dst
    expanded = len(offs) - 1
    # Tarjan's numbers live in lists indexed by a node's slot: the node itself for the
    # whole graph, its rank among ``nodes`` for a subgraph.
    pos: dict[int, int] | None = None
    if nodes is None:
        order: Iterable[int] = range(expanded)
        size = exploration.states
    else:
        ranked = sorted(set(nodes))
        pos = {v: i for i, v in enumerate(ranked)}
        order, size = ranked, len(ranked)
    index = [-1] * size
    low = [0] * size
    on_stack = bytearray(size)
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in order:
        r = root if pos is None else pos[root]
        if index[r] >= 0:
            continue
        work = [(root, offs[root] if root < expanded else 0)]
        index[r] = low[r] = counter
        counter += 1
        stack.append(root)
        on_stack[r] = 1
        while work:
            v, e = work[-1]
            sv = v if pos is None else pos[v]
            end = offs[v + 1] if v < expanded else 0
            advanced = False
            while e < end:
                w = dst[e]
                e += 1
                if pos is None:
                    sw = w
                else:
                    got = pos.get(w)
                    if got is None:
                        continue
                    sw = got
                if banned and e - 1 in banned:
                    continue
                if index[sw] < 0:
                    work[-1] = (v, e)
                    index[sw] = low[sw] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[sw] = 1
                    work.append((w, offs[w] if w < expanded else 0))
                    advanced = True
                    break
                if on_stack[sw] and index[sw] < low[sv]:
                    low[sv] = index[sw]
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                sp = parent if pos is None else pos[parent]
                if low[sv] < low[sp]:
                    low[sp] = low[sv]
            if low[sv] == index[sv]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack[w if pos is None else pos[w]] = 0
                    comp.append(w)
                    if w == v:
                        break
                # A state never expanded (a limit stopped the search) has no known moves.
                loops = range(offs[v], offs[v + 1]) if v < expanded else range(0)
                if len(comp) > 1 or any(dst[x] == v and x not in banned for x in loops):
                    out.append(sorted(comp))
    return out


@dataclass(eq=False)
class GraphFacts:
    """What the liveness checks learn about one exploration and reuse for every property
    decided on it: the strongly connected components of the whole graph, computed on
    first use.  The caller that shares an exploration between properties keeps one."""

    exploration: Exploration
    _components: list[list[int]] | None = field(default=None, init=False, repr=False)

    def components(self) -> list[list[int]]:
        """:func:`sccs` of the whole graph."""
        if self._components is None:
            self._components = sccs(self.exploration)
        return self._components


@dataclass
class _Component:
    """A strongly connected set of states, with the moves among them that a fair cycle
    may not take (they owe a delivery the component never makes)."""

    nodes: list[int]
    banned: frozenset[int] = frozenset()
    inside: set[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.inside = set(self.nodes)

    def edges(self, exploration: Exploration, v: int) -> Iterable[int]:
        """The moves from ``v`` that stay inside and are allowed."""
        offs, dst = exploration.offsets, exploration.dst
        inside = self.inside
        return (e for e in range(offs[v], offs[v + 1]) if dst[e] in inside and e not in self.banned)


def _fair_components(
    exploration: Exploration,
    candidates: list[list[int]],
    groups: list[tuple[str | None, Group | None]],
    sends: list[frozenset[tuple[str, Group]]],
    active: set[str],
    owed: list[frozenset[tuple[str, Group]]],
) -> list[_Component]:
    """Refine components until each is fair under the active assumptions."""
    offs, dst, lbl = exploration.offsets, exploration.dst, exploration.lbl
    result: list[_Component] = []
    work = [_Component(sorted(c)) for c in candidates]
    while work:
        comp = work.pop()
        inside = comp.inside
        enabled: dict[int, set[Group]] = {}
        taken: set[Group] = set()
        edge_enabled: dict[int, set[Group]] = {}
        for v in comp.nodes:
            enabled[v] = {g for a, g in owed[v] if a in active}
            for e in range(offs[v], offs[v + 1]):
                if dst[e] not in inside or e in comp.banned:
                    continue
                assumption, group = groups[lbl[e]]
                if group is not None and assumption in active:
                    taken.add(group)
                if sends[lbl[e]]:
                    edge_enabled[e] = {g for a, g in sends[lbl[e]] if a in active}
        strong_enabled = {g for v in comp.nodes for g in enabled[v] if g[0] == "strong"}
        strong_enabled |= {g for gs in edge_enabled.values() for g in gs}
        bad = strong_enabled - taken
        if bad:
            keep = [v for v in comp.nodes if not (enabled[v] & bad)]
            banned = comp.banned | {e for e, gs in edge_enabled.items() if gs & bad}
            work.extend(_Component(c, banned) for c in sccs(exploration, keep, banned))
            continue
        weak_everywhere = (
            set.intersection(*({g for g in enabled[v] if g[0] == "weak"} for v in comp.nodes))
            if comp.nodes
            else set()
        )
        if weak_everywhere - taken:
            continue  # a weakly fair group enabled throughout and never taken: unfair
        result.append(comp)
    return result


def _cycle(
    exploration: Exploration,
    comp: _Component,
    entry: int,
    groups: list[tuple[str | None, Group | None]],
    sends: list[frozenset[tuple[str, Group]]],
    active: set[str],
    owed: list[frozenset[tuple[str, Group]]],
) -> list[int]:
    """Edge indices of a cycle through ``entry`` inside ``comp`` that fairness accepts."""
    offs, dst, lbl = exploration.offsets, exploration.dst, exploration.lbl
    group_edge: dict[Group, int] = {}
    disabled_at: dict[Group, int] = {}
    enabled_groups: set[Group] = set()
    per_node: dict[int, set[Group]] = {}
    for v in comp.nodes:
        mine = {g for a, g in owed[v] if a in active}
        for e in comp.edges(exploration, v):
            assumption, group = groups[lbl[e]]
            if group is not None and assumption in active and group not in group_edge:
                group_edge[group] = e
            # A drop the cycle may take owes the delivery: the cycle makes it too.
            enabled_groups |= {g for a, g in sends[lbl[e]] if a in active}
        per_node[v] = mine
        enabled_groups |= mine
    targets: list[tuple[str, int]] = []
    for group in sorted(enabled_groups):
        if group in group_edge:
            targets.append(("edge", group_edge[group]))
        else:  # weak group not taken: visit a state where it is disabled
            disabled_at[group] = next(v for v in comp.nodes if group not in per_node[v])
            targets.append(("node", disabled_at[group]))
    if not targets:
        targets.append(("edge", next(iter(comp.edges(exploration, entry)))))

    def path(a: int, b: int) -> list[int]:
        if a == b:
            return []
        parents: dict[int, tuple[int, int]] = {a: (-1, -1)}
        queue = deque([a])
        while queue:
            u = queue.popleft()
            for e in comp.edges(exploration, u):
                w = dst[e]
                if w not in parents:
                    parents[w] = (u, e)
                    if w == b:
                        queue.clear()
                        break
                    queue.append(w)
        edges = []
        node = b
        while node != a:
            prev, e = parents[node]
            edges.append(e)
            node = prev
        return edges[::-1]

    edges: list[int] = []
    here = entry
    for kind, what in targets:
        if kind == "edge":
            src = next(v for v in comp.nodes if offs[v] <= what < offs[v + 1])
            edges += path(here, src)
            edges.append(what)
            here = dst[what]
        else:
            edges += path(here, what)
            here = what
    edges += path(here, entry)
    return edges


def lasso_violates(
    exploration: Exploration,
    edges: list[int],
    p: Formula,
    q: Formula,
    assumptions: tuple[str, ...],
    *,
    loop: int | None = None,
    stops: bool = False,
    blocked: bool = False,
) -> str | None:
    """Check a counterexample to ``p ~> q`` found by someone else: ``None`` when the run
    -- ``edges`` from the initial state, repeating ``edges[loop:]`` forever, or staying
    forever in its last state (``stops``) -- reaches ``p``, never ``q`` from there on,
    and is fair under ``assumptions``; otherwise why not.  ``blocked``: the run may stop
    where a move is owed but a full channel blocks every move (tcpcheck's ``unknown``).
    """
    offs, dst, lbl = exploration.offsets, exploration.dst, exploration.lbl
    nodes = [0] + [dst[e] for e in edges]
    states = [exploration.state(v) for v in nodes]
    active = set(assumptions)
    if loop is None and not stops:
        return "the run neither loops nor stops"
    if loop is not None and nodes[loop] != nodes[-1]:
        return f"the cycle from step {loop} does not return to its first state"

    def avoids_q_after(i: int) -> bool:
        # States before the cycle are seen once; the cycle's states forever after.
        since = i if loop is None else min(i, loop)
        return not any(q(s) for s in states[since:])

    if not any(p(s) and avoids_q_after(i) for i, s in enumerate(states)):
        return f"no state of the run satisfies {p} with {q} never holding afterwards"
    owed = obligations(exploration, nodes)
    if stops:
        last = nodes[-1]
        due = {g for a, g in owed[-1] if a in active}
        if not due:
            return None
        if blocked and offs[last] == offs[last + 1]:
            return None
        return f"the run stops where fairness owes {sorted(due)[0]}"
    assert loop is not None
    groups = edge_groups(exploration)
    cycle_edges = edges[loop:]
    taken = {g for e in cycle_edges for a, g in [groups[lbl[e]]] if g and a in active}
    cycle_owed = [{g for a, g in owed[i] if a in active} for i in range(loop, len(nodes) - 1)]
    sends = edge_owed(exploration)
    dropped = {g for e in cycle_edges for a, g in sends[lbl[e]] if a in active}
    strong = ({g for o in cycle_owed for g in o if g[0] == "strong"} | dropped) - taken
    if strong:
        return f"{sorted(strong)[0]} is enabled on the cycle and never taken"
    weak = set.intersection(*cycle_owed) - taken if cycle_owed else set()
    if weak:
        return f"{sorted(weak)[0]} is enabled all along the cycle and never taken"
    return None


def check_leads_to(
    prop: Property,
    exploration: Exploration,
    variant: str | None,
    p: Formula,
    q: Formula,
    assumptions: tuple[str, ...],
    facts: GraphFacts | None = None,
) -> Verdict:
    """Decide ``p ~> q`` on ``exploration`` under ``assumptions`` (``facts``: what is
    known of ``exploration`` already)."""
    if facts is None:
        facts = GraphFacts(exploration)
    assert facts.exploration is exploration

    active = set(assumptions)
    offs, dst = exploration.offsets, exploration.dst
    expanded = len(offs) - 1
    groups = edge_groups(exploration)
    sends = edge_owed(exploration)
    # Per node: q fails there; p holds and q fails (a run's obligation begins).
    not_q = node_values(exploration, q).translate(_FLIP)
    pending0 = bytes(x & y for x, y in zip(node_values(exploration, p), not_q, strict=True))

    owed = obligations(exploration)
    free: dict[frozenset[tuple[str, Group]], bool] = {}

    def may_stop(v: int) -> bool:
        """Can a run stay in ``v`` forever without breaking an active assumption?"""
        if v >= expanded:
            return False  # never expanded: its moves are unknown
        here = owed[v]
        found = free.get(here)
        if found is None:
            found = free[here] = not any(a in active for a, _g in here)
        return found

    def stuck(v: int) -> bool:
        """A state with no move although fairness owes one: a full channel blocks it."""
        return v < expanded and offs[v] == offs[v + 1] and not may_stop(v)

    # Fair cycles among `not q` states: refine the whole graph's components.
    candidates = []
    for comp in facts.components():
        restricted = [v for v in comp if not_q[v]]
        if restricted:
            candidates += sccs(exploration, restricted)
    fair = _fair_components(exploration, candidates, groups, sends, active, owed)
    in_fair: dict[int, _Component] = {v: comp for comp in fair for v in comp.nodes}

    def search(allow_blocked: bool) -> tuple[int, array[int], array[int]] | None:
        """Breadth-first over (node, phase) pairs -- phase 1 once ``p`` held without
        ``q`` since -- for a pair where a run may end or cycle unfairly: the pair
        ``2 * node + phase``, and per pair the edge and the pair it was reached by."""
        start = 1 if pending0[0] else 0
        by_edge = array("q", [-1]) * (2 * exploration.states)
        by_pair = array("q", [-1]) * (2 * exploration.states)
        seen = bytearray(2 * exploration.states)
        seen[start] = 1
        queue = deque([start])
        while queue:
            key = queue.popleft()
            v, ph = key >> 1, key & 1
            if ph == 1 and (v in in_fair or may_stop(v) or (allow_blocked and stuck(v))):
                return key, by_edge, by_pair
            if v >= expanded:
                continue
            for e in range(offs[v], offs[v + 1]):
                w = dst[e]
                nxt = 2 * w + (1 if not_q[w] and (ph == 1 or pending0[w]) else 0)
                if not seen[nxt]:
                    seen[nxt] = 1
                    by_edge[nxt] = e
                    by_pair[nxt] = key
                    queue.append(nxt)
        return None

    def prefix(found: tuple[int, array[int], array[int]]) -> list[int]:
        key, by_edge, by_pair = found
        edges: list[int] = []
        while by_edge[key] >= 0:
            edges.append(by_edge[key])
            key = by_pair[key]
        return edges[::-1]

    def verdict(value: Outcome, message: str, trace: Trace | None = None) -> Verdict:
        return make_verdict(prop, exploration, variant, value, message, trace, assumptions)

    used = ", ".join(assumptions) if assumptions else "no fairness"
    start = "a run " if prop.kind == "eventually" else f"a run reaches {p} and then "
    found = search(allow_blocked=False)
    if found is not None:
        v = found[0] >> 1
        edges = prefix(found)
        if v in in_fair:
            loop = len(edges)
            edges += _cycle(exploration, in_fair[v], v, groups, sends, active, owed)
            trace = trace_of(exploration, edges, loop=loop)
            message = f"{start}cycles forever without {q} ({used})"
        else:
            trace = trace_of(exploration, edges, stops=True)
            message = f"{start}stays forever where {q} never holds ({used})"
        return verdict(Outcome.VIOLATED, message, trace)
    blocked = search(allow_blocked=True)
    if blocked is not None:
        room = room_needed(exploration, blocked[0] >> 1)
        return make_verdict(
            prop,
            exploration,
            variant,
            Outcome.UNKNOWN,
            f"the only runs that miss the goal stop at a full channel ({room})",
            assumptions=assumptions,
            needs_room=room,
        )
    if not exploration.complete:
        return verdict(Outcome.UNKNOWN, f"exploration incomplete ({exploration.stopped()})")
    return verdict(Outcome.HOLDS, f"every run that reaches {p} reaches {q} ({used})")
