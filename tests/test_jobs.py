"""Independent jobs on workers (checker/jobs.py) and the synthesis that uses them: the
same tiles and bytes with one worker or a Dask cluster, and clear refusals of
impossible worker options."""

from __future__ import annotations

import json
import operator
from typing import Any

import pytest
from click.testing import CliRunner

from checker.check.properties import load_properties
from checker.cli import cli
from checker.errors import UsageError
from checker.jobs import Pool, Workers, open_pool
from checker.model.load import load_spec
from checker.timed.synth import synthesize

HEADLINE = {p.name: p for p in load_properties(spec=load_spec())}["last-ack-not-stuck"]
SMALL = {"FIN_RETRIES": 2}
FREE3 = ["TIME_WAIT", "MSL", "RTO"]


def _scaled(shared: int, item: int) -> int:
    return shared * item


def test_results_come_back_in_the_items_order_and_each_is_announced() -> None:
    announced: list[tuple[int, int]] = []
    with open_pool() as pool:
        got = pool.map(_scaled, [3, 1, 2], 10, lambda i, r: announced.append((i, r)))
    assert got == [30, 10, 20]
    assert sorted(announced) == [(0, 30), (1, 10), (2, 20)]


@pytest.mark.parametrize("dealt", [False, True])
def test_on_a_cluster_results_keep_the_items_order_whoever_ran_them(dealt: bool) -> None:
    """One task per item, or the items dealt to the two workers up front: the same
    results in the same order, each announced once."""
    announced: list[tuple[int, int]] = []
    with open_pool(Workers(count=2), warmup=0.0) as pool:
        items = [3, 1, 2, 5, 4]
        # A function the workers can import (this test module is not on their path).
        got = pool.map(operator.mul, items, 10, lambda i, r: announced.append((i, r)), dealt=dealt)
        assert pool._client is not None
    assert got == [30, 10, 20, 50, 40]
    assert sorted(announced) == [(0, 30), (1, 10), (2, 20), (3, 50), (4, 40)]


@pytest.mark.parametrize(
    ("workers", "message"),
    [
        (dict(count=0), "--workers must be at least 1"),
        (dict(count=2, scheduler="tcp://127.0.0.1:8786"), "exclude each other"),
    ],
)
def test_impossible_worker_options_are_refused(workers: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Workers(**workers)


def test_the_defaults_describe_themselves() -> None:
    assert Workers(count=1).describe() == "1 worker (this process)"
    assert Workers(count=3).describe() == "3 local worker processes"
    assert Workers(scheduler="tcp://h:8786").describe() == "the Dask scheduler at tcp://h:8786"
    assert not Pool(Workers(count=1)).parallel and Pool(Workers(count=2)).parallel


def test_a_synthesis_is_the_same_bytes_on_a_dask_cluster() -> None:
    """Rounds are chosen from the tiles alone and folded in the points' order: two
    worker processes (a real local cluster, started at once) give the region, the
    tiles and the JSON of one worker, byte for byte."""
    spec = load_spec(params=SMALL)
    alone = synthesize(HEADLINE, spec, None, FREE3)
    with open_pool(Workers(count=2), warmup=0.0) as pool:
        shared = synthesize(HEADLINE, spec, None, FREE3, pool=pool)
        assert pool._client is not None  # the jobs did run on the cluster
    assert alone.status == "exact"
    assert json.dumps(shared.to_json()) == json.dumps(alone.to_json())
    assert shared.tiles == alone.tiles and shared.message == alone.message


def test_the_round_size_changes_the_tiles_not_the_region() -> None:
    spec = load_spec(params=SMALL)
    one = synthesize(HEADLINE, spec, None, FREE3, round_size=1)
    eight = synthesize(HEADLINE, spec, None, FREE3, round_size=8)
    assert one.text() == eight.text() == "TIME_WAIT >= MSL + RTO and MSL < 3*RTO"
    assert "in rounds of 1," in one.message and "in rounds of 8," in eight.message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "exclude each other"),
        (["--round", "0"], "--round"),
        (["--scheduler", "tcp://127.0.0.1:9"], "no Dask scheduler answers there"),
        (["--scheduler", "1"], "--scheduler 1: not a scheduler's address"),
        (["--scheduler", "tcp://"], "give one as tcp://host:port"),
    ],
)
def test_the_command_line_refuses_impossible_workers(args: list[str], message: str) -> None:
    got = CliRunner().invoke(
        cli, ["synth", "last-ack-not-stuck", "--param", "FIN_RETRIES=2", *args]
    )
    assert got.exit_code == 2, got.output
    assert message in got.output and "Traceback" not in got.output


@pytest.mark.spin
def test_a_spin_crosscheck_is_the_same_on_a_dask_cluster() -> None:
    """Each product is a job: on two worker processes (SPIN running inside them) the
    rows, states and verdicts are those of one worker, in the same order."""
    from checker.export.crosscheck import crosscheck
    from checker.product.config import ProductConfig

    props = [p for p in load_properties(spec=load_spec()) if p.kind == "invariant"][:3]
    config = ProductConfig(capacity=1, loss="none")
    variants = [None, "no-time-wait", "linux"]
    params = {"SYN_RETRIES": 2.0, "SYNACK_RETRIES": 2.0, "FIN_RETRIES": 2.0}
    seen: list[int] = []
    alone = crosscheck(props, variants, config, params=params)
    with open_pool(Workers(count=2), warmup=0.0) as pool:
        spread = crosscheck(
            props,
            variants,
            config,
            params=params,
            pool=pool,
            progress=lambda d, _t, _r: seen.append(d),
        )
        assert pool._client is not None  # the products were checked on the cluster

    def facts(rows: Any) -> list[Any]:
        return [
            (
                r.variant,
                r.tcpcheck_states,
                r.spin.states,
                [(c.prop, c.tcpcheck, c.spin) for c in r.verdicts],
            )
            for r in rows
        ]

    assert facts(spread) == facts(alone) and all(r.agree for r in spread)
    assert seen == [1, 2, 3]
