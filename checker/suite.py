"""Run a property suite over variants: the library side of ``tcpcheck check``.

Explorations are shared: every property checked under the same variant, parameters and
product configuration reuses one explored graph (and its SCC decomposition).

Examples
--------
>>> from checker.check.properties import load_properties
>>> from checker.model.load import load_spec
>>> suite = [p for p in load_properties(spec=load_spec()) if p.name == "closing-reachable"]
>>> [v.verdict for v in run_suite(suite, variants=[None])]
[<Outcome.HOLDS: 'holds'>]
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .check.liveness import GraphFacts
from .check.outcome import Outcome
from .check.properties import PROBABILITY, Property
from .check.untimed import check_property, incomplete
from .check.verdicts import Verdict, with_runs
from .errors import UsageError
from .model.layers import is_overlay, overlay_name
from .model.load import list_variants, load_spec
from .model.overrides import merge_params
from .model.spec import Spec
from .prob.mdp import MDP
from .prob.verdict import check_probability, probability_mdp
from .product.config import ProductConfig
from .product.exploration import Exploration
from .product.explore import explore
from .product.room import endless_sender
from .timed.checks import check_timed
from .timed.solver import DEFAULT_LIMITS, SolverLimits
from .timed.within import check_within

__all__ = ["MAX_CAPACITY", "derived_capacity", "run_suite", "suite_variants"]


def suite_variants(spec_path: str | Path | None = None) -> list[str | None]:
    """What a suite runs on by default: the base spec (``None``) and every variant
    shipped beside it; for an overlay of one's own, that overlay alone (by name).

    Examples
    --------
    >>> suite_variants()[:2]
    [None, 'linux']
    """
    given = Path(spec_path) if spec_path is not None else None
    if given is not None and is_overlay(given):
        return [overlay_name(given)]
    return [None, *(v.name for v in list_variants(spec_path))]


#: The largest channel capacity the product's packed states encode
#: (:class:`~checker.product.config.ProductConfig`): where raising it stops.
MAX_CAPACITY = 8
#: The states (or zone-graph nodes) an exploration at a raised capacity may reach unless
#: ``--max-states`` says otherwise: each segment of room multiplies the graph, and a
#: run of the suite must not exhaust the machine's memory (2.5 million states take
#: about 4 GB).
DERIVED_MAX_STATES = 2_500_000


def run_suite(
    props: Sequence[Property],
    *,
    variants: Iterable[str | None] | None = None,
    spec_path: str | Path | None = None,
    params: dict[str, float] | None = None,
    fairness_off: Iterable[str] = (),
    max_states: int | None = None,
    max_seconds: float | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
    limits: SolverLimits = DEFAULT_LIMITS,
    counterexamples: int = 1,
) -> list[Verdict]:
    """Check every property on every variant it has an expectation for (the timed ones
    with Z3 under ``limits``).  ``counterexamples`` above 1 asks each verdict for that
    many distinct shortest runs (:attr:`~checker.check.verdicts.Verdict.traces`; one for
    the kinds that give one, :func:`~checker.check.verdicts.with_runs`).

    The channel capacity is a bound of the model, not of TCP: when a property does not
    set it and its verdict is ``unknown`` only because a full channel blocked a move,
    the capacity is raised one segment at a time until the verdict is definite (see
    :func:`derived_capacity`).

    Examples
    --------
    >>> from checker import load_properties
    >>> names = {"closing-reachable", "fin-wait-2-leads-to-closed"}
    >>> suite = [p for p in load_properties() if p.name in names]
    >>> for v in run_suite(suite, variants=[None]):
    ...     print(v.prop.name, v.variant or "base", v.verdict, "ok" if v.ok else "UNEXPECTED")
    closing-reachable base holds ok
    fin-wait-2-leads-to-closed base violated ok
    """
    if counterexamples < 1:
        raise UsageError(f"counterexamples: at least 1 (got {counterexamples})")
    chosen = list(variants) if variants is not None else suite_variants(spec_path)
    cache: dict[tuple[Any, ...], tuple[Exploration, GraphFacts]] = {}
    known_params: dict[str | None, frozenset[str]] = {}
    verdicts: list[Verdict] = []
    off = tuple(fairness_off)

    specs: dict[tuple[Any, ...], Spec] = {}
    mdps: dict[tuple[Any, ...], MDP] = {}

    def decide(
        prop: Property, variant: str | None, at: tuple[Any, ...], config: ProductConfig
    ) -> Verdict:
        spec = specs[at]
        raised = config.capacity != prop.product_config().capacity
        bound = max_states if max_states is not None or not raised else DERIVED_MAX_STATES
        if prop.timed:
            # The timed check reads the configuration from the property.
            sized = dataclasses.replace(prop, config={**prop.config, "capacity": config.capacity})
            timed = check_within if prop.kind == "timed-within" else check_timed
            verdict = timed(
                sized, spec, variant, max_nodes=bound, max_seconds=max_seconds, limits=limits
            )
            return dataclasses.replace(verdict, prop=prop)
        key = (at, config)
        if prop.kind == PROBABILITY:
            at_time = (key, prop.delay, prop.within)
            if at_time not in mdps:
                mdps[at_time] = probability_mdp(
                    prop, spec, config, max_states=bound, max_seconds=max_seconds
                )
            return check_probability(prop, spec, mdps[at_time], variant, max_seconds=max_seconds)
        if key not in cache:
            exploration = explore(spec, config, max_states=bound, max_seconds=max_seconds)
            cache[key] = exploration, GraphFacts(exploration)
        exploration, facts = cache[key]
        if raised and not exploration.complete:
            # Deciding on a cut graph at a raised capacity is work for nothing: the
            # smaller complete graph's verdict stands (derived_capacity).
            return incomplete(prop, exploration, variant)
        return check_property(prop, exploration, variant, off, facts, counterexamples)

    plain: dict[str | None, Spec] = {}
    for variant in chosen:
        # "base" is the base spec even under an overlay of one's own (None would be the
        # overlay: the spec as given).
        plain[variant] = load_spec(spec_path, variant=variant or "base", check_behaviour=False)
    lineage = {
        v: spec.variant.lineage if spec.variant is not None else () for v, spec in plain.items()
    }
    # Every verdict is labelled with the name the spec gives its variant.
    label = {
        v: spec.variant.name if spec.variant is not None else None for v, spec in plain.items()
    }
    planned: list[tuple[Property, str | None]] = []
    for prop in props:
        for v in chosen:
            name = label[v]
            if prop.expected_for(name, lineage[v]) is None:
                continue
            planned.append((prop.inheriting(name, lineage[v]) if name else prop, v))
    if not planned:
        raise UsageError(nothing_to_check(props, [label[v] for v in chosen]))
    for prop, variant in planned:
        # The clock runs from here: a verdict's time includes loading the spec and
        # exploring the graph when they are done for it (later ones share them).
        start = time.perf_counter()
        if variant not in known_params:
            known_params[variant] = frozenset(p.name for p in plain[variant].parameters)
        merged = merge_params(prop.params, params, known=known_params[variant])
        at = (variant, tuple(sorted(merged.items())))
        if at not in specs:
            specs[at] = load_spec(spec_path, variant=variant or "base", params=merged)
        verdict = derived_capacity(
            prop, specs[at], functools.partial(decide, prop, label[variant], at)
        )
        verdict = dataclasses.replace(verdict, elapsed=time.perf_counter() - start)
        verdict = with_runs(verdict, counterexamples)
        verdicts.append(verdict)
        if on_verdict is not None:
            on_verdict(verdict)
    return verdicts


def nothing_to_check(props: Sequence[Property], variants: Sequence[str | None]) -> str:
    """Why a run would check nothing: no property has an expectation for any variant.

    >>> nothing_to_check([], ["linux"])
    'nothing to check: the suite has no properties'
    """
    if not props:
        return "nothing to check: the suite has no properties"
    shown = ", ".join(v or "base" for v in variants)
    where = sorted({p.file for p in props})
    return (
        f"nothing to check: no property in {', '.join(where)} has an expectation for "
        f"{shown} (give one in a property's expected, e.g. {{ {variants[0] or 'base'} = "
        '"holds" }, or a default = "holds" for every variant)'
    )


def _settled(verdict: Verdict) -> bool:
    """Does raising the capacity leave ``verdict`` as it is?  A run it found (a witness or
    a counterexample, a real deadlock, a fair lasso) is a run at every larger capacity;
    an answer about every run is exact only when no send waited for room."""
    if verdict.needs_room is not None:
        return False
    if verdict.verdict == Outcome.UNKNOWN or verdict.trace is not None:
        return True
    return not verdict.room_waits


def derived_capacity(
    prop: Property, spec: Spec, decide: Callable[[ProductConfig], Verdict]
) -> Verdict:
    """``decide`` under the property's configuration; when the verdict is ``unknown`` only
    because a move needed room (:attr:`Verdict.needs_room`) and the property does not set
    the capacity itself, again with one more segment of capacity at a time until raising
    it changes nothing (:func:`_settled`).  It stops at :data:`MAX_CAPACITY`, at a limit
    of the larger graph (the last answer stands, with why it could not go on), or at once
    when an endpoint can send without end (:func:`~checker.product.room.endless_sender`:
    no capacity would do).  The verdict notes the capacity it was decided at."""
    config = prop.product_config()
    verdict = decide(config)
    if verdict.needs_room is None or "capacity" in prop.config:
        return verdict
    first = config.capacity
    if not prop.timed:  # in real time, delivery within DELAY_MAX bounds what is in flight
        endless = endless_sender(spec, config)
        if endless is not None:
            return dataclasses.replace(
                verdict,
                message=f"{verdict.message}; no capacity avoids it: {endless.describe()} "
                "(bound its retries or set a capacity in the property's config)",
            )
    rooms: list[str | None] = [verdict.needs_room]
    stopped = ""
    while not _settled(verdict):
        if config.capacity == MAX_CAPACITY:
            stopped = f"{MAX_CAPACITY} is the most tcpcheck encodes"
            break
        bigger = dataclasses.replace(config, capacity=config.capacity + 1)
        tried = decide(bigger)
        if tried.verdict == Outcome.UNKNOWN and tried.needs_room is None:
            # A limit stopped the larger graph: the smaller one's answer says more.
            stopped = (
                f"at {bigger.capacity}: {tried.message} (raise --max-states, or set a "
                "capacity in the property's config)"
            )
            break
        config, verdict = bigger, tried
        rooms.append(verdict.needs_room)
    if config.capacity == first:
        return dataclasses.replace(verdict, message=f"{verdict.message}; {stopped}")
    why = next(r for r in reversed(rooms[:-1]) if r is not None)
    note = f"channel capacity raised from {first} to {config.capacity}: {why}"
    if verdict.needs_room is None and verdict.room_waits == 0:
        note += f"; at {config.capacity} no send waits for room: exact for unbounded channels"
    elif verdict.needs_room is None and verdict.trace is None and verdict.room_waits:
        note += (
            f"; at {config.capacity} a send still waits for room in {verdict.room_waits:,} "
            f"states, so the verdict is for channels of capacity {config.capacity}"
        )
    if stopped:
        note += f"; not raised further: {stopped}"
    return dataclasses.replace(verdict, notes=(*verdict.notes, note))
