"""The report as one self-contained HTML file: inline styles, one script, the data as JSON, no network.

The charts are drawn in the browser from an embedded JSON document (:mod:`.chart_data`):
pool totals on one axis per pool, small multiples of every suspect and the top movers,
values on hover, a time-window brush that every chart follows, any tag of the full table
charted on click, and the tags grouped by owner.  Without JavaScript the tables still read.

Everything taken from the inputs is untrusted (tags, pooltag descriptions, file
names, warning text): in the markup it goes through :func:`html.escape` and nowhere else;
in the JSON it is escaped for a script element, and the script sets it as text only.  A
Content-Security-Policy meta tag allows only the one inline script by its hash and no
network at all.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from html import escape
from importlib import resources
from typing import Any

from analyzer.render.report.chart_data import chart_document, script_json
from analyzer.render.report.model import Report
from analyzer.render.report.text import (
    DIFF_HEADINGS,
    exhaustion_text,
    interval_text,
    kb_text,
    pct_text,
    rate_text,
    read_summary,
)
from analyzer.units import format_size

#: The page's one script (sortable tables, charts, hover, brush, picking and grouping).
_SCRIPT = (resources.files("analyzer.render.report") / "report.js").read_text(encoding="utf-8")

_CSS = """
:root { --fg: #1d2329; --muted: #5d6b78; --line: #d8dee4; --bg: #ffffff; --leak: #b3261e; --ok: #1e7b34;
        --warn: #9a6700; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
       max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 4px; }
.verdict { font-size: 16px; padding: 10px 14px; border-left: 5px solid var(--muted); background: #f6f8fa; }
.verdict.leak { border-color: var(--leak); } .verdict.suspect { border-color: var(--warn); }
.verdict.clean { border-color: var(--ok); }
table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; }
td.wrap { white-space: normal; max-width: 420px; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; }
.grow { color: var(--leak); } .shrink { color: var(--ok); }
.v-leak { color: var(--leak); font-weight: 600; } .v-suspect { color: var(--warn); } .v-recovers { color: var(--ok); }
.muted { color: var(--muted); }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; margin: 10px 0; }
.card svg, .chart svg { max-width: 100%; height: auto; display: block; }
code { font: 13px ui-monospace, "Cascadia Mono", Consolas, monospace; background: #f0f2f4; padding: 1px 4px;
       border-radius: 3px; }
