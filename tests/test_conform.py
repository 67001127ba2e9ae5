"""Conformance checking on recorded kernel runs (tests/data/recordings: the scenarios as
this machine's Linux 6.18 ran them) and captures (tests/data/pcap) -- no root needed.

The recordings pin what the check decides; tests/test_kernel_scenarios.py runs the
scenarios afresh on the kernel at hand."""

from __future__ import annotations

import dataclasses
import json
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
from checker.kernel.runs import Run, abstract, run_from_pcap, run_from_recording
from checker.kernel.scenarios import SCENARIOS
from checker.model.load import load_spec
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
    return check_run(spec, run, defaults=load_spec(variant="linux").values)


# name -> (losses, ORPHAN_RETRIES the run allows, whether the variant's own values do)
EXPECTED = {
    "active-close": (0, [ALL], True),
    "server-never-closes": (0, [ALL], True),
    "final-acks-lost": (2, [(2, 16)], True),
    # Linux's tcp_orphan_retries = 1 is a time budget: 600 ms after the first
    # retransmission, which here is four retransmissions (the variant's count is 8).
    "last-ack-gives-up": (5, [(4, 4)], False),
    "simultaneous-close": (1, [(1, 16)], True),
    "connect-refused": (0, [ALL], True),
    "linger-zero": (0, [ALL], True),
    "write-after-peer-gone": (0, [ALL], True),
    "close-with-unread-data": (0, [ALL], True),
}


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
            parted[name] = v.mismatch.why
    assert sorted(parted) == [
        "close-with-unread-data", "linger-zero", "server-never-closes", "write-after-peer-gone",
    ]  # fmt: skip
    assert "sends ACK seq=2 ack=1, but B sent RST seq=2" in parted["write-after-peer-gone"]
    assert "sends RST seq=1, but B sent RST+ACK seq=1 ack=11" in parted["close-with-unread-data"]
    assert "sends ACK seq=2 ack=2, but A sent RST seq=2" in parted["server-never-closes"]


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
    assert report.conforms and report.defaults["ORPHAN_RETRIES"] == 8
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
    fitted, *resent, gave_up, fin_wait_2, time_wait = report.rows
    assert fitted.fitted and 0.05 < report.params["RTO"] < 0.07  # tcp_rto_min_us = 50 ms
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
    assert [r.ok for r in report.rows][:5] == [True, False, False, False, False]


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
