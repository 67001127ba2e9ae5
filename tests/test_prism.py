"""The PRISM model of the probabilistic reading, built and solved by Storm (stormpy).

Storm builds its own state space from the commands; with losses as moves of their own
and timers free (the explorer's graph itself) it must find exactly tcpcheck's states, as
SPIN does from the Promela model.  With losses by chance it solves the MDP exactly.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from checker.errors import UsageError
from checker.export.prism import prism, prism_model
from checker.export.storm import storm_check, storm_missing
from checker.model.load import load_spec
from checker.prob.rates import LossRates
from checker.product.config import AppConfig, ProductConfig
from checker.product.explore import explore

needs_storm = pytest.mark.skipif(storm_missing() is not None, reason=str(storm_missing()))

SMALL = {"FIN_RETRIES": 1, "SYN_RETRIES": 1}


@needs_storm
@pytest.mark.parametrize(
    ("variant", "config"),
    [
        (None, ProductConfig()),
        ("linux", ProductConfig(capacity=1)),
        (None, ProductConfig(b=AppConfig("passive", "first"), capacity=1)),
    ],
    ids=["base", "linux capacity 1", "simultaneous close"],
)
def test_storm_finds_exactly_the_explored_states(
    variant: str | None, config: ProductConfig, tmp_path: Path
) -> None:
    import stormpy

    spec = load_spec(variant=variant)
    ex = explore(spec, config)
    model = prism_model(spec, config, timers="any", losses="choice")
    saved = tmp_path / "model.prism"
    saved.write_text(model.text, encoding="utf-8")
    program = stormpy.parse_prism_program(str(saved))
    program, _ = stormpy.instantiate_constants(
        program, dict.fromkeys(model.constants.values(), 0.5)
    )
    built = stormpy.build_model(program)
    assert built.nr_states == ex.states
    # Storm gives each state without moves a self-loop.
    assert built.nr_choices == ex.transitions + len(ex.deadlocks)


@needs_storm
def test_without_loss_every_close_ends_by_its_ack_and_with_certain_loss_none_starts() -> None:
    spec = load_spec(params=SMALL)
    model = prism_model(spec, ProductConfig(capacity=1), question="B leaves LAST-ACK")
    assert model.events == ("rcv ACK of FIN", "rcv RST", "timeout RETX")
    never = storm_check(model, dict.fromkeys(model.constants.values(), Fraction(0)))
    # A scheduler may keep B from listening until A's SYN is refused: the minimum is 0.
    zero, one = Fraction(0), Fraction(1)
    assert never.events["rcv ACK of FIN"] == (zero, one)
    assert never.events["timeout RETX"] == (zero, zero)
    assert never.retransmissions == (zero, zero)
    always = storm_check(model, dict.fromkeys(model.constants.values(), Fraction(1)))
    assert always.events["any"] == (zero, zero)
    # Every SYN is lost: A sends it and its one retransmission, then gives up.
    assert always.retransmissions == (one, one)


@needs_storm
def test_give_ups_grow_with_the_loss_rate() -> None:
    spec = load_spec(params=SMALL)
    model = prism_model(spec, ProductConfig(capacity=1), question="B leaves LAST-ACK")
    highs = [
        storm_check(model, dict.fromkeys(model.constants.values(), Fraction(p))).events[
            "timeout RETX"
        ][1]
        for p in ("1/100", "1/20", "1/5")
    ]
    assert 0 < highs[0] < highs[1] < highs[2] < 1


def test_the_text_is_the_same_every_time_and_names_its_reading() -> None:
    spec = load_spec()
    rates = LossRates.parse("1/100")
    text = prism(spec, ProductConfig(), question="B leaves LAST-ACK", rates=rates)
    assert text == prism(spec, ProductConfig(), question="B leaves LAST-ACK", rates=rates)
    assert "const double p_ab_FIN_ACK = 1/100;" in text
    assert "Timers wait for the network" in text
    assert "(1-p_ba_FIN_ACK) : " in text


@pytest.mark.parametrize(
    "config",
    [
        ProductConfig(ordering="fifo"),
        ProductConfig(loss="1"),
        ProductConfig(duplication="1"),
        ProductConfig(attacker=1),
        ProductConfig(overflow="drop"),
    ],
    ids=["fifo", "loss budget", "duplication", "attacker", "overflow drop"],
)
def test_what_the_reading_does_not_cover_is_refused(config: ProductConfig) -> None:
    with pytest.raises(UsageError):
        prism(load_spec(), config)


@needs_storm
@pytest.mark.parametrize("variant", [None, "linux"], ids=["base", "linux"])
def test_storm_agrees_on_every_bundled_probabilistic_property(variant: str | None) -> None:
    from checker.check.properties import load_properties
    from checker.export.probcheck import crosscheck_storm

    every = [p for p in load_properties() if p.kind == "probability"]
    # The PRISM export writes the untimed reading: for a property read with digital
    # clocks (a delay), Storm solves tcpcheck's own MDP, written out.
    clocked = {p.name for p in every if p.delay is not None}
    assert len(every) >= 4 and clocked
    rows = crosscheck_storm(every, [variant])
    assert {r.prop for r in rows} == {p.name for p in every}
    assert {r.prop for r in rows if r.built == "explicit"} == clocked
    assert rows and all(r.agree for r in rows), [r.to_json() for r in rows if not r.agree]
    # Exact on both sides: equal fractions, not merely close numbers.
    assert all(r.tcpcheck[1].method == "exact" for r in rows)


@needs_storm
@pytest.mark.parametrize("exact_states", [50_000, 10], ids=["fractions", "floats"])
def test_storm_solves_the_written_clocked_mdp_as_tcpcheck_does(
    exact_states: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every outcome of a question on a clocked MDP (delays of 10 and 20 ms, a 1.5 s
    horizon), written out for Storm: the same fraction where tcpcheck's induction is in
    fractions, within its rounding bound where it is in floats."""
    from checker.export.drn import drn
    from checker.export.storm import storm_check_drn
    from checker.prob import solve as solving
    from checker.prob.clocks import build_reading
    from checker.prob.questions import outcomes, parse_question
    from checker.prob.rates import LossRates

    monkeypatch.setattr(solving, "EXACT_STATES", exact_states)
    spec = load_spec(params={"FIN_RETRIES": 2})
    config = ProductConfig(ordering="fifo", capacity=4)
    mdp = build_reading(spec, config, delay="0.01=1/2,0.02=1/2", within=1.5)
    rates = LossRates.parse("A->B=0.1,B->A=0.2")
    tasks = outcomes(mdp, parse_question("B leaves LAST-ACK", spec))
    assert [o.name for o in tasks][-3:] == ["after 1.5 s", "stays", "never enters"]
    for outcome in tasks:
        (low, high), read = storm_check_drn(drn(mdp, outcome.task, rates))
        assert read == mdp.summary()["states"] + 2
        for theirs, opt in ((low, "min"), (high, "max")):
            ours = solving.solve(mdp, outcome.task, rates, opt)
            if exact_states > 10:
                assert (ours.method, ours.low) == ("exact", theirs), outcome.name
            else:
                assert ours.method == "numeric"
                assert float(ours.low) <= float(theirs) <= float(ours.high), outcome.name


