"""Message sequence charts drawn by Graphviz: two lifelines, time going down.

A's lifeline is on the left, B's on the right.  Every state of the trace is a row;
a segment is an arrow from its sender's lifeline at the row where it was sent to its
receiver's at the row where it arrived (the pairing of
:func:`checker.render.mermaid_chart.flights`), so in a timed run -- where rows are placed
by their instants -- a slow segment is a
steep arrow.  A lost segment ends midway in a red cross marked ``lost``; one still on
its way when the trace ends is dashed.  Beside each lifeline: application calls in a
box, timer expiries after a clock (``◷ timeout RETX``), what a receipt was read as,
and the endpoint's state at the top and whenever it changes (``→ TIME-WAIT``).  The
left margin numbers the rows (row ``k`` is the state after step ``k``) and, for a
timed run, gives their instants.

Every node is pinned and drawn with ``neato -n2``: the geometry is computed here, from
text sizes Graphviz measures first, so words sit exactly against their lifeline and
the same trace always gives the same bytes.

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> from checker.product.explore import explore
>>> from checker.check.traces import trace_of
>>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> dot = chart_dot(trace_of(ex, [0]), title="first step")
>>> dot.splitlines()[0]
'digraph msc {'
>>> import xml.etree.ElementTree as ET
>>> svg = ET.fromstring(chart_svg(trace_of(ex, [0])))
>>> [e.text for e in svg.iter("{http://www.w3.org/2000/svg}text")][-3:]
['→ ', 'SYN-SENT', 'SYN (in flight)']
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import graphviz

from ..check.traces import Trace
from ..product.semantics import Label, PState
from .endpoint_diagram import render
from .mermaid_chart import (
    DELIVERED,
    DROPPED,
    FATE_WORDS,
    IN_FLIGHT,
    LOST,
    Flight,
    event_text,
    flights,
    instant_text,
    step_instants,
)

__all__ = ["chart_dot", "chart_svg"]

#: Named exactly (setup.sh installs it): text is measured with it, so the bytes of the
#: SVG depend on it.
FONT = "DejaVu Sans"
SIZE = 11.0

_ROW = 34.0  # the least distance between two rows: room for a boxed call
_BANNER = 26.0  # extra room between two rows for a banner across the chart
_TIMED_SPAN = 360.0  # a timed run's whole duration takes at least this much height
_MIDDLE = 280.0  # between the lifelines: the arrows and their names
_BESIDE = 8.0  # between a lifeline and the words beside it
_TAIL = 40.0  # below the last row: room for arrows still in flight
_CROSS = 5.0  # half the size of a loss's cross

_INK = "#222222"
_LIFELINE = "#9aa5b1"
_STATE = "#1f4e99"
_CALL_FILL = "#fff4cc"
_CALL_LINE = "#b08a00"
_TIMER = "#a0522d"
_QUIET = "#666666"
_LOSS = "#c62828"


@dataclass(frozen=True)
class _Box:
    """A rectangle of the chart, ``y`` growing downwards."""

    x0: float
    y0: float
    x1: float
    y1: float

    @staticmethod
    def around(x: float, y: float, size: tuple[float, float]) -> _Box:
        w, h = size
        return _Box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def overlaps(self, other: _Box) -> bool:
        return not (
            self.x1 <= other.x0 or other.x1 <= self.x0 or self.y1 <= other.y0 or other.y1 <= self.y0
        )


def _num(value: float) -> str:
    """A coordinate for DOT: two decimals at most, so the source is stable."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _measure(contents: Iterable[str]) -> dict[str, tuple[float, float]]:
    """The size (points) Graphviz sets each HTML-like label at, all measured in one run."""
    unique = sorted(set(contents))
    body = "".join(f"  m{i} [label=<{c}>];\n" for i, c in enumerate(unique))
    dot = (
        "graph measure {\n"
        f'  node [shape="plain", fontname="{FONT}", fontsize="{_num(SIZE)}"];\n{body}}}\n'
    )
    data = json.loads(graphviz.Source(dot, engine="dot").pipe(format="json", encoding="utf-8"))
    found = {
        obj["name"]: (float(obj["width"]) * 72, float(obj["height"]) * 72)
        for obj in data.get("objects", [])
    }
    return {c: found[f"m{i}"] for i, c in enumerate(unique)}


