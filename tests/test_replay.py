"""Checking counterexamples found by someone else (SPIN's trails), and SPIN's path claims
against tcpcheck's path search on patterns it was never written for."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.check.formula import parse_formula
from checker.check.liveness import lasso_violates
from checker.check.outcome import Outcome
from checker.check.properties import Property, load_properties, premise_and_goal
from checker.check.traces import Trace
from checker.check.untimed import check_property
from checker.export.spin import spin_verdict
from checker.model.load import load_spec
from checker.product.config import ProductConfig
from checker.product.exploration import Exploration
from checker.product.explore import explore

LIVENESS = [p for p in load_properties(spec=load_spec()) if p.kind in ("eventually", "leads-to")]


def edges_of(ex: Exploration, trace: Trace) -> list[int]:
    """The edge indices of ``trace`` in ``ex`` (each step is one edge)."""
    node, out = 0, []
    for step in trace.steps:
        (edge,) = [
            e
            for e in range(ex.offsets[node], ex.offsets[node + 1])
            if ex.labels[ex.lbl[e]] == step.label and ex.state(ex.dst[e]) == step.state
        ]
        out.append(edge)
        node = ex.dst[edge]
    return out


#: Every liveness property with a counterexample, on the variants that have one.
VIOLATED = [
    (p, v)
    for p in LIVENESS
    for v in (None, "linux", "no-time-wait", "rfc1337", "short-time-wait")
    if p.expected_for(v) == Outcome.VIOLATED
]


@pytest.mark.parametrize(("prop", "variant"), VIOLATED, ids=[f"{p.name}-{v}" for p, v in VIOLATED])
def test_the_lasso_checker_accepts_tcpchecks_own_counterexamples(
    prop: Property, variant: str | None
) -> None:
    """An independent check of tcpcheck's liveness counterexamples (the one SPIN's
    trails go through): every lasso or stopping run tcpcheck reports is fair and avoids
    the goal after the premise; cut short or judged without fairness, it is not."""
    known = {p.name for p in load_spec(variant=variant).parameters}
    spec = load_spec(variant=variant, params={k: v for k, v in prop.params.items() if k in known})
    ex = explore(spec, prop.product_config())
    verdict = check_property(prop, ex, variant)
    assert verdict.verdict == Outcome.VIOLATED and verdict.trace is not None
    edges = edges_of(ex, verdict.trace)
    p, q = premise_and_goal(prop)
    fair = prop.fairness
    loop, stops = verdict.trace.loop, verdict.trace.stops
    assert lasso_violates(ex, edges, p, q, fair, loop=loop, stops=stops) is None
    # The same run with the goal already reached is no counterexample.
    assert lasso_violates(ex, edges, p, parse_formula("true"), fair, loop=loop, stops=stops)
    if loop is not None and loop + 1 < len(edges):
        # A cycle without its last move does not return to its start.
        why = lasso_violates(ex, edges[:-1], p, q, fair, loop=loop)
        assert why is not None and "does not return" in why


def test_an_unfair_cycle_is_caught() -> None:
    """A run where B listens and the network loses every SYN A retransmits: a
    counterexample to "both eventually closed" unless delivery is strongly fair."""
    prop = next(p for p in LIVENESS if p.name == "both-eventually-closed")
    known = {p.name for p in load_spec().parameters}
    spec = load_spec(params={k: v for k, v in prop.params.items() if k in known})
    ex = explore(spec, ProductConfig())
    node, edges = 0, []
    walk = [
        "A: active OPEN",
        "B: passive OPEN",
        "net: lose SYN",
        "A: timeout RETX",
        "net: lose SYN",
    ]
    for wanted in walk:
        found = [
            e
            for e in range(ex.offsets[node], ex.offsets[node + 1])
            if ex.labels[ex.lbl[e]].text().startswith(wanted)
        ]
        assert found, (
            wanted,
            [ex.labels[ex.lbl[e]].text() for e in range(ex.offsets[node], ex.offsets[node + 1])],
        )
        edges.append(found[0])
        node = ex.dst[found[0]]
    p, q = premise_and_goal(prop)
    weak = ("fair-apps", "timers")
    assert lasso_violates(ex, edges, p, q, weak, loop=3) is None
    why = lasso_violates(ex, edges, p, q, (*weak, "fair-lossy"), loop=3)
    assert why is not None and "strong" in why and "SYN" in why and "never taken" in why


def test_a_cycle_that_drops_a_segment_forever_is_unfair() -> None:
    """The run that once refuted "both eventually closed" with ``overflow = drop``: B's
    SYN+ACK is lost, and on the cycle its retransmission meets a full channel and is
    dropped, never delivered.  Fair loss ("sent infinitely often => delivered infinitely
    often") rejects the lasso; without fair loss it is a counterexample."""
    prop = next(p for p in LIVENESS if p.name == "both-eventually-closed")
    known = {p.name for p in load_spec().parameters}
    spec = load_spec(params={k: v for k, v in prop.params.items() if k in known})
    ex = explore(spec, ProductConfig(overflow="drop"))
    prefix = [
        "A: active OPEN / snd SYN",
        "B: passive OPEN",
        "B: rcv SYN / snd SYN+ACK",
        "net: lose SYN+ACK B->A",
    ]
    retx, rcv, ack = "A: timeout RETX / snd SYN", "B: rcv SYN / snd ACK", "A: rcv ACK of SYN"
    cycle = [retx, rcv, ack, retx, rcv, ack, retx, retx, rcv, rcv]
    cycle += ["B: timeout RETX / snd SYN+ACK (channel full: SYN+ACK dropped)", ack, ack]
    node, edges = 0, []
    for wanted in prefix + cycle:
        (edge,) = [
            e
            for e in range(ex.offsets[node], ex.offsets[node + 1])
            if ex.labels[ex.lbl[e]].text() == wanted
        ]
        edges.append(edge)
        node = ex.dst[edge]
    p, q = premise_and_goal(prop)
    fair = ("fair-lossy", "fair-apps", "timers")
    why = lasso_violates(ex, edges, p, q, fair, loop=len(prefix))
    assert why is not None and "SYN+ACK" in why and "never taken" in why
    assert lasso_violates(ex, edges, p, q, fair[1:], loop=len(prefix)) is None


SMALL = ProductConfig(ordering="fifo", loss="none", capacity=1)
SPEC = load_spec()
SMALL_EX = explore(SPEC, SMALL)
STATES = sorted({s.a.state for s in SMALL_EX.decoded()} | {s.b.state for s in SMALL_EX.decoded()})


@pytest.mark.spin
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    side=st.sampled_from(["A", "B"]),
    pattern=st.lists(st.sampled_from([*STATES, "*"]), min_size=1, max_size=5),
)
def test_spin_path_claims_agree_on_any_pattern(side: str, pattern: list[str]) -> None:
    """SPIN's deterministic path claim and tcpcheck's path search agree on patterns
    drawn at random -- repeated states, stars anywhere, unreachable states."""
    base = next(p for p in load_properties(spec=SPEC) if p.kind == "path")
    prop = dataclasses.replace(base, formula=f"{side}: {', '.join(pattern)}", config={})
    ours = check_property(prop, SMALL_EX, None).verdict
    theirs, _run = spin_verdict(prop, SPEC, SMALL)
    assert theirs == ours
