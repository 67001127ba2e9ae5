"""tcpcheck against SPIN: reachable states and every untimed verdict.

For each variant and configuration: tcpcheck explores the product; SPIN searches the
exported model (:mod:`checker.export.promela`); the stored-state counts must be equal (SPIN's
transitions are tcpcheck's plus one: pan counts the initial state).  Every untimed
property is then decided by both on that same product -- tcpcheck on its graph, SPIN
with the property's claim (:mod:`checker.export.claims`) -- and the verdicts must be equal.
:func:`crosscheck` decides every property under one configuration; :func:`crosscheck_suite`
each under its own configuration and parameters, as ``tcpcheck check`` does.  Both tools'
times are kept, SPIN's generation, compilation and search apart.

Every trail SPIN writes is replayed through tcpcheck's product (:func:`replay`): each
step must be one of tcpcheck's moves, and the run must be what SPIN's verdict claims --
a state violating the invariant, a witness, a matched path, a deadlock outside
``final``, or a fair lasso avoiding the goal (:func:`checker.check.liveness.lasso_violates`).

Examples
--------
>>> number(float("inf")), number(2.0)
('inf', 2.0)
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..check.formula import parse_formula
from ..check.liveness import GraphFacts, lasso_violates
from ..check.outcome import Outcome
from ..check.paths import parse_path, path_start, path_step
from ..check.properties import KINDS, Property, premise_and_goal
from ..check.untimed import check_property
from ..jobs import Pool, open_pool
from ..model.load import load_spec
from ..model.overrides import merge_params, parameter_names
from ..model.spec import Spec
from ..product.config import ProductConfig
from ..product.exploration import Exploration
from ..product.explore import explore
from ..product.semantics import CHANNELS, Label
from .promela import LineAction, promela
from .spin import SpinRun, interruptible_runs, run_spin, spin_verdict, trail_steps

__all__ = [
    "Compared",
    "CrossCheck",
    "Product",
    "check_product",
    "crosscheck",
    "crosscheck_suite",
    "follow",
    "replay",
]


@dataclass(frozen=True)
class Compared:
    """One property's verdict by both tools, with their times (SPIN's: generation,
    compilation and search of every run the verdict took)."""

    prop: str
    tcpcheck: Outcome
    spin: Outcome
    tcpcheck_seconds: float
    spin_seconds: float
    #: ``None`` when SPIN's trail replays through tcpcheck's product as the verdict
    #: claims (or SPIN wrote no trail), else why it does not.
    trail: str | None = None
    has_trail: bool = False
    #: States SPIN stored in the search that decided (the product with the claim, and
    #: the fairness monitor for eventually and leads-to).
    spin_states: int = 0


@dataclass(frozen=True)
class CrossCheck:
    """One variant under one configuration, by both tools."""

    variant: str | None
    config: ProductConfig
    params: tuple[tuple[str, float], ...]
    tcpcheck_states: int
    tcpcheck_transitions: int
    tcpcheck_seconds: float
    spin: SpinRun
    verdicts: tuple[Compared, ...]

    @property
    def same_states(self) -> bool:
        """SPIN stores the product's states; its transitions are the product's plus one
        (pan counts the step into the initial state)."""
        ours = (self.tcpcheck_states, self.tcpcheck_transitions + 1)
        return (self.spin.states, self.spin.transitions) == ours

    @property
    def agree(self) -> bool:
        same = all(c.tcpcheck == c.spin and c.trail is None for c in self.verdicts)
        return self.same_states and same

    def options(self) -> dict[str, Any]:
        out = {"variant": self.variant or "base", **self.config.to_json()}
        if self.params:
            out["params"] = {k: number(v) for k, v in self.params}
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "options": self.options(),
            "tcpcheck_states": self.tcpcheck_states,
            "spin_states": self.spin.states,
            "tcpcheck_transitions": self.tcpcheck_transitions,
            "spin_transitions": self.spin.transitions,
            "verdicts": [
                {
                    "property": c.prop,
                    "tcpcheck": c.tcpcheck,
                    "spin": c.spin,
                    **({"trail_replays": c.trail is None} if c.has_trail else {}),
                    **({"why": c.trail} if c.trail else {}),
                    "spin_search_states": c.spin_states,
                    "seconds": {
                        "tcpcheck": round(c.tcpcheck_seconds, 3),
                        "spin": round(c.spin_seconds, 3),
                    },
                }
                for c in self.verdicts
            ],
            "agree": self.agree,
            "seconds": {
                "tcpcheck": round(self.tcpcheck_seconds, 3),
                "spin_generate": round(self.spin.generate_seconds, 3),
                "spin_compile": round(self.spin.compile_seconds, 3),
                "spin_search": round(self.spin.search_seconds, 3),
            },
        }


def number(v: float) -> float | str:
    """A parameter's value for JSON (infinity as the string ``inf``)."""
    return "inf" if v == float("inf") else v


