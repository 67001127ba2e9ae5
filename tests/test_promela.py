"""The Promela export against SPIN: the same reachable states, configuration by
configuration (skipped, with the reason, when SPIN or a C compiler is missing;
setup.sh installs them)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.check import run_suite
from checker.cli import cli
from checker.config import AppConfig, ProductConfig
from checker.explore import explore
from checker.promela import promela
from checker.properties import Property, load_properties
from checker.spec import load_spec
from checker.spin import missing_tools, run_spin, spin_verdict

CONFIGS = {
    "default": ProductConfig(),
    "fifo, no loss": ProductConfig(loss="none", ordering="fifo"),
    "fifo, loss 1": ProductConfig(ordering="fifo", loss="1"),
    "duplication 1, loss 1": ProductConfig(duplication="1", loss="1"),
    "overflow drop, capacity 1": ProductConfig(overflow="drop", capacity=1),
    "close or abort any time, loss 1": ProductConfig(
        a=AppConfig("active", "any", abort=True),
        b=AppConfig("passive", "any", abort=True),
        loss="1",
    ),
}


def test_export_is_deterministic_and_cites_the_rules(tmp_path: Path) -> None:
    spec = load_spec()
    text = promela(spec, ProductConfig())
    assert text == promela(spec, ProductConfig())
    rules = {t.index for t in spec.transitions}
    cited = {int(n) for n in __import__("re").findall(r"rule#(\d+)", text)}
    assert cited and cited <= rules
    out = tmp_path / "tcp.pml"
    got = CliRunner().invoke(cli, ["export", "promela", "-o", str(out)])
    assert got.exit_code == 0 and out.read_text() == text


needs_spin = pytest.mark.skipif(
    bool(missing_tools()), reason=f"missing {', '.join(missing_tools())} (apt-get install spin gcc)"
)


@needs_spin
@pytest.mark.parametrize("variant", [None, "linux", "no-time-wait"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_spin_stores_exactly_the_product_states(name: str, variant: str | None) -> None:
    """One d_step per move at one loop location: SPIN's stored states are the product's
    states, and its transitions the product's plus one (pan counts the initial state)."""
    spec = load_spec(variant=variant)
    ex = explore(spec, CONFIGS[name])
    run = run_spin(promela(spec, CONFIGS[name]))
    assert (run.states, run.transitions, run.errors) == (ex.states, ex.transitions + 1, 0)


PROPS = {p.name: p for p in load_properties(spec=load_spec())}
SAFETY = [p for p in load_properties(spec=load_spec()) if p.kind in ("invariant", "reachable")]


@needs_spin
@pytest.mark.parametrize("variant", [None, "no-time-wait"])
@pytest.mark.parametrize("prop", SAFETY, ids=[p.name for p in SAFETY])
def test_spin_agrees_on_the_safety_verdicts(prop: Property, variant: str | None) -> None:
    """Invariants and reachability as never claims: SPIN's verdict is tcpcheck's, on the
    base spec and on the variant broken on purpose (where some are violated)."""
    (ours,) = run_suite([prop], variants=[variant])
    known = {p.name for p in load_spec(variant=variant).parameters}
    spec = load_spec(variant=variant, params={k: v for k, v in prop.params.items() if k in known})
    theirs, _run = spin_verdict(prop, spec, prop.product_config())
    assert theirs == ours.verdict


def test_formulas_render_through_their_atoms() -> None:
    from checker.formula import parse_formula

    class Names:
        def local(self, side: str, test: object) -> str:
            return f"<{side}>"

        def inflight(self, side: str, bits: int) -> str:
            return f"<{side} sends {bits}>"

        def empty(self) -> str:
            return "<empty>"

    f = parse_formula("A = FIN-WAIT-2 and not inflight(B, FIN) -> empty or true")
    assert f.render(Names()) == "(!((<A> && !(<B sends 4>))) || (<empty> || true))"  # FIN = 4


@needs_spin
def test_crosscheck_command_json_and_a_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import checker.crosscheck as cc

    args = ["crosscheck", "spin", "--variant", "no-time-wait", "--ordering", "fifo", "--loss", "1"]
    got = CliRunner().invoke(cli, [*args, "--json"])
    assert got.exit_code == 0, got.output
    doc = json.loads(got.output)
    (row,) = doc["configurations"]
    assert doc["agree"] and row["agree"] and row["tcpcheck_states"] == row["spin_states"]
    assert row["options"]["variant"] == "no-time-wait" and row["options"]["ordering"] == "fifo"
    assert {v["tcpcheck"] for v in row["verdicts"]} == {"holds", "violated"}
    assert set(row["seconds"]) == {"tcpcheck", "spin_generate", "spin_compile", "spin_search"}
    # Every violation SPIN found replays through tcpcheck's product to a violating state.
    assert row["trails"] and all(t["replays"] for t in row["trails"])

    def flipped(prop: Property, spec: object, config: object, moves: object) -> tuple[str, object]:
        from types import SimpleNamespace

        return "holds", SimpleNamespace(trail=None)  # a SPIN that never finds anything

    monkeypatch.setattr(cc, "spin_verdict", flipped)
    differs = CliRunner().invoke(cli, args)
    assert differs.exit_code == 1 and "tcpcheck violated, SPIN holds" in differs.output


@needs_spin
def test_a_trail_that_leaves_the_product_is_caught() -> None:
    """Replay is a real check: the same trail read against a wrong map of model lines
    (each move taken for the next one) does not replay."""
    import dataclasses

    from checker.crosscheck import replay

    prop = dataclasses.replace(PROPS["graceful-close"], config={})
    config = ProductConfig(ordering="fifo", loss="1")
    spec = load_spec(variant="no-time-wait")
    moves: dict[int, object] = {}
    verdict, run = spin_verdict(prop, spec, config, moves)
    assert verdict == "violated" and run.trail is not None
    ex = explore(spec, config)
    assert replay(run.trail, moves, ex, prop) is None  # type: ignore[arg-type]
    lines = sorted(moves)
    shifted = {a: moves[b] for a, b in itertools.pairwise(lines)}
    why = replay(run.trail, shifted, ex, prop)  # type: ignore[arg-type]
    assert why is not None and ("matching move" in why or "no move" in why)
