"""The report on a terminal: rich tables with sparklines, colour for growth, 80 columns wide."""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from analyzer.render.report.model import Report
from analyzer.render.report.text import (
    DIFF_HEADINGS,
    POOL_SHORT,
    exhaustion_text,
    interval_text,
    kb_text,
    pct_text,
    rate_text,
    read_summary,
    sparkline,
    when_text,
)
from analyzer.render.tables import make_console
from analyzer.units import format_size

VERDICT_STYLE = {
    "leak": "bold red",
    "suspect": "yellow",
    "recovers": "green",
    "stable": "",
    "insufficient-data": "dim",
    "clean": "green",
}
MAX_DIFF_ROWS = 10
MAX_WARNINGS = 5


def _growth_style(value: float | None) -> str:
    if value is None or value == 0:
        return ""
    return "red" if value > 0 else "green"


def _table(*columns: tuple[str, bool]) -> Table:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for header, numeric in columns:
        t.add_column(header, justify="right" if numeric else "left", no_wrap=True)
    return t


def report_renderable(report: Report) -> Group:
    """The whole report as one rich renderable."""
    parts: list[Any] = []
    parts.append(Text("poolscope report", style="bold"))
    parts.append(Text.assemble(("Verdict: ", "bold"), (report.verdict, VERDICT_STYLE.get(report.level, ""))))
    parts.append(Text(""))

    parts.append(Rule("What was read", align="left", characters="─"))
    for line in read_summary(report):
        parts.append(Text(line))
    if report.inputs:
        t = _table(("File", False), ("Format", False), ("Encoding", False), ("Snapshots", True))
        for i in report.inputs:
            # The end of a path tells files of one folder apart; keep it.
            name = i.name if len(i.name) <= 40 else "…" + i.name[-39:]
            t.add_row(name, i.format, i.encoding, str(i.snapshots))
        t.columns[0].no_wrap = True
        t.columns[0].max_width = 40
        t.columns[0].overflow = "ellipsis"
        parts.append(t)
    for w in report.warnings[:MAX_WARNINGS]:
        parts.append(Text(f"warning: {w}", style="yellow"))
    if len(report.warnings) > MAX_WARNINGS:
        parts.append(Text(f"... and {len(report.warnings) - MAX_WARNINGS} more warnings", style="yellow"))
    parts.append(Text(""))

    parts.append(Rule("Leak suspects", align="left", characters="─"))
    if report.suspects:
        t = _table(
            ("Tag", False),
            ("Pool", False),
            ("Verdict", False),
            ("Rate", True),
            ("Now", True),
            ("Bytes over time", False),
        )
        for s in report.suspects:
            style = VERDICT_STYLE.get(s.verdict, "")
            t.add_row(
                s.tag,
                POOL_SHORT[s.pool],
                Text(s.verdict, style=style),
                Text(rate_text(s.rate_bytes_per_hour), style=_growth_style(s.rate_bytes_per_hour)),
                format_size(s.bytes_last),
                Text(sparkline(s.series.values), style=_growth_style(s.rate_bytes_per_hour)),
            )
        parts.append(t)
        for s in report.suspects:
            parts.append(Text.assemble((s.tag.rstrip() or s.tag, "bold"), f" ({s.pool})"))
            grid = Table.grid(padding=(0, 1))
            grid.add_column(no_wrap=True, style="dim")
            grid.add_column(overflow="fold")
            grid.add_row("  owner", s.owner or "unknown")
            grid.add_row("  interval", interval_text(s))
            if s.rate_low is not None and s.rate_high is not None:
                grid.add_row(
                    "  rate",
                    f"{rate_text(s.rate_bytes_per_hour)} ({rate_text(s.rate_low)} to {rate_text(s.rate_high)})",
                )
            grid.add_row("  why", s.reason)
            ex = exhaustion_text(s.exhaustion)
            if ex:
                grid.add_row("  exhaustion", Text(ex, style="" if "over a year" in ex else "red"))
            parts.append(grid)
    else:
        parts.append(Text("none"))
        largest = report.largest
        if largest:
            parts.append(Text("Largest consumers in the last snapshot:"))
            t = _table(("Tag", False), ("Pool", False), ("Bytes", True), ("Allocs", True), ("Owner", False))
            for r in largest:
                t.add_row(
                    r.tag,
                    POOL_SHORT[r.pool],
                    format_size(r.bytes),
                    "-" if r.outstanding is None else str(r.outstanding),
                    Text(r.owner or "-", overflow="ellipsis"),
                )
            t.columns[4].max_width = 30
            parts.append(t)
    parts.append(Text(""))

    if report.totals:
        parts.append(Rule("Pool totals", align="left", characters="─"))
        t = _table(
            ("Pool", False),
            ("First", True),
            ("Last", True),
            ("Change", True),
            ("Peak", True),
            ("Over time", False),
            ("From", False),
        )
        for p in report.totals:
            change = None if p.first_kb is None or p.last_kb is None else p.last_kb - p.first_kb
            t.add_row(
                POOL_SHORT[p.pool],
                kb_text(p.first_kb),
                kb_text(p.last_kb),
                Text("-" if change is None else format_size(change * 1024, signed=True), style=_growth_style(change)),
                kb_text(p.peak_kb),
                Text(sparkline(p.series.values), style=_growth_style(change)),
                p.basis,
            )
        parts.append(t)
        parts.append(Text(""))

    if report.diff_rows:
        parts.append(Rule("First → last snapshot", align="left", characters="─"))
        parts.append(Text(f"{report.diff_before} → {report.diff_after}"))
        t = _table(*(h for h in DIFF_HEADINGS if h[0] != "Owner"))
        for r in report.diff_rows[:MAX_DIFF_ROWS]:
            t.add_row(
                r.tag,
                POOL_SHORT[r.pool],
                format_size(r.bytes_before),
                format_size(r.bytes_after),
                Text(format_size(r.bytes_change, signed=True), style=_growth_style(r.bytes_change)),
                pct_text(r.percent_change),
                r.status,
            )
        parts.append(t)
        if len(report.diff_rows) > MAX_DIFF_ROWS:
            parts.append(
                Text(
                    f"... {len(report.diff_rows) - MAX_DIFF_ROWS} more changed rows "
                    "(--format markdown or html lists them all)",
                    style="dim",
                )
            )
        parts.append(Text(""))

    parts.append(Rule("Next steps", align="left", characters="─"))
    steps = Table.grid(padding=(0, 1))
    steps.add_column(justify="right", no_wrap=True)
    steps.add_column(overflow="fold")
    for n, step in enumerate(report.next_steps, 1):
        steps.add_row(f"{n}.", step.text)
        if step.command:
            steps.add_row("", Text(step.command, style="cyan"))
    parts.append(steps)
    if not report.next_steps:
        parts.append(Text("nothing to add"))
    return Group(*parts)


def render_terminal(report: Report, console: Console | None = None) -> None:
    """Print the report (colour only on a terminal without NO_COLOR)."""
    console = console or make_console()
    console.print(report_renderable(report))


def render_text(report: Report, width: int = 80) -> str:
    """The report as plain text at a fixed width (what the golden tests compare)."""
    buf = io.StringIO()
    console = make_console(width=width, stream=buf, color=False)
    console.print(report_renderable(report))
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


__all__ = ["render_terminal", "render_text", "report_renderable", "when_text"]
