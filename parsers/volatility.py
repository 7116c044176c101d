"""Memory-forensics tables of pool use: Volatility 2 ``pooltracker`` and ``bigpools`` (both versions).

``pooltracker`` prints the kernel's PoolTrackTable, the same counters PoolMon reads::

    Tag    NpAllocs NpFrees  NpBytes  PgAllocs PgFrees  PgBytes  [Driver  Reason]

``windows.bigpools`` (Volatility 3) and ``bigpools`` (2) list the big-page allocations one per
line (``Offset Tag PoolType NumberOfBytes [Status]``), in the text renderer (tab or space
separated), the pretty renderer (``|`` columns) or CSV.  They are summed per (tag, pool): the
count of allocated blocks is the outstanding figure and their sizes the bytes.  Only
allocations of a page or more are listed, so such a snapshot is marked partial.
"""

from __future__ import annotations

import re

from .errors import Diagnostics, InputError
from .formats import InputFormat, ParseOptions
from .model import NONPAGED, OUT_OF_RANGE, PAGED, RowTable, Snapshot, TimeOrigin, fits_int64
from .tabular import mapped_driver_cell, read_int, split_csv_line
from .textio import TextSource

TRACKER_FORMAT_NAME = "pooltracker"
BIGPOOLS_FORMAT_NAME = "bigpools"

_TRACKER_HEADER = re.compile(r"^\s*Tag\s+NpAllocs\s+NpFrees\s+NpBytes\s+PgAllocs\s+PgFrees\s+PgBytes\b(?P<rest>.*)$")
_RULE = re.compile(r"^[\s\-=+|]+$")
#: A hexadecimal size cell (``0x2000``): ASCII hex digits only, at least one.
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_TRACKER_ROW = re.compile(r"^(?P<tag>.{1,4}?)\s+(?P<nums>\d+(?:\s+\d+){5})(?:\s+(?P<rest>.*))?$")
_BIG_NAMES = ("offset", "allocation", "tag", "pooltype", "numberofbytes", "status")


def _tracker_tag(text: str) -> str:
    return text[:4].ljust(4)


