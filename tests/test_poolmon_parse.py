"""PoolMon screens, snapshot files and appended logs (FORMATS.md §1–§3)."""

from __future__ import annotations

import gzip
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from poolmon_helpers import HEADER, SCREEN, SCREEN_ROWS, messages, parse_str, rows_of

from parsers import InputError, ParseError, PoolscopeError, parse, parse_text
from parsers.formats import detect, get_format
from parsers.model import TimeOrigin
from parsers.poolmon_rows import split_numbers
from parsers.textio import text_source

TOTALS = {
    "nonpaged_kb": 310228,
    "paged_kb": 402116,
    "memory_kb": 8388020,
    "avail_kb": 3125332,
    "commit_kb": 4411208,
    "commit_limit_kb": 9830400,
    "commit_peak_kb": 5120332,
}


def test_console_screen_rows_totals_and_changes() -> None:
    result = parse_str(SCREEN, "screen.txt")
    assert len(result.snapshots) == 1
    snap = result.snapshots[0]
    assert snap.format == "poolmon"
    assert snap.scope == "system"
    assert snap.totals == TOTALS
    assert rows_of(result) == SCREEN_ROWS
    qrst = snap.rows.get("Qrst", "paged")
    assert qrst is not None
    assert (qrst.allocs_change, qrst.frees_change, qrst.bytes_change) == (-3, 1, -1088)
    assert snap.extra["page_faults"] == 412
    assert result.warnings == []


def test_header_figures_are_read_by_label_when_they_touch() -> None:
    text = (
        "Memory:33554432K Avail:12345678K PageFlts:99999 InRam Krnl:12345K P:654321K\n"
        "Commit:44112080K Limit:98304000K Peak:51203320K Pool N:3102280K P:4021160K\n" + SCREEN.split("\n", 2)[2]
    )
    snap = parse_str(text).snapshots[0]
    assert snap.totals["nonpaged_kb"] == 3102280
    assert snap.totals["paged_kb"] == 4021160
    assert snap.totals["commit_kb"] == 44112080
    assert snap.totals["memory_kb"] == 33554432


@pytest.mark.parametrize(
    ("title", "scope"),
    [
        (" System pool information", "system"),
        (" All sessions pool information", "all-sessions"),
        (" Session 3 pool information", "session:3"),
    ],
)
def test_scope_from_title(title: str, scope: str) -> None:
    assert parse_str(SCREEN.replace(" System pool information", title)).snapshots[0].scope == scope


def test_header_only_screen_is_a_snapshot_with_zero_rows() -> None:
    text = HEADER.replace("System", "Session 1")
    result = parse_str(text)
    assert len(result.snapshots) == 1
    assert len(result.snapshots[0].rows) == 0
    assert result.snapshots[0].scope == "session:1"
    assert result.snapshots[0].totals == TOTALS


def test_layout_without_leading_space_and_with_dashed_rule() -> None:
    text = "\n".join(line[1:] if line.startswith(" ") else line for line in SCREEN.split("\n"))
    text = text.replace("Per Alloc\n", "Per Alloc\n" + "-" * 78 + "\n")
    assert rows_of(parse_str(text)) == SCREEN_ROWS


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        ("[ntfs.sys  -  Some subsystem]", "[ntfs.sys  -  Some subsystem]"),
        ("[abc][abc.sys - queue]", "[abc][abc.sys - queue]"),
        ("[nt!ps - Thread objects]", "[nt!ps - Thread objects]"),
        ("[Font related stuff]", "[Font related stuff]"),
        ("Unknown Driver", "Unknown Driver"),
    ],
)
def test_mapped_driver_in_every_form(driver: str, expected: str) -> None:
    text = SCREEN.replace("Per Alloc\n", "Per Alloc  Mapped_Driver\n").replace(
        "(   640)    320\n", f"(   640)    320 {driver}\n"
    )
    snap = parse_str(text).snapshots[0]
    assert snap.rows.mapped_driver is not None
    assert snap.rows.get("Abcd", "nonpaged").mapped_driver == expected  # type: ignore[union-attr]
    assert snap.rows.get("Io  ", "nonpaged").mapped_driver is None  # type: ignore[union-attr]


