"""The snapshot model: columnar storage, None for unknown values, equality without positions."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from parsers.model import MISSING, Row, RowTable, Snapshot, TimeOrigin


def _table() -> RowTable:
    return RowTable.from_rows(
        [
            Row("Abcd", "nonpaged", allocs=1520331, frees=1519870, outstanding=461, bytes=147520),
            Row("Abcd", "paged", outstanding=12, bytes=3840),
            Row("CM  ", "paged", allocs=10, frees=4, outstanding=6, bytes=600, mapped_driver="nt!cm - Config"),
        ]
    )


def test_rows_round_trip_with_none_for_unknown() -> None:
    table = _table()
    assert len(table) == 3
    assert table.row(0) == Row("Abcd", "nonpaged", 1520331, 1519870, 461, 147520)
    paged = table.get("Abcd", "paged")
    assert paged is not None
    assert paged.allocs is None and paged.frees is None
    assert paged.outstanding == 12
    assert table.get("CM  ", "paged").mapped_driver == "nt!cm - Config"
    assert table.get("CM  ", "nonpaged") is None


def test_columns_are_int64_arrays_with_missing_sentinel() -> None:
    table = _table()
    allocs = table.column("allocs")
    assert allocs.dtype == np.int64
    assert allocs.tolist() == [1520331, MISSING, 10]
    assert table.column("bytes_change").tolist() == [MISSING] * 3


def test_per_alloc_is_floor_of_bytes_over_outstanding() -> None:
    assert Row("Abcd", "nonpaged", outstanding=3, bytes=1000).per_alloc == 333
    assert Row("Abcd", "nonpaged", outstanding=0, bytes=0).per_alloc is None
    assert Row("Abcd", "nonpaged").per_alloc is None


def test_from_columns_accepts_pool_names_and_none() -> None:
    table = RowTable.from_columns(["Io  ", "Io  "], ["nonpaged", "paged"], outstanding=[1, None], bytes=[64, 128])
    assert table.pools() == ["nonpaged", "paged"]
    assert table.row(1).outstanding is None
    assert table.row(1).bytes == 128


def test_take_selects_and_reorders() -> None:
    table = _table().take([2, 0])
    assert table.keys() == [("CM  ", "paged"), ("Abcd", "nonpaged")]
    assert table.row(0).mapped_driver == "nt!cm - Config"


def test_unknown_pool_and_column_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown pool"):
        RowTable.from_columns(["Abcd"], ["session"], bytes=[1])
    with pytest.raises(ValueError, match="unknown columns"):
        RowTable.from_columns(["Abcd"], ["paged"], size=[1])


def test_snapshot_equality_ignores_line_and_extra() -> None:
    a = Snapshot("x.log", 0, "poolmon", _table(), datetime(2026, 11, 21, 14, 3, 7), TimeOrigin.MARKER, line=3)
    b = Snapshot("x.log", 0, "poolmon", _table(), datetime(2026, 11, 21, 14, 3, 7), TimeOrigin.MARKER, line=99,
                 extra={"note": 1})
    assert a == b
    c = Snapshot("x.log", 0, "poolmon", _table().take([0, 1]), a.timestamp)
    assert a != c


def test_to_dict_follows_the_json_contract() -> None:
    snap = Snapshot(
        "logs/run1.log", 0, "poolmon", _table(), datetime(2026, 11, 21, 14, 3, 7), scope="system",
        totals={"paged_kb": 402116, "nonpaged_kb": 310228},
    )
    d = snap.to_dict()
    assert list(d) == ["source", "index", "format", "timestamp", "scope", "totals", "rows"]
    assert d["timestamp"] == "2026-11-21T14:03:07"
    assert list(d["totals"]) == ["nonpaged_kb", "paged_kb"]
    assert d["rows"][1] == {"tag": "Abcd", "pool": "paged", "allocs": None, "frees": None, "outstanding": 12,
                            "bytes": 3840, "owner": None}
    assert snap.to_dict(owners=lambda tag: f"owner of {tag}")["rows"][0]["owner"] == "owner of Abcd"


def test_storage_is_compact() -> None:
    n = 3000
    table = RowTable.from_columns([f"T{i:03d}"[:4] for i in range(n)], np.zeros(n, dtype=np.uint8),
                                  bytes=np.arange(n, dtype=np.int64))
    # seven int64 columns and one uint8 pool column per row, nothing per number
    assert table.nbytes() == n * (7 * 8 + 1)
