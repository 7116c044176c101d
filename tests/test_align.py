"""The one "snapshot against the previous one" step that diff, show and the live view share."""

from __future__ import annotations

import numpy as np

from analyzer.analysis.align import align, outstanding
from parsers.model import MISSING, RowTable


def _table(rows: list[tuple[str, str, int | None, int | None, int | None]]) -> RowTable:
    tags, pools, allocs, frees, nbytes = zip(*rows, strict=True)
    return RowTable.from_columns(list(tags), list(pools), allocs=list(allocs), frees=list(frees), bytes=list(nbytes))


def test_rows_match_by_tag_and_pool_and_new_rows_grow_from_nothing() -> None:
    before = _table([("Abcd", "nonpaged", 10, 4, 600), ("Abcd", "paged", 5, 5, 0), ("Gone", "paged", 1, 0, 64)])
    after = _table([("Abcd", "paged", 7, 5, 128), ("Abcd", "nonpaged", 12, 4, 800), ("Newt", "nonpaged", 3, 1, None)])
    a = align(after, before)
    assert a.index.tolist() == [1, 0, -1]
    assert a.found.tolist() == [True, True, False]
    assert a.vanished.tolist() == [2]
    assert a.column_change("bytes").tolist() == [128, 200, MISSING]  # new row with unknown bytes stays unknown
    assert a.column_change("allocs").tolist() == [2, 2, 3]
    assert a.earlier(before.column("frees")).tolist() == [5, 4, MISSING]


def test_unknown_figure_on_either_side_gives_unknown_change() -> None:
    before = _table([("Abcd", "nonpaged", None, 4, 600)])
    after = _table([("Abcd", "nonpaged", 9, 4, None)])
    a = align(after, before)
    assert a.column_change("allocs").tolist() == [MISSING]
    assert a.column_change("bytes").tolist() == [MISSING]
    assert a.column_change("frees").tolist() == [0]


def test_empty_previous_makes_every_row_new() -> None:
    after = _table([("Abcd", "nonpaged", 9, 4, 100)])
    a = align(after, RowTable.empty())
    assert a.column_change("bytes").tolist() == [100]
    assert a.vanished.tolist() == []


def test_outstanding_falls_back_to_allocs_minus_frees() -> None:
    table = RowTable.from_columns(["Abcd", "Efgh", "Ijkl"], ["paged"] * 3, allocs=[9, 9, None],
                                  frees=[4, 4, 1], outstanding=[7, None, None])
    assert np.array_equal(outstanding(table), [7, 5, MISSING])
