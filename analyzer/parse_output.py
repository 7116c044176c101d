"""What ``poolscope parse`` prints: the JSON contract, one CSV line per row, or a summary table.

Kept apart from the click command so scripts can produce the same output from a
:class:`parsers.ParseResult` they already hold.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import click

from parsers import ParseResult, Snapshot
from parsers.model import MISSING, POOLS

from .options import InputOptions
from .render import Column, render_json, render_table
from .units import format_size

Owners = Callable[[str], str | None]

#: CSV columns: where the row came from, then the row in contract order.
CSV_COLUMNS: tuple[str, ...] = (
    "source",
    "index",
    "timestamp",
    "time_origin",
    "scope",
    "format",
    "tag",
    "pool",
    "allocs",
    "frees",
    "outstanding",
    "bytes",
    "allocs_change",
    "frees_change",
    "bytes_change",
    "per_alloc",
    "mapped_driver",
    "owner",
)


def resolve_owners(result: ParseResult, inputs: InputOptions) -> Any:
    """The owner resolver for these inputs; its warnings (unreadable tag-file lines) go to stderr."""
    from .owners import build_resolver

    resolver = build_resolver(inputs.tags, result.snapshots, errors=inputs.errors)
    for warning in resolver.warnings:
        click.echo(f"warning: {warning}", err=True)
    return resolver


def to_json(result: ParseResult, owners: Owners | None = None) -> str:
    return render_json(result.to_dict(owners))


def to_csv(result: ParseResult, owners: Owners | None = None) -> str:
    """One line per row of every snapshot; empty cells where the source is silent."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    cache: dict[str, str | None] = {}
    for snap in result.snapshots:
        writer.writerows(_csv_rows(snap, owners, cache))
    return buf.getvalue()


def _csv_rows(snap: Snapshot, owners: Owners | None, cache: dict[str, str | None]) -> Any:
    rows = snap.rows
    head = [
        snap.source,
        snap.index,
        snap.timestamp.isoformat() if snap.timestamp else "",
        snap.time_origin.value,
        snap.scope,
        snap.format,
    ]
    # Plain lists: one tolist() per column beats numpy scalar access per cell.
    cols = {name: rows.column(name).tolist() for name in (
        "allocs", "frees", "outstanding", "bytes", "allocs_change", "frees_change", "bytes_change")}
    drivers = rows.mapped_driver
    pools = rows.pool_codes.tolist()
    for i, tag in enumerate(rows.tags):
        if owners is not None:
            if tag not in cache:
                cache[tag] = owners(tag)
            owner = cache[tag]
        else:
            owner = None
        values = [cols[name][i] for name in cols]
        out, nbytes = values[2], values[3]
        per = nbytes // out if out not in (MISSING, 0) and nbytes != MISSING else MISSING
        yield [
            *head,
            tag,
            POOLS[pools[i]],
            *("" if v == MISSING else v for v in values),
            "" if per == MISSING else per,
            (drivers[i] or "") if drivers is not None else "",
            owner or "",
        ]


SUMMARY_COLUMNS = (
    Column("index", "#", numeric=True),
    Column("source", "Source"),
    Column("timestamp", "Timestamp"),
    Column("time_origin", "From"),
    Column("scope", "Scope"),
    Column("format", "Format"),
    Column("rows", "Rows", numeric=True),
    Column("nonpaged", "Nonpaged", numeric=True, fmt=format_size),
    Column("paged", "Paged", numeric=True, fmt=format_size),
)


def summary_rows(result: ParseResult) -> list[dict[str, Any]]:
    """One line per snapshot: where it came from, when, and how much each pool holds in its rows."""
    out = []
    for pos, snap in enumerate(result.snapshots):
        nbytes = snap.rows.column("bytes")
        known = nbytes != MISSING
        pools = snap.rows.pool_codes
        out.append(
            {
                "index": pos,
                "source": snap.label if len(result.sources) > 1 else snap.source,
                "timestamp": f"{snap.timestamp:%Y-%m-%d %H:%M:%S}" if snap.timestamp else "-",
                "time_origin": snap.time_origin.value,
                "scope": snap.scope,
                "format": snap.format,
                "rows": len(snap.rows),
                "nonpaged": int(nbytes[known & (pools == 0)].sum()) if len(snap.rows) else 0,
                "paged": int(nbytes[known & (pools == 1)].sum()) if len(snap.rows) else 0,
            }
        )
    return out


def to_table(result: ParseResult, width: int | None = None) -> str:
    """A readable summary: one line per snapshot, then the sources and their formats."""
    n = len(result.snapshots)
    m = len(result.sources)
    title = f"{n} snapshot{'s' if n != 1 else ''} from {m} source{'s' if m != 1 else ''}"
    # Wide enough that rich never shortens a file name; lines are right-trimmed anyway.
    text = render_table(summary_rows(result), SUMMARY_COLUMNS, title=title, width=width or 1000)
    lines = [text.rstrip("\n"), ""]
    for info in result.sources:
        lines.append(f"{info.name}: {info.format}, {info.encoding}, {info.snapshots} snapshot"
                     f"{'s' if info.snapshots != 1 else ''}")
    return "\n".join(lines) + "\n"
