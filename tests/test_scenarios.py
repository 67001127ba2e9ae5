"""Scripted protocol runs: each asserts the exact state sequence of both endpoints."""

from __future__ import annotations

import pytest
from scenario import Run

from checker.model.load import load_spec
from checker.model.segments import Segment
from checker.model.spec import Spec
from checker.product.config import AppConfig, ProductConfig

TEXTBOOK_A = [
    "CLOSED",
    "SYN-SENT",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "CLOSED",
]
TEXTBOOK_B = ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]


def handshake(run: Run) -> Run:
    return (
        run.do("A", "active OPEN")
        .do("B", "passive OPEN")
        .do("B", "rcv SYN")
        .do("A", "rcv SYN+ACK")
        .do("B", "rcv ACK of SYN")
    )


def test_textbook_open_and_close(spec: Spec) -> None:
    run = handshake(Run(spec, ProductConfig()))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    run.do("B", "CLOSE").do("A", "rcv FIN").do("B", "rcv ACK of FIN").do("A", "timeout 2MSL")
    assert run.states("A") == TEXTBOOK_A
    assert run.states("B") == TEXTBOOK_B
    assert [label.text() for _, label, _ in run.path] == [
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
    assert run.moves() == []  # both CLOSED, applications done: the run is over


def test_segment_numbers_of_the_textbook_close_match_rfc9293_figure_12(spec: Spec) -> None:
    # Figure 12: A's FIN <SEQ=100><ACK=300>, B's ACK <ACK=101>, B's FIN <SEQ=300><ACK=101>,
    # A's ACK <SEQ=101><ACK=301>; relative to the ISSs 99 and 299 that is 1/1, 1/2, 1/2, 2/2.
    run = handshake(Run(spec, ProductConfig()))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    run.do("B", "CLOSE").do("A", "rcv FIN")
    sent = [label.sent[0].describe() for _, label, _ in run.path[5:] if label.sent]
    assert sent == [
        "FIN+ACK seq=1 ack=1",
        "ACK seq=1 ack=2",
        "FIN+ACK seq=1 ack=2",
        "ACK seq=2 ack=2",
    ]


def test_simultaneous_close_goes_through_closing_on_both_sides(spec: Spec) -> None:
    config = ProductConfig(b=AppConfig("passive", "first"))
    run = handshake(Run(spec, config))
    run.do("A", "CLOSE").do("B", "CLOSE")
    run.do("A", "rcv FIN").do("B", "rcv FIN")
    run.do("A", "rcv ACK of FIN").do("B", "rcv ACK of FIN")
    run.do("A", "timeout 2MSL").do("B", "timeout 2MSL")
    closing = ["ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
    assert run.states("A")[2:] == closing
    assert run.states("B")[3:] == closing


def test_fin_wait_1_goes_straight_to_time_wait_on_a_fin_that_acknowledges_our_fin(
    spec: Spec,
) -> None:
    run = handshake(Run(spec, ProductConfig()))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("net", "lose", "ACK")
    run.do("B", "CLOSE").do("A", "rcv FIN+ACK of FIN").do("B", "rcv ACK of FIN")
    run.do("A", "timeout 2MSL")
    assert run.states("A") == [
        "CLOSED",
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "TIME-WAIT",
        "CLOSED",
    ]
    assert run.states("B") == TEXTBOOK_B
    assert 21 in run.figure5_arrows()


def test_lost_final_ack_is_reacknowledged_from_time_wait(spec: Spec) -> None:
    run = handshake(Run(spec, ProductConfig()))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    run.do("B", "CLOSE").do("A", "rcv FIN").do("net", "lose", "ACK")
    # B still has a retransmission pending: TIME-WAIT may not end yet.
    assert not run.can("A", "timeout 2MSL")
    run.do("B", "timeout RETX")
    run.do("A", "rcv old FIN")
    restarted = run.path[-1][1]
    assert restarted.sent[0].describe() == "ACK seq=2 ack=2"
    assert spec.transitions[restarted.rule or 0].restart
    run.do("B", "rcv ACK of FIN").do("A", "timeout 2MSL")
    assert run.states("A") == TEXTBOOK_A
    assert run.states("B") == TEXTBOOK_B


def test_lost_final_ack_without_time_wait_meets_a_closed_endpoint_and_a_rst() -> None:
    spec = load_spec(variant="no-time-wait")
    run = handshake(Run(spec, ProductConfig()))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    run.do("B", "CLOSE").do("A", "rcv FIN").do("net", "lose", "ACK")
    run.do("B", "timeout RETX").do("A", "rcv FIN")
    rst = run.path[-1][1].sent[0]
    assert rst.describe() == "RST seq=2"  # <SEQ=SEG.ACK><CTL=RST>, RFC 9293 §3.10.7.1
    run.do("B", "rcv RST")
    assert run.states("A")[-2:] == ["FIN-WAIT-2", "CLOSED"]
    assert run.states("B")[-2:] == ["LAST-ACK", "CLOSED"]


def test_segment_reaching_a_closed_endpoint_is_answered_with_rst(spec: Spec) -> None:
    run = Run(spec, ProductConfig())
    run.do("A", "active OPEN").do("B", "rcv SYN")  # B has not opened yet: it is CLOSED
    assert run.path[-1][1].sent[0].describe() == "RST+ACK seq=0 ack=1"
    run.do("A", "rcv RST")  # acceptable in SYN-SENT: it acknowledges our SYN
    assert run.states("A") == ["CLOSED", "SYN-SENT", "CLOSED"]
    assert run.states("B") == ["CLOSED"]


def test_ack_reaching_listen_is_answered_with_rst_carrying_its_ack_number(spec: Spec) -> None:
    run = handshake(Run(spec, ProductConfig(b=AppConfig("passive", "after-peer", abort=True))))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("B", "ABORT")
    run.do("A", "rcv RST")
    assert run.states("A")[-2:] == ["FIN-WAIT-1", "CLOSED"]


def test_simultaneous_open_goes_through_syn_received_on_both_sides(spec: Spec) -> None:
    config = ProductConfig(b=AppConfig("active", "after-peer"))
    run = Run(spec, config)
    run.do("A", "active OPEN").do("B", "active OPEN")
    run.do("A", "rcv SYN").do("B", "rcv SYN")
    # Each SYN+ACK repeats an old SYN: strict sequence checking answers it with an ACK
    # (RFC 9293 §3.10.7.4 first check), and that ACK completes the handshake.
    run.do("A", "rcv SYN+ACK").do("B", "rcv SYN+ACK")
    run.do("A", "rcv ACK of SYN").do("B", "rcv ACK of SYN")
    assert run.states("A") == ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]
    assert run.states("B") == ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]


