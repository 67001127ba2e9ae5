"""``tcpcheck simulate`` (random runs) and ``check --counterexamples N`` (several shortest
runs): each run is a run of the explored graph, a seed decides it, and the runs found
are the shortest, distinct, and end where they should."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner

from checker.check.formula import parse_formula
from checker.check.simulate import simulate_runs
from checker.cli import cli
from checker.model.load import load_spec
from checker.product.config import ProductConfig
from checker.product.explore import explore
from checker.product.reference import Product

CONFIG = ProductConfig()  # loss, retransmissions, unordered delivery: many choices


def invoke(*args: str) -> tuple[int, str]:
    got = CliRunner().invoke(cli, list(args))
    return got.exit_code, got.output


def simulated(*args: str) -> dict[str, Any]:
    code, out = invoke("simulate", "--json", *args)
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    return data


# ----------------------------------------------------------------- simulate ---
def test_a_seed_decides_the_runs() -> None:
    assert simulated("--seed", "3", "--runs", "3") == simulated("--seed", "3", "--runs", "3")


def test_the_runs_do_not_depend_on_the_hash_seed() -> None:
    code = "from checker.cli import cli; cli(prog_name='tcpcheck')"
    args = ["simulate", "--json", "--seed", "5", "--runs", "2", "--max-steps", "30"]
    outs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout)
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["runs"][0]["steps"]


def test_different_seeds_give_different_runs() -> None:
    runs = simulated("--seed", "1", "--runs", "6")["runs"]
    assert [r["seed"] for r in runs] == [1, 2, 3, 4, 5, 6]  # run k draws from seed + k - 1
    assert len({tuple(r["steps"]) for r in runs}) >= 4


def test_every_step_is_a_transition_of_the_explored_graph() -> None:
    spec = load_spec()
    ex = explore(spec, CONFIG)
    product = Product(spec, CONFIG)
    dead = set(ex.deadlocks)

    def choices(node: int) -> list[tuple[str, int | None]]:
        return sorted((label.text(), target) for label, target in ex.edges_from(node))

    for run in simulate_runs(product, seed=11, runs=5, max_steps=200):
        node = ex.node_of(run.trace.initial)
        assert node == 0
        states = [run.trace.initial, *(step.state for step in run.trace.steps)]
        for before, step in zip(states, run.trace.steps, strict=False):
            # The run chose among exactly the moves the explored graph has there.
            offered = [(lab.text(), ex.node_of(s)) for lab, s in product.successors(before)]
            assert sorted(offered) == choices(node)
            target = ex.node_of(step.state)
            assert target is not None
            assert (step.label, target) in ex.edges_from(node), step.label.text()
            node = target
        if run.ended in ("final", "deadlock"):
            assert node in dead  # it stopped only where the graph has no move
        else:
            assert run.ended == "max-steps" and node not in dead


def test_the_json_lists_the_moves_and_the_end() -> None:
    data = simulated("--seed", "2", "--max-steps", "200")
    (run,) = data["runs"]
    assert data["seed"] == 2
    assert run["ended"] == "final" and run["steps"][0] == "A: active OPEN / snd SYN"
    assert run["final"] == {"A": "CLOSED", "B": "CLOSED", "in_flight": {"A->B": [], "B->A": []}}


def test_until_stops_at_the_first_state_where_it_holds() -> None:
    until = parse_formula("A = ESTABLISHED")
    spec = load_spec()
    for run in simulate_runs(Product(spec, CONFIG), seed=1, runs=4, max_steps=500, until=until):
        states = [run.trace.initial, *(s.state for s in run.trace.steps)]
        if run.ended == "until":
            assert until(states[-1])
        assert not any(until(s) for s in states[:-1])
    data = simulated("--until", "A = ESTABLISHED", "--seed", "5", "--max-steps", "500")
    assert data["runs"][0]["ended"] == "until"
    assert data["runs"][0]["steps"][-1] == "A: rcv SYN+ACK / snd ACK"


def test_max_steps_truncates() -> None:
    (run,) = simulated("--max-steps", "3")["runs"]
    assert run["ended"] == "max-steps" and len(run["steps"]) == 3
    code, out = invoke("simulate", "--max-steps", "3", "--chart", "none")
    assert code == 0 and "3 steps, truncated at --max-steps" in out


def test_a_deadlock_is_not_a_final_state() -> None:
    # Without losses, two retransmissions fill a channel of one: the run stops there.
    runs = simulated("--loss", "none", "--capacity", "1", "--runs", "8", "--max-steps", "500")
    endings = {r["ended"] for r in runs["runs"]}
    assert "deadlock" in endings
    for r in runs["runs"]:
        if r["ended"] == "deadlock":
            assert r["waiting_for_room"]  # what a full channel holds back, named
            assert (r["final"]["A"], r["final"]["B"]) != ("CLOSED", "CLOSED")


def test_charts_text_mermaid_and_svg_files(tmp_path: Path) -> None:
    code, text = invoke("simulate", "--seed", "4")
    assert code == 0 and "step  A" in text and "run 1 (seed 4): 4 steps, final" in text
    code, mermaid = invoke("simulate", "--seed", "4", "--chart", "mermaid")
    assert code == 0 and "sequenceDiagram" in mermaid
    out = tmp_path / "charts"
    code, said = invoke(
        "simulate", "--runs", "2", "--seed", "4", "--chart", "none", "--out", str(out)
    )
    assert code == 0, said
    assert sorted(p.name for p in out.iterdir()) == ["run-1.svg", "run-2.svg"]
    svg = ET.fromstring((out / "run-1.svg").read_text(encoding="utf-8"))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--until", "A = ESTABLISH"], "unknown state 'ESTABLISH'"),
        (["--until", "A ="], "--until 'A ='"),
        (["--final", "B in (LISTEN"], "--final"),
        (["--runs", "0"], "--runs"),
        (["--max-steps", "0"], "--max-steps"),
    ],
)
def test_bad_simulate_input_is_exit_2(args: list[str], message: str) -> None:
    code, out = invoke("simulate", *args)
    assert code == 2 and message in out and "Traceback" not in out


# ------------------------------------------------------- --counterexamples N ---
SUITE = """
[[properties]]
name = "no-close-before-b-established"
kind = "invariant"
formula = "not (A = FIN-WAIT-1 and B = ESTABLISHED)"
description = "d"
ref = "r"
config = { loss = "none", ordering = "fifo" }
expected = { default = "violated" }

