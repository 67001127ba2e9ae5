"""Pictures of the product graph: whole when small, folded when large, around a trace."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.cli import cli
from checker.errors import UsageError
from checker.model.load import load_spec
from checker.product.config import ProductConfig
from checker.product.explore import explore
from checker.render.endpoint_diagram import render
from checker.render.product_diagram import product_dot

SMALL = ProductConfig(loss="none", ordering="fifo", capacity=1)


def test_a_small_graph_is_drawn_whole_edge_for_edge() -> None:
    ex = explore(load_spec(), SMALL)
    dot, view = product_dot(ex)
    assert view == "whole" and ex.states == 42
    edges = re.findall(r"^\s*(\d+) -> (\d+) ", dot, re.M)
    assert Counter(edges) == Counter(
        (str(n), str(m)) for n in range(ex.states) for _label, m in ex.edges_from(n)
    )


def test_a_large_graph_is_folded_and_whole_is_refused() -> None:
    ex = explore(load_spec(), ProductConfig())
    dot, view = product_dot(ex)
    assert view == "states" and "25,708 states folded by the pair of endpoint states" in dot
    folded = [int(n.replace(",", "")) for n in re.findall(r'\n([\d,]+) states[,"]', dot)]
    assert sum(folded) == ex.states  # every state is in exactly one box
    counts = [int(n.replace(",", "")) for n in re.findall(r"\(([\d,]+) transitions?\)", dot)]
    inside = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) moves inside", dot)]
    assert sum(counts) + sum(inside) == ex.transitions
    with pytest.raises(UsageError, match="do not make a readable picture"):
        product_dot(ex, "whole")
    svg = render(dot, "svg")
    assert "ESTABLISHED / ESTABLISHED" in "".join(ET.fromstring(svg).itertext())


def test_around_a_counterexample(tmp_path: Path) -> None:
    out = tmp_path / "cex.dot"
    args = ["graph", "--view", "around", "--property", "graceful-close", "--variant", "linux"]
    got = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert got.exit_code == 0, got.output
    dot = out.read_text()
    assert "graceful-close on linux: violated" in dot
    assert "9. A: timeout FIN-WAIT-2" in dot  # the trace's moves are numbered
    assert out.read_text() == dot
    bad = CliRunner().invoke(cli, ["graph", "--view", "around"])
    assert bad.exit_code == 2 and "needs --property" in bad.output
    timed = CliRunner().invoke(cli, ["graph", "--property", "last-ack-not-stuck"])
    assert timed.exit_code == 2 and "zone graph" in timed.output
    whole = CliRunner().invoke(cli, ["graph", "--view", "whole"])
    assert whole.exit_code == 2 and "--view states" in whole.output
