"""The harness that drives this machine's TCP stack (skipped, with the reason, without
root, ip, ss, nft or tcpdump; setup.sh installs the tools and CI runs as root)."""

from __future__ import annotations

import subprocess
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
        assert lab.do("B", "recv", timeout=1) == {"ok": True, "received": 0}  # the FIN
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
        lab.do("B", "recv", timeout=1)
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
