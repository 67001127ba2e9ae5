"""Timed properties in real time: the headline TIME-WAIT claim on both sides of its boundary.

Hand arithmetic for ``last-ack-not-stuck`` (start: A in FIN-WAIT-2, B in CLOSE-WAIT, the
only loss A's final ACK, FIN_RETRIES = 6): B sends its FIN at t_b, A receives it at
t_a > t_b and starts TIME-WAIT.  B's first retransmission leaves at t_b + RTO and arrives
by t_b + RTO + MSL; A must still be in TIME-WAIT then, so TIME_WAIT >= RTO + MSL (equality
is safe because t_a > t_b).  The re-ACK returns by t_b + RTO + 2 MSL, and B gives up at
t_b + 127 RTO: so 2 MSL < 126 RTO (at equality B's timer may fire first).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.check.outcome import Outcome
from checker.check.properties import load_properties
from checker.check.verdicts import Verdict
from checker.cli import cli
from checker.errors import UsageError
from checker.model.load import load_spec
from checker.render.text_chart import render_text
from checker.suite import run_suite
from checker.timed.checks import check_timed

HEADLINE = [p for p in load_properties(spec=load_spec()) if p.name == "last-ack-not-stuck"]


def headline(**params: float) -> Verdict:
    return run_suite(HEADLINE, variants=[None], params=dict(params))[0]


@pytest.mark.parametrize(
    ("params", "verdict"),
    [
        ({"MSL": 30, "RTO": 1, "TIME_WAIT": 60}, Outcome.HOLDS),
        ({"MSL": 30, "RTO": 1, "TIME_WAIT": 10}, Outcome.VIOLATED),
        ({"MSL": 30, "RTO": 45, "TIME_WAIT": 60}, Outcome.VIOLATED),  # retransmission too late
        ({"MSL": 30, "RTO": 1, "TIME_WAIT": 31}, Outcome.HOLDS),  # TIME_WAIT = RTO + MSL
        ({"MSL": 30, "RTO": 1, "TIME_WAIT": 30.9}, Outcome.VIOLATED),
        ({"MSL": 30, "RTO": 30, "TIME_WAIT": 60}, Outcome.HOLDS),  # 2 MSL suffices: RTO <= MSL
        ({"MSL": 30, "RTO": 30.5, "TIME_WAIT": 60}, Outcome.VIOLATED),
        ({"MSL": 62.9, "RTO": 1, "TIME_WAIT": 1000}, Outcome.HOLDS),
        ({"MSL": 63, "RTO": 1, "TIME_WAIT": 1000}, Outcome.VIOLATED),  # 2 MSL = 126 RTO: B gives up
    ],
)
def test_headline_on_both_sides_of_the_boundary(params: dict[str, float], verdict: Outcome) -> None:
    assert headline(**params).verdict == verdict


def test_headline_counterexample_is_pinned() -> None:
    v = headline(MSL=30, RTO=45, TIME_WAIT=60)
    assert v.trace is not None and v.trace.times is not None
    steps = [
        (str(t), s.label.text()) for t, s in zip(v.trace.times[1:], v.trace.steps, strict=True)
    ]
    assert steps == [
        ("0", "B: CLOSE / snd FIN+ACK"),
        ("1", "A: rcv FIN / snd ACK"),
        ("1", "net: lose ACK A->B"),
        ("45", "B: timeout RETX / snd FIN+ACK"),
        ("61", "A: timeout 2MSL"),
        ("61", "A: rcv FIN / snd RST"),
        ("62", "B: rcv RST"),
    ]
    assert v.message.startswith("at t=62 B: rcv RST")
    chart = render_text(v.trace)
    assert "t=61" in chart and "timeout 2MSL → CLOSED" in chart
    assert v.trace.to_json()["steps"][-1]["time"] == 62


def test_slow_ack_needs_no_loss() -> None:
    # TIME_WAIT = 10: A's final ACK is merely slow (it is still in flight at the end);
    # A has left TIME-WAIT when the retransmitted FIN arrives.
    v = headline(MSL=30, RTO=1, TIME_WAIT=10)
    assert v.trace is not None and v.trace.times is not None
    assert v.trace.steps[-1].label.text() == "B: rcv RST"
    assert not any(s.label.kind == "loss" for s in v.trace.steps)
    assert v.trace.times[-1] == Fraction(102, 10)


def test_bundled_values_give_up_before_a_re_ack_returns() -> None:
    # MSL = 120: a re-ACK may need RTO + 2 MSL = 241 s; B gives up at 127 s.
    v = headline()
    assert v.trace is not None
    assert v.trace.steps[-1].label.text() == "B: timeout RETX"
    assert v.message.startswith("at t=127 ")


def test_too_small_a_channel_is_unknown_not_holds() -> None:
    prop = HEADLINE[0]
    small = type(prop)(**{**prop.__dict__, "config": {**prop.config, "capacity": 2}})
    v = run_suite([small], variants=[None], params={"MSL": 30, "TIME_WAIT": 60})[0]
    assert v.verdict == Outcome.UNKNOWN
    # The property sets the capacity: it is kept, and the state that needed room named.
    room = "in A=FIN-WAIT-2 B=LAST-ACK A->B=[-] B->A=[FIN+ACK FIN+ACK], a send needs room"
    assert v.needs_room == f"{room} (capacity 2)"
    assert v.needs_room in v.message


def test_a_capacity_the_property_leaves_open_is_derived_in_real_time() -> None:
    """Without a capacity in its config the timed check raises it until no send needs
    room: the headline with MSL = 30 holds, decided at capacity 6 (five re-ACKs of the
    retransmitted FIN in flight at once needed a sixth place)."""
    prop = HEADLINE[0]
    config = {k: v for k, v in prop.config.items() if k != "capacity"}
    open_ = type(prop)(**{**prop.__dict__, "config": config})
    v = run_suite([open_], variants=[None], params={"MSL": 30, "TIME_WAIT": 60})[0]
    assert v.verdict == Outcome.HOLDS and v.config is not None and v.config.capacity == 6
    assert v.notes[0].startswith("channel capacity raised from 2 to 6: in A=TIME-WAIT")


# ------------------------------------------------------------- old duplicates ---

OLD = [p for p in load_properties(spec=load_spec()) if p.name == "no-old-duplicates"]


def old_duplicates(variant: str | None, **params: float) -> Verdict:
    return run_suite(OLD, variants=[variant], params=dict(params))[0]


@pytest.mark.parametrize(
    ("time_wait", "verdict"),
    [
        (60, Outcome.HOLDS),
        (600, Outcome.HOLDS),
        (59.9, Outcome.VIOLATED),
        (40, Outcome.VIOLATED),
        (10, Outcome.VIOLATED),
    ],
)
def test_old_duplicates_need_two_msl_with_rfc1337(time_wait: float, verdict: Outcome) -> None:
    """MSL = 30: A's last re-ACK leaves when TIME-WAIT last restarts; it may reach B's new
    listener MSL later and draw a RST that lives another MSL -- 2 MSL in all, and A's new
    incarnation needs a positive time to reach ESTABLISHED, so equality is safe."""
    v = old_duplicates("rfc1337", MSL=30, RTO=1, TIME_WAIT=time_wait)
    assert v.verdict == verdict


def test_old_duplicate_counterexample_is_pinned() -> None:
    v = old_duplicates("rfc1337", MSL=30, RTO=1, TIME_WAIT=59.9)
    assert v.trace is not None and v.trace.times is not None
    steps = [
        (str(t), s.label.text()) for t, s in zip(v.trace.times[1:], v.trace.steps, strict=True)
    ]
    assert steps == [
        ("0", "B: CLOSE / snd FIN+ACK"),
        ("1/100", "A: rcv FIN / snd ACK"),
        ("1", "B: timeout RETX / snd FIN+ACK"),
        ("1", "B: rcv ACK of FIN"),
        ("101/100", "A: rcv old FIN / snd ACK"),  # TIME-WAIT restarts at 1.01
        ("101/100", "B: passive OPEN"),
        ("3093/100", "B: rcv ACK / snd RST"),  # the old re-ACK meets the new listener
        ("6091/100", "A: timeout 2MSL"),  # 1.01 + 59.9
        ("6091/100", "A: active OPEN / snd SYN"),
        ("1523/25", "B: rcv SYN / snd SYN+ACK"),
        ("6093/100", "A: rcv SYN+ACK / snd ACK"),
        ("6093/100", "A: rcv RST"),  # the RST of the old incarnation kills the new one
    ]


def test_time_wait_assassination_defeats_any_time_wait() -> None:
    """RFC 9293 §3.10.7.4: a RST in TIME-WAIT closes it.  B, having given up, listens
    again; A's old ACK draws a RST that ends A's TIME-WAIT (RFC 1337's hazard H1); A's new
    incarnation is then open to the old segments still in flight."""
    v = old_duplicates(None, MSL=30, RTO=1, TIME_WAIT=600)
    assert v.verdict == Outcome.VIOLATED
    assert v.trace is not None
    texts = [s.label.text() for s in v.trace.steps]
    at = texts.index("A: rcv RST")
    assert v.trace.steps[at - 1].state.a.state == "TIME-WAIT"
    assert v.trace.steps[at].state.a.state == "CLOSED"
    assert "A: active OPEN / snd SYN" in texts[at:]


def test_a_segment_of_another_incarnation_may_fall_anywhere() -> None:
    """An old FIN reaching a new ESTABLISHED connection is taken for the peer's FIN
    (CLOSE-WAIT) when its numbers fall at RCV.NXT -- the hazard TIME-WAIT guards against;
    below RCV.NXT it is answered with an ACK, beyond it it waits (only its ACK counts),
    and acknowledging more than was sent it is answered with an ACK (RFC 9293 §3.10.7.4,
    first and fifth).  An old ACK reaching SYN-RECEIVED may be taken for the ACK of its
    SYN; below RCV.NXT it is answered with an ACK, acknowledging anything but the SYN
    with a RST <SEQ=SEG.ACK> -- events no segment of one incarnation causes there, which
    the spec has rules for so that reuse is modelled in full."""
    from checker.model.endpoint import Local, receive, receive_foreign
    from checker.model.segments import ACK, FIN, Segment

    spec = load_spec()
    est = Local("ESTABLISHED", una=1, opened=True)
    old_fin = Segment(FIN | ACK, 1, 2)
    placed = [(st.rule.event, st.target.state) for st in receive_foreign(spec, est, old_fin)]
    assert placed == [
        ("rcv old FIN", "ESTABLISHED"),
        ("rcv FIN", "CLOSE-WAIT"),
        ("rcv bad ACK", "ESTABLISHED"),
        ("rcv ACK", "ESTABLISHED"),
    ]
    assert receive(spec, est, old_fin).rule.event == "rcv bad ACK"  # our FIN: never sent
    syn_rcvd = Local("SYN-RECEIVED", passive=True, opened=True)
    steps = receive_foreign(spec, syn_rcvd, Segment(ACK, 2, 2))
    assert [(st.rule.event, st.target.state, [x.describe() for x in st.sent]) for st in steps] == [
        ("rcv old ACK", "SYN-RECEIVED", ["ACK seq=1 ack=1"]),
        ("rcv bad ACK", "SYN-RECEIVED", ["RST seq=0"]),
        ("rcv ACK of SYN", "ESTABLISHED", []),
        ("rcv bad ACK", "SYN-RECEIVED", ["RST seq=2"]),
        ("rcv bad ACK", "SYN-RECEIVED", ["RST seq=3"]),
    ]


def test_z3_limits_give_unknown_or_an_untimed_counterexample() -> None:
    """Running out of solver resources never turns into 'holds'."""
    from click.testing import CliRunner

    from checker.cli import cli

    runner = CliRunner()
    synth = [
        "--z3-rlimit", "1", "synth", "last-ack-not-stuck", "--param", "FIN_RETRIES=2",
        "--param", "MSL=2", "--param", "RTO=1", "--free", "TIME_WAIT",
    ]  # fmt: skip
    got = runner.invoke(cli, synth)
    assert got.exit_code == 3, got.output
    assert "Z3 could not decide" in got.output and "rlimit 1" in got.output
    # The zone graph proves the violation; only the instants are missing.
    got = runner.invoke(cli, ["--z3-rlimit", "1", "check", "--property", "last-ack-not-stuck",
                              "--variant", "base", "--json"])  # fmt: skip
    import json

    (verdict,) = json.loads(got.output)["properties"]
    assert verdict["verdict"] == "violated" and "no instants" in verdict["message"]
    got = runner.invoke(cli, ["--z3-timeout", "-1", "check"])
    assert got.exit_code == 2 and "at least 0" in got.output
    # The next command is back to the defaults.
    got = runner.invoke(cli, ["check", "--property", "last-ack-not-stuck", "--variant", "base"])
    assert got.exit_code == 0 and "t=127" in got.output


# ------------------------------------------------------------------ loss budgets ---


@pytest.mark.parametrize("losses", [0, 1, 2, 3])
def test_required_time_wait_grows_with_the_loss_budget(losses: int) -> None:
    """At most k segments lost, any of them: A must still be in TIME-WAIT when B's k-th
    retransmission arrives -- sent (2^k - 1) RTO after B's FIN, at most MSL in flight:
    TIME_WAIT >= (2^k - 1) * RTO + MSL (equality is safe: A entered TIME-WAIT after a
    positive delay).  With no loss at all a slow ACK still needs TIME_WAIT >= MSL."""
    import dataclasses

    prop = dataclasses.replace(
        HEADLINE[0], config={**HEADLINE[0].config, "loss": str(losses)}, lose=None
    )
    required = (2**losses - 1) * 1 + 30
    for tw, verdict in ((required, Outcome.HOLDS), (required - 0.1, Outcome.VIOLATED)):
        params = {"MSL": 30, "RTO": 1, "TIME_WAIT": tw}
        assert run_suite([prop], variants=[None], params=params)[0].verdict == verdict, tw


def test_synth_tabulates_loss_budgets() -> None:
    import json

    from click.testing import CliRunner

    from checker.cli import cli

    args = [
        "synth", "last-ack-not-stuck", "--param", "MSL=2", "--param", "RTO=1",
        "--param", "FIN_RETRIES=2", "--free", "TIME_WAIT", "--losses", "0", "--json",
    ]  # fmt: skip
    got = CliRunner().invoke(cli, args)
    assert got.exit_code == 0, got.output
    (row,) = json.loads(got.output)
    assert (row["losses"], row["constraint"], row["status"]) == (0, "TIME_WAIT >= 2", "exact")
    got = CliRunner().invoke(cli, [*args[:-3], "--losses", "one"])
    assert got.exit_code == 2 and "--losses expects counts" in got.output


def test_a_rule_that_keeps_the_timer_keeps_its_retry_count() -> None:
    """FIN-WAIT-1 -> CLOSING on the peer's FIN: our FIN is still unacknowledged, its
    retransmission timer and backoff run on (RFC 6298 §5.3)."""
    from checker.model.endpoint import Local, receive
    from checker.model.segments import ACK, FIN, Segment

    spec = load_spec()
    fin_wait_1 = Local("FIN-WAIT-1", passive=False, una=1, retries=1, opened=True, closed=True)
    st = receive(spec, fin_wait_1, Segment(FIN | ACK, 1, 1))
    assert st is not None and st.rule.keeps_timer
    assert (st.target.state, st.target.retries) == ("CLOSING", 1)


@pytest.mark.parametrize(
    ("variant", "cause"),
    [
        (None, "at t=127 B: timeout RETX: B gave up after 6 retransmissions (FIN_RETRIES = 6)"),
        (
            "linux",
            "at t=60.02 B: rcv RST: a RST from A, which had closed by timeout FIN-WAIT-2 at "
            "t=60 (from FIN-WAIT-2)",
        ),
        (
            "no-time-wait",
            "at t=1.2 B: rcv RST: a RST from A, which had closed by rcv FIN at t=1 "
            "(from FIN-WAIT-2)",
        ),
    ],
)
def test_the_headline_names_how_b_left_last_ack(variant: str | None, cause: str) -> None:
    """With the bundled values the headline fails for a reason other than TIME-WAIT on
    base (B gives up first); the verdict says which: a give-up, or a RST and how the peer
    came to send it."""
    prop = next(p for p in load_properties() if p.name == "last-ack-not-stuck")
    spec = load_spec(variant=variant, params=dict(prop.params))
    verdict = check_timed(prop, spec, variant)
    assert verdict.verdict == Outcome.VIOLATED
    assert verdict.message.split(" -- ")[0] == cause


def test_the_textbook_reading_holds_with_realistic_delays() -> None:
    """MSL is what TIME-WAIT guards against; DELAY_MAX bounds the delays of the run
    checked.  With the bundled values and every delay up to MSL, B gives up before a
    re-ACK can return; with delays up to 1 s the lost final ACK is recovered: TIME-WAIT =
    2*MSL does what the textbook says."""
    prop = next(p for p in load_properties() if p.name == "last-ack-not-stuck")
    worst = load_spec(params=dict(prop.params))
    real = load_spec(params={**prop.params, "DELAY_MAX": 1})
    assert worst.values["DELAY_MAX"] == worst.values["MSL"] == 120
    assert check_timed(prop, worst, None).verdict == Outcome.VIOLATED
    verdict = check_timed(prop, real, None)
    assert verdict.verdict == Outcome.HOLDS, verdict.message
    assert "DELAY_MAX=1" in verdict.assumptions[1] and "MSL=120" in verdict.assumptions[1]


def test_delay_max_cannot_exceed_msl() -> None:
    prop = next(p for p in load_properties() if p.name == "last-ack-not-stuck")
    spec = load_spec(params={**prop.params, "MSL": 2, "DELAY_MAX": 3})
    with pytest.raises(UsageError, match=r"DELAY_MAX \(3\) exceeds MSL \(2\)"):
        check_timed(prop, spec, None)


@pytest.mark.parametrize(
    ("variant", "time_wait", "first"),
    [("base", 60, "t=0.2 "), ("rst-time-wait", 60, "t=60.1 "), ("rst-time-wait", 89.9, "t=90 ")],
)
def test_note_3_holds_the_aborted_connection_for_its_time_wait(
    variant: str, time_wait: float, first: str
) -> None:
    """RFC 9293 Note 3 / §3.5.2 (the rst-time-wait variant): the side that aborts waits
    TIME_WAIT before it can open the same connection again.  On base A reopens at once
    and its RST answering B's late FIN kills B's new connection at t=0.2; with the wait
    the first such run comes only after it.  It still comes: B's FIN, sent up to MSL
    after the abort (before A's RST reaches it), arrives up to 2*MSL after it and the RST
    answering it lives another MSL -- 2*MSL (60) is not enough, nor is 89.9 (MSL = 30)."""
    data = Path(__file__).parent / "data" / "abort_reuse.toml"
    args = ["check", "--properties", str(data), "--param", f"TIME_WAIT={time_wait}"]
    if variant != "base":
        args += ["--variant", variant]
    got = CliRunner().invoke(cli, args)
    assert got.exit_code == 0, got.output
    verdict = f"no-old-duplicates-after-abort on {variant}: violated (counterexample) — at "
    assert verdict + first in got.output
