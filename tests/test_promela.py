"""The Promela export against SPIN: the same reachable states, configuration by
configuration (skipped, with the reason, when SPIN or a C compiler is missing;
setup.sh installs them)."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.check.outcome import Outcome
from checker.check.properties import KINDS, Property, load_properties
from checker.cli import cli
from checker.export.promela import LineAction, promela
from checker.export.spin import run_spin, spin_verdict
from checker.model.load import load_spec
from checker.product.config import AppConfig, ProductConfig
from checker.product.explore import explore

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


@pytest.mark.spin
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
#: The suite's properties SPIN decides: the untimed kinds (not the timed nor the
#: probabilistic ones).
UNTIMED = [p for p in load_properties(spec=load_spec()) if p.kind in KINDS]

#: Retry counts for the verdict-by-verdict comparisons below: two engines agree or not
#: whatever the counts, and the base's RFC counts (7, 7, 6) make every SPIN run several
#: times longer (the suite's own comparison keeps them).
SMALL_R2 = {"SYN_RETRIES": 2.0, "SYNACK_RETRIES": 2.0, "FIN_RETRIES": 2.0}

#: The issue's three configurations: the default, FIFO with one loss, and one where a
#: full channel is the only thing that stops runs (tcpcheck answers "unknown" there).
CROSS = {
    "default": ProductConfig(),
    "fifo, loss 1": ProductConfig(ordering="fifo", loss="1"),
    "capacity 1, no loss": ProductConfig(capacity=1, loss="none"),
}


#: Every configuration and every variant of the comparison once each (a Latin square,
#: not the 3 x 3 product: each of these runs SPIN some forty times, and the suite has 15
#: minutes on 2 cores); `crosscheck spin` and benchmarks/spin.py run any other pairing.
CROSS_RUNS = [
    ("default", None),
    ("fifo, loss 1", "short-time-wait"),
    ("capacity 1, no loss", "no-time-wait"),
]


@pytest.mark.spin
@pytest.mark.parametrize(("name", "variant"), CROSS_RUNS)
def test_spin_agrees_on_every_untimed_verdict(name: str, variant: str | None) -> None:
    """The whole comparison on one product: equal states, equal verdicts on every
    untimed property under this configuration (invariants, reachability, paths,
    deadlock-freedom, eventually and leads-to with tcpcheck's fairness), and every trail
    SPIN writes replays through tcpcheck's product as a witness or counterexample."""
    from checker.export.crosscheck import crosscheck

    (row,) = crosscheck(UNTIMED, [variant], CROSS[name], params=SMALL_R2)
    assert row.same_states
    assert [(c.prop, c.spin) for c in row.verdicts] == [(c.prop, c.tcpcheck) for c in row.verdicts]
    assert all(c.trail is None for c in row.verdicts), [c.trail for c in row.verdicts]
    assert sum(c.has_trail for c in row.verdicts) >= 5  # trails were replayed, not absent
    kinds = {PROPS[c.prop].kind for c in row.verdicts}
    assert kinds == {"invariant", "reachable", "path", "deadlock-free", "eventually", "leads-to"}
    if name == "capacity 1, no loss":  # both tools tell a full channel from a real end
        assert {c.prop for c in row.verdicts if c.spin == Outcome.UNKNOWN} >= {
            "no-deadlock",
            "close-wait-leads-to-closed",
        }
    assert row.agree


@pytest.mark.spin
def test_spin_agrees_with_the_suite() -> None:
    """Every untimed property under its own configuration and parameters -- the
    verdicts ``tcpcheck check`` pins -- decided by SPIN too, on the base spec."""
    from checker.export.crosscheck import crosscheck_suite

    small = [_small(p) for p in UNTIMED]
    rows = crosscheck_suite(small, [None])
    verdicts = {c.prop: c.spin for r in rows for c in r.verdicts}
    assert verdicts == {p.name: p.expected_for(None) for p in UNTIMED}
    assert all(r.agree for r in rows)


def _small(prop: Property) -> Property:
    """``prop`` at the small retry counts (its own parameters win): SPIN's run on the
    RFC's counts takes minutes, and the verdicts of the suite do not depend on them."""
    return dataclasses.replace(prop, params={**SMALL_R2, **prop.params})


@pytest.mark.spin
def test_a_trail_through_d_steps_of_identical_text_replays() -> None:
    """SPIN compiles d_steps of identical text once and its trail names one line for all
    of them: here A's ACK of B's FIN from FIN-WAIT-1 and its re-ACK of the retransmitted
    FIN from TIME-WAIT (same guard, same target, same segments).  The replay takes the
    move of the current state with that effect."""
    from checker.export.crosscheck import crosscheck

    prop = PROPS["fin-wait-1-straight-to-time-wait"]
    (row,) = crosscheck([prop], [None], ProductConfig(ordering="fifo", loss="1"))
    (c,) = row.verdicts
    assert (c.tcpcheck, c.spin, c.trail) == (Outcome.HOLDS, Outcome.HOLDS, None)
    assert row.agree


@pytest.mark.spin
def test_spin_agrees_that_fair_loss_covers_dropped_segments() -> None:
    """The fairness monitor counts a segment a full channel drops as sent and owed, as
    tcpcheck does: "both eventually closed" under ``overflow = drop`` holds with fair
    loss and is violated without, in both tools, and SPIN's lasso replays."""
    from checker.export.crosscheck import crosscheck_suite

    prop = _small(PROPS["both-eventually-closed"])
    drop = {"overflow": "drop"}
    fair = dataclasses.replace(prop, name="fair", config=drop)
    unfair = dataclasses.replace(
        prop,
        name="unfair",
        config=drop,
        fairness=("fair-apps", "timers"),
        expected={"default": Outcome.VIOLATED},
    )
    (row,) = crosscheck_suite([fair, unfair], [None])
    got = {c.prop: (c.tcpcheck, c.spin, c.trail) for c in row.verdicts}
    assert got == {
        "fair": (Outcome.HOLDS,) * 2 + (None,),
        "unfair": (Outcome.VIOLATED,) * 2 + (None,),
    }
    assert row.agree


@pytest.mark.spin
def test_export_with_a_property_runs_as_it_says(tmp_path: Path) -> None:
    """``export promela --property``: the product under the property's configuration
    with its claim; SPIN run as the file's first lines say finds the counterexample of
    a violated leads-to (an acceptance cycle) and none for one that holds."""
    cases = (
        ("fin-wait-2-leads-to-closed", 1, "B: passive open, never closes"),
        ("close-wait-leads-to-closed", 0, "B: passive open, closes after the peer"),
    )
    for name, errors, config in cases:
        out = tmp_path / f"{name}.pml"
        small = [f"--param={k}={v:g}" for k, v in SMALL_R2.items()]
        got = CliRunner().invoke(
            cli, ["export", "promela", "--property", name, *small, "-o", str(out)]
        )
        assert got.exit_code == 0, got.output
        text = out.read_text()
        assert "./pan -a -m1000000" in text and "never {" in text and config in text
        assert run_spin(text, liveness=True).errors == errors
    timed = CliRunner().invoke(cli, ["export", "promela", "--property", "last-ack-not-stuck"])
    assert timed.exit_code == 2 and "timed property" in timed.output
    mixed = ["export", "promela", "--property", "graceful-close", "--loss", "1"]
    assert CliRunner().invoke(cli, mixed).exit_code == 2


def test_formulas_render_through_their_atoms() -> None:
    from checker.check.formula import parse_formula

    class Names:
        def local(self, side: str, test: object) -> str:
            return f"<{side}>"

        def inflight(self, side: str, bits: int) -> str:
            return f"<{side} sends {bits}>"

        def empty(self) -> str:
            return "<empty>"

    f = parse_formula("A = FIN-WAIT-2 and not inflight(B, FIN) -> empty or true")
    assert f.render(Names()) == "(!((<A> && !(<B sends 4>))) || (<empty> || true))"  # FIN = 4


@pytest.mark.spin
def test_crosscheck_command_json_and_a_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import checker.export.crosscheck as cc

    args = ["crosscheck", "spin", "--variant", "no-time-wait", "--ordering", "fifo", "--loss", "1"]
    args += [f"--param={k}={v:g}" for k, v in SMALL_R2.items()]
    got = CliRunner().invoke(cli, [*args, "--json"])
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)  # a slow run also writes progress lines on stderr
    (row,) = doc["configurations"]
    assert doc["agree"] and row["agree"] and row["tcpcheck_states"] == row["spin_states"]
    assert row["options"]["variant"] == "no-time-wait" and row["options"]["ordering"] == "fifo"
    assert {v["tcpcheck"] for v in row["verdicts"]} >= {"holds", "violated"}
    assert set(row["seconds"]) == {"tcpcheck", "spin_generate", "spin_compile", "spin_search"}
    assert all(set(v["seconds"]) == {"tcpcheck", "spin"} for v in row["verdicts"])
    assert all(v["spin_search_states"] > 0 for v in row["verdicts"])
    # Every trail SPIN wrote replays through tcpcheck's product.
    replayed = [v["trail_replays"] for v in row["verdicts"] if "trail_replays" in v]
    assert replayed and all(replayed)

    def flipped(
        prop: Property, spec: object, config: object, moves: object, scratch: object = None
    ) -> tuple[Outcome, object]:
        from types import SimpleNamespace

        # A SPIN that never finds anything.
        return Outcome.HOLDS, SimpleNamespace(
            trail=None, generate_seconds=0.0, compile_seconds=0.0, search_seconds=0.0, states=1
        )

    monkeypatch.setattr(cc, "spin_verdict", flipped)
    differs = CliRunner().invoke(cli, args)
    assert differs.exit_code == 1 and "tcpcheck violated, SPIN holds" in differs.output


