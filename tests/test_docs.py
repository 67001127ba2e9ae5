"""The generated specification: contents, byte stability, the freshness check, and the
committed copies in docs/ and diagrams/ (this test is the CI freshness check)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner

from checker.check.verdicts import Verdict
from checker.cli import cli
from checker.docs import compare, generate, write
from checker.model.load import load_spec
from checker.timed.synth import Synthesis

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def files(
    bundled_verdicts: list[Verdict], bundled_syntheses: dict[str, Synthesis]
) -> dict[PurePosixPath, bytes]:
    """What ``tcpcheck docs`` writes, from the suite's verdicts and regions computed once
    for every test that reads them (``generate`` computes the same when not given them)."""
    return generate(verdicts=bundled_verdicts, syntheses=bundled_syntheses)


def test_the_committed_docs_and_diagrams_are_fresh(files: dict[PurePosixPath, bytes]) -> None:
    """docs/ and diagrams/ are what `tcpcheck docs` writes today (else: run it)."""
    assert compare(files, ROOT) == []


def test_generation_gives_the_same_bytes_twice() -> None:
    """Within a process (the freshness test compares with an earlier process's bytes)."""
    assert generate([None, "linux"], properties=False) == generate(
        [None, "linux"], properties=False
    )


def test_the_report_shows_synthesized_regions(
    files: dict[PurePosixPath, bytes], bundled_syntheses: dict[str, Synthesis]
) -> None:
    page = files[PurePosixPath("docs/properties.md")].decode()
    assert "holds iff **TIME_WAIT >= MSL + RTO and MSL < 3*RTO** (exact)" in page
    assert "TIME_WAIT = 2*MSL suffices iff MSL < 0.5*RTO or MSL >= 2*RTO" in page
    # Each region's picture, embedded where its synthesis is shown: every tile, at RTO = 1 s.
    for name, result in bundled_syntheses.items():
        svg = PurePosixPath(f"diagrams/region-{name}-{result.variant or 'base'}.svg")
        section = page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"over TIME_WAIT and MSL](../{svg})" in section
        assert "the tiles over TIME_WAIT and MSL at RTO = 1 s" in section
        root = ET.fromstring(files[svg])
        tiles = [
            g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("id", "")[:5] == "tile-"
        ]
        assert len(tiles) == len(result.tiles)


def test_the_specification_page(files: dict[PurePosixPath, bytes], golden: object) -> None:
    page = files[PurePosixPath("docs/specification.md")].decode()
    golden("docs/specification.md", page)  # type: ignore[operator]
    spec = load_spec()
    for t in spec.transitions:
        assert t.ref in page  # the RFC reference is on every rule's row
    for s in spec.states:
        assert f"### {s.name}" in page
    assert "![endpoint state diagram](../diagrams/endpoint-base.svg)" in page
    assert "### rfc1337" in page and "Base rules it replaces:" in page


def test_the_property_report(files: dict[PurePosixPath, bytes]) -> None:
    page = files[PurePosixPath("docs/properties.md")].decode()
    assert "## last-ack-not-stuck" in page and "```mermaid" in page
    assert "sequenceDiagram" in page
    charts = [p for p in files if p.parts[:2] == ("diagrams", "charts") and p.suffix == ".svg"]
    assert charts, "every witness and counterexample has its SVG chart"
    for chart in charts:
        assert f"]({'../' + str(chart)})" in page
        ET.fromstring(files[chart])  # well-formed


def test_every_svg_parses_and_names_every_state(files: dict[PurePosixPath, bytes]) -> None:
    spec = load_spec()
    for path, data in files.items():
        if path.suffix == ".svg" and path.name.startswith("endpoint-"):
            text = "".join(ET.fromstring(data).itertext())
            assert all(s.name in text for s in spec.states), path


def test_check_fails_on_a_stale_tree_and_passes_on_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = generate([None], properties=False)
    write(small, tmp_path)
    assert compare(small, tmp_path) == []
    page = tmp_path / "docs" / "specification.md"
    page.write_text(page.read_text() + "edited by hand\n")
    (tmp_path / "diagrams" / "endpoint-base.svg").unlink()
    (tmp_path / "diagrams" / "endpoint-old.svg").write_text("<svg/>")
    (tmp_path / "diagrams" / "logo.svg").write_text("<svg/>")  # the user's, not ours
    (tmp_path / "docs" / "README.md").write_text("# ours\n")
    report = compare(small, tmp_path)
    assert "stale: docs/specification.md" in report
    assert any(line.strip() == "-edited by hand" for line in report)
    assert "missing: diagrams/endpoint-base.svg" in report
    assert "extra: diagrams/endpoint-old.svg (no longer generated)" in report
    assert not [line for line in report if "logo" in line or "README" in line]

    # The command line on a one-property suite (the bundled one takes a while).
    suite = tmp_path / "suite.toml"
    suite.write_text(
        '[[properties]]\nname = "p"\nkind = "reachable"\nformula = "A = ESTABLISHED"\n'
        'description = "d"\nref = "r"\nexpected = { base = "holds" }\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    base = ["--variant", "base", "--properties", str(suite)]
    stale = runner.invoke(cli, ["docs", "--check", *base])
    assert stale.exit_code == 1 and "stale: docs/properties.md" not in stale.output
    assert "missing: docs/properties.md" in stale.output
    fresh = runner.invoke(cli, ["docs", *base])
    assert fresh.exit_code == 0, fresh.output
    (tmp_path / "diagrams" / "endpoint-old.svg").unlink()
    again = runner.invoke(cli, ["docs", "--check", *base])
    assert again.exit_code == 0 and "up to date" in again.output
    bad = runner.invoke(cli, ["docs", "--variant", "lnux"])
    assert bad.exit_code == 2 and "did you mean" in bad.output


def test_check_looks_only_at_the_files_it_owns_wherever_out_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out``/``--diagrams`` absolute, or above the working folder: the comparison
    reads the generated folders themselves, never below or above them (it once walked
    the whole file system from ``/``, and called a parent folder's files extra)."""
    small = generate([None], properties=False, docs_dir="../up", diagrams_dir="/abs/pics")
    assert PurePosixPath("/abs/pics/endpoint-base.svg") in small
    work = tmp_path / "work"
    (work / "deep" / "er").mkdir(parents=True)
    (work / "deep" / "er" / "endpoint-x.svg").write_text("<svg/>")  # below: not looked at
    (tmp_path / "notes.md").write_text("mine\n")  # in ../ with the docs: not ours
    pics = tmp_path / "pics"
    small = generate([None], properties=False, docs_dir="..", diagrams_dir=str(pics))
    write(small, work)
    assert compare(small, work) == []
    (pics / "product-old.dot").write_text("digraph {}")
    assert compare(small, work) == [f"extra: {pics}/product-old.dot (no longer generated)"]


def test_png_copies_on_request() -> None:
    files = generate([None], properties=False, png=True)
    pngs = [p for p in files if p.suffix == ".png"]
    assert {p.name for p in pngs} == {"endpoint-base.png", "product-base.png"}
    assert all(files[p].startswith(b"\x89PNG") for p in pngs)


def test_the_specification_states_every_choice(files: dict[PurePosixPath, bytes]) -> None:
    """Every ``[[choices]]`` entry of the base appears in the generated specification,
    under its kind -- what is not modelled, and where the base picks."""
    page = files[PurePosixPath("docs/specification.md")].decode()
    section = page.split("## Choices and abstractions", 1)[1].split("\n## ", 1)[0]
    for choice in load_spec().choices:
        assert f"| {choice.topic} | " in section
    assert "| USER TIMEOUT | not modelled |" in section


def test_the_jobs_on_a_dask_cluster_give_the_same_bytes(
    bundled_verdicts: list[Verdict], bundled_syntheses: dict[str, Synthesis]
) -> None:
    """The suite on each variant and a synthesis run as jobs on two worker processes:
    the verdicts come back in the suite's order and the files are the same bytes."""
    from checker.jobs import Workers, open_pool

    names = [None, "linux"]
    mine = [v for v in bundled_verdicts if v.variant in names]
    cheap = min(bundled_syntheses.values(), key=lambda r: r.seconds).prop.name
    given = {k: r for k, r in bundled_syntheses.items() if k != cheap}
    heard: list[str] = []
    with open_pool(Workers(count=2), warmup=0.0) as pool:
        spread = generate(names, syntheses=given, pool=pool, progress=heard.append)
        assert pool._client is not None  # the jobs did run on the cluster
    assert spread == generate(names, verdicts=mine, syntheses=bundled_syntheses)
    assert len(heard) == 3 and heard[-1].startswith("checking and synthesizing: 3/3 jobs done")
