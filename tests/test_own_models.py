"""A researcher's own overlays are variants like the shipped ones: named, selectable,
stacked on what they declare, and named in every output; a suite names only variants
that exist and a run that would check nothing fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.check.properties import load_properties
from checker.cli import cli
from checker.errors import SpecError, UsageError
from checker.model.layers import catalog
from checker.model.load import bundled_spec_path, load_spec
from checker.suite import run_suite, suite_variants


def overlay(folder: Path, stem: str, body: str = "", **meta: str) -> Path:
    """An overlay file ``stem.toml`` in ``folder`` with a ``[variant]`` table of ``meta``."""
    lines = ["[variant]", 'description = "mine"', 'ref = "notes"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in meta.items()]
    path = folder / f"{stem}.toml"
    path.write_text("\n".join(lines) + "\n" + body, encoding="utf-8")
    return path


def one_property_suite(tmp_path: Path, variant: str) -> Path:
    """A suite of one property expected to hold on ``variant`` alone."""
    suite = tmp_path / "props.toml"
    suite.write_text(
        '[[properties]]\nname = "x"\nkind = "reachable"\nformula = "A = CLOSING"\n'
        f'description = "d"\nref = "r"\nexpected = {{ {variant} = "holds" }}\n',
        encoding="utf-8",
    )
    return suite


SHORT_FIN_TIMEOUT = """
[parameters.FIN_TIMEOUT]
value = 5
unit = "s"
description = "a short FIN-WAIT-2 timeout"
ref = "notes"
"""

SHORT_TIME_WAIT = """
[parameters.TIME_WAIT]
value = 10
unit = "s"
description = "a short TIME-WAIT"
ref = "notes"
"""


def test_an_overlay_is_named_by_its_stem_unless_it_says(tmp_path: Path) -> None:
    plain = overlay(tmp_path, "mine", SHORT_TIME_WAIT)
    spec = load_spec(plain)
    assert spec.variant is not None and spec.variant.name == "mine"
    assert spec.variant.lineage == () and spec.variant.builds_on == "base"
    named = overlay(tmp_path, "file", SHORT_TIME_WAIT, name="other")
    assert load_spec(named).heading.endswith("— variant other")


def test_an_overlay_stacks_on_the_variant_it_declares(tmp_path: Path) -> None:
    mine = overlay(tmp_path, "mine", SHORT_FIN_TIMEOUT, base="linux")
    spec = load_spec(mine)
    assert spec.variant is not None and spec.variant.lineage == ("linux",)
    assert spec.heading == "TCP connection management (RFC 9293) — variant mine (on linux)"
    # Linux's own parameters stay (its TIME-WAIT of 60 s), this overlay's replace theirs.
    assert spec.values["TIME_WAIT"] == 60 and spec.values["FIN_TIMEOUT"] == 5
    # Two levels: an overlay beside it, found by name, itself on linux.
    top = overlay(tmp_path, "top", SHORT_TIME_WAIT, base="mine")
    spec = load_spec(top)
    assert spec.variant is not None and spec.variant.lineage == ("mine", "linux")
    assert spec.values["TIME_WAIT"] == 10 and spec.values["FIN_TIMEOUT"] == 5
    # A path relative to the overlay names the same file.
    (tmp_path / "sub").mkdir()
    deep = overlay(tmp_path / "sub", "deep", "", base="../mine.toml")
    got = load_spec(deep).variant
    assert got is not None and got.lineage == ("mine", "linux")


def test_a_loop_or_an_unknown_base_is_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # files are named as the user would type them
    overlay(tmp_path, "one", base="two")
    overlay(tmp_path, "two", base="one.toml")
    with pytest.raises(SpecError, match=r"closes a loop: one.toml -> two.toml -> one.toml"):
        load_spec(tmp_path / "one.toml")
    lost = overlay(tmp_path, "lost", base="linx")
    with pytest.raises(SpecError, match=r"base = 'linx': no overlay linx.toml beside"):
        load_spec(lost)
    result = CliRunner().invoke(cli, ["explore", "--spec", str(lost)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["base", "default"])
def test_reserved_names_cannot_name_an_overlay(tmp_path: Path, name: str) -> None:
    with pytest.raises(SpecError, match=f"cannot be named '{name}'"):
        load_spec(overlay(tmp_path, "x", name=name))


def test_variant_selects_an_own_overlay_beside_the_shipped_ones(tmp_path: Path) -> None:
    mine = overlay(tmp_path, "mine", SHORT_TIME_WAIT)
    overlay(tmp_path, "other", SHORT_FIN_TIMEOUT, base="linux")
    assert catalog(mine)[-1] == "mine" and catalog(mine)[:2] == ["base", "linux"]
    picks = {
        "mine": "mine",
        "base": None,
        "linux": "linux",
        "other": "other",
        str(tmp_path / "other.toml"): "other",
    }
    for asked, name in picks.items():
        got = load_spec(mine, variant=asked).variant
        assert (got.name if got else None) == name, asked
    result = CliRunner().invoke(cli, ["spec", "--spec", str(mine), "--variant", "linx", "--json"])
    assert result.exit_code == 2
    assert "unknown variant 'linx' (did you mean 'linux'?)" in result.output
    assert result.output.rstrip().endswith("short-time-wait, mine")
    result = CliRunner().invoke(cli, ["spec", "--variant", str(tmp_path / "other.toml"), "--json"])
    assert result.exit_code == 0
    shown = json.loads(result.output)
    assert shown["variant"] == "other" and shown["builds_on"] == ["linux"]


def test_check_on_an_own_overlay_names_it_and_inherits_expectations(tmp_path: Path) -> None:
    mine = overlay(tmp_path, "mine", SHORT_FIN_TIMEOUT, base="linux")
    assert suite_variants(mine) == ["mine"]
    args = ["check", "--spec", str(mine), "--property", "fin-wait-2-leads-to-closed"]
    junit = tmp_path / "report.xml"
    result = CliRunner().invoke(cli, [*args, "--json", "--junit", str(junit)])
    assert result.exit_code == 0, result.output
    [verdict] = json.loads(result.output)["properties"]
    # Linux's expectation (holds: orphans leave FIN-WAIT-2 after tcp_fin_timeout) is
    # the overlay's too: the suite does not name mine.
    assert verdict["variant"] == "mine"
    assert verdict["verdict"] == verdict["expected"] == "holds"
    assert 'classname="tcpcheck.mine"' in junit.read_text(encoding="utf-8")
    # Beside the variants it builds on, in one run.
    result = CliRunner().invoke(cli, [*args, "--variant", "base", "--variant", "mine", "--json"])
    rows = [(v["variant"], v["verdict"]) for v in json.loads(result.output)["properties"]]
    assert rows == [("base", "violated"), ("mine", "holds")]


def test_a_suite_naming_an_unknown_variant_is_refused(tmp_path: Path) -> None:
    suite = one_property_suite(tmp_path, "linx")
    with pytest.raises(SpecError, match=r"expected: unknown variant 'linx' \(did you mean"):
        load_properties(suite)
    result = CliRunner().invoke(cli, ["check", "--properties", str(suite)])
    assert result.exit_code == 2 and "unknown variant 'linx'" in result.output
    # An own overlay's name is known where the suite is read against it.
    mine = overlay(tmp_path, "mine", SHORT_TIME_WAIT)
    suite.write_text(suite.read_text(encoding="utf-8").replace("linx", "mine"), encoding="utf-8")
    assert load_properties(suite, spec=load_spec(mine))[0].expected_for("mine") == "holds"


def test_a_run_that_checks_nothing_fails(tmp_path: Path) -> None:
    suite = one_property_suite(tmp_path, "rfc793")
    result = CliRunner().invoke(cli, ["check", "--properties", str(suite), "--variant", "linux"])
    assert result.exit_code == 2
    assert "nothing to check: no property in" in result.output
    assert "has an expectation for linux" in result.output
    props = load_properties(suite)
    with pytest.raises(UsageError, match="nothing to check"):
        run_suite(props, variants=["linux"])
    assert [v.variant for v in run_suite(props, variants=["rfc793", "linux"])] == ["rfc793"]
    assert bundled_spec_path().is_file()