def test_tags_with_spaces_dots_and_punctuation() -> None:
    text = HEADER + (
        " A.b. Nonp          5 (   0)          3 (   0)        2       64 (     0)     32\n"
        "  ab  Paged         5 (   0)          3 (   0)        2       64 (     0)     32\n"
        " -Xy_ Paged         5 (   0)          3 (   0)        2       64 (     0)     32\n"
        " 1234 Paged         5 (   0)          3 (   0)        2       64 (     0)     32\n"
    )
    assert [r[0] for r in rows_of(parse_str(text))] == ["A.b.", " ab ", "-Xy_", "1234"]


def test_same_tag_in_both_pools_is_two_rows() -> None:
    text = HEADER + (
        " Abcd Nonp          5 (   0)          3 (   0)        2       64 (     0)     32\n"
        " Abcd Paged         5 (   0)          3 (   0)        2       64 (     0)     32\n"
    )
    snap = parse_str(text).snapshots[0]
    assert snap.rows.keys() == [("Abcd", "nonpaged"), ("Abcd", "paged")]


NARROW_SNAP = (
    " Tag  Type     Allocs    Frees     Diff   Bytes  Per Alloc\n"
    "\n"
    " Abcd Nonp     1520331   1519870     461   147520    320\n"
    " Dh 2 Paged        731       700      31     9920    320\n"
)
WIDE_SNAP = (
    " Tag  Type     Allocs            Frees               Diff            Bytes"
    "                 Per Alloc       Mapped_Driver\n"
    " Wxyz Nonp            3120044            3119000              1044         668160"
    "              640        Unknown Driver\n"
    " Big  Paged        16302080011630200000              8001    1024128              128"
    "        [big.sys - big]\n"
)


def test_poolsnap_narrow_layout() -> None:
    result = parse_str(NARROW_SNAP, "poolsnap.log")
    snap = result.snapshots[0]
    assert snap.format == "poolsnap"
    assert rows_of(result) == [SCREEN_ROWS[0], SCREEN_ROWS[2]]
    assert snap.rows.get("Abcd", "nonpaged").allocs_change is None  # type: ignore[union-attr]


def test_poolsnap_wide_layout_splits_numbers_that_ran_together() -> None:
    result = parse_str(WIDE_SNAP, "poolsnap.log")
    assert rows_of(result) == [
        ("Wxyz", "nonpaged", 3120044, 3119000, 1044, 668160),
        ("Big ", "paged", 1630208001, 1630200000, 8001, 1024128),
    ]
    assert result.snapshots[0].rows.mapped_driver == ["Unknown Driver", "[big.sys - big]"]
    assert messages(result) == [
        "poolsnap.log:3: 1 row whose numbers ran together was split with Diff = Allocs - Frees "
        "and Per Alloc = Bytes / Diff (first at line 3)"
    ]


def test_split_numbers_uses_the_identities() -> None:
    assert split_numbers(["16302080011630200000", "8001", "1024128", "128"], 5) == [
        (1630208001, 1630200000, 8001, 1024128, 128)
    ]
    # Diff and Bytes touching.
    assert split_numbers(["100", "40", "60960", "16"], 5) == [(100, 40, 60, 960, 16)]
    assert split_numbers(["1", "2"], 5) == []


def test_forced_poolsnap_format_labels_snapshots() -> None:
    result = parse_text(SCREEN, "x.txt", input_format="poolsnap")
    assert result.snapshots[0].format == "poolsnap"
    assert get_format("poolsnap").name == "poolsnap"


def _log(*frames: str) -> str:
    return "".join(frames)


