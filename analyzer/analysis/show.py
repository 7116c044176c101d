"""One snapshot as PoolMon shows it: filtered, sorted, with change columns and per-pool totals.

The library half of ``poolscope show``.  :func:`show_snapshot` returns typed rows and
:func:`render_show` lays them out like PoolMon's screen (header figures, a title with the
scope and time, then ``Tag Type Allocs ( ) Frees ( ) Diff Bytes ( ) Per Alloc`` and the owner).

Change columns are PoolMon's "since the previous refresh".  A console screen carries them;
a log of snapshot files does not, so they are then taken against the previous snapshot of
the same scope in the input, which is the log's own "previous refresh".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analyzer.analysis.align import align, outstanding
from analyzer.analysis.align import known as _known
from analyzer.analysis.filters import TagFilter
from analyzer.analysis.selection import select_snapshot
from parsers import ParseResult, Snapshot
from parsers.errors import InputError
from parsers.model import MISSING, POOLS, RowTable

SORT_KEYS: tuple[str, ...] = ("tag", "allocs", "frees", "diff", "bytes", "per-alloc")
POOL_CHOICES: tuple[str, ...] = ("both", "nonpaged", "paged")

#: The change column a ``--by-change`` sort reads for each key (PoolMon's `(` toggle).
_CHANGE_OF = {
    "allocs": "allocs_change",
    "frees": "frees_change",
    "diff": "diff_change",
    "bytes": "bytes_change",
    "per-alloc": "bytes_change",
    "tag": "bytes_change",
}

#: Labels and keys of PoolMon's two header lines, in screen order (all KB).
@dataclass(frozen=True)
class ShowOptions:
    snapshot: str | int = "last"
    sort: str = "bytes"
    by_change: bool = False
    pool: str = "both"
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    top: int | None = None
    scope: str | None = None  # only snapshots of this scope count (system, all-sessions, session:N)

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise ValueError(f"unknown sort key {self.sort!r}; choose from {', '.join(SORT_KEYS)}")
        if self.pool not in POOL_CHOICES:
            raise ValueError(f"unknown pool {self.pool!r}; choose from {', '.join(POOL_CHOICES)}")


@dataclass
class ShowRow:
    tag: str
    pool: str
    allocs: int | None
    frees: int | None
    diff: int | None
    bytes: int | None
    per_alloc: int | None
    allocs_change: int | None = None
    frees_change: int | None = None
    bytes_change: int | None = None
    owner: str | None = None
    #: Every candidate owner with its provenance (OwnerCandidate.to_dict()), most trusted first.
    owner_candidates: list[dict[str, Any]] = field(default_factory=list, compare=False)

    @property
    def type(self) -> str:
        """PoolMon's Type column."""
        return "Nonp" if self.pool == "nonpaged" else "Paged"

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "pool": self.pool,
            "allocs": self.allocs,
            "frees": self.frees,
            "outstanding": self.diff,
            "bytes": self.bytes,
            "per_alloc": self.per_alloc,
            "allocs_change": self.allocs_change,
            "frees_change": self.frees_change,
            "bytes_change": self.bytes_change,
            "owner": self.owner,
            "owner_candidates": list(self.owner_candidates),
        }


@dataclass(frozen=True)
class PoolTotal:
    pool: str
    rows: int
    allocs: int | None
    frees: int | None
    diff: int | None
    bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"pool": self.pool, "rows": self.rows, "allocs": self.allocs, "frees": self.frees,
                "diff": self.diff, "bytes": self.bytes}


@dataclass
class ShowResult:
    snapshot: Snapshot
    position: int  # place of the snapshot in the input's time order
    count: int  # snapshots in the input
    rows: list[ShowRow]
    totals: list[PoolTotal]
    #: Where the change columns come from: "source", a previous snapshot's label, or None.
    change_origin: str | None
    matched: int  # rows that passed the pool and tag filters, before --top
    options: ShowOptions = field(default_factory=ShowOptions)

    @property
    def has_change(self) -> bool:
        return self.change_origin is not None

    def to_dict(self) -> dict[str, Any]:
        snap = self.snapshot
        return {
            "source": snap.source,
            "index": snap.index,
            "position": self.position,
            "format": snap.format,
            "timestamp": snap.timestamp.isoformat() if snap.timestamp else None,
            "time_origin": snap.time_origin.value,
            "scope": snap.scope,
            "totals": dict(snap.totals),
            "change_origin": self.change_origin,
            "matched": self.matched,
            "rows": [r.to_dict() for r in self.rows],
            "pool_totals": [t.to_dict() for t in self.totals],
        }


def _previous(result: ParseResult, position: int) -> Snapshot | None:
    """The closest earlier snapshot of the same scope, the log's "previous refresh"."""
    current = result.snapshots[position]
    for snap in reversed(result.snapshots[:position]):
        if snap.scope == current.scope:
            return snap
    return None


def _only_scope(result: ParseResult, scope: str) -> ParseResult:
    snaps = [s for s in result.snapshots if s.scope == scope]
    if not snaps and result.snapshots:
        found = ", ".join(dict.fromkeys(s.scope for s in result.snapshots))
        where = result.sources[0].name if len(result.sources) == 1 else "input"
        raise InputError(where, f"no snapshot of scope {scope!r} (found: {found})")
    return ParseResult(snaps, result.warnings, result.sources)


