"""The PRISM model of the probabilistic reading, built and solved by Storm (stormpy).

Storm builds its own state space from the commands; with losses as moves of their own
and timers free (the explorer's graph itself) it must find exactly tcpcheck's states, as
SPIN does from the Promela model.  With losses by chance it solves the MDP exactly.
"""

from __future__ import annotations

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
    # The PRISM export writes the untimed reading: properties read with digital clocks
    # (a delay) are not cross-checked, and say so (crosscheck storm prints them).
    props = [p for p in every if p.delay is None]
    assert len(props) >= 3 and len(every) > len(props)
    rows = crosscheck_storm(every, [variant])
    assert {r.prop for r in rows} == {p.name for p in props}
    assert rows and all(r.agree for r in rows), [r.to_json() for r in rows if not r.agree]
    # Exact on both sides: equal fractions, not merely close numbers.
    assert all(r.tcpcheck[1].method == "exact" for r in rows)