def test_appended_log_frames_split_on_memory_header() -> None:
    second = SCREEN.replace(
        "1520331 (  12)    1519870 (  10)      461   147520", "1520400 (  69)    1519870 (   0)      530   169600"
    )
    result = parse_str(_log(SCREEN, SCREEN, second), "poolmon.log")
    assert len(result.snapshots) == 3
    assert [s.index for s in result.snapshots] == [0, 1, 2]
    assert [s.line for s in result.snapshots] == [1, 10, 19]
    assert result.snapshots[2].rows.get("Abcd", "nonpaged").bytes == 169600  # type: ignore[union-attr]


def test_frames_split_on_column_header_when_no_totals() -> None:
    body = SCREEN.split("\n", 3)[3]
    result = parse_str(body + body + body)
    assert len(result.snapshots) == 3
    assert all(len(s.rows) == 4 for s in result.snapshots)


def test_repeated_rows_without_any_header_start_new_frames() -> None:
    rows = "".join(SCREEN.split("\n", 5)[5])
    result = parse_str(HEADER + rows + rows, "headerless.log")
    assert len(result.snapshots) == 2
    assert messages(result) == [
        "headerless.log:10: a (tag, pool) row repeats with no header between: read as the start of a new snapshot"
    ]


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("Sat 11/21/2026 14:03:07.12", datetime(2026, 11, 21, 14, 3, 7, 120000)),
        ("21.11.2026 14:03:07,12", datetime(2026, 11, 21, 14, 3, 7, 120000)),
        ("2026/11/21 14:03:07", datetime(2026, 11, 21, 14, 3, 7)),
        ("Saturday, November 21, 2026 2:03:07 PM", datetime(2026, 11, 21, 14, 3, 7)),
        ("===== 2026-11-21 14:03:07 =====", datetime(2026, 11, 21, 14, 3, 7)),
        ("2026.11.21-14:03:07 W. Europe Standard Time", datetime(2026, 11, 21, 14, 3, 7)),
    ],
)
def test_time_markers_stamp_frames(marker: str, expected: datetime) -> None:
    result = parse_str(f"{marker}\n{SCREEN}{marker.replace('14', '15').replace(' 2:', ' 3:')}\n{SCREEN}", "log.txt")
    assert len(result.snapshots) == 2
    assert result.snapshots[0].timestamp == expected
    assert result.snapshots[0].time_origin is TimeOrigin.MARKER
    assert result.snapshots[1].timestamp is not None
    assert result.snapshots[1].timestamp.hour == 15
    assert result.warnings == []


def test_day_first_slash_dates_are_decided_per_source() -> None:
    text = f"03/04/2026 10:00:00\n{SCREEN}21/04/2026 10:00:00\n{SCREEN}"
    snaps = parse_str(text).snapshots
    assert [s.timestamp for s in snaps] == [datetime(2026, 4, 3, 10), datetime(2026, 4, 21, 10)]


def test_time_only_markers_borrow_the_date_in_the_file_name() -> None:
    text = f"23:59:30.00\n{SCREEN}00:00:30.00\n{SCREEN}"
    snaps = parse_str(text, "poolmon_2026-11-21.log").snapshots
    assert [s.timestamp for s in snaps] == [datetime(2026, 11, 21, 23, 59, 30), datetime(2026, 11, 22, 0, 0, 30)]


def test_cut_off_log_keeps_complete_snapshots_and_names_the_line() -> None:
    text = SCREEN + SCREEN + " Abcd Nonp     1520331 (  12)    15198"
    result = parse_str(text, "cut.log")
    assert len(result.snapshots) == 2
    assert "cut.log:19: input cut off mid-row at line 19; its last snapshot (0 rows read) was dropped" not in messages(
        result
    )
    assert any("cut.log:19: input cut off mid-row at line 19" in m for m in messages(result))


