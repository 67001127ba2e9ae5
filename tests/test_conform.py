"""Conformance checking on recorded kernel runs (tests/data/recordings: the scenarios as
this machine's Linux 6.18 ran them) and captures (tests/data/pcap) -- no root needed.

The recordings pin what the check decides; tests/test_kernel_scenarios.py runs the
scenarios afresh on the kernel at hand."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import dpkt  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

from checker.cli import cli
from checker.errors import UsageError
from checker.kernel.conform import Conformance, check_run, load_for_conformance
from checker.kernel.conformance import check_runs, conformance_target
from checker.kernel.instants import TimingReport, check_instants, within
from checker.kernel.pcap import Wire, read_segments
from checker.kernel.recording import Recording
from checker.kernel.runs import (
    Run,
    abstract,
    make_packets,
    run_from_pcap,
    run_from_recording,
    runs_from_pcap,
    runs_from_recording,
)
from checker.kernel.scenarios import SCENARIOS
from checker.model.segments import RST, Segment
from checker.model.spec import Spec
from checker.render.mermaid_chart import mismatch_chart

DATA = Path(__file__).parent / "data"
ALL = (0, 16)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_for_conformance("linux")


def recording(name: str) -> Recording:
    return Recording.from_json(json.loads((DATA / "recordings" / f"{name}.json").read_text()))


def check(spec: Spec, run: Run) -> Conformance:
    return check_run(spec, run, defaults=conformance_target("linux").under(run))


# name -> (losses, ORPHAN_RETRIES the run allows, whether the variant's own values do)
EXPECTED = {
    "active-close": (0, [ALL], True),
    "server-never-closes": (0, [ALL], True),
    "final-acks-lost": (2, [(2, 16)], True),
    # Linux's tcp_orphan_retries = 1 is a time budget: 600 ms after the first RTO
    # retransmission, which with tcp_rto_min_us = 50000 is four retransmissions: the
    # variant derives that count from the recording's settings.
    "last-ack-gives-up": (5, [(4, 4)], True),
    "simultaneous-close": (1, [(1, 16)], True),
    "connect-refused": (0, [ALL], True),
    "linger-zero": (0, [ALL], True),
    "write-after-peer-gone": (0, [ALL], True),
    "close-with-unread-data": (0, [ALL], True),
}


# name -> (losses, ACKs that rode on a later segment, the retry bounds the run implies);
# each with the variant's own values under the recording's settings.
BEHAVIOURS = {
    "immediate-close": (0, 1, {}),
    "fin-on-data": (0, 1, {}),
    # One send() in five segments (the rest SEND (continued)), the FIN after them; and
    # three send() calls in one segment, the model's three pieces' ACKs in one.
    "large-send-then-close": (0, 0, {}),
    "coalesced-sends": (0, 2, {}),
    "half-close-with-data": (0, 0, {}),
    "simultaneous-close-crossing": (0, 0, {}),
    "simultaneous-close-merged-ack": (0, 1, {}),
    # Each side's first SYN lost, to make the retransmitted ones cross.
    "simultaneous-open": (2, 0, {"SYN_RETRIES": [(1, 16)]}),
    "lost-handshake-ack": (1, 0, {"SYNACK_RETRIES": [(1, 16)]}),
    # tcp_syn_retries = 1, 3, 6: 2, 7 and 10 retransmissions, each SYN lost.
    "syn-retries-1": (3, 0, {"SYN_RETRIES": [(2, 2)]}),
    "syn-retries-3": (8, 0, {"SYN_RETRIES": [(7, 7)]}),
    "syn-retries-default": (11, 0, {"SYN_RETRIES": [(10, 10)]}),
    # The default tcp_orphan_retries' budget on a LAN: a probe and 8 retransmissions.
    "orphan-give-up-default": (10, 0, {"ORPHAN_RETRIES": [(9, 9)]}),
    # A third party's RST: at RCV.NXT it resets; elsewhere in the window it draws a
    # challenge ACK (RFC 5961 §3.2).
    "injected-rst-exact": (0, 0, {}),
    "injected-rst-in-window": (0, 0, {}),
    # The same RST into TIME-WAIT ends it with tcp_rfc1337 = 0 (the untimed search may
    # also end it by its timer, so any setting has a path; the instants rule that out);
    # with 1 TIME-WAIT stays, as ss shows to the end: the run implies the setting.
    "rst-into-time-wait-rfc1337-0": (0, 0, {}),
    "rst-into-time-wait-rfc1337-1": (0, 0, {"TCP_RFC1337": [(1, 16)]}),
    # B's first two SYN+ACKs lost: A's retransmitted SYN draws a SYN+ACK from B's
    # request (tcp_check_req) besides B's own timer's retransmission.
    "lost-syn-ack": (2, 0, {"SYNACK_RETRIES": [(1, 16)], "SYN_RETRIES": [(1, 16)]}),
    # A forged RST at the FIN's number resets CLOSE-WAIT (tcp_reset_check).
    "rst-at-fin": (0, 0, {}),
    # The network between reorders two data segments, or sends the data and the FIN
    # twice (B's ACK of the first FIN rides on the one it sends for the copy).
    "network-reorders": (0, 0, {}),
    "network-duplicates": (0, 1, {}),
}


@pytest.mark.parametrize("name", ["time-wait-reuse-by-syn", "port-reuse", "tw-reuse"])
def test_each_connection_on_reused_ports_is_its_own_run(spec: Spec, name: str) -> None:
    """A reconnect on the same 4-tuple is a second connection, numbered from its own
    SYNs; its SYN also reaches what the first left behind.  Where that is the server's
    TIME-WAIT (the server closed first), Linux takes the SYN as a new connection
    (TCP_TW_SYN): the first run ends with it, the second starts at the listener."""
    runs = runs_from_recording(recording(name))
    assert [r.name for r in runs] == [f"{name} #1", f"{name} #2"]
    first, second = (check(spec, run) for run in runs)
    assert first.conforms and second.conforms
    assert second.trace.initial.b.state == "LISTEN" and runs[1].listening == ("B",)
    assert runs[1].packets["A->B"][0].segment.describe() == "SYN seq=0"
    ends = [s.label.text() for s in first.trace.steps][-1]
    assert ends == ("A: active OPEN" if name == "tw-reuse" else "B: rcv SYN in window")
    with pytest.raises(ValueError, match="2 connections"):
        run_from_recording(recording(name))


def _pcap_of(rec: Recording, side: str, path: Path) -> Path:
    """The segments of one side's capture written as a pcap file (the numbers offset
    by arbitrary ISNs, as on a real wire)."""
    isn = {"10.77.0.1": 1_000_000, "10.77.0.2": 3_000_000_000}
    with path.open("wb") as f:
        writer = dpkt.pcap.Writer(f)
        for w in rec.wire[side]:
            (sip, sport), (dip, dport) = (x.split(":") for x in (w.src, w.dst))
            bits = {"SYN": dpkt.tcp.TH_SYN, "FIN": dpkt.tcp.TH_FIN, "RST": dpkt.tcp.TH_RST,
                    "ACK": dpkt.tcp.TH_ACK}  # fmt: skip
            flags = sum(bits[f] for f in w.flags.split("+"))
            tcp = dpkt.tcp.TCP(
                sport=int(sport), dport=int(dport), flags=flags, data=b"x" * w.length,
                seq=(w.seq + isn[sip]) % 2**32,
                ack=(w.ack + isn[dip]) % 2**32 if "ACK" in w.flags else 0,
            )  # fmt: skip
            ip = dpkt.ip.IP(src=socket.inet_aton(sip), dst=socket.inet_aton(dip), p=6, data=tcp)
            writer.writepkt(dpkt.ethernet.Ethernet(data=ip, type=dpkt.ethernet.ETH_TYPE_IP), w.t)
    return path


def test_a_capture_of_two_connections_on_one_4_tuple_is_two_runs(
    spec: Spec, tmp_path: Path
) -> None:
    """`conform --pcap` on a capture where the client reconnects from the same port:
    split at the new SYN, each connection numbered from its own SYNs, each checked."""
    pcap = _pcap_of(recording("time-wait-reuse-by-syn"), "A", tmp_path / "two.pcap")
    runs = runs_from_pcap(pcap)
    assert [r.name.rsplit(" ", 1)[-1] for r in runs] == ["#1", "#2"]
    assert all(check(spec, run).conforms for run in runs)
    with pytest.raises(UsageError, match="2 connections one after another"):
        run_from_pcap(pcap)
    code, out = invoke("conform", "--pcap", str(pcap), "--json")
    assert code == 0 and len(json.loads(out)["scenarios"]) == 2


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_each_behaviour_the_scenarios_added_conforms(spec: Spec, name: str) -> None:
    run = run_from_recording(recording(name))
    v = check(spec, run)
    losses, merged, implied = BEHAVIOURS[name]
    assert v.conforms and v.as_given, v.mismatch
    narrowed = {k: r for k, r in v.parameters.items() if r != [ALL]}
    assert (v.losses, v.merged, narrowed) == (losses, merged, implied)
    timing = check_instants(v, run, "linux")
    assert timing.ok, [r for r in timing.rows if not r.ok]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_recorded_scenario_conforms(spec: Spec, name: str) -> None:
    v = check(spec, run_from_recording(recording(name)))
    losses, orphan, as_given = EXPECTED[name]
    assert v.conforms and v.mismatch is None
    assert (v.losses, v.parameters["ORPHAN_RETRIES"], v.as_given) == (losses, orphan, as_given)


def test_every_scenario_has_a_recording() -> None:
    assert sorted(p.stem for p in (DATA / "recordings").glob("*.json")) == sorted(SCENARIOS)


def test_the_matched_path_is_the_runs_own_order(spec: Spec) -> None:
    v = check(spec, run_from_recording(recording("final-acks-lost")))
    assert [s.label.text() for s in v.trace.steps] == [
        "B: passive OPEN",
        "A: active OPEN / snd SYN",
        "B: rcv SYN / snd SYN+ACK",
        "A: rcv SYN+ACK / snd ACK",
        "B: rcv ACK of SYN",
        "A: CLOSE / snd FIN+ACK",
        "B: rcv FIN / snd ACK",
        "A: rcv ACK of FIN",
        "B: CLOSE / snd FIN+ACK",
        "A: rcv FIN / snd ACK",
        "net: lose ACK A->B",
        "B: timeout RETX / snd FIN+ACK",
        "A: rcv old FIN / snd ACK",
        "net: lose ACK A->B",
        "B: timeout RETX / snd FIN+ACK",
        "A: rcv old FIN / snd ACK",
        "B: rcv ACK of FIN",
    ]
    assert v.times == sorted(v.times)  # instants of the run, in order


def test_a_segment_the_model_would_not_send_is_the_divergence(spec: Spec) -> None:
    run = run_from_recording(recording("active-close"))
    fin = run.packets["B->A"][2]
    assert fin.wire.flags == "FIN+ACK"
    run.packets["B->A"][2] = dataclasses.replace(fin, segment=Segment(RST, 1, 0))
    v = check(spec, run)
    assert not v.conforms and v.mismatch is not None
    # The kernel's next event is B's close(); the model's CLOSE sends a FIN the run
    # (altered here) does not have.
    assert v.mismatch.kernel.startswith("B: close() = ok")
    assert "B: CLOSE / snd FIN+ACK: sends FIN+ACK seq=1 ack=2, but B sent" in v.mismatch.why
    assert v.mismatch.at.startswith("A=FIN-WAIT-2 B=CLOSE-WAIT")
    chart = mismatch_chart(v.trace, v.times, v.mismatch.pending)
    assert "kernel and model part here" in chart and "Note over A,B: kernel: B: close()" in chart


def _without_bs_ack_of_the_fin(fin_acks: bool) -> Run:
    """active-close as if B's ACK of A's FIN had waited for B's own FIN (a delayed ACK
    that rode on it); with ``fin_acks`` False, B's FIN does not acknowledge A's FIN."""
    rec = recording("active-close")
    for side in ("A", "B"):
        wires = [w for w in rec.wire[side] if not (w.flags == "ACK" and w.src.endswith(":80")
                                                    and w.ack == 2)]  # fmt: skip
        if not fin_acks:
            wires = [dataclasses.replace(w, ack=1) if w.flags == "FIN+ACK" and
                     w.src.endswith(":80") else w for w in wires]  # fmt: skip
        rec.wire[side] = wires
    run = run_from_recording(rec)
    run.states["A"] = [x for x in run.states["A"] if x != "FIN-WAIT-2"]  # never there now
    return run


def test_a_delayed_ack_rides_on_the_next_segment(spec: Spec) -> None:
    """RFC 9293 §3.8.6.3 lets an ACK wait (Linux: up to 40 ms for the ACK of a FIN):
    B's ACK the model sends on A's FIN, missing from the wire, rode on B's FIN+ACK, which
    acknowledges as much; the peer's model never sees it, as if lost, and A goes from
    FIN-WAIT-1 straight to TIME-WAIT.  Counted apart from losses."""
    v = check(spec, _without_bs_ack_of_the_fin(fin_acks=True))
    assert v.conforms and (v.losses, v.merged) == (0, 1)
    texts = [s.label.text() for s in v.trace.steps]
    assert "B: rcv FIN / snd ACK" in texts and "A: rcv ACK of FIN" not in texts
    assert v.trace.steps[-1].state.a.state == "TIME-WAIT"


def test_an_ack_cannot_ride_on_a_segment_that_acknowledges_less(spec: Spec) -> None:
    v = check(spec, _without_bs_ack_of_the_fin(fin_acks=False))
    assert not v.conforms and v.mismatch is not None
    assert "sends ACK seq=1 ack=2, but B sent FIN+ACK seq=1 ack=1" in v.mismatch.why


def test_a_sampled_state_the_model_never_reaches_is_reported(spec: Spec) -> None:
    run = run_from_recording(recording("active-close"))
    run.states["A"].insert(-1, "CLOSING")
    v = check(spec, run)
    assert not v.conforms and v.mismatch is not None
    assert "A: sampled in CLOSING, which the model never reaches" in v.mismatch.kernel


def test_a_call_outcome_the_model_contradicts_is_reported(spec: Spec) -> None:
    rec = recording("connect-refused")
    rec.calls["A"][0] = {**rec.calls["A"][0], "ok": True, "errno": ""}
    v = check(spec, run_from_recording(rec))
    assert not v.conforms and v.mismatch is not None
    assert "connect() = ok" in v.mismatch.kernel
    assert "needs the connection is synchronized" in v.mismatch.why


def test_the_runs_tell_linux_from_rfc_9293() -> None:
    """Against the base spec the kernel's departures show: a FIN answered with a RST by
    the client whose FIN-WAIT-2 timed out, data after close() answered with a RST, and
    a reset carrying an ACK."""
    base = load_for_conformance(None)
    parted = {}
    for name in EXPECTED:
        v = check_run(base, run_from_recording(recording(name)), variant="base")
        if not v.conforms:
            assert v.mismatch is not None
            parted[name] = f"{v.mismatch.kernel} / {v.mismatch.why}"
    assert sorted(parted) == [
        "close-with-unread-data", "linger-zero", "server-never-closes", "write-after-peer-gone",
    ]  # fmt: skip
    # B's RST (to A's data) fits an earlier step of the model's path, a send decided
    # before the arrival just ahead of it (PROCESSING_SLACK); the data is then left over.
    assert parted["write-after-peer-gone"].startswith("B: receive ACK seq=1 ack=2 +10 bytes")
    assert "sends RST seq=1, but B sent RST+ACK seq=1 ack=11" in parted["close-with-unread-data"]
    # A's RST to B's late FIN, from a CLOSED A: base has no FIN-WAIT-2 timer to get there.
    assert parted["server-never-closes"].startswith("A: receive FIN+ACK seq=1 ack=2")
    assert "snd RST" in parted["server-never-closes"]


def test_data_after_close_is_reset_in_linux(spec: Spec) -> None:
    v = check(spec, run_from_recording(recording("write-after-peer-gone")))
    # (A path where B's orphaned FIN-WAIT-2 times out first and the closed B answers
    # the data with the same RST fits too; the one shown follows the kernel.)
    assert [s.label.text() for s in v.trace.steps][-3:] == [
        "A: SEND / snd ACK+DATA", "B: rcv DATA / snd RST", "A: rcv RST",
    ]  # fmt: skip


def test_abstraction_folds_numbers_onto_the_models_three_points() -> None:
    def seg(flags: str, seq: int, ack: int, length: int = 0, own: int | None = None,
            peer: int | None = None) -> str | None:  # fmt: skip
        s = abstract(Wire(0.0, "a", "b", flags, seq, ack, length), own_fin=own, peer_fin=peer)
        return s.describe() if s else None

    assert seg("SYN", 0, 0) == "SYN seq=0"
    assert seg("ACK", 1, 11) == "ACK seq=1 ack=1"  # acknowledges data: still before the FIN
    assert seg("FIN+ACK", 11, 1, own=11) == "FIN+ACK seq=1 ack=1"
    assert seg("ACK", 12, 2, own=11, peer=1) == "ACK seq=2 ack=2"
    assert seg("RST+ACK", 0, 1) == "RST+ACK seq=0 ack=1"
    assert seg("ACK", 1, 1, length=10) == "ACK+DATA seq=1 ack=1"


def test_a_forged_segment_is_placed_against_the_receivers_rcv_nxt() -> None:
    """The forged RSTs of the scenarios: at RCV.NXT (the abstraction's own point), and
    1000 bytes into the window (AHEAD, the attacker's in-window placement)."""
    exact = run_from_recording(recording("injected-rst-exact")).injected
    ahead = run_from_recording(recording("injected-rst-in-window")).injected
    assert [p.segment.describe() for p in (*exact, *ahead)] == ["RST seq=1", "RST seq=3"]
    v = check(
        load_for_conformance("linux"), run_from_recording(recording("injected-rst-in-window"))
    )
    forged = [s.label.text() for s in v.trace.steps if s.label.kind == "attack"]
    assert forged == ["A: rcv RST in window (forged RST seq=3) / snd ACK"]


def test_a_switch_guard_narrows_its_setting() -> None:
    from checker.model.guards import Guard, parse_guard

    on, off = parse_guard("TCP_RFC1337 != 0"), parse_guard("TCP_RFC1337 = 0")
    assert on.holds(passive=False, orphaned=True, una=1, retries=0, params={"TCP_RFC1337": 1})
    assert not off.holds(passive=False, orphaned=True, una=1, retries=0, params={"TCP_RFC1337": 1})

    def narrowed(guard: Guard, lo: int, hi: int) -> dict[str, tuple[int, int]] | None:
        return guard.narrow(
            passive=False, orphaned=True, una=1, retries=0, ranges={"TCP_RFC1337": (lo, hi)}
        )

    assert narrowed(on, 0, 16) == {"TCP_RFC1337": (1, 16)}
    assert narrowed(off, 0, 16) == {"TCP_RFC1337": (0, 0)}
    assert narrowed(off, 1, 16) is None
    assert str(on) == "TCP_RFC1337 != 0"


def test_a_mode_guard_narrows_its_setting_without_holes() -> None:
    """``P = N`` pins a setting of several modes; ``P != N`` trims a range only at its
    ends (a range has no holes, so it keeps N inside it: the search over-approximates)."""
    from checker.model.guards import parse_guard

    one, other = parse_guard("TCP_TW_REUSE = 1"), parse_guard("TCP_TW_REUSE != 1")
    for value, holds in ((0, False), (1, True), (2, False)):
        params = {"TCP_TW_REUSE": value}
        assert one.holds(passive=False, orphaned=False, una=1, retries=0, params=params) is holds
        assert other.holds(passive=False, orphaned=False, una=1, retries=0, params=params) is (
            not holds
        )

    def narrowed(text: str, lo: int, hi: int) -> dict[str, tuple[int, int]] | None:
        return parse_guard(text).narrow(
            passive=False, orphaned=False, una=1, retries=0, ranges={"TCP_TW_REUSE": (lo, hi)}
        )

    assert narrowed("TCP_TW_REUSE = 1", 0, 16) == {"TCP_TW_REUSE": (1, 1)}
    assert narrowed("TCP_TW_REUSE = 1", 2, 16) is None
    assert narrowed("TCP_TW_REUSE != 1", 1, 16) == {"TCP_TW_REUSE": (2, 16)}
    assert narrowed("TCP_TW_REUSE != 1", 0, 1) == {"TCP_TW_REUSE": (0, 0)}
    assert narrowed("TCP_TW_REUSE != 1", 0, 16) == {"TCP_TW_REUSE": (0, 16)}
    assert narrowed("TCP_TW_REUSE != 1", 1, 1) is None
    assert str(parse_guard("TCP_TW_REUSE != 1")) == "TCP_TW_REUSE != 1"


def test_connect_on_a_time_wait_is_linuxs_reuse_and_an_error_in_rfc_9293(spec: Spec) -> None:
    """tw-reuse: A's connect() takes its own TIME-WAIT's 4-tuple over (tcp_tw_reuse = 1).
    The first connection's path ends with that active OPEN, under the rule that needs
    the setting at 1; RFC 9293's OPEN in TIME-WAIT is an error
    ("connection already exists"), which `--variant base` names as Linux's departure."""
    first = runs_from_recording(recording("tw-reuse"))[0]
    opened = [o for o in first.observed["A"] if o.kind == "reopen"]
    assert [o.event for o in opened] == ["active OPEN"]
    v = check(spec, first)
    # The untimed search may also let the TIME-WAIT end first (any setting then has a
    # path, as with tcp_rfc1337); the path shown has no silent expiry: the reuse.
    assert v.conforms and v.chosen["TCP_TW_REUSE"] == 1
    last = v.trace.steps[-1]
    assert last.label.text() == "A: active OPEN" and last.state.a.state == "CLOSED"
    # RFC 9293's only path lets the TIME-WAIT end unseen (the untimed search allows it)
    # before the connect(): its instants rule that out, 2 MSL being far from over.
    base = check_run(load_for_conformance(None), first, variant="base")
    assert base.trace.steps[-1].label.text() == "A: timeout 2MSL"
    (checked,) = check_runs(conformance_target("base"), [first]).runs
    assert not checked.conforms and checked.timing is not None and not checked.timing.ok
    assert any(d.startswith("TIME-WAIT: active OPEN [TCP_TW_REUSE = 1] -> CLOSED (Linux net/ipv4/"
                            "tcp_ipv4.c (tcp_twsk_unique") for d in checked.departures)  # fmt: skip


def test_a_send_in_several_segments_is_its_segment_then_more_of_it(spec: Spec) -> None:
    """One send() of 60000 bytes in five segments: the model's segment for the call,
    then four SEND (continued) moves, each acknowledged by B; the FIN after them."""
    run = run_from_recording(recording("large-send-then-close"))
    data = [p for p in run.packets["A->B"] if p.wire.length]
    assert [p.cont for p in data] == [False, True, True, True, True]
    v = check(spec, run)
    assert v.conforms, v.mismatch
    texts = [s.label.text() for s in v.trace.steps]
    more = [i for i, t in enumerate(texts) if t == "A: SEND (continued) / snd ACK+DATA"]
    assert len(more) == 4 and texts.count("A: SEND / snd ACK+DATA") == 1
    assert texts.index("A: SEND / snd ACK+DATA") < more[0]
    assert more[-1] < texts.index("A: CLOSE / snd FIN+ACK")
    assert texts.count("B: rcv DATA / snd ACK") == 5


def test_data_no_call_began_is_not_a_continuation(spec: Spec) -> None:
    """Without the send() call in the recording, the data is nobody's: no path."""
    rec = recording("large-send-then-close")
    rec.calls["A"] = [c for c in rec.calls["A"] if c["op"] != "send"]
    run = run_from_recording(rec)
    assert not any(p.cont for p in run.packets["A->B"])
    v = check(spec, run)
    assert not v.conforms and v.mismatch is not None
    assert "+7240 bytes" in v.mismatch.kernel


def test_one_segment_of_three_sends_is_their_three_segments() -> None:
    """Three send() calls in one 30-byte segment: three packets at its instant, none a
    continuation, each the model's segment for its call."""
    run = run_from_recording(recording("coalesced-sends"))
    data = [p for p in run.packets["A->B"] if p.wire.length]
    assert [(p.wire.seq, p.wire.length, p.cont) for p in data] == [
        (1, 10, False), (11, 10, False), (21, 10, False),
    ]  # fmt: skip
    assert len({p.sent for p in data}) == 1 and len({p.arrived for p in data}) == 1


def test_a_fin_on_data_is_the_data_then_the_fin() -> None:
    """send(MSG_MORE) then close(): one wire segment, the model's two (data, then the
    FIN after it); the FIN sits after the data, so the peer's ACK of the data alone is
    still before the FIN and its ACK of both after it."""
    fin = Wire(0.5, "a", "b", "FIN+ACK", 1, 1, 10)
    acks = [Wire(0.6, "b", "a", "ACK", 1, 11, 0), Wire(0.6, "b", "a", "ACK", 1, 12, 0)]
    packets = make_packets({"A->B": [fin], "B->A": acks}, arrived={"A->B": [0.55]})
    data, closing = packets["A->B"]
    assert (data.segment.describe(), closing.segment.describe()) == (
        "ACK+DATA seq=1 ack=1",
        "FIN+ACK seq=1 ack=1",
    )
    assert (data.index, closing.index) == (0, 1) and data.arrived == closing.arrived == 0.55
    assert [p.segment.describe() for p in packets["B->A"]] == [
        "ACK seq=1 ack=1",
        "ACK seq=1 ack=2",
    ]


# ---------------------------------------------------------------- captures ---
def test_a_capture_at_the_client_conforms_with_losses_inferred(spec: Spec) -> None:
    v = check(spec, run_from_pcap(DATA / "pcap" / "last-ack-gives-up-client.pcap"))
    assert v.conforms
    # The client saw five FINs, each acknowledged: four ACKs must have been lost (the
    # fifth may still be on its way); the capture does not show the server giving up.
    assert v.parameters["ORPHAN_RETRIES"] == [(4, 16)] and v.as_given
    assert v.losses >= 3


def test_a_capture_at_the_server_conforms(spec: Spec) -> None:
    v = check(spec, run_from_pcap(DATA / "pcap" / "simultaneous-close-server.pcap"))
    assert v.conforms and any(s.state.b.state == "CLOSING" for s in v.trace.steps)


def two_connections(tmp_path: Path) -> Path:
    """The server's capture of two runs, the second's ports moved, in one file."""
    out = tmp_path / "two.pcap"
    with out.open("wb") as f:
        writer = dpkt.pcap.Writer(f)
        for shift, name in ((0, "last-ack-gives-up-client"), (1, "simultaneous-close-server")):
            with (DATA / "pcap" / f"{name}.pcap").open("rb") as g:
                reader = dpkt.pcap.Reader(g)
                link = reader.datalink()
                for ts, buf in reader:
                    frame = dpkt.sll.SLL(buf) if link == dpkt.pcap.DLT_LINUX_SLL else None
                    frame = frame or dpkt.ethernet.Ethernet(buf)
                    tcp = frame.data.data
                    if shift:
                        if tcp.dport == 80:
                            tcp.sport += 1000
                        else:
                            tcp.dport += 1000
                    writer.writepkt(bytes(frame), ts)
    return out


def test_a_capture_with_two_connections_needs_client(tmp_path: Path, spec: Spec) -> None:
    path = two_connections(tmp_path)
    with pytest.raises(UsageError, match=r"2 connections .*choose one with --client"):
        run_from_pcap(path)
    client = [w.src for w in read_segments(path) if w.flags == "SYN"][1]
    v = check(spec, run_from_pcap(path, client))
    assert v.conforms and client in v.name
    with pytest.raises(UsageError, match=r"no connection from 10\.9\.9\.9:1"):
        run_from_pcap(path, "10.9.9.9:1")


# --------------------------------------------------------------------- CLI ---
def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_cli_checks_a_capture_as_json() -> None:
    code, out = invoke("conform", "--pcap", str(DATA / "pcap" / "simultaneous-close-server.pcap"),
                       "--json")  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["conforms"] is True and doc["variant"] == "linux"
    (row,) = doc["scenarios"]
    assert {"name", "conforms", "mismatch", "parameters", "losses"} <= set(row)
    assert row["mismatch"] is None and row["trace"]


def test_cli_checks_a_capture_against_another_variant() -> None:
    """The client's capture of last-ack-gives-up has a path in RFC 9293's model too, but
    its retransmission instants follow Linux's probe schedule, not the RFC backoff."""
    pcap = str(DATA / "pcap" / "last-ack-gives-up-client.pcap")
    code, out = invoke("conform", "--pcap", pcap, "--variant", "base", "--json")
    (row,) = json.loads(out)["scenarios"]
    assert code == 1 and json.loads(out)["variant"] == "base"
    assert row["mismatch"] is None and row["timing"]["agrees"] is False
    agrees = [i["agrees"] for i in row["timing"]["instants"]]
    assert agrees == [True, False, False, False]
    code, out = invoke("conform", "--pcap", pcap, "--json")
    assert code == 0 and json.loads(out)["scenarios"][0]["timing"]["agrees"] is True


def test_the_command_prints_the_library_report() -> None:
    """`tcpcheck conform` only prints: its JSON is the report check_runs returns."""
    pcap = DATA / "pcap" / "last-ack-gives-up-client.pcap"
    report = check_runs(conformance_target("base"), [run_from_pcap(pcap)])
    (checked,) = report.runs
    assert checked.verdict.conforms and checked.timing is not None and not checked.timing.ok
    assert not checked.conforms and not report.conforms
    code, out = invoke("conform", "--pcap", str(pcap), "--variant", "base", "--json")
    assert code == 1 and json.loads(out) == json.loads(json.dumps(report.to_json(mismatch_chart)))


def test_the_report_names_the_retry_bounds_a_run_implies() -> None:
    runs = [run_from_recording(recording(n)) for n in ("last-ack-gives-up", "active-close")]
    report = check_runs(conformance_target("linux"), runs)
    assert report.conforms and report.defaults["ORPHAN_RETRIES"] == 9
    assert [c.implied() for c in report.runs] == [{"ORPHAN_RETRIES": [(4, 4)]}, {}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scenario", "nope"), "unknown scenario 'nope'"),
        (("--client", "1.2.3.4:5"), "--client picks a connection in a capture"),
        (("--pcap", "missing.pcap"), "missing.pcap: no such file"),
        (("--pcap", "x.pcap", "--scenario", "active-close"), "--pcap checks a capture"),
        (("--variant", "nope", "--pcap", "x.pcap"), "unknown variant 'nope'"),
    ],
)
def test_cli_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    code, out = invoke("conform", *args)
    assert code == 2 and message in out and "Traceback" not in out


# ----------------------------------------------------------------- instants ---
def timing(spec: Spec, name: str, overlay: Path | None = None) -> TimingReport:
    run = run_from_recording(recording(name))
    v = check(spec, run)
    assert v.conforms
    return check_instants(v, run, None if overlay else "linux", overlay)


def test_the_retransmissions_and_the_give_up_agree_with_the_timed_model(spec: Spec) -> None:
    report = timing(spec, "last-ack-gives-up")
    assert report.ok and report.params["ORPHAN_RETRIES"] == 4
    fitted, *resent, budget, gave_up, fin_wait_2, time_wait = report.rows
    # tcp_rto_min_us = 50 ms: a connection's RTO of 52 ms (rounded up to a jiffy).
    assert fitted.fitted and 0.05 < report.params["CONN_RTO"] < 0.07
    # tcp_orphan_retries = 1: a budget of 3 * 200 ms from the first RTO retransmission,
    # spent at the fourth expiry.
    assert budget.ok and budget.what == "ORPHAN_RETRIES: the run made 4 (4 by the budget)"
    assert [r.what for r in resent] == [
        f"timeout RETX in LAST-ACK after {k} retransmission(s)" for k in (1, 2, 3)
    ]
    assert gave_up.what.startswith("leaves LAST-ACK (timeout RETX)")
    assert "tcpcheck bound LAST-ACK" in gave_up.model
    # The model's stay: 16 RTO (probe, then 1, 2, 4, 8 RTO), about 0.92 s.
    assert gave_up.low <= gave_up.expected <= gave_up.high + 0.03
    # A's timers as ss shows them: the orphan's FIN-WAIT-2 and TIME-WAIT, 60 s each,
    # read from "timer:(timewait,59sec,0)" without waiting them out.
    assert (fin_wait_2.side, time_wait.side) == ("A", "A")
    assert "in FIN-WAIT-2: ss timer:(timewait,59sec,0)" in fin_wait_2.what
    assert "in TIME-WAIT: ss timer:(timewait" in time_wait.what
    assert time_wait.expected == 60 and time_wait.low <= 60 <= time_wait.high + 0.05


def test_the_orphaned_fin_wait_2_leaves_after_tcp_fin_timeout(spec: Spec) -> None:
    report = timing(spec, "server-never-closes")
    left, clock = report.rows
    assert report.params["FIN_TIMEOUT"] == 1.0 and left.ok and clock.ok
    assert left.what.startswith("leaves FIN-WAIT-2 (timeout FIN-WAIT-2)")
    # ss showed 988 ms left about 10 ms after the entry: 1 s, within the sampling round.
    assert "timer:(timewait,988ms,0)" in clock.what and clock.low <= 1.0 <= clock.high


def test_without_the_tail_loss_probe_the_instants_differ(spec: Spec, tmp_path: Path) -> None:
    """The RFC's backoff (RTO, 2 RTO, 4 RTO...) is not what Linux does for a FIN: the
    same run against the linux overlay without its per-state durations fails."""
    text = (Path(__file__).parent.parent / "spec" / "variants" / "linux.toml").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("durations = ")]
    overlay = tmp_path / "linux-rfc-backoff.toml"
    overlay.write_text("\n".join(lines).replace('name = "linux"', 'name = "linux-rfc"') + "\n")
    report = timing(spec, "last-ack-gives-up", overlay)
    assert not report.ok
    instants = [r.ok for r in report.rows if r.side]  # the counts' rows have no side
    assert instants[:5] == [True, False, False, False, False]