class _Canvas:
    """DOT statements in the order they are made, with ids numbered as they are made."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.edges: list[str] = []
        self._points: dict[tuple[str, str], str] = {}

    @staticmethod
    def _attrs(attrs: dict[str, str]) -> str:
        return ", ".join(
            f"{k}={v}" if v.startswith("<") else f'{k}="{v}"' for k, v in attrs.items()
        )

    def node(self, x: float, y: float, **attrs: str) -> str:
        ident = f"n{len(self.nodes)}"
        # Graphviz's y grows upwards; the chart's time grows downwards.
        attrs = {"pos": f"{_num(x)},{_num(-y)}!", **attrs}
        self.nodes.append(f"  {ident} [{self._attrs(attrs)}];")
        return ident

    def point(self, x: float, y: float) -> str:
        """An invisible node where lines meet (one per place)."""
        key = (_num(x), _num(y))
        found = self._points.get(key)
        if found is None:
            found = self._points[key] = self.node(
                x, y, shape="point", width="0.01", height="0.01", style="invis"
            )
        return found

    def text(self, x: float, y: float, content: str) -> str:
        """An HTML-like label (without its outer ``<`` ``>``) centred on ``(x, y)``."""
        return self.node(x, y, shape="plain", label=f"<{content}>")

    def line(self, start: tuple[float, float], end: tuple[float, float], **attrs: str) -> None:
        self.link(self.point(*start), self.point(*end), **attrs)

    def link(self, a: str, b: str, **attrs: str) -> None:
        self.edges.append(f"  {a} -> {b} [{self._attrs(attrs)}];")


def _on_white(content: str) -> str:
    """Words that cover the lines they sit on."""
    return f'<TABLE BORDER="0" CELLPADDING="1" BGCOLOR="white"><TR><TD>{content}</TD></TR></TABLE>'


def _row_of(cells: Iterable[str]) -> str:
    row = "".join(f"<TD>{c}</TD>" for c in cells)
    return (
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="3" CELLPADDING="0"><TR>{row}</TR></TABLE>'
    )


def _state(name: str) -> str:
    return f'<FONT COLOR="{_STATE}"><B>{_esc(name)}</B></FONT>'


def _annotation(label: Label, before: PState, after: PState) -> str:
    """What is written beside the moving endpoint's lifeline."""
    side = label.actor
    old, new = before.local(side).state, after.local(side).state
    if label.kind == "user":
        event = (
            f'<TABLE BORDER="1" STYLE="ROUNDED" CELLBORDER="0" CELLPADDING="2" '
            f'BGCOLOR="{_CALL_FILL}" COLOR="{_CALL_LINE}"><TR><TD>{_esc(label.event)}</TD>'
            "</TR></TABLE>"
        )
    else:
        # The words without the new state (event_text marks a timer with its clock); the
        # state follows in a cell of its own, in bold.
        # DejaVu Sans has no ⏱ (U+23F1); ◷ (U+25F7) is the clock it does have.
        words = event_text(label, before, before, clock="◷")
        colour = _TIMER if label.kind == "timeout" else _QUIET
        event = f'<FONT COLOR="{colour}">{_esc(words)}</FONT>'
    cells = [event]
    if new != old:
        cells.append(f'<FONT COLOR="{_STATE}">→ </FONT>{_state(new)}')
    return _row_of(cells)


def _margin(row: int, times: list[float] | None) -> str:
    """The row's number and, in a timed run, its instant."""
    cells = f'<TD WIDTH="20" ALIGN="RIGHT"><FONT POINT-SIZE="9" COLOR="#888888">{row}</FONT></TD>'
    if times is not None:
        cells += f'<TD WIDTH="48" ALIGN="LEFT">{_esc(instant_text(times[row]))}</TD>'
    return (
        f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="4" CELLPADDING="0"><TR>{cells}</TR></TABLE>'
    )


def _banner_text(words: str) -> str:
    return _on_white(f'<FONT COLOR="#444444"><I>{_esc(words)}</I></FONT>')


def _arrow_text(flight: Flight) -> str:
    extra = ["duplicate"] if flight.duplicate else []
    if flight.forged:
        extra.append("forged by the attacker")
    if flight.fate == IN_FLIGHT:
        extra.append(FATE_WORDS[IN_FLIGHT])
    words = flight.segment.name + (f" ({', '.join(extra)})" if extra else "")
    return _on_white(_esc(words))


def _fate_text(flight: Flight) -> str:
    return _on_white(f'<FONT COLOR="{_LOSS}">{FATE_WORDS[flight.fate]}</FONT>')