def test_old_ack_overtaken_by_the_fin_is_not_acceptable(spec: Spec) -> None:
    # Unordered channel: B's ACK of A's FIN is overtaken by B's own FIN.
    run = handshake(Run(spec, ProductConfig()))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("B", "CLOSE")
    run.do("A", "rcv FIN+ACK of FIN", "FIN+ACK")
    run.do("A", "rcv old ACK")
    assert run.path[-1][1].sent[0].describe() == "ACK seq=2 ack=2"
    assert run.state.a.state == "TIME-WAIT"


def test_syn_retransmissions_are_bounded_and_then_connect_fails(spec: Spec) -> None:
    run = Run(spec, ProductConfig())
    run.do("A", "active OPEN")
    for _ in range(int(spec.values["SYN_RETRIES"])):
        run.do("net", "lose", "SYN").do("A", "timeout RETX")
    run.do("net", "lose", "SYN").do("A", "timeout RETX")
    assert run.states("A") == ["CLOSED", "SYN-SENT", "CLOSED"]
    assert run.state.a.retries == 0


def test_linux_orphaned_fin_wait_2_leaves_after_fin_timeout() -> None:
    spec = load_spec(variant="linux")
    config = ProductConfig(b=AppConfig("passive", "never"))
    run = handshake(Run(spec, config))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    run.do("A", "timeout FIN-WAIT-2")
    assert run.states("A")[-3:] == ["FIN-WAIT-1", "FIN-WAIT-2", "CLOSED"]
    assert run.state.b.state == "CLOSE-WAIT"


def test_rfc_fin_wait_2_has_no_timer(spec: Spec) -> None:
    config = ProductConfig(b=AppConfig("passive", "never"))
    run = handshake(Run(spec, config))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    assert run.moves() == []  # A in FIN-WAIT-2 and B in CLOSE-WAIT wait forever


def test_rfc1337_ignores_rst_in_time_wait() -> None:
    for variant, after in ((None, "CLOSED"), ("rfc1337", "TIME-WAIT")):
        spec = load_spec(variant=variant)
        config = ProductConfig(b=AppConfig("passive", "after-peer", abort=True))
        run = handshake(Run(spec, config))
        run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
        run.do("B", "CLOSE").do("A", "rcv FIN").do("B", "rcv ACK of FIN")
        # An old duplicate draws a RST from the closed peer: TIME-WAIT assassination.
        assert run.state.a.state == "TIME-WAIT"
        run.state = type(run.state)(
            run.state.a,
            run.state.b,
            run.state.ab,
            (_seg("RST seq=2"),),
            run.state.lost,
            run.state.dups,
        )
        run.do("A", "rcv RST")
        assert run.state.a.state == after, variant


def _seg(text: str) -> Segment:
    from checker.model.segments import ACK, FIN, RST, SYN

    flags = {"SYN": SYN, "ACK": ACK, "FIN": FIN, "RST": RST}
    name, *fields = text.split()
    values = dict(f.split("=") for f in fields)
    bits = 0
    for part in name.split("+"):
        bits |= flags[part]
    return Segment(bits, int(values["seq"]), int(values.get("ack", 0)))