def compare(
    prop: Property,
    spec: Spec,
    config: ProductConfig,
    ex: Exploration,
    variant: str | None,
    facts: GraphFacts | None = None,
    scratch: str | None = None,
) -> Compared:
    """``prop`` decided by tcpcheck on ``ex`` and by SPIN on the model of ``spec`` under
    ``config`` (the same product), with SPIN's trail replayed through ``ex``; ``facts``:
    what tcpcheck keeps about ``ex`` between properties; ``scratch``: where SPIN's
    scratch folder goes (default: the system's temporary folder)."""
    here = dataclasses.replace(prop, config={})  # both tools see this very product
    started = time.perf_counter()
    ours = check_property(here, ex, variant, facts=facts).verdict
    ours_seconds = time.perf_counter() - started
    moves: dict[int, LineAction] = {}
    theirs, run = spin_verdict(here, spec, config, moves, scratch=scratch)
    spin_seconds = run.generate_seconds + run.compile_seconds + run.search_seconds
    if run.trail is None:
        return Compared(
            prop.name, ours, theirs, ours_seconds, spin_seconds, None, False, run.states
        )
    why = replay(run.trail, moves, ex, here, theirs)
    return Compared(prop.name, ours, theirs, ours_seconds, spin_seconds, why, True, run.states)


@dataclass(frozen=True)
class Product:
    """One product both tools explore -- a variant's spec under a configuration and
    parameters -- and the properties decided on it: one job of a cross-check."""

    spec: Spec
    variant: str | None
    config: ProductConfig
    params: tuple[tuple[str, float], ...]
    props: tuple[Property, ...]


def check_product(scratch: str | None, job: Product) -> CrossCheck:
    """Both tools on ``job``'s product: the states, then every property.  SPIN's runs
    are other processes, so two run at a time beside this one (the count beside the
    first verdicts); their scratch folders go in ``scratch`` when it exists here (a
    folder the caller removes, whatever happens to this process)."""
    spec, config = job.spec, job.config
    where = scratch if scratch is not None and os.path.isdir(scratch) else None
    with ThreadPoolExecutor(2) as pool, interruptible_runs(pool):
        started = time.perf_counter()
        ex = explore(spec, config)
        ours_seconds = time.perf_counter() - started
        counted = pool.submit(run_spin, promela(spec, config), scratch=where)
        facts = GraphFacts(ex)
        decided = [
            pool.submit(compare, p, spec, config, ex, job.variant, facts, where) for p in job.props
        ]
        return CrossCheck(
            job.variant,
            config,
            job.params,
            ex.states,
            ex.transitions,
            ours_seconds,
            counted.result(),
            tuple(f.result() for f in decided),
        )


#: Called as each product is done: (products done, products in all, that product).
Progress = Callable[[int, int, CrossCheck], None]


