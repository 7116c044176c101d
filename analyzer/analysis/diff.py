"""Before/after comparison of two snapshots, per (tag, pool) and per pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from analyzer.analysis.align import align
from analyzer.analysis.verdict import TextEnum
from parsers.model import MISSING, POOLS, Snapshot, local_wall_clock


class DiffStatus(TextEnum):
    """How a (tag, pool) row moved between the two snapshots; a ``str``, so ``row.status == "new"`` holds.

    ``CHURN``: allocations and frees moved but bytes and outstanding allocations did not (a 0 B
    change is not "changed"); ``SAME``: nothing moved at all.
    """

    NEW = "new"
    VANISHED = "vanished"
    CHANGED = "changed"
    CHURN = "churn"
    SAME = "same"


STATUSES: tuple[str, ...] = tuple(s.value for s in DiffStatus)


@dataclass
class DiffRow:
    tag: str
    pool: str
    status: DiffStatus
    bytes_before: int | None
    bytes_after: int | None
    bytes_change: int | None
    outstanding_before: int | None
    outstanding_after: int | None
    outstanding_change: int | None
    allocs_change: int | None
    frees_change: int | None
    percent_change: float | None  # None when there was nothing before (new) or bytes are unknown
    owner: str | None = None
    #: Every candidate owner with its provenance (OwnerCandidate.to_dict()), most trusted first.
    owner_candidates: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "pool": self.pool,
            "status": DiffStatus(self.status).value,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "bytes_change": self.bytes_change,
            "outstanding_before": self.outstanding_before,
            "outstanding_after": self.outstanding_after,
            "outstanding_change": self.outstanding_change,
            "allocs_change": self.allocs_change,
            "frees_change": self.frees_change,
            "percent_change": None if self.percent_change is None else round(self.percent_change, 2),
            "owner": self.owner,
            "owner_candidates": list(self.owner_candidates),
        }


@dataclass
class PoolChange:
    """One pool's bytes before and after (the sum over its rows)."""

    pool: str
    bytes_before: int = 0
    bytes_after: int = 0

    @property
    def bytes_change(self) -> int:
        return self.bytes_after - self.bytes_before

    def to_dict(self) -> dict[str, Any]:
        return {"bytes_before": self.bytes_before, "bytes_after": self.bytes_after, "bytes_change": self.bytes_change}


@dataclass
class DiffCounts:
    """How many (tag, pool) rows fall in each status (every row, ``min_change`` or not)."""

    new: int = 0
    vanished: int = 0
    changed: int = 0
    churn: int = 0
    same: int = 0

    def add(self, status: DiffStatus) -> None:
        setattr(self, status.value, getattr(self, status.value) + 1)

    def to_dict(self) -> dict[str, Any]:
        return {status: getattr(self, status) for status in STATUSES}


@dataclass
class DiffResult:
    before: str  # labels of the two snapshots (FILE#N)
    after: str
    rows: list[DiffRow]
    #: Per pool, in POOLS order.
    totals: dict[str, PoolChange] = field(default_factory=dict)
    interval_seconds: float | None = None
    counts: DiffCounts = field(default_factory=DiffCounts)
    before_time: datetime | None = None
    after_time: datetime | None = None
    #: Rows left out by ``min_change`` (``counts`` covers every row, shown or not).
    hidden: int = 0
    min_change: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "before_time": self.before_time.isoformat() if self.before_time else None,
            "after_time": self.after_time.isoformat() if self.after_time else None,
            "interval_seconds": self.interval_seconds,
            "totals": {pool: t.to_dict() for pool, t in self.totals.items()},
            "counts": self.counts.to_dict(),
            "hidden": self.hidden,
            "rows": [r.to_dict() for r in self.rows],
        }


def _values(column: np.ndarray) -> list[int | None]:
    """An int64 column as Python ints, None where MISSING."""
    return [None if v == MISSING else v for v in column.tolist()]


