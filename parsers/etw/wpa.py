"""WPA table exports (CSV from the Pool tables, e.g. via wpaexporter) read into a :class:`PoolTrace`.

Columns are found by their header names, never by position, because every WPA profile
orders (and names) them its own way.  Two shapes carry enough for the accounting:

- one row per allocation: ``Alloc Time`` (and ``Free Time``, empty while outstanding);
- one row per event: ``Time`` and an event column whose value names an alloc or a free.

Both need a tag; size, address, pool type, session and a stack column are used when present.
WPA writes times in seconds from the start of the trace, so snapshots from an export are
ordered but carry no dates.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import numpy as np

from ..errors import Diagnostics, InputError
from ..model import OUT_OF_RANGE, fits_int64
from ..textio import TextSource
from .trace import (
    ALLOC,
    FREE,
    NO_SESSION,
    NO_STACK,
    NO_THREAD,
    UNKNOWN_SIZE,
    PoolEvents,
    PoolTrace,
    TraceInfo,
    tag_value,
)

#: Our column name -> header names (normalised: lower case, letters and digits only, units dropped).
ALIASES: dict[str, tuple[str, ...]] = {
    "tag": ("tag", "pooltag"),
    "pool": ("pooltype", "paged", "pool", "pagedpool"),
    "size": ("size", "numberofbytes", "allocsize", "allocationsize", "bytes", "sizebytes"),
    "address": ("address", "entry", "poolentry", "va", "allocationaddress", "baseaddress"),
    "alloc_time": ("alloctime", "allocationtime", "allocatedtime", "alloctimestamp"),
    "free_time": ("freetime", "freedtime", "deallocationtime", "freetimestamp"),
    "time": ("time", "timestamp", "eventtime"),
    "event": ("event", "eventname", "opcode", "opcodename", "task", "taskname", "eventtype"),
    "stack": ("stack", "callstack", "allocationstack", "allocstack"),
    "session": ("session", "sessionid"),
}
_FRAME_SPLIT = re.compile(r"\s*(?:<-|->|\||;|\n)\s*|\s+/\s+")


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\([^)]*\)", "", name.lower()))


def map_columns(header: list[str]) -> dict[str, int]:
    """Our column name -> index in ``header``, by name (first match wins)."""
    found: dict[str, int] = {}
    normal = [normalise_header(h) for h in header]
    for ours, names in ALIASES.items():
        for alias in names:
            if alias in normal:
                found[ours] = normal.index(alias)
                break
    return found


def sniff(head: str) -> float:
    """A CSV whose first line names a tag column and either allocation times or times with events."""
    first = next((line for line in head.splitlines() if line.strip()), "")
    if first.count(",") < 2:
        return 0.0
    try:
        header = next(csv.reader([first]))
    except csv.Error:
        return 0.0
    cols = map_columns(header)
    if "tag" in cols and ("alloc_time" in cols or ("time" in cols and "event" in cols)):
        return 0.95
    return 0.0


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        yield reader.line_num, row


def _seconds_to_ticks(value: str) -> int | None:
    text = value.strip().replace(",", "")
    if not text:
        return None
    try:
        return round(float(text) * 10_000_000)
    except ValueError:
        return None


def _integer(value: str) -> int | None:
    text = value.strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(float(text)) if "." in text else int(text)
    except ValueError:
        try:
            return int(text, 16)
        except ValueError:
            return None


def _pool_code(value: str) -> int:
    text = value.strip().lower()
    number = _integer(text)
    if number is not None and text not in ("0x",):
        return number & 1
    if "nonpaged" in text or text in ("false", "no", "nonp"):
        return 0
    if "paged" in text or text in ("true", "yes"):
        return 1
    return 0


def read_wpa(source: TextSource, diag: Diagnostics) -> PoolTrace:
    """Read a WPA pool-table CSV export into pool events (per-allocation or per-event rows)."""
    name = source.name
    rows = _rows(source.text)
    header: list[str] | None = None
    header_line = 0
    for line, row in rows:
        if any(cell.strip() for cell in row):
            header, header_line = row, line
            break
    if header is None:
        raise InputError(name, "empty WPA export: no header row")
    cols = map_columns(header)
    per_allocation = "alloc_time" in cols
    if "tag" not in cols or not (per_allocation or ("time" in cols and "event" in cols)):
        raise InputError(name, "WPA export needs a Tag column and either Alloc Time (one row per allocation) "
                               "or Time and Event columns (one row per event)", header_line)
    stacks: dict[tuple[str, ...], int] = {}
    time: list[int] = []
    kind: list[int] = []
    pool: list[int] = []
    tag: list[int] = []
    size: list[int] = []
    address: list[int] = []
    session: list[int] = []
    stack: list[int] = []
    synthetic_address = 1 << 63  # per-allocation rows without an address still pair with their own free
    width = max(cols.values()) + 1

    def cell(row: list[str], key: str) -> str:
        i = cols.get(key)
        return row[i] if i is not None and i < len(row) else ""

    for line, row in rows:
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            diag.skip(name, line, f"row has {len(row)} cells, the header {len(header)}")
            continue
        raw_tag = cell(row, "tag").strip().strip("'\"")
        if not raw_tag or len(raw_tag) > 4:
            diag.skip(name, line, f"not a pool tag: {raw_tag[:20]!r}")
            continue
        frames = tuple(f for f in _FRAME_SPLIT.split(cell(row, "stack").strip()) if f)
        sid = stacks.setdefault(frames, len(stacks)) if frames else NO_STACK
        pool_code = _pool_code(cell(row, "pool"))
        nbytes = _integer(cell(row, "size"))
        where = _integer(cell(row, "address"))
        sess = _integer(cell(row, "session"))
        sess = NO_SESSION if sess is None or sess < 0 else sess
        if per_allocation:
            born = _seconds_to_ticks(cell(row, "alloc_time"))
            if born is None:
                diag.skip(name, line, "no allocation time")
                continue
            if where is None:
                synthetic_address += 16
                where = synthetic_address
            died = _seconds_to_ticks(cell(row, "free_time"))
            events = [(born, ALLOC)] + ([(died, FREE)] if died is not None else [])
        else:
            at = _seconds_to_ticks(cell(row, "time"))
            label = cell(row, "event").lower()
            what = FREE if "free" in label else ALLOC if "alloc" in label else None
            if at is None or what is None or where is None:
                diag.skip(name, line, "event row needs a time, an alloc/free event name and an address")
                continue
            events = [(at, what)]
        if not fits_int64((nbytes, sess, *(at for at, _ in events))):
            diag.skip(name, line, OUT_OF_RANGE)
            continue
        for at, what in events:
            time.append(at)
            kind.append(what)
            pool.append(pool_code)
            tag.append(tag_value(raw_tag))
            size.append(nbytes if nbytes is not None else UNKNOWN_SIZE)
            address.append(where & 0xFFFFFFFFFFFFFFFF)
            session.append(sess)
            stack.append(sid)
    n = len(time)
    events_out = PoolEvents(
        time=np.array(time, dtype=np.int64), kind=np.array(kind, dtype=np.uint8), pool=np.array(pool, dtype=np.uint8),
        tag=np.array(tag, dtype=np.uint32), size=np.array(size, dtype=np.int64),
        address=np.array(address, dtype=np.uint64), session=np.array(session, dtype=np.int64),
        thread=np.full(n, NO_THREAD, dtype=np.int64), stack=np.array(stack, dtype=np.int32),
    )
    info = TraceInfo(source=name, format="wpa", events_read=n, timed=False, tick_seconds=1e-7)
    info.extra["columns"] = sorted(cols)
    return PoolTrace(info, events_out, [tuple(_clean(f) for f in s) for s in stacks])


def _clean(frame: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in frame)[:200]
