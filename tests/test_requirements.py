"""The requirement index: every RFC 9293 requirement id the spec cites, with its rules."""

from __future__ import annotations

from pathlib import PurePosixPath

from checker.docs import generate
from checker.model.load import load_spec
from checker.model.requirements import requirement_index


def test_the_base_cites_the_connection_management_requirements_with_their_rules() -> None:
    index = requirement_index(load_spec())
    # MUST-10: simultaneous open; MUST-11: SYN-RECEIVED remembers how it was reached.
    assert index["MUST-10"] == ["rule SYN-SENT: rcv SYN / snd SYN+ACK -> SYN-RECEIVED"]
    assert "rule SYN-RECEIVED: rcv RST [passive] -> LISTEN" in index["MUST-11"]
    assert "timer 2MSL" in index["MUST-13"]
    assert "parameter SYN_RETRIES" in index["MUST-23"]
    assert "parameter FIN_RETRIES" in index["SHLD-11"]
    # Requirements not taken are cited by the choice that says so.
    assert index["MAY-2"] == ["choice: Reopening from TIME-WAIT"]
    assert index["MUST-12"] == ["choice: What the application is told"]
    levels = [rid.split("-")[0] for rid in index]
    assert levels == sorted(levels, key=("MUST", "SHLD", "MAY").index)


def test_a_variant_cites_what_it_takes() -> None:
    index = requirement_index(load_spec(variant="linux"))
    assert any(w.startswith("rule FIN-WAIT-2: rcv DATA [orphaned]") for w in index["SHLD-3"])


def test_the_specification_prints_the_index() -> None:
    files = generate(variants=[None], properties=False)
    page = files[PurePosixPath("docs/specification.md")].decode()
    assert "## Requirements" in page
    assert "| MUST-10 | rule SYN-SENT: rcv SYN / snd SYN+ACK -> SYN-RECEIVED |" in page
