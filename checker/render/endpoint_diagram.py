"""The endpoint state diagram, drawn from the spec with Graphviz.

In the spirit of RFC 9293 Figure 5: one box per state, one arrow per change of state,
every rule written ``event [guard] / snd SEGMENTS``.  Rules that keep the state (an old
duplicate answered with an ACK, a retransmission, a RST ignored) are listed inside their
state's box rather than drawn as loops, so the arrows stay readable.  The textbook
paths are emphasized as in the classic diagrams: the client's (active open, closes first)
bold and solid, the server's (passive open, closes second) bold and dashed; timer rules
are blue and marked ◷; in a variant's diagram the rules that differ from the base spec
are red, and the base rules it drops are listed under the legend.

Every arrow and every box carries the indexes of its rules in a ``comment`` attribute,
so that a test can check the picture against the spec rule for rule.

Examples
--------
>>> from checker.model.load import load_spec
>>> dot = endpoint_dot(load_spec())
>>> '"SYN-SENT" -> ESTABLISHED' in dot
True
>>> dot == endpoint_dot(load_spec())      # the same spec gives the same bytes
True
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import graphviz

from ..model.spec import Spec, Transition

__all__ = ["CLIENT_PATH", "SERVER_PATH", "differences", "endpoint_dot", "render", "rule_text"]

#: The textbook paths of RFC 9293 Figure 5 (§3.3.2): the client opens actively and
#: closes first; the server opens passively and closes second.
CLIENT_PATH = (
    "CLOSED",
    "SYN-SENT",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "CLOSED",
)
SERVER_PATH = (
    "CLOSED",
    "LISTEN",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "CLOSE-WAIT",
    "LAST-ACK",
    "CLOSED",
)

#: Named exactly (setup.sh installs it) so that layouts do not depend on font fallbacks.
_FONT = "DejaVu Sans"
_TIMER = "#1f5fbf"
_CHANGED = "#c0392b"
_GREY = "#4d4d4d"


def rule_text(t: Transition) -> str:
    """``event [guard] / snd SEGMENTS`` (timer events marked ◷).

    >>> from checker.model.load import load_spec
    >>> [rule_text(t) for t in load_spec().transitions if t.kind == "timeout"][-1]
    '◷ timeout 2MSL'
    """
    text = t.label
    return f"◷ {text}" if t.kind == "timeout" else text


@dataclass(frozen=True)
class _Edge:
    source: str
    target: str
    style: str  # "client" | "server" | "timer" | "changed" | "plain"
    rules: tuple[Transition, ...]


def _pairs(path: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(path))


def _style(t: Transition, changed: bool) -> str:
    if changed:
        return "changed"
    if t.figure5 is not None and (t.source, t.target) in _pairs(CLIENT_PATH):
        return "client"
    if t.figure5 is not None and (t.source, t.target) in _pairs(SERVER_PATH):
        return "server"
    return "timer" if t.kind == "timeout" else "plain"


def _key(t: Transition) -> tuple[str, str, str, str, tuple[str, ...]]:
    return (t.source, t.event, str(t.guard), t.target, t.send)


def differences(spec: Spec, base: Spec | None) -> tuple[list[Transition], list[Transition]]:
    """The rules of a variant's ``spec`` that the ``base`` spec lacks, and the base rules
    it lacks (both empty without a variant)."""
    if base is None or spec.variant is None:
        return [], []
    ours = {_key(t) for t in spec.transitions}
    theirs = {_key(t) for t in base.transitions}
    added = [t for t in spec.transitions if _key(t) not in theirs]
    dropped = [t for t in base.transitions if _key(t) not in ours]
    return added, dropped


def _cell(text: str, **attrs: str) -> str:
    extra = "".join(f' {k.upper()}="{v}"' for k, v in attrs.items())
    return f"<TD{extra}>{text}</TD>"


def _font(text: str, size: int, color: str | None = None, bold: bool = False) -> str:
    body = html.escape(text)
    if bold:
        body = f"<B>{body}</B>"
    colour = f' COLOR="{color}"' if color else ""
    return f'<FONT POINT-SIZE="{size}"{colour}>{body}</FONT>'


def _state_label(
    name: str, description: str, stays: Sequence[Transition], changed: set[int]
) -> str:
    rows = ["<TR>" + _cell(_font(name, 13, bold=True), BGCOLOR="#e8e8e8", ALIGN="CENTER") + "</TR>"]
    for t in stays:
        colour = _CHANGED if t.index in changed else (_TIMER if t.kind == "timeout" else _GREY)
        rows.append("<TR>" + _cell(_font(f"↺ {rule_text(t)}", 9, colour), ALIGN="LEFT") + "</TR>")
    table = (
        '<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" STYLE="ROUNDED">'
        + "".join(rows)
        + "</TABLE>"
    )
    return f"<{table}>"


def endpoint_dot(spec: Spec, base: Spec | None = None) -> str:
    """The endpoint state diagram of ``spec`` as DOT source.  With ``base`` (the spec
    without the variant) the variant's differences are highlighted."""
    added, dropped = differences(spec, base)
    changed = {t.index for t in added}
    order = {s.name: i for i, s in enumerate(spec.states)}
    title = spec.heading
    g = graphviz.Digraph("endpoint", comment=title)
    g.attr(
        rankdir="TB",
        fontname=_FONT,
        labelloc="t",
        label=title,
        fontsize="16",
        nodesep="0.45",
        ranksep="0.55",
        newrank="true",
    )
    g.attr("node", shape="plain", fontname=_FONT)
    g.attr("edge", fontname=_FONT, fontsize="9", arrowsize="0.7")

    stays: dict[str, list[Transition]] = {s.name: [] for s in spec.states}
    edges: dict[tuple[str, str, str], list[Transition]] = {}
    for t in spec.transitions:
        if t.target == t.source:
            stays[t.source].append(t)
        else:
            style = _style(t, t.index in changed)
            edges.setdefault((t.source, t.target, style), []).append(t)

    for s in spec.states:
        rules = stays[s.name]
        g.node(
            s.name,
            label=_state_label(s.name, s.description, rules, changed),
            tooltip=s.description,
            comment="rules: " + " ".join(str(t.index) for t in rules),
        )
    # The textbook rows line up: both opens, both closes.
    with g.subgraph() as same:
        same.attr(rank="same")
        same.node("SYN-SENT")
        same.node("LISTEN")
    with g.subgraph() as same:
        same.attr(rank="same")
        same.node("FIN-WAIT-1")
        same.node("CLOSE-WAIT")

    looks = {
        "client": {"penwidth": "2.4", "color": "black"},
        "server": {"penwidth": "2.4", "color": "black", "style": "dashed"},
        "timer": {"color": _TIMER, "fontcolor": _TIMER},
        "changed": {"color": _CHANGED, "fontcolor": _CHANGED, "penwidth": "2"},
        "plain": {"color": _GREY, "fontcolor": _GREY},
    }
    # Every way back to CLOSED (the 2MSL timeout, the last ACK, but also aborts, resets
    # and give-ups, from everywhere) ends in a second box for the same state at the
    # bottom, as in RFC 9293 Figure 5: drawn to the top box they would cross the picture.
    end = f"{spec.initial} "
    g.node(
        end,
        label=_state_label(spec.initial, "", [], changed),
        comment=f"the state {spec.initial} again",
    )
    for (source, target, style), rules in sorted(
        edges.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]], kv[0][2])
    ):
        label = "".join(html.escape(rule_text(t)) + '<BR ALIGN="LEFT"/>' for t in rules)
        drawn = end if target == spec.initial else target
        g.edge(
            source,
            drawn,
            label=f"<{label}>",
            comment="rules: " + " ".join(str(t.index) for t in rules),
            **looks[style],
        )

    legend = [
        ("━━ client path: active open, closes first", "black"),
        ("╍╍ server path: passive open, closes second", "black"),
        ("◷ timer rule", _TIMER),
        ("↺ rule that keeps the state", _GREY),
    ]
    if spec.variant is not None:
        legend.append((f"differs from the base spec ({spec.variant.name})", _CHANGED))
        legend += [(f"base rule dropped: {t.source}: {rule_text(t)}", _CHANGED) for t in dropped]
    rows = "".join(
        "<TR>" + _cell(_font(text, 9, colour), ALIGN="LEFT") + "</TR>" for text, colour in legend
    )
    g.node(
        "legend",
        label=f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="2">{rows}</TABLE>>',
        comment="legend",
    )
    with g.subgraph() as bottom:
        bottom.attr(rank="sink")
        bottom.node(end)
        bottom.node("legend")
    text: str = g.source
    return text


# The comment naming the Graphviz version (two lines in some releases).
_VERSION = re.compile(r"<!-- Generated by graphviz.*?-->\n?", re.DOTALL)


def render(dot: str, fmt: str, engine: str = "dot", pinned: bool = False) -> bytes:
    """``dot`` rendered by Graphviz as ``fmt`` (svg, png, pdf) with ``engine`` (``pinned``:
    node positions as given, neato's ``-n2``); an SVG without the line naming the
    Graphviz version, so that the bytes depend on the drawing only."""
    source = graphviz.Source(dot, engine=engine)
    out: bytes = source.pipe(format=fmt, neato_no_op=2 if pinned else None)
    if fmt == "svg":
        out = _VERSION.sub("", out.decode()).encode()
    return out
