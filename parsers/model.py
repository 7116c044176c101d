"""The snapshot model every parser emits and every analysis consumes.

A :class:`Snapshot` is one point in time of one pool scope.  Its rows live in a
:class:`RowTable`, which keeps each numeric column as one ``numpy.int64`` array
(``MISSING`` marks a value the source did not carry), so that a log of thousands
of frames of thousands of tags stays compact.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

#: Sentinel stored in an int64 column for "the source does not carry this value".
MISSING: int = int(np.iinfo(np.int64).min)

#: What a numeric column can hold (MISSING, the int64 minimum, is reserved).
INT64_LOW, INT64_HIGH = MISSING + 1, int(np.iinfo(np.int64).max)
#: The message every reader uses for a row with a number beyond the model's range.
OUT_OF_RANGE = "number beyond the 64-bit range of the row model; row left out"


def fits_int64(values: Iterable[int | None]) -> bool:
    """Whether every value can be stored in an int64 column (None means missing and fits)."""
    return all(v is None or INT64_LOW <= v <= INT64_HIGH for v in values)


def local_wall_clock(when: datetime) -> datetime:
    """A zoned time as this machine's local wall clock, zone-less; a zone-less time as it is.

    Python cannot order or subtract zoned and zone-less times; PoolMon's markers are local
    and zone-less, so zoned times (capture logs, ISO markers with an offset) move to match.
    """
    if when.tzinfo is None:
        return when
    try:
        return when.astimezone().replace(tzinfo=None)
    except (OverflowError, ValueError, OSError):
        return when.replace(tzinfo=None)  # at the edge of the calendar: keep the written clock


NONPAGED = "nonpaged"
PAGED = "paged"
POOLS: tuple[str, str] = (NONPAGED, PAGED)
_POOL_CODE = {NONPAGED: 0, PAGED: 1}

#: The numeric columns of a row, in contract order after tag and pool.
NUMERIC_COLUMNS: tuple[str, ...] = (
    "allocs",
    "frees",
    "outstanding",
    "bytes",
    "allocs_change",
    "frees_change",
    "bytes_change",
)

#: Header totals a snapshot may carry (all KB), in contract order.
TOTAL_KEYS: tuple[str, ...] = (
    "nonpaged_kb",
    "paged_kb",
    "memory_kb",
    "avail_kb",
    "commit_kb",
    "commit_limit_kb",
    "commit_peak_kb",
)


class TimeOrigin(str, enum.Enum):
    """How a snapshot's timestamp was learned; analysis trusts them in this order."""

    SOURCE = "source"  # written by the producer itself (capture log, debugger)
    MARKER = "marker"  # a time marker line in a log (echo %DATE% %TIME%, banners, Get-Date)
    FILENAME = "filename"  # a timestamp in the file name
    MTIME = "mtime"  # the file's modification time
    INTERVAL = "interval"  # file order times a user-given interval
    UNKNOWN = "unknown"


def pool_name(code: int) -> str:
    return POOLS[code]


def pool_code(name: str) -> int:
    try:
        return _POOL_CODE[name]
    except KeyError:
        raise ValueError(f"unknown pool {name!r}; expected 'nonpaged' or 'paged'") from None


@dataclass(frozen=True)
class Row:
    """One (tag, pool) row as plain Python values; ``None`` where the source is silent."""

    tag: str
    pool: str
    allocs: int | None = None
    frees: int | None = None
    outstanding: int | None = None
    bytes: int | None = None
    allocs_change: int | None = None
    frees_change: int | None = None
    bytes_change: int | None = None
    mapped_driver: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.tag, self.pool)

    @property
    def per_alloc(self) -> int | None:
        """PoolMon's Per Alloc: floor(Bytes / Diff), undefined without outstanding allocations."""
        if self.bytes is None or not self.outstanding:
            return None
        return self.bytes // self.outstanding


def _row_key(row: Row) -> tuple[str, str]:
    return row.key


def _opt(value: int) -> int | None:
    return None if value == MISSING else int(value)