def test_within() -> None:
    assert within(0.060, 0.0577) and not within(0.060, 0.1155)


def test_the_fins_timer_runs_on_into_closing(spec: Spec, tmp_path: Path) -> None:
    """Linux keeps the FIN's retransmission timer running from FIN-WAIT-1 into CLOSING
    (as RFC 6298 §5.3 says: no new data was acknowledged).  The fitted RTO is then the
    interval from the FIN's first send, above tcp_rto_min; restarting the timer in
    CLOSING, as the model once did, fits an RTO below the kernel's floor."""
    row = timing(spec, "simultaneous-close").rows[0]
    assert row.fitted and row.ok and "in CLOSING" in row.what and row.low >= 0.2
    text = (Path(__file__).parent.parent / "spec" / "variants" / "linux.toml").read_text()
    overlay = tmp_path / "linux-restart.toml"
    overlay.write_text(
        text.replace('name = "linux"', 'name = "linux-restart"')
        + '\n[[transitions]]\nfrom = "FIN-WAIT-1"\nevent = "rcv FIN"\nto = "CLOSING"\n'
        'send = ["ACK"]\nref = "the timer restarts in CLOSING"\n'
    )
    row = timing(spec, "simultaneous-close", overlay).rows[0]
    assert not row.ok and row.low < 0.2


