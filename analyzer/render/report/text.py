"""Wording and small figures shared by the report renderers (so all formats agree)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from analyzer.render.report.build import rate_text
from analyzer.render.report.model import Report, Suspect
from analyzer.units import format_duration, format_size

YEAR_HOURS = 24 * 365
SPARK = "▁▂▃▄▅▆▇█"
POOL_SHORT = {"nonpaged": "Nonp", "paged": "Paged"}

#: The first → last table's headings and whether each column is numeric; every format shows these
#: columns in this order (the terminal leaves out Owner to fit 80 columns).
DIFF_HEADINGS: tuple[tuple[str, bool], ...] = (
    ("Tag", False),
    ("Pool", False),
    ("Before", True),
    ("After", True),
    ("Change", True),
    ("%", True),
    ("Status", False),
    ("Owner", False),
)

__all__ = [
    "DIFF_HEADINGS",
    "POOL_SHORT",
    "exhaustion_text",
    "hours_text",
    "interval_text",
    "kb_text",
    "pct_text",
    "rate_text",
    "read_summary",
    "sparkline",
    "when_text",
]


def sparkline(values: Sequence[float | None], width: int = 16) -> str:
    """A unicode sparkline of ``values`` squeezed into ``width`` cells by bucket means."""
    n = len(values)
    if n == 0:
        return ""
    width = min(width, n)
    buckets: list[float | None] = []
    for b in range(width):
        lo, hi = b * n // width, max((b + 1) * n // width, b * n // width + 1)
        chunk = [v for v in values[lo:hi] if v is not None]
        buckets.append(sum(chunk) / len(chunk) if chunk else None)
    known = [v for v in buckets if v is not None]
    if not known:
        return " " * width
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in buckets:
        if v is None:
            out.append(" ")
        elif span <= 0:
            out.append(SPARK[0])
        else:
            out.append(SPARK[min(len(SPARK) - 1, int((v - low) / span * (len(SPARK) - 1) + 0.5))])
    return "".join(out)


def when_text(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else "?"


def hours_text(hours: float | None) -> str:
    if hours is None or not math.isfinite(hours):
        return "never"
    if hours >= YEAR_HOURS:
        return "over a year"
    return format_duration(timedelta(hours=hours)) if hours >= 1 / 60 else "under a minute"


def kb_text(kb: float | None) -> str:
    return "-" if kb is None else format_size(kb * 1024)


def pct_text(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:+.1f}%"


def interval_text(s: Suspect) -> str:
    if s.start and s.end:
        return f"{when_text(s.start)} → {when_text(s.end)} ({format_duration(s.end - s.start)})"
    return f"{s.n_points} snapshots"


def exhaustion_text(ex: dict[str, Any] | None) -> str:
    """One phrase for the trend analysis' exhaustion estimate, or '' when there is none."""
    if not ex:
        return ""
    hours = ex.get("hours")
    resource = ex.get("resource", "pool headroom")
    head = ex.get("headroom_bytes")
    left = f" ({format_size(head)} left)" if head is not None else ""
    if hours is None or not math.isfinite(hours) or hours >= YEAR_HOURS:
        # Decades away is not a forecast worth a reader's attention; say so plainly.
        return f"{resource}{left} would last over a year at this rate"
    text = f"{resource}{left} runs out in about {hours_text(hours)} at this rate"
    lo, hi = hours_text(ex.get("hours_low")), hours_text(ex.get("hours_high"))
    if ex.get("hours_low") is not None and hi == "never":
        # The slow end of the rate interval does not grow: only the soonest time is known.
        text += f" (at the earliest in {lo})"
    elif ex.get("hours_low") is not None and lo != hi:
        text += f" (between {lo} and {hi})"
    if ex.get("at"):
        text += f", around {ex['at'].replace('T', ' ')[:16]}"
    return text


def read_summary(report: Report) -> list[str]:
    """Lines saying what was read: files, snapshots, time span, warnings."""
    n_files = len(report.inputs)
    formats = sorted({i.format for i in report.inputs})
    lines = [
        f"{n_files} input{'s' if n_files != 1 else ''} ({', '.join(formats) or 'none'}), "
        f"{report.snapshot_count} snapshot{'s' if report.snapshot_count != 1 else ''}"
    ]
    if report.start and report.snapshot_count == 1:
        lines.append(f"taken at {when_text(report.start)}")
    elif report.start and report.end:
        span = format_duration(report.end - report.start)
        lines.append(f"{when_text(report.start)} → {when_text(report.end)} ({span})")
    elif report.snapshot_count:
        lines.append("no timestamps: snapshots in file order")
    lines.extend(report.notes)
    if report.warnings:
        n = len(report.warnings)
        lines.append(f"{n} warning{'s' if n != 1 else ''}")
    return lines
