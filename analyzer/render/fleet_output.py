"""Table, CSV, JSON, Markdown and HTML for ``poolscope fleet analyze`` and ``fleet ingest``.

Tags, owners, host names and versions come from the fleet's own files: untrusted text.
HTML goes through :func:`html.escape` only, with a policy that allows no script and no
network; Markdown and table cells go through the shared renderers' escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from analyzer.analysis.fleet import GROUPINGS, FleetResult, FleetRow
from analyzer.render.dataset import IngestResult
from analyzer.render.safe import markdown_text
from analyzer.render.tables import Column, render_csv, render_json, render_markdown, render_table
from analyzer.units import format_size


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{format_size(value, signed=True)}/h"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _share(row: FleetRow) -> str:
    return f"{100 * row.share:.1f} %"


_KEYS = {
    "tag": Column("tag", "Tag"),
    "pool": Column("pool", "Pool"),
    "owner": Column("owner", "Owner"),
    "binary": Column("binary", "Driver"),
    "driver_version": Column("driver_version", "Version"),
}
_COUNTS = (
    Column("hosts_leak", "Leak hosts", numeric=True),
    Column("hosts_suspect", "Suspect", numeric=True),
    Column("hosts_seen", "Seen on", numeric=True),
)
_RATES = (
    Column("rate_median", "Median rate", numeric=True, fmt=_rate),
    Column("rate_p90", "p90 rate", numeric=True, fmt=_rate),
    Column("first_seen", "First seen", fmt=_when),
)

#: Raw-value columns of CSV, in order (every grouping: keys outside it are empty).
CSV_COLUMNS = (
    *(_KEYS[k] for k in ("tag", "pool", "owner", "binary", "driver_version")),
    *_COUNTS,
    Column("share", "Share"),
    Column("tags", "Tags"),
    Column("rate_min", "rate_min"),
    Column("rate_median", "rate_median"),
    Column("rate_p90", "rate_p90"),
    Column("rate_max", "rate_max"),
    Column("first_seen", "first_seen"),
)


def columns_for(by: str) -> list[Column]:
    """The human columns of a grouping: its keys, host counts, share, rates, first seen."""
    keys = [_KEYS[k] for k in GROUPINGS[by] if not (by == "tag" and k == "owner")]
    extra = [Column("tags", "Tags", numeric=True)] if by != "tag" else []
    share = Column("share_text", "Share")
    return [*keys, *_COUNTS, share, *extra, *_RATES]


def _display(rows: Sequence[FleetRow]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        d = {k: getattr(r, k) for k in ("tag", "pool", "owner", "binary", "driver_version", "hosts_leak",
                                          "hosts_suspect", "hosts_seen", "tags", "rate_median", "rate_p90",
                                          "first_seen")}
        d["share_text"] = _share(r)
        out.append(d)
    return out


def _headline(result: FleetResult) -> str:
    counts = ", ".join(f"{n} {v}" for v, n in result.verdicts.items()) or "no series"
    return f"{result.hosts} hosts, {result.series} series ({counts}); by {result.by}"


def render_fleet(result: FleetResult, fmt: str = "table", width: int | None = None) -> str:
    if fmt == "json":
        return render_json(result.to_dict())
    if fmt == "csv":
        return render_csv([{**r.to_dict()} for r in result.rows], CSV_COLUMNS)
    rows = _display(result.rows)
    cols = columns_for(result.by)
    failures = "".join(f"failed: {f}\n" for f in result.failures)
    if fmt == "markdown":
        return f"**{_headline(result)}**\n\n" + render_markdown(rows, cols) + "".join(
            f"failed: {markdown_text(str(f))}\n" for f in result.failures)
    if fmt == "html":
        return render_html(result)
    if not rows:
        return _headline(result) + "\nno tag leaks or is suspect on any host\n" + failures
    return render_table(rows, cols, title=_headline(result), width=width or 160) + failures


#: No script, no network, no frames: the page is a table.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.leak td { background: #fde8e8; }
"""


def render_html(result: FleetResult) -> str:
    """One self-contained page: the headline, the fleet table, and the hosts that failed."""
    cols = columns_for(result.by)
    head = "".join(f'<th class="{"n" if c.numeric else ""}">{escape(c.header)}</th>' for c in cols)
    body = []
    for row, shown in zip(result.rows, _display(result.rows), strict=True):
        cells = "".join(f'<td class="{"n" if c.numeric else ""}">{escape(c.text(shown.get(c.key)))}</td>'
                        for c in cols)
        body.append(f'<tr class="{"leak" if row.hosts_leak else ""}">{cells}</tr>')
    fails = "".join(f"<li>{escape(str(f))}</li>" for f in result.failures)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">\n'
        "<title>poolscope fleet</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>Fleet leaks</h1>\n<p>{escape(_headline(result))}</p>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"
        + (f"<h2>Hosts that could not be analysed</h2>\n<ul>{fails}</ul>\n" if fails else "")
        + "</body>\n</html>\n"
    )


def render_ingest(result: IngestResult) -> str:
    """What ``fleet ingest`` wrote, one line, then one line per host that failed."""
    ok = len(result.hosts) - len(result.failed)
    lines = [f"{result.dataset}: {ok} hosts, {result.snapshots} snapshots, {result.rows} rows written"]
    lines.extend(f"failed: {h.host}: {h.error}" for h in result.failed)
    return "\n".join(lines) + "\n"