@pytest.mark.spin
def test_a_trail_that_leaves_the_product_is_caught() -> None:
    """Replay is a real check: the same trail read against a wrong map of model lines
    (each move taken for the next one) does not replay."""
    import dataclasses

    from checker.export.crosscheck import replay

    prop = dataclasses.replace(PROPS["graceful-close"], config={})
    config = ProductConfig(ordering="fifo", loss="1")
    spec = load_spec(variant="no-time-wait")
    moves: dict[int, LineAction] = {}
    verdict, run = spin_verdict(prop, spec, config, moves)
    assert verdict == Outcome.VIOLATED and run.trail is not None
    ex = explore(spec, config)
    assert replay(run.trail, moves, ex, prop, verdict) is None
    lines = sorted(moves)
    shifted = {a: moves[b] for a, b in itertools.pairwise(lines)}
    why = replay(run.trail, shifted, ex, prop, verdict)
    assert why is not None and ("matching move" in why or "no move" in why)


@pytest.mark.spin
def test_a_cross_check_that_failed_does_not_refuse_later_runs() -> None:
    """An exception out of a cross-check ends its SPIN runs; the next ones still run."""
    from checker.export.spin import interruptible_runs

    with pytest.raises(ZeroDivisionError), interruptible_runs():
        raise ZeroDivisionError
    spec = load_spec(variant="no-time-wait")
    run = run_spin(promela(spec, ProductConfig(capacity=1, loss="none")))
    assert run.states > 0 and run.errors == 0
