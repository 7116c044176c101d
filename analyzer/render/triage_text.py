"""``poolscope triage`` as text and Markdown: case summary, pools, top consumers, next commands."""

from __future__ import annotations

import re
from typing import Any

from analyzer.analysis.triage import TriageReport
from analyzer.render.safe import markdown_code, markdown_text, terminal_document, terminal_text


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def _columns(short_owner: bool = True) -> tuple[list[Any], list[Any]]:
    from analyzer.render.tables import Column

    pools = [
        Column("pool", "Pool"),
        Column("usage_kb", "Usage KB", True, _num),
        Column("max_kb", "Max KB", True, _num),
        Column("percent", "Full", True, _pct),
        Column("source", "From"),
    ]
    consumers = [
        Column("pool", "Pool"),
        Column("rank", "#", True),
        Column("tag", "Tag", fmt=lambda t: repr(t)[1:-1]),
        Column("bytes", "Bytes", True, _num),
        Column("outstanding", "Allocs", True, _num),
        Column("share", "Share", True, _pct),
        Column("owner", "Owner", fmt=_short if short_owner else None),
    ]
    return pools, consumers


def _short(text: Any, limit: int = 44) -> str:
    """Owner text cut to fit, so that the numbers beside it never are."""
    if text is None:
        return "-"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bug_line(report: TriageReport) -> str:
    bug = report.bugcheck
    if bug is None:
        return "none in this log"
    params = ", ".join(f"{p:#x}" for p in bug.params)
    name = f" {report.bugcheck_name}" if report.bugcheck_name else ""
    return f"{bug.code_text}{name} ({params})"


def render_text(report: TriageReport, width: int | None = None) -> str:
    """The human report: case summary, pools, top consumers, findings, next commands."""
    from analyzer.render.tables import render_table

    pool_cols, consumer_cols = _columns()
    lines = [
        f"Triage of {report.source}",
        f"  Bug check : {_bug_line(report)}",
    ]
    if report.meaning:
        lines.append(f"  Meaning   : {report.meaning}")
    lines.append(f"  Case      : {report.category}: {report.summary}")
    if report.suspects:
        lines.append(f"  Suspects  : {', '.join(report.suspects)}")
    out = "\n".join(lines) + "\n"
    if report.pools:
        out += "\n" + render_table(report.pools, pool_cols, title="Pools", width=width)
    if report.consumers:
        out += "\n" + render_table(report.consumers, consumer_cols, title="Top consumers", width=width)
        evidence = list(dict.fromkeys(
            f"  {c.tag!r:6} {e}" for c in report.consumers for e in c.evidence if not e.startswith("!poolused")
        ))
        if evidence:
            out += "\nOwner evidence\n" + "\n".join(evidence) + "\n"
    if report.findings:
        out += "\nFindings\n" + "\n".join(f"  - {f}" for f in report.findings) + "\n"
    if report.next_commands:
        out += "\nNext commands\n" + "\n".join(f"  {c}" for c in report.next_commands) + "\n"
    if report.warnings:
        out += "\nWarnings\n" + "\n".join(f"  {w}" for w in report.warnings) + "\n"
    return terminal_document(out)


def render_markdown(report: TriageReport) -> str:
    from analyzer.render.tables import render_markdown as table_md

    pool_cols, consumer_cols = _columns(short_owner=False)
    md = markdown_text
    parts = [
        f"# Triage of {markdown_code(report.source)}",
        "",
        f"- **Bug check:** {md(_bug_line(report))}",
    ]
    if report.meaning:
        parts.append(f"- **Meaning:** {md(report.meaning)}")
    parts.append(f"- **Case:** {md(report.category)}: {md(report.summary)}")
    if report.suspects:
        parts.append(f"- **Suspects:** {', '.join(markdown_code(s) for s in report.suspects)}")
    if report.pools:
        parts += ["", "## Pools", "", table_md(report.pools, pool_cols).rstrip("\n")]
    if report.consumers:
        parts += ["", "## Top consumers", "", table_md(report.consumers, consumer_cols).rstrip("\n")]
    if report.findings:
        parts += ["", "## Findings", ""] + [f"- {md(f)}" for f in report.findings]
    if report.next_commands:
        commands = [terminal_text(c) for c in report.next_commands]
        longest = max((len(m) for c in commands for m in re.findall(r"`+", c)), default=0)
        fence = "`" * max(3, longest + 1)
        parts += ["", "## Next commands", "", fence, *commands, fence]
    if report.warnings:
        parts += ["", "## Warnings", ""] + [f"- {md(w)}" for w in report.warnings]
    return "\n".join(parts) + "\n"
