"""Message sequence charts as Mermaid text and as SVG drawn by Graphviz."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from checker.check.properties import load_properties
from checker.check.traces import Trace, TraceStep, trace_of
from checker.model.load import load_spec
from checker.model.spec import Spec
from checker.product.config import ProductConfig
from checker.product.exploration import Exploration
from checker.product.explore import explore
from checker.render.mermaid_chart import (
    DELIVERED,
    DROPPED,
    IN_FLIGHT,
    LOST,
    flights,
    render_mermaid,
)
from checker.render.svg_chart import chart_dot, chart_svg
from checker.render.text_chart import render_text
from checker.suite import run_suite

PROPS = {p.name: p for p in load_properties(spec=load_spec())}

HANDSHAKE_AND_CLOSE = [
    "A: active OPEN / snd SYN",
    "B: passive OPEN",
    "B: rcv SYN / snd SYN+ACK",
    "A: rcv SYN+ACK / snd ACK",
    "B: rcv ACK of SYN",
    "A: CLOSE / snd FIN+ACK",
    "B: rcv FIN / snd ACK",
    "A: rcv ACK of FIN",
    "B: CLOSE / snd FIN+ACK",
    "A: rcv FIN / snd ACK",
    "B: rcv ACK of FIN",
    "A: timeout 2MSL",
]


def walk(ex: Exploration, moves: list[str]) -> Trace:
    """The trace taking the moves with these texts (``Label.text()``), from the start."""
    node, edges = 0, []
    for text in moves:
        lo, hi = ex.offsets[node], ex.offsets[node + 1]
        edge = next(e for e in range(lo, hi) if ex.labels[ex.lbl[e]].text() == text)
        edges.append(edge)
        node = ex.dst[edge]
    return trace_of(ex, edges)


@pytest.fixture(scope="module")
def textbook(spec: Spec) -> Trace:
    return walk(explore(spec, ProductConfig(loss="none", ordering="fifo")), HANDSHAKE_AND_CLOSE)


@pytest.fixture(scope="module")
def timed_loss() -> Trace:
    """A's last ACK is lost and B's retransmission comes too late (MSL 30, RTO 45)."""
    params = {"MSL": 30.0, "RTO": 45.0, "TIME_WAIT": 60.0}
    (v,) = run_suite([PROPS["last-ack-not-stuck"]], variants=[None], params=params)
    assert v.trace is not None and v.trace.times is not None
    return v.trace


@pytest.fixture(scope="module")
def old_duplicate() -> Trace:
    """An ACK from before B gave up reaches B's next incarnation."""
    (v,) = run_suite([PROPS["no-old-duplicates"]], variants=[None])
    assert v.trace is not None
    return v.trace


@pytest.fixture(scope="module")
def lasso() -> Trace:
    (v,) = run_suite(
        [PROPS["both-eventually-closed"]], variants=[None], fairness_off=["fair-lossy"]
    )
    assert v.trace is not None and v.trace.loop is not None
    return v.trace


@pytest.fixture(scope="module")
def duplicated(spec: Spec) -> Trace:
    ex = explore(spec, ProductConfig(loss="none", ordering="fifo", duplication="1"))
    return walk(
        ex,
        [
            "A: active OPEN / snd SYN",
            "net: duplicate SYN A->B",
            "B: passive OPEN",
            "B: rcv SYN / snd SYN+ACK",
            "B: rcv SYN / snd ACK",
        ],
    )


@pytest.fixture(scope="module")
def overflowed(spec: Spec) -> Trace:
    ex = explore(spec, ProductConfig(loss="none", ordering="fifo", capacity=1, overflow="drop"))
    return walk(
        ex,
        ["A: active OPEN / snd SYN", "A: timeout RETX / snd SYN (channel full: SYN dropped)"],
    )


# ----------------------------------------------------------------- pairing ---


@pytest.mark.parametrize(
    "name", ["textbook", "timed_loss", "old_duplicate", "lasso", "duplicated", "overflowed"]
)
def test_every_copy_is_paired_with_where_it_ended(
    name: str, request: pytest.FixtureRequest
) -> None:
    trace: Trace = request.getfixturevalue(name)
    every = flights(trace)
    for f in every:
        if f.fate in (DELIVERED, LOST):
            assert f.end is not None and f.sent < f.end
        elif f.fate == DROPPED:
            assert f.sent == f.end
    # What is still flying at the end is what the last state's channels hold.
    end = trace.steps[-1].state
    flying = Counter((f.channel, f.segment) for f in every if f.fate == IN_FLIGHT)
    assert flying == Counter([("A->B", s) for s in end.ab] + [("B->A", s) for s in end.ba])


def test_a_segment_from_an_earlier_incarnation_keeps_its_send(old_duplicate: Trace) -> None:
    # B reads A's old ACK with its new connection's numbers; the arrow still starts at
    # the step where A sent it, before B gave up.
    late = [f for f in flights(old_duplicate) if f.fate == DELIVERED and f.sender == "A"]
    gave_up = next(
        row
        for row, s in enumerate(old_duplicate.steps, start=1)
        if s.label.actor == "B" and s.state.b.state == "CLOSED"
    )
    assert any(f.segment.name == "ACK" and f.sent < gave_up < f.end for f in late if f.end)


