"""The lossy conformance mode: captures read (Ethernet and nflog), connections classified
from synthetic evidence, counts against predictions with exact binomial intervals, the
command's input checks -- and, as root, a small batch of connections on this machine's
TCP (the counts add up, p = 0 loses nothing, nothing is left behind)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import dpkt  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

from checker.cli import cli
from checker.kernel import lossy
from checker.kernel.binomial import compare, frequency
from checker.kernel.lab import MARKER_PORT, Lab
from checker.kernel.lossy import (
    EXITS,
    NEVER,
    PORT,
    STILL,
    SYSCTLS,
    Evidence,
    LossyRun,
    classify,
    compare_run,
    outcome_name,
    run_lossy,
)
from checker.kernel.pcap import Seg, read_tcp
from checker.kernel.predict import lossy_predictor, model_outcomes

SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10
A_ISN, B_ISN = 1000, 5000


def a(flags: int, seq: int, ack: int = 0) -> Seg:
    """A segment A sent (numbers relative to the ISNs)."""
    return Seg(True, flags, A_ISN + seq, B_ISN + ack if flags & ACK else 0)


def b(flags: int, seq: int, ack: int = 0) -> Seg:
    return Seg(False, flags, B_ISN + seq, A_ISN + ack if flags & ACK else 0)


# The segments of a clean open and close: A's FIN at 1, B's at 1.
SYN_A, SYNACK_B, ACK_A = a(SYN, 0), b(SYN | ACK, 0, 1), a(ACK, 1, 1)
FIN_A, FINACK_B, LAST_A = a(FIN | ACK, 1, 1), b(FIN | ACK, 1, 2), a(ACK, 2, 2)
ACK_OF_FIN_B = b(ACK, 1, 2)


def clean(**changes: object) -> Evidence:
    ev = Evidence(
        20000,
        "ok",
        accepted=True,
        read="eof",
        sent_a=[SYN_A, ACK_A, FIN_A, LAST_A],
        sent_b=[SYNACK_B, FINACK_B],
        to_a=[SYNACK_B, FINACK_B],
        to_b=[SYN_A, ACK_A, FIN_A, LAST_A],
        end_a="TIME-WAIT",
    )
    for key, value in changes.items():
        setattr(ev, key, value)
    return ev


def test_a_clean_close_is_classified_as_the_model_names_it() -> None:
    out = classify(clean())
    assert out == {
        ("A", "SYN-SENT"): "rcv SYN+ACK",
        ("A", "FIN-WAIT-1"): "rcv FIN+ACK of FIN",
        ("A", "FIN-WAIT-2"): NEVER,
        ("A", "TIME-WAIT"): STILL,
        ("B", "SYN-RECEIVED"): "rcv ACK of SYN",
        ("B", "ESTABLISHED"): "rcv FIN",
        ("B", "LAST-ACK"): "rcv ACK of FIN",
    }
    assert set(out) == set(EXITS)


def test_b_gives_its_fin_up_or_is_still_there() -> None:
    """Every ACK of B's FIN lost: gone at the end is the orphan's give-up."""
    lost = clean(to_b=[SYN_A, ACK_A, FIN_A], sent_b=[SYNACK_B, FINACK_B, FINACK_B])
    assert classify(lost)["B", "LAST-ACK"] == "timeout RETX"
    lost.end_b = "LAST-ACK"
    assert classify(lost)["B", "LAST-ACK"] == STILL


def test_a_late_fin_after_fin_wait_2_draws_a_rst() -> None:
    """A went to FIN-WAIT-2 by a bare ACK; B's FIN came after A's timer: A answered with
    a RST (not an ACK), which reset B in LAST-ACK."""
    ev = clean(
        sent_a=[SYN_A, ACK_A, FIN_A, a(RST, 2)],
        sent_b=[SYNACK_B, ACK_OF_FIN_B, FINACK_B],
        to_a=[SYNACK_B, ACK_OF_FIN_B, FINACK_B],
        to_b=[SYN_A, ACK_A, FIN_A, a(RST, 2)],
        end_a=None,
    )
    out = classify(ev)
    assert out["A", "FIN-WAIT-1"] == "rcv ACK of FIN"
    assert out["A", "FIN-WAIT-2"] == "timeout FIN-WAIT-2"
    assert out["A", "TIME-WAIT"] == NEVER
    assert out["B", "LAST-ACK"] == "rcv RST"
    # Had A acknowledged the FIN, it was in FIN-WAIT-2 still: TIME-WAIT follows.
    ev.sent_a = [SYN_A, ACK_A, FIN_A, LAST_A]
    ev.to_b = [SYN_A, ACK_A, FIN_A, LAST_A]
    ev.end_a = "TIME-WAIT"
    out = classify(ev)
    assert out["A", "FIN-WAIT-2"] == "rcv FIN" and out["A", "TIME-WAIT"] == STILL
    assert out["B", "LAST-ACK"] == "rcv ACK of FIN"


def test_a_given_up_request_resets_the_fin() -> None:
    """A's ACK and FIN lost until B gave its request up: B answers the next FIN with a
    RST, which ends A's FIN-WAIT-1; B never accepted."""
    rst_b = Seg(False, RST, B_ISN + 1, 0)  # at the ACK number of the FIN it answers
    ev = Evidence(
        20001,
        "ok",
        sent_a=[SYN_A, ACK_A, FIN_A, FIN_A],
        sent_b=[SYNACK_B, SYNACK_B, SYNACK_B, rst_b],
        to_a=[SYNACK_B, rst_b],
        to_b=[SYN_A, FIN_A],
    )
    out = classify(ev)
    assert out["B", "SYN-RECEIVED"] == "timeout RETX"
    assert out["A", "FIN-WAIT-1"] == "rcv RST"
    assert out["B", "ESTABLISHED"] == NEVER and out["B", "LAST-ACK"] == NEVER


