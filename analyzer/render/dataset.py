"""Snapshots as Arrow row tables and Parquet files: ``parse --format parquet`` and ``fleet ingest``.

The schema is :mod:`parsers.dataset`'s (one row per snapshot, tag and pool, with the host,
the owner, the driver binary and its version beside the numbers).  Tables are built from the
snapshots' numpy columns without a Python loop over rows, and written a chunk of snapshots at
a time, so memory stays bounded by the chunk whatever the size of the input.

``fleet ingest`` lays a dataset out as ``DATASET/host=<host>/day=<YYYY-MM-DD>/part-*.parquet``
(names percent-encoded); ``host`` and ``day`` are also columns of every file, so a file read on
its own still says where its rows came from.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.owners import OwnerResolver, build_resolver
from analyzer.render.parse_output import snapshot_chunks
from parsers import ParseResult, ParseWarning, Snapshot, parse
from parsers.dataset import require, schema
from parsers.errors import ErrorLevel, InputError, PoolscopeError
from parsers.model import MISSING, NUMERIC_COLUMNS, TOTAL_KEYS

#: A host folder may hold this file: {"host": ..., "os": ..., "drivers": {"abc.sys": "2.4.1"}}.
HOST_FILE = "host.json"

#: Rows per Parquet write (one row group each).
CHUNK_ROWS = 1 << 17


@dataclass(frozen=True)
class HostInfo:
    """What is known about the machine a table's rows came from."""

    host: str | None = None
    os: str | None = None
    #: driver binary (lower case) -> file version, from host.json or capture metadata.
    drivers: dict[str, str] = field(default_factory=dict)

    def version(self, binary: str | None) -> str | None:
        if not binary:
            return None
        name = binary.lower()
        return self.drivers.get(name) or self.drivers.get(name.rsplit("\\", 1)[-1])


def host_info_from(snapshots: Sequence[Snapshot], base: HostInfo | None = None) -> HostInfo:
    """``base`` completed with the capture metadata of ``snapshots`` (host, os, drivers)."""
    base = base or HostInfo()
    host, os_name, drivers = base.host, base.os, dict(base.drivers)
    for snap in snapshots:
        extra = snap.extra
        host = host or _text(extra.get("host"))
        os_name = os_name or _text(extra.get("os"))
        found = extra.get("drivers")
        if isinstance(found, dict):
            for name, version in found.items():
                drivers.setdefault(str(name).lower(), str(version))
    return HostInfo(host, os_name, drivers)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def row_table(snapshots: Sequence[Snapshot], owners: OwnerResolver | Callable[[str], str | None] | None = None,
              info: HostInfo | None = None) -> Any:
    """One Arrow table (the row schema) for ``snapshots``; owners and versions looked up once per tag.

    A snapshot with no rows (a screen of headings only) still gets one row: its header fields
    with a null tag and pool, so that its time, host and totals are kept (``parsers.dataset``).
    """
    pa = require("pyarrow")
    info = info or HostInfo()
    sch = schema()
    lengths = np.array([len(s.rows) for s in snapshots], dtype=np.int64)
    counts = np.maximum(lengths, 1)
    n = int(counts.sum())
    which = pa.array(np.repeat(np.arange(len(snapshots)), counts))
    # Positions of the placeholder rows of row-less snapshots (their tag, pool and numbers are null).
    empty = lengths == 0
    placeholder = np.zeros(n, dtype=bool)
    if empty.any():
        placeholder[(np.cumsum(counts) - counts)[empty]] = True

    def per_snapshot(values: list[Any], typ: Any) -> Any:
        return pa.array(values, type=typ).take(which)

    def with_placeholders(parts: list[np.ndarray], filler: Any) -> np.ndarray:
        if not empty.any():
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return np.concatenate([p if len(p) else np.array([filler], dtype=p.dtype) for p in parts])

    stamps = [s.timestamp for s in snapshots]
    wall = [t.replace(tzinfo=None) if t is not None else None for t in stamps]
    zones = [t.utcoffset() if t is not None else None for t in stamps]
    offsets = [int(z.total_seconds()) if z is not None else None for z in zones]
    cols: dict[str, Any] = {
        "host": pa.repeat(pa.scalar(info.host, pa.string()), n),
        "day": per_snapshot([f"{t:%Y-%m-%d}" if t is not None else None for t in wall], pa.string()),
        "os": pa.repeat(pa.scalar(info.os, pa.string()), n),
        "source": per_snapshot([s.source for s in snapshots], pa.string()),
        "index": per_snapshot([s.index for s in snapshots], pa.int32()),
        "timestamp": per_snapshot(wall, pa.timestamp("us")),
        "utc_offset_s": per_snapshot(offsets, pa.int32()),
        "time_origin": per_snapshot([s.time_origin.value for s in snapshots], pa.string()),
        "scope": per_snapshot([s.scope for s in snapshots], pa.string()),
        "format": per_snapshot([s.format for s in snapshots], pa.string()),
    }
    tags: list[str | None] = []
    mapped: list[str | None] = []
    for snap in snapshots:
        if not len(snap.rows):
            tags.append(None)
            mapped.append(None)
            continue
        tags.extend(snap.rows.tags)
        md = snap.rows.mapped_driver
        mapped.extend(md if md is not None else [None] * len(snap.rows))
    tag_array = pa.array(tags, type=pa.string())
    cols["tag"] = tag_array
    codes = with_placeholders([s.rows.pool_codes for s in snapshots], 0)
    pool_mask = placeholder if empty.any() else None
    cols["pool"] = pa.array(["nonpaged", "paged"]).take(pa.array(codes, mask=pool_mask))
    for name in NUMERIC_COLUMNS:
        col = with_placeholders([s.rows.column(name) for s in snapshots], MISSING)
        unknown = col == MISSING
        cols[name] = pa.array(col, type=pa.int64(), mask=unknown if unknown.any() else None)
    cols["mapped_driver"] = pa.array(mapped, type=pa.string())
    encoded = tag_array.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    best = getattr(owners, "best", owners)
    binary_of = getattr(owners, "binary", None)
    owner_texts = [best(t) if best is not None else None for t in distinct]
    binaries = [binary_of(t) if binary_of is not None else None for t in distinct]
    cols["owner"] = pa.array(owner_texts, type=pa.string()).take(encoded.indices)
    cols["binary"] = pa.array(binaries, type=pa.string()).take(encoded.indices)
    cols["driver_version"] = pa.array([info.version(b) for b in binaries], type=pa.string()).take(encoded.indices)
    for key in TOTAL_KEYS:
        cols[key] = per_snapshot([s.totals.get(key) for s in snapshots], pa.int64())
    others = [{k: v for k, v in s.totals.items() if k not in TOTAL_KEYS} for s in snapshots]
    cols["other_totals"] = per_snapshot([json.dumps(o, sort_keys=True) if o else None for o in others], pa.string())
    return pa.table([cols[f.name] for f in sch], schema=sch)


