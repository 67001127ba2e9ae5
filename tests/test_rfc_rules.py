"""Rules of RFC 9293 checked one by one on the endpoint, each test citing the sentence it
holds the spec to (the product and the engines receive these steps unchanged)."""

from __future__ import annotations

from checker.model.endpoint import Local, receive, receive_foreign, timer_steps, user_steps
from checker.model.load import load_spec
from checker.model.segments import ACK, AHEAD, BELOW, FIN, RST, SYN, Segment


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


# ---------------------------------------------------------------------------------------
# Every placement of another incarnation's segment follows §3.10.7 (receive_foreign tries
# each one; these tests hold the classifier and the rules to the RFC, placement by
# placement).


def _placed(state: str, seg: Segment, **local: int | bool) -> set[tuple[str, str, str]]:
    """(event, target state, what is sent) for every placement of ``seg`` in ``state``."""
    spec = load_spec()
    here = Local(state, opened=True, **local)  # type: ignore[arg-type]
    return {
        (st.rule.event, st.target.state, " ".join(s.describe() for s in st.sent))
        for st in receive_foreign(spec, here, seg)
    }


def test_syn_sent_resets_a_syn_ack_acknowledging_at_or_below_iss() -> None:
    """§3.10.7.3, first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the
    RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST> and discard
    the segment."  (The model established the connection on such a SYN+ACK.)"""
    spec = load_spec()
    step = receive(spec, Local("SYN-SENT", opened=True), Segment(SYN | ACK, 0, 0))
    assert step.rule.event == "rcv bad ACK" and step.target.state == "SYN-SENT"
    assert [s.describe() for s in step.sent] == ["RST seq=0"]
    placed = _placed("SYN-SENT", Segment(SYN | ACK, 0, 0))
    assert ("rcv SYN+ACK", "ESTABLISHED", "ACK seq=1 ack=1") in placed  # SEG.ACK = ISS+1
    assert {p for p in placed if p[1] != "ESTABLISHED"} == {
        ("rcv bad ACK", "SYN-SENT", "RST seq=0"),  # SEG.ACK = ISS
        ("rcv bad ACK", "SYN-SENT", "RST seq=2"),  # SEG.ACK > SND.NXT
        ("rcv bad ACK", "SYN-SENT", f"RST seq={AHEAD}"),
    }


def test_syn_sent_resets_a_fin_acknowledging_iss() -> None:
    """§3.10.7.3, first (the ACK bit is checked before anything else): a FIN+ACK with
    SEG.ACK = ISS draws <SEQ=SEG.ACK><CTL=RST>; with an acceptable ACK it falls to the
    fifth step, "if neither of the SYN or RST bits is set, then drop the segment".  (The
    model dropped it silently either way.)"""
    placed = _placed("SYN-SENT", Segment(FIN | ACK, 1, 2))
    assert ("rcv bad ACK", "SYN-SENT", "RST seq=0") in placed
    assert ("rcv FIN", "SYN-SENT", "") in placed