def _run(
    products: Sequence[Product], pool: Pool | None, progress: Progress | None
) -> list[CrossCheck]:
    """Every product checked by ``pool``'s workers (default: here), in their order."""
    finished = [0]

    def done(_i: int, row: CrossCheck) -> None:
        finished[0] += 1
        if progress is not None:
            progress(finished[0], len(products), row)

    # A folder of this run's own for every SPIN scratch folder of a local worker: a
    # worker stopped mid-run cannot remove its own, this process removes them all.
    with (
        tempfile.TemporaryDirectory(prefix="tcpcheck-crosscheck-") as scratch,
        ExitStack() as stack,
    ):
        jobs = pool if pool is not None else stack.enter_context(open_pool())
        try:
            return jobs.map(check_product, list(products), scratch, done)
        except BaseException:
            jobs.close()  # the workers and their SPIN runs end before the folder goes
            raise


def crosscheck(
    props: Sequence[Property],
    variants: Sequence[str | None],
    config: ProductConfig,
    spec_path: str | Path | None = None,
    params: dict[str, float] | None = None,
    *,
    pool: Pool | None = None,
    progress: Progress | None = None,
) -> list[CrossCheck]:
    """Compare tcpcheck and SPIN on ``config`` for each variant: the states, and every
    untimed property decided under this configuration (see the module doc).  The
    variants are independent jobs for ``pool`` (default: one after the other here)."""
    chosen = tuple(p for p in props if p.kind in KINDS)  # the timed kinds are tcpcheck's
    given = tuple(sorted((params or {}).items()))
    products = [
        Product(load_spec(spec_path, variant=v, params=params or {}), v, config, given, chosen)
        for v in variants
    ]
    return _run(products, pool, progress)


def crosscheck_suite(
    props: Sequence[Property],
    variants: Sequence[str | None],
    spec_path: str | Path | None = None,
    *,
    pool: Pool | None = None,
    progress: Progress | None = None,
) -> list[CrossCheck]:
    """Compare tcpcheck and SPIN on every untimed property under its own configuration
    and parameters -- what ``tcpcheck check`` decides -- one row per distinct product."""
    groups: dict[tuple[Any, ...], list[Property]] = {}
    for variant in variants:
        known = parameter_names(spec_path, variant, check_behaviour=True)
        for prop in props:
            if prop.kind not in KINDS or prop.expected_for(variant) is None:
                continue
            params = tuple(sorted(merge_params(prop.params, known=known).items()))
            groups.setdefault((variant, params, prop.product_config()), []).append(prop)
    products = [
        Product(
            load_spec(spec_path, variant=variant, params=dict(params)),
            variant,
            config,
            params,
            tuple(members),
        )
        for (variant, params, config), members in groups.items()
    ]
    return _run(products, pool, progress)