def test_cut_off_inside_second_frame_drops_it() -> None:
    lines = (SCREEN + SCREEN).split("\n")
    text = "\n".join(lines[:16]) + "\n Qrst Paged   102334"
    result = parse_str(text, "cut.log")
    assert len(result.snapshots) == 1
    assert messages(result)[0] == (
        "cut.log:17: input cut off mid-row at line 17; its last snapshot (2 rows read) was dropped"
    )


def test_unreadable_lines_are_counted_and_strict_raises() -> None:
    text = SCREEN + " Zzzz Nonp  12 (x) garbage\nsomething else entirely\n"
    result = parse_str(text, "bad.log")
    assert rows_of(result) == SCREEN_ROWS
    assert messages(result) == ["bad.log:10: 2 lines skipped; first at bad.log:10: unreadable PoolMon row"]
    with pytest.raises(ParseError, match=r"bad\.log:10: unreadable PoolMon row"):
        parse_text(text, "bad.log", errors="raise")


def test_identity_failures_are_kept_and_reported() -> None:
    text = SCREEN.replace("      461   147520", "      460   147520")
    result = parse_str(text, "odd.log")
    assert rows_of(result)[0] == ("Abcd", "nonpaged", 1520331, 1519870, 460, 147520)
    assert messages(result) == [
        "odd.log:6: 1 row disagrees with Diff = Allocs - Frees or Per Alloc = Bytes / Diff "
        "(first at line 6); kept as read"
    ]


def test_not_poolmon_sniffs_zero() -> None:
    fmt = get_format("poolmon")
    assert fmt.sniff("hello world\nthis is a letter\n") == 0.0
    assert fmt.sniff("slabinfo - version: 2.1\n# name <active_objs>\nkmalloc-64 10 20 64 64 1\n") == 0.0
    assert fmt.sniff(SCREEN) >= 0.9
    assert detect(text_source(SCREEN)).name == "poolmon"


def test_single_snapshot_file_takes_its_mtime(tmp_path: Path) -> None:
    path = tmp_path / "screen.txt"
    path.write_text(SCREEN)
    snap = parse([path]).snapshots[0]
    assert snap.time_origin is TimeOrigin.MTIME
    assert snap.timestamp == datetime.fromtimestamp(path.stat().st_mtime)


def test_folder_of_dated_snapshot_files_is_time_ordered(tmp_path: Path) -> None:
    for stamp, allocs in (("20261121_150000", 1520400), ("20261121_140307", 1520331)):
        text = NARROW_SNAP.replace("1520331", str(allocs)).replace(
            "461   147520", f"{allocs - 1519870}   {(allocs - 1519870) * 320}"
        )
        (tmp_path / f"poolsnap_{stamp}.log").write_text(text)
    result = parse([tmp_path])
    assert [s.timestamp for s in result.snapshots] == [datetime(2026, 11, 21, 14, 3, 7), datetime(2026, 11, 21, 15)]
    assert [s.time_origin for s in result.snapshots] == [TimeOrigin.FILENAME, TimeOrigin.FILENAME]
    assert result.warnings == []


def test_encodings_and_attachments(tmp_path: Path) -> None:
    crlf = SCREEN.replace("\n", "\r\n")
    (tmp_path / "a.log").write_bytes(b"\xff\xfe" + crlf.encode("utf-16-le"))
    (tmp_path / "b.log").write_bytes(b"\xef\xbb\xbf" + crlf.encode("utf-8"))
    (tmp_path / "c.log.gz").write_bytes(gzip.compress(SCREEN.encode("cp1252")))
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        zf.writestr("poolmon.log", SCREEN.replace("\n", "\r\n"))
    for name in ("a.log", "b.log", "c.log.gz", "d.zip"):
        assert rows_of(parse([tmp_path / name])) == SCREEN_ROWS, name


def test_interval_spaces_frames_without_time(tmp_path: Path) -> None:
    from datetime import timedelta

    result = parse_text(SCREEN + SCREEN + SCREEN, "x.log", interval=timedelta(minutes=30))
    stamps = [s.timestamp for s in result.snapshots]
    assert stamps[1] - stamps[0] == timedelta(minutes=30)  # type: ignore[operator]
    assert result.snapshots[0].time_origin is TimeOrigin.INTERVAL