class RowTable:
    """Columnar rows of one snapshot: tags, pool codes and int64 numeric columns.

    Construct with :meth:`from_rows` (convenient) or :meth:`from_columns` (fast,
    what the bulk parsers use).  Rows are unique by (tag, pool).
    """

    __slots__ = ("_columns", "_index", "mapped_driver", "pool_codes", "tags")

    def __init__(
        self,
        tags: Sequence[str],
        pool_codes: np.ndarray,
        columns: Mapping[str, np.ndarray],
        mapped_driver: Sequence[str | None] | None = None,
    ) -> None:
        n = len(tags)
        self.tags: list[str] = list(tags)
        self.pool_codes = np.asarray(pool_codes, dtype=np.uint8)
        if len(self.pool_codes) != n:
            raise ValueError("pool column length differs from tag column length")
        cols: dict[str, np.ndarray] = {}
        for name in NUMERIC_COLUMNS:
            col = columns.get(name)
            if col is None:
                cols[name] = np.full(n, MISSING, dtype=np.int64)
            else:
                arr = np.asarray(col, dtype=np.int64)
                if len(arr) != n:
                    raise ValueError(f"column {name} has {len(arr)} values for {n} rows")
                cols[name] = arr
        unknown = set(columns) - set(NUMERIC_COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns: {sorted(unknown)}")
        self._columns = cols
        # Mapped_Driver text is rare and mostly absent; keep it None instead of n Nones.
        if mapped_driver is not None and any(m is not None for m in mapped_driver):
            self.mapped_driver: list[str | None] | None = list(mapped_driver)
        else:
            self.mapped_driver = None
        self._index: dict[tuple[str, int], int] | None = None

    # -- construction -------------------------------------------------------------------
    @classmethod
    def empty(cls) -> RowTable:
        return cls([], np.zeros(0, dtype=np.uint8), {})

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> RowTable:
        rows = list(rows)
        cols = {
            name: np.array(
                [MISSING if getattr(r, name) is None else getattr(r, name) for r in rows], dtype=np.int64
            )
            for name in NUMERIC_COLUMNS
        }
        return cls(
            [r.tag for r in rows],
            np.array([pool_code(r.pool) for r in rows], dtype=np.uint8),
            cols,
            [r.mapped_driver for r in rows],
        )

    @classmethod
    def from_columns(
        cls,
        tags: Sequence[str],
        pools: Sequence[str] | np.ndarray,
        mapped_driver: Sequence[str | None] | None = None,
        **columns: Any,
    ) -> RowTable:
        """Build from column sequences; ``pools`` may be names or 0/1 codes, ``None`` values become MISSING."""
        if len(pools) and isinstance(pools[0], str):
            codes = np.array([pool_code(p) for p in pools], dtype=np.uint8)
        else:
            codes = np.asarray(pools, dtype=np.uint8)
        arrays = {}
        for name, values in columns.items():
            if isinstance(values, np.ndarray) and values.dtype == np.int64:
                arrays[name] = values
            else:
                arrays[name] = np.array([MISSING if v is None else v for v in values], dtype=np.int64)
        return cls(tags, codes, arrays, mapped_driver)

    # -- access -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tags)

    def __iter__(self) -> Iterator[Row]:
        for i in range(len(self.tags)):
            yield self.row(i)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RowTable):
            return NotImplemented
        if len(self) != len(other):
            return False
        return sorted(self, key=_row_key) == sorted(other, key=_row_key)

    def __repr__(self) -> str:
        return f"RowTable({len(self)} rows)"

    def column(self, name: str) -> np.ndarray:
        """The raw int64 column (MISSING where unknown). Do not modify it."""
        return self._columns[name]

    def pools(self) -> list[str]:
        return [POOLS[c] for c in self.pool_codes]

    def row(self, i: int) -> Row:
        c = self._columns
        return Row(
            tag=self.tags[i],
            pool=POOLS[self.pool_codes[i]],
            allocs=_opt(c["allocs"][i]),
            frees=_opt(c["frees"][i]),
            outstanding=_opt(c["outstanding"][i]),
            bytes=_opt(c["bytes"][i]),
            allocs_change=_opt(c["allocs_change"][i]),
            frees_change=_opt(c["frees_change"][i]),
            bytes_change=_opt(c["bytes_change"][i]),
            mapped_driver=self.mapped_driver[i] if self.mapped_driver is not None else None,
        )

    def keys(self) -> list[tuple[str, str]]:
        return [(t, POOLS[c]) for t, c in zip(self.tags, self.pool_codes, strict=True)]

    def index_of(self, tag: str, pool: str) -> int | None:
        if self._index is None:
            self._index = {(t, int(c)): i for i, (t, c) in enumerate(zip(self.tags, self.pool_codes, strict=True))}
        return self._index.get((tag, pool_code(pool)))

    def get(self, tag: str, pool: str) -> Row | None:
        i = self.index_of(tag, pool)
        return None if i is None else self.row(i)

    def take(self, indices: Sequence[int] | np.ndarray) -> RowTable:
        """A new table with the rows at ``indices`` (a selection or a permutation)."""
        idx = np.asarray(indices, dtype=np.intp)
        return RowTable(
            [self.tags[i] for i in idx],
            self.pool_codes[idx],
            {name: col[idx] for name, col in self._columns.items()},
            [self.mapped_driver[i] for i in idx] if self.mapped_driver is not None else None,
        )

    def nbytes(self) -> int:
        """Memory held by the numeric and pool columns (tags excluded)."""
        return int(self.pool_codes.nbytes + sum(c.nbytes for c in self._columns.values()))