# ----------------------------------------------------------------- Mermaid ---


def test_mermaid_of_the_textbook_handshake_and_close(textbook: Trace) -> None:
    """Arrows are drawn where their segment is sent and numbered; a receipt names the
    arrow it takes (a FIN received after other moves is no longer drawn after them)."""
    assert render_mermaid(textbook) == (
        "sequenceDiagram\n"
        "    autonumber\n"
        "    participant A\n"
        "    participant B\n"
        "    Note over A,B: CLOSED / CLOSED\n"
        "    Note over A: active OPEN → SYN-SENT\n"
        "    A->>B: SYN\n"
        "    Note over B: passive OPEN → LISTEN\n"
        "    Note over B: rcv SYN (1) → SYN-RECEIVED\n"
        "    B->>A: SYN+ACK\n"
        "    Note over A: rcv SYN+ACK (2) → ESTABLISHED\n"
        "    A->>B: ACK\n"
        "    Note over B: rcv ACK of SYN (3) → ESTABLISHED\n"
        "    Note over A: CLOSE → FIN-WAIT-1\n"
        "    A->>B: FIN+ACK\n"
        "    Note over B: rcv FIN (4) → CLOSE-WAIT\n"
        "    B->>A: ACK\n"
        "    Note over A: rcv ACK of FIN (5) → FIN-WAIT-2\n"
        "    Note over B: CLOSE → LAST-ACK\n"
        "    B->>A: FIN+ACK\n"
        "    Note over A: rcv FIN (6) → TIME-WAIT\n"
        "    A->>B: ACK\n"
        "    Note over B: rcv ACK of FIN (7) → CLOSED\n"
        "    Note over A: timeout 2MSL → CLOSED\n"
    )


def test_mermaid_draws_a_lost_segment_where_it_leaves() -> None:
    """A lost ACK leaves A when A sends it, before A moves on: it was once drawn at the
    step of its loss, after A was already CLOSED."""
    (v,) = run_suite([PROPS["graceful-close"]], variants=["no-time-wait"])
    assert v.trace is not None
    lines = render_mermaid(v.trace).splitlines()
    lost = lines.index("    A-xB: ACK (lost)")
    assert lines[lost - 1] == "    Note over A: rcv FIN (6) → CLOSED"
    assert "⏱" not in "\n".join(lines)  # a glyph many fonts lack


def test_mermaid_draws_each_segment_once(textbook: Trace) -> None:
    text = render_mermaid(textbook)
    sent = sum(len(s.label.sent) for s in textbook.steps)
    assert text.count("->>") == sent == 7


def test_mermaid_timed_run_with_a_lost_segment(timed_loss: Trace) -> None:
    text = render_mermaid(timed_loss)
    lines = text.splitlines()
    assert "    A-xB: t=1 ACK (lost t=1)" in lines
    assert "    B->>A: t=45 FIN+ACK (arrives t=61)" in lines
    assert "    Note over A: t=61 timeout 2MSL → CLOSED" in lines
    # Every arrow and note carries its instant.
    for line in lines[4:]:
        assert line.split(": ", 1)[1].startswith("t="), line


def test_mermaid_with_instants_given(textbook: Trace) -> None:
    instants = [0.5 * i for i in range(len(textbook.steps) + 1)]
    text = render_mermaid(textbook, instants)
    assert "    A->>B: t=0.5 SYN (arrives t=1.5)\n" in text
    assert "    Note over A: t=6 timeout 2MSL → CLOSED\n" in text
    with pytest.raises(ValueError, match="one instant per step"):
        render_mermaid(textbook, instants[1:])


def test_mermaid_lasso_in_flight_and_duplicates(
    lasso: Trace, duplicated: Trace, overflowed: Trace
) -> None:
    text = render_mermaid(lasso)
    assert "    Note over A,B: the cycle starts here and repeats forever\n" in text
    assert "    A-xB: SYN (lost)\n" in text
    assert "    A-->>B: SYN (still in flight at the end)\n" in text
    assert text.endswith(f"    Note over A,B: back to the state after step {lasso.loop}\n")
    dup = render_mermaid(duplicated)
    assert "    Note over A,B: the network duplicates SYN from A\n" in dup
    assert "    A->>B: SYN (duplicate)\n" in dup
    assert "    A-xB: SYN (dropped, channel full)\n" in render_mermaid(overflowed)


def test_mermaid_run_that_stops_forever() -> None:
    (v,) = run_suite([PROPS["fin-wait-2-leads-to-closed"]], variants=[None])
    assert v.trace is not None and v.trace.stops
    assert render_mermaid(v.trace).endswith("    Note over A,B: and stays here forever\n")


def test_mermaid_escapes_what_it_would_misread(textbook: Trace) -> None:
    first = textbook.steps[0]
    odd = dataclasses.replace(first.label, event="OPEN; #1: <now>")
    trace = Trace(textbook.initial, (TraceStep(odd, first.state),))
    assert "    Note over A: OPEN#59; #35;1#58; #60;now#62; → SYN-SENT\n" in render_mermaid(trace)


