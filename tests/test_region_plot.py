"""The picture of a synthesized region (``tcpcheck synth --plot``, the docs' regions).

Most tests draw a region written by hand -- the headline's over TIME_WAIT and MSL at
RTO = 1 s, FIN_RETRIES = 2, as tests/test_synth.py derives it: it holds iff TIME_WAIT >=
MSL + 1 and MSL < 3 -- so that no synthesis runs; one runs the command line on a real
synthesis small enough for seconds (FIN_RETRIES = 1), under two hash seeds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner

from checker.check.properties import load_properties
from checker.cli import cli
from checker.errors import UsageError
from checker.model.load import load_spec
from checker.render.region_plot import COLOURS, _window, region_plot, slice_at, tile_polygons
from checker.timed.synth import Synthesis, SynthStatus, Tiled

SVG = "{http://www.w3.org/2000/svg}"
TCPCHECK = Path(sys.executable).with_name("tcpcheck")
HEADLINE = next(p for p in load_properties(spec=load_spec()) if p.name == "last-ack-not-stuck")

# Over (TIME_WAIT, MSL): const + a*TIME_WAIT + b*MSL >= 0 (> 0 when strict).
HOLDS = Tiled(False, frozenset({(-1, (1, -1), False), (3, (0, -1), True)}))
EARLY = Tiled(True, frozenset({(1, (-1, 1), True)}), "a RST from A")  # TIME_WAIT < MSL + 1
LATE = Tiled(True, frozenset({(-3, (0, 1), False), (-1, (1, -1), False)}), "B gave up")


def region(
    tiles: tuple[Tiled, ...] = (HOLDS, EARLY, LATE),
    free: tuple[str, ...] = ("TIME_WAIT", "MSL"),
    status: SynthStatus = SynthStatus.EXACT,
    fixed: dict[str, float] | None = None,
) -> Synthesis:
    values = {"TIME_WAIT": 240.0, "MSL": 120.0, "RTO": 1.0}
    return Synthesis(
        HEADLINE,
        None,
        free,
        fixed or {"RTO": 1.0, "FIN_RETRIES": 2.0},
        status,
        "",
        None,
        0,
        0.0,
        values={n: values[n] for n in free},
        tiles=tiles,
    )


def swapped(t: Tiled) -> Tiled:
    return Tiled(t.violated, frozenset((c, coefs[::-1], s) for c, coefs, s in t.k), t.cause)


def tiles_drawn(svg: bytes) -> list[str]:
    """The fill colour of every tile, in drawing order."""
    root = ET.fromstring(svg)
    fills = []
    for group in root.iter(f"{SVG}g"):
        if re.fullmatch(r"tile-\d+", group.get("id", "")):
            (path,) = group.iter(f"{SVG}path")
            match = re.search(r"fill: (#[0-9a-f]{6})", path.get("style", ""))
            assert match is not None
            fills.append(match.group(1))
    return fills


def texts(svg: bytes) -> str:
    return " ".join("".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text"))


def test_one_polygon_per_tile_coloured_by_verdict() -> None:
    svg = region_plot(region())
    assert tiles_drawn(svg) == [COLOURS["holds"], COLOURS["violated"], COLOURS["violated"]]
    words = texts(svg)
    for expected in ("last-ack-not-stuck on base", "TIME_WAIT (seconds)", "MSL (seconds)"):
        assert expected in words
    assert "holds" in words and "violated" in words and "unknown" not in words
    assert "TIME_WAIT = 2·MSL" in words
    assert ET.fromstring(svg).find(f".//{SVG}g[@id='textbook']") is not None


def test_the_tiles_are_clipped_exactly() -> None:
    """The window reaches a quarter beyond the farthest vertex, (4, 3), to a round
    number; each tile is clipped to it exactly (the strict bounds closed)."""
    window = _window(region(), ("TIME_WAIT", "MSL"), {})
    assert window == (Fraction(5), Fraction(4))
    drawn = tile_polygons(region().tiles, ("TIME_WAIT", "MSL"), {}, window)
    shapes = {cast(Tiled, t).cause: sorted((float(x), float(y)) for x, y in p) for t, p in drawn}
    assert shapes[None] == [(1, 0), (4, 3), (5, 0), (5, 3)]  # TIME_WAIT >= MSL + 1, MSL < 3
    assert shapes["a RST from A"] == [(0, 0), (0, 4), (1, 0), (5, 4)]  # TIME_WAIT < MSL + 1
    assert shapes["B gave up"] == [(4, 3), (5, 3), (5, 4)]  # MSL >= 3 and TIME_WAIT >= MSL + 1


def test_the_textbook_line_in_either_order() -> None:
    """MSL across and TIME_WAIT up: the line still runs where TIME_WAIT = 2·MSL."""
    across = region(tuple(swapped(t) for t in (HOLDS, EARLY, LATE)), ("MSL", "TIME_WAIT"))
    drawn = region_plot(across)
    assert len(tiles_drawn(drawn)) == 3
    assert "TIME_WAIT = 2·MSL" in texts(drawn)
    assert "MSL (seconds)" in texts(drawn)
    # Not drawn over two parameters where TIME_WAIT is not one.
    other = region(tuple(swapped(t) for t in (HOLDS, EARLY, LATE)), ("MSL", "RTO"))
    assert "2·MSL" not in texts(region_plot(other))
    # MSL fixed: TIME_WAIT = 2·MSL is a line across, where it falls in the window.
    fixed = region(free=("TIME_WAIT", "RTO"), fixed={"MSL": 2.0})
    assert "TIME_WAIT = 2·MSL = 4 s" in texts(region_plot(fixed))
    far = region(free=("TIME_WAIT", "RTO"), fixed={"MSL": 120.0})
    assert "2·MSL" not in texts(region_plot(far))


def test_a_partial_region_shows_what_is_unknown() -> None:
    svg = region_plot(region((HOLDS,), status=SynthStatus.UNKNOWN))
    assert tiles_drawn(svg) == [COLOURS["holds"]]
    assert "unknown" in texts(svg)
    assert COLOURS["unknown"] in svg.decode()  # the background: what no tile covers


def test_a_slice_fixes_the_other_free_parameters() -> None:
    """Over TIME_WAIT, MSL and RTO (a cone: no constants), drawn at RTO = 1 s: the same
    tiles as over two parameters with RTO fixed at 1 s."""
    cone = tuple(
        Tiled(t.violated, frozenset((0, (*coefs, c), s) for c, coefs, s in t.k), t.cause)
        for t in (HOLDS, EARLY, LATE)
    )
    three = region(cone, ("TIME_WAIT", "MSL", "RTO"))
    assert slice_at(three) == {"RTO": 1.0}
    svg = region_plot(three, at=slice_at(three))
    assert tiles_drawn(svg) == tiles_drawn(region_plot(region()))
    assert "RTO = 1 s" in texts(svg)
    with pytest.raises(UsageError, match="3 are free here"):
        region_plot(three)


def test_png_and_pdf() -> None:
    assert region_plot(region(), "png").startswith(b"\x89PNG")
    assert region_plot(region(), "pdf").startswith(b"%PDF")


def test_the_command_line_draws_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    """A real synthesis (37 tiles), drawn by two processes with different hash seeds."""
    outputs, counts = [], []
    for seed in ("1", "2"):
        out = tmp_path / f"region-{seed}.svg"
        args = ["synth", "last-ack-not-stuck", "--param", "FIN_RETRIES=1", "--workers", "1"]
        run = subprocess.run(
            [str(TCPCHECK), *args, "--free", "TIME_WAIT", "--free", "MSL", "--plot", str(out)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=300,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        match = re.search(rf"wrote {re.escape(str(out))} \((\d+) tiles, exact\)", run.stdout)
        assert match is not None, run.stdout
        outputs.append(out.read_bytes())
        counts.append(int(match.group(1)))
    assert outputs[0] == outputs[1]
    fills = tiles_drawn(outputs[0])
    assert len(fills) == counts[0]  # every tile, each once
    assert set(fills) == {COLOURS["holds"], COLOURS["violated"]}
    assert "TIME_WAIT = 2·MSL" in texts(outputs[0])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--plot", "region.jpeg"], "--plot region.jpeg: the suffix names the format: .svg, "),
        (["--free", "MSL", "--plot", "r.svg"], "1 is free here (MSL): name a second with --free"),
        (["--plot", "r.svg"], "3 are free here (TIME_WAIT, MSL, RTO): name two with --free"),
        (
            ["--free", "TIME_WAIT", "--free", "MSL", "--losses", "0,1", "--plot", "r.svg"],
            "--plot draws one region",
        ),
        (
            ["--free", "TIME_WAIT", "--free", "MSL", "--plot", "no/such/folder/r.svg"],
            "--plot no/such/folder/r.svg: no folder no/such/folder to write it in",
        ),
    ],
)
def test_usage_errors_come_before_the_synthesis(extra: list[str], message: str) -> None:
    got = CliRunner().invoke(cli, ["synth", "last-ack-not-stuck", *extra])
    assert got.exit_code == 2, got.output
    assert message in got.output