def _status(now: dict[str, int | None], then: dict[str, int | None]) -> DiffStatus:
    moved = {n for n in _COMPARED if now[n] != then[n]}
    if not moved:
        return DiffStatus.SAME
    return DiffStatus.CHURN if not moved & {"bytes", "outstanding"} else DiffStatus.CHANGED


_COMPARED = ("bytes", "outstanding", "allocs", "frees")


def diff_snapshots(before: Snapshot, after: Snapshot, *, min_change: int = 0) -> DiffResult:
    """Per (tag, pool) change from ``before`` to ``after``, largest byte growth first.

    Rows whose absolute byte change is below ``min_change`` are left out (new and
    vanished tags too, by the size they appeared or disappeared with); the per-pool
    totals always cover every row.
    """
    alignment = align(after.rows, before.rows)
    b_rows, a_rows = before.rows, after.rows
    # Plain lists: the row loop below reads single values, which numpy makes slow.
    changes = {n: _values(alignment.column_change(n)) for n in _COMPARED}
    b_cols = {n: _values(b_rows.column(n)) for n in _COMPARED}
    a_cols = {n: _values(a_rows.column(n)) for n in _COMPARED}
    # Every row of ``before`` (vanished or not) in its order, then the rows new in ``after``.
    entries: list[tuple[int | None, int | None]] = []
    after_of = np.full(len(b_rows), -1, dtype=np.intp)
    found = alignment.found
    after_of[alignment.index[found]] = np.flatnonzero(found)
    entries.extend((j, None if after_of[j] < 0 else int(after_of[j])) for j in range(len(b_rows)))
    entries.extend((None, int(i)) for i in np.flatnonzero(~found))
    totals = {p: PoolChange(p) for p in POOLS}
    rows: list[DiffRow] = []
    hidden = 0
    counts = DiffCounts()
    for bi, ai in entries:
        table, k = (a_rows, ai) if ai is not None else (b_rows, bi)
        assert k is not None  # every entry has a row on at least one side
        tag, pool = table.tags[k], POOLS[table.pool_codes[k]]
        bv = {n: (None if bi is None else b_cols[n][bi]) for n in _COMPARED}
        av = {n: (None if ai is None else a_cols[n][ai]) for n in _COMPARED}
        allocs_change = frees_change = None
        if bi is None:
            status = DiffStatus.NEW
            bytes_change, out_change = av["bytes"], av["outstanding"]
        elif ai is None:
            status = DiffStatus.VANISHED
            bytes_change = None if bv["bytes"] is None else -bv["bytes"]
            out_change = None if bv["outstanding"] is None else -bv["outstanding"]
        else:
            status = _status(av, bv)
            bytes_change, out_change = changes["bytes"][ai], changes["outstanding"][ai]
            allocs_change, frees_change = changes["allocs"][ai], changes["frees"][ai]
        counts.add(status)
        t = totals[pool]
        t.bytes_before += bv["bytes"] or 0
        t.bytes_after += av["bytes"] or 0
        pct: float | None = None
        if bv["bytes"] and bytes_change is not None:
            pct = 100.0 * bytes_change / bv["bytes"]
        elif bv["bytes"] == 0 and bytes_change == 0:
            pct = 0.0
        if (bytes_change is not None and abs(bytes_change) < min_change) or (bytes_change is None and min_change > 0):
            hidden += 1
            continue
        rows.append(
            DiffRow(tag, pool, status, bv["bytes"], av["bytes"], bytes_change, bv["outstanding"],
                    av["outstanding"], out_change, allocs_change, frees_change, pct)
        )
    rows.sort(key=lambda r: (-(r.bytes_change if r.bytes_change is not None else -np.inf), r.tag, r.pool))
    interval = None
    if before.timestamp and after.timestamp:
        interval = (local_wall_clock(after.timestamp) - local_wall_clock(before.timestamp)).total_seconds()
    return DiffResult(before.label, after.label, rows, totals, interval, counts, before.timestamp, after.timestamp,
                      hidden=hidden, min_change=min_change)