def test_empty_and_missing_inputs_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_text("")
    with pytest.raises(InputError, match="empty input"):
        parse([tmp_path / "empty.log"])
    with pytest.raises(InputError, match="no such file"):
        parse([tmp_path / "nope.log"])
    (tmp_path / "letter.txt").write_text("Dear team,\nthe server is slow.\n")
    with pytest.raises(InputError, match="not pool data"):
        parse([tmp_path / "letter.txt"])


def test_strict_refuses_rows_that_break_the_identities_and_elisions() -> None:
    with pytest.raises(ParseError, match=r"odd\.log:6: 1 row disagree"):
        parse_text(SCREEN.replace("      461   147520", "      460   147520"), "odd.log", errors="raise")
    with pytest.raises(ParseError, match="left out"):
        parse_text(SCREEN + "[snip]\n", "snip.log", errors="raise")


def test_single_cut_snapshot_is_kept_and_marked_partial() -> None:
    result = parse_str(SCREEN + " Zzzz Nonp     15203", "cut.log")
    assert len(result.snapshots) == 1
    assert result.snapshots[0].extra["partial"] is True
    assert messages(result) == ["cut.log:10: input cut off mid-row at line 10; the snapshot is incomplete"]


def test_numbers_beyond_int64_are_reported_not_wrapped() -> None:
    text = SCREEN.replace("1520331 (  12)    1519870", "99999999999999999999 (  12) 99999999999999999538")
    result = parse_str(text, "huge.log")
    assert [r[0] for r in rows_of(result)] == ["Io  ", "Dh 2", "Qrst"]
    assert messages(result) == [
        "huge.log:6: 1 line skipped; first at huge.log:6: number too large for a PoolMon counter"
    ]


def test_cut_off_before_any_row_is_reported() -> None:
    result = parse_str(" Abcd Nonp     1520331 (  12)    15198", "cut.log")
    assert result.snapshots == []
    assert messages(result) == ["cut.log:1: input cut off mid-row at line 1, before any complete row"]


def test_cut_off_at_the_first_row_of_a_new_screen_drops_that_screen() -> None:
    result = parse_str(SCREEN + HEADER + " Abcd Nonp     1520331 (  12)    15198", "cut.log")
    assert len(result.snapshots) == 1
    assert messages(result) == [
        "cut.log:15: input cut off mid-row at line 15; its last snapshot (0 rows read) was dropped"
    ]


_FRAGMENTS = [
    *SCREEN.split("\n"),
    "",
    "[snip]",
    "...",
    "> ",
    "```",
    "## Tag Type",
    "=20",
    "C:\\tools> poolmon.exe -b",
    "21.11.2026 14:03:07,12",
    "Sat 11/21/2026",
    "02:03 PM",
    " Pool N:12K P:",
    " Abcd Nonp 1 2 3",
    "\t(",
    "-)",
    "ÿ",
]


@given(
    st.lists(
        st.tuples(st.sampled_from(_FRAGMENTS), st.integers(0, 200), st.sampled_from(["", " ", "(", "-", "9", "\t"])),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["\n", " ", "\r\n"]),
    st.sampled_from(["warn", "raise"]),
)
def test_any_mix_of_poolmon_fragments_reads_or_fails_cleanly(
    pieces: list[tuple[str, int, str]], joiner: str, errors: str
) -> None:
    lines = [frag[:cut] + extra + frag[cut:] for frag, cut, extra in pieces]
    try:
        result = parse_text(joiner.join(lines), "mix.txt", errors=errors)
    except PoolscopeError:
        return  # a clean, one-line input error
    for snap in result.snapshots:
        assert all(len(tag) == 4 for tag in snap.rows.tags)
