"""Text, CSV, JSON and Markdown for ``diff`` and ``trend`` results, and their exit gates.

Kept apart from the click commands so that a script holding a :class:`DiffResult` or
:class:`TrendResult` prints exactly what the command line prints.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from analyzer.analysis.diff import DiffResult
from analyzer.analysis.trend import VERDICTS, TrendOptions, TrendResult
from analyzer.render.columns import DIFF_COLUMNS, TREND_COLUMNS
from analyzer.render.tables import Column, render_csv, render_json, render_markdown
from analyzer.units import format_duration, format_size

OWNER_COLUMN = Column("owner", "Owner")


def _when(dt: datetime | None) -> str:
    return dt.replace(microsecond=0).isoformat(sep=" ") if dt else "time unknown"


def _columns(base: Sequence[Column], rows: Sequence[Any]) -> list[Column]:
    cols = list(base)
    if any(getattr(r, "owner", None) for r in rows):
        cols.append(OWNER_COLUMN)
    return cols


# -- diff ---------------------------------------------------------------------------------------


def render_diff(result: DiffResult, fmt: str = "table", width: int | None = None) -> str:
    if fmt == "json":
        return render_json(result.to_dict())
    if fmt == "csv":
        return render_csv(result.rows, [*DIFF_COLUMNS, OWNER_COLUMN])
    cols = _columns(DIFF_COLUMNS, result.rows)
    if fmt == "markdown":
        return render_markdown(result.rows, cols) + "\n" + _diff_totals(result)
    later = ""
    if result.interval_seconds is not None:
        from datetime import timedelta

        secs = result.interval_seconds
        later = f", {format_duration(timedelta(seconds=abs(secs)))} {'later' if secs >= 0 else 'EARLIER'}"
    head = f"before: {result.before} ({_when(result.before_time)})\nafter:  {result.after} " \
           f"({_when(result.after_time)}){later}\n\n"
    body = fitted_table(result.rows, cols, width=width) if result.rows else "no tag changed enough to show\n"
    return head + body + "\n" + _diff_totals(result)


def _diff_totals(result: DiffResult) -> str:
    lines = []
    for pool, t in result.totals.items():
        lines.append(f"{pool:<9} {format_size(t.bytes_before):>10} -> {format_size(t.bytes_after):>10}"
                     f"  ({format_size(t.bytes_change, signed=True) if t.bytes_change else '0'})")
    c = result.counts
    churn = f"{c.churn} allocs/frees only (0 B), " if c.churn else ""
    lines.append(f"tags: {c.changed} changed, {c.new} new, {c.vanished} vanished, {churn}{c.same} unchanged")
    if result.hidden:
        lines.append(f"rows: {len(result.rows)} shown, {result.hidden} below --min-change "
                     f"{format_size(result.min_change)} (counts and totals cover every row)")
    return "\n".join(lines) + "\n"


# -- trend --------------------------------------------------------------------------------------

#: The table leaves the interval and the reason out (long); the reason lines under it carry both.
TREND_TABLE_COLUMNS = [c for c in TREND_COLUMNS if c.key not in ("reason", "rate_low", "rate_high", "group")]
GROUP_COLUMN = next(c for c in TREND_COLUMNS if c.key == "group")


#: Columns a narrow terminal may lose, first to go first.
OPTIONAL_COLUMNS = ("frees_change", "allocs_change", "outstanding_change", "percent_change", "freed_ratio",
                    "bytes_before")
_GAP = "  "
_MIN_OWNER = 12


def _width(width: int | None) -> int:
    if width:
        return width
    env = os.environ.get("COLUMNS", "")
    if env.isdigit():
        return int(env)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return 100


def fitted_table(rows: Sequence[Any], columns: Sequence[Column], width: int | None = None) -> str:
    """A plain table that fits ``width``: numbers are never cut.

    When the columns do not fit, the optional ones go (Frees, Allocs, Diff changes, ...); the
    owner column takes what is left and is cut there, or goes when nothing is left.
    """
    limit = _width(width)
    cells = [[c.text(getattr(r, c.key, None)) for c in columns] for r in rows]
    widths = [max([len(c.header), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    keep = list(range(len(columns)))
    owner = next((i for i, c in enumerate(columns) if c.key == "owner"), None)

    def need(idx: list[int]) -> int:
        fixed = [i for i in idx if i != owner]
        total = sum(widths[i] for i in fixed) + len(_GAP) * (len(fixed) - 1)
        return total + (len(_GAP) + _MIN_OWNER if owner in idx else 0)

    for key in OPTIONAL_COLUMNS:
        if need(keep) <= limit:
            break
        keep = [i for i in keep if columns[i].key != key]
    if owner is not None and need(keep) > limit:
        keep.remove(owner)
    if owner in keep:
        widths[owner] = min(widths[owner], limit - need([i for i in keep if i != owner]) - len(_GAP))

    def cell(i: int, text: str) -> str:
        w = widths[i]
        text = text[:w]
        return text.rjust(w) if columns[i].numeric else text.ljust(w)

    header = _GAP.join(cell(i, columns[i].header) for i in keep)
    lines = [header, "─" * len(header)]
    lines += [_GAP.join(cell(i, row[i]) for i in keep) for row in cells]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def select_rows(result: TrendResult, show_all: bool = False, top: int | None = 20) -> list[Any]:
    """Rows to show: everything with ``show_all``, else the non-stable ones, most suspicious first."""
    rows = result.rows if show_all else [r for r in result.rows if r.verdict in ("leak", "suspect", "recovers")]
    return rows if top is None else rows[:top]


def trend_summary(result: TrendResult) -> str:
    s = result.summary
    start, end = result.start, result.end
    if s.get("timed") and start is not None and end is not None:
        span = f"{_when(start)} to {_when(end)} ({format_duration(end - start)})"
    else:
        span = "no timestamps: order as given, rates per snapshot"
    counts = ", ".join(f"{s['verdicts'][v]} {v}" for v in VERDICTS)
    noun = "snapshot" if s["snapshots"] == 1 else "snapshots"
    out = f"{s['snapshots']} {noun}, {span}; {s['series']} series: {counts}\n"
    if s.get("reboots"):
        out += f"counters restarted (reboot) at: {', '.join(str(r) for r in s['reboots'])}\n"
    return out


def _hours(h: float) -> str:
    from datetime import timedelta

    return format_duration(timedelta(hours=h))


def _exhaustion_lines(result: TrendResult) -> str:
    if not result.exhaustion:
        return ""
    lines = []
    for name, e in result.exhaustion.items():
        hi = "never" if e.get("hours_high") is None else _hours(e["hours_high"])
        at = f", around {e['at'][:16].replace('T', ' ')}" if e.get("at") else ""
        lines.append(f"{name} runs out in about {_hours(e['hours'])} ({_hours(e['hours_low'])} to {hi}){at} "
                     f"at {format_size(e['rate_bytes_per_hour'])}/h")
    return "\n".join(lines) + "\n"


def pool_total_lines(result: TrendResult) -> str:
    """One line per pool whose header total was read: does the pool itself grow?"""
    lines = []
    for t in result.pool_totals:
        change = t["bytes_last"] - t["bytes_first"]
        rate = t.get("rate_bytes_per_hour")
        at = f" at {format_size(rate)}/h" if rate is not None and t["verdict"] != "steady" else ""
        lines.append(f"{t['pool']} pool total {t['verdict']}{at}: {format_size(t['bytes_first'])} -> "
                     f"{format_size(t['bytes_last'])} ({'+' if change >= 0 else '-'}{format_size(abs(change))}, "
                     f"{t['points']} readings)")
    return "\n".join(lines) + ("\n" if lines else "")


def render_trend(result: TrendResult, fmt: str = "table", *, show_all: bool = False, top: int | None = 20,
                 width: int | None = None) -> str:
    rows = select_rows(result, show_all, top)
    if fmt == "json":
        out = result.to_dict()
        out["rows"] = [r.to_dict() for r in rows]
        return render_json(out)
    if fmt == "csv":
        return render_csv(rows, [*TREND_COLUMNS, OWNER_COLUMN])
    if fmt == "markdown":
        return render_markdown(rows, _columns(TREND_COLUMNS, rows))
    text = trend_summary(result) + "\n"
    if rows:
        cols = list(TREND_TABLE_COLUMNS)
        if any(r.group for r in rows):
            cols.append(GROUP_COLUMN)
        text += fitted_table(rows, _columns(cols, rows), width=width) + "\n"
        text += "".join(f"{r.tag} {r.pool}: {r.verdict}: {r.reason}\n" for r in rows)
    elif result.data is not None and not result.data.tags and result.pool_totals:
        text += "no per-tag data: pool totals only\n"
    else:
        text += "no leak, suspect or recovering series\n"
    # Pool totals are news when there is nothing else, or when a pool grows or shrinks as a whole.
    tags_read = result.data is not None and bool(result.data.tags)
    totals = pool_total_lines(result) if not tags_read or any(
        t["verdict"] in ("grows", "shrinks") for t in result.pool_totals) else ""
    if totals:
        text += "\n" + totals
    if 0 < s_count(result) < TrendOptions().min_points:
        text += "\ntoo few snapshots for trends; `poolscope diff FILE#first FILE#last` compares two of them\n"
    hidden = len(result.rows) - len(rows)
    if hidden:
        text += f"\n{hidden} more rows not shown (--all shows every row)\n"
    ex = _exhaustion_lines(result)
    return text + ("\n" + ex if ex else "")


def s_count(result: TrendResult) -> int:
    return int(result.summary.get("snapshots") or 0)
