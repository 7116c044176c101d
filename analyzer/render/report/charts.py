"""Charts for the HTML report: matplotlib figures rendered to inline SVG.

Text in the charts is drawn as glyph outlines (``svg.fonttype = path``) and comments
are stripped, so no input text reaches the document as SVG text or markup; ``$`` is
escaped because matplotlib would read ``$...$`` as mathtext.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from analyzer.render.report.model import Series

_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)
_PALETTE = {"nonpaged": "#c0392b", "paged": "#2e6da4"}


def chart_text(text: str) -> str:
    """Input text made safe for a matplotlib label (no mathtext)."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def _xy(series: Series) -> tuple[list[datetime] | np.ndarray, np.ndarray, bool]:
    y = np.array([np.nan if v is None else float(v) for v in series.values], dtype=float)
    # A time axis only for believable times: matplotlib's dates end at year 9999, and an axis
    # padded around a mistyped marker (year 9999, or 0001) would run past either end.
    timed = bool(series.times) and all(isinstance(t, datetime) and 1970 <= t.year <= 2200 for t in series.times)
    x = list(series.times) if timed else np.arange(1, len(series.values) + 1)
    return x, y, timed


def _scale(peak: float) -> tuple[float, str]:
    for factor, unit in ((1024**3, "GB"), (1024**2, "MB"), (1024, "KB")):
        if peak >= factor:
            return factor, unit
    return 1.0, "B"


def line_chart_svg(
    lines: Sequence[tuple[str, Series, str]],
    title: str,
    *,
    unit_bytes: float = 1.0,
    salt: str = "chart",
    size: tuple[float, float] = (6.4, 2.4),
    zero_based: bool = True,
) -> str:
    """An SVG line chart of byte series (``values × unit_bytes`` = bytes), one line per (label, series, colour)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    rc = {"svg.fonttype": "path", "svg.hashsalt": salt, "font.size": 8, "axes.titlesize": 9}
    with rc_context(rc):
        fig = Figure(figsize=size)
        # Fixed margins: the constrained layout engine costs a third of the drawing time.
        fig.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.2)
        ax = fig.add_subplot()
        peak = 0.0
        data = []
        for label, series, colour in lines:
            x, y, timed = _xy(series)
            y = y * unit_bytes
            if np.isfinite(y).any():
                peak = max(peak, float(np.nanmax(np.abs(y))))
            data.append((label, x, y, colour, timed))
        factor, unit = _scale(peak)
        for label, x, y, colour, _timed in data:
            marker = "o" if len(y) <= 40 else None
            ax.plot(x, y / factor, color=colour, linewidth=1.4, marker=marker, markersize=2.5, label=chart_text(label))
        ax.set_title(chart_text(title), loc="left")
        ax.set_ylabel(unit)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        if zero_based:
            ax.set_ylim(bottom=0)
        if data and data[0][4]:
            import matplotlib.dates as mdates

            locator = mdates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        else:
            ax.set_xlabel("snapshot")
        if len(lines) > 1:
            # Above the axes, beside the title, where it cannot hide a line.
            ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=len(lines), frameon=False, borderaxespad=0.2)
        buf = io.StringIO()
        with warnings.catch_warnings():
            # AutoDateLocator complains about some spans but still picks usable ticks.
            warnings.simplefilter("ignore", UserWarning)
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = _PROLOG.sub("", buf.getvalue()).strip()
    if "<script" in svg.lower() or "<foreignobject" in svg.lower():  # pragma: no cover - matplotlib never writes these
        raise ValueError("refusing to inline an SVG with active content")
    return svg


def pool_colour(pool: str) -> str:
    return _PALETTE.get(pool, "#555555")
