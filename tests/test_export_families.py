"""The export families people attach: PowerShell PoolMon ports, PoolMonX, Volatility, performance counters.

Each is recognised by its content (never by its file name) and read back to the numbers the
sample generator (samples/make_exports.py) wrote.
"""

from __future__ import annotations

import pytest
from cli_helpers import SAMPLES

from parsers import parse, parse_text
from parsers.formats import detect
from parsers.poolmonx import read_numbers
from parsers.textio import read_path, text_source


@pytest.mark.parametrize(
    ("sample", "family"),
    [
        ("ps_poolmon_20261121_1400.csv", "poolmon-csv"),
        ("ps_poolmon_appended.csv", "poolmon-csv"),
        ("ps_poolmon_kv.log", "poolmon-kv"),
        ("poolmonx_saved.csv", "poolmonx"),
        ("vol2_pooltracker.txt", "pooltracker"),
        ("vol3_bigpools.txt", "bigpools"),
        ("perfmon_pool.csv", "perfcounter"),
    ],
)
def test_each_family_is_detected_by_content(sample, family):
    source = next(read_path(SAMPLES / sample))
    renamed = text_source(source.text, "attachment.txt")  # the name must not matter
    assert detect(renamed).name == family


def _row(snap, tag, pool):
    row = snap.rows.get(tag, pool)
    assert row is not None, (tag, pool)
    return (row.allocs, row.frees, row.outstanding, row.bytes)


def test_powershell_csv_export_with_type_line_and_owners():
    result = parse([SAMPLES / "ps_poolmon_20261121_1400.csv"])
    [snap] = result.snapshots
    assert snap.timestamp.isoformat() == "2026-11-21T14:00:00"
    # Lkq7 at the start: 3 h of 5,000 allocs/h before, 1,200 outstanding of 512 bytes.
    assert _row(snap, "Lkq7", "nonpaged") == (15000, 13800, 1200, 614400)
    assert snap.rows.get("Lkq7", "paged") is None  # a pool the tag never used is left out
    assert snap.rows.get("Io  ", "paged") is not None  # the padded tag
    assert snap.rows.mapped_driver[snap.rows.index_of("Lkq7", "nonpaged")] == (
        "[lkqflt.sys - Queue filter request contexts]")
    assert result.warnings == []


def test_headerless_utf16_appends_split_by_datetime_and_leak_shows():
    from analyzer.analysis.trend import analyze

    result = parse([SAMPLES / "ps_poolmon_appended.csv"])
    assert [s.timestamp.strftime("%H:%M") for s in result.snapshots] == ["14:00", "14:30", "15:00", "15:30"]
    assert any("without a header" in w.message for w in result.warnings)
    lkq = [s.rows.get("Lkq7", "nonpaged").outstanding for s in result.snapshots]
    assert lkq == [1200, 1650, 2100, 2550]
    trend = analyze(result.snapshots)
    assert trend.summary["snapshots"] == 4


def test_key_value_log_reads_like_the_csv():
    result = parse([SAMPLES / "ps_poolmon_kv.log"])
    assert len(result.snapshots) == 3
    assert [s.rows.get("Lkq7", "nonpaged").outstanding for s in result.snapshots] == [1200, 2100, 3000]


def test_key_value_line_with_a_broken_diff_is_kept_with_a_warning():
    text = ('DateTime="2026-11-21 14:00:00" Tag="Abcd" PagedAllocs="0" PagedFrees="0" PagedDiff="0" '
            'PagedUsedBytes="0" NonPagedAllocs="10" NonPagedFrees="4" NonPagedDiff="5" NonPagedUsedBytes="640"\n')
    result = parse_text(text)
    assert result.snapshots[0].rows.get("Abcd", "nonpaged").outstanding == 5
    assert any("Diff 5 is not Allocs - Frees" in w.message for w in result.warnings)


def test_powershell_record_beyond_int64_is_a_skipped_row_not_a_refused_file():
    text = ('DateTime="2026-11-21 14:00:00" Tag="Abcd" NonPagedAllocs="99999999999999999999999" '
            'NonPagedFrees="4" NonPagedDiff="6" NonPagedUsedBytes="640"\n'
            'DateTime="2026-11-21 14:00:00" Tag="Efgh" NonPagedAllocs="10" NonPagedFrees="4" '
            'NonPagedDiff="6" NonPagedUsedBytes="640"\n')
    result = parse_text(text, name="huge.log")
    assert result.snapshots[0].rows.tags == ["Efgh"]
    assert [str(w) for w in result.warnings] == [
        "huge.log:1: 1 line skipped; first at huge.log:1: Abcd nonpaged: number beyond the 64-bit range of the "
        "row model; row left out"]


def test_poolmonx_thousands_separators_are_split_by_the_identities():
    [snap] = parse([SAMPLES / "poolmonx_saved.csv"]).snapshots
    assert _row(snap, "Lkq7", "nonpaged") == (25000, 22000, 3000, 1536000)
    assert _row(snap, "Io  ", "paged") == (450000, 449690, 310, 79360)  # tag from the hex value: "Io  "
    assert _row(snap, "MmSt", "paged") == (150000, 98011, 51989, 53236736)


