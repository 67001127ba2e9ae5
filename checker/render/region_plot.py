"""The synthesized region as a picture: the tiles over two free parameters.

A synthesis (:func:`checker.timed.synth.synthesize`) covers the space of the free timing
parameters with tiles, convex polyhedra on each of which the property's verdict is the
same.  :func:`region_plot` draws them over two of the parameters with matplotlib: each
tile a filled polygon (the tile clipped to the window) coloured by its verdict, what no
tile covers yet (a synthesis stopped by a limit) in the colour of "unknown", the
textbook line TIME_WAIT = 2·MSL when TIME_WAIT is drawn, and the spec's values when
they fall in the window.  Further free parameters are fixed (``at``): a slice.

The geometry is exact (fractions) and the drawing deterministic: the same result gives
the same bytes, whatever the hash seed (Agg, a fixed SVG hash salt, no dates).
matplotlib is imported only here, and only when a picture is drawn.

Examples
--------
>>> from types import SimpleNamespace as NS
>>> tiles = [NS(violated=False, k=frozenset({(-3, (1, 0), False)})),   # x >= 3
...          NS(violated=True, k=frozenset({(3, (-1, 0), True)}))]     # x < 3
>>> [(t.violated, [(float(x), float(y)) for x, y in p])
...  for t, p in tile_polygons(tiles, ("x", "y"), {}, (Fraction(4), Fraction(2)))]
[(False, [(3.0, 0.0), (4.0, 0.0), (4.0, 2.0), (3.0, 2.0)]),
 (True, [(0.0, 0.0), (3.0, 0.0), (3.0, 2.0), (0.0, 2.0)])]
>>> plot_axes(("TIME_WAIT", "MSL", "RTO"), {"RTO": 1})
('TIME_WAIT', 'MSL')
>>> plot_format("region.svg")
'svg'
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..check.properties import Property
from ..errors import UsageError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "COLOURS",
    "PLOT_FORMATS",
    "Region",
    "plot_axes",
    "plot_format",
    "region_plot",
    "scales",
    "slice_at",
    "tile_polygons",
]

#: The picture formats, by file suffix.
PLOT_FORMATS = ("svg", "png", "pdf")

#: The fill of a tile by its verdict (and of what no tile covers: unknown).
COLOURS = {"holds": "#8fd18a", "violated": "#f08a84", "unknown": "#cccccc"}
#: Tile outlines: a darker shade of the fill, so that a thin tile shows as a line.
_EDGES = {"holds": "#3f8f3a", "violated": "#b8423b", "unknown": "#888888"}

#: Named exactly, as the Graphviz diagrams name it (matplotlib ships it).
FONT = "DejaVu Sans"

#: A constraint ``const + sum(coef * parameter) >= 0`` (``> 0`` when strict), as
#: :data:`checker.timed.pdbm.Bound` writes it.
Constraint = tuple[int, tuple[int, ...], bool]
#: A point of the plane, exactly.
Point = tuple[Fraction, Fraction]

#: Beyond any tile's vertex: where a tile clipped to this box ends, it is unbounded.
_FAR = Fraction(10**9)


class Tile(Protocol):
    """A tile as a synthesis gives it (:class:`checker.timed.synth.Tiled`)."""

    @property
    def violated(self) -> bool: ...

    @property
    def k(self) -> frozenset[Constraint]: ...


class Region(Protocol):
    """What a picture needs of a synthesis (:class:`checker.timed.synth.Synthesis`)."""

    @property
    def prop(self) -> Property: ...

    @property
    def variant(self) -> str | None: ...

    @property
    def free(self) -> tuple[str, ...]: ...

    @property
    def fixed(self) -> dict[str, float]: ...

    @property
    def values(self) -> dict[str, float]: ...

    @property
    def status(self) -> str: ...

    @property
    def tiles(self) -> Sequence[Tile]: ...


def plot_format(path: str | Path, option: str = "--plot") -> str:
    """The picture format a file's suffix names; a usage error for any other suffix.

    >>> plot_format("out/region.jpeg")
    Traceback (most recent call last):
    ...
    checker.errors.UsageError: --plot out/region.jpeg: the suffix names the format: ...
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in PLOT_FORMATS:
        raise UsageError(
            f"{option} {path}: the suffix names the format: "
            + ", ".join(f".{f}" for f in PLOT_FORMATS[:-1])
            + f" or .{PLOT_FORMATS[-1]}"
        )
    return suffix


