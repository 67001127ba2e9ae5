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

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from .check.liveness import GraphFacts
from .check.properties import Property
from .check.untimed import check_property
from .check.verdicts import Verdict
from .model.load import list_variants, load_spec
from .model.overrides import merge_params, parameter_names
from .product.config import ProductConfig
from .product.exploration import Exploration
from .product.explore import explore
from .timed.checks import check_timed
from .timed.solver import DEFAULT_LIMITS, SolverLimits

__all__ = ["junit_xml", "run_suite", "suite_variants"]


def suite_variants(spec_path: str | Path | None = None) -> list[str | None]:
    """The base spec (``None``) and every variant shipped beside it."""
    return [None, *(v.name for v in list_variants(spec_path))]


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
) -> list[Verdict]:
    """Check every property on every variant it has an expectation for (the timed ones
    with Z3 under ``limits``)."""
    chosen = list(variants) if variants is not None else suite_variants(spec_path)
    cache: dict[tuple[Any, ...], tuple[Exploration, GraphFacts]] = {}
    known_params: dict[str | None, frozenset[str]] = {}
    verdicts: list[Verdict] = []
    off = tuple(fairness_off)
    for prop in props:
        for variant in chosen:
            if prop.expected_for(variant) is None:
                continue
            if variant not in known_params:
                known_params[variant] = parameter_names(spec_path, variant)
            merged = merge_params(prop.params, params, known=known_params[variant])
            config: ProductConfig = prop.product_config()
            if prop.timed:
                spec = load_spec(spec_path, variant=variant, params=merged)
                verdict = check_timed(
                    prop,
                    spec,
                    variant,
                    max_nodes=max_states,
                    max_seconds=max_seconds,
                    limits=limits,
                )
                verdicts.append(verdict)
                if on_verdict is not None:
                    on_verdict(verdict)
                continue
            key = (variant, tuple(sorted(merged.items())), config)
            if key not in cache:
                spec = load_spec(spec_path, variant=variant, params=merged)
                exploration = explore(spec, config, max_states=max_states, max_seconds=max_seconds)
                cache[key] = exploration, GraphFacts(exploration)
            exploration, facts = cache[key]
            verdict = check_property(prop, exploration, variant, off, facts)
            verdicts.append(verdict)
            if on_verdict is not None:
                on_verdict(verdict)
    return verdicts


def junit_xml(verdicts: Sequence[Verdict]) -> str:
    """JUnit XML: one test case per property and variant; a mismatch is a failure."""
    suite = ElementTree.Element(
        "testsuite",
        name="tcpcheck",
        tests=str(len(verdicts)),
        failures=str(sum(not v.ok for v in verdicts)),
    )
    for v in verdicts:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"tcpcheck.{v.variant or 'base'}", name=v.prop.name
        )
        if not v.ok:
            failure = ElementTree.SubElement(
                case, "failure", message=f"verdict {v.verdict}, expected {v.expected}"
            )
            failure.text = v.message
        out = ElementTree.SubElement(case, "system-out")
        out.text = f"{v.verdict}: {v.message}"
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode") + "\n"
