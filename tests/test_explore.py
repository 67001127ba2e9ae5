"""Exploration: pinned state counts, agreement with the reference semantics, determinism.

A changed count is a changed model.  When one of these numbers moves, the commit that
moves it says why.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.errors import UsageError
from checker.model.load import load_spec
from checker.model.spec import Spec
from checker.product.config import AppConfig, ProductConfig
from checker.product.exploration import Exploration
from checker.product.explore import explore
from checker.product.reference import Product
from checker.product.search import compiled_available
from checker.product.semantics import Label, PState

# name: (variant, config, states, transitions, depth, deadlocks, capacity deadlocks)
PINNED: dict[str, tuple[str | None, ProductConfig, int, int, int, int, int]] = {
    # The textbook configuration over a perfect FIFO network.  Every path is a handshake
    # and a close with spurious retransmissions (the untimed retransmission timer may
    # fire before the original arrives).  With nothing lost, the RFC's retry counts (7
    # for a SYN or SYN+ACK, 6 for a FIN) are never used up: two copies fill a channel
    # first.  14 of the 266 states are deadlocks: 2 are the ends of normal runs and 12
    # are both channels full of retransmissions with each endpoint needing room to
    # answer -- an artefact of capacity 2 that `explore` reports apart.
    "fifo, no loss": (None, ProductConfig(ordering="fifo", loss="none"), 266, 475, 21, 14, 12),
    # Letting segments overtake each other triples the space: a FIN can now pass the ACK
    # sent before it (the `rcv old ACK` rule) and retransmissions arrive in any order.
    "unordered, no loss": (None, ProductConfig(loss="none"), 860, 1852, 25, 17, 15),
    # One loss per run adds the recovery paths of every single loss (a lost SYN, SYN+ACK,
    # FIN or final ACK) and the give-ups when retransmissions alone cannot recover; with
    # a bounded budget full channels still block, hence 38 capacity deadlocks.
    "unordered, loss 1": (None, ProductConfig(loss="1"), 2638, 8022, 27, 42, 38),
    # The default: unordered, capacity 2, any number of losses.  Losses drain full
    # channels, so no deadlock is a capacity artefact; the 7 deadlocks are the real ends:
    # both CLOSED (3 ways, by the applications' progress), B back in LISTEN (2), B stuck
    # in ESTABLISHED after A gave up its FIN, and A stuck in FIN-WAIT-2 after B gave up
    # its FIN (the RFC has no FIN-WAIT-2 timer).
    "default": (None, ProductConfig(), 25708, 133060, 40, 7, 0),
    "fifo, loss any": (None, ProductConfig(ordering="fifo"), 14695, 65253, 40, 7, 0),
    # A third segment per channel: more interleavings of retransmissions in flight.
    "capacity 3": (None, ProductConfig(capacity=3), 215651, 1520870, 44, 7, 0),
    # A full channel drops what is sent into it instead of blocking the sender: no state
    # is stuck on a full channel any more (0 capacity deadlocks, against 16 above), at the
    # price of tail drops even with --loss none; 7 deadlocks remain, the real ends.
    "fifo, no loss, overflow drop": (
        None,
        ProductConfig(ordering="fifo", loss="none", overflow="drop"),
        18203,
        60081,
        30,
        7,
        0,
    ),
    "loss 1, overflow drop": (
        None,
        ProductConfig(loss="1", overflow="drop"),
        69705,
        380730,
        30,
        14,
        0,
    ),
    "fifo, no loss, dup 1": (
        None,
        ProductConfig(ordering="fifo", loss="none", duplication="1"),
        645,
        1293,
        21,
        44,
        40,
    ),
    # Both applications close first: FIN-WAIT-1 meets FIN-WAIT-1, CLOSING on either side.
    "simultaneous close": (
        None,
        ProductConfig(b=AppConfig("passive", "first")),
        63604,
        336444,
        41,
        12,
        0,
    ),
    # B's application never closes: nothing past CLOSE-WAIT for B, FIN-WAIT-2 for A.
    "B never closes": (
        None,
        ProductConfig(b=AppConfig("passive", "never")),
        10993,
        54810,
        39,
        7,
        0,
    ),
    "simultaneous open": (
        None,
        ProductConfig(b=AppConfig("active", "after-peer")),
        60254,
        317245,
        43,
        6,
        0,
    ),
    # A CLOSE in SYN-RECEIVED now keeps the SYN+ACK's retry count in FIN-WAIT-1 and
    # resends only the SYN+ACK (RFC 9293 §3.10.8; RFC 6298 §5.1): more distinct counts.
    "close or abort at any moment": (
        None,
        ProductConfig(a=AppConfig("active", "any", True), b=AppConfig("passive", "any", True)),
        128059,
        708578,
        41,
        6,
        0,
    ),
    # Linux retries 10 SYN (tcp_syn_retries 6 plus 4 linear timeouts), 5 SYN+ACK and 9
    # orphan FIN retransmissions (the base: 7, 7, 6): longer runs (depth 60) and 1.5
    # times the states; the FIN-WAIT-2 timer adds the orphan's exit.  A listener's
    # request answers a retransmitted SYN with its SYN+ACK (tcp_check_req), which the
    # peer's ACK then completes: fewer half-finished handshakes than base's bare ACK.
    # (The orphan's 9 is derived from its time budget, tcp_orphan_retries = 0: 102.2 s
    # from the first RTO retransmission, on a LAN's RTO of 204 ms.)
    "linux": ("linux", ProductConfig(), 38356, 203691, 60, 7, 0),
    "linux, B never closes": (
        "linux",
        ProductConfig(b=AppConfig("passive", "never")),
        10271,
        50897,
        50,
        7,
        0,
    ),
    # A RST no longer ends TIME-WAIT: the states where it did are gone.
    "rfc1337": ("rfc1337", ProductConfig(), 25677, 132944, 40, 7, 0),
    # No TIME-WAIT at all: every path through it disappears.
    "no-time-wait": ("no-time-wait", ProductConfig(), 25191, 131009, 40, 7, 0),
    # The time-wait timer may fire at any moment: TIME-WAIT now overlaps B's LAST-ACK
    # retransmissions, which then meet a CLOSED endpoint.
    "short-time-wait": ("short-time-wait", ProductConfig(), 26523, 138660, 40, 7, 0),
}


@pytest.mark.parametrize("name", list(PINNED))
def test_pinned_counts(name: str) -> None:
    variant, config, states, transitions, depth, deadlocks, capacity = PINNED[name]
    result = explore(load_spec(variant=variant), config)
    assert result.complete
    assert (
        result.states,
        result.transitions,
        result.depth,
        len(result.deadlocks),
        len(result.capacity_blocked),
    ) == (states, transitions, depth, deadlocks, capacity)


def test_default_configuration_reaches_these_control_state_pairs(spec: Spec) -> None:
    result = explore(spec, ProductConfig())
    pairs = {(result.state(n).a.state, result.state(n).b.state) for n in range(result.states)}
    assert pairs == {
        ("CLOSED", "CLOSED"),
        ("CLOSED", "LISTEN"),
        ("CLOSED", "SYN-RECEIVED"),
        ("CLOSED", "ESTABLISHED"),
        ("CLOSED", "CLOSE-WAIT"),
        ("CLOSED", "LAST-ACK"),
        ("SYN-SENT", "CLOSED"),
        ("SYN-SENT", "LISTEN"),
        ("SYN-SENT", "SYN-RECEIVED"),
        ("ESTABLISHED", "CLOSED"),
        ("ESTABLISHED", "SYN-RECEIVED"),
        ("ESTABLISHED", "ESTABLISHED"),
        ("FIN-WAIT-1", "CLOSED"),
        ("FIN-WAIT-1", "SYN-RECEIVED"),
        ("FIN-WAIT-1", "ESTABLISHED"),
        ("FIN-WAIT-1", "CLOSE-WAIT"),
        ("FIN-WAIT-1", "LAST-ACK"),
        ("FIN-WAIT-2", "CLOSED"),
        ("FIN-WAIT-2", "CLOSE-WAIT"),
        ("FIN-WAIT-2", "LAST-ACK"),
        ("TIME-WAIT", "CLOSED"),
        ("TIME-WAIT", "LAST-ACK"),
    }
    # CLOSING needs both FINs sent before either is acknowledged: not when B closes after A.
    assert not any("CLOSING" in pair for pair in pairs)


def _reference_graph(product: Product) -> tuple[list[PState], set[tuple[PState, Label, PState]]]:
    start = product.initial()
    seen = {start}
    order = [start]
    edges: set[tuple[PState, Label, PState]] = set()
    i = 0
    while i < len(order):
        s = order[i]
        i += 1
        for label, t in product.successors(s):
            edges.add((s, label, t))
            if t not in seen:
                seen.add(t)
                order.append(t)
    return order, edges


AGREEMENT = [
    "fifo, no loss",
    "unordered, loss 1",
    "default",
    "fifo, no loss, dup 1",
    "fifo, no loss, overflow drop",
    "simultaneous open",
    "close or abort at any moment",
    "B never closes",
]


@pytest.mark.parametrize("name", AGREEMENT)
def test_compact_explorer_agrees_with_the_reference_semantics(name: str) -> None:
    variant, config, *_ = PINNED[name]
    spec = load_spec(variant=variant)
    result = explore(spec, config)
    states, edges = _reference_graph(Product(spec, config))
    # Same states, discovered in the same breadth-first order ...
    assert [result.state(n) for n in range(result.states)] == states
    # ... and the same labelled transitions.
    compact = {
        (result.state(s), result.labels[lab], result.state(d))
        for s, d, lab in zip(result.src, result.dst, result.lbl, strict=True)
    }
    assert compact == edges
    assert result.transitions == len(edges)


def test_exploration_is_deterministic(spec: Spec) -> None:
    one = explore(spec, ProductConfig(capacity=3, ordering="fifo"))
    two = explore(load_spec(), ProductConfig(capacity=3, ordering="fifo"))
    assert one.nodes == two.nodes
    assert one.dst == two.dst and one.lbl == two.lbl and one.offsets == two.offsets
    assert [lab.text() for lab in one.labels] == [lab.text() for lab in two.labels]


def test_max_states_gives_an_incomplete_result(spec: Spec) -> None:
    result = explore(spec, ProductConfig(), max_states=500)
    assert not result.complete and result.limit == "max-states"
    assert result.states == 500
    assert all(d < result.states for d in result.dst)
    full = explore(spec, ProductConfig())
    # The states found are the first 500 of the full breadth-first order.
    assert result.nodes == full.nodes[: 4 * 500]


def test_max_seconds_gives_an_incomplete_result(spec: Spec) -> None:
    result = explore(load_spec(variant="linux"), ProductConfig(capacity=3), max_seconds=0.05)
    assert not result.complete and result.limit == "max-seconds"


def test_networkx_view_carries_states_and_labels(spec: Spec) -> None:
    result = explore(spec, ProductConfig(ordering="fifo", loss="none"))
    graph = result.to_networkx()
    assert graph.number_of_nodes() == result.states
    assert graph.nodes[0] == {
        "A": "CLOSED",
        "B": "CLOSED",
        "A->B": "",
        "B->A": "",
        "initial": True,
        "deadlock": False,
    }
    # Parallel transitions between two states are merged into one edge listing every label.
    edges = [d for _, _, d in graph.edges(data=True)]
    assert sum(d["transitions"] for d in edges) == result.transitions
    assert all(len(d["labels"].split("\n")) == d["transitions"] for d in edges)
    assert graph.graph == {"spec": "tcp", "variant": "base", "complete": True}
    first = graph.edges[0, 1]
    assert (first["actor"], first["event"], first["sent"]) == ("A", "active OPEN", "SYN")
    dead = [n for n, d in graph.nodes(data=True) if d["deadlock"]]
    assert dead == result.deadlocks


def test_the_networkx_view_is_refused_beyond_its_bound(spec: Spec) -> None:
    """A view of 4 kB per state is built only up to a bound, with a message saying so."""
    result = explore(spec, ProductConfig(ordering="fifo", loss="none"))
    with pytest.raises(UsageError, match=r"networkx view of 266 states .* at most 265"):
        result.to_networkx(max_states=265)
    assert result.to_networkx(max_states=None).number_of_nodes() == 266


def test_lossy_edges_name_the_lost_segment(spec: Spec) -> None:
    result = explore(spec, ProductConfig(loss="1", ordering="fifo"))
    graph = result.to_networkx()
    lost = {d["lost"] for _, _, d in graph.edges(data=True) if d["kind"] == "loss"}
    assert lost == {"SYN", "SYN+ACK", "ACK", "FIN+ACK", "RST", "RST+ACK"}


# ------------------------------------------------------------------ property tests ---

_DEFAULT = ProductConfig()
_SPEC = load_spec()
_EXPLORED: Exploration = explore(_SPEC, _DEFAULT)
_PRODUCT = Product(_SPEC, _DEFAULT)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60))
def test_random_action_sequences_are_paths_of_the_explored_graph(choices: list[int]) -> None:
    state = _PRODUCT.initial()
    node = _EXPLORED.node_of(state)
    assert node == 0
    for choice in choices:
        moves = _PRODUCT.successors(state)
        if not moves:
            assert node in _EXPLORED.deadlocks
            break
        label, nxt = moves[choice % len(moves)]
        target = _EXPLORED.node_of(nxt)
        assert target is not None, nxt.describe()
        assert (label, target) in _EXPLORED.edges_from(node)
        state, node = nxt, target


ENGINE_CASES: dict[str, tuple[str | None, ProductConfig]] = {
    **{name: (variant, config) for name, (variant, config, *_rest) in PINNED.items()},
    "blind RST+SYN, loss 1": (
        "linux",
        ProductConfig(attacker=1, attack_kinds=("RST", "SYN"), loss="1"),
    ),
    "blind 2, fifo, capacity 1, drop": (
        None,
        ProductConfig(attacker=2, ordering="fifo", overflow="drop", capacity=1),
    ),
    "exact 1, no loss": ("rfc5961", ProductConfig(attacker=1, attack_exact=True, loss="none")),
    "duplication 2, loss 1": (None, ProductConfig(loss="1", duplication="2")),
}


@pytest.mark.skipif(not compiled_available(), reason="the compiled search is not built here")
@pytest.mark.parametrize("name", sorted(ENGINE_CASES))
def test_the_compiled_search_is_the_python_search_edge_for_edge(name: str) -> None:
    """The compiled loop and its pure-Python twin give the same graph: the same nodes in
    the same order, the same edges with the same labels, the same deadlocks."""
    variant, config = ENGINE_CASES[name]
    spec = load_spec(variant=variant)
    fast = explore(spec, config, engine="compiled")
    slow = explore(spec, config, engine="python")
    assert fast.nodes == slow.nodes
    assert (fast.offsets, fast.dst, fast.lbl) == (slow.offsets, slow.dst, slow.lbl)
    assert [lab.text() for lab in fast.labels] == [lab.text() for lab in slow.labels]
    assert fast.summary() | {"seconds": 0} == slow.summary() | {"seconds": 0}
    assert (fast.deadlocks, fast.capacity_blocked) == (slow.deadlocks, slow.capacity_blocked)


@pytest.mark.skipif(not compiled_available(), reason="the compiled search is not built here")
@pytest.mark.parametrize("bound", [1, 2, 777, 2637])
def test_both_searches_stop_at_a_state_bound_alike(bound: int) -> None:
    """Cut at the same state, with the same partial columns and the same deadlocks."""
    spec = load_spec()
    fast = explore(spec, ProductConfig(loss="1"), max_states=bound, engine="compiled")
    slow = explore(spec, ProductConfig(loss="1"), max_states=bound, engine="python")
    assert fast.states == slow.states == bound and fast.limit == slow.limit == "max-states"
    assert (fast.nodes, fast.offsets, fast.dst, fast.lbl) == (
        slow.nodes,
        slow.offsets,
        slow.dst,
        slow.lbl,
    )
    assert fast.deadlocks == slow.deadlocks