def plot_axes(free: Sequence[str], at: Mapping[str, float] | None = None) -> tuple[str, str]:
    """The two parameters a picture is drawn over: the free ones not fixed by ``at``.
    A usage error unless exactly two are left.

    >>> plot_axes(("TIME_WAIT", "MSL", "RTO"))
    Traceback (most recent call last):
    ...
    checker.errors.UsageError: --plot draws a region over two free parameters, and 3 are
    free here (TIME_WAIT, MSL, RTO): name two with --free (e.g. --free TIME_WAIT --free MSL);
    the others keep the spec's values or those of --param
    """
    at = at or {}
    unknown = sorted(set(at) - set(free))
    if unknown:
        raise UsageError(f"a slice fixes only free parameters ({', '.join(unknown)} is not free)")
    left = [n for n in free if n not in at]
    if len(left) == 2:
        return left[0], left[1]
    names = f" ({', '.join(left)})" if left else ""
    if len(left) > 2:
        fix = (
            f"name two with --free (e.g. --free {left[0]} --free {left[1]}); the others keep "
            "the spec's values or those of --param"
        )
    else:
        fix = f"name {'a second' if left else 'two'} with --free (e.g. --free TIME_WAIT --free MSL)"
    count = f"{len(left)} {'is' if len(left) == 1 else 'are'}"
    raise UsageError(
        f"--plot draws a region over two free parameters, and {count} free here{names}: {fix}"
    )


def slice_at(result: Region) -> dict[str, float]:
    """The free parameters after the first two, at the spec's values: the slice a
    picture of a synthesis over more than two parameters shows."""
    return {n: result.values[n] for n in result.free[2:]}


def scales(result: Region) -> bool:
    """Is the region a cone (no tile's constraint has a constant part)?  Then time
    scales: a slice at any value of a further parameter is this one, scaled."""
    return all(a[0] == 0 for t in result.tiles for a in t.k)


def _exact(value: float) -> Fraction:
    # Parameter values are written in decimal: 0.2 is 1/5, not its binary neighbour.
    return Fraction(repr(float(value)))


def _in_plane(
    k: frozenset[Constraint], free: Sequence[str], axes: tuple[str, str], at: Mapping[str, float]
) -> list[tuple[Fraction, Fraction, Fraction]]:
    """A tile's constraints over the two axes, ``c + a*x + b*y >= 0``, the other free
    parameters replaced by their values in ``at``; in a fixed order."""
    out = []
    for const, coefs, _strict in sorted(k):
        by = dict(zip(free, coefs, strict=True))
        c = Fraction(const) + sum((by[n] * _exact(v) for n, v in at.items()), Fraction(0))
        out.append((c, Fraction(by[axes[0]]), Fraction(by[axes[1]])))
    return out


def _clip(polygon: list[Point], c: Fraction, a: Fraction, b: Fraction) -> list[Point]:
    """The part of a convex polygon where ``c + a*x + b*y >= 0`` (Sutherland-Hodgman)."""
    out: list[Point] = []
    for i, p in enumerate(polygon):
        q = polygon[(i + 1) % len(polygon)]
        fp = c + a * p[0] + b * p[1]
        fq = c + a * q[0] + b * q[1]
        if fp >= 0:
            out.append(p)
        if (fp >= 0) != (fq >= 0) and fp != fq:
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    # Drop repeated vertices (a vertex on the line is met twice).
    kept: list[Point] = []
    for v in out:
        if not kept or kept[-1] != v:
            kept.append(v)
    while len(kept) > 1 and kept[0] == kept[-1]:
        kept.pop()
    return kept