def _parse_tracker(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    lines = source.text.split("\n")
    header_at = next((i for i, x in enumerate(lines) if _TRACKER_HEADER.match(x)), None)
    if header_at is None:
        raise InputError(source.name, "no pooltracker header (Tag NpAllocs NpFrees NpBytes ...)")
    header = lines[header_at]
    tag_at = header.index("Tag")
    has_owner = "Driver" in header
    driver_at = header.find("Driver")
    reason_at = header.find("Reason")
    tags: list[str] = []
    pools: list[str] = []
    mapped: list[str | None] = []
    cols: dict[str, list[int | None]] = {"allocs": [], "frees": [], "outstanding": [], "bytes": []}
    seen: set[str] = set()
    for lineno, raw in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not raw.strip() or _RULE.match(raw):
            continue
        body = raw[tag_at:] if raw[:tag_at].strip() == "" else raw.lstrip()
        m = _TRACKER_ROW.match(body)
        if not m:
            diag.skip(source.name, lineno, "unreadable pooltracker row", raw)
            continue
        tag = _tracker_tag(body[:4]) if len(body) >= 4 and body[4:5].isspace() else _tracker_tag(m.group("tag"))
        if tag in seen:
            diag.note(source.name, lineno, f"tag {tag!r} listed twice; first kept", strict=False)
            continue
        seen.add(tag)
        np_a, np_f, np_b, p_a, p_f, p_b = numbers = tuple(int(x) for x in m.group("nums").split())
        if not fits_int64(numbers):
            diag.skip(source.name, lineno, OUT_OF_RANGE, raw)
            continue
        owner = None
        rest = m.group("rest")
        if has_owner and rest:
            if driver_at >= 0 and reason_at > driver_at and len(raw) > reason_at and raw[reason_at - 1] == " ":
                owner = mapped_driver_cell(raw[driver_at:reason_at].strip(), raw[reason_at:].strip())
            else:
                first, _, more = rest.strip().partition(" ")
                owner = mapped_driver_cell(first, more)
        for pool, (a, f, b) in ((NONPAGED, (np_a, np_f, np_b)), (PAGED, (p_a, p_f, p_b))):
            if not (a or f or b):
                continue
            tags.append(tag)
            pools.append(pool)
            mapped.append(owner)
            for name, value in zip(("allocs", "frees", "outstanding", "bytes"), (a, f, a - f, b), strict=True):
                cols[name].append(value)
    if not seen:
        raise InputError(source.name, "pooltracker table has no rows")
    return [Snapshot(
        source=source.name, index=0, format=TRACKER_FORMAT_NAME,
        rows=RowTable.from_columns(tags, pools, mapped if any(mapped) else None, **cols),
        timestamp=None, time_origin=TimeOrigin.UNKNOWN, line=header_at + 1, extra={"mtime": source.mtime},
    )]


def _big_columns(line: str) -> tuple[list[str], str] | None:
    """The column names and the separator of a bigpools header line, or None."""
    for sep in ("\t", "|", ","):
        if sep in line:
            cells = split_csv_line(line) if sep == "," else line.split(sep)
            names = [re.sub(r"[^a-z]", "", c.lower()) for c in cells]
            if {"tag", "pooltype", "numberofbytes"} <= set(names):
                return names, sep
    names = [re.sub(r"[^a-z]", "", c.lower()) for c in line.split()]
    if {"tag", "pooltype", "numberofbytes"} <= set(names):
        return names, " "
    return None


def _pool_of(pool_type: str) -> str | None:
    low = pool_type.lower()
    if "nonpaged" in low:
        return NONPAGED
    if "paged" in low:
        return PAGED
    return None


def _parse_bigpools(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    lines = source.text.split("\n")
    columns = None
    start = 0
    for i, line in enumerate(lines):
        columns = _big_columns(line)
        if columns is not None:
            start = i + 1
            break
    if columns is None:
        raise InputError(source.name, "no bigpools header (Offset Tag PoolType NumberOfBytes ...)")
    names, sep = columns
    at = {n: i for i, n in enumerate(names)}
    sums: dict[tuple[str, str], list[int]] = {}
    frees = 0
    for lineno, raw in enumerate(lines[start:], start=start + 1):
        if not raw.strip() or _RULE.match(raw):
            continue
        if sep == ",":
            cells = split_csv_line(raw)
        elif sep == " ":
            cells = _space_cells(raw, len(names), at["tag"])
        else:
            cells = raw.split(sep)
        if cells is None or len(cells) < len(names) - ("status" in at):
            diag.skip(source.name, lineno, "unreadable bigpools row", raw)
            continue
        tag = cells[at["tag"]].strip("\"'")[:4]
        size_text = cells[at["numberofbytes"]].strip().strip('"')
        if size_text.lower().startswith("0x"):
            size = int(size_text, 16) if _HEX.fullmatch(size_text) else None
        else:
            size = read_int(size_text)
        pool = _pool_of(cells[at["pooltype"]])
        if size is None or pool is None or not tag.strip():
            diag.skip(source.name, lineno, "bigpools row without tag, pool type or size", raw)
            continue
        status = cells[at["status"]].strip().lower() if "status" in at and at["status"] < len(cells) else ""
        if "free" in status:
            frees += 1
            continue
        entry = sums.setdefault((tag.ljust(4), pool), [0, 0])
        entry[0] += 1
        entry[1] += size
    if not sums:
        raise InputError(source.name, "bigpools table lists no allocated block")
    keys = sorted(sums)
    snap = Snapshot(
        source=source.name, index=0, format=BIGPOOLS_FORMAT_NAME,
        rows=RowTable.from_columns([k[0] for k in keys], [k[1] for k in keys],
                                   outstanding=[sums[k][0] for k in keys], bytes=[sums[k][1] for k in keys]),
        timestamp=None, time_origin=TimeOrigin.UNKNOWN, line=start,
        extra={"mtime": source.mtime, "partial": True, "free_blocks": frees},
    )
    diag.note(source.name, start, "bigpools lists only allocations of a page or more: per-tag figures are "
              "partial and pool totals unknown", strict=False)
    return [snap]


def _space_cells(line: str, width: int, tag_index: int) -> list[str] | None:
    """Whitespace-split cells, keeping a tag that holds spaces (``Io  ``) in one cell."""
    parts = line.split()
    if len(parts) == width or len(parts) == width - 1:
        return parts
    extra = len(parts) - width
    if 0 < extra <= 3:
        joined = " ".join(parts[tag_index : tag_index + extra + 1])
        return [*parts[:tag_index], joined, *parts[tag_index + extra + 1:]]
    return None


def sniff_tracker(head: str) -> float:
    return 0.95 if any(_TRACKER_HEADER.match(x) for x in head.split("\n")[:60]) else 0.0


def sniff_bigpools(head: str) -> float:
    lines = head.split("\n")[:60]
    if not any(_big_columns(x) for x in lines):
        return 0.0
    return 0.95 if re.search(r"Volatility|bigpools|PoolType", head) else 0.6


TRACKER_FORMAT = InputFormat(
    name=TRACKER_FORMAT_NAME,
    description="Volatility 2 pooltracker table (NpAllocs NpFrees NpBytes PgAllocs PgFrees PgBytes)",
    sniff=sniff_tracker,
    parse=_parse_tracker,
)
BIGPOOLS_FORMAT = InputFormat(
    name=BIGPOOLS_FORMAT_NAME,
    description="Volatility bigpools / windows.bigpools table (one big allocation per line)",
    sniff=sniff_bigpools,
    parse=_parse_bigpools,
)