def write_parquet(result: ParseResult | Sequence[Snapshot], out: Any, owners: Any = None,
                  info: HostInfo | None = None) -> int:
    """Write the row table of every snapshot to ``out`` (a path or a binary file); returns the rows written."""
    snaps = result.snapshots if isinstance(result, ParseResult) else list(result)
    return write_parquet_rows(snaps, out, owners, host_info_from(snaps, info))


def write_parquet_rows(snapshots: Iterable[Snapshot], out: Any, owners: Any, info: HostInfo) -> int:
    """:func:`write_parquet` with the host fields given: snapshots are read once, a chunk at a time."""
    pq = require("pyarrow.parquet")
    written = 0
    with pq.ParquetWriter(out, schema(), compression="zstd") as writer:
        for chunk in snapshot_chunks(snapshots, CHUNK_ROWS):
            table = row_table(chunk, owners, info)
            writer.write_table(table)
            written += table.num_rows
    return written


# -- fleet ingest ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostInputs:
    """One machine's input files, and its host.json if it has one."""

    host: str
    paths: tuple[str, ...]
    meta: str | None = None


@dataclass
class HostIngest:
    host: str
    snapshots: int
    rows: int
    files: int
    warnings: list[ParseWarning] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "snapshots": self.snapshots, "rows": self.rows, "files": self.files,
                "warnings": [w.to_dict() for w in self.warnings], "error": self.error}


@dataclass
class IngestResult:
    dataset: str
    hosts: list[HostIngest]

    @property
    def rows(self) -> int:
        return sum(h.rows for h in self.hosts)

    @property
    def snapshots(self) -> int:
        return sum(h.snapshots for h in self.hosts)

    @property
    def failed(self) -> list[HostIngest]:
        return [h for h in self.hosts if h.error]

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "hosts": [h.to_dict() for h in self.hosts]}


def discover_hosts(dirs: Sequence[str | os.PathLike[str]], host_from: str | None = None) -> list[HostInputs]:
    """Group input files by machine.

    Without ``host_from``: each sub-folder of a DIR is one host (its name), each file directly
    in a DIR is one host (its name up to the first dot).  With ``host_from`` (a regular
    expression searched in each file's path relative to its DIR, ``/``-separated): its group
    ``host`` (or its first group, or the whole match) names the host.
    """
    pattern = None
    if host_from is not None:
        try:
            pattern = re.compile(host_from)
        except re.error as exc:
            raise PoolscopeError(f"--host-from: not a regular expression: {exc}") from None
    groups: dict[str, list[str]] = {}
    metas: dict[str, str] = {}
    for top in dirs:
        root = Path(top)
        if not root.is_dir():
            raise InputError(str(top), "not a folder")
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        for path in files:
            rel = path.relative_to(root).as_posix()
            if pattern is not None:
                m = pattern.search(rel)
                if m is None:
                    continue
                host = m.groupdict().get("host") or (m.group(1) if m.groups() else m.group(0))
            else:
                first = rel.split("/", 1)[0]
                host = first if "/" in rel else first.split(".", 1)[0]
            if not host:
                continue
            if path.name == HOST_FILE:
                metas[host] = str(path)
            else:
                groups.setdefault(host, []).append(str(path))
    if not groups:
        raise InputError(", ".join(map(str, dirs)), "no input files found for any host")
    return [HostInputs(h, tuple(groups[h]), metas.get(h)) for h in sorted(groups)]