def test_poolmonx_grouping_search():
    # 1,234 / 1,000 / 234 / 29,952 | 0 0 0 0 written with the separator as the field delimiter.
    cells = ["1", "234", "1", "000", "234", "29", "952", "0", "0", "0", "0"]
    numbers, readings = read_numbers(cells)
    assert numbers == [1234, 1000, 234, 29952, 0, 0, 0, 0] and readings == 1
    assert read_numbers(["5", "3", "9", "100", "0", "0", "0", "0"])[0] is None  # no grouping satisfies 5 - 3 = 9


def test_poolmonx_row_no_grouping_fits_is_skipped_with_line():
    text = ("Tag,Value,Paged Allocs,Paged Frees,Paged Diff,Paged Usage,Non Paged Allocs,Non Paged Frees,"
            "Non Paged Diff,Non Paged Usage,Source,Description\n"
            "Abcd,0x64636241,5,3,9,100,0,0,0,0,abc.sys,x\n"
            "Efgh,0x68676645,5,3,2,100,0,0,0,0,efg.sys,y\n")
    result = parse_text(text)
    assert result.snapshots[0].rows.keys() == [("Efgh", "paged")]
    assert any(":2" in str(w) and "grouping" in str(w) for w in result.warnings)


def test_volatility2_pooltracker():
    [snap] = parse([SAMPLES / "vol2_pooltracker.txt"]).snapshots
    assert snap.format == "pooltracker"
    # 5 h in: 3 h + 5 h of 5,000 allocs/h, 1,200 + 5 x 900 outstanding.
    assert _row(snap, "Lkq7", "nonpaged") == (40000, 34300, 5700, 5700 * 512)
    assert snap.rows.get("Io  ", "paged") is not None


def test_volatility3_bigpools_sum_allocated_blocks_and_mark_partial():
    result = parse([SAMPLES / "vol3_bigpools.txt"])
    [snap] = result.snapshots
    assert snap.extra["partial"] and snap.extra["free_blocks"] == 1
    lkq = snap.rows.get("Lkq7", "nonpaged")
    assert (lkq.outstanding, lkq.bytes) == (5, 5 * 0x2000)  # six listed, one of them free
    assert (snap.rows.get("CM31", "paged").outstanding, snap.rows.get("CM31", "paged").bytes) == (3, 0x3000)
    assert any("page or more" in w.message for w in result.warnings)


def test_bigpools_csv_renderer():
    text = ('"TreeDepth","Offset","Tag","PoolType","NumberOfBytes","Status"\n'
            '0,0xffff800012340000,"Abcd","NonPagedPoolNx",0x2000,"Allocated"\n'
            '0,0xffff800012350000,"Abcd","NonPagedPoolNx",0x1000,"Allocated"\n')
    [snap] = parse_text(text).snapshots
    assert snap.format == "bigpools"
    assert snap.rows.get("Abcd", "nonpaged").bytes == 0x3000


@pytest.mark.parametrize("size", ["0x", "0x2\u00bc00", "0xZZ"])
def test_bigpools_size_that_is_not_hex_is_a_skipped_row(size: str) -> None:
    # Found by bench/fuzz.py: int(..., 16) raised on these and the guard reported an internal error.
    text = ('"TreeDepth","Offset","Tag","PoolType","NumberOfBytes","Status"\n'
            '0,0xffff800012340000,"Abcd","NonPagedPoolNx",0x2000,"Allocated"\n'
            f'0,0xffff800012350000,"Abcd","NonPagedPoolNx",{size},"Allocated"\n')
    result = parse_text(text)
    [snap] = result.snapshots
    assert snap.rows.get("Abcd", "nonpaged").bytes == 0x2000
    assert any(w.line == 3 and "without tag, pool type or size" in w.message for w in result.warnings)


def test_perfcounter_totals_over_time_and_trend_says_nonpaged_grows():
    from analyzer.analysis.trend import analyze

    result = parse([SAMPLES / "perfmon_pool.csv"])
    snaps = result.snapshots
    assert len(snaps) == 13 and all(len(s.rows) == 0 for s in snaps)
    assert snaps[0].totals["nonpaged_kb"] == 412466803 // 1024
    assert "avail_kb" not in snaps[0].totals  # the blank first cell stays unknown, never 0
    assert snaps[1].totals["avail_kb"] == 9779 * 1024
    trend = analyze(snaps)
    verdicts = {t["pool"]: t["verdict"] for t in trend.pool_totals}
    assert verdicts == {"nonpaged": "grows", "paged": "steady"}
    assert any("pool totals only" in w.message for w in result.warnings)


def test_report_on_perfcounters_names_the_growing_pool():
    from analyzer.render.report.build import build_report

    report = build_report([SAMPLES / "perfmon_pool.csv"])
    assert report.level == "suspect"
    assert "nonpaged pool grew steadily" in report.verdict


def test_perfcounter_without_pool_columns_is_a_clean_error():
    from parsers import InputError

    text = '"(PDH-CSV 4.0)","\\\\SRV\\Memory\\Pool Paged Bytes"\n'
    with pytest.raises(InputError, match="no sample"):
        parse_text(text)
