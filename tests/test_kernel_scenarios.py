"""The conformance scenarios on this machine's kernel: each run recorded, and the facts
the issue lists about Linux checked on the recording (skipped, with the reason, without
root or the tools; CI runs as root and setup.sh installs the tools)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from checker.cli import cli
from checker.kernel.conform import check_run, load_for_conformance
from checker.kernel.instants import check_instants
from checker.kernel.recording import Recording
from checker.kernel.runs import run_from_recording
from checker.kernel.scenarios import SCENARIOS
from checker.kernel.scenarios import record as record_afresh
from checker.model.load import load_spec

pytestmark = pytest.mark.kernel

_RECORDED: dict[str, Recording] = {}


def record(name: str) -> Recording:
    """Each scenario runs once per test session: its facts and its conformance are
    checked on the same recording."""
    if name not in _RECORDED:
        _RECORDED[name] = record_afresh(name)
    return _RECORDED[name]


def errors(rec: Recording, side: str) -> list[str]:
    return [c.get("errno", "ok") for c in rec.calls.get(side, [])]


def test_active_close() -> None:
    rec = record("active-close")
    assert rec.states("A")[-2:] == ["FIN-WAIT-2", "TIME-WAIT"]
    assert "CLOSE-WAIT" in rec.states("B")
    assert rec.flow("B")[3:] == [
        ("A->B", "FIN+ACK"), ("B->A", "ACK"), ("B->A", "FIN+ACK"), ("A->B", "ACK"),
    ]  # fmt: skip


def test_an_orphaned_fin_wait_2_leaves_and_the_late_fin_draws_a_rst() -> None:
    rec = record("server-never-closes")
    # Sampling may catch the short FIN-WAIT-1 or not; FIN-WAIT-2 lasts a second.
    assert rec.states("A")[-1] == "FIN-WAIT-2" and "TIME-WAIT" not in rec.states("A")
    assert rec.flow("B")[-2:] == [("B->A", "FIN+ACK"), ("A->B", "RST")]


def test_time_wait_acknowledges_every_retransmitted_fin() -> None:
    rec = record("final-acks-lost")
    tail = rec.flow("B")[5:]
    assert tail == [("B->A", "FIN+ACK"), ("A->B", "ACK")] * 3  # two ACKs lost, one not
    assert rec.states("A")[-1] == "TIME-WAIT"


def test_last_ack_gives_up_without_a_rst() -> None:
    rec = record("last-ack-gives-up")
    flow = rec.flow("B")
    assert flow.count(("B->A", "FIN+ACK")) >= 2 and ("B->A", "RST") not in flow
    assert ("B->A", "RST+ACK") not in flow
    last_ack = [s.t for s in rec.samples if s.side == "B" and s.state == "LAST-ACK"]
    latest = max(s.t for s in rec.samples)
    assert last_ack and max(last_ack) < latest - 0.2  # gone well before the end


def test_simultaneous_close_shows_closing() -> None:
    rec = record("simultaneous-close")
    assert "CLOSING" in rec.states("B")
    assert rec.states("B")[-1] == "TIME-WAIT" and rec.states("A")[-1] == "TIME-WAIT"


def test_a_write_to_a_peer_gone_draws_a_rst_then_epipe() -> None:
    rec = record("write-after-peer-gone")
    assert errors(rec, "A") == ["ok", "ok", "EPIPE"]
    assert rec.flow("A")[-1] == ("B->A", "RST")


def test_linger_zero_sends_rst_and_no_time_wait() -> None:
    rec = record("linger-zero")
    assert rec.flow("B")[-1] == ("A->B", "RST+ACK")
    assert "TIME-WAIT" not in rec.states("A") and ("A->B", "FIN+ACK") not in rec.flow("B")


def test_connect_to_no_listener_is_refused() -> None:
    rec = record("connect-refused")
    assert errors(rec, "A") == ["ECONNREFUSED"]
    assert rec.flow("A") == [("A->B", "SYN"), ("B->A", "RST+ACK")]


def test_close_with_unread_data_sends_rst() -> None:
    rec = record("close-with-unread-data")
    assert rec.flow("A")[-1] == ("B->A", "RST+ACK")
    assert ("B->A", "FIN+ACK") not in rec.flow("A")


def test_every_scenario_is_tested() -> None:
    assert len(SCENARIOS) == 9


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_kernel_conforms_to_the_linux_variant(name: str) -> None:
    run = run_from_recording(record(name))
    verdict = check_run(
        load_for_conformance("linux"), run, defaults=load_spec(variant="linux").values
    )
    assert verdict.conforms, verdict.mismatch
    timing = check_instants(verdict, run, "linux")
    assert timing.ok, [r for r in timing.rows if not r.ok]


def test_the_conform_command_on_this_kernel() -> None:
    """`tcpcheck conform` end to end: the scenario run, checked, as JSON."""
    result = CliRunner().invoke(cli, ["conform", "--scenario", "connect-refused", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    (row,) = doc["scenarios"]
    assert doc["conforms"] and row["name"] == "connect-refused" and row["mismatch"] is None
