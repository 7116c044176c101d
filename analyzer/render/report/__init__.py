"""Reports people attach and read: one :class:`Report` model, four renderers.

>>> report = build_report(["poolmon.log"])           # doctest: +SKIP
>>> print(render(report, "markdown"))                # doctest: +SKIP

Formats: ``table`` (rich terminal output), ``markdown`` (GitHub issue), ``html``
(one self-contained file with charts) and ``json`` (the documented shape).
"""

from __future__ import annotations

from analyzer.render.report.build import ProgressCallback, ReportOptions, build_report
from analyzer.render.report.model import InputRead, NextStep, PoolTotal, Report, Series, Suspect

FORMATS: tuple[str, ...] = ("table", "markdown", "html", "json")
#: Output file suffix -> format, for ``-o``.
SUFFIXES: dict[str, str] = {
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".txt": "table",
}

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "InputRead",
    "NextStep",
    "PoolTotal",
    "ProgressCallback",
    "Report",
    "ReportOptions",
    "Series",
    "Suspect",
    "build_report",
    "render",
]


def render(report: Report, fmt: str, *, width: int = 80) -> str:
    """The report as text in one of :data:`FORMATS` (``table`` is plain, uncoloured text)."""
    if fmt == "table":
        from analyzer.render.report.terminal import render_text

        return render_text(report, width=width)
    if fmt == "markdown":
        from analyzer.render.report.markdown import render_markdown_report

        return render_markdown_report(report)
    if fmt == "html":
        from analyzer.render.report.html import render_html

        return render_html(report)
    if fmt == "json":
        from analyzer.render.tables import render_json

        return render_json(report.to_dict())
    raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
