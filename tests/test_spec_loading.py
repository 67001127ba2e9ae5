"""Load-time validation: every mistake is one clear message, exit status 2, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bundled import BUNDLED_VARIANTS
from click.testing import CliRunner

from checker.cli import cli
from checker.errors import SpecError, UsageError
from checker.model.load import bundled_spec_path, list_variants, load_spec

BUNDLED = bundled_spec_path().read_text(encoding="utf-8")


def edited(tmp_path: Path, old: str, new: str, *, count: int = 1) -> Path:
    """A copy of the bundled spec with ``old`` replaced by ``new`` (which must occur)."""
    assert BUNDLED.count(old) >= count, old
    path = tmp_path / "tcp.toml"
    path.write_text(BUNDLED.replace(old, new, count), encoding="utf-8")
    return path


def assert_cli_fails_cleanly(path: Path, *fragments: str) -> None:
    result = CliRunner().invoke(cli, ["explore", "--spec", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


CASES = {
    "malformed TOML": ('name = "tcp"', 'name = "tcp', ["malformed TOML", "line"]),
    "unknown target state": (
        'to = "ESTABLISHED"\nfigure5 = 9',
        'to = "ESTABLISH"\nfigure5 = 9',
        ["transitions[", "unknown state 'ESTABLISH'", "did you mean 'ESTABLISHED'?"],
    ),
    "transition from nowhere": (
        'from = "LAST-ACK"\nevent = "rcv ACK of FIN"',
        'from = "LAST-ACKK"\nevent = "rcv ACK of FIN"',
        ["unknown state 'LAST-ACKK'", "did you mean 'LAST-ACK'?"],
    ),
    "unknown event": (
        'event = "rcv FIN"\nto = "CLOSE-WAIT"\nsend = ["ACK"]\nfigure5 = 13',
        'event = "rcv FN"\nto = "CLOSE-WAIT"\nsend = ["ACK"]\nfigure5 = 13',
        ["unknown event 'rcv FN'", "did you mean 'rcv FIN'?"],
    ),
    "acceptance value": (
        'too_old_ack = "ignore"',
        'too_old_ack = "ignor"',
        ["acceptance", "too_old_ack = 'ignor' is not one of ignore, challenge", "'ignore'"],
    ),
    "acceptance key": (
        'too_old_ack = "ignore"',
        'too_old = "ignore"',
        ["acceptance", "unknown key 'too_old'", "did you mean 'too_old_ack'?"],
    ),
    "unknown key": (
        'to = "CLOSE-WAIT"\nsend = ["ACK"]\nfigure5 = 13',
        'too = "CLOSE-WAIT"\nsend = ["ACK"]\nfigure5 = 13',
        ["unknown key 'too'", "did you mean 'to'?"],
    ),
    "missing reference": (
        'figure5 = 13\nref = "RFC 9293 §3.10.7.4 (eighth, check the FIN bit); '
        '§3.6 case 2; Figure 5"',
        "figure5 = 13",
        ["missing 'ref'"],
    ),
    "unknown segment to send": (
        'send = ["SYN+ACK"]\nfigure5 = 5',
        'send = ["SYNACK"]\nfigure5 = 5',
        ["unknown segment in 'send' 'SYNACK'", "did you mean 'SYN+ACK'?"],
    ),
    "rules without a guard to tell them apart": (
        'event = ["rcv RST", "rcv RST in window"]\nguard = "passive"\nto = "LISTEN"',
        'event = ["rcv RST", "rcv RST in window"]\nto = "LISTEN"',
        ["two rules for 'rcv RST' in SYN-RECEIVED", "no guard to tell them apart"],
    ),
    "guard syntax": (
        'guard = "passive"\nto = "LISTEN"',
        'guard = "pasive"\nto = "LISTEN"',
        ["cannot read guard atom 'pasive'"],
    ),
    "guard on an unknown parameter": (
        'guard = "retries < SYN_RETRIES"',
        'guard = "retries < SYN_RETIRES"',
        ["guard refers to unknown parameter 'SYN_RETIRES'", "did you mean 'SYN_RETRIES'?"],
    ),
    "bad sequence level": (
        'sent = "SYN"\nreceived = "none"',
        'sent = "SYNN"\nreceived = "none"',
        ["'sent' must be one of none, SYN, FIN"],
    ),
    "timer policy typo": (
        'untimed = "quiescent"',
        'untimed = "quiet"',
        ["'untimed' must be one of"],
    ),
    "parameter cycle": ("value = 120", 'value = "TIME_WAIT / 2"', ["cycle"]),
    "unknown parameter in a value": (
        'value = "2 * MSL"',
        'value = "2 * MLS"',
        ["unknown parameter 'MLS'", "did you mean 'MSL'?"],
    ),
    "value syntax": ('value = "2 * MSL"', 'value = "2 * * MSL"', ["column 5"]),
    "initial state unknown": (
        'initial = "CLOSED"',
        'initial = "CLOSE"',
        ["protocol.initial", "did you mean 'CLOSED'?"],
    ),
    "total event missing in a state": (
        'from = ["CLOSING", "LAST-ACK", "TIME-WAIT"]\nevent = "ABORT"',
        'from = ["CLOSING", "LAST-ACK"]\nevent = "ABORT"',
        ["no rule for 'ABORT' in state TIME-WAIT"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_spec_mistake_is_one_clear_message(tmp_path: Path, case: str) -> None:
    old, new, fragments = CASES[case]
    path = edited(tmp_path, old, new)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(str(path)) or message.startswith(path.name) or str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert_cli_fails_cleanly(path, *fragments)


def test_overlapping_guards_are_found_when_they_overlap(tmp_path: Path) -> None:
    # Two retransmission rules in SYN-SENT whose guards both hold while retries < 1.
    path = edited(tmp_path, 'guard = "retries >= SYN_RETRIES"', 'guard = "retries >= ONE"')
    text = path.read_text(encoding="utf-8").replace(
        "[parameters.RTO]",
        '[parameters.ONE]\nvalue = 0\nunit = "count"\ndescription = "x"\n'
        'ref = "test"\n\n[parameters.RTO]',
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"rules overlap: in SYN-SENT .* both 'timeout RETX"):
        load_spec(path)
    assert_cli_fails_cleanly(path, "rules overlap")


def test_missing_rule_for_a_receivable_segment_is_found_at_load_time(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        'from = "LAST-ACK"\nevent = "rcv ACK"\nto = "same"',
        'from = "LAST-ACK"\nevent = "rcv ACK of SYN"\nto = "same"',
    )
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert "no rule for 'rcv ACK' in state LAST-ACK" in message
    assert re.search(r"receiving ACK seq=\d ack=\d", message)
    assert_cli_fails_cleanly(path, "no rule for 'rcv ACK' in state LAST-ACK")


def test_unreachable_state_is_rejected(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        '[[states]]\nname = "LISTEN"',
        '[[states]]\nname = "LIMBO"\ndescription = "nowhere"\nsent = "none"\n'
        'received = "none"\n\n[[transitions]]\nfrom = "LIMBO"\n'
        'event = ["CLOSE", "ABORT", "active OPEN", "passive OPEN"]\n'
        'to = "same"\nref = "test"\n\n[[transitions]]\nfrom = "LIMBO"\n'
        'event = ["rcv SYN", "rcv SYN+ACK", "rcv ACK", "rcv FIN", "rcv RST"]\n'
        'to = "same"\nref = "test"\n\n[[states]]\nname = "LISTEN"',
    )
    with pytest.raises(SpecError, match="state LIMBO is unreachable from CLOSED"):
        load_spec(path)
    assert_cli_fails_cleanly(path, "unreachable")


def test_missing_file_is_one_message(tmp_path: Path) -> None:
    assert_cli_fails_cleanly(tmp_path / "nope.toml", "nope.toml", "no such file")


def test_unknown_variant_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown variant 'linx' \(did you mean 'linux'\?\)"):
        load_spec(variant="linx")
    result = CliRunner().invoke(cli, ["spec", "--variant", "linx"])
    assert result.exit_code == 2
    assert (
        "known variants: base, linux, no-time-wait, rfc1337, rfc5961, rfc793, rst-time-wait, "
        "short-time-wait" in result.output
    )


def test_unknown_parameter_override() -> None:
    result = CliRunner().invoke(cli, ["explore", "--param", "MSLL=3"])
    assert result.exit_code == 2
    assert "unknown parameter 'MSLL' (did you mean 'MSL'?)" in result.output
    result = CliRunner().invoke(cli, ["explore", "--param", "MSL"])
    assert result.exit_code == 2 and "NAME=VALUE" in result.output


def test_overrides_that_make_a_derived_parameter_impossible_are_named() -> None:
    """The file derives ORPHAN_CAPPED_FROM from CONN_RTO and RTO_MAX soundly; values
    given for them that make it negative are the user's mistake, named as --param (a
    fuzzed capture case found the message blaming the variant file)."""
    got = CliRunner().invoke(
        cli, ["explore", "--variant", "linux", "--param", "CONN_RTO=2", "--param", "RTO_MAX=0.2"]
    )
    assert got.exit_code == 2 and "Traceback" not in got.output
    assert got.output.startswith("tcpcheck: error: --param CONN_RTO, --param RTO_MAX: ")
    assert "ORPHAN_CAPPED_FROM counts retransmissions" in got.output
    assert "linux.toml" not in got.output
    # Values the failing formula's inputs derive from, and a formula that cannot be
    # evaluated at all: still the --param named.
    blamed = r"^--param RTO_MAX, --param RTO_MIN: parameter ORPHAN_RETRIES_BY_TIME: "
    with pytest.raises(UsageError, match=blamed):
        load_spec(variant="linux", params={"RTO_MAX": 0.01, "RTO_MIN": 1.0})


def test_parameter_override_changes_the_model() -> None:
    one = load_spec(params={"SYN_RETRIES": 0})
    assert one.values["SYN_RETRIES"] == 0
    assert load_spec(params={"MSL": 30}).values["TIME_WAIT"] == 60


def test_overlay_file_applies_to_the_bundled_spec(tmp_path: Path) -> None:
    overlay = tmp_path / "mine.toml"
    overlay.write_text(
        '[variant]\nname = "mine"\ndescription = "RST ignored in TIME-WAIT"\nref = "test"\n\n'
        '[[transitions]]\nfrom = "TIME-WAIT"\nevent = "rcv RST"\nto = "same"\nref = "RFC 1337"\n',
        encoding="utf-8",
    )
    spec = load_spec(overlay)
    assert spec.variant is not None and spec.variant.name == "mine"
    assert [t.target for t in spec.rules("TIME-WAIT", "rcv RST")] == ["TIME-WAIT"]
    # Only that pair changed: the shared rule keeps CLOSING and LAST-ACK.
    assert [t.target for t in spec.rules("LAST-ACK", "rcv RST")] == ["CLOSED"]


def test_overlay_transition_to_a_removed_state_is_named(tmp_path: Path) -> None:
    overlay = tmp_path / "broken.toml"
    overlay.write_text(
        '[variant]\nname = "b"\ndescription = "d"\nref = "r"\nremove_states = ["TIME-WAIT"]\n',
        encoding="utf-8",
    )
    # The overlay's mistake, named at the overlay, with every rule it must replace (it
    # once blamed the bundled spec's first such rule, suggesting FIN-WAIT-2).
    with pytest.raises(SpecError) as err:
        load_spec(overlay)
    text = str(err.value)
    assert text.startswith(f"{overlay}: variant: remove_states: 4 rule(s) still lead into")
    assert text.count("spec/tcp.toml: transitions[") == 4 and "did you mean" not in text


def test_bundled_variants_all_load() -> None:
    names = [v.name for v in list_variants()]
    assert names == BUNDLED_VARIANTS
    for name in names:
        spec = load_spec(variant=name)
        assert spec.variant is not None and spec.variant.name == name
    assert [v.name for v in list_variants() if v.broken] == ["no-time-wait", "short-time-wait"]


def test_every_transition_has_an_rfc_or_source_reference(spec: object) -> None:
    for name in [None, *(v.name for v in list_variants())]:
        for t in load_spec(variant=name).transitions:
            assert t.ref.strip()
            if t.variant is None:
                assert t.ref.startswith("RFC 9293 §"), t.ref


def test_the_base_states_its_choices_and_a_variant_may_restate_one(tmp_path: Path) -> None:
    """``[[choices]]``: what the spec leaves out or picks, with why -- printed in the
    generated specification and in ``spec --json``; an overlay restates a topic."""
    base = load_spec()
    topics = {c.topic: c for c in base.choices}
    assert {"USER TIMEOUT", "R1", "R2", "Reset on ABORT", "RST acceptance"} <= set(topics)
    assert topics["USER TIMEOUT"].kind == "abstraction"
    assert all(c.ref.startswith("RFC") for c in base.choices)
    overlay = tmp_path / "mine.toml"
    overlay.write_text(
        '[variant]\nname = "m"\ndescription = "d"\nref = "r"\n\n[[choices]]\n'
        'topic = "Reset on ABORT"\nkind = "requirement"\ndecision = "TIME-WAIT"\n'
        'why = "Note 3"\nref = "RFC 9293 §3.5.2"\n',
        encoding="utf-8",
    )
    mine = {c.topic: c for c in load_spec(overlay).choices}
    assert mine["Reset on ABORT"].decision == "TIME-WAIT"
    assert mine["Reset on ABORT"].file.endswith("mine.toml")
    assert len(mine) == len(topics)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('kind = "abstractoin"', "unknown kind 'abstractoin' (did you mean 'abstraction'?)"),
        ('kind = "reading"\nwhy = "w"\nref = "r"', "missing 'decision'"),
        ('kind = "reading"\ndecision = "d"\nwhy = "w"\nref = "r"\nseen = 1', "unknown key"),
    ],
)
def test_a_malformed_choice_is_named(tmp_path: Path, body: str, says: str) -> None:
    overlay = tmp_path / "bad.toml"
    overlay.write_text(
        f'[variant]\nname = "b"\ndescription = "d"\nref = "r"\n\n[[choices]]\ntopic = "x"\n'
        f"{body}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as err:
        load_spec(overlay)
    assert str(err.value).startswith(f"{overlay.name}") or str(overlay) in str(err.value)
    assert "choices[0]" in str(err.value) and says in str(err.value)