# --------------------------------------------------------- every Figure 5 arrow -------


def _arrow_runs() -> dict[int, Run]:
    spec = load_spec()
    runs: dict[int, Run] = {}
    base = ProductConfig()

    runs[1] = Run(spec, base).do("B", "passive OPEN")
    runs[2] = (
        Run(spec, ProductConfig(b=AppConfig("passive", "any")))
        .do("B", "passive OPEN")
        .do("B", "CLOSE")
    )
    runs[3] = Run(spec, base).do("A", "active OPEN")
    runs[4] = (
        Run(spec, ProductConfig(a=AppConfig("active", "any")))
        .do("A", "active OPEN")
        .do("A", "CLOSE")
    )
    runs[5] = Run(spec, base).do("B", "passive OPEN").do("A", "active OPEN").do("B", "rcv SYN")
    runs[6] = (
        Run(spec, ProductConfig(b=AppConfig("passive", "after-peer", listen_send=True)))
        .do("B", "passive OPEN")
        .do("B", "SEND")
    )
    runs[7] = (
        Run(spec, ProductConfig(a=AppConfig("active", "first", abort=True)))
        .do("A", "active OPEN")
        .do("B", "passive OPEN")
        .do("B", "rcv SYN")
        .do("A", "rcv SYN+ACK")
        .do("net", "lose", "ACK")
        .do("A", "ABORT")
        .do("B", "rcv RST")
    )
    runs[8] = (
        Run(spec, ProductConfig(b=AppConfig("active", "after-peer")))
        .do("A", "active OPEN")
        .do("B", "active OPEN")
        .do("A", "rcv SYN")
    )
    runs[9] = handshake(Run(spec, base))
    runs[10] = handshake(Run(spec, base))
    runs[11] = (
        Run(spec, ProductConfig(b=AppConfig("passive", "any")))
        .do("A", "active OPEN")
        .do("B", "passive OPEN")
        .do("B", "rcv SYN")
        .do("B", "CLOSE")
    )
    textbook = (
        handshake(Run(spec, base)).do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    )
    textbook.do("B", "CLOSE").do("A", "rcv FIN").do("B", "rcv ACK of FIN").do("A", "timeout 2MSL")
    for arrow in (12, 13, 14, 16, 17, 19, 20):
        runs[arrow] = textbook
    both = handshake(Run(spec, ProductConfig(b=AppConfig("passive", "first"))))
    both.do("A", "CLOSE").do("B", "CLOSE").do("A", "rcv FIN").do("B", "rcv FIN")
    both.do("A", "rcv ACK of FIN")
    runs[15] = runs[18] = both
    note2 = handshake(Run(spec, base)).do("A", "CLOSE").do("B", "rcv FIN").do("net", "lose", "ACK")
    runs[21] = note2.do("B", "CLOSE").do("A", "rcv FIN+ACK of FIN")
    return runs


ARROW_RUNS = _arrow_runs()


@pytest.mark.parametrize("arrow", sorted(ARROW_RUNS))
def test_every_figure_5_arrow_is_taken_by_a_scripted_run(arrow: int) -> None:
    assert arrow in ARROW_RUNS[arrow].figure5_arrows()


def test_the_scripts_cover_every_figure_5_arrow_of_the_spec(spec: Spec) -> None:
    declared = {t.figure5 for t in spec.transitions if t.figure5 is not None}
    assert declared == set(range(1, 22))
    assert set(ARROW_RUNS) == declared


def test_short_time_wait_can_end_while_the_peer_still_retransmits_its_fin() -> None:
    spec = load_spec(variant="short-time-wait")
    run = handshake(Run(spec, ProductConfig()))
    run.do("A", "CLOSE").do("B", "rcv FIN").do("A", "rcv ACK of FIN")
    run.do("B", "CLOSE").do("A", "rcv FIN").do("net", "lose", "ACK")
    run.do("A", "timeout 2MSL")  # allowed at once: the timer is too short to wait for B
    run.do("B", "timeout RETX").do("A", "rcv FIN")
    assert run.path[-1][1].sent[0].describe() == "RST seq=2"
    run.do("B", "rcv RST")
    assert run.states("A")[-2:] == ["TIME-WAIT", "CLOSED"]
    assert run.states("B")[-2:] == ["LAST-ACK", "CLOSED"]


def test_a_full_channel_drops_what_is_sent_into_it_when_asked_to(spec: Spec) -> None:
    config = ProductConfig(capacity=1, ordering="fifo", loss="none", overflow="drop")
    run = Run(spec, config).do("A", "active OPEN").do("A", "timeout RETX")
    label = run.path[-1][1]
    assert label.text() == "A: timeout RETX / snd SYN (channel full: SYN dropped)"
    assert [s.describe() for s in run.state.ab] == ["SYN seq=0"]
    blocking = Run(spec, ProductConfig(capacity=1, ordering="fifo", loss="none"))
    assert not blocking.do("A", "active OPEN").can("A", "timeout RETX")
