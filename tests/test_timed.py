"""The timed layer's first part: paths of the untimed graph checked against real time."""

from __future__ import annotations

import z3
from scenario import Run

from checker.config import ProductConfig
from checker.explore import Exploration, explore
from checker.spec import Spec, load_spec
from checker.timed import check_path, eager_timers, path_condition


def edges_of(exploration: Exploration, run: Run) -> list[int]:
    """The edge indices of a scripted run in the explored graph."""
    out = []
    for before, label, after in run.path:
        node = exploration.node_of(before)
        target = exploration.node_of(after)
        assert node is not None and target is not None
        lo, hi = exploration.offsets[node], exploration.offsets[node + 1]
        (edge,) = [
            e
            for e in range(lo, hi)
            if exploration.labels[exploration.lbl[e]] == label and exploration.dst[e] == target
        ]
        out.append(edge)
    return out


def lost_final_ack(spec: Spec, time_wait_ends_first: bool) -> Run:
    """Textbook close; A's final ACK is lost; B retransmits its FIN after RTO.  With
    ``time_wait_ends_first`` A's TIME-WAIT ends before the retransmission arrives."""
    run = Run(spec, ProductConfig(ordering="fifo", loss="1"))
    run.do("A", "active OPEN").do("B", "passive OPEN").do("B", "rcv SYN")
    run.do("A", "rcv SYN+ACK").do("B", "rcv ACK of SYN")
    run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    run.do("B", "CLOSE").do("A", "rcv FIN").do("net", "lose", "ACK")
    if time_wait_ends_first:
        # B retransmits first (RTO after its FIN); the copy is slow, TIME-WAIT ends, and
        # the FIN meets a CLOSED endpoint, which answers with a RST.
        run.do("B", "timeout RETX").do("A", "timeout 2MSL").do("A", "rcv FIN")
    else:
        run.do("B", "timeout RETX").do("A", "rcv old FIN").do("B", "rcv ACK of FIN")
    return run


SPEC = eager_timers(load_spec())
GRAPH = explore(SPEC, ProductConfig(ordering="fifo", loss="1"))


def test_eager_timers_add_the_runs_a_short_time_wait_allows() -> None:
    assert GRAPH.states > explore(load_spec(), ProductConfig(ordering="fifo", loss="1")).states


def test_reacknowledged_fin_is_possible_in_real_time() -> None:
    edges = edges_of(GRAPH, lost_final_ack(SPEC, time_wait_ends_first=False))
    result = check_path(GRAPH, edges)
    assert result.result == "sat" and result.instants is not None
    assert list(result.instants) == sorted(result.instants)


def test_with_time_wait_of_2msl_the_retransmitted_fin_cannot_meet_closed() -> None:
    # B's retransmission leaves RTO after its FIN and arrives at most MSL later; A entered
    # TIME-WAIT after B's FIN was sent.  This path has a single retransmission, so it also
    # needs B's next one (3·RTO after its FIN) not to come first: take RTO = 100.
    edges = edges_of(GRAPH, lost_final_ack(SPEC, time_wait_ends_first=True))
    assert check_path(GRAPH, edges, {"RTO": 100}).result == "unsat"  # TIME_WAIT = 240
    # With TIME-WAIT as short as one MSL the same run is possible, and the instants say when.
    short = check_path(GRAPH, edges, {"RTO": 100, "TIME_WAIT": 120})
    assert short.result == "sat" and short.instants is not None
    assert check_path(GRAPH, edges, {"RTO": 100, "TIME_WAIT": 220}).result == "unsat"
    assert check_path(GRAPH, edges, {"RTO": 100, "TIME_WAIT": 219}).result == "sat"
    # With the spec's RTO of 1 s B retransmits again long before: this path cannot happen.
    assert check_path(GRAPH, edges, {"TIME_WAIT": 120}).result == "unsat"


def test_the_condition_for_this_rst_is_synthesized_exactly() -> None:
    edges = edges_of(GRAPH, lost_final_ack(SPEC, time_wait_ends_first=True))
    condition = path_condition(GRAPH, edges, ["TIME_WAIT", "MSL", "RTO"])
    tw, msl, rto = z3.Reals("TIME_WAIT MSL RTO")
    # The late copy arrives at most RTO + MSL after B's FIN, and before B's next
    # retransmission at 3·RTO; A's TIME-WAIT started strictly after B's FIN, at most MSL
    # after it, and B's retransmission (at RTO) comes before TIME-WAIT ends.
    expected = z3.And(tw < rto + msl, tw < 3 * rto, rto <= msl + tw)
    solver = z3.Solver()
    solver.add(tw > 0, msl > 0, rto > 0)
    solver.add(condition != expected)  # equivalent for positive parameters
    assert solver.check() == z3.unsat, condition


def test_timed_counterexample_chart_shows_the_instants() -> None:
    from checker.msc import render_text
    from checker.properties import trace_of

    edges = edges_of(GRAPH, lost_final_ack(SPEC, time_wait_ends_first=True))
    result = check_path(GRAPH, edges, {"RTO": 100, "TIME_WAIT": 120})
    assert result.instants is not None
    text = render_text(trace_of(GRAPH, edges), result.instants)
    rows = [line for line in text.splitlines() if line.startswith("t=")]
    assert len(rows) == len(edges) + 1
    times = [float(row.split()[0][2:]) for row in rows]
    assert times == sorted(times) and times[0] == 0
    assert "⏱ timeout 2MSL → CLOSED" in text and "RST" in text
    # The late FIN arrives after TIME-WAIT ended: 120 s after A entered it.
    entered = next(i for i, line in enumerate(rows) if "rcv FIN → TIME-WAIT" in line)
    ended = next(i for i, line in enumerate(rows) if "timeout 2MSL" in line)
    assert times[ended] - times[entered] == 120
