"""A snapshot against the previous one: rows matched by (tag, pool), changes as int64 columns.

``diff``, ``show``'s change columns and the live view all compare two snapshots the same
way; this is the one place that does it, so a tag new since the previous snapshot counts
as having grown from nothing everywhere, and an unknown figure stays unknown everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parsers.model import MISSING, POOLS, RowTable


def known(column: np.ndarray) -> np.ndarray:
    """True where an int64 column carries a value (not MISSING)."""
    return column != MISSING


def outstanding(table: RowTable) -> np.ndarray:
    """PoolMon's Diff column: outstanding as read, else allocs − frees where both are known."""
    out = table.column("outstanding")
    allocs, frees = table.column("allocs"), table.column("frees")
    return np.where(known(out), out, np.where(known(allocs) & known(frees), allocs - frees, MISSING))


@dataclass(frozen=True)
class Alignment:
    """The rows of ``current`` matched to the rows of ``previous``."""

    current: RowTable
    previous: RowTable
    #: For each row of ``current``, its row in ``previous``, or -1 when it is new.
    index: np.ndarray
    #: Rows of ``previous`` that ``current`` no longer has, in ``previous``'s order.
    vanished: np.ndarray

    @property
    def found(self) -> np.ndarray:
        """True for the rows of ``current`` that ``previous`` has too."""
        return self.index >= 0

    def earlier(self, column: np.ndarray) -> np.ndarray:
        """A column of ``previous`` laid onto the rows of ``current`` (MISSING for new rows)."""
        if not len(column):
            return np.full(len(self.index), MISSING, dtype=np.int64)
        found = self.found
        return np.where(found, column[np.where(found, self.index, 0)], MISSING).astype(np.int64)

    def change(self, now: np.ndarray, before: np.ndarray) -> np.ndarray:
        """``now`` − ``before`` per row of ``current``; ``before`` is a column of ``previous``.

        A row new since ``previous`` grew from nothing (its change is its value); a row
        with either figure unknown has an unknown change.
        """
        then = self.earlier(before)
        both = known(now) & known(then)
        new = known(now) & ~self.found
        return np.where(both, now - then, np.where(new, now, MISSING)).astype(np.int64)

    def column_change(self, name: str) -> np.ndarray:
        """The change of one numeric column (``allocs``, ``bytes``, ...) since ``previous``."""
        return self.change(self.current.column(name), self.previous.column(name))


def align(current: RowTable, previous: RowTable) -> Alignment:
    """Match every row of ``current`` to the row of ``previous`` with the same (tag, pool)."""
    index = np.array(
        [-1 if (j := previous.index_of(tag, POOLS[code])) is None else j
         for tag, code in zip(current.tags, current.pool_codes, strict=True)],
        dtype=np.intp,
    )
    matched = np.zeros(len(previous), dtype=bool)
    matched[index[index >= 0]] = True
    return Alignment(current, previous, index, np.flatnonzero(~matched))

