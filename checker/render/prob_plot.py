"""A probability against the loss rate, one curve per variant (``tcpcheck prob --plot``).

Each variant gives the most (solid) and the least (dashed) probability over schedulers at
each loss rate; the y axis is logarithmic, so a value of 0 is left out of its curve (the
legend says so).  The same settings as :mod:`checker.render.region_plot` make the bytes
depend on the data alone: the Agg canvas, DejaVu Sans, ``svg.hashsalt``, no dates.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from .region_plot import FONT

__all__ = ["Curve", "prob_plot"]


@dataclass(frozen=True)
class Curve:
    """One variant's least and most probability at each loss rate."""

    label: str
    rates: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]


def prob_plot(title: str, curves: Sequence[Curve], fmt: str = "svg") -> bytes:
    """The picture, as bytes in ``fmt`` (``svg``, ``pdf`` or ``png``)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            "font.family": FONT,
            "font.size": 10.0,
            "svg.hashsalt": "tcpcheck",
            "svg.fonttype": "none",
            "pdf.fonttype": 42,
        }
    ):
        fig = Figure(figsize=(7.2, 5.0), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.set_yscale("log")
        cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, c in enumerate(curves):
            colour = cycle[i % len(cycle)]
            for values, style, which in ((c.high, "-", "max"), (c.low, "--", "min")):
                points = [(r, v) for r, v in zip(c.rates, values, strict=True) if v > 0]
                label = f"{c.label} ({which})"
                if not points:
                    ax.plot([], [], style, color=colour, label=f"{label}: 0")
                    continue
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, marker="o", markersize=3, color=colour, label=label)
        ax.set_xlabel("loss rate p")
        ax.set_ylabel("probability (log scale)")
        ax.set_title(title, fontsize=10.0)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8.0)
        buffer = io.BytesIO()
        metadata: dict[str, dict[str, str | None]] = {
            "svg": {"Date": None, "Creator": None},
            "pdf": {"CreationDate": None, "Creator": None, "Producer": None},
            "png": {"Software": None},
        }
        fig.savefig(buffer, format=fmt, metadata=metadata[fmt], bbox_inches="tight")
    return buffer.getvalue()
