"""The report as GitHub-flavoured Markdown that pastes cleanly into an issue tracker.

Only ``<details>``/``<summary>`` are written as HTML; every piece of input text (tags,
owners, file names, reasons, warnings) goes through :func:`md_escape`, so a hostile
pooltag description cannot turn into markup, links or table breaks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from analyzer.render.report.model import Report
from analyzer.render.report.text import (
    DIFF_HEADINGS,
    exhaustion_text,
    interval_text,
    kb_text,
    pct_text,
    rate_text,
    read_summary,
    sparkline,
    when_text,
)
from analyzer.render.safe import markdown_code, markdown_text, terminal_text
from analyzer.units import format_size

#: Rows per table in the collapsed section: an issue comment must stay well under
#: GitHub's 65536-character limit even for logs of thousands of tags.
FULL_ROWS = 100


def md_escape(text: object) -> str:
    """Inline Markdown text that renders exactly as ``text`` (one line, no markup, links or HTML)."""
    return markdown_text(text)


def md_code(text: str) -> str:
    """A code span; the fence grows past any backtick run inside (CommonMark rule)."""
    return markdown_code(text)


def md_fence(text: str, indent: str = "") -> list[str]:
    """A fenced code block that no backtick run inside ``text`` can close."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = terminal_text(text.replace("\r", " ").replace("\n", " "))
    return [f"{indent}{fence}", f"{indent}{body}", f"{indent}{fence}"]


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> list[str]:
    """A GFM table; cells must already be escaped."""
    out = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---:" if n else "---" for n in numeric) + " |",
    ]
    out.extend("| " + " | ".join(cells) + " |" for cells in rows)
    return out


def _tag(tag: str) -> str:
    # Keep PoolMon's padding visible without a code span, which could not hold every tag safely.
    return md_escape(tag.rstrip(" ")) or md_escape(tag)


def _heading(every: str, top: str, shown: int, total: int) -> str:
    return f"#### {every}" if shown == total else f"#### Top {shown} of {total} {top}"


def _more(hidden: int) -> list[str]:
    if hidden <= 0:
        return [""]
    return ["", f"{hidden} more rows are left out here; `--format html` or `--format json` lists them all.", ""]


