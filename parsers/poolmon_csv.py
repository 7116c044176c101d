"""What the PowerShell ports of PoolMon write: CSV (``Export-Csv``) and a key=value log form.

The ports read the same kernel counters as PoolMon and print one record per tag with both
pools side by side::

    "DateTime","DateTimeUTC","Tag","PagedAllocs","PagedFrees","PagedDiff","PagedUsedBytes",
    "NonPagedAllocs","NonPagedFrees","NonPagedDiff","NonPagedUsedBytes","TotalUsedBytes"[,"Binary","Description"]

People run them in a loop: one file per sample with the time in its name, or records appended
to one file (``ConvertTo-Csv | Select -Skip 1 >> log``: no header at all, UTF-16LE from Windows
PowerShell's ``>>``).  The log form writes ``Name="value"`` pairs on one line per record.
Each distinct ``DateTime`` starts a snapshot; each record becomes a nonpaged and a paged row
(a pool the tag never used is left out, as PoolMon leaves it out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .errors import Diagnostics, InputError
from .formats import InputFormat, ParseOptions
from .model import NONPAGED, OUT_OF_RANGE, PAGED, RowTable, Snapshot, TimeOrigin, fits_int64
from .tabular import mapped_driver_cell, read_int, read_times, split_csv_line
from .textio import TextSource

CSV_FORMAT_NAME = "poolmon-csv"
KV_FORMAT_NAME = "poolmon-kv"

#: The ports' column order, used when appended records come without a header.
DEFAULT_COLUMNS: tuple[str, ...] = (
    "datetime", "datetimeutc", "tag",
    "pagedallocs", "pagedfrees", "pageddiff", "pagedusedbytes",
    "nonpagedallocs", "nonpagedfrees", "nonpageddiff", "nonpagedusedbytes",
    "totalusedbytes", "binary", "description",
)
_POOL_FIELDS = {
    PAGED: ("pagedallocs", "pagedfrees", "pageddiff", "pagedusedbytes"),
    NONPAGED: ("nonpagedallocs", "nonpagedfrees", "nonpageddiff", "nonpagedusedbytes"),
}
_ALIASES = {"pagedused": "pagedusedbytes", "nonpagedused": "nonpagedusedbytes", "totalused": "totalusedbytes",
            "timestamp": "datetime", "time": "datetime", "date": "datetime"}
_KV = re.compile(r'(?P<key>[A-Za-z][A-Za-z0-9_]*)\s*=\s*(?:"(?P<q>[^"]*)"|(?P<bare>[^\s"]*))')
# A headerless record: two date cells, a tag, nine integers.
_RECORD = re.compile(r'^"?[^",]*\d[^",]*"?,"?[^",]*\d[^",]*"?,"?[^",]{1,4}"?(?:,"?-?\d+"?){9}(?:,|$)')


def _norm(name: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return _ALIASES.get(key, key)


def _is_header(cells: list[str]) -> bool:
    names = {_norm(c) for c in cells}
    return "tag" in names and bool({"pagedusedbytes", "nonpagedusedbytes"} & names)


@dataclass
class _Record:
    line: int
    values: dict[str, str]


@dataclass
class _Frame:
    key: str
    line: int
    records: list[_Record] = field(default_factory=list)


def _records_csv(source: TextSource, diag: Diagnostics) -> list[_Record]:
    columns: list[str] | None = None
    out: list[_Record] = []
    assumed = False
    for lineno, raw in enumerate(source.text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#TYPE") or line.startswith("#"):
            continue
        cells = split_csv_line(line)
        if _is_header(cells):
            columns = [_norm(c) for c in cells]
            continue
        if columns is None:
            if not _RECORD.match(line):
                diag.skip(source.name, lineno, "not a PoolMon CSV record", line)
                continue
            columns = list(DEFAULT_COLUMNS)
            assumed = True
            diag.note(source.name, lineno, "PoolMon CSV records without a header: the ports' column order "
                      "(DateTime, DateTimeUTC, Tag, PagedAllocs, ...) assumed", strict=False)
        if len(cells) < 4:
            diag.skip(source.name, lineno, "CSV record too short", line)
            continue
        if assumed and len(cells) > len(columns):
            # An unquoted description with commas: keep it whole.
            cells = [*cells[:len(columns) - 1], ",".join(cells[len(columns) - 1:])]
        out.append(_Record(lineno, dict(zip(columns, cells, strict=False))))
    return out


def _records_kv(source: TextSource, diag: Diagnostics) -> list[_Record]:
    out: list[_Record] = []
    for lineno, raw in enumerate(source.text.split("\n"), start=1):
        if not raw.strip():
            continue
        pairs = {_norm(m.group("key")): (m.group("q") if m.group("q") is not None else m.group("bare"))
                 for m in _KV.finditer(raw)}
        if "tag" not in pairs:
            diag.skip(source.name, lineno, "log line without Tag=", raw.strip())
            continue
        out.append(_Record(lineno, pairs))
    return out


def _frames(records: list[_Record]) -> list[_Frame]:
    frames: list[_Frame] = []
    for rec in records:
        key = rec.values.get("datetime") or rec.values.get("datetimeutc") or ""
        if not frames or frames[-1].key != key:
            frames.append(_Frame(key, rec.line))
        frames[-1].records.append(rec)
    return frames


def _frame_times(frames: list[_Frame]) -> list[datetime | None]:
    local = read_times([f.records[0].values.get("datetime", "") for f in frames])
    utc = read_times([f.records[0].values.get("datetimeutc", "") for f in frames])
    return [a if a is not None else b for a, b in zip(local, utc, strict=True)]


def _snapshots(source: TextSource, diag: Diagnostics, records: list[_Record], fmt: str) -> list[Snapshot]:
    frames = _frames(records)
    times = _frame_times(frames)
    snaps: list[Snapshot] = []
    for i, (frame, when) in enumerate(zip(frames, times, strict=True)):
        tags: list[str] = []
        pools: list[str] = []
        cols: dict[str, list[int | None]] = {"allocs": [], "frees": [], "outstanding": [], "bytes": []}
        seen: set[tuple[str, str]] = set()
        owners: dict[str, str] = {}
        for rec in frame.records:
            tag = rec.values.get("tag", "")
            if not tag.strip() or len(tag) > 4:
                diag.skip(source.name, rec.line, f"tag {tag!r} is not a pool tag")
                continue
            tag = tag.ljust(4)
            read_any = False
            for pool, names in _POOL_FIELDS.items():
                allocs, frees, diff, used = (read_int(rec.values.get(n)) for n in names)
                if allocs is None and frees is None and used is None:
                    continue
                read_any = True
                if not allocs and not frees and not used:
                    continue  # the tag never used this pool
                if diff is None and allocs is not None and frees is not None:
                    diff = allocs - frees
                if not fits_int64((allocs, frees, diff, used)):
                    diag.skip(source.name, rec.line, f"{tag.rstrip()} {pool}: {OUT_OF_RANGE}")
                    continue
                if allocs is not None and frees is not None and diff is not None and allocs - frees != diff:
                    diag.note(source.name, rec.line, f"{tag.rstrip()} {pool}: Diff {diff} is not Allocs - Frees "
                              f"({allocs} - {frees}); Diff kept as printed", strict=False)
                if (tag, pool) in seen:
                    diag.note(source.name, rec.line, f"tag {tag!r} ({pool}) listed twice in one sample; "
                              "first kept", strict=False)
                    continue
                seen.add((tag, pool))
                tags.append(tag)
                pools.append(pool)
                for name, value in zip(("allocs", "frees", "outstanding", "bytes"),
                                       (allocs, frees, diff, used), strict=True):
                    cols[name].append(value)
            if not read_any:
                diag.skip(source.name, rec.line, "record has no pool counters")
                continue
            owners[tag] = mapped_driver_cell(rec.values.get("binary"), rec.values.get("description"))
        mapped = [owners.get(t) for t in tags]
        snap = Snapshot(
            source=source.name, index=i, format=fmt,
            rows=RowTable.from_columns(tags, pools, mapped if any(mapped) else None, **cols),
            timestamp=when, time_origin=TimeOrigin.SOURCE if when else TimeOrigin.UNKNOWN,
            line=frame.line, extra={"mtime": source.mtime},
        )
        snaps.append(snap)
    if not snaps:
        raise InputError(source.name, "no PoolMon records found")
    return snaps


def _parse_csv(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    return _snapshots(source, diag, _records_csv(source, diag), CSV_FORMAT_NAME)


def _parse_kv(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    return _snapshots(source, diag, _records_kv(source, diag), KV_FORMAT_NAME)


def sniff_csv(head: str) -> float:
    lines = [x.strip() for x in head.split("\n")[:50] if x.strip() and not x.startswith("#")]
    if not lines:
        return 0.0
    if _is_header(split_csv_line(lines[0])):
        return 0.95
    good = sum(1 for x in lines[:20] if _RECORD.match(x))
    return 0.7 if good >= max(1, len(lines[:20]) * 3 // 4) else 0.0


def sniff_kv(head: str) -> float:
    lines = [x for x in head.split("\n")[:40] if x.strip()]
    if not lines:
        return 0.0
    good = 0
    for line in lines:
        keys = {_norm(m.group("key")) for m in _KV.finditer(line)}
        if "tag" in keys and ("pagedallocs" in keys or "nonpagedallocs" in keys):
            good += 1
    return 0.9 if good and good * 2 >= len(lines) else 0.0


CSV_FORMAT = InputFormat(
    name=CSV_FORMAT_NAME,
    description="CSV written by PowerShell ports of PoolMon (DateTime, Tag, PagedAllocs, ... with or without header)",
    sniff=sniff_csv,
    parse=_parse_csv,
)
KV_FORMAT = InputFormat(
    name=KV_FORMAT_NAME,
    description='key=value log lines of PowerShell PoolMon ports (Tag="Abcd" NonPagedAllocs="..." ...)',
    sniff=sniff_kv,
    parse=_parse_kv,
)
