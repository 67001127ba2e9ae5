"""Rules of RFC 9293 checked one by one on the endpoint, each test citing the sentence it
holds the spec to (the product and the engines receive these steps unchanged)."""

from __future__ import annotations

from checker.model.endpoint import Local, receive, timer_steps, user_steps
from checker.model.load import load_spec
from checker.model.segments import ACK, Segment


def test_close_in_syn_received_keeps_the_timer_and_resends_the_front_of_the_queue() -> None:
    """§3.10.4, CLOSE in SYN-RECEIVED: "form a FIN segment and send it, and enter
    FIN-WAIT-1".  §3.10.8, RETRANSMISSION TIMEOUT: "send the segment at the front of the
    retransmission queue again" -- the SYN+ACK, still unacknowledged, ahead of the FIN.
    RFC 6298 §5.1: the timer is running for the SYN+ACK, so sending the FIN does not
    restart it: its retry count runs on.  (The spec resent both segments and counted
    from 0 again.)"""
    spec = load_spec()
    waiting = Local("SYN-RECEIVED", passive=True, una=0, retries=1, opened=True)
    (close,) = [s for s in user_steps(spec, waiting) if s.rule.event == "CLOSE"]
    assert close.target.state == "FIN-WAIT-1" and close.target.retries == 1
    assert [seg.describe() for seg in close.sent] == ["FIN+ACK seq=1 ack=1"]
    (timeout,) = timer_steps(spec, close.target)
    assert [seg.describe() for seg in timeout.sent] == ["SYN+ACK seq=0 ack=1"]
    assert timeout.target.retries == 2


def test_the_synack_at_the_front_is_abandoned_by_its_own_r2() -> None:
    """§3.8.3: R2 is counted for the segment being retransmitted -- here the SYN+ACK, a
    SYN segment (MUST-23), so SYNACK_RETRIES, not FIN_RETRIES, ends it."""
    spec = load_spec(params={"SYNACK_RETRIES": 3, "FIN_RETRIES": 1})
    closing = Local("FIN-WAIT-1", una=0, retries=2, opened=True, closed=True)
    (retx,) = timer_steps(spec, closing)
    assert retx.target.state == "FIN-WAIT-1" and retx.rule.send == ("SYN+ACK",)
    (give_up,) = timer_steps(spec, retx.target)
    assert give_up.target.state == "CLOSED" and "SYNACK_RETRIES" in str(give_up.rule.guard)


def test_an_ack_of_the_syn_puts_the_fin_at_the_front_with_a_fresh_timer() -> None:
    """RFC 6298 §5.3: "When an ACK is received that acknowledges new data, restart the
    retransmission timer" -- the FIN is now at the front, with retransmissions of its
    own to count."""
    spec = load_spec()
    closing = Local("FIN-WAIT-1", una=0, retries=2, opened=True, closed=True)
    acked = receive(spec, closing, Segment(ACK, 1, 1))
    assert acked is not None and acked.rule.restart
    assert (acked.target.state, acked.target.una, acked.target.retries) == ("FIN-WAIT-1", 1, 0)
    (timeout,) = timer_steps(spec, acked.target)
    assert [seg.describe() for seg in timeout.sent] == ["FIN+ACK seq=1 ack=1"]
    # A second ACK of the SYN acknowledges nothing new: the FIN's count runs on.
    again = receive(spec, acked.target._replace(retries=1), Segment(ACK, 1, 1))
    assert again is not None and not again.rule.restart and again.target.retries == 1