def _cut(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("cut", "where"),
    [
        (0, "file header"),  # empty
        (37, "record 0 (byte 24)"),  # a record header cut short
        (100, "record 0 (byte 24)"),  # a record's data cut short
    ],
)
def test_a_broken_capture_is_an_input_error(tmp_path: Path, cut: int, where: str) -> None:
    """An empty or truncated pcap: exit 2, naming the file, the record and its offset
    (it was a traceback and exit 1, which reads as "does not conform")."""
    whole = (
        Path(__file__).parent / "data" / "pcap" / "simultaneous-close-server.pcap"
    ).read_bytes()
    path = _cut(tmp_path, "cut.pcap", whole[:cut])
    got = CliRunner().invoke(cli, ["conform", "--pcap", str(path)])
    assert got.exit_code == 2, got.output
    assert f"cut.pcap: {where}" in got.output and "Traceback" not in got.output


def test_a_record_with_nothing_captured_is_an_input_error(tmp_path: Path) -> None:
    whole = (
        Path(__file__).parent / "data" / "pcap" / "simultaneous-close-server.pcap"
    ).read_bytes()
    # The first record's header with caplen 0, and nothing after it.
    little = whole[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    zero = (0).to_bytes(4, "little" if little else "big")
    path = _cut(tmp_path, "zero.pcap", whole[:24] + whole[24:32] + zero + zero)
    got = CliRunner().invoke(cli, ["conform", "--pcap", str(path)])
    assert got.exit_code == 2 and "zero.pcap: record 0 (byte 24)" in got.output


def test_a_run_that_parts_from_rfc_9293_names_linuxs_departure() -> None:
    """`conform --variant base`: a run that parts from RFC 9293 but not from the linux
    variant is told where Linux departs -- its rules, its timers -- with references."""
    names = ("linger-zero", "active-close", "connect-refused", "orphan-give-up-default")
    runs = [run_from_recording(recording(n)) for n in names]
    report = check_runs(conformance_target("base"), runs)
    linger, close, refused, orphan = report.runs
    assert not linger.conforms and linger.departures[0].startswith(
        "ESTABLISHED: ABORT / snd RST+ACK -> CLOSED (net/ipv4/tcp.c (tcp_disconnect"
    )
    # TIME-WAIT as ss showed it: 60 s, where the RFC's default is 2 MSL = 240 s.
    assert close.verdict.conforms and not close.conforms
    assert close.departures == (
        "timer 2MSL in TIME-WAIT lasts TIME_WAIT = 60 s at first (RFC 9293: TIME_WAIT = "
        "240 s; RFC 9293 §3.10.8, §3.6.1 (MUST-13))",
    )
    assert refused.conforms and refused.departures == ()
    assert any("[retries >= ORPHAN_RETRIES] -> CLOSED" in d for d in orphan.departures)
    row = report.to_json(mismatch_chart)["scenarios"][0]
    assert row["departures"] == list(linger.departures)


@pytest.mark.parametrize(
    ("pcap", "right", "wrong"),
    [("last-ack-gives-up-client.pcap", "client", "server"),
     ("simultaneous-close-server.pcap", "server", "client")],
)  # fmt: skip
def test_a_capture_taken_at_an_end_is_read_as_that_ends_view(
    spec: Spec, pcap: str, right: str, wrong: str
) -> None:
    """`--at client|server`: the capture's end received what it shows arriving, when it
    shows, and sent and received in the order shown; only its own segments may have
    been lost after it.  Said of the wrong end, the same capture parts from the model."""
    path = DATA / "pcap" / pcap
    (run,) = runs_from_pcap(path, at=right)
    side = "A" if right == "client" else "B"
    assert run.watched == (side,) and run.source.endswith(f"(at {right})")
    incoming = run.packets["B->A" if side == "A" else "A->B"]
    assert incoming and all(p.lost is False and p.arrived == p.sent for p in incoming)
    assert check(spec, run).conforms
    assert not check(spec, runs_from_pcap(path, at=wrong)[0]).conforms
    assert check(spec, runs_from_pcap(path, at="between")[0]).conforms
    with pytest.raises(UsageError, match="--at nowhere"):
        runs_from_pcap(path, at="nowhere")


def test_at_belongs_to_a_capture() -> None:
    code, out = invoke("conform", "--at", "client")
    assert code == 2 and "--at says where a capture was taken" in out
    pcap = str(DATA / "pcap" / "last-ack-gives-up-client.pcap")
    code, out = invoke("conform", "--pcap", pcap)
    assert code == 0 and "pass --at client or --at server" in out
    code, out = invoke("conform", "--pcap", pcap, "--at", "client", "--json")
    assert code == 0 and json.loads(out)["scenarios"][0]["source"].endswith("(at client)")


def _network_did(rec: Recording, side: str, change: str, flags: str, seq: int, ack: int,
                 at: float) -> Recording:  # fmt: skip
    """``rec`` as if the network between had reordered or duplicated one segment that
    reaches ``side``: ``change`` ``late`` moves its arrival to ``at`` (after segments
    sent after it), ``copy`` adds a second arrival of it at ``at``."""
    seen = list(rec.wire[side])
    (i,) = [k for k, w in enumerate(seen) if (w.flags, w.seq, w.ack) == (flags, seq, ack)
            and not w.src.startswith(("10.77.0.1:", "10.77.0.2:")[SIDE_INDEX[side]])]  # fmt: skip
    moved = dataclasses.replace(seen[i], t=rec.wall0 + at)
    if change == "late":
        del seen[i]
    seen.append(moved)
    seen.sort(key=lambda w: w.t)
    return dataclasses.replace(rec, wire={**rec.wire, side: seen})


SIDE_INDEX = {"A": 0, "B": 1}


def test_the_network_reordering_and_duplicating_is_inferred_from_the_two_captures(
    spec: Spec,
) -> None:
    """Where the receiver's capture shows a segment arriving after one sent after it,
    the network reordered them: the path delivers it from behind the channel's head.
    Where it shows a segment arriving twice that the sender's capture shows sent once,
    the network made a copy: it reaches the receiver from outside the channel, as the
    product's duplicating channel would deliver it.  The report counts both."""
    rec = recording("large-send-then-close")
    # B's ACK of 50680 bytes reaches A after B's next ACK: a stale ACK, ignored.
    late = _network_did(rec, "A", "late", "ACK", 6, 50681, 0.21863)
    run = run_from_recording(late)
    order = [o.index for o in run.observed["A"] if o.kind == "deliver"]
    assert order != sorted(order)
    v = check(spec, run)
    assert v.conforms and v.reordered == 1 and v.copies == 0
    assert check_runs(conformance_target("linux"), [run]).conforms
    # A's FIN reaches B twice: B acknowledges the copy too, on its delayed ACK.
    twice = _network_did(rec, "B", "copy", "FIN+ACK", 60001, 6, 0.2189)
    run = run_from_recording(twice)
    assert [p.origin for p in run.injected] == ["copy"]
    assert run.injected[0].segment.describe() == "FIN+ACK seq=1 ack=1"
    v = check(spec, run)
    assert v.conforms and v.copies == 1 and v.reordered == 0
    (checked,) = check_runs(conformance_target("linux"), [run]).runs
    assert checked.conforms
    row = checked.to_json(mismatch_chart)
    assert (row["reordered"], row["network_copies"]) == (0, 1)


def test_an_arrival_the_sender_never_sent_is_a_disagreement() -> None:
    rec = recording("active-close")
    seen = [*rec.wire["B"]]
    first = next(w for w in seen if w.src.startswith("10.77.0.1:"))
    seen.append(dataclasses.replace(first, seq=first.seq + 999, t=seen[-1].t))
    with pytest.raises(ValueError, match="never shows sent"):
        runs_from_recording(dataclasses.replace(rec, wire={**rec.wire, "B": seen}))


@pytest.mark.parametrize(
    ("name", "reordered", "copies", "shown"),
    [("network-reorders", 1, 0, "0 (+1 reordered)"),
     ("network-duplicates", 0, 2, "0 (+1 ACK merged, 2 copies)")],
)  # fmt: skip
def test_what_the_network_did_is_reported(
    name: str, reordered: int, copies: int, shown: str
) -> None:
    """Recorded through a forwarder between the sides: the report counts the deliveries
    that overtook earlier segments and the copies the network made, in the table and
    in JSON."""
    path = DATA / "recordings" / f"{name}.json"
    code, out = invoke("conform", "--recording", str(path), "--json")
    assert code == 0, out
    (row,) = json.loads(out)["scenarios"]
    assert (row["reordered"], row["network_copies"]) == (reordered, copies)
    code, out = invoke("conform", "--recording", str(path))
    assert code == 0 and shown in out
