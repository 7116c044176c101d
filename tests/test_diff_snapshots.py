"""analyzer.analysis.diff: per (tag, pool) changes between two snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from analyzer.analysis.diff import diff_snapshots
from analyzer.render.columns import DIFF_COLUMNS
from analyzer.render.tables import render_csv
from parsers.model import Row, RowTable, Snapshot

T0 = datetime(2026, 11, 21, 9, 0)


def snap(rows, index=0, when=T0):
    return Snapshot("x.log", index, "poolmon", RowTable.from_rows(rows), timestamp=when)


BEFORE = snap([
    Row("Abcd", "nonpaged", allocs=100, frees=90, outstanding=10, bytes=1000),
    Row("Abcd", "paged", allocs=50, frees=50, outstanding=0, bytes=0),
    Row("Gone", "paged", allocs=7, frees=2, outstanding=5, bytes=500),
    Row("Used", "nonpaged", outstanding=4, bytes=400),  # !poolused: no cumulative counters
])
AFTER = snap([
    Row("Abcd", "nonpaged", allocs=300, frees=200, outstanding=100, bytes=10000),
    Row("Abcd", "paged", allocs=50, frees=50, outstanding=0, bytes=0),
    Row("Newt", "nonpaged", allocs=3, frees=0, outstanding=3, bytes=3000),
    Row("Used", "nonpaged", outstanding=2, bytes=200),
], index=5, when=T0 + timedelta(minutes=30))


def test_rows_statuses_and_changes():
    result = diff_snapshots(BEFORE, AFTER)
    rows = {(r.tag, r.pool): r for r in result.rows}
    a = rows[("Abcd", "nonpaged")]
    assert (a.status, a.bytes_change, a.outstanding_change, a.allocs_change, a.frees_change) == (
        "changed", 9000, 90, 200, 110)
    assert a.percent_change == 900.0
    assert rows[("Abcd", "paged")].status == "same" and rows[("Abcd", "paged")].percent_change == 0.0
    new = rows[("Newt", "nonpaged")]
    assert (new.status, new.bytes_before, new.bytes_change, new.percent_change) == ("new", None, 3000, None)
    gone = rows[("Gone", "paged")]
    assert (gone.status, gone.bytes_after, gone.bytes_change, gone.percent_change) == ("vanished", None, -500,
                                                                                       -100.0)
    used = rows[("Used", "nonpaged")]
    assert used.allocs_change is None and used.frees_change is None and used.bytes_change == -200
    assert result.counts.to_dict() == {"new": 1, "vanished": 1, "changed": 2, "churn": 0, "same": 1}


def test_sorted_by_byte_growth():
    result = diff_snapshots(BEFORE, AFTER)
    assert [r.tag for r in result.rows] == ["Abcd", "Newt", "Abcd", "Used", "Gone"]


def test_totals_per_pool_and_interval():
    result = diff_snapshots(BEFORE, AFTER)
    assert result.totals["nonpaged"].to_dict() == {"bytes_before": 1400, "bytes_after": 13200, "bytes_change": 11800}
    assert result.totals["paged"].to_dict() == {"bytes_before": 500, "bytes_after": 0, "bytes_change": -500}
    assert result.interval_seconds == 1800
    assert (result.before, result.after) == ("x.log#0", "x.log#5")


def test_min_change_hides_small_rows_but_not_totals():
    result = diff_snapshots(BEFORE, AFTER, min_change=1000)
    assert [r.tag for r in result.rows] == ["Abcd", "Newt"]
    assert result.totals["paged"].bytes_change == -500


def test_to_dict_and_csv_use_the_same_keys():
    doc = diff_snapshots(BEFORE, AFTER).to_dict()
    assert set(doc) == {"before", "after", "before_time", "after_time", "interval_seconds", "totals", "counts",
                        "hidden", "rows"}
    header = render_csv(diff_snapshots(BEFORE, AFTER).rows, DIFF_COLUMNS).splitlines()[0].split(",")
    assert set(header) <= set(doc["rows"][0])


@given(st.dictionaries(st.sampled_from(["Aaaa", "Bbbb", "Cccc", "Dddd"]), st.integers(0, 10**9), max_size=4),
       st.dictionaries(st.sampled_from(["Aaaa", "Bbbb", "Cccc", "Eeee"]), st.integers(0, 10**9), max_size=4))
def test_changes_add_up_to_the_totals(before, after):
    a = snap([Row(t, "paged", outstanding=1, bytes=b) for t, b in before.items()])
    b = snap([Row(t, "paged", outstanding=1, bytes=v) for t, v in after.items()])
    result = diff_snapshots(a, b)
    assert sum(r.bytes_change for r in result.rows) == result.totals["paged"].bytes_change
    assert result.totals["paged"].bytes_change == sum(after.values()) - sum(before.values())
    changes = [r.bytes_change for r in result.rows]
    assert changes == sorted(changes, reverse=True)


def test_narrow_tables_drop_optional_columns_before_numbers_are_cut():
    from analyzer.render.time_output import render_diff

    result = diff_snapshots(BEFORE, AFTER)
    for row in result.rows:
        row.owner = "abc.sys - a rather long owner description"
    wide = render_diff(result, width=160).splitlines()[3]
    assert wide.split() == ["Tag", "Pool", "Status", "Before", "After", "Change", "%", "Diff", "chg", "Allocs",
                            "chg", "Frees", "chg", "Owner"]
    narrow = render_diff(result, width=80).splitlines()
    assert narrow[3].split() == ["Tag", "Pool", "Status", "Before", "After", "Change", "%", "Diff", "chg", "Owner"]
    assert all(len(line) <= 80 for line in narrow)
    assert "a rather long owner description" not in narrow[5] and "abc.sys - a" in narrow[5]
    tiny = render_diff(result, width=50).splitlines()[3]
    assert "Owner" not in tiny and tiny.split()[:3] == ["Tag", "Pool", "Status"]
