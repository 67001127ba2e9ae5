"""The harness that drives this machine's TCP stack (skipped, with the reason, without
root, ip, ss, nft or tcpdump; setup.sh installs the tools and CI runs as root)."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from checker.kernel.lab import Lab
from checker.kernel.pcap import read_segments

pytestmark = pytest.mark.kernel


def wire(path: Path) -> list[tuple[str, str, int, int]]:
    """(direction, flags, seq, ack) of each captured segment; A is 10.77.0.1."""
    return [
        ("A->B" if w.src.startswith("10.77.0.1:") else "B->A", w.flags, w.seq, w.ack)
        for w in read_segments(path)
    ]


def namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_an_active_close_is_captured_sampled_and_cleaned_up(tmp_path: Path) -> None:
    """The client closes first: every segment captured on both sides with the model's
    relative numbers, the client's states sampled in order, every call's result kept,
    and nothing left behind."""
    with Lab({"net.ipv4.tcp_fin_timeout": "2"}, keep=tmp_path) as lab:
        tags = set(lab.ns.values())
        assert lab.do("B", "listen", port=80)["ok"]
        assert lab.do("A", "connect", host="10.77.0.2", port=80)["ok"]
        assert lab.do("B", "accept")["ok"]
        assert lab.do("A", "close")["ok"]
        time.sleep(0.1)  # past Linux's ~40 ms delayed ACK of the FIN: B acknowledges apart
        assert lab.do("B", "recv", wait=1) == {"ok": True, "received": 0}  # the FIN
        assert lab.do("B", "close")["ok"]
        time.sleep(0.2)
        client = [
            s.state for s in lab.samples if s.side == "A" and s.local.endswith(":80") is False
        ]
        log = [entry["op"] for entry in lab.agents["B"].log]
    expected = [
        ("A->B", "SYN", 0, 0),
        ("B->A", "SYN+ACK", 0, 1),
        ("A->B", "ACK", 1, 1),
        ("A->B", "FIN+ACK", 1, 1),
        ("B->A", "ACK", 1, 2),
        ("B->A", "FIN+ACK", 1, 2),
        ("A->B", "ACK", 2, 2),
    ]
    assert wire(tmp_path / "A.pcap") == expected
    assert wire(tmp_path / "B.pcap") == expected
    seen = [s for i, s in enumerate(client) if i == 0 or client[i - 1] != s]
    assert "TIME-WAIT" in seen and seen.index("TIME-WAIT") == len(seen) - 1
    assert log == ["listen", "accept", "recv", "close"]
    assert not tags & set(namespaces().split())


def test_a_lost_final_ack_is_exact_and_answered_again(tmp_path: Path) -> None:
    """nftables in B's input hook loses exactly the first pure ACK after the rule (the
    final ACK): B retransmits its FIN, A in TIME-WAIT acknowledges it again; the
    capture on B's interface still sees the lost ACK (tcpdump runs before the hook)."""
    with Lab({"net.ipv4.tcp_rto_min_us": "50000"}, keep=tmp_path) as lab:
        lab.do("B", "listen", port=80)
        lab.do("A", "connect", host="10.77.0.2", port=80)
        lab.do("B", "accept")
        lab.do("A", "close")
        time.sleep(0.1)
        lab.do("B", "recv", wait=1)
        lab.drop("B", "tcp flags == ack", 1, 52)
        lab.do("B", "close")
        time.sleep(0.6)
        rules = lab.ns_run("B", "nft", "list", "ruleset")
    assert "used 52 bytes" in rules  # one 52-byte segment dropped, and only one
    tail = wire(tmp_path / "B.pcap")[5:]
    assert tail == [
        ("B->A", "FIN+ACK", 1, 2),
        ("A->B", "ACK", 2, 2),  # lost in B's input hook
        ("B->A", "FIN+ACK", 1, 2),  # the retransmission
        ("A->B", "ACK", 2, 2),
    ]


def test_everything_is_removed_when_a_run_fails() -> None:
    """Namespaces and processes go away also when the run raises."""
    with pytest.raises(RuntimeError, match="boom"), Lab() as lab:
        tags = set(lab.ns.values())
        agent = lab.agent("A")
        raise RuntimeError("boom")
    assert not tags & set(namespaces().split())
    assert agent.proc.poll() is not None