def test_an_ack_of_something_not_yet_sent_is_answered_in_every_state() -> None:
    """SEG.ACK > SND.NXT.  §3.10.7.3 (SYN-SENT): "send a reset <SEQ=SEG.ACK><CTL=RST>".
    §3.10.7.4, fifth (SYN-RECEIVED): "If the segment acknowledgment is not acceptable,
    form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it."  §3.10.7.4, fifth
    (ESTABLISHED and the states that do as it): "If the ACK acks something not yet sent
    (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and return."  (The model
    skipped every such placement.)"""
    spec = load_spec()
    ahead = Segment(ACK, 2, AHEAD)
    cases = {
        ("SYN-SENT", 0): f"RST seq={AHEAD}",
        ("SYN-RECEIVED", 0): f"RST seq={AHEAD}",
        ("ESTABLISHED", 1): "ACK seq=1 ack=1",
        ("FIN-WAIT-1", 1): "ACK seq=2 ack=1",
        ("FIN-WAIT-2", 2): "ACK seq=2 ack=1",
        ("CLOSE-WAIT", 1): "ACK seq=1 ack=2",
        ("CLOSING", 1): "ACK seq=2 ack=2",
        ("LAST-ACK", 1): "ACK seq=2 ack=2",
        ("TIME-WAIT", 2): "ACK seq=2 ack=2",
    }
    for (state, una), answer in cases.items():
        here = Local(state, passive=state == "SYN-RECEIVED", una=una, opened=True)
        step = receive(spec, here, ahead)
        assert step.rule.event == "rcv bad ACK", state
        assert step.target == here, state  # dropped: nothing changes
        assert [s.describe() for s in step.sent] == [answer], state
    # Within the abstraction's points too: an ACK of our FIN before it was sent.
    step = receive(spec, Local("ESTABLISHED", una=1, opened=True), Segment(FIN | ACK, 1, 2))
    assert step.rule.event == "rcv bad ACK" and step.target.state == "ESTABLISHED"


def test_a_passive_syn_received_returns_to_listen_on_a_syn_in_the_window() -> None:
    """§3.10.7.4, fourth, SYN-RECEIVED STATE: "If the connection was initiated with a
    passive OPEN, then return this connection to the LISTEN state and return.  Otherwise,
    handle per the directions for synchronized states below."  A SYN below RCV.NXT fails
    the first check and is answered with an ACK.  (The model answered ACK to both.)"""
    spec = load_spec()
    passive = Local("SYN-RECEIVED", passive=True, opened=True)
    step = receive(spec, passive, Segment(SYN, 1))
    assert (step.rule.event, step.target.state, step.sent) == ("rcv SYN in window", "LISTEN", ())
    old = receive(spec, passive, Segment(SYN, 0))
    assert old.target == passive and [s.describe() for s in old.sent] == ["ACK seq=1 ack=1"]
    active = receive(spec, Local("SYN-RECEIVED", opened=True), Segment(SYN, 1))
    assert active.target.state == "SYN-RECEIVED"
    assert [s.describe() for s in active.sent] == ["ACK seq=1 ack=1"]


def test_a_fin_below_rcv_nxt_is_acknowledged_and_dropped() -> None:
    """§3.10.7.4, first: a segment is acceptable if RCV.NXT =< SEG.SEQ+SEG.LEN-1 <
    RCV.NXT+RCV.WND; "If an incoming segment is not acceptable, an acknowledgment should
    be sent in reply ... <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> After sending the
    acknowledgment, drop the unacceptable segment and return."  (ESTABLISHED accepted a
    FIN at ISS and went to CLOSE-WAIT.)"""
    spec = load_spec()
    for state, una in (("ESTABLISHED", 1), ("FIN-WAIT-1", 1), ("FIN-WAIT-2", 2)):
        here = Local(state, una=una, opened=True)
        step = receive(spec, here, Segment(FIN | ACK, 0, 1))
        assert step.rule.event == "rcv old FIN" and step.target == here, state
        assert [s.describe() for s in step.sent] == [f"ACK seq={_snd_nxt(state)} ack=1"]
    placed = _placed("ESTABLISHED", Segment(FIN | ACK, 1, 1), una=1)
    assert ("rcv old FIN", "ESTABLISHED", "ACK seq=1 ack=1") in placed
    assert ("rcv FIN", "CLOSE-WAIT", "ACK seq=1 ack=2") in placed  # exactly at RCV.NXT
    # Beyond RCV.NXT the FIN waits for text that never comes: only its ACK counts.
    assert ("rcv ACK", "ESTABLISHED", "") in placed


def _snd_nxt(state: str) -> int:
    """SND.NXT of ``state``, relative (1: the SYN sent, 2: the FIN too)."""
    return 2 if state.startswith("FIN-WAIT") else 1