def test_a_gives_its_fin_up_and_b_waits_for_ever() -> None:
    ev = clean(
        read="pending",
        sent_a=[SYN_A, ACK_A, FIN_A, FIN_A, FIN_A],
        sent_b=[SYNACK_B],
        to_a=[SYNACK_B],
        to_b=[SYN_A, ACK_A],
        end_a=None,
        end_b="ESTABLISHED",
    )
    out = classify(ev)
    assert out["A", "FIN-WAIT-1"] == "timeout RETX"
    assert out["B", "ESTABLISHED"] == STILL and out["B", "LAST-ACK"] == NEVER


def test_the_fin_may_complete_the_handshake() -> None:
    """A's ACK lost, its FIN+ACK delivered: B leaves SYN-RECEIVED by rcv FIN."""
    out = classify(clean(to_b=[SYN_A, FIN_A, LAST_A]))
    assert out["B", "SYN-RECEIVED"] == "rcv FIN" and out["B", "ESTABLISHED"] == NEVER


def test_a_syn_given_up() -> None:
    out = classify(Evidence(20002, "ETIMEDOUT", sent_a=[SYN_A] * 6, to_b=[]))
    assert out["A", "SYN-SENT"] == "timeout RETX"
    assert all(how == NEVER for key, how in out.items() if key != ("A", "SYN-SENT"))


def _nflog(ip: bytes) -> bytes:
    """An nflog record as tcpdump writes it: a header, a hardware-protocol attribute,
    then the packet (attributes 4-byte aligned, their length and type little-endian)."""
    hwproto = struct.pack("<HH", 6, 1) + b"\x08\x00" + b"\0\0"
    payload = struct.pack("<HH", 4 + len(ip), 9) + ip
    payload += b"\0" * (-len(payload) % 4)
    return struct.pack("!BBH", 2, 0, 0) + hwproto + payload