def test_two_labs_at_once_do_not_meet(tmp_path: Path) -> None:
    """Labs in threads of one process get namespaces and interfaces of their own; each
    capture holds its own connection only."""
    names: list[set[str]] = []
    failed: list[BaseException] = []

    def run(where: Path, port: int) -> None:
        try:
            with Lab(keep=where) as lab:
                names.append({*lab.ns.values(), *lab.veth.values()})
                lab.do("B", "listen", port=port)
                lab.do("A", "connect", host="10.77.0.2", port=port)
                lab.do("B", "accept")
                lab.do("A", "linger0")
                lab.do("A", "close")
                time.sleep(0.1)
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=run, args=(tmp_path / str(port), port)) for port in (81, 82)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failed
    assert len(names) == 2 and not names[0] & names[1]
    for port in (81, 82):
        ports = {w.dst.split(":")[1] for w in read_segments(tmp_path / str(port) / "A.pcap")}
        assert str(port) in ports and len(ports) == 2  # the server's port and the client's


def test_calls_at_one_instant_and_a_port_held_by_time_wait(tmp_path: Path) -> None:
    """``together`` starts both calls within a millisecond.  With tcp_tw_reuse = 0 a
    connect() whose only ephemeral port is held by its TIME-WAIT fails with
    EADDRNOTAVAIL; but one from that port bound explicitly (SO_REUSEADDR) takes the
    TIME-WAIT over at once -- tcp_twsk_unique reuses it for a bound port whatever
    tcp_tw_reuse says, timestamps on -- its SYN numbered old SND.NXT + 65537."""
    settings = {"net.ipv4.tcp_tw_reuse": "0", "net.ipv4.ip_local_port_range": "40000 40000"}
    with Lab(settings, keep=tmp_path) as lab:
        lab.do("B", "listen", port=80)
        assert lab.do("A", "connect", host="10.77.0.2", port=80, local_port=40000)["ok"]
        lab.do("B", "accept")
        lab.do("A", "send", bytes=1)
        time.sleep(0.05)
        a, b = lab.together(("A", "close", {}), ("B", "recv", {"wait": 1}))
        assert a["ok"] and b == {"ok": True, "received": 1}
        starts = [lab.agents[side].log[-1]["start"] for side in ("A", "B")]
        assert abs(starts[0] - starts[1]) < 0.001
        assert lab.agents["A"].log[-1]["at"] <= min(starts)
        assert lab.drain("B") == 0
        lab.do("B", "close")
        time.sleep(0.1)
        ephemeral = lab.do("A", "connect", host="10.77.0.2", port=80)
        bound = lab.do("A", "connect", host="10.77.0.2", port=80, local_port=40000)
    assert ephemeral == {"ok": False, "errno": "EADDRNOTAVAIL"}
    assert bound == {"ok": True, "local": "10.77.0.1:40000"}
    syns = [seq for chan, flags, seq, _ack in wire(tmp_path / "A.pcap") if flags == "SYN"]
    assert syns == [0, 3 + 65537]  # after the byte and the FIN


def test_a_forged_rst_is_taken_for_the_peers(tmp_path: Path) -> None:
    """A RST forged at the client's RCV.NXT, sent from the server's namespace with its
    address, resets the client (the checksums are right) and is recorded as injected."""
    with Lab(keep=tmp_path) as lab:
        lab.do("B", "listen", port=80)
        lab.do("A", "connect", host="10.77.0.2", port=80)
        lab.do("B", "accept")
        lab.do("B", "send", bytes=5)
        time.sleep(0.05)
        inj = lab.inject("A", "RST", 0, note="test")
        time.sleep(0.05)
        assert lab.do("A", "recv", wait=1) == {"ok": True, "received": 5}
        assert lab.do("A", "recv", wait=1) == {"ok": False, "errno": "ECONNRESET"}
        assert lab.injected == [inj] and "forger in B" not in lab.agents
    assert (inj.receiver, inj.flags, inj.seq, inj.ack) == ("A", "RST", 6, 0)
    assert ("B->A", "RST", 6, 0) in wire(tmp_path / "B.pcap")  # it left B's interface