def test_mermaid_is_deterministic(timed_loss: Trace, textbook: Trace) -> None:
    for trace in (timed_loss, textbook):
        assert render_mermaid(trace) == render_mermaid(trace)
    given = [float(t) for t in timed_loss.times or ()]
    assert render_mermaid(timed_loss, given) == render_mermaid(timed_loss)


# --------------------------------------------------------------------- SVG ---


def svg_words(svg: str) -> set[str]:
    """The text of every ``<text>`` element of an SVG (which must parse as XML)."""
    root = ET.fromstring(svg)
    return {(el.text or "").strip() for el in root.iter() if el.tag.endswith("text") and el.text}


def states_of(trace: Trace) -> set[str]:
    states = [trace.initial, *(s.state for s in trace.steps)]
    return {p.a.state for p in states} | {p.b.state for p in states}


@pytest.mark.parametrize("name", ["textbook", "timed_loss", "lasso", "old_duplicate"])
def test_svg_names_lifelines_and_every_state(name: str, request: pytest.FixtureRequest) -> None:
    trace: Trace = request.getfixturevalue(name)
    words = svg_words(chart_svg(trace, title=name))
    assert {"A", "B", name} <= words
    assert states_of(trace) <= words


def test_svg_of_a_timed_run_with_a_loss(timed_loss: Trace) -> None:
    svg = chart_svg(timed_loss)
    words = svg_words(svg)
    assert "lost" in words
    assert {"t=0", "t=1", "t=45", "t=61", "t=62"} <= words
    assert "◷ timeout RETX" in words
    assert "Generated by graphviz" not in svg


def test_svg_with_instants_given(textbook: Trace) -> None:
    instants = [0.5 * i for i in range(len(textbook.steps) + 1)]
    assert {"t=0", "t=1.5", "t=6"} <= svg_words(chart_svg(textbook, instants))
    with pytest.raises(ValueError, match="one instant per step"):
        chart_dot(textbook, instants[1:])


def test_svg_marks_the_cycle_and_what_is_still_in_flight(lasso: Trace) -> None:
    words = svg_words(chart_svg(lasso))
    assert "the cycle starts here and repeats forever" in words
    assert f"back to the state after step {lasso.loop}" in words
    assert "SYN (in flight)" in words


def test_svg_duplicates_and_drops(duplicated: Trace, overflowed: Trace) -> None:
    assert "SYN (duplicate)" in svg_words(chart_svg(duplicated))
    assert "dropped, channel full" in svg_words(chart_svg(overflowed))


def test_svg_is_deterministic(timed_loss: Trace, textbook: Trace) -> None:
    for trace in (timed_loss, textbook):
        assert chart_svg(trace, title="t") == chart_svg(trace, title="t")


def test_dot_pins_every_node(textbook: Trace) -> None:
    dot = chart_dot(textbook)
    nodes = [line for line in dot.splitlines() if re.match(r"  n\d+ \[", line)]
    assert nodes and all('pos="' in line and '!"' in line for line in nodes)
    assert dot == chart_dot(textbook)


def test_chart_golden(timed_loss: Trace, golden: object) -> None:
    """The DOT of one timed counterexample chart and its Mermaid text, pinned (pytest
    --update-golden after an intended change)."""
    title = "last-ack-not-stuck (MSL=30, RTO=45, TIME_WAIT=60)"
    golden("charts/last-ack-not-stuck-timed.dot", chart_dot(timed_loss, title=title))  # type: ignore[operator]
    golden("charts/last-ack-not-stuck-timed.mmd", render_mermaid(timed_loss))  # type: ignore[operator]


@pytest.mark.parametrize("side", ["A", "B"])
def test_the_text_chart_marks_a_segment_a_full_channel_dropped(side: str) -> None:
    """With overflow drop, what does not fit is drawn ending in a cross, like a loss."""
    config = ProductConfig(overflow="drop", capacity=1, loss="none", ordering="fifo")
    ex = explore(load_spec(), config)
    parents: dict[int, tuple[int, int]] = {0: (-1, -1)}
    queue = [0]
    found: list[int] | None = None
    for node in queue:  # breadth-first: the first dropping move on the shortest run
        for e in range(ex.offsets[node], ex.offsets[node + 1]):
            label = ex.labels[ex.lbl[e]]
            if label.dropped and label.actor == side:
                found = [e]
                back = node
                while back != 0:
                    back, edge = parents[back]
                    found.append(edge)
                break
            if ex.dst[e] not in parents:
                parents[ex.dst[e]] = (node, e)
                queue.append(ex.dst[e])
        if found is not None:
            break
    assert found is not None
    chart = render_text(trace_of(ex, found[::-1]))
    last = chart.splitlines()[-2]
    dropped = ex.labels[ex.lbl[found[0]]].dropped[0].name
    assert "✕ dropped: full" in chart or "full: dropped ✕" in chart
    assert dropped in last and ("✕" in last), chart
