"""tcpcheck: a model checker and specification generator for TCP connection management.

The pipeline is a chain of plain functions, each exported here::

    spec = load_spec(variant="linux")                  # spec/*.toml -> typed Spec
    result = explore(spec, ProductConfig(loss="1"))    # product automaton, breadth-first
    graph = result.to_networkx()                       # networkx.DiGraph view
    props = load_properties(spec=spec)                 # spec/properties.toml
    verdicts = run_suite(props, variants=["linux"])    # what `tcpcheck check` prints

and, in real time, :func:`check_timed`, :func:`synthesize` (``tcpcheck synth``),
:func:`duration_bound` (``tcpcheck bound``); with probabilities, :func:`build_mdp` or
:func:`build_clocked`, :func:`parse_question` and :func:`ask` (``tcpcheck prob``);
against Linux, :func:`conformance_target`,
:func:`runs_from_pcap` and :func:`check_runs` (``tcpcheck conform --pcap``).

Each name is imported from its module on first use, so ``import checker`` stays cheap:
a command that needs one stage does not pay for loading the others (Z3, networkx).

Examples
--------
>>> import checker
>>> config = checker.ProductConfig(loss="none", ordering="fifo")
>>> result = checker.explore(checker.load_spec(), config)
>>> result.states
266
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ModelError, SpecError, TcpcheckError, UsageError

__version__ = "0.1.0"

#: The pipeline's names, each imported from its module on first use: a command that
#: needs one stage does not pay for loading the others.
_LAZY = {
    # the spec
    "Spec": ".model.spec",
    "list_variants": ".model.load",
    "load_spec": ".model.load",
    # the product and its state graph
    "AppConfig": ".product.config",
    "Exploration": ".product.exploration",
    "Label": ".product.semantics",
    "PState": ".product.semantics",
    "Product": ".product.reference",
    "ProductConfig": ".product.config",
    "explore": ".product.explore",
    "graphml": ".export.stategraph",
    "node_link": ".export.stategraph",
    "node_link_json": ".export.stategraph",
    "state_graph": ".export.stategraph",
    "render_text": ".render.text_chart",
    "simulate_runs": ".check.simulate",
    # properties: `tcpcheck check`
    "Outcome": ".check.outcome",
    "Property": ".check.properties",
    "Verdict": ".check.verdicts",
    "check_property": ".check.untimed",
    "load_properties": ".check.properties",
    "run_suite": ".suite",
    "suite_variants": ".suite",
    "junit_xml": ".render.junit_report",
    # real time: timed checks, `tcpcheck synth`, `tcpcheck bound`
    "BoundStatus": ".timed.bound",
    "DurationBound": ".timed.bound",
    "SolverLimits": ".timed.solver",
    "SynthStatus": ".timed.synth",
    "Synthesis": ".timed.synth",
    "Tiled": ".timed.synth",
    "check_timed": ".timed.checks",
    "check_within": ".timed.within",
    "duration_bound": ".timed.bound",
    "loss_budgets": ".timed.synth",
    "region_plot": ".render.region_plot",
    "synthesize": ".timed.synth",
    # probabilities: `tcpcheck prob`
    "Answer": ".prob.questions",
    "Delays": ".prob.clocks",
    "LossRates": ".prob.rates",
    "MDP": ".prob.mdp",
    "Timing": ".prob.clocks",
    "ask": ".prob.questions",
    "build_clocked": ".prob.clocks",
    "build_mdp": ".prob.mdp",
    "parse_question": ".prob.questions",
    # Linux's TCP: `tcpcheck conform`
    "ConformanceReport": ".kernel.conformance",
    "Run": ".kernel.runs",
    "Target": ".kernel.conformance",
    "check_runs": ".kernel.conformance",
    "conformance_target": ".kernel.conformance",
    "runs_from_pcap": ".kernel.runs",
}

if TYPE_CHECKING:
    from .check.outcome import Outcome
    from .check.properties import Property, load_properties
    from .check.simulate import simulate_runs
    from .check.untimed import check_property
    from .check.verdicts import Verdict
    from .export.stategraph import graphml, node_link, node_link_json, state_graph
    from .kernel.conformance import ConformanceReport, Target, check_runs, conformance_target
    from .kernel.runs import Run, runs_from_pcap
    from .model.load import list_variants, load_spec
    from .model.spec import Spec
    from .prob.clocks import Delays, Timing, build_clocked
    from .prob.mdp import MDP, build_mdp
    from .prob.questions import Answer, ask, parse_question
    from .prob.rates import LossRates
    from .product.config import AppConfig, ProductConfig
    from .product.exploration import Exploration
    from .product.explore import explore
    from .product.reference import Product
    from .product.semantics import Label, PState
    from .render.junit_report import junit_xml
    from .render.region_plot import region_plot
    from .render.text_chart import render_text
    from .suite import run_suite, suite_variants
    from .timed.bound import BoundStatus, DurationBound, duration_bound
    from .timed.checks import check_timed
    from .timed.solver import SolverLimits
    from .timed.synth import Synthesis, SynthStatus, Tiled, loss_budgets, synthesize
    from .timed.within import check_within


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'checker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # found once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "MDP",
    "Answer",
    "AppConfig",
    "BoundStatus",
    "ConformanceReport",
    "Delays",
    "DurationBound",
    "Exploration",
    "Label",
    "LossRates",
    "ModelError",
    "Outcome",
    "PState",
    "Product",
    "ProductConfig",
    "Property",
    "Run",
    "SolverLimits",
    "Spec",
    "SpecError",
    "SynthStatus",
    "Synthesis",
    "Target",
    "TcpcheckError",
    "Tiled",
    "Timing",
    "UsageError",
    "Verdict",
    "__version__",
    "ask",
    "build_clocked",
    "build_mdp",
    "check_property",
    "check_runs",
    "check_timed",
    "check_within",
    "conformance_target",
    "duration_bound",
    "explore",
    "graphml",
    "junit_xml",
    "list_variants",
    "load_properties",
    "load_spec",
    "loss_budgets",
    "node_link",
    "node_link_json",
    "parse_question",
    "region_plot",
    "render_text",
    "run_suite",
    "runs_from_pcap",
    "simulate_runs",
    "state_graph",
    "suite_variants",
    "synthesize",
]
