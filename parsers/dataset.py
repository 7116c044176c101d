"""The columnar row schema shared by ``parse --format parquet`` and ``fleet ingest`` datasets.

One Arrow/Parquet row per (snapshot, tag, pool), with the snapshot's header fields and the
row's owner evidence repeated beside it (Parquet's dictionary and run-length encoding make
the repetition nearly free).  Reading a table back gives the same :class:`Snapshot` objects
every analysis takes, so a dataset is just another input.  pyarrow is the optional ``fleet``
extra: it is imported when a function here is called, never on import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from .errors import PoolscopeError
from .model import MISSING, NUMERIC_COLUMNS, TOTAL_KEYS, RowTable, Snapshot, TimeOrigin

#: Version of the row schema, stored in each file's metadata.
SCHEMA_VERSION = "2"  # 2: a snapshot with no rows is kept as one row with a null tag and pool

#: Text columns about the machine and the owner of each row (null when unknown).
HOST_COLUMNS: tuple[str, ...] = ("host", "day", "os")
OWNER_COLUMNS: tuple[str, ...] = ("mapped_driver", "owner", "binary", "driver_version")

#: Every column, in file order.
COLUMNS: tuple[str, ...] = (
    *HOST_COLUMNS,
    "source",
    "index",
    "timestamp",
    "utc_offset_s",
    "time_origin",
    "scope",
    "format",
    "tag",
    "pool",
    *NUMERIC_COLUMNS,
    *OWNER_COLUMNS,
    *TOTAL_KEYS,
    "other_totals",
)

#: Columns a reader does without (added after the first files were written).
OPTIONAL_COLUMNS: frozenset[str] = frozenset({"other_totals"})

FLEET_EXTRA_HINT = "pip install 'poolscope[fleet]'"


class MissingExtra(PoolscopeError):
    """An optional dependency is not installed: one line naming the extra that brings it."""


def require(module: str) -> Any:
    """Import ``module`` (pyarrow, duckdb, dask.distributed) or raise :class:`MissingExtra`."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingExtra(f"{top} is not installed; it comes with the optional 'fleet' extra: "
                           f"{FLEET_EXTRA_HINT}") from None


def schema() -> Any:
    """The Arrow schema of the row table."""
    pa = require("pyarrow")
    fields = [pa.field(name, pa.string()) for name in HOST_COLUMNS]
    fields += [
        pa.field("source", pa.string(), nullable=False),
        pa.field("index", pa.int32(), nullable=False),
        pa.field("timestamp", pa.timestamp("us")),
        pa.field("utc_offset_s", pa.int32()),
        pa.field("time_origin", pa.string(), nullable=False),
        pa.field("scope", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        # Null in the one row that stands for a snapshot with no rows (its header fields only).
        pa.field("tag", pa.string()),
        pa.field("pool", pa.string()),
    ]
    fields += [pa.field(name, pa.int64()) for name in NUMERIC_COLUMNS]
    fields += [pa.field(name, pa.string()) for name in OWNER_COLUMNS]
    fields += [pa.field(name, pa.int64()) for name in TOTAL_KEYS]
    # Format-specific header figures (slab_reclaimable_kb, ...) as one JSON object, null when none.
    fields += [pa.field("other_totals", pa.string())]
    return pa.schema(fields, metadata={"poolscope_rows": SCHEMA_VERSION})


def check_schema(found: Any, where: str) -> None:
    """Refuse a file that is not a poolscope row table (one line naming the file)."""
    missing = [name for name in COLUMNS if name not in found.names and name not in OPTIONAL_COLUMNS]
    if missing:
        raise PoolscopeError(f"{where}: not a poolscope row table (no column {missing[0]!r})")


def _wall_clock(stamp: datetime | None) -> tuple[datetime | None, int | None]:
    if stamp is None:
        return None, None
    offset = stamp.utcoffset()
    if offset is None:
        return stamp, None
    return stamp.replace(tzinfo=None), int(offset.total_seconds())


def snapshots_from_table(table: Any) -> Iterator[Snapshot]:
    """Snapshots of a row table, in order of first appearance of each (source, index).

    A snapshot that had no rows is one row with a null tag: it comes back with no rows.
    Columns are converted once for the whole table and sliced per snapshot in numpy.
    """
    pa = require("pyarrow")
    pc = require("pyarrow.compute")
    if table.num_rows == 0:
        return
    check_schema(table.schema, "row table")
    keys = pc.binary_join_element_wise(table["source"], table["index"].cast(pa.string()), "\x00")
    codes = np.asarray(pc.dictionary_encode(keys).combine_chunks().indices.to_numpy(zero_copy_only=False))
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    groups = sorted(np.split(order, bounds), key=lambda g: int(g[0]))
    tags = table["tag"].to_pylist()
    mapped = table["mapped_driver"].to_pylist()
    pools = (np.asarray(table["pool"].to_numpy(zero_copy_only=False)) == "paged").astype(np.uint8)
    numbers = {n: np.asarray(table[n].fill_null(MISSING).to_numpy(), dtype=np.int64) for n in NUMERIC_COLUMNS}
    heads = ("source", "index", "timestamp", "utc_offset_s", "time_origin", "scope", "format", *HOST_COLUMNS,
             *TOTAL_KEYS, "other_totals")
    firsts = np.array([int(g[0]) for g in groups])
    head = {name: table[name].take(pa.array(firsts)).to_pylist() if name in table.schema.names
            else [None] * len(firsts) for name in heads}
    placeholder = np.asarray(table["tag"].is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if placeholder.any():
        groups = [g[~placeholder[g]] for g in groups]
    for i, rows in enumerate(groups):
        if not len(rows):
            yield _snapshot({name: head[name][i] for name in heads}, RowTable.empty())
            continue
        contiguous = int(rows[-1]) - int(rows[0]) + 1 == len(rows)
        sel: Any = slice(int(rows[0]), int(rows[-1]) + 1) if contiguous else rows
        if contiguous:
            row_tags, row_mapped = tags[sel], mapped[sel]
        else:
            row_tags, row_mapped = [tags[j] for j in rows], [mapped[j] for j in rows]
        yield _snapshot({name: head[name][i] for name in heads}, RowTable(
            row_tags, pools[sel], {n: col[sel] for n, col in numbers.items()}, row_mapped))


def _snapshot(first: dict[str, Any], rows: RowTable) -> Snapshot:
    stamp = first["timestamp"]
    if stamp is not None and first["utc_offset_s"] is not None:
        stamp = stamp.replace(tzinfo=timezone(timedelta(seconds=first["utc_offset_s"])))
    extra = {k: first[k] for k in ("host", "os") if first[k] is not None}
    return Snapshot(
        source=first["source"],
        index=first["index"],
        format=first["format"],
        rows=rows,
        timestamp=stamp,
        time_origin=TimeOrigin(first["time_origin"]),
        scope=first["scope"],
        totals={k: first[k] for k in TOTAL_KEYS if first[k] is not None} | (
            json.loads(first["other_totals"]) if first["other_totals"] else {}),
        extra=extra,
    )