pre { background: #f0f2f4; padding: 8px 10px; overflow-x: auto; }
.tag { font-family: ui-monospace, Consolas, monospace; white-space: pre; }
ul.warnings li { color: var(--warn); }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 10px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 10px; }
.card.multiple, .card.pool-chart { margin: 0; padding: 6px 10px; min-width: 0; }
.card h3 { margin: 2px 0; font-size: 13px; display: flex; gap: 4px; align-items: baseline; }
.card p.owner { margin: 0; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.plotbox { position: relative; width: 100%; }
svg.plot { display: block; max-width: 100%; }
svg.plot .grid { stroke: #e3e7eb; stroke-width: 1; }
svg.plot .axis { font-size: 10px; fill: var(--muted); }
svg.plot .cursor { stroke: #888; stroke-dasharray: 3 3; }
svg.plot .brush { fill: rgba(46, 109, 164, 0.18); stroke: #2e6da4; }
#overview svg.plot { cursor: crosshair; }
.tip { position: absolute; top: 0; background: #fff; border: 1px solid var(--line); padding: 1px 6px;
       font-size: 12px; white-space: nowrap; pointer-events: none; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
button.close { margin-left: auto; border: none; background: none; cursor: pointer; font-size: 16px; }
.window p { margin: 2px 0 10px; }
#all-tags tbody tr, #owner-table tbody tr { cursor: pointer; }
#all-tags tbody tr:hover, #owner-table tbody tr:hover { background: #f3f6f9; }
table { max-width: 100%; display: block; overflow-x: auto; }
""".strip()


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


CSP = (
    "default-src 'none'; script-src '{script}'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def _cell(text: object, *, num: float | None = None, cls: str = "") -> str:
    classes = [c for c in (cls, "num" if num is not None else "") if c]
    attrs = f' class="{" ".join(classes)}"' if classes else ""
    if num is not None:
        attrs += f' data-v="{_e(num)}"'
    return f"<td{attrs}>{_e(text)}</td>"


def _table(
    headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]], *, sortable: bool = True, table_id: str = ""
) -> str:
    ident = f' id="{_e(table_id)}"' if table_id else ""
    cls = ' class="sortable"' if sortable else ""
    num_th = '<th class="num">'
    head = "".join(f"{num_th if num else '<th>'}{_e(h)}</th>" for h, num in headers)
    body = "\n".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    return f"<table{ident}{cls}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _growth(value: float | None) -> str:
    if not value:
        return ""
    return "grow" if value > 0 else "shrink"


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


#: Rows of the first -> last table written into the page; the table of every tag has them all.
DIFF_ROWS = 100


def render_html(report: Report, *, charts: bool = True) -> str:
    """The full HTML document."""
    parts: list[str] = []
    parts.append("<h1>poolscope report</h1>")
    parts.append(f'<p class="verdict {_e(report.level)}" id="verdict">{_e(report.verdict)}</p>')

    # What was read
    parts.append('<section id="read"><h2>What was read</h2><ul>')
    parts.extend(f"<li>{_e(line)}</li>" for line in read_summary(report))
    parts.append("</ul>")
    if report.inputs:
        parts.append(
            _table(
                [("File", False), ("Format", False), ("Encoding", False), ("Snapshots", True)],
                (
                    [_cell(i.name), _cell(i.format), _cell(i.encoding), _cell(i.snapshots, num=i.snapshots)]
                    for i in report.inputs
                ),
                table_id="inputs",
            )
        )
    if report.warnings:
        parts.append('<ul class="warnings">')
        parts.extend(f"<li>{_e(w)}</li>" for w in report.warnings[:50])
        if len(report.warnings) > 50:
            parts.append(f"<li>… and {len(report.warnings) - 50} more</li>")
        parts.append("</ul>")
    parts.append("</section>")

    # Suspects
    parts.append('<section id="suspects"><h2>Leak suspects</h2>')
    if report.suspects:
        parts.append(
            _table(
                [
                    ("Tag", False),
                    ("Pool", False),
                    ("Owner", False),
                    ("Verdict", False),
                    ("Rate", True),
                    ("Now", True),
                    ("Interval", False),
                ],
                (
                    [
                        _cell(s.tag, cls="tag"),
                        _cell(s.pool),
                        _cell(s.owner or "-"),
                        _cell(s.verdict, cls=f"v-{s.verdict}"),
                        _cell(
                            rate_text(s.rate_bytes_per_hour),
                            num=s.rate_bytes_per_hour or 0,
                            cls=_growth(s.rate_bytes_per_hour),
                        ),
                        _cell(format_size(s.bytes_last), num=_num(s.bytes_last)),
                        _cell(interval_text(s), cls="wrap"),
                    ]
                    for s in report.suspects
                ),
                table_id="suspect-table",
            )
        )
        for n, s in enumerate(report.suspects):
            parts.append(f'<div class="card suspect" id="suspect-{n}">')
            parts.append(
                f'<h3><span class="tag">{_e(s.tag)}</span> · {_e(s.pool)} · '
                f'<span class="v-{_e(s.verdict)}">{_e(s.verdict)}</span></h3>'
            )
            parts.append("<ul>")
            parts.append(f"<li>owner: {_e(s.owner or 'unknown')}</li>")
            rate = rate_text(s.rate_bytes_per_hour)
            if s.rate_low is not None and s.rate_high is not None:
                rate += f" ({rate_text(s.rate_low)} to {rate_text(s.rate_high)})"
            parts.append(f"<li>rate: {_e(rate)} over {_e(interval_text(s))}</li>")
            parts.append(f"<li>why: {_e(s.reason)}</li>")
            ex = exhaustion_text(s.exhaustion)
            if ex:
                cls = "" if "over a year" in ex else ' class="grow"'
                parts.append(f"<li{cls}>exhaustion: {_e(ex)}</li>")
            parts.append("</ul>")
            parts.append("</div>")
    else:
        parts.append("<p>None.</p>")
        largest = report.largest
        if largest:
            parts.append("<p>Largest consumers in the last snapshot:</p>")
            parts.append(
                _table(
                    [("Tag", False), ("Pool", False), ("Bytes", True), ("Allocs", True), ("Owner", False)],
                    (
                        [
                            _cell(r.tag, cls="tag"),
                            _cell(r.pool),
                            _cell(format_size(r.bytes), num=_num(r.bytes)),
                            _cell("-" if r.outstanding is None else r.outstanding, num=_num(r.outstanding)),
                            _cell(r.owner or "-"),
                        ]
                        for r in largest
                    ),
                    table_id="largest",
                )
            )
    parts.append("</section>")

    if charts and (report.suspects or report.diff_rows):
        parts.append(
            '<section id="charts"><h2>Over time</h2>'
            '<p class="muted">Every suspect and the tags that moved most, one chart each with its own axis. '
            "Hover a chart for its values; drag across the strip below to look at a time window "
            '(double-click it or press "whole capture" to go back).</p>'
            '<div class="window"><div id="overview" class="plotbox"></div>'
            '<p>Showing <span id="window-label">the whole capture</span> '
            '<button type="button" id="window-reset">whole capture</button></p></div>'
            '<div id="multiples" class="grid"></div></section>'
        )

    # Pool totals
    if report.totals:
        parts.append('<section id="totals"><h2>Pool totals</h2>')
        if charts:
            parts.append('<div id="pool-charts" class="grid2"></div>')
        rows = []
        for p in report.totals:
            change = None if p.first_kb is None or p.last_kb is None else p.last_kb - p.first_kb
            rows.append(
                [
                    _cell(p.pool),
                    _cell(kb_text(p.first_kb), num=p.first_kb),
                    _cell(kb_text(p.last_kb), num=p.last_kb),
                    _cell(
                        "-" if change is None else format_size(change * 1024, signed=True),
                        num=change,
                        cls=_growth(change),
                    ),
                    _cell(kb_text(p.peak_kb), num=p.peak_kb),
                    _cell(p.basis),
                ]
            )
        parts.append(
            _table(
                [("Pool", False), ("First", True), ("Last", True), ("Change", True), ("Peak", True), ("From", False)],
                rows,
                table_id="totals-table",
            )
        )
        parts.append("</section>")

    # Diff
    if report.diff_rows:
        parts.append('<section id="diff"><h2>First → last snapshot</h2>')
        shown_rows = report.diff_rows[:DIFF_ROWS]
        more = (f" The {len(shown_rows)} largest changes are listed; the table of every tag below has the rest."
                if len(report.diff_rows) > len(shown_rows) else "")
        parts.append(
            f"<p>{_e(report.diff_before)} → {_e(report.diff_after)}; "
            f"{len(report.diff_rows)} rows changed. Click a heading to sort.{_e(more)}</p>"
        )
        parts.append(
            _table(
                list(DIFF_HEADINGS),
                (
                    [
                        _cell(r.tag, cls="tag"),
                        _cell(r.pool),
                        _cell(format_size(r.bytes_before), num=_num(r.bytes_before)),
                        _cell(format_size(r.bytes_after), num=_num(r.bytes_after)),
                        _cell(
                            format_size(r.bytes_change, signed=True),
                            num=_num(r.bytes_change),
                            cls=_growth(r.bytes_change),
                        ),
                        _cell(pct_text(r.percent_change), num=_num(r.percent_change)),
                        _cell(r.status),
                        _cell(report.owners.get((r.tag, r.pool)) or "-"),
                    ]
                    for r in shown_rows
                ),
                table_id="diff-table",
            )
        )
        parts.append("</section>")

    # Next steps
    parts.append('<section id="next"><h2>Next steps</h2><ol>')
    for step in report.next_steps:
        cmd = f"<pre><code>{_e(step.command)}</code></pre>" if step.command else ""
        parts.append(f"<li>{_e(step.text)}{cmd}</li>")
    parts.append("</ol></section>")

    # Owners and every tag: drawn by the script from the embedded data (thousands of rows).
    if report.trend_rows:
        parts.append(
            '<section id="owners"><h2>By owner</h2>'
            '<p class="muted">Tags grouped by the driver or component that owns them; click an owner to list '
            "its tags below.</p>"
            '<table id="owner-table"><thead><tr><th>Owner</th><th class="num">Tags</th><th>Worst verdict</th>'
            '<th class="num">Bytes now</th><th class="num">Change</th></tr></thead><tbody></tbody></table>'
            "</section>"
        )
        parts.append(
            f'<section id="trend"><h2>Every tag</h2><p class="muted">{len(report.trend_rows)} series with their '
            "verdicts. Click a row to chart it; filter by tag, owner or verdict; click a heading to sort.</p>"
            '<p><input id="tag-filter" type="search" placeholder="filter: tag, owner, verdict" '
            'aria-label="filter the table"> <span id="tag-count"></span></p>'
            '<div id="picked" class="grid"></div>'
            '<table id="all-tags"><thead><tr><th>Tag</th><th>Pool</th><th>Verdict</th><th class="num">Rate</th>'
            '<th class="num">Bytes</th><th class="num">Change</th><th>Owner</th><th>Reason</th></tr></thead>'
            "<tbody></tbody></table>"
            "<noscript><p>The table of every tag and the charts need JavaScript; the JSON report "
            "(--format json) has the same figures.</p></noscript></section>"
        )

    parts.append("<footer>Made by poolscope. Self-contained: no network access needed to view.</footer>")
    body = "\n".join(parts)
    data_block = (f'<script type="application/json" id="chart-data">{script_json(chart_document(report))}</script>\n'
                  if charts else "")
    csp = CSP.format(script=_hash(_SCRIPT))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<link rel="icon" href="data:,">\n'
        "<title>poolscope report</title>\n"
        f"<style>\n{_CSS}\n</style>\n</head>\n<body>\n{body}\n"
        f"{data_block}<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


__all__ = ["CSP", "render_html"]
