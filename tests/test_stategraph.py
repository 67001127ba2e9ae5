"""The state graph out, as GraphML and node-link JSON: read back with networkx, typed,
the same bytes whatever the hash seed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
from click.testing import CliRunner

from checker.cli import cli
from checker.export.stategraph import graphml, node_link
from checker.model.load import load_spec
from checker.product.config import ProductConfig
from checker.product.explore import explore

SMALL = ["--loss", "none", "--ordering", "fifo"]
TCPCHECK = Path(sys.executable).with_name("tcpcheck")


def test_the_networkx_view_writes_as_graphml_as_it_is() -> None:
    """``networkx.write_graphml(result.to_networkx())`` once failed on a list attribute
    and on ``variant=None``."""
    ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    out = io.BytesIO()
    nx.write_graphml(ex.to_networkx(), out)
    back = nx.read_graphml(io.BytesIO(out.getvalue()), node_type=int)
    assert back.number_of_nodes() == ex.states
    assert back.graph["variant"] == "base"


def test_graphml_from_the_command_line_reads_back_typed(tmp_path: Path) -> None:
    out = tmp_path / "g.graphml"
    got = CliRunner().invoke(cli, ["graph", *SMALL, "--variant", "linux", "--out", str(out)])
    assert got.exit_code == 0, got.output
    ex = explore(load_spec(variant="linux"), ProductConfig(loss="none", ordering="fifo"))
    assert f"wrote {out} ({ex.states:,} states, {ex.transitions:,} transitions)" in got.output
    back = nx.read_graphml(out, node_type=int)
    assert back.graph == {
        "node_default": {},
        "edge_default": {},
        "spec": "tcp",
        "variant": "linux",
        "complete": True,
    }
    assert back.number_of_nodes() == ex.states
    assert back.nodes[0] == {
        "A": "CLOSED",
        "B": "CLOSED",
        "A->B": "",
        "B->A": "",
        "initial": True,
        "deadlock": False,
    }
    edges = [d for _, _, d in back.edges(data=True)]
    assert sum(d["transitions"] for d in edges) == ex.transitions
    first = back.edges[0, 1]
    assert (first["actor"], first["sent"], first["rule"], first["transitions"]) == (
        "A",
        "SYN",
        0,
        1,
    )
    assert {n for n, d in back.nodes(data=True) if d["deadlock"]} == set(ex.deadlocks)


def test_node_link_json_on_standard_output() -> None:
    got = CliRunner().invoke(cli, ["graph", *SMALL, "--format", "json"])
    assert got.exit_code == 0, got.output
    back = nx.node_link_graph(json.loads(got.stdout), edges="edges")
    ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    assert back.number_of_nodes() == ex.states
    assert back.graph == {"spec": "tcp", "variant": "base", "complete": True}
    assert node_link(ex)["graph"] == back.graph


def test_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    outs = []
    for seed in ("0", "12345"):
        for fmt in ("graphml", "json"):
            path = tmp_path / f"{seed}.{fmt}"
            env = {**os.environ, "PYTHONHASHSEED": seed}
            cmd = [str(TCPCHECK), "graph", *SMALL, "--out", str(path)]
            subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=120)
            outs.append(path.read_bytes())
    assert outs[0] == outs[2] and outs[1] == outs[3]
    ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    assert outs[0] == graphml(ex)


def test_what_a_state_graph_cannot_be_given(tmp_path: Path) -> None:
    runner = CliRunner()
    got = runner.invoke(cli, ["graph", "--format", "graphml", "--view", "whole"])
    assert got.exit_code == 2 and "drop --view and --property" in got.output
    got = runner.invoke(cli, ["graph", "--out", str(tmp_path / "g.txt")])
    assert got.exit_code == 2 and "the suffix names the format" in got.output
    partial = tmp_path / "p.json"
    got = runner.invoke(cli, ["graph", "--max-states", "10", "--out", str(partial)])
    assert got.exit_code == 3 and "partial" in got.output
    assert json.loads(partial.read_text(encoding="utf-8"))["graph"]["complete"] is False