def follow(
    trail: str, moves: dict[int, LineAction], ex: Exploration
) -> tuple[list[int], int | None, str | None] | str:
    """SPIN's trail as a run of tcpcheck's product: (edge indices, index of the first
    edge of the acceptance cycle or ``None``, how a monitor ended the run -- ``stop``,
    ``stuck``, ``deadlock`` -- or ``None``); a string saying why when a step is no move
    of the product."""
    steps, cycle_at = trail_steps(trail)
    if not steps:
        return "the trail has no steps"
    node = 0
    edges: list[int] = []
    loop = None
    ended = None
    for i, (proc, line) in enumerate(steps, start=1):
        if cycle_at is not None and i - 1 == cycle_at:
            loop = len(edges)
        move = moves.get(line)
        if move is None:
            return f"step {i} ({proc}) runs model line {line}, which is no move"
        here = ex.state(node)
        kind, where, how, what = move
        if kind == "monitor":
            if where in ("stop", "stuck", "deadlock"):
                ended = where
            continue
        targets = []
        alike = []  # moves SPIN cannot tell from this one (see below)
        for e in range(ex.offsets[node], ex.offsets[node + 1]):
            label, m = ex.labels[ex.lbl[e]], ex.dst[e]
            after = ex.state(m)
            if kind == "move":
                if after.local(where) == what:
                    if label == how:
                        targets.append(e)
                    elif _same_effect(label, how):
                        alike.append(e)
                continue
            side = "A" if where == "ab" else "B"
            content = here.channel_from(side)
            code = what if how == "code" else content[what].code if what < len(content) else -1
            net_kind = "loss" if kind == "lose" else "dup"
            if label.actor != "net" or label.kind != net_kind or label.channel != CHANNELS[side]:
                continue
            if label.segment is None or label.segment.code != code:
                continue
            if how == "position":
                rest = content[:what] + content[what + 1 :]
                if after.channel_from(side) != rest:
                    continue
            targets.append(e)
        if not targets and alike and len({ex.dst[e] for e in alike}) == 1:
            # SPIN compiles d_steps of identical text once and reports one line for all
            # of them: a move of another local state with the same guard and effect
            # (TIME-WAIT's re-ACK of a FIN and FIN-WAIT-1's ACK of the same FIN).
            targets = alike[:1]
        if len(targets) != 1:
            found = "no" if not targets else f"{len(targets)}"
            return f"step {i} ({proc}, model line {line}): {found} matching move in tcpcheck"
        edges.append(targets[0])
        node = ex.dst[targets[0]]
    if cycle_at is not None and loop is None:
        loop = len(edges)
    return edges, loop, ended


def _same_effect(label: Label, other: Label) -> bool:
    """Do two moves of one endpoint read and write the channels alike?"""
    return (label.actor, label.received, label.sent, label.dropped) == (
        other.actor,
        other.received,
        other.sent,
        other.dropped,
    )


def replay(
    trail: str, moves: dict[int, LineAction], ex: Exploration, prop: Property, verdict: Outcome
) -> str | None:
    """Follow SPIN's error trail through tcpcheck's product: ``None`` when every step is
    a move of the product and the run is what SPIN's ``verdict`` on ``prop`` claims --
    an invariant fails or a target holds at its end, the path pattern is matched, a
    deadlock outside ``final``, a fair lasso (or a run that may stop) avoiding the goal;
    otherwise why not."""
    followed = follow(trail, moves, ex)
    if isinstance(followed, str):
        return followed
    edges, loop, ended = followed
    nodes = [0] + [ex.dst[e] for e in edges]
    end = ex.state(nodes[-1])
    kind = prop.kind
    if kind in ("invariant", "reachable"):
        holds = parse_formula(prop.formula)(end)
        if (kind == "invariant") == holds:
            return f"the trail ends in {end.describe()}, which does not violate {prop.name}"
        return None
    if kind == "path":
        side, pattern = parse_path(prop.formula)
        controls = [ex.state(v).local(side).state for v in nodes]
        pos = path_start(pattern, controls[0])
        for before, now in itertools.pairwise(controls):
            if len(pattern) in pos:
                break
            pos = pos if now == before else path_step(pattern, pos, now)
        if len(pattern) not in pos:
            return f"the trail does not take {side} through {prop.formula}"
        return None
    if kind == "deadlock-free":
        last = nodes[-1]
        if ex.offsets[last] != ex.offsets[last + 1]:
            return f"the trail ends in {end.describe()}, where moves are possible"
        if prop.final is not None and parse_formula(prop.final)(end):
            return f"the trail ends in {end.describe()}, a final state"
        blocked = last in set(ex.capacity_blocked)
        if blocked != (verdict == Outcome.UNKNOWN):
            why = "a full channel blocks a move" if blocked else "no channel is full"
            return f"the trail ends in {end.describe()}, where {why}"
        return None
    p, q = premise_and_goal(prop)
    return lasso_violates(
        ex,
        edges,
        p,
        q,
        tuple(prop.fairness),
        loop=None if ended else loop,
        stops=ended is not None,
        blocked=verdict == Outcome.UNKNOWN,
    )
