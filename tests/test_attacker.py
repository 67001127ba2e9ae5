"""The blind off-path attacker (issue: RFC 5961 and a blind attacker): where its forged
segments land, what each generation of the RST and SYN rules does with them, and that
every engine -- the reference product, the packed explorer, SPIN -- agrees."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from checker.check.properties import load_properties
from checker.cli import cli
from checker.export.promela import promela
from checker.model.endpoint import Local
from checker.model.load import load_spec
from checker.model.segments import AHEAD, BELOW, RST, Segment, placements
from checker.product.config import ProductConfig
from checker.product.explore import explore
from checker.product.reference import Product
from checker.product.semantics import attack_steps

ATTACK_PROPERTIES = ("blind-rst-cannot-reset", "exact-rst-resets", "blind-syn-cannot-reset")
EST = Local("ESTABLISHED", una=1, opened=True)


def _config(name: str) -> ProductConfig:
    (prop,) = [p for p in load_properties() if p.name == name]
    return prop.product_config()


def test_a_blind_sender_hits_no_exact_point() -> None:
    """RFC 5961 §1.1: the attacker knows the 4-tuple, not the numbers.  It never lands on
    RCV.NXT nor on an acceptable acknowledgment; one who knows them can."""
    for seg in placements(Segment(RST | 2, 0, 0), sent=1, received=1, una=1, blind=True):
        assert seg.seq in (BELOW, AHEAD) and seg.ack in (BELOW, AHEAD)
    told = placements(Segment(RST, 0), sent=1, received=1, una=1)
    assert 1 in [s.seq for s in told]  # exactly RCV.NXT


@pytest.mark.parametrize(
    ("variant", "kind", "events"),
    [
        # RFC 793 acceptance (base): a RST anywhere in the window resets.
        (None, "RST", [("rcv bad RST", "ESTABLISHED", ()), ("rcv RST in window", "CLOSED", ())]),
        # RFC 5961 §3.2 (3): a challenge ACK instead.
        (
            "rfc5961",
            "RST",
            [("rcv bad RST", "ESTABLISHED", ()), ("rcv RST in window", "ESTABLISHED", ("ACK",))],
        ),
        # RFC 5961 §4 (base, after RFC 9293): a SYN draws a challenge ACK.
        (
            None,
            "SYN",
            [("rcv SYN", "ESTABLISHED", ("ACK",)), ("rcv SYN in window", "ESTABLISHED", ("ACK",))],
        ),
        # RFC 5961 §5 (MAY-12): an ACK older than the window is ignored on base, drawn a
        # challenge under rfc5961 (one beyond SND.NXT is challenged everywhere).
        (
            None,
            "ACK",
            [
                ("rcv old ACK", "ESTABLISHED", ("ACK",)),
                ("rcv ACK", "ESTABLISHED", ()),
                ("rcv bad ACK", "ESTABLISHED", ("ACK",)),
            ],
        ),
        (
            "rfc5961",
            "ACK",
            [("rcv old ACK", "ESTABLISHED", ("ACK",)), ("rcv bad ACK", "ESTABLISHED", ("ACK",))],
        ),
        # RFC 793 §3.9: an in-window SYN resets, with a RST to the peer.
        (
            "rfc793",
            "SYN",
            [("rcv SYN", "ESTABLISHED", ("ACK",)), ("rcv SYN in window", "CLOSED", ("RST+ACK",))],
        ),
    ],
)
def test_each_generation_answers_a_blind_segment_in_established(
    variant: str | None, kind: str, events: list[tuple[str, str, tuple[str, ...]]]
) -> None:
    spec = load_spec(variant=variant)
    cfg = ProductConfig(attacker=1, attack_kinds=(kind,))
    got = [
        (st.rule.event, st.target.state, tuple(s.name for s in st.sent))
        for st in attack_steps(spec, cfg, EST)
    ]
    assert got == events


@pytest.mark.parametrize("variant", [None, "rfc5961", "rfc793", "linux"])
@pytest.mark.parametrize(
    "config",
    [
        ProductConfig(attacker=1, attack_kinds=("RST", "SYN"), loss="1"),
        ProductConfig(attacker=2, ordering="fifo", overflow="drop", capacity=1),
        ProductConfig(attacker=1, attack_exact=True, loss="none"),
    ],
    ids=["blind RST+SYN, loss 1", "blind 2, fifo drop", "exact 1"],
)
def test_packed_explorer_agrees_with_the_reference_under_attack(
    variant: str | None, config: ProductConfig
) -> None:
    spec = load_spec(variant=variant)
    ex = explore(spec, config)
    product = Product(spec, config)
    start = product.initial()
    seen = {start}
    todo = [start]
    edges = 0
    while todo:
        state = todo.pop()
        node = ex.node_of(state)
        assert node is not None
        moves = product.successors(state)
        assert sorted((lab.text(), ex.node_of(t)) for lab, t in moves) == sorted(
            (lab.text(), t) for lab, t in ex.edges_from(node)
        )
        edges += len(moves)
        for _lab, t in moves:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    assert (ex.states, ex.transitions) == (len(seen), edges)


def test_attack_state_counts_are_pinned() -> None:
    """The three properties' products (apps never close, no loss, one forged segment into
    ESTABLISHED); a change here changes what the attacker can do."""
    counts = {
        (name, variant): explore(load_spec(variant=variant), _config(name)).states
        for name in ATTACK_PROPERTIES
        for variant in (None, "rfc5961", "rfc793")
    }
    assert counts == PINNED_COUNTS


PINNED_COUNTS: dict[tuple[str, str | None], int] = {
    ("blind-rst-cannot-reset", None): 494,
    ("blind-rst-cannot-reset", "rfc5961"): 308,
    ("blind-rst-cannot-reset", "rfc793"): 494,
    ("exact-rst-resets", None): 494,
    ("exact-rst-resets", "rfc5961"): 515,
    ("exact-rst-resets", "rfc793"): 494,
    ("blind-syn-cannot-reset", None): 285,
    ("blind-syn-cannot-reset", "rfc5961"): 285,
    ("blind-syn-cannot-reset", "rfc793"): 714,
}


def test_the_blind_syn_counterexample_on_rfc793_is_pinned() -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["check", "--variant", "rfc793", "--property", "blind-syn-cannot-reset", "--json"],
    )
    assert result.exit_code == 0, result.output  # violated, as expected
    (verdict,) = json.loads(result.output)["properties"]
    steps = [(s["actor"], s["event"]) for s in verdict["trace"]["steps"]]
    assert steps == PINNED_TRACE
    last = verdict["trace"]["steps"][-1]
    assert last["kind"] == "attack" and last["received"] == "SYN seq=3"
    assert (last["A"], last["B"], last["sent"]) == (
        "CLOSED",
        "ESTABLISHED",
        ["RST+ACK seq=0 ack=3"],
    )


PINNED_TRACE = [
    ("A", "active OPEN"),
    ("B", "passive OPEN"),
    ("B", "rcv SYN"),
    ("A", "rcv SYN+ACK"),
    ("B", "rcv ACK of SYN"),
    ("A", "rcv SYN in window"),
]


def test_promela_counts_the_forged_segments() -> None:
    text = promela(load_spec(variant="rfc5961"), _config("blind-rst-cannot-reset"))
    assert "byte inj;" in text and "inj < 1" in text and "inj++" in text
    assert "forged" not in promela(load_spec(), ProductConfig())


@pytest.mark.spin
@pytest.mark.parametrize("variant", ["rfc793", "rfc5961", "linux"])
def test_spin_agrees_on_the_attack_properties(variant: str) -> None:
    from checker.export.crosscheck import crosscheck_suite

    props = [p for p in load_properties() if p.name in ATTACK_PROPERTIES]
    rows = crosscheck_suite(props, [variant])  # a row per configuration
    assert all(row.agree for row in rows)
    assert {c.prop: c.spin for row in rows for c in row.verdicts} == {
        p.name: p.expected_for(variant) for p in props
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explore", "--attacker", "1", "--attack-kinds", "RST,FOO"], "attack kinds must be"),
        (["explore", "--attacker", "1", "--attack-states", "ESTABLISHD"], "no state ESTABLISHD"),
        (["explore", "--attacker", "16"], "16"),
        (["bound", "FIN-WAIT-1", "--attacker", "1"], "does not model an attacker"),
    ],
)
def test_bad_attacker_options_are_one_clear_message(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_explore_with_an_attacker_says_so() -> None:
    result = CliRunner().invoke(
        cli, ["explore", "--attacker", "1", "--attack-kinds", "RST", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["config"]["attacker"] == 1