def render_markdown_report(report: Report, full: bool = True, full_rows: int = FULL_ROWS) -> str:
    """The report in Markdown; ``full`` adds the collapsed section with the full tables (at most ``full_rows`` each)."""
    lines: list[str] = ["## poolscope report", "", f"**Verdict:** {md_escape(report.verdict)}", ""]

    lines += ["### What was read", ""]
    lines += [f"- {md_escape(s)}" for s in read_summary(report)]
    lines.append("")
    if report.inputs:
        lines += md_table(
            ["File", "Format", "Encoding", "Snapshots"],
            [[md_escape(i.name), md_escape(i.format), md_escape(i.encoding), str(i.snapshots)] for i in report.inputs],
            [False, False, False, True],
        )
        lines.append("")
    if report.warnings:
        lines += [f"- warning: {md_escape(str(w))}" for w in report.warnings[:10]]
        if len(report.warnings) > 10:
            lines.append(f"- … and {len(report.warnings) - 10} more warnings")
        lines.append("")

    lines += ["### Leak suspects", ""]
    if report.suspects:
        lines += md_table(
            ["Tag", "Pool", "Owner", "Verdict", "Rate", "Now", "Trend"],
            [
                [
                    _tag(s.tag),
                    s.pool,
                    md_escape(s.owner or "-"),
                    f"**{s.verdict}**" if s.verdict == "leak" else s.verdict,
                    md_escape(rate_text(s.rate_bytes_per_hour)),
                    md_escape(format_size(s.bytes_last)),
                    sparkline(s.series.values),
                ]
                for s in report.suspects
            ],
            [False, False, False, False, True, True, False],
        )
        lines.append("")
        for s in report.suspects:
            lines.append(f"- **{_tag(s.tag)}** ({s.pool}): {md_escape(s.reason)}")
            lines.append(f"  - interval: {md_escape(interval_text(s))}")
            if s.rate_low is not None and s.rate_high is not None:
                lines.append(
                    f"  - rate: {md_escape(rate_text(s.rate_bytes_per_hour))} "
                    f"({md_escape(rate_text(s.rate_low))} to {md_escape(rate_text(s.rate_high))})"
                )
            ex = exhaustion_text(s.exhaustion)
            if ex:
                lines.append(f"  - exhaustion: {md_escape(ex)}")
        lines.append("")
    else:
        lines += ["None.", ""]
        largest = report.largest
        if largest:
            lines += ["Largest consumers in the last snapshot:", ""]
            lines += md_table(
                ["Tag", "Pool", "Bytes", "Allocs", "Owner"],
                [
                    [
                        _tag(r.tag),
                        r.pool,
                        md_escape(format_size(r.bytes)),
                        "-" if r.outstanding is None else str(r.outstanding),
                        md_escape(r.owner or "-"),
                    ]
                    for r in largest
                ],
                [False, False, True, True, False],
            )
            lines.append("")

    if report.totals:
        lines += ["### Pool totals", ""]
        rows = []
        for p in report.totals:
            change = None if p.first_kb is None or p.last_kb is None else p.last_kb - p.first_kb
            rows.append(
                [
                    p.pool,
                    md_escape(kb_text(p.first_kb)),
                    md_escape(kb_text(p.last_kb)),
                    md_escape("-" if change is None else format_size(change * 1024, signed=True)),
                    md_escape(kb_text(p.peak_kb)),
                    sparkline(p.series.values),
                    md_escape(p.basis),
                ]
            )
        lines += md_table(
            ["Pool", "First", "Last", "Change", "Peak", "Over time", "From"],
            rows,
            [False, True, True, True, True, False, False],
        )
        lines.append("")

    if report.diff_rows:
        lines += [
            "### First → last snapshot",
            "",
            f"{md_escape(report.diff_before or '')} → {md_escape(report.diff_after or '')}, largest changes:",
            "",
        ]
        lines += _diff_table(report, report.diff_rows[:10])
        lines.append("")

    lines += ["### Next steps", ""]
    for n, step in enumerate(report.next_steps, 1):
        lines.append(f"{n}. {md_escape(step.text)}")
        if step.command:
            lines += ["", *md_fence(step.command, indent="   "), ""]
    if not report.next_steps:
        lines.append("Nothing to add.")
    lines.append("")

    if full and (report.trend_rows or report.diff_rows):
        lines += ["<details>", "<summary>Full tables</summary>", ""]
        if report.trend_rows:
            trend_rows = report.trend_rows[:full_rows]
            lines += [_heading("Trend of every tag", "tags by suspicion", len(trend_rows), len(report.trend_rows)), ""]
            lines += md_table(
                ["Tag", "Pool", "Verdict", "Rate", "Bytes", "Owner", "Reason"],
                [
                    [
                        _tag(r.tag),
                        r.pool,
                        r.verdict,
                        md_escape(rate_text(r.rate_bytes_per_hour)),
                        md_escape(format_size(r.bytes_last)),
                        md_escape(report.owners.get((r.tag, r.pool)) or "-"),
                        md_escape(r.reason),
                    ]
                    for r in trend_rows
                ],
                [False, False, False, True, True, False, False],
            )
            lines += _more(len(report.trend_rows) - len(trend_rows))
        if report.diff_rows:
            diff_rows = report.diff_rows[:full_rows]
            span = f"{md_escape(report.diff_before or '')} → {md_escape(report.diff_after or '')}"
            lines += [
                _heading(f"Every change, {span}", f"changes by size, {span}", len(diff_rows), len(report.diff_rows)),
                "",
            ]
            lines += _diff_table(report, diff_rows)
            lines += _more(len(report.diff_rows) - len(diff_rows))
        lines += ["</details>", ""]
    return "\n".join(lines)


def _diff_table(report: Report, rows: Sequence[object]) -> list[str]:
    return md_table(
        [heading for heading, _numeric in DIFF_HEADINGS],
        [
            [
                _tag(r.tag),  # type: ignore[attr-defined]
                r.pool,  # type: ignore[attr-defined]
                md_escape(format_size(r.bytes_before)),  # type: ignore[attr-defined]
                md_escape(format_size(r.bytes_after)),  # type: ignore[attr-defined]
                md_escape(format_size(r.bytes_change, signed=True)),  # type: ignore[attr-defined]
                md_escape(pct_text(r.percent_change)),  # type: ignore[attr-defined]
                r.status,  # type: ignore[attr-defined]
                md_escape(report.owners.get((r.tag, r.pool)) or "-"),  # type: ignore[attr-defined]
            ]
            for r in rows
        ],
        [False, False, True, True, True, True, False, False],
    )


__all__ = ["md_escape", "render_markdown_report", "when_text"]