def _rows(trace: Trace, times: list[float] | None) -> list[float]:
    """Each row's depth below the first: at least ``_ROW`` apart (more before a banner);
    in a timed run also at least proportional to the time between them."""
    span = times[-1] - times[0] if times is not None else 0.0
    scale = _TIMED_SPAN / span if span > 0 else 0.0
    out = [0.0]
    for k in range(1, len(trace.steps) + 1):
        gap = _ROW + (_BANNER if trace.loop is not None and k - 1 == trace.loop else 0.0)
        if times is not None:
            gap = max(gap, (times[k] - times[k - 1]) * scale)
        out.append(out[-1] + gap)
    return out


def _free_spot(
    start: tuple[float, float],
    end: tuple[float, float],
    size: tuple[float, float],
    taken: Sequence[_Box],
    between: tuple[float, float],
) -> _Box:
    """Where along the line from ``start`` to ``end`` a label of ``size`` covers no other
    and stays ``between`` the lifelines: the middle if it is free, else the free place
    nearest to it; the middle when none is."""
    for t in (0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85):
        box = _Box.around(
            start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]), size
        )
        inside = between[0] <= box.x0 and box.x1 <= between[1]
        if inside and not any(box.overlaps(other) for other in taken):
            return box
    return _Box.around((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, size)


def _dup_words(label: Label) -> str | None:
    if label.kind != "dup" or label.segment is None or label.channel is None:
        return None
    return f"the network duplicates {label.segment.name} from {label.channel[0]}"


def chart_dot(
    trace: Trace, instants: Sequence[float] | None = None, title: str | None = None
) -> str:
    """Graphviz DOT source of the chart of ``trace``, every node pinned (for ``neato -n2``).

    With ``instants`` (one per step, the initial state's first) -- or when the trace is a
    timed run -- rows are placed by time and the margin gives each row's instant.
    Graphviz is run once to measure the words.
    """
    times = step_instants(trace, instants)
    every = flights(trace)

    notes: dict[tuple[int, str], str] = {
        (0, side): _row_of([_state(trace.initial.local(side).state)]) for side in ("A", "B")
    }
    before = trace.initial
    for row, step in enumerate(trace.steps, start=1):
        if step.label.actor in ("A", "B"):
            notes[(row, step.label.actor)] = _annotation(step.label, before, step.state)
        before = step.state
    banners = [
        "the cycle starts here and repeats forever",
        f"back to the state after step {trace.loop}",
        "and stays here forever",
        *(w for w in (_dup_words(s.label) for s in trace.steps) if w is not None),
    ]
    size = _measure(
        [
            *notes.values(),
            *(_banner_text(w) for w in banners),
            *(_arrow_text(f) for f in every),
            *(_fate_text(f) for f in every if f.fate in (LOST, DROPPED)),
            *(_margin(row, times) for row in range(len(trace.steps) + 1)),
        ]
    )

    # Columns: margin | A's words | A | arrows | B | B's words.
    wide = {
        side: max([size[c][0] for (_, s), c in notes.items() if s == side] + [60.0])
        for side in ("A", "B")
    }
    margin = max(size[_margin(row, times)][0] for row in range(len(trace.steps) + 1)) + 8
    ax = margin + wide["A"] + _BESIDE + 8
    bx = ax + _MIDDLE
    mid = (ax + bx) / 2
    right = bx + _BESIDE + wide["B"] + 8
    x_of = {"A": ax, "B": bx}

    canvas = _Canvas()
    top = 0.0
    if title:
        canvas.text(right / 2, top, f'<FONT POINT-SIZE="13"><B>{_esc(title)}</B></FONT>')
        top += 34
    rows = [top + 50 + y for y in _rows(trace, times)]
    bottom = rows[-1] + _TAIL

    for side in ("A", "B"):
        head = canvas.node(
            x_of[side],
            top + 12,
            shape="box",
            style="rounded,filled",
            fillcolor="#e8eef7",
            color="#4a6fa5",
            width="0.6",
            height="0.32",
            fixedsize="true",
            label=f'<<FONT POINT-SIZE="13"><B>{side}</B></FONT>>',
        )
        canvas.link(
            head,
            canvas.point(x_of[side], bottom),
            arrowhead="none",
            color=_LIFELINE,
            penwidth="1.2",
        )
    for row, y in enumerate(rows):
        content = _margin(row, times)
        canvas.text(4 + size[content][0] / 2, y, content)
    # Words beside a lifeline sit against it: A's end where B's begin.
    for (row, side), content in sorted(notes.items()):
        w = size[content][0]
        x = ax - _BESIDE - w / 2 if side == "A" else bx + _BESIDE + w / 2
        canvas.text(x, rows[row], content)

    # Words in the middle must not cover each other: the fixed ones first, then each
    # arrow's name at the first place along it that is free.
    taken: list[_Box] = []

    def banner(y: float, words: str, rule: bool = True) -> None:
        if rule:
            canvas.line(
                (ax - 24, y), (bx + 24, y), arrowhead="none", style="dashed", color="#777777"
            )
        content = _banner_text(words)
        canvas.text(mid, y, content)
        taken.append(_Box.around(mid, y, size[content]))

    if trace.loop is not None:
        gap = rows[trace.loop + 1] - rows[trace.loop]
        banner(rows[trace.loop + 1] - gap / 2, banners[0])
    for row, step in enumerate(trace.steps, start=1):
        words = _dup_words(step.label)
        if words is not None:
            banner(rows[row], words, rule=False)

    ends: list[tuple[Flight, tuple[float, float], tuple[float, float]]] = []
    open_ended = {"A": 0, "B": 0}
    for flight in every:
        xs, xr = x_of[flight.sender], x_of[flight.receiver]
        start = (xs, rows[flight.sent])
        if flight.fate == IN_FLIGHT:
            # Spread out, so that several such arrows do not meet in one point.
            reach = min(0.55 + 0.07 * open_ended[flight.sender], 0.85)
            open_ended[flight.sender] += 1
            end = (xs + reach * (xr - xs), bottom - 8)
        elif flight.fate == LOST:
            assert flight.end is not None
            end = (mid, rows[flight.end])
        elif flight.fate == DROPPED:
            end = (xs + 0.2 * (xr - xs), rows[flight.sent] + _ROW / 3)
        else:
            assert flight.end is not None
            end = (xr, rows[flight.end])
        ends.append((flight, start, end))
        if flight.fate in (LOST, DROPPED):
            x, y = end
            r = _CROSS
            for dy in (r, -r):
                canvas.line((x - r, y - dy), (x + r, y + dy), arrowhead="none", color=_LOSS)
            content = _fate_text(flight)
            w = size[content][0]
            # Beyond the cross, on the side the segment was heading to.
            cx = x + (r + 3 + w / 2) * (1 if xr > xs else -1)
            canvas.text(cx, y, content)
            taken.append(_Box.around(cx, y, size[content]))

    for flight, start, end in ends:
        attrs = {"color": _INK, "penwidth": "1.2", "arrowsize": "0.8"}
        if flight.fate == DELIVERED:
            attrs["arrowhead"] = "normal"
            if flight.forged:  # not from the peer: the attacker's, spoofing it
                attrs.update(style="dotted", color=_LOSS)
        elif flight.fate == IN_FLIGHT:
            attrs.update(style="dashed", arrowhead="vee")
        else:
            attrs["arrowhead"] = "none"
        canvas.line(start, end, **attrs)
        content = _arrow_text(flight)
        spot = _free_spot(start, end, size[content], taken, (ax + 2, bx - 2))
        taken.append(spot)
        canvas.text(*spot.centre, content)

    closing = bottom + 16
    if trace.loop is not None:
        banner(closing, banners[1])
        closing += 24
    if trace.stops:
        banner(closing, banners[2], rule=False)

    lines = [
        "digraph msc {",
        '  graph [splines="line", outputorder="edgesfirst", bgcolor="white", pad="0.2"];',
        f'  node [fontname="{FONT}", fontsize="{_num(SIZE)}", margin="0"];',
        *canvas.nodes,
        *canvas.edges,
        "}",
    ]
    return "\n".join(lines) + "\n"


# Graphviz names its version in a comment (which may span two lines).
def chart_svg(
    trace: Trace, instants: Sequence[float] | None = None, title: str | None = None
) -> str:
    """The chart of ``trace`` as SVG text (see :func:`chart_dot`).

    The comment naming the Graphviz version is left out, so the text depends only on the
    trace (and the fonts Graphviz measures with).
    """
    dot = chart_dot(trace, instants, title)
    return render(dot, "svg", "neato", pinned=True).decode()