def _ip(seg: Seg, client: int) -> dpkt.ip.IP:
    src, dst = (b"\x0a\x4d\x00\x01", b"\x0a\x4d\x00\x02")
    sport, dport = (client, PORT) if seg.from_a else (PORT, client)
    if not seg.from_a:
        src, dst = dst, src
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seg.seq, ack=seg.ack, flags=seg.flags)
    return dpkt.ip.IP(src=src, dst=dst, p=dpkt.ip.IP_PROTO_TCP, data=tcp)


def test_captures_are_read_by_connection_from_ethernet_and_nflog(tmp_path: Path) -> None:
    segs = [SYN_A, SYNACK_B, ACK_A, FIN_A, FINACK_B, LAST_A]
    eth_path, nflog_path = tmp_path / "A.pcap", tmp_path / "A-delivered.pcap"
    with eth_path.open("wb") as f:
        writer = dpkt.pcap.Writer(f)
        for i, s in enumerate(segs):
            frame = dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_IP, data=_ip(s, 20000))
            writer.writepkt(bytes(frame), ts=float(i))
            writer.writepkt(bytes(dpkt.ethernet.Ethernet(data=b"")), ts=float(i))  # not IP
    with nflog_path.open("wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=239)
        for i, s in enumerate(segs):
            writer.writepkt(_nflog(bytes(_ip(s, 20000 + i % 2))), ts=float(i))
    assert read_tcp(eth_path, PORT) == {20000: segs}
    assert read_tcp(nflog_path, PORT) == {20000: segs[0::2], 20001: segs[1::2]}
    (tmp_path / "empty.pcap").write_bytes(b"")
    assert read_tcp(tmp_path / "empty.pcap", PORT) == {}


def test_frequencies_have_exact_99_percent_intervals() -> None:
    f = frequency(5, 1000)
    assert (f.count, f.trials, f.share) == (5, 1000, 0.005)
    assert (round(f.low, 6), round(f.high, 6)) == (0.00108, 0.014085)
    assert frequency(0, 200).low == 0.0 and round(frequency(0, 200).high, 6) == 0.026144
    assert frequency(200, 200).high == 1.0
    with pytest.raises(ValueError):
        frequency(3, 2)


def test_a_count_agrees_when_its_interval_meets_the_predicted_range() -> None:
    assert compare("x", 5, 1000, (0.014, 0.5)).agrees  # meets at the interval's top
    assert compare("x", 5, 1000, (0.015, 0.5)).side == "below"
    assert compare("x", 60, 100, (0.3, 0.4)).side == "above"
    assert compare("x", 60, 100, (0.7, 0.7)).agrees
    assert compare("x", 60, 100, (0.73, 0.8)).side == "below"
    with pytest.raises(ValueError):
        compare("x", 1, 10, (0.5, 0.4))


def test_a_run_is_compared_with_a_mapping_or_a_function() -> None:
    evs = [clean(port=20000 + i) for i in range(90)]
    evs += [clean(port=20090 + i, to_b=[SYN_A, ACK_A, FIN_A]) for i in range(10)]
    run = LossyRun(0.2, 0.2, evs, [classify(ev) for ev in evs])
    assert run.counts()["B", "LAST-ACK"] == {"rcv ACK of FIN": 90, "timeout RETX": 10}
    shown = run.to_json()
    assert shown["outcomes"]["B leaves LAST-ACK by timeout RETX"]["count"] == 10
    assert shown["per_connection"]["rows"][-1][:2] == [20099, "rcv SYN+ACK"]
    assert shown["per_connection"]["rows"][-1][-1] == "timeout RETX"
    freq = run.frequencies()
    assert freq["B leaves LAST-ACK by timeout RETX"].count == 10
    assert freq["A leaves FIN-WAIT-2: never entered"].count == 100
    by_name = compare_run(
        run,
        {
            "B leaves LAST-ACK by timeout RETX": (0.1, 0.1),
            "B leaves LAST-ACK by rcv RST": (0.0, 0.0),  # never seen: a count of 0
            "A leaves SYN-SENT by timeout RETX": (0.2, 0.3),
        },
    )
    assert [(x.outcome, x.measured.count, x.agrees) for x in by_name] == [
        ("A leaves SYN-SENT by timeout RETX", 0, False),
        ("B leaves LAST-ACK by rcv RST", 0, True),
        ("B leaves LAST-ACK by timeout RETX", 10, True),
    ]
    asked: list[tuple[str, float, float]] = []

    def predict(name: str, p_ab: float, p_ba: float) -> tuple[float, float] | None:
        asked.append((name, p_ab, p_ba))
        return (0.0, 1.0) if name.startswith("B leaves LAST-ACK") else None

    by_function = compare_run(run, predict)
    assert {x.outcome for x in by_function} == {
        f"B leaves LAST-ACK{how}"
        for how in (
            " by rcv ACK of FIN", " by rcv RST", " by timeout RETX", ": still there at the end",
            ": never entered",
        )
    }  # fmt: skip
    assert (
        all(x.agrees for x in by_function)
        and ("B leaves LAST-ACK: never entered", 0.2, 0.2) in asked
    )
    with pytest.raises(ValueError, match="no such outcome: B leaves LAST-AK"):
        compare_run(run, {"B leaves LAST-AK by rcv RST": (0.0, 1.0)})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loss-rate", "0.1,1.5"], "'1.5' is not a probability"),
        (["--loss-rate", "x"], "'x' is not a probability"),
        (["--loss-rate", "0.1", "--scenario", "x", "--charts", "c"], "drop --scenario, --charts"),
    ],
)
def test_the_lossy_options_are_checked(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["conform", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_run_whose_captures_are_not_whole_is_repeated_then_marked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The captures' completeness depends on the machine's load, not on the connections:
    such a run is made again; still incomplete after the last attempt, it is shown so,
    not compared, and ``conform`` exits 3."""
    made: list[int] = []

    def once(p_ab: float, p_ba: float, n: int, *_args: object) -> LossyRun:
        made.append(n)
        evs = [clean(port=20000 + i) for i in range(n)]
        faults = [] if len(made) == 2 else ["B-delivered.pcap lost segments (1 buffer overflows)"]
        return LossyRun(p_ab, p_ba, evs, [classify(ev) for ev in evs], incomplete=faults)

    monkeypatch.setattr(lossy, "_run_once", once)
    assert run_lossy(0.0, 0.0, 5).incomplete == [] and made == [5, 5]
    made.clear()
    assert run_lossy(0.0, 0.0, 5, attempts=1).incomplete != [] and made == [5]
    monkeypatch.setattr("checker.kernel.lab.missing", lambda: [])
    made[:] = [0, 0]  # from now on every attempt is incomplete
    result = CliRunner().invoke(cli, ["conform", "--loss-rate", "0.1", "--connections", "5"])
    assert result.exit_code == 3, result.output
    assert "incomplete: B-delivered.pcap lost segments" in result.output
    assert "1 run(s) incomplete, not compared" in result.output
    assert made == [0, 0, 5, 5, 5]


def test_conform_predicts_once_per_set_of_sysctls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs made with the same sysctls share one prediction (its clocked products are
    built once), and each run is compared with it."""
    built: list[dict[str, str]] = []

    def once(p_ab: float, p_ba: float, n: int, *_args: object) -> LossyRun:
        evs = [clean(port=20000 + i) for i in range(n)]
        return LossyRun(p_ab, p_ba, evs, [classify(ev) for ev in evs], {"A": dict(SYSCTLS)})

    def predictor(sysctls: dict[str, str], *_args: object) -> Callable[..., tuple[float, float]]:
        built.append(sysctls)
        return lambda name, p_ab, p_ba: (0.0, 1.0)

    monkeypatch.setattr(lossy, "_run_once", once)
    monkeypatch.setattr("checker.kernel.lab.missing", lambda: [])
    monkeypatch.setattr("checker.kernel.predict.lossy_predictor", predictor)
    args = ["conform", "--loss-rate", "0.1,0.2", "--connections", "4", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert built == [SYSCTLS]
    runs = json.loads(result.output)["runs"]
    assert [len(run["compared"]) > 0 and run["incomplete"] == [] for run in runs] == [True, True]


@pytest.mark.kernel
def test_kernel_captures_catch_up_and_report_their_losses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marker reaches every capture (each holds what it must of it), and stopped
    captures report no buffer overflow on an idle lab."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with Lab(delivered=True, sample_every=5.0) as lab:
        assert lab.sync_captures(timeout=10)
        lost = lab.stop_captures()
        marks = {
            path.name: [s.flags for segs in read_tcp(path, MARKER_PORT).values() for s in segs]
            for path in (lab.pcap("A"), lab.pcap("B"), lab.delivered("A"), lab.delivered("B"))
        }
    assert lost == {"A.pcap": 0, "A-delivered.pcap": 0, "B.pcap": 0, "B-delivered.pcap": 0}
    assert marks == {
        "A.pcap": [SYN, RST | ACK],
        "B.pcap": [SYN, RST | ACK],
        "A-delivered.pcap": [RST | ACK],
        "B-delivered.pcap": [SYN],
    }
    assert _ours(tmp_path) == []


@pytest.mark.kernel
def test_kernel_a_capture_held_back_is_waited_for_and_its_losses_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's delivered capture stopped (SIGSTOP) while 3,000 segments reach B: the kernel
    drops what overflows its buffer, and stop_captures counts it; the marker waits for
    the capture to catch up once it runs again.  (With buffers this small the interface
    captures overflow too, held back or not: a burst outruns tcpdump.)"""
    import signal
    import sys

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr("checker.kernel.lab.CAPTURE_BUFFER_KIB", 64)
    with Lab(delivered=True, sample_every=5.0) as lab:
        held = lab.captures[lab.delivered("B")]
        held.send_signal(signal.SIGSTOP)
        flood = (
            "import socket\n"
            "for _ in range(3000):\n"
            "    s = socket.socket(); s.settimeout(1)\n"
            f"    try: s.connect(({lab.addr['B']!r}, {MARKER_PORT}))\n"
            "    except OSError: pass\n"
            "    s.close()\n"
        )
        lab.ns_run("A", sys.executable, "-c", flood)
        held.send_signal(signal.SIGCONT)
        assert lab.sync_captures(timeout=20)
        lost = lab.stop_captures()
        kept = sum(len(segs) for segs in read_tcp(lab.delivered("B"), MARKER_PORT).values())
    assert lost["B-delivered.pcap"] > 0 and kept < 3001, (lost, kept)
    assert _ours(tmp_path) == []


def _ours(tmp: Path) -> list[str]:
    """This process's namespaces, and processes still working in the lab's folder or
    started by this process, left behind."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    left = [line for line in names.splitlines() if f"-{os.getpid()}-" in line]
    left += [str(p) for p in tmp.iterdir()]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if str(tmp).encode() in cmdline or (ppid == os.getpid() and b"netns" in cmdline):
            left.append(f"process {proc.name}: {cmdline!r}")
    return left


@pytest.mark.kernel
def test_kernel_lossless_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At p = 0 nothing fails and the captures are whole (sent = delivered); nothing is
    left behind.  (The lossy runs are in the next test.)"""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    clean_run = run_lossy(0.0, 0.0, 50, rate=200.0)
    assert clean_run.incomplete == []
    counts = clean_run.counts()
    assert counts["A", "SYN-SENT"] == {"rcv SYN+ACK": 50}
    assert counts["B", "LAST-ACK"] == {"rcv ACK of FIN": 50}
    assert counts["A", "TIME-WAIT"] == {STILL: 50}
    assert all(s["sent"] == s["delivered"] for s in clean_run.segments().values())
    assert _ours(tmp_path) == []


@pytest.mark.kernel
def test_kernel_frequencies_lie_within_the_predicted_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 connections at each of three loss rates: every outcome's count lies within
    its confidence interval of the range the linux variant predicts
    (:mod:`checker.kernel.predict`).  The intervals are family-wise at 99% (Bonferroni
    over the outcomes compared: each at 1 - 0.01/m), so that the test fails by chance
    in at most 1% of runs; ``tcpcheck conform --loss-rate`` shows the per-outcome 99%
    intervals, which these runs also met when measured."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runs = [run_lossy(p, p, 1000) for p in (0.01, 0.05, 0.2)]
    assert [run.incomplete for run in runs] == [[], [], []]
    per_run = [compare_run(run, lossy_predictor(run.sysctls["A"])) for run in runs]
    m = sum(len(agreements) for agreements in per_run)
    assert m > 60  # every outcome of every classified state, at each rate
    confidence = 1 - 0.01 / m
    outside = [
        (run.loss_ab, a.outcome, a.measured.count, a.predicted)
        for run in runs
        for a in compare_run(run, lossy_predictor(run.sysctls["A"]), confidence)
        if not a.agrees
    ]
    assert outside == []
    # Every connection classified, every count adding up; losses happened as asked, and
    # outcomes other than the clean close were seen.
    high = runs[-1]
    assert len(high.outcomes) == len(high.connections) == 1000
    assert sorted(c.port for c in high.connections) == list(range(20000, 21000))
    for key, counter in high.counts().items():
        assert sum(counter.values()) == 1000, key
        assert set(counter) <= {*EXITS[key], NEVER, STILL}, (key, counter)
    assert high.sysctls["A"]["net.ipv4.tcp_orphan_retries"] == "1"
    rows = high.to_json()["per_connection"]["rows"]
    assert len(rows) == 1000 and rows[0][0] == 20000 and len(rows[0]) == 1 + len(EXITS)
    for seg in high.segments().values():
        assert 0.15 < 1 - seg["delivered"] / seg["sent"] < 0.25
    assert high.counts()["B", "LAST-ACK"]["timeout RETX"] > 0
    assert high.counts()["A", "FIN-WAIT-1"]["rcv FIN+ACK of FIN"] > 100
    assert _ours(tmp_path) == []


def test_the_prediction_is_the_lab_workload_clocked() -> None:
    """The predicted ranges at the lab's settings: the handshake and the close almost
    never fail at 1%; at 20% B gives its FIN up after three (CONN_RTO 0.2 s) or two
    (from 0.3 s) retransmissions, so its range runs from (1 - 0.8^2)^4 to about
    (1 - 0.8^2)^3; a lab name maps to the model's outcomes."""
    predict = lossy_predictor(SYSCTLS)
    low, high = predict("B leaves LAST-ACK by timeout RETX", 0.2, 0.2)  # type: ignore[misc]
    assert low == pytest.approx(0.36**4, rel=1e-2) and 0.046 < high < 0.36**3
    low, high = predict("A leaves SYN-SENT by rcv SYN+ACK", 0.01, 0.01)  # type: ignore[misc]
    assert low > 0.999999
    # With both ends' RTO at 3 s (the hull's slow end) B's FIN can come after A's 2 s
    # FIN-WAIT-2 timer: TIME-WAIT is then never entered, about 5% of the time at p = 5%.
    still = predict("A leaves TIME-WAIT: still there at the end", 0.05, 0.05)
    assert still is not None and still[0] == pytest.approx(0.9523, abs=1e-4) and still[1] > 0.9997
    # The run ends long before TIME-WAIT's 60 s: a TIME-WAIT gone by its timer is not
    # predicted; every other name of every classified state is.
    assert predict("A leaves TIME-WAIT by timeout 2MSL", 0.2, 0.2) is None
    for side, state in EXITS:
        for how in (*EXITS[side, state], NEVER, STILL):
            name = outcome_name(side, state, how)
            if name != "A leaves TIME-WAIT by timeout 2MSL":
                assert predict(name, 0.05, 0.05) is not None, name
    assert model_outcomes("B leaves ESTABLISHED: still there at the end") == (
        "B", "ESTABLISHED", ("stays",),
    )  # fmt: skip
    assert model_outcomes("nonsense") is None