def read_host_file(path: str) -> HostInfo:
    """host.json: a clear one-line error naming file and line when it is not the expected object."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not JSON: {exc.msg}", exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a JSON object with host, os and drivers", 1)
    drivers = data.get("drivers") or {}
    if not isinstance(drivers, dict):
        raise InputError(path, "drivers must map a driver file name to its version", 1)
    return HostInfo(_text(data.get("host")), _text(data.get("os")),
                    {str(k).lower(): str(v) for k, v in drivers.items()})


def partition_dir(dataset: Path, host: str, day: str | None) -> Path:
    quote = urllib.parse.quote
    return dataset / f"host={quote(host, safe='')}" / f"day={quote(day, safe='') if day else 'unknown'}"


_BASE: dict[tuple[Any, ...], OwnerResolver] = {}


def _base_resolver(tag_files: tuple[str, ...], use_defaults: bool) -> OwnerResolver:
    """Tag files read once per process, then shared by every host it ingests."""
    key = (tag_files, use_defaults)
    if key not in _BASE:
        _BASE[key] = build_resolver(tag_files, (), use_defaults=use_defaults)
    return _BASE[key]


def ingest_host(item: HostInputs, dataset: str, tag_files: tuple[str, ...] = (), use_defaults: bool = True,
                interval: Any = None, strict: bool = False) -> HostIngest:
    """Parse one host's inputs and write its rows, one Parquet file per day."""
    pc = require("pyarrow.compute")
    pq = require("pyarrow.parquet")
    try:
        base = read_host_file(item.meta) if item.meta else HostInfo()
        result = parse(list(item.paths), interval=interval, errors=ErrorLevel.RAISE if strict else ErrorLevel.WARN)
    except PoolscopeError as exc:
        return HostIngest(item.host, 0, 0, len(item.paths), error=str(exc))
    info = host_info_from(result.snapshots, HostInfo(item.host, base.os, base.drivers))
    owners = _base_resolver(tag_files, use_defaults).with_inputs(result.snapshots)
    table = row_table(result.snapshots, owners, info)
    root = Path(dataset)
    days = table["day"].unique().to_pylist() if table.num_rows else []
    for day in days:
        part = table.filter(pc.is_null(table["day"]) if day is None else pc.equal(table["day"], day))
        target = partition_dir(root, item.host, day)
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, target / f"part-{uuid.uuid4().hex[:12]}.parquet", compression="zstd",
                       row_group_size=CHUNK_ROWS)
    rows = sum(len(s.rows) for s in result.snapshots)
    return HostIngest(item.host, len(result.snapshots), rows, len(item.paths), result.warnings)


def _ingest_batch(batch: list[HostInputs], dataset: str, tag_files: tuple[str, ...], use_defaults: bool,
                  interval: Any, strict: bool) -> list[HostIngest]:
    return [ingest_host(item, dataset, tag_files, use_defaults, interval, strict) for item in batch]


def ingest(dirs: Sequence[str | os.PathLike[str]], dataset: str | os.PathLike[str], *, host_from: str | None = None,
           tag_files: Iterable[str] = (), use_defaults: bool = True, interval: Any = None, strict: bool = False,
           jobs: int | None = None, append: bool = False) -> IngestResult:
    """``poolscope fleet ingest``: every host's inputs into one Parquet dataset, hosts in parallel."""
    require("pyarrow")
    root = Path(dataset)
    if root.exists() and not root.is_dir():
        raise PoolscopeError(f"{root}: exists and is not a folder")
    if root.exists() and any(root.iterdir()) and not append:
        raise PoolscopeError(f"{root}: folder is not empty (add --append to add hosts to an existing dataset)")
    hosts = discover_hosts(dirs, host_from)
    root.mkdir(parents=True, exist_ok=True)
    tags = tuple(str(t) for t in tag_files)
    for t in tags:
        if not Path(t).is_file():
            raise InputError(t, "tag file not found")
    jobs = max(1, jobs or os.cpu_count() or 1)
    done: list[HostIngest] = []
    if jobs == 1 or len(hosts) == 1:
        done = _ingest_batch(hosts, str(root), tags, use_defaults, interval, strict)
    else:
        size = max(1, len(hosts) // (jobs * 8))
        batches = [hosts[i: i + size] for i in range(0, len(hosts), size)]
        with ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(_ingest_batch, b, str(root), tags, use_defaults, interval, strict)
                       for b in batches]
            for future in futures:
                done.extend(future.result())
    return IngestResult(str(root), done)