def tile_polygons(
    tiles: Sequence[Tile],
    free: Sequence[str],
    at: Mapping[str, float],
    window: Point,
    axes: tuple[str, str] | None = None,
) -> list[tuple[Tile, list[Point]]]:
    """Each tile clipped to the window ``[0, X] x [0, Y]``, as the vertices of a convex
    polygon (a segment or a point for a thin tile), those the window misses left out;
    in a fixed order: the tiles where the property holds first, each verdict's by its
    constraints (not by the order a synthesis found them in)."""
    pair = axes or plot_axes(free, at)
    box: list[Point] = [
        (Fraction(0), Fraction(0)),
        (window[0], Fraction(0)),
        window,
        (Fraction(0), window[1]),
    ]
    out = []
    for tile in sorted(tiles, key=lambda t: (t.violated, sorted(t.k))):
        polygon = box
        for c, a, b in _in_plane(tile.k, free, pair, at):
            polygon = _clip(polygon, c, a, b)
            if not polygon:
                break
        if polygon:
            out.append((tile, polygon))
    return out


def _nice(v: Fraction) -> Fraction:
    """The least of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is at least
    ``v`` (a window's edge)."""
    scale = Fraction(1)
    while scale > v:
        scale /= 10
    while scale * 10 < v:
        scale *= 10
    steps = (1, Fraction(3, 2), 2, Fraction(5, 2), 3, 4, 5, 6, 8, 10)
    return next(scale * m for m in steps if scale * m >= v)


def _window(
    result: Region, axes: tuple[str, str], at: Mapping[str, float]
) -> tuple[Fraction, Fraction]:
    """The window's far corner: a quarter beyond the farthest finite vertex of any tile
    on each axis (a cone's vertices are all at the origin: then the spec's values)."""
    far = (_FAR, _FAR)
    xs: list[Fraction] = []
    ys: list[Fraction] = []
    for _tile, polygon in tile_polygons(result.tiles, result.free, at, far, axes):
        # A vertex on the far box's edge is where an unbounded tile was cut off.
        finite = [(x, y) for x, y in polygon if x < _FAR and y < _FAR]
        xs += [x for x, _y in finite]
        ys += [y for _x, y in finite]
    corner = []
    for name, seen in zip(axes, (xs, ys), strict=True):
        edge = max(seen, default=Fraction(0))
        if edge == 0:
            edge = _exact(result.values.get(name, 1.0)) or Fraction(1)
        corner.append(_nice(edge * Fraction(5, 4)))
    return corner[0], corner[1]


def _seconds(v: float) -> str:
    return f"{v:g} s"


def _textbook(
    ax: Axes, result: Region, axes: tuple[str, str], at: Mapping[str, float], window: Point
) -> None:
    """The line TIME_WAIT = 2·MSL (RFC 9293 §3.6.1, MUST-13) when TIME_WAIT is drawn:
    through the origin when MSL is the other axis, at 2·MSL's value when MSL is fixed."""
    if "TIME_WAIT" not in axes:
        return
    x, y = float(window[0]), float(window[1])

    def line(xs: list[float], ys: list[float], label: str) -> None:
        ax.plot(xs, ys, color="#1f3a93", linewidth=1.6, linestyle="--", gid="textbook", label=label)

    if set(axes) == {"TIME_WAIT", "MSL"}:
        label = "TIME_WAIT = 2·MSL"
        if axes[0] == "TIME_WAIT":  # MSL = TIME_WAIT / 2
            line([0.0, min(x, 2 * y)], [0.0, min(x, 2 * y) / 2], label)
        else:  # TIME_WAIT = 2 * MSL
            line([0.0, min(x, y / 2)], [0.0, 2 * min(x, y / 2)], label)
        return
    msl = at.get("MSL", result.fixed.get("MSL"))
    if msl is None or 2 * msl > (x if axes[0] == "TIME_WAIT" else y):
        return  # MSL follows from other parameters, or 2·MSL is beyond the window
    label = f"TIME_WAIT = 2·MSL = {_seconds(2 * msl)}"
    if axes[0] == "TIME_WAIT":
        line([2 * msl, 2 * msl], [0.0, y], label)
    else:
        line([0.0, x], [2 * msl, 2 * msl], label)


