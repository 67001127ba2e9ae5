"""Duration bounds (`tcpcheck bound`) against hand arithmetic and Linux's documentation."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from checker.cli import cli
from checker.model.load import load_spec
from checker.product.config import ProductConfig
from checker.timed.bound import duration_bound


def test_syn_sent_is_131_seconds_with_six_retries_and_linear_timeouts() -> None:
    # ip-sysctl.rst (Linux 6.5 on), tcp_syn_retries: with tcp_syn_linear_timeouts = 4 the
    # default 6 gives retransmissions at 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s and the final
    # timeout "after 131 seconds" (tcp_write_timeout: 10 retransmissions, and the budget
    # tcp_model_timeout computes as if doubling from the start, 127 s, is spent by then).
    b = duration_bound(load_spec(variant="linux"), "A", "SYN-SENT")
    assert (b.status, b.value, b.attained) == ("bounded", Fraction(131), True)
    # RTO is not an unknown here: the SYN's timer is capped at tcp_rto_max (a min()).
    assert b.formula == "131"
    assert b.trace is not None and b.trace.times is not None
    assert [int(t) for t in b.trace.times] == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67, 131]
    assert b.trace.steps[-1].state.a.state == "CLOSED"


@pytest.mark.parametrize(
    ("syn_retries", "retransmissions", "etimedout"),
    # Measured on Linux 6.18 (ETIMEDOUT 0.06 s and 0.5 s later: timer-wheel slack).
    [(1, 2, 3), (2, 5, 7), (3, 7, 19), (6, 10, 131)],
)
def test_the_syn_schedule_follows_the_sysctls(
    syn_retries: int, retransmissions: int, etimedout: int
) -> None:
    spec = load_spec(variant="linux", params={"TCP_SYN_RETRIES": syn_retries})
    assert spec.values["SYN_RETRIES"] == retransmissions
    b = duration_bound(spec, "A", "SYN-SENT")
    assert b.value == etimedout
    # Without linear timeouts Linux doubles from the start: the RFC's schedule.
    plain = load_spec(
        variant="linux", params={"TCP_SYN_RETRIES": syn_retries, "SYN_LINEAR_TIMEOUTS": 0}
    )
    assert plain.values["SYN_RETRIES"] == syn_retries
    assert duration_bound(plain, "A", "SYN-SENT").value == 2 ** (syn_retries + 1) - 1


def test_syn_received_is_63_seconds_with_five_retries() -> None:
    # ip-sysctl.rst, tcp_synack_retries: the default 5 "corresponds to 31 seconds till the
    # last retransmission ... the final timeout for a passive TCP connection will happen
    # after 63 seconds."
    b = duration_bound(load_spec(variant="linux"), "B", "SYN-RECEIVED")
    assert (b.status, b.value, b.formula) == ("bounded", Fraction(63), "63")


@settings(max_examples=12, deadline=None)
@given(retries=st.integers(0, 6), rto=st.sampled_from([0.2, 0.5, 1.0, 3.0]))
def test_syn_sent_is_the_backoff_sum(retries: int, rto: float) -> None:
    """RTO + 2 RTO + ... + 2^retries RTO = (2^(retries+1) - 1) * RTO."""
    spec = load_spec(params={"SYN_RETRIES": retries, "RTO": rto})
    b = duration_bound(spec, "A", "SYN-SENT", free=())
    assert b.value == (2 ** (retries + 1) - 1) * Fraction(str(rto))


def test_last_ack_with_the_peer_gone() -> None:
    b = duration_bound(load_spec(params={"FIN_RETRIES": 6}), "B", "LAST-ACK")
    assert (b.value, b.formula) == (Fraction(127), "127*RTO")
    # Linux: an orphaned LAST-ACK retransmits until the budget of tcp_orphan_retries
    # (0: 8), 511 * 200 ms from its first RTO retransmission, is spent: with a LAN's RTO
    # of 204 ms, 9 retransmissions, the first a tail loss probe after one RTO, and the
    # end at 204 ms * (1 + 1 + 2 + ... + 256) = 512 * 204 ms.
    b = duration_bound(load_spec(variant="linux"), "B", "LAST-ACK")
    assert (b.value, b.formula) == (Fraction("104.448"), "104.448")


def test_orphaned_fin_wait_2_in_linux_and_time_wait() -> None:
    b = duration_bound(load_spec(variant="linux"), "A", "FIN-WAIT-2")
    assert (b.status, b.value, b.formula) == ("bounded", Fraction(60), "FIN_TIMEOUT")
    b = duration_bound(load_spec(), "A", "TIME-WAIT")
    assert (b.value, b.formula) == (Fraction(240), "TIME_WAIT")


def test_fin_wait_2_is_unbounded_in_the_rfc() -> None:
    """No timer runs in FIN-WAIT-2 (RFC 9293): a peer that never closes keeps it there."""
    b = duration_bound(load_spec(), "A", "FIN-WAIT-2")
    assert b.status == "unbounded" and b.value is None
    assert b.trace is not None and b.trace.stops and b.trace.loop is None


def test_infinite_retries_give_a_lasso() -> None:
    """R2 = infinity: the retransmission cycle repeats forever with the same timing."""
    b = duration_bound(load_spec(params={"FIN_RETRIES": float("inf")}), "B", "LAST-ACK")
    assert b.status == "unbounded"
    assert b.trace is not None and b.trace.loop is not None and not b.trace.stops
    loop = b.trace.steps[b.trace.loop :]
    assert loop and all(s.label.kind == "timeout" for s in loop)
    # The cycle ends where it began.
    start = b.trace.steps[b.trace.loop - 1].state if b.trace.loop else b.trace.initial
    assert loop[-1].state == start


def test_a_live_peer_prolongs_time_wait() -> None:
    """B's retransmitted FINs restart TIME-WAIT; A's re-ACK then draws a RST from a
    closed B, which ends TIME-WAIT (RFC 9293 §3.10.7.4) unless the timer fires first.
    The FIN B retransmits at 1 s arrives at most MSL later and restarts the 60 s timer:
    1 + 30 + 60 = 91 s, approached but not reached (A entered TIME-WAIT after a delay).
    Two FIN retransmissions, as the base had before it met SHLD-11: the mechanism is the
    point, not the count."""
    spec = load_spec(params={"MSL": 30, "TIME_WAIT": 60, "FIN_RETRIES": 2})
    b = duration_bound(
        spec,
        "A",
        "TIME-WAIT",
        peer="live",
        start="A = FIN-WAIT-2 and B = CLOSE-WAIT",
        config=ProductConfig(loss="none", capacity=4),
        free=(),
    )
    assert (b.status, b.value, b.attained) == ("bounded", Fraction(91), False)


def test_limits_give_unknown() -> None:
    spec = load_spec(params={"MSL": 30, "TIME_WAIT": 60, "FIN_RETRIES": 2})
    b = duration_bound(
        spec,
        "A",
        "TIME-WAIT",
        peer="live",
        start="A = FIN-WAIT-2 and B = CLOSE-WAIT",
        config=ProductConfig(loss="none", capacity=4),
        free=(),
        max_nodes=50,
    )
    assert b.status == "unknown" and "incomplete" in b.message


def test_cli_text_json_and_errors() -> None:
    runner = CliRunner()
    got = runner.invoke(cli, ["bound", "SYN-SENT", "--variant", "linux"])
    assert got.exit_code == 0, got.output
    assert "at most 131 s = 131 on linux" in got.output and "t=67" in got.output
    got = runner.invoke(cli, ["bound", "LAST-ACK", "--endpoint", "B", "--json"])
    data = json.loads(got.output)
    assert (data["status"], data["bound"], data["formula"]) == ("bounded", 127.0, "127*RTO")
    assert data["trace"]["steps"][-1]["time"] == 127
    for args, needle in [
        (["bound", "FIN-WAIT-3"], "did you mean 'FIN-WAIT-2'"),
        (["bound", "SYN-RECEIVED"], "A never enters SYN-RECEIVED"),
        (["bound", "TIME-WAIT", "--start", "A = CLOSED"], "--start needs --peer live"),
        (["bound", "TIME-WAIT", "--param", "RTO=2", "--free", "RTO"], "both free and fixed"),
    ]:
        got = runner.invoke(cli, args)
        assert got.exit_code == 2, (args, got.output)
        assert needle in got.output, (args, got.output)
        assert "Traceback" not in got.output


@pytest.mark.parametrize("variant", ["base", "linux"])
def test_formula_agrees_with_the_number(variant: str) -> None:
    spec = load_spec(variant=None if variant == "base" else variant, params={"RTO": 0.5})
    b = duration_bound(spec, "A", "SYN-SENT")
    retries = int(spec.values["SYN_RETRIES"])
    # Base doubles from the first SYN; linux keeps the RTO for its linear timeouts, and
    # caps it at tcp_rto_max (a min(): its bound is a number, not a formula over RTO).
    rtos = 2 ** (retries + 1) - 1 if variant == "base" else 131
    assert b.formula == (f"{rtos}*RTO" if variant == "base" else f"{rtos / 2:g}")
    assert b.value == Fraction(rtos, 2)


def test_a_live_peer_with_endless_retries_keeps_time_wait_forever() -> None:
    """R2 infinite: B retransmits its FIN every 4 s once the backoff saturates, each one
    restarts TIME-WAIT, and the network loses A's re-ACKs -- a periodic run.  The
    backoff saturates at the largest finite retry count (here 2: the SYN counts are set
    to 2 too; at the base's 7 the period would be 128 s, longer than TIME-WAIT)."""
    spec = load_spec(
        params={
            "MSL": 30,
            "TIME_WAIT": 60,
            "FIN_RETRIES": float("inf"),
            "SYN_RETRIES": 2,
            "SYNACK_RETRIES": 2,
        }
    )
    b = duration_bound(
        spec,
        "A",
        "TIME-WAIT",
        peer="live",
        start="A = FIN-WAIT-2 and B = CLOSE-WAIT",
        config=ProductConfig(capacity=3),
        free=(),
    )
    assert b.status == "unbounded"
    assert b.trace is not None and b.trace.loop is not None and b.trace.times is not None
    loop = b.trace.steps[b.trace.loop :]
    assert "A: rcv old FIN / snd ACK" in [s.label.text() for s in loop]
    assert any(s.label.kind == "loss" for s in loop)
    assert b.trace.times[-1] > b.trace.times[b.trace.loop]


def test_the_headlines_other_reading_of_stuck_is_a_bound() -> None:
    """ "B stays in LAST-ACK longer than T": from the headline's start, with its single
    loss and retry budget, B stays at most 127 s (= 127*RTO, then it gives up) -- the
    reading the headline's description points to."""
    spec = load_spec(params={"FIN_RETRIES": 6})
    b = duration_bound(
        spec,
        "B",
        "LAST-ACK",
        peer="live",
        config=ProductConfig(loss="1", capacity=8),
        start="A = FIN-WAIT-2 and B = CLOSE-WAIT",
        free=(),
    )
    assert (str(b.status), b.value, b.attained) == ("bounded", Fraction(127), True)
    assert b.trace is not None and b.trace.steps[-1].label.text() == "B: timeout RETX"


def _give_ups(variant: str | None) -> list[tuple[str, str, str, float]]:
    """Every rule of the spec that abandons a retransmitted segment (a retransmission
    timeout into CLOSED once ``retries >= COUNT``): its state, its guard, and when it
    gives up, measured from the segment's first transmission (the backoff sum)."""
    spec = load_spec(variant=variant)
    out = []
    for rule in spec.transitions:
        if rule.event != "timeout RETX" or rule.target != "CLOSED":
            continue
        (count,) = [a.param for a in rule.guard.atoms if a.kind == ">=" and a.param]
        n = spec.values[count]
        at = spec.values["RTO"] * (2 ** (n + 1) - 1)
        out.append((rule.source, str(rule.guard), count, at))
    return out


def test_every_give_up_on_base_meets_r2() -> None:
    """RFC 9293 §3.8.3: R2 at least 100 s (SHLD-11), at least 3 minutes for a segment
    carrying a SYN (MUST-23) -- the SYN, the SYN+ACK, and the SYN+ACK still at the front
    of the queue when the application closed in SYN-RECEIVED."""
    rules = _give_ups(None)
    assert {(s, c) for s, _g, c, _t in rules} == {
        ("SYN-SENT", "SYN_RETRIES"),
        ("SYN-RECEIVED", "SYNACK_RETRIES"),
        ("FIN-WAIT-1", "FIN_RETRIES"),
        ("FIN-WAIT-1", "SYNACK_RETRIES"),
        ("CLOSING", "FIN_RETRIES"),
        ("LAST-ACK", "FIN_RETRIES"),
    }
    for state, guard, count, at in rules:
        syn = count in ("SYN_RETRIES", "SYNACK_RETRIES")
        assert at >= (180 if syn else 100), (state, guard, at)
    assert {c: t for _s, _g, c, t in rules} == {
        "SYN_RETRIES": 255,
        "SYNACK_RETRIES": 255,
        "FIN_RETRIES": 127,
    }


@pytest.mark.parametrize(
    ("side", "state", "config", "least"),
    [
        ("A", "SYN-SENT", {}, 180),
        ("B", "SYN-RECEIVED", {}, 180),
        ("A", "FIN-WAIT-1", {}, 100),
        ("A", "CLOSING", {"b_close": "first"}, 100),
        ("B", "LAST-ACK", {}, 100),
    ],
)
def test_bound_on_base_gives_up_no_sooner_than_the_rfc_allows(
    side: str, state: str, config: dict[str, str], least: int
) -> None:
    """`tcpcheck bound` end to end: SYN-SENT on base lasts 255 s at most (it was 7 s, a
    MUST-23 violation), every FIN state 127 s (it was 7 s, below SHLD-11's 100 s)."""
    b = duration_bound(load_spec(), side, state, config=ProductConfig.from_options(config), free=())
    assert b.status == "bounded" and b.value is not None
    assert b.value >= least
    assert b.value == (255 if least == 180 else 127)


def test_a_simultaneous_open_syn_received_gives_up_by_tcp_syn_retries() -> None:
    """Linux: a SYN-RECEIVED reached by a simultaneous open is a full socket, bounded by
    tcp_syn_retries (tcp_write_timeout), not tcp_synack_retries (request sockets)."""
    both_active = ProductConfig.from_options({"simultaneous_open": True})
    spec = load_spec(variant="linux", params={"TCP_SYN_RETRIES": 3, "SYNACK_RETRIES": 5})
    b = duration_bound(spec, "A", "SYN-RECEIVED", config=both_active)
    assert (b.status, b.value) == ("bounded", Fraction(15))  # 1 + 2 + 4 + 8: doubling
    passive = duration_bound(spec, "B", "SYN-RECEIVED")
    assert passive.value == Fraction(63)  # the listener's request: tcp_synack_retries = 5
