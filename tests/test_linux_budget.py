"""The linux variant's retry counts against a direct simulation of the kernel's rules.

Linux gives up a SYN, and an orphan's FIN, on a time budget rather than a count
(net/ipv4/tcp_timer.c: tcp_write_timeout, retransmits_timed_out, tcp_model_timeout); the
variant turns that budget into the count its guards compare with (``SYN_RETRIES``,
``ORPHAN_RETRIES``, derived in spec/variants/linux.toml).  Here the kernel's procedure is
run expiry by expiry, as tcp_retransmit_timer does, and the counts must agree."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from checker.model.load import load_spec


def model_timeout(boundary: int, base: float, rto_max: float) -> float:
    """tcp_model_timeout: the time ``boundary`` doubling retransmissions from ``base``
    take, the doubling stopped at ``rto_max``."""
    thresh = math.floor(math.log2(rto_max / base))
    if boundary <= thresh:
        return ((2 << boundary) - 1) * base
    return ((2 << thresh) - 1) * base + (boundary - thresh) * rto_max


def syn_retransmissions(syn_retries: int, linear: int, rto: float, rto_max: float) -> int:
    """SYN retransmissions before ETIMEDOUT: at each expiry, tcp_write_timeout gives up
    when the retransmissions reach tcp_syn_retries + tcp_syn_linear_timeouts or the time
    since the first SYN reaches the budget; else the SYN is resent and the RTO doubles
    (after the linear ones), capped at rto_max."""
    budget = model_timeout(syn_retries, rto, rto_max)
    t, made = 0.0, 0
    while True:
        t += min(rto * 2 ** max(made - linear, 0), rto_max)
        if made >= syn_retries + linear or (made > 0 and t >= budget - 1e-9):
            return made
        made += 1


def orphan_retransmissions(orphan_retries: int, conn_rto: float, rto_max: float) -> int:
    """FIN retransmissions of an orphan before it vanishes: a tail loss probe at the
    RTO, then RTO expiries doubling (capped); from the first RTO retransmission the
    budget tcp_model_timeout(tcp_orphan_retries or 8, TCP_RTO_MIN) runs."""
    budget = model_timeout(orphan_retries or 8, 0.2, rto_max)
    t = conn_rto  # the probe
    made, first = 1, None
    while True:
        t += min(conn_rto * 2 ** (made - 1), rto_max)
        if first is not None and t - first >= budget - 1e-9:
            return made
        if first is None:
            first = t
        made += 1


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 15), st.integers(0, 6), st.sampled_from([0.5, 1.0, 3.0]))
def test_the_syn_count_is_the_kernels_time_budget(n: int, linear: int, rto: float) -> None:
    spec = load_spec(
        variant="linux",
        params={"TCP_SYN_RETRIES": n, "SYN_LINEAR_TIMEOUTS": linear, "RTO": rto},
        check_behaviour=False,
    )
    assert spec.values["SYN_RETRIES"] == syn_retransmissions(n, linear, rto, 120.0)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 15),
    st.sampled_from([0.001, 0.05, 0.2, 0.5]),
    st.sampled_from([0.0001, 0.003, 0.05, 1.0, 4.0]),
    st.sampled_from([30.0, 60.0, 120.0]),
)
def test_the_orphan_count_is_the_kernels_time_budget(
    n: int, rto_min: float, rtt: float, rto_max: float
) -> None:
    spec = load_spec(
        variant="linux",
        params={"TCP_ORPHAN_RETRIES": n, "RTO_MIN": rto_min, "RTT": rtt, "RTO_MAX": rto_max},
        check_behaviour=False,
    )
    conn_rto = spec.values["CONN_RTO"]
    assert spec.values["ORPHAN_RETRIES"] == orphan_retransmissions(n, conn_rto, rto_max)


def test_the_defaults_measured_on_this_kernel() -> None:
    """Linux 6.18, defaults: a connection attempt makes 10 retransmissions and fails at
    131 s; tcp_syn_retries = 3: 7; = 1: 2.  An orphan on a LAN (RTO 204 ms) makes 9
    (a probe and 8 RTO retransmissions)."""
    spec = load_spec(variant="linux")
    assert (spec.values["SYN_RETRIES"], spec.values["ORPHAN_RETRIES"]) == (10, 9)
    assert round(spec.values["CONN_RTO"], 6) == 0.204
    assert round(spec.values["ORPHAN_BUDGET"], 6) == 102.2
    for n, made in ((3, 7), (1, 2)):
        other = load_spec(variant="linux", params={"TCP_SYN_RETRIES": n})
        assert other.values["SYN_RETRIES"] == made
