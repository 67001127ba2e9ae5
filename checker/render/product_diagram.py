"""Pictures of the product state graph, at the sizes that occur.

A product graph of a few dozen states can be drawn whole; the default configuration
already has thousands, and a hairball helps nobody.  Three views:

- ``whole``: every state (both endpoints' states and what is in flight) and every move,
  refused past ``max_nodes``;
- ``states``: the quotient by the pair of endpoint states -- channel contents, retry
  counters and application modes folded -- with, on every arrow, the moves it stands for
  and how many transitions, and in every box how many product states it folds;
- ``around``: the states of a trace and their direct successors, the trace's moves bold
  and numbered, folded to the quotient when even that is too large.

``auto`` draws the whole graph when it fits and the quotient otherwise, and says which
(the title names the view and the counts).

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> from checker.product.explore import explore
>>> ex = explore(load_spec(), ProductConfig())
>>> dot, view = product_dot(ex)
>>> view
'states'
>>> '"ESTABLISHED / ESTABLISHED"' in dot
True
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence

import graphviz

from ..check.traces import Trace
from ..errors import UsageError
from ..product.exploration import Exploration
from ..product.semantics import PState

__all__ = ["VIEWS", "product_dot"]

VIEWS = ("auto", "whole", "states", "around")

_FONT = "DejaVu Sans"
_PATH = "#c0392b"


def _pair(s: PState) -> str:
    return f"{s.a.state} / {s.b.state}"


def _graph(title: str) -> graphviz.Digraph:
    g = graphviz.Digraph("product")
    g.attr(rankdir="TB", fontname=_FONT, labelloc="t", label=title, fontsize="14", newrank="true")
    g.attr("node", fontname=_FONT, fontsize="10", shape="box", style="rounded")
    g.attr("edge", fontname=_FONT, fontsize="8", arrowsize="0.6")
    return g


def _source(g: graphviz.Digraph) -> str:
    text: str = g.source
    return text


def _whole(
    ex: Exploration, nodes: Sequence[int], path: dict[tuple[int, int], int], title: str
) -> str:
    g = _graph(title)
    keep = set(nodes)
    for n in nodes:
        s = ex.state(n)
        ab = " ".join(x.name for x in s.ab) or "-"
        ba = " ".join(x.name for x in s.ba) or "-"
        flight = f"A→B [{ab}]  B→A [{ba}]"
        g.node(
            str(n),
            label=f"{_pair(s)}\n{flight}",
            color=_PATH if any(n in k for k in path) else "black",
        )
    for n in nodes:
        for label, m in ex.edges_from(n):
            if m not in keep:
                continue
            step = path.get((n, m))
            if step is not None:
                g.edge(
                    str(n),
                    str(m),
                    label=f"{step}. {label.text()}",
                    color=_PATH,
                    fontcolor=_PATH,
                    penwidth="2.2",
                )
            else:
                g.edge(str(n), str(m), label=label.text(), color="#666666")
    return _source(g)


def _quotient(
    ex: Exploration, nodes: Sequence[int], path: dict[tuple[int, int], int], title: str
) -> str:
    g = _graph(title)
    pair_of = {n: _pair(ex.state(n)) for n in nodes}
    keep = set(nodes)
    folded = Counter(pair_of.values())
    arrows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    inside: Counter[str] = Counter()
    steps: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n in nodes:
        for label, m in ex.edges_from(n):
            if m not in keep:
                continue
            a, b = pair_of[n], pair_of[m]
            step = path.get((n, m))
            if step is not None:
                steps[a, b].append(step)
            if a == b and step is None:
                inside[a] += 1
            else:
                arrows[a, b][label.text()] += 1
    on_path = {p for key in steps for p in key}
    for p in sorted(folded, key=lambda x: (x != _pair(ex.state(0)), x)):
        extra = f"{folded[p]:,} states" + (f", {inside[p]:,} moves inside" if inside[p] else "")
        g.node(p, label=f"{p}\n{extra}", color=_PATH if p in on_path else "black",
               penwidth="2" if p in on_path else "1")  # fmt: skip
    for (a, b), moves in sorted(arrows.items()):
        total = sum(moves.values())
        kinds = sorted(moves)
        shown = kinds[:4] + ([f"… {len(kinds) - 4} more"] if len(kinds) > 4 else [])
        many = "transition" if total == 1 else "transitions"
        text = "\n".join(shown) + f"\n({total:,} {many})"
        numbers = steps.get((a, b))
        if numbers:
            text = ", ".join(f"{i}." for i in sorted(numbers)) + " " + text
            g.edge(a, b, label=text, color=_PATH, fontcolor=_PATH, penwidth="2.2")
        else:
            g.edge(a, b, label=text, color="#666666")
    return _source(g)


def product_dot(
    ex: Exploration,
    view: str = "auto",
    trace: Trace | None = None,
    max_nodes: int = 60,
    title: str | None = None,
) -> tuple[str, str]:
    """The DOT of a view of ``ex`` (see the module docstring) and the view drawn.
    ``around`` needs ``trace``; ``whole`` past ``max_nodes`` states is refused."""
    if view not in VIEWS:
        raise UsageError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    head = title or f"{ex.spec.title}: {ex.config.describe()}"
    path: dict[tuple[int, int], int] = {}
    nodes: list[int] = list(range(ex.states))
    if view == "around":
        if trace is None:
            raise UsageError("the 'around' view needs a trace (a property's counterexample)")
        walk = [ex.node_of(trace.initial)] + [ex.node_of(st.state) for st in trace.steps]
        if any(n is None for n in walk):
            raise UsageError("the trace does not run in this exploration (another configuration?)")
        ids = [n for n in walk if n is not None]
        for i, (a, b) in enumerate(itertools.pairwise(ids), start=1):
            path.setdefault((a, b), i)
        near = set(ids)
        for n in ids:
            near.update(m for _label, m in ex.edges_from(n))
        nodes = sorted(near)
    fits = len(nodes) <= max_nodes
    if view == "whole" and not fits:
        raise UsageError(
            f"{len(nodes):,} states do not make a readable picture (limit {max_nodes}): "
            "use --view states (folded by endpoint states) or raise --max-nodes"
        )
    if view == "states" or (view in ("auto", "around") and not fits):
        drawn = "states" if view != "around" else "around, folded by endpoint states"
        what = f"{len(nodes):,} states folded by the pair of endpoint states"
        return _quotient(ex, nodes, path, f"{head}\n{what}"), drawn
    drawn = "whole" if view != "around" else "around"
    return _whole(ex, nodes, path, f"{head}\n{len(nodes):,} states"), drawn