def region_plot(
    result: Region, fmt: str = "svg", *, at: Mapping[str, float] | None = None
) -> bytes:
    """The synthesized region over two free parameters as an SVG, PNG or PDF picture.

    ``at`` fixes every free parameter but two (a slice; default none: exactly two must
    be free).  The x axis is the first of the two in the synthesis's order.

    Examples
    --------
    >>> from checker import load_properties, load_spec, synthesize
    >>> prop = next(p for p in load_properties() if p.name == "last-ack-not-stuck")
    >>> spec = load_spec(params={**prop.params, "FIN_RETRIES": 1, "MSL": 30})
    >>> region = synthesize(prop, spec, None, ["TIME_WAIT", "RTO"])
    >>> picture = region_plot(region)
    >>> picture.startswith(b"<?xml") and picture == region_plot(region)
    True
    >>> region_plot(region, "png")[:4]
    b'\x89PNG'
    """
    if fmt not in PLOT_FORMATS:
        raise UsageError(f"a region is drawn as {', '.join(PLOT_FORMATS)} (not {fmt!r})")
    at = dict(at or {})
    axes = plot_axes(result.free, at)
    window = _window(result, axes, at)
    drawn = tile_polygons(result.tiles, result.free, at, window, axes)

    # Lazily: matplotlib takes a few hundred milliseconds to import.
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Polygon

    with matplotlib.rc_context(
        {
            "font.family": FONT,
            "font.size": 10.0,
            "svg.hashsalt": "tcpcheck",  # element ids from the content, not from chance
            "svg.fonttype": "none",  # text as text, in DejaVu Sans
            "pdf.fonttype": 42,
        }
    ):
        fig = Figure(figsize=(7.2, 5.0), dpi=100)
        FigureCanvasAgg(fig)  # the Agg canvas, whatever the session's backend
        ax = fig.add_subplot()
        complete = result.status == "exact"
        # What no tile covers: nothing when the synthesis completed.
        ax.set_facecolor("white" if complete else COLOURS["unknown"])
        for i, (tile, polygon) in enumerate(drawn):
            verdict = "violated" if tile.violated else "holds"
            ax.add_patch(
                Polygon(
                    [(float(x), float(y)) for x, y in polygon],
                    closed=True,
                    facecolor=COLOURS[verdict],
                    edgecolor=_EDGES[verdict],
                    linewidth=0.6,
                    gid=f"tile-{i}",
                )
            )
        handles: list[Patch | Line2D] = [
            Patch(facecolor=COLOURS[v], edgecolor=_EDGES[v], label=v) for v in ("holds", "violated")
        ]
        if not complete:
            handles.append(Patch(facecolor=COLOURS["unknown"], edgecolor="none", label="unknown"))
        _textbook(ax, result, axes, at, window)
        values = [result.values.get(n) for n in axes]
        if (
            values[0] is not None
            and values[1] is not None
            and values[0] <= window[0]
            and values[1] <= window[1]
        ):
            ax.plot(
                [values[0]],
                [values[1]],
                marker="x",
                color="black",
                linestyle="none",
                gid="spec-values",
                label=f"the spec's values ({values[0]:g} s, {values[1]:g} s)",
            )
        handles += [h for h in ax.get_lines() if not str(h.get_label()).startswith("_")]
        ax.set_xlim(0.0, float(window[0]))
        ax.set_ylim(0.0, float(window[1]))
        ax.set_xlabel(f"{axes[0]} (seconds)")
        ax.set_ylabel(f"{axes[1]} (seconds)")
        where = f"; at {', '.join(f'{n} = {_seconds(v)}' for n, v in at.items())}" if at else ""
        bad = sum(t.violated for t in result.tiles)
        ax.set_title(
            f"{result.prop.name} on {result.variant or 'base'}\n"
            f"where it holds over {axes[0]} and {axes[1]}{where}\n"
            f"({result.status}: {len(result.tiles):,} tiles, {bad:,} violating)",
            fontsize=10.0,
        )
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        buffer = io.BytesIO()
        # No dates, no tool versions: the same region gives the same bytes.
        metadata: dict[str, dict[str, str | None]] = {
            "svg": {"Date": None, "Creator": None},
            "pdf": {"CreationDate": None, "Creator": None, "Producer": None},
            "png": {"Software": None},
        }
        fig.savefig(buffer, format=fmt, metadata=metadata[fmt], bbox_inches="tight")
    return buffer.getvalue()