@needs_storm
def test_storm_solves_an_expected_total_on_a_cyclic_mdp() -> None:
    """Unbounded FIN retransmissions make the MDP cyclic (numeric answers, by interval
    iteration): the expected segments sent, written out with a reward model, lie within
    tcpcheck's interval."""
    from checker.export.drn import drn
    from checker.export.storm import storm_check_drn
    from checker.prob.mdp import build_mdp
    from checker.prob.questions import outcomes, parse_question
    from checker.prob.rates import LossRates
    from checker.prob.solve import solve

    spec = load_spec(params={"FIN_RETRIES": float("inf"), "SYN_RETRIES": 1, "SYNACK_RETRIES": 1})
    mdp = build_mdp(spec)
    assert not mdp.acyclic
    rates = LossRates.parse("0.1")
    [outcome] = outcomes(mdp, parse_question("expected segments", spec))
    (low, high), _read = storm_check_drn(drn(mdp, outcome.task, rates))
    for theirs, opt in ((low, "min"), (high, "max")):
        ours = solve(mdp, outcome.task, rates, opt)
        assert ours.method == "numeric"
        assert float(ours.low) - 1e-9 <= float(theirs) <= float(ours.high) + 1e-9, (opt, ours)


@needs_storm
def test_crosscheck_storm_says_which_mdp_storm_solved() -> None:
    from click.testing import CliRunner

    from checker.cli import cli

    args = ["crosscheck", "storm", "--property", "close-completes-within-seconds"]
    shown = CliRunner().invoke(cli, [*args, "--variant", "linux", "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)["rows"]
    assert [(r["loss_rate"], r["storm_built"], r["agree"]) for r in rows] == [
        ("0.01", "explicit", True),
        ("0.05", "explicit", True),
    ]
    table = CliRunner().invoke(cli, [*args, "--variant", "base"])
    assert table.exit_code == 0 and "tcpcheck's MDP" in table.output, table.output
    assert "2 values cross-checked with Storm, 0 differ" in table.output
