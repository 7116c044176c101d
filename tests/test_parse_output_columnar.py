"""The columnar (Arrow) writers of ``parse --format csv/json`` write the plain writers' bytes exactly."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import analyzer.render.parse_output as po
from analyzer.owners import build_resolver
from parsers import ParseResult, Row, RowTable, Snapshot, TimeOrigin, parse

pytest.importorskip("pyarrow", reason="the columnar writers need the optional fleet extra (pyarrow)")

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SKIP = {"README.md", "make_samples.py", "make_exports.py", "pooltag_sample.txt"}


def _both(result: ParseResult, owners, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[str, str], tuple[str, str]]:
    columnar = (po.to_json(result, owners), po.to_csv(result, owners))
    with monkeypatch.context() as m:
        m.setattr(po, "_ARROW", [None])  # as if pyarrow were not installed
        plain = (po.to_json(result, owners), po.to_csv(result, owners))
    return columnar, plain


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir() if p.name not in SKIP))
def test_every_sample_writes_the_same_bytes(name, monkeypatch):
    result = parse([str(SAMPLES / name)])
    columnar, plain = _both(result, build_resolver((), result.snapshots), monkeypatch)
    assert columnar == plain
    assert columnar[1].count("\n") >= 1 + sum(len(s.rows) for s in result.snapshots)


odd = st.text(st.sampled_from(list('Ab ,"\r\n\\é€\t')), min_size=1, max_size=6)
numbers = st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62))


@given(st.lists(st.lists(st.tuples(odd, st.sampled_from(["nonpaged", "paged"]), numbers, numbers, numbers,
                                   st.one_of(st.none(), odd)),
                         max_size=6, unique_by=lambda r: (r[0], r[1])), min_size=1, max_size=4),
       st.dictionaries(odd, odd, max_size=3), st.integers(min_value=1, max_value=5))
def test_chunks_of_any_size_write_the_same_bytes(snapshots, owner_map, chunk_rows):
    snaps = [Snapshot(f"h{i},\"x\".log", i, "poolmon",
                      RowTable.from_rows(Row(t, p, allocs=a, outstanding=o, bytes=b, mapped_driver=d)
                                         for t, p, a, o, b, d in rows),
                      datetime(2026, 11, 21, 14, i), TimeOrigin.MARKER, "system")
             for i, rows in enumerate(snapshots)]
    result = ParseResult(snaps)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(po, "CHUNK_ROWS", chunk_rows)
        columnar, plain = _both(result, owner_map.get, m)
    assert columnar == plain