[[properties]]
name = "client-path"
kind = "path"
exists = true
formula = "A: CLOSED, SYN-SENT, ESTABLISHED, *"
description = "d"
ref = "r"
config = { loss = "none", ordering = "fifo" }
expected = { default = "holds" }

[[properties]]
name = "fin-wait-2-leads-to-closed"
kind = "leads-to"
formula = "A = FIN-WAIT-2 ~> A = CLOSED"
description = "d"
ref = "r"
config = { loss = "none", ordering = "fifo", b_close = "never" }
expected = { default = "violated" }
"""


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suite") / "suite.toml"
    path.write_text(SUITE, encoding="utf-8")
    return path


def checked(suite: Path, name: str, *more: str) -> dict[str, Any]:
    args = ["check", "--json", "--properties", str(suite), "--variant", "base"]
    code, out = invoke(*args, "--property", name, *more)
    assert code == 0, out
    (verdict,) = json.loads(out)["properties"]
    data: dict[str, Any] = verdict
    return data


def test_several_shortest_counterexamples(suite: Path) -> None:
    name = "no-close-before-b-established"
    one = checked(suite, name)
    three = checked(suite, name, "--counterexamples", "3", "--witnesses")
    assert "traces" not in one  # one run asked for: the output is as it always was
    traces = three["traces"]
    assert len(traces) == 3 and three["trace"] == traces[0] == one["trace"]
    moves = [tuple(json.dumps(s, sort_keys=True) for s in t["steps"]) for t in traces]
    assert len(set(moves)) == 3  # distinct runs
    # All of the minimal length: the breadth-first distance to a bad state.
    ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    graph = ex.to_networkx()
    bad = ("FIN-WAIT-1", "ESTABLISHED")
    targets = [n for n, a in graph.nodes(data=True) if (a["A"], a["B"]) == bad]
    lengths = nx.single_source_shortest_path_length(graph, 0)
    shortest = min(lengths[t] for t in targets if t in lengths)
    assert [len(t["steps"]) for t in traces] == [shortest] * 3
    for t in traces:  # each reaches a bad state, and only at its end
        states = [(s["A"], s["B"]) for s in t["steps"]]
        assert states.index(bad) == len(states) - 1


def test_several_path_witnesses_and_one_lasso(suite: Path) -> None:
    path = checked(suite, "client-path", "--counterexamples", "4", "--witnesses")
    runs = path["traces"]
    assert len(runs) == 4 and len({json.dumps(r) for r in runs}) == 4
    lengths = [len(r["steps"]) for r in runs]
    assert lengths == sorted(lengths)  # shortest first
    for r in runs:
        assert r["steps"][-1]["A"] == "ESTABLISHED"
    live = checked(suite, "fin-wait-2-leads-to-closed", "--counterexamples", "3")
    assert live["traces"] == [live["trace"]]
    assert any("one run" in n for n in live["notes"])


def test_the_text_numbers_the_counterexamples(suite: Path) -> None:
    args = ["check", "--properties", str(suite), "--variant", "base", "--property"]
    code, out = invoke(*args, "no-close-before-b-established", "--counterexamples", "2")
    assert code == 0, out
    assert "counterexample 1 of 2 (6 steps)" in out and "counterexample 2 of 2 (6 steps)" in out
    code, single = invoke(*args, "no-close-before-b-established")
    assert code == 0 and "(counterexample)" in single and "1 of" not in single


def test_counterexamples_below_one_is_exit_2(suite: Path) -> None:
    code, out = invoke("check", "--properties", str(suite), "--counterexamples", "0")
    assert code == 2 and "--counterexamples" in out