@dataclass(eq=False)
class Snapshot:
    """One point in time of one pool scope, as read from one source.

    ``line`` (where the frame starts in its source) and ``extra`` (format-specific
    evidence such as `!poolused` descriptions or `!vm` figures) are kept out of
    equality: two snapshots are equal when they say the same thing about the pools.
    """

    source: str
    index: int
    format: str
    rows: RowTable = field(default_factory=RowTable.empty)
    timestamp: datetime | None = None
    time_origin: TimeOrigin = TimeOrigin.UNKNOWN
    scope: str = "system"
    totals: dict[str, int] = field(default_factory=dict)
    line: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Snapshot):
            return NotImplemented
        return (
            self.source == other.source
            and self.index == other.index
            and self.format == other.format
            and self.timestamp == other.timestamp
            and self.scope == other.scope
            and self.totals == other.totals
            and self.rows == other.rows
        )

    def __repr__(self) -> str:
        ts = self.timestamp.isoformat() if self.timestamp else None
        return f"Snapshot({self.source}#{self.index}, {self.format}, {ts}, {self.scope}, {len(self.rows)} rows)"

    @property
    def label(self) -> str:
        return f"{self.source}#{self.index}"

    def to_dict(self, owners: Any = None) -> dict[str, Any]:
        """The JSON contract (docs/json-contract.md); ``owners`` maps a tag to its best owner string."""
        rows = []
        cols = {name: self.rows.column(name) for name in ("allocs", "frees", "outstanding", "bytes")}
        for i, tag in enumerate(self.rows.tags):
            owner = owners(tag) if owners is not None else None
            rows.append(
                {
                    "tag": tag,
                    "pool": POOLS[self.rows.pool_codes[i]],
                    "allocs": _opt(cols["allocs"][i]),
                    "frees": _opt(cols["frees"][i]),
                    "outstanding": _opt(cols["outstanding"][i]),
                    "bytes": _opt(cols["bytes"][i]),
                    "owner": owner,
                }
            )
        return {
            "source": self.source,
            "index": self.index,
            "format": self.format,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "scope": self.scope,
            "totals": {k: self.totals[k] for k in TOTAL_KEYS if k in self.totals}
            | {k: v for k, v in self.totals.items() if k not in TOTAL_KEYS},
            "rows": rows,
        }