def test_the_ack_answering_an_old_syn_carries_rcv_nxt() -> None:
    """§3.10.7.4, first: the answer to an unacceptable segment is
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; fourth: the challenge ACK to a SYN is the same
    segment (RFC 5961 §4.2: "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>").  Neither takes its
    acknowledgment from the SYN.  (The model answered an in-window SYN with SEG.SEQ+1.)"""
    for state, una, answer in (
        ("ESTABLISHED", 1, "ACK seq=1 ack=1"),
        ("FIN-WAIT-2", 2, "ACK seq=2 ack=1"),
        ("TIME-WAIT", 2, "ACK seq=2 ack=2"),
    ):
        for seq in range(AHEAD + 1):
            spec = load_spec()
            step = receive(spec, Local(state, una=una, opened=True), Segment(SYN, seq))
            assert [s.describe() for s in step.sent] == [answer], (state, seq)


# ---------------------------------------------------------------------------------------
# Generations: where RFC 793, RFC 9293 and RFC 5961 differ (the rfc793 and rfc5961
# variants; base is RFC 9293).


def test_syn_received_takes_an_ack_of_its_iss_only_under_rfc793() -> None:
    """RFC 9293 §3.10.7.4, fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then
    enter ESTABLISHED state ... If the segment acknowledgment is not acceptable, form a
    reset segment <SEQ=SEG.ACK><CTL=RST>".  RFC 793 §3.9 wrote "SND.UNA =< SEG.ACK", so an
    ACK of our ISS -- acknowledging nothing -- completes the handshake."""
    waiting = Local("SYN-RECEIVED", passive=True, una=0, opened=True)
    ack_of_iss = Segment(ACK, 1, 0)
    base = receive(load_spec(), waiting, ack_of_iss)
    assert (base.rule.event, base.target.state) == ("rcv bad ACK", "SYN-RECEIVED")
    assert [s.describe() for s in base.sent] == ["RST seq=0"]
    old = receive(load_spec(variant="rfc793"), waiting, ack_of_iss)
    assert (old.rule.event, old.target.state, old.sent) == ("rcv ACK", "ESTABLISHED", ())
    assert old.target.una == 0  # our SYN is still unacknowledged
    # A FIN so acknowledging goes on to the FIN's processing: CLOSE-WAIT.
    fin = receive(load_spec(variant="rfc793"), waiting, Segment(FIN | ACK, 1, 0))
    assert fin.target.state == "CLOSE-WAIT"


def test_an_ack_too_old_for_the_window_is_challenged_only_under_rfc5961() -> None:
    """RFC 9293 §3.10.7.4, fifth (MAY-12): a stack implementing RFC 5961 §5 "MUST add an
    input check that the ACK value is acceptable only if it is in the range of ((SND.UNA
    - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming segments whose ACK value doesn't
    satisfy the above condition MUST be discarded and an ACK sent back."  Base ignores a
    duplicate ACK, however old ("If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be
    ignored"); only a blind sender's acknowledgment is that old (BELOW)."""
    est = Local("ESTABLISHED", una=1, opened=True)
    forged = Segment(ACK, AHEAD, BELOW)
    base = receive(load_spec(), est, forged)
    assert (base.rule.event, base.target.state, base.sent) == ("rcv ACK", "ESTABLISHED", ())
    for variant in ("rfc5961", "linux"):
        step = receive(load_spec(variant=variant), est, forged)
        assert (step.rule.event, step.target.state) == ("rcv bad ACK", "ESTABLISHED")
        assert [s.describe() for s in step.sent] == ["ACK seq=1 ack=1"]