def _change_columns(result: ParseResult, position: int, table: RowTable) -> tuple[dict[str, np.ndarray], str | None]:
    """allocs/frees/bytes change arrays aligned with ``table`` and where they came from."""
    names = ("allocs_change", "frees_change", "bytes_change")
    own = {n: table.column(n) for n in names}
    if len(table) and any(_known(c).any() for c in own.values()):
        return own, "source"
    prev = _previous(result, position)
    if prev is None or not len(table):
        return own, None
    alignment = align(table, prev.rows)
    out = {f"{base}_change": alignment.column_change(base) for base in ("allocs", "frees", "bytes")}
    if not any(_known(c).any() for c in out.values()):
        return own, None
    return out, prev.label


def _diff_change(changes: dict[str, np.ndarray]) -> np.ndarray:
    a, f = changes["allocs_change"], changes["frees_change"]
    return np.where(_known(a) & _known(f), a - f, MISSING)


def _sort_order(table: RowTable, values: dict[str, np.ndarray], key: str, by_change: bool) -> np.ndarray:
    """Row order: numbers descending (PoolMon), unknown values last, ties by tag then pool."""
    n = len(table)
    tag_rank = np.argsort(np.argsort(np.array(table.tags, dtype=object), kind="stable"), kind="stable")
    if key == "tag" and not by_change:
        return np.lexsort((table.pool_codes, tag_rank))
    col = values[_CHANGE_OF[key]] if by_change else values[key]
    missing = ~_known(col)
    # lexsort sorts by the last key first; negate for descending, park unknowns at the end.
    primary = np.where(missing, 0, -col) if n else col
    return np.lexsort((table.pool_codes, tag_rank, primary, missing))


def show_snapshot(result: ParseResult, options: ShowOptions | None = None) -> ShowResult:
    """Select, filter and sort one snapshot of ``result`` as ``poolscope show`` prints it.

    Rows name no owner: :func:`analyzer.owners.annotate_rows` fills ``owner`` and
    ``owner_candidates``, as for every other result table.
    """
    options = options or ShowOptions()
    scope = options.scope
    if scope is None and len({s.scope for s in result.snapshots}) > 1 and any(
        s.scope == "system" for s in result.snapshots
    ):
        # PoolMon shows the system pool unless asked (/s); a log alternating `poolmon` and
        # `poolmon /s` screens should not open on an empty session screen.
        scope = "system"
    if scope is not None:
        result = _only_scope(result, scope)
    snap = select_snapshot(result, options.snapshot)
    position = next(i for i, s in enumerate(result.snapshots) if s is snap)
    table = snap.rows

    keep = TagFilter(options.include, options.exclude).mask(table)
    if options.pool != "both":
        keep &= table.pool_codes == (0 if options.pool == "nonpaged" else 1)
    changes, origin = _change_columns(result, position, table)
    sel = np.flatnonzero(keep)
    table = table.take(sel)
    changes = {k: v[sel] for k, v in changes.items()}
    if options.by_change and origin is None and len(table):
        raise InputError(snap.label, "no change columns to sort by: the screen has none and there is no "
                                     "earlier snapshot of this scope in the input")

    allocs, frees = table.column("allocs"), table.column("frees")
    nbytes = table.column("bytes")
    diff = outstanding(table)
    per = np.where(_known(nbytes) & _known(diff) & (diff > 0), nbytes // np.where(diff > 0, diff, 1), MISSING)
    values = {
        "allocs": allocs,
        "frees": frees,
        "diff": diff,
        "bytes": nbytes,
        "per-alloc": per,
        **changes,
        "diff_change": _diff_change(changes),
    }
    order = _sort_order(table, values, options.sort, options.by_change)
    if options.top is not None:
        order = order[: max(options.top, 0)]

    def opt(col: np.ndarray, i: int) -> int | None:
        v = int(col[i])
        return None if v == MISSING else v

    rows = []
    for i in order:
        tag = table.tags[i]
        rows.append(
            ShowRow(
                tag=tag,
                pool=POOLS[table.pool_codes[i]],
                allocs=opt(allocs, i),
                frees=opt(frees, i),
                diff=opt(diff, i),
                bytes=opt(nbytes, i),
                per_alloc=opt(per, i),
                allocs_change=opt(changes["allocs_change"], i),
                frees_change=opt(changes["frees_change"], i),
                bytes_change=opt(changes["bytes_change"], i),
            )
        )

    totals = []
    for code, pool in enumerate(POOLS):
        mask = table.pool_codes == code
        if options.pool not in ("both", pool):
            continue

        def total(col: np.ndarray, mask: np.ndarray = mask) -> int | None:
            picked = col[mask]
            if not len(picked) or not _known(picked).all():
                return None
            return int(picked.sum())

        totals.append(PoolTotal(pool, int(mask.sum()), total(allocs), total(frees), total(diff), total(nbytes)))

    return ShowResult(snap, position, len(result.snapshots), rows, totals, origin, len(table), options)
