"""Read poolscope's own capture log (``poolscope capture -o run.pslog``): format ``capture``.

One JSON object per line (see ``analyzer/capture/capturelog.py`` for the writer).
A record is complete when its line parses; the last line of a log that was being
written when the capture was killed may be torn, which is reported as a warning
and never fails the read.  A bad record in the middle is skipped with its line.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np

from .errors import Diagnostics, InputError
from .formats import InputFormat, ParseOptions
from .model import MISSING, NUMERIC_COLUMNS, RowTable, Snapshot, TimeOrigin
from .textio import TextSource

FORMAT_NAME = "capture"
MAGIC = "poolscope_capture"
_POOL_CODES = {"N": 0, "P": 1}


def sniff(head: str) -> float:
    first = head.lstrip()[:200]
    if first.startswith("{") and f'"{MAGIC}"' in first:
        return 1.0
    if first.startswith('{"record":"snapshot"') or first.startswith('{"record": "snapshot"'):
        return 0.9  # a log whose header line was cut off by hand
    return 0.0


class BadRecord(ValueError):
    pass


def _columns(rec: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    out = {}
    for name in NUMERIC_COLUMNS:
        values = rec.get(name)
        if values is None:
            continue
        if not isinstance(values, list) or len(values) != n:
            got = len(values) if isinstance(values, list) else type(values).__name__
            raise BadRecord(f"column {name!r} has {got} values for {n} rows")
        if n == 0:
            arr = np.zeros(0, dtype=np.int64)
        else:
            # numpy infers int64 for the usual all-integer column in one C pass; nulls give objects.
            try:
                arr = np.asarray(values)
            except (ValueError, OverflowError):
                arr = np.asarray(values, dtype=object)
            if arr.dtype.kind == "i":
                arr = arr.astype(np.int64, copy=False)
            elif arr.dtype.kind == "O" and all(v is None or type(v) is int for v in values):
                try:
                    arr = np.array([MISSING if v is None else v for v in values], dtype=np.int64)
                except OverflowError as exc:
                    raise BadRecord(f"column {name!r} holds a value beyond 64 bits") from exc
            else:
                raise BadRecord(f"column {name!r} holds a value that is not an integer")
        out[name] = arr
    return out


def record_to_snapshot(rec: dict[str, Any], source: str, index: int, line: int) -> Snapshot:
    """One decoded record as a Snapshot; raises :class:`BadRecord` when its shape is wrong."""
    tags = rec.get("tags")
    pools = rec.get("pools", "")
    n = rec.get("n", len(tags) if isinstance(tags, list) else -1)
    if not isinstance(tags, list) or len(tags) != n or not all(isinstance(t, str) for t in tags):
        raise BadRecord("tag list missing or of the wrong length")
    if not isinstance(pools, str) or len(pools) != n or set(pools) - set(_POOL_CODES):
        raise BadRecord("pool letters missing or of the wrong length")
    codes = np.frombuffer(pools.encode("ascii"), dtype=np.uint8)
    codes = (codes == ord("P")).astype(np.uint8)
    mapped = rec.get("mapped_driver")
    if mapped is not None and (not isinstance(mapped, list) or len(mapped) != n):
        raise BadRecord("mapped_driver column of the wrong length")
    try:
        rows = RowTable(tags, codes, _columns(rec, n), mapped)
    except ValueError as exc:
        raise BadRecord(str(exc)) from exc
    stamp = None
    if rec.get("timestamp"):
        try:
            stamp = datetime.fromisoformat(rec["timestamp"])
        except (TypeError, ValueError) as exc:
            raise BadRecord(f"timestamp {rec['timestamp']!r} is not ISO 8601") from exc
    totals = rec.get("totals") or {}
    if not isinstance(totals, dict):
        raise BadRecord("totals is not an object")
    extra: dict[str, Any] = {k: rec[k] for k in ("host", "os", "backend", "seq") if rec.get(k) is not None}
    if isinstance(rec.get("extra"), dict):
        extra.update(rec["extra"])
    return Snapshot(
        source=source,
        index=index,
        format=FORMAT_NAME,
        rows=rows,
        timestamp=stamp,
        time_origin=TimeOrigin.SOURCE if stamp else TimeOrigin.UNKNOWN,
        scope=str(rec.get("scope") or "system"),
        totals={str(k): int(v) for k, v in totals.items() if isinstance(v, int)},
        line=line,
        extra=extra,
    )


def parse(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    lines = source.text.split("\n")
    ends_cleanly = source.text.endswith("\n")
    last = len(lines)
    while last > 0 and not lines[last - 1].strip():
        last -= 1
    snaps: list[Snapshot] = []
    saw_header = False
    for lineno in range(1, last + 1):
        text = lines[lineno - 1].strip()
        if not text:
            continue
        is_tail = lineno == last and not ends_cleanly
        try:
            rec = json.loads(text)
            if not isinstance(rec, dict):
                raise BadRecord("not a JSON object")
        except ValueError:
            if is_tail:
                diag.note(
                    source.name,
                    lineno,
                    f"torn record at the end of the log ({len(text)} bytes; the capture stopped mid-write); "
                    f"{len(snaps)} complete records read",
                    strict=False,
                )
            else:
                diag.skip(source.name, lineno, "unreadable capture record", text)
            continue
        if MAGIC in rec:
            saw_header = True
            continue
        if rec.get("record") != "snapshot":
            diag.skip(source.name, lineno, f"unknown record type {rec.get('record')!r}", text[:60])
            continue
        try:
            snaps.append(record_to_snapshot(rec, source.name, len(snaps), lineno))
        except BadRecord as exc:
            diag.skip(source.name, lineno, f"bad capture record: {exc}", text[:60])
    if not saw_header and not snaps:
        raise InputError(source.name, "not a poolscope capture log (no header line)")
    if not snaps:
        diag.note(source.name, None, "capture log holds no complete snapshot records", strict=False)
    return snaps


FORMAT = InputFormat(
    name=FORMAT_NAME,
    description="poolscope capture log (JSON Lines written by `poolscope capture -o`)",
    sniff=sniff,
    parse=parse,
)
