"""The conformance scenarios on this machine's kernel: each run recorded, and the facts
the issue lists about Linux checked on the recording (skipped, with the reason, without
root or the tools; CI runs as root and setup.sh installs the tools).

Every scenario the selected tests need is recorded once, up front
(:func:`checker.kernel.scenarios.record_many`): the three that take minutes in threads
of their own while the others run one after another, so the whole module takes little
more than the longest one (about two and a half minutes)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner

from checker.cli import cli
from checker.kernel.conform import Conformance, check_run, load_for_conformance
from checker.kernel.conformance import conformance_target
from checker.kernel.instants import check_instants
from checker.kernel.pcap import Wire
from checker.kernel.recording import CLIENT_ADDR, SERVER_ADDR, Recording
from checker.kernel.runs import Run, run_from_recording, runs_from_recording
from checker.kernel.scenarios import CLIENT_PORT, LONG, SCENARIOS, record_many

pytestmark = pytest.mark.kernel


#: Every scenario some test below checks the facts of.
TESTED: set[str] = set()

F = TypeVar("F", bound=Callable[..., Any])


def scenario(*names: str) -> Callable[[F], F]:
    """The test takes the recording of each of ``names`` as ``rec``."""
    TESTED.update(names)
    mark: Callable[[F], F] = pytest.mark.parametrize("rec", names, indirect=True)
    return mark


@pytest.fixture(scope="module")
def recordings(request: pytest.FixtureRequest) -> dict[str, Future[Recording]]:
    """Each scenario the selected tests of this module need, recorded once: their facts
    and their conformance are checked on the same recording."""
    wanted: set[str] = set()
    for item in request.session.items:
        params = getattr(item, "callspec", None)
        if item.path == request.path and params is not None:
            wanted.update(v for k, v in params.params.items() if k in ("rec", "name"))
    return record_many(sorted(wanted)) if wanted else {}


@pytest.fixture
def rec(request: pytest.FixtureRequest, recordings: dict[str, Future[Recording]]) -> Recording:
    return recordings[str(request.param)].result()


# ------------------------------------------------------------------- helpers ---
def errors(rec: Recording, side: str) -> list[str]:
    return [c.get("errno", "ok") for c in rec.calls.get(side, [])]


def calls(rec: Recording, side: str, op: str) -> list[dict[str, Any]]:
    return [c for c in rec.calls.get(side, []) if c["op"] == op]


def sent(rec: Recording, side: str) -> list[Wire]:
    """The segments ``side`` sent, from its own capture (injections left out)."""
    addr = CLIENT_ADDR if side == "A" else SERVER_ADDR
    forged = {(i.src, i.flags, i.seq) for i in rec.injected}
    return [
        w
        for w in rec.wire[side]
        if w.src.startswith(addr + ":") and (w.src, w.flags, w.seq) not in forged
    ]


def at(rec: Recording, w: Wire) -> float:
    """When ``w`` was captured, in seconds since the start (the calls' clock)."""
    return w.t - rec.wall0


def in_state(rec: Recording, side: str, state: str, after: float) -> list[bool]:
    """For each round of ``ss`` on ``side`` after ``after``: whether it saw ``state``."""
    seen = {s.t for s in rec.samples if s.side == side and s.state == state}
    return [t in seen for t, who in rec.rounds if who == side and t > after]


# ----------------------------------------------------------- the nine first ---
@scenario("active-close")
def test_active_close(rec: Recording) -> None:
    assert rec.states("A")[-2:] == ["FIN-WAIT-2", "TIME-WAIT"]
    assert "CLOSE-WAIT" in rec.states("B")
    assert rec.flow("B")[3:] == [
        ("A->B", "FIN+ACK"), ("B->A", "ACK"), ("B->A", "FIN+ACK"), ("A->B", "ACK"),
    ]  # fmt: skip


@scenario("server-never-closes")
def test_an_orphaned_fin_wait_2_leaves_and_the_late_fin_draws_a_rst(rec: Recording) -> None:
    # Sampling may catch the short FIN-WAIT-1 or not; FIN-WAIT-2 lasts a second.
    assert rec.states("A")[-1] == "FIN-WAIT-2" and "TIME-WAIT" not in rec.states("A")
    assert rec.flow("B")[-2:] == [("B->A", "FIN+ACK"), ("A->B", "RST")]


@scenario("final-acks-lost")
def test_time_wait_acknowledges_every_retransmitted_fin(rec: Recording) -> None:
    tail = rec.flow("B")[5:]
    assert tail == [("B->A", "FIN+ACK"), ("A->B", "ACK")] * 3  # two ACKs lost, one not
    assert rec.states("A")[-1] == "TIME-WAIT"


@scenario("last-ack-gives-up")
def test_last_ack_gives_up_without_a_rst(rec: Recording) -> None:
    flow = rec.flow("B")
    assert flow.count(("B->A", "FIN+ACK")) >= 2 and ("B->A", "RST") not in flow
    assert ("B->A", "RST+ACK") not in flow
    last_ack = [s.t for s in rec.samples if s.side == "B" and s.state == "LAST-ACK"]
    latest = max(s.t for s in rec.samples)
    assert last_ack and max(last_ack) < latest - 0.2  # gone well before the end


@scenario("simultaneous-close")
def test_simultaneous_close_shows_closing(rec: Recording) -> None:
    assert "CLOSING" in rec.states("B")
    assert rec.states("B")[-1] == "TIME-WAIT" and rec.states("A")[-1] == "TIME-WAIT"


@scenario("write-after-peer-gone")
def test_a_write_to_a_peer_gone_draws_a_rst_then_epipe(rec: Recording) -> None:
    assert errors(rec, "A") == ["ok", "ok", "EPIPE"]
    assert rec.flow("A")[-1] == ("B->A", "RST")


@scenario("linger-zero")
def test_linger_zero_sends_rst_and_no_time_wait(rec: Recording) -> None:
    assert rec.flow("B")[-1] == ("A->B", "RST+ACK")
    assert "TIME-WAIT" not in rec.states("A") and ("A->B", "FIN+ACK") not in rec.flow("B")


@scenario("connect-refused")
def test_connect_to_no_listener_is_refused(rec: Recording) -> None:
    assert errors(rec, "A") == ["ECONNREFUSED"]
    assert rec.flow("A") == [("A->B", "SYN"), ("B->A", "RST+ACK")]


@scenario("close-with-unread-data")
def test_close_with_unread_data_sends_rst(rec: Recording) -> None:
    assert rec.flow("A")[-1] == ("B->A", "RST+ACK")
    assert ("B->A", "FIN+ACK") not in rec.flow("A")


# ---------------------------------------------------------- closing, again ---
@scenario("immediate-close")
def test_the_ack_of_the_fin_rides_on_the_fin(rec: Recording) -> None:
    """B closes the moment it reads the EOF: its ACK, still delayed, leaves on its
    FIN+ACK, and A goes from FIN-WAIT-1 to TIME-WAIT without FIN-WAIT-2."""
    assert rec.flow("B")[-3:] == [("A->B", "FIN+ACK"), ("B->A", "FIN+ACK"), ("A->B", "ACK")]
    fin = sent(rec, "B")[-1]
    theirs = sent(rec, "A")[-2]
    assert (fin.flags, fin.seq, fin.ack) == ("FIN+ACK", 1, theirs.seq + 1)  # acks A's FIN
    recv, close = rec.calls["B"][-2:]
    assert (recv["op"], recv["received"], close["op"]) == ("recv", 0, "close")
    assert close["start"] - recv["t"] < 0.005
    assert "FIN-WAIT-2" not in rec.states("A")


@scenario("half-close-with-data")
def test_a_half_closed_client_reads_and_acknowledges_data(rec: Recording) -> None:
    """After shutdown(SHUT_WR) A still reads: each of B's segments is acknowledged from
    FIN-WAIT-2 (sequence number 2: after A's FIN); B's FIN comes after its data."""
    assert [c.get("received", c.get("errno", "ok")) for c in calls(rec, "A", "recv")] == [
        10, 10, 0,
    ]  # fmt: skip
    data = [w for w in sent(rec, "B") if w.length]
    assert [(w.seq, w.length) for w in data] == [(1, 10), (11, 10)]
    mine = [(w.flags, w.seq, w.ack) for w in sent(rec, "A")]
    after_fin = mine[mine.index(("FIN+ACK", 1, 1)) + 1 :]
    assert after_fin == [("ACK", 2, 11), ("ACK", 2, 21), ("ACK", 2, 22)]
    assert sent(rec, "B")[-1].flags == "FIN+ACK" and sent(rec, "B")[-1].seq == 21
    assert "FIN-WAIT-2" in rec.states("A") and rec.states("A")[-1] == "TIME-WAIT"


@scenario("fin-on-data")
def test_the_fin_rides_on_the_last_data_segment(rec: Recording) -> None:
    """send(MSG_MORE) then close(): one FIN+ACK carrying the 10 bytes, no other data."""
    carrying = [w for w in sent(rec, "A") if w.length]
    assert [(w.flags, w.seq, w.length) for w in carrying] == [("FIN+ACK", 1, 10)]
    assert calls(rec, "B", "recv")[0]["received"] == 10
    assert sent(rec, "B")[-1].ack == 12  # B's FIN acknowledges the data and the FIN


@scenario("large-send-then-close")
def test_one_send_goes_out_in_several_segments(rec: Recording) -> None:
    """One send() of 60000 bytes: several data segments, back to back in sequence, all
    of the call's bytes, the FIN after the last, and B reads them all."""
    carrying = [w for w in sent(rec, "A") if w.length]
    assert len(carrying) >= 2
    assert all(b.seq == a.seq + a.length for a, b in itertools.pairwise(carrying))
    assert (carrying[0].seq, sum(w.length for w in carrying)) == (1, 60000)
    fin = next(w for w in sent(rec, "A") if "FIN" in w.flags)
    assert fin.seq == 60001 and fin.t > carrying[-1].t
    assert sum(int(c.get("received", 0)) for c in calls(rec, "B", "recv")) == 60000


@scenario("coalesced-sends")
def test_three_sends_go_out_in_one_segment(rec: Recording) -> None:
    """Three send() calls, the first two with MSG_MORE: one segment of the 30 bytes,
    acknowledged by one ACK."""
    carrying = [w for w in sent(rec, "A") if w.length]
    assert [(w.seq, w.length) for w in carrying] == [(1, 30)]
    assert [w.ack for w in sent(rec, "B") if w.flags == "ACK"][:1] == [31]


@scenario("simultaneous-close-crossing")
def test_crossing_fins_are_both_acknowledged(rec: Recording) -> None:
    """Both close at one instant: neither FIN acknowledges the other (they crossed),
    each side acknowledges the other's FIN, and both end in TIME-WAIT."""
    for side in ("A", "B"):
        mine = sent(rec, side)
        fin = next(w for w in mine if "FIN" in w.flags)
        assert (fin.seq, fin.ack) == (1, 1)
        assert any((w.flags, w.seq, w.ack) == ("ACK", 2, 2) for w in mine)
        assert rec.states(side)[-1] == "TIME-WAIT"
    closes = [calls(rec, side, "close")[0]["start"] for side in ("A", "B")]
    assert abs(closes[0] - closes[1]) < 0.001


@scenario("simultaneous-close-merged-ack")
def test_a_close_within_the_delayed_ack_merges_it(rec: Recording) -> None:
    """B's FIN reaches A 10 ms before A closes: A's FIN+ACK acknowledges it, with no
    ACK of its own before; B goes from FIN-WAIT-1 to TIME-WAIT."""
    mine = sent(rec, "A")
    assert [(w.flags, w.seq, w.ack) for w in mine[3:]] == [("FIN+ACK", 1, 12)]
    assert "FIN-WAIT-2" not in rec.states("B") and "CLOSING" not in rec.states("B")
    assert rec.states("B")[-1] == "TIME-WAIT"
    assert [c.get("received") for c in calls(rec, "A", "recv")] == [10]  # EOF never read


# ------------------------------------------------------------------ opening ---
@scenario("simultaneous-open")
def test_a_simultaneous_open_crosses_syns(rec: Recording) -> None:
    """Each side's first SYN lost, the retransmissions cross: both sides send SYN, SYN
    (again), SYN+ACK, ACK, and both connect() calls succeed."""
    for side in ("A", "B"):
        opening = [(w.flags, w.seq, w.ack) for w in sent(rec, side)][:4]
        assert opening == [("SYN", 0, 0), ("SYN", 0, 0), ("SYN+ACK", 0, 1), ("ACK", 1, 1)]
        assert errors(rec, side)[0] == "ok"
        assert "SYN-SENT" in rec.states(side)
    a, b = (calls(rec, side, "connect")[0] for side in ("A", "B"))
    assert a["local"] == f"{CLIENT_ADDR}:{CLIENT_PORT}" and abs(a["start"] - b["start"]) < 0.001


@scenario("lost-handshake-ack")
def test_a_lost_handshake_ack_brings_the_syn_ack_again(rec: Recording) -> None:
    """A's ACK lost: B retransmits its SYN+ACK 1 s later (TCP_TIMEOUT_INIT), A answers
    it again, B's accept() returns only then; A's connect() returned at once."""
    synacks = [w for w in sent(rec, "B") if w.flags == "SYN+ACK"]
    assert len(synacks) == 2
    assert 0.95 < at(rec, synacks[1]) - at(rec, synacks[0]) < 1.1
    (accept,) = calls(rec, "B", "accept")
    (connect,) = calls(rec, "A", "connect")
    assert connect["t"] < at(rec, synacks[0]) + 0.01 < accept["t"]
    assert accept["t"] >= at(rec, synacks[1])


def syn_schedule(retries: int, linear: int) -> tuple[list[float], float]:
    """When a SYN is sent again (seconds after the first) and when connect() gives up,
    as this kernel does it: intervals of 1 s (TCP_TIMEOUT_INIT) for the first
    ``linear`` + 1, then doubling (tcp_retransmit_timer); it gives up at the first
    expiry at least (2 ** (retries + 1) - 1) s after the first SYN -- the time the
    exponential schedule would take (retransmits_timed_out, tcp_model_timeout) -- so a
    linear start sends more SYNs than tcp_syn_retries.

    >>> syn_schedule(1, 4)
    ([1.0, 2.0], 3.0)
    """
    budget = 2.0 ** (retries + 1) - 1
    times: list[float] = []
    now, interval, n = 0.0, 1.0, 0
    while True:
        now += interval
        if now >= budget:
            return times, now
        times.append(now)
        n += 1
        if n > linear:
            interval *= 2


@scenario("syn-retries-1", "syn-retries-3", "syn-retries-default")
def test_syn_retransmissions_and_the_give_up(rec: Recording) -> None:
    """Every SYN lost: the SYNs follow the schedule of :func:`syn_schedule` for the
    recorded tcp_syn_retries and tcp_syn_linear_timeouts, and connect() fails with
    ETIMEDOUT at the give-up.  Timers of seconds fire late by up to an eighth of their
    length (the timer wheel's coarser levels), never early."""
    values = rec.sysctls["A"]
    retries = int(values["net.ipv4.tcp_syn_retries"])
    linear = int(values.get("net.ipv4.tcp_syn_linear_timeouts", "0"))
    assert retries == {"syn-retries-1": 1, "syn-retries-3": 3}.get(rec.name, 6)
    again, give_up = syn_schedule(retries, linear)
    syns = [w for w in sent(rec, "A") if w.flags == "SYN"]
    assert len(syns) == 1 + len(again)
    assert not sent(rec, "B")
    first = at(rec, syns[0])
    for w, nominal in zip(syns[1:], again, strict=True):
        assert nominal - 0.01 < at(rec, w) - first < nominal * 9 / 8 + 0.05
    (connect,) = rec.calls["A"]
    assert connect["errno"] == "ETIMEDOUT"
    assert give_up - 0.01 < connect["t"] - first < give_up * 9 / 8 + 0.05


@scenario("orphan-give-up-default")
def test_an_orphan_gives_up_after_nine_retransmissions_by_default(rec: Recording) -> None:
    """tcp_orphan_retries = 0 (read as 8), every ACK lost: B's FIN goes ten times (a
    tail loss probe, then eight timeouts doubling), then the orphan leaves silently
    about 108 s after its close; A's TIME-WAIT (60 s, restarted by each FIN) outlasts
    it, so no RST comes back."""
    assert rec.sysctls["B"]["net.ipv4.tcp_orphan_retries"] == "0"
    fins = [w for w in sent(rec, "B") if w.flags == "FIN+ACK"]
    assert len(fins) == 10
    gaps = [at(rec, b) - at(rec, a) for a, b in itertools.pairwise(fins)]
    for earlier, later in itertools.pairwise(gaps[1:]):  # after the probe
        assert 1.8 < later / earlier < 2.3  # the RTO doubles
    flows = rec.flow("B")
    assert ("A->B", "RST") not in flows and ("B->A", "RST") not in flows
    (close,) = calls(rec, "B", "close")
    last_ack = max(s.t for s in rec.samples if s.side == "B" and s.state == "LAST-ACK")
    assert 95 < last_ack - close["start"] < 125
    assert any(in_state(rec, "A", "TIME-WAIT", last_ack))


# ------------------------------------------------------- reusing a 4-tuple ---
@scenario("time-wait-reuse-by-syn")
def test_a_syn_reopens_the_servers_time_wait(rec: Recording) -> None:
    """B closed first; A's new SYN from the same port reaches B's TIME-WAIT and opens a
    connection: B's new initial sequence number is its old SND.NXT (2) + 65537."""
    syns = [w for w in sent(rec, "A") if w.flags == "SYN"]
    assert len(syns) == 2 and syns[0].src == syns[1].src == f"{CLIENT_ADDR}:{CLIENT_PORT}"
    assert syns[1].seq > 2  # above the old connection's numbers
    synacks = [w for w in sent(rec, "B") if w.flags == "SYN+ACK"]
    assert [w.seq for w in synacks] == [0, 2 + 65537]
    assert errors(rec, "A").count("ok") == len(rec.calls["A"])
    states = rec.states("B")  # the second connection: CLOSE-WAIT after TIME-WAIT
    assert "TIME-WAIT" in states and "CLOSE-WAIT" in states[states.index("TIME-WAIT") :]


@scenario("tw-reuse")
def test_tw_reuse_takes_over_the_clients_time_wait(rec: Recording) -> None:
    """tcp_tw_reuse = 1 and a second past: A's connect() from the port its TIME-WAIT
    holds succeeds, its SYN numbered old SND.NXT (2) + 65537."""
    assert rec.sysctls["A"]["net.ipv4.tcp_tw_reuse"] == "1"
    syns = [w for w in sent(rec, "A") if w.flags == "SYN"]
    assert [w.seq for w in syns] == [0, 2 + 65537]
    connects = calls(rec, "A", "connect")
    assert [c["ok"] for c in connects] == [True, True]
    assert connects[1]["start"] - calls(rec, "A", "close")[0]["t"] > 1.0
    states = rec.states("A")
    assert states.index("TIME-WAIT") < len(states) - 1  # a new connection after it
    assert states[-1] == "TIME-WAIT"


def arrived(rec: Recording, side: str) -> list[Wire]:
    """The segments of ``side``'s peer that ``side``'s capture saw arrive."""
    peer = SERVER_ADDR if side == "A" else CLIENT_ADDR
    return [w for w in rec.wire[side] if w.src.startswith(peer + ":")]


@scenario("lost-syn-ack")
def test_a_retransmitted_syn_reaching_the_request_draws_a_syn_ack(rec: Recording) -> None:
    """B's first two SYN+ACKs lost: A retransmits its SYN after 1 s; B, its request in
    SYN_RECV, answers that SYN with a SYN+ACK within milliseconds (tcp_check_req), and
    the handshake completes."""
    syns = [w for w in arrived(rec, "B") if w.flags == "SYN"]
    assert len(syns) >= 2 and at(rec, syns[1]) - at(rec, syns[0]) > 0.9
    answers = [w for w in sent(rec, "B") if w.flags == "SYN+ACK" and 0 <= w.t - syns[1].t < 0.01]
    assert answers, "no SYN+ACK answered the retransmitted SYN"
    assert errors(rec, "A")[0] == "ok" and errors(rec, "B")[:2] == ["ok", "ok"]


@scenario("rst-at-fin")
def test_a_rst_at_the_fins_number_resets_close_wait(rec: Recording) -> None:
    """A forged RST at the number of A's FIN (B's RCV.NXT - 1) reaches B in CLOSE-WAIT:
    Linux resets (tcp_reset_check), so B's next send() fails with EPIPE and no
    challenge ACK leaves B."""
    (forged,) = rec.injected
    fin = next(w for w in sent(rec, "A") if "FIN" in w.flags)
    assert (forged.receiver, forged.flags, forged.seq) == ("B", "RST", fin.seq)
    assert errors(rec, "B")[-1] == "EPIPE"
    assert not [w for w in sent(rec, "B") if w.t > rec.wall0 + forged.t]


@scenario("network-reorders")
def test_the_network_between_delivers_the_second_data_segment_first(rec: Recording) -> None:
    """The forwarder held A's first 100 bytes back until the next 100 had passed: A's
    capture shows them sent in order, B's arriving the other way round.  B answers the
    early one with a duplicate ACK of what it had (ack 1), then acknowledges all 200."""
    assert [row[1:3] for row in rec.network] == [["hold", "A->B"]]
    data = [(w.seq, w.length) for w in sent(rec, "A") if w.length]
    assert data == [(1, 100), (101, 100)]
    assert [(w.seq, w.length) for w in arrived(rec, "B") if w.length] == data[::-1]
    acks = [w.ack for w in sent(rec, "B") if w.flags == "ACK"]
    assert acks[:2] == [1, 201]
    run = run_from_recording(rec)
    v = check_run(load_for_conformance("linux"), run)
    assert v.conforms and (v.reordered, v.copies) == (1, 0)


@scenario("network-duplicates")
def test_the_network_between_delivers_the_data_and_the_fin_twice(rec: Recording) -> None:
    """The forwarder sent A's data segment and its FIN twice each: A's capture shows each
    sent once, B's each arriving twice.  The copy of old data draws a duplicate ACK;
    the close goes on as usual."""
    assert [row[1:3] for row in rec.network] == [["copy", "A->B"], ["copy", "A->B"]]
    mine = [(w.flags, w.seq) for w in sent(rec, "A") if w.length or "FIN" in w.flags]
    assert mine == [("ACK", 1), ("FIN+ACK", 101)]
    seen = [(w.flags, w.seq) for w in arrived(rec, "B") if w.length or "FIN" in w.flags]
    assert seen == [mine[0], mine[0], mine[1], mine[1]]
    assert [w.ack for w in sent(rec, "B") if w.flags == "ACK"][:2] == [101, 101]
    run = run_from_recording(rec)
    assert [p.origin for p in run.injected] == ["copy", "copy"]
    v = check_run(load_for_conformance("linux"), run)
    assert v.conforms and (v.reordered, v.copies) == (0, 2)


@scenario("port-reuse")
def test_two_connections_on_one_four_tuple(rec: Recording) -> None:
    """The server restarts (its listener closed and bound again while its old
    connection is in TIME-WAIT): both whole connections on one 4-tuple, the second
    server ISN the old SND.NXT (12) + 65537."""
    assert errors(rec, "B").count("ok") == len(rec.calls["B"])
    assert [c["op"] for c in rec.calls["B"]][3:6] == ["close", "unlisten", "listen"]
    ends = {(w.src, w.dst) for w in rec.wire["A"]}
    assert len(ends) == 2  # one 4-tuple, both ways
    synacks = [w for w in sent(rec, "B") if w.flags == "SYN+ACK"]
    assert [w.seq for w in synacks] == [0, 12 + 65537]
    fins = [w for w in sent(rec, "A") + sent(rec, "B") if "FIN" in w.flags]
    assert len(fins) == 4
    assert rec.states("A")[-1] == "TIME-WAIT"


# ------------------------------------------------------ a third party's RST ---
@scenario("rst-into-time-wait-rfc1337-0", "rst-into-time-wait-rfc1337-1")
def test_a_rst_into_time_wait(rec: Recording) -> None:
    """A RST at RCV.NXT ends a TIME-WAIT with tcp_rfc1337 = 0 and is ignored with 1."""
    (inj,) = rec.injected
    assert (inj.receiver, inj.flags, inj.seq) == ("A", "RST", 2)  # after B's FIN
    assert ("B->A", "RST") in rec.flow("A")  # it arrived
    before = in_state(rec, "A", "TIME-WAIT", 0.0)
    after = in_state(rec, "A", "TIME-WAIT", inj.t + 0.05)
    assert any(before) and len(after) >= 3
    if rec.sysctls["A"]["net.ipv4.tcp_rfc1337"] == "0":
        assert not any(after)
    else:
        assert all(after)


@scenario("injected-rst-exact")
def test_a_rst_at_rcv_nxt_resets_the_connection(rec: Recording) -> None:
    """The RST at RCV.NXT (11: after B's 10 bytes) resets A: recv() fails with
    ECONNRESET; B's next data draws A's RST and B's recv() fails too."""
    (inj,) = rec.injected
    assert (inj.flags, inj.seq) == ("RST", 11)
    assert errors(rec, "A") == ["ok", "ok", "ECONNRESET"]
    assert errors(rec, "B")[-1] == "ECONNRESET"
    after = [(w.flags, w.seq) for w in rec.wire["A"] if at(rec, w) > inj.t + 0.01]
    assert after == [("ACK", 11), ("RST", 1)]  # B's data, A's reset


@scenario("injected-rst-in-window")
def test_a_rst_in_the_window_draws_a_challenge_ack(rec: Recording) -> None:
    """The RST 1000 past RCV.NXT: A answers with a challenge ACK (its SND.NXT 1 and
    RCV.NXT 11) and the connection goes on."""
    (inj,) = rec.injected
    assert (inj.flags, inj.seq) == ("RST", 1011)
    reply = next(w for w in sent(rec, "A") if at(rec, w) > inj.t)
    assert (reply.flags, reply.seq, reply.ack) == ("ACK", 1, 11)
    assert at(rec, reply) - inj.t < 0.01
    assert [c.get("received") for c in calls(rec, "A", "recv")] == [10, 10]
    assert errors(rec, "A").count("ok") == len(rec.calls["A"])
    assert rec.states("A")[-1] == "TIME-WAIT"


# -------------------------------------------------------------- the record ---
@scenario("injected-rst-exact")
def test_a_recording_keeps_the_kernel_its_settings_and_its_injections(rec: Recording) -> None:
    """The kernel's release and the TCP sysctls as read in each namespace (both alike);
    the forged RST recorded apart and kept out of B's channel; all of it read back."""
    assert rec.kernel and rec.sysctls["A"] == rec.sysctls["B"]
    assert rec.sysctls["A"]["net.ipv4.tcp_timestamps"] == "1"
    back = Recording.from_json(json.loads(json.dumps(rec.to_json())))
    assert back == rec
    run = run_from_recording(rec)
    assert run.sysctls["net.ipv4.tcp_syn_retries"] == rec.sysctls["A"]["net.ipv4.tcp_syn_retries"]
    (forged,) = run.injected
    assert (forged.channel, forged.wire.flags, forged.wire.seq) == ("B->A", "RST", 11)
    assert forged.arrived is not None and forged.arrived >= forged.sent
    assert all(p.wire.flags != "RST" for p in run.packets["B->A"])


def test_every_scenario_is_tested() -> None:
    assert len(SCENARIOS) == 33 and set(SCENARIOS) == TESTED
    assert set(SCENARIOS) >= set(LONG)


def _parting(run: Run, verdict: Conformance) -> str:
    """Where a run parts from the model, whole (a repr would be cut in the middle), with
    the run's own record: the next failure on a loaded machine can be read off CI."""
    m = verdict.mismatch
    assert m is not None
    seen = {k: [(o.t, o.kind, o.text or o.event) for o in v] for k, v in run.observed.items()}
    return "\n".join(
        [
            f"{run.name} parts at step {m.step}: the kernel {m.kernel}",
            f"the model could: {'; '.join(m.model)}",
            f"why: {m.why}",
            f"at: {m.at}",
            f"kernel next: {'; '.join(m.pending)}",
            f"observed: {seen}",
            f"sampled: {run.timeline}",
        ]
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_kernel_conforms_to_the_linux_variant(
    name: str, recordings: dict[str, Future[Recording]]
) -> None:
    """Every scenario, run afresh, conforms: each connection of it (a reconnect on the
    same ports is a second run), path and instants."""
    target = conformance_target("linux")
    for run in runs_from_recording(recordings[name].result()):
        verdict = check_run(load_for_conformance("linux"), run, defaults=target.under(run))
        assert verdict.conforms, _parting(run, verdict)
        timing = check_instants(verdict, run, "linux")
        assert timing.ok, (run.name, [r for r in timing.rows if not r.ok])


def test_the_conform_command_on_this_kernel() -> None:
    """`tcpcheck conform` end to end: the scenario run, checked, as JSON."""
    result = CliRunner().invoke(cli, ["conform", "--scenario", "connect-refused", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    (row,) = doc["scenarios"]
    assert doc["conforms"] and row["name"] == "connect-refused" and row["mismatch"] is None
