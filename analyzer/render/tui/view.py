"""The state behind the PoolMon-like view, kept apart from textual so it can be tested plainly.

PoolMon's keys map onto :class:`PoolView` methods: ``p`` cycles the pool shown,
``b m t a f d`` choose the sort column (pressing the same key again reverses it),
``(`` sorts by the change column instead, ``e`` shows totals.  Changes are computed
against the previous snapshot of the provider, so stepping through a saved log
highlights exactly what moved between two frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from analyzer.analysis.align import align, known, outstanding
from analyzer.analysis.filters import TagFilter
from parsers.model import MISSING, POOLS, Snapshot

#: Sort keys in PoolMon's letters.
SORT_KEYS: dict[str, str] = {
    "t": "tag",
    "a": "allocs",
    "f": "frees",
    "d": "diff",
    "b": "bytes",
    "m": "per_alloc",
}

#: The column heading each sort key names, for the status line.
SORT_LABELS: dict[str, str] = {
    "tag": "Tag",
    "allocs": "Allocs",
    "frees": "Frees",
    "diff": "Diff",
    "bytes": "Bytes",
    "per_alloc": "Per Alloc",
}

#: Which change column ``(`` sorts by for each sort key.
CHANGE_OF: dict[str, str] = {
    "tag": "bytes_change",
    "allocs": "allocs_change",
    "frees": "frees_change",
    "diff": "diff_change",
    "bytes": "bytes_change",
    "per_alloc": "bytes_change",
}

#: ``p`` cycles through these, as PoolMon does.
POOL_CYCLE: tuple[str, ...] = ("both", "nonpaged", "paged")


@dataclass(frozen=True)
class ViewRow:
    """One displayed row; ``None`` where the snapshot does not carry the value."""

    tag: str
    pool: str
    allocs: int | None
    allocs_change: int | None
    frees: int | None
    frees_change: int | None
    diff: int | None
    diff_change: int | None
    bytes: int | None
    bytes_change: int | None
    per_alloc: int | None
    owner: str | None = None
    new: bool = False  # absent from the previous snapshot

    @property
    def changed(self) -> bool:
        """Worth highlighting: new, or any counter moved since the previous snapshot."""
        return self.new or any(
            v not in (None, 0) for v in (self.allocs_change, self.frees_change, self.diff_change, self.bytes_change)
        )


@dataclass(frozen=True)
class Totals:
    pool: str
    allocs: int
    frees: int
    diff: int
    bytes: int
    bytes_change: int


class TagPredicate:
    """PoolMon-style tag filter text: ``Abc* Ntf?`` includes, ``/xAb?d`` or ``!Ab?d`` excludes.

    ``/iPattern`` is accepted too (PoolMon's include switch).  Matching is
    case-sensitive with ``*`` and ``?`` only, like PoolMon; a tag's trailing
    padding is ignored so ``CM`` matches ``CM  ``: the shared
    :class:`analyzer.analysis.filters.TagFilter` does the matching.
    """

    def __init__(self, text: str = "") -> None:
        include: list[str] = []
        exclude: list[str] = []
        for word in text.split():
            low = word[:2].lower()
            if low == "/x" and len(word) > 2:
                exclude.append(word[2:])
            elif low == "/i" and len(word) > 2:
                include.append(word[2:])
            elif word.startswith("!") and len(word) > 1:
                exclude.append(word[1:])
            else:
                include.append(word)
        self.text = text.strip()
        self.include = include
        self.exclude = exclude
        self._match = _make_matcher(include, exclude)

    def __call__(self, tag: str) -> bool:
        return self._match(tag)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)


def _make_matcher(include: list[str], exclude: list[str]) -> Callable[[str], bool]:
    return TagFilter(include=include, exclude=exclude).matches


def _opt(value: int) -> int | None:
    return None if value == MISSING else int(value)


@dataclass
class PoolView:
    """Sort, pool choice, filter and snapshot position of the view."""

    sort: str = "bytes"
    descending: bool = True
    by_change: bool = False
    pool: str = "both"
    show_totals: bool = False
    show_changes: bool = True
    filter: TagPredicate = field(default_factory=TagPredicate)

    # -- PoolMon keys ---------------------------------------------------------------
    def press_sort(self, letter: str) -> None:
        key = SORT_KEYS[letter]
        if key == self.sort:
            self.descending = not self.descending
        else:
            self.sort = key
            self.descending = key != "tag"

    def cycle_pool(self) -> None:
        self.pool = POOL_CYCLE[(POOL_CYCLE.index(self.pool) + 1) % len(POOL_CYCLE)]

    def toggle_change_sort(self) -> None:
        self.by_change = not self.by_change

    def toggle_totals(self) -> None:
        self.show_totals = not self.show_totals

    def set_filter(self, text: str) -> None:
        self.filter = TagPredicate(text)

    @property
    def sort_column(self) -> str:
        return CHANGE_OF[self.sort] if self.by_change else self.sort

    def describe(self) -> str:
        """The view's state in the words of the column headings (not the internal field names)."""
        label = SORT_LABELS[self.sort_column.removesuffix("_change")] + (" change" if self.by_change else "")
        if self.sort == "tag" and not self.by_change:
            order = "Z-A" if self.descending else "A-Z"
        else:
            order = "largest first" if self.descending else "smallest first"
        parts = [f"pool: {self.pool}", f"sort: {label}, {order}"]
        if self.filter:
            parts.append(f"filter: {self.filter.text}")
        return "  ".join(parts)

    # -- rows -----------------------------------------------------------------------
    def rows(
        self,
        snapshot: Snapshot,
        previous: Snapshot | None = None,
        owner: Callable[[str], str | None] | None = None,
    ) -> list[ViewRow]:
        """The rows to display for ``snapshot``, changes taken against ``previous``."""
        out = [r for r in build_rows(snapshot, previous, owner) if self._keep(r)]
        key = self.sort_column
        if key == "tag":
            out.sort(key=lambda r: (r.tag, r.pool), reverse=self.descending)
            return out
        known = [r for r in out if getattr(r, key) is not None]
        unknown = [r for r in out if getattr(r, key) is None]
        # Ties broken by tag so the order is stable from frame to frame.
        known.sort(key=lambda r: (r.tag, r.pool))
        known.sort(key=lambda r: getattr(r, key), reverse=self.descending)
        return known + sorted(unknown, key=lambda r: (r.tag, r.pool))

    def _keep(self, row: ViewRow) -> bool:
        if self.pool != "both" and row.pool != self.pool:
            return False
        return not self.filter or self.filter(row.tag)

    def totals(self, rows: list[ViewRow]) -> list[Totals]:
        out = []
        for pool in POOLS:
            sel = [r for r in rows if r.pool == pool]
            if not sel:
                continue
            out.append(
                Totals(
                    pool,
                    sum(r.allocs or 0 for r in sel),
                    sum(r.frees or 0 for r in sel),
                    sum(r.diff or 0 for r in sel),
                    sum(r.bytes or 0 for r in sel),
                    sum(r.bytes_change or 0 for r in sel),
                )
            )
        return out


def build_rows(
    snapshot: Snapshot, previous: Snapshot | None = None, owner: Callable[[str], str | None] | None = None
) -> list[ViewRow]:
    """Every row of ``snapshot`` with its changes since ``previous``.

    Without a previous snapshot the change columns the source itself carries
    (PoolMon's bracketed figures) are used.
    """
    t = snapshot.rows
    diff_col = outstanding(t)
    if previous is None:
        ac_col, fc_col, bc_col = (t.column(n) for n in ("allocs_change", "frees_change", "bytes_change"))
        dc_col = np.where(known(ac_col) & known(fc_col), ac_col - fc_col, MISSING)
        new_rows = np.zeros(len(t), dtype=bool)
    else:
        alignment = align(t, previous.rows)
        ac_col, fc_col, bc_col = (alignment.column_change(n) for n in ("allocs", "frees", "bytes"))
        dc_col = alignment.change(diff_col, outstanding(previous.rows))
        new_rows = ~alignment.found
    cols = {name: t.column(name) for name in ("allocs", "frees", "bytes")}
    owners: dict[str, str | None] = {}
    out = []
    for i, tag in enumerate(t.tags):
        code = int(t.pool_codes[i])
        allocs = _opt(cols["allocs"][i])
        frees = _opt(cols["frees"][i])
        diff = _opt(diff_col[i])
        nbytes = _opt(cols["bytes"][i])
        ac, fc, dc, bc = _opt(ac_col[i]), _opt(fc_col[i]), _opt(dc_col[i]), _opt(bc_col[i])
        new = bool(new_rows[i])
        if owner is not None:
            if tag not in owners:
                owners[tag] = owner(tag)
            who = owners[tag]
        else:
            who = t.mapped_driver[i] if t.mapped_driver is not None else None
        out.append(
            ViewRow(
                tag=tag,
                pool=POOLS[code],
                allocs=allocs,
                allocs_change=ac,
                frees=frees,
                frees_change=fc,
                diff=diff,
                diff_change=dc,
                bytes=nbytes,
                bytes_change=bc,
                per_alloc=nbytes // diff if nbytes is not None and diff else None,
                owner=who,
                new=new,
            )
        )
    return out
