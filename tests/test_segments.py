"""The segment abstraction: classification per RFC 9293 §3.10.7 and RST replies (§3.5.2)."""

from __future__ import annotations

import pytest

from checker.model.segments import ACK, FIN, RST, SYN, Segment, build, classify, reply_rst

# (segment, receiver's sent, received, una) -> event
CASES = [
    # SYN-SENT (sent SYN, nothing received)
    (Segment(SYN | ACK, 0, 1), 1, 0, 0, "rcv SYN+ACK"),
    (Segment(SYN, 0), 1, 0, 0, "rcv SYN"),
    (Segment(ACK, 1, 1), 1, 0, 0, "rcv ACK of SYN"),
    (Segment(RST | ACK, 0, 1), 1, 0, 0, "rcv RST"),  # acknowledges our SYN
    (Segment(RST, 1), 1, 0, 0, "rcv bad RST"),  # no ACK: not acceptable
    # SYN-RECEIVED
    (Segment(ACK, 1, 1), 1, 1, 0, "rcv ACK of SYN"),
    (Segment(FIN | ACK, 1, 1), 1, 1, 0, "rcv FIN"),
    (Segment(RST, 1), 1, 1, 0, "rcv RST"),
    (Segment(RST | ACK, 0, 1), 1, 1, 0, "rcv bad RST"),  # seq 0 is left of the window
    # ESTABLISHED
    (Segment(ACK, 1, 1), 1, 1, 1, "rcv ACK"),
    (Segment(SYN | ACK, 0, 1), 1, 1, 1, "rcv SYN+ACK"),
    # FIN-WAIT-1
    (Segment(ACK, 1, 2), 2, 1, 1, "rcv ACK of FIN"),
    (Segment(FIN | ACK, 1, 1), 2, 1, 1, "rcv FIN"),
    (Segment(FIN | ACK, 1, 2), 2, 1, 1, "rcv FIN+ACK of FIN"),
    (Segment(ACK, 1, 1), 2, 1, 0, "rcv ACK of SYN"),  # closed from SYN-RECEIVED
    # CLOSE-WAIT / CLOSING / LAST-ACK / TIME-WAIT
    (Segment(FIN | ACK, 1, 1), 1, 2, 1, "rcv old FIN"),
    (Segment(FIN | ACK, 1, 2), 2, 2, 1, "rcv old FIN"),  # CLOSING: the FIN is old
    (Segment(ACK, 1, 2), 2, 2, 1, "rcv old ACK"),  # sent before the peer's FIN
    (Segment(ACK, 2, 2), 2, 2, 1, "rcv ACK of FIN"),
    (Segment(ACK, 2, 2), 2, 2, 2, "rcv ACK"),
    (Segment(RST, 2), 2, 2, 2, "rcv RST"),
    (Segment(RST, 1), 2, 2, 2, "rcv RST at FIN"),  # the peer's FIN's number
    (Segment(RST, 0), 2, 2, 2, "rcv bad RST"),
    # CLOSED / LISTEN
    (Segment(FIN | ACK, 1, 2), 0, 0, 0, "rcv FIN"),
    (Segment(ACK, 2, 2), 0, 0, 0, "rcv ACK"),
    (Segment(RST, 1), 0, 0, 0, "rcv RST"),
]


@pytest.mark.parametrize(("seg", "sent", "received", "una", "event"), CASES)
def test_classification(seg: Segment, sent: int, received: int, una: int, event: str) -> None:
    assert classify(seg, sent, received, una) == event


def test_ack_of_something_never_sent_is_an_unacceptable_ack() -> None:
    """RFC 9293 §3.10.7.4, fifth: "If the ACK acks something not yet sent (SEG.ACK >
    SND.NXT), then send an ACK, drop the segment, and return" -- an event of its own."""
    assert classify(Segment(ACK, 1, 2), sent=1, received=1, una=1) == "rcv bad ACK"


def test_rst_replies_follow_rfc9293_3_5_2() -> None:
    assert reply_rst(Segment(ACK, 2, 2)) == Segment(RST, 2)  # <SEQ=SEG.ACK><CTL=RST>
    assert reply_rst(Segment(SYN, 0)) == Segment(RST | ACK, 0, 1)  # <SEQ=0><ACK=SEG.SEQ+LEN>
    assert build("RST", snd_nxt=2, rcv_nxt=2, trigger=None) == Segment(RST, 2)  # ABORT


def test_codes_round_trip() -> None:
    for flags in range(16):
        for seq in range(3):
            for ack in range(3):
                seg = Segment(flags, seq, ack)
                assert Segment.from_code(seg.code) == seg