def test_the_ack_field_is_checked_before_a_fin_is_taken_for_a_retransmission() -> None:
    """§3.10.7.4 checks the ACK field (fifth) before the FIN bit (eighth): in CLOSE-WAIT a
    FIN acknowledging something not yet sent draws an ACK and is dropped ("If the ACK
    acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment,
    and return"), not taken for the peer's retransmitted FIN."""
    spec = load_spec()
    waiting = Local("CLOSE-WAIT", una=1, opened=True)
    step = receive(spec, waiting, Segment(FIN | ACK, 2, AHEAD))
    assert (step.rule.event, step.target.state) == ("rcv bad ACK", "CLOSE-WAIT")
    again = receive(spec, waiting, Segment(FIN | ACK, 1, 1))
    assert again.rule.event == "rcv old FIN"


def test_text_after_the_peers_fin_is_ignored() -> None:
    """§3.10.7.4, seventh, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not
    occur since a FIN has been received from the remote side. Ignore the segment text."
    Only a segment of others can carry it; its acknowledgment is still processed (fifth:
    in LAST-ACK an ACK of our FIN ends the connection)."""
    spec = load_spec()
    for state in ("CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"):
        local = Local(state, una=1 if state == "CLOSE-WAIT" else 2, opened=True)
        st = receive(spec, local, Segment(ACK, 2, local.una, data=True))
        assert (st.rule.event, st.target.state, st.sent) == ("rcv DATA", state, ())
    last = Local("LAST-ACK", una=1, opened=True, closed=True)
    st = receive(spec, last, Segment(ACK, 2, 2, data=True))
    assert (st.rule.event, st.target.state) == ("rcv DATA+ACK of FIN", "CLOSED")


def test_a_rst_at_the_peers_fin_is_dropped_by_the_rfc_and_taken_by_linux() -> None:
    """§3.10.7.4, first: RCV.NXT - 1 -- the number the peer's FIN took -- is outside the
    window, and "If the RST bit is set and the sequence number is outside the current
    receive window, silently drop the segment".  Linux's tcp_validate_incoming resets
    on it all the same in CLOSE-WAIT, LAST-ACK and CLOSING (tcp_reset_check), not in
    TIME-WAIT; a RST further below stays unacceptable everywhere."""
    at_fin = Segment(RST, 1)
    for state, una in (("CLOSE-WAIT", 1), ("CLOSING", 1), ("LAST-ACK", 1), ("TIME-WAIT", 2)):
        local = Local(state, una=una, opened=True, closed=state != "CLOSE-WAIT")
        base = receive(load_spec(), local, at_fin)
        assert (base.rule.event, base.target.state) == ("rcv RST at FIN", state)
        linux = receive(load_spec(variant="linux"), local, at_fin)
        want = state if state == "TIME-WAIT" else "CLOSED"
        assert (linux.rule.event, linux.target.state) == ("rcv RST at FIN", want)
        below = receive(load_spec(variant="linux"), local, Segment(RST, 0))
        assert (below.rule.event, below.target.state) == ("rcv bad RST", state)


def test_a_linux_listener_answers_a_retransmitted_syn_with_its_syn_ack() -> None:
    """RFC 9293 §3.10.7.4 (first): an old SYN in SYN-RECEIVED is not acceptable and is
    answered with an ACK.  A Linux listener's request (tcp_check_req) takes a SYN at the
    peer's ISS for a retransmission and resends its SYN+ACK, without counting it toward
    tcp_synack_retries; a simultaneous open's full socket answers with an ACK."""
    retransmitted = Segment(SYN, 0)
    request = Local("SYN-RECEIVED", passive=True, una=0, retries=2, opened=True)
    base = receive(load_spec(), request, retransmitted)
    assert [s.name for s in base.sent] == ["ACK"]
    linux = receive(load_spec(variant="linux"), request, retransmitted)
    assert [s.describe() for s in linux.sent] == ["SYN+ACK seq=0 ack=1"]
    assert (linux.target.state, linux.target.retries) == ("SYN-RECEIVED", 2)
    full = Local("SYN-RECEIVED", passive=False, una=0, opened=True)
    assert [s.name for s in receive(load_spec(variant="linux"), full, retransmitted).sent] == [
        "ACK"
    ]
