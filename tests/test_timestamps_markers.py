"""Time markers written by PoolMon wrappers, file-name timestamps, and the time line."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from poolmon_helpers import SCREEN

from parsers import parse
from parsers.model import TimeOrigin
from parsers.timestamps import MarkerClock, day_first_for, parse_marker, timestamp_from_filename


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # echo %DATE% %TIME% in several locales
        ("Sat 11/21/2026 14:03:07.12", datetime(2026, 11, 21, 14, 3, 7, 120000)),
        ("Sat 11/21/2026  9:03:07.12", datetime(2026, 11, 21, 9, 3, 7, 120000)),
        ("21.11.2026 14:03:07,12", datetime(2026, 11, 21, 14, 3, 7, 120000)),
        ("2026/11/21 14:03:07", datetime(2026, 11, 21, 14, 3, 7)),
        ("2026-11-21 14:03:07", datetime(2026, 11, 21, 14, 3, 7)),
        ("2026-11-21T14:03:07", datetime(2026, 11, 21, 14, 3, 7)),
        # PowerShell Get-Date
        ("Saturday, November 21, 2026 2:03:07 PM", datetime(2026, 11, 21, 14, 3, 7)),
        ("Saturday, November 21, 2026 12:03:07 AM", datetime(2026, 11, 21, 0, 3, 7)),
        ("Samstag, 21. November 2026 14:03:07", datetime(2026, 11, 21, 14, 3, 7)),
        # banners and zone-name lines
        ("===== 2026-11-21 14:03:07 =====", datetime(2026, 11, 21, 14, 3, 7)),
        ("===== Sat 11/21/2026 14:03:07.12 =====", datetime(2026, 11, 21, 14, 3, 7, 120000)),
        ("2026.11.21-14:03:07 W. Europe Standard Time", datetime(2026, 11, 21, 14, 3, 7)),
        ("2026.11.21-14:03:07 Pacific Standard Time", datetime(2026, 11, 21, 14, 3, 7)),
        ("Date: 2026-11-21 14:03:07", datetime(2026, 11, 21, 14, 3, 7)),
        ("Sat 11/21/2026", datetime(2026, 11, 21)),
    ],
)
def test_markers(line: str, expected: datetime) -> None:
    marker = parse_marker(line)
    assert marker is not None
    assert marker.moment() == expected


@pytest.mark.parametrize(
    "line",
    [
        " Abcd Nonp     1520331 (  12)    1519870 (  10)      461   147520 (   640)    320",
        " Memory: 8388020K Avail: 3125332K  PageFlts:   412",
        "Meeting at 12:30 about the leak",
        "12:30",
        "---------------------------------",
        "poolmon.exe -b",
        "2026.11.21-14:03:07 something else entirely here",
    ],
)
def test_non_markers(line: str) -> None:
    assert parse_marker(line) is None


def test_zone_name_is_kept() -> None:
    marker = parse_marker("2026.11.21-14:03:07 W. Europe Standard Time")
    assert marker is not None
    assert marker.tz_name == "W. Europe Standard Time"


def test_ambiguous_slash_dates_follow_the_source() -> None:
    a = parse_marker("03/04/2026 10:00:00")
    b = parse_marker("21/04/2026 10:00:00")
    assert a is not None and b is not None
    assert a.ambiguous
    assert not day_first_for([a])
    assert day_first_for([a, b])
    assert a.moment(day_first=True) == datetime(2026, 4, 3, 10)


def test_marker_clock_joins_date_and_time_lines_and_rolls_over_midnight() -> None:
    clock = MarkerClock()
    day = parse_marker("Sat 11/21/2026")
    late = parse_marker("23:59:58.00")
    early = parse_marker("00:00:03.00")
    assert day is not None and late is not None and early is not None
    clock.feed(day)
    assert clock.feed(late) == datetime(2026, 11, 21, 23, 59, 58)
    assert clock.feed(early) == datetime(2026, 11, 22, 0, 0, 3)
    assert MarkerClock(date(2026, 1, 2)).feed(early) == datetime.combine(date(2026, 1, 2), time(0, 0, 3))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("poolsnap_20261121_140307.log", datetime(2026, 11, 21, 14, 3, 7)),
        ("logs/poolmon.Sat 11-21-2026.log", datetime(2026, 11, 21)),
        ("C:\\logs\\pool_2026-11-21_14-03-07.txt", datetime(2026, 11, 21, 14, 3, 7)),
        ("capture.zip!snaps/poolsnap_20261121-1403.log", datetime(2026, 11, 21, 14, 3)),
        ("poolmon 21.11.2026.log", datetime(2026, 11, 21)),
        ("poolmon.log", None),
        ("run1.log", None),
    ],
)
def test_file_name_timestamps(name: str, expected: datetime | None) -> None:
    assert timestamp_from_filename(name) == expected


def test_appended_log_without_markers_is_spaced_back_from_its_mtime(tmp_path: Path) -> None:
    path = tmp_path / "poolmon.log"
    path.write_text(SCREEN * 3)
    end = datetime(2026, 11, 21, 15, 0, 0)
    os.utime(path, (end.timestamp(), end.timestamp()))
    result = parse([path], interval=timedelta(minutes=30))
    assert [s.timestamp for s in result.snapshots] == [
        datetime(2026, 11, 21, 14, 0),
        datetime(2026, 11, 21, 14, 30),
        datetime(2026, 11, 21, 15, 0),
    ]
    assert {s.time_origin for s in result.snapshots} == {TimeOrigin.INTERVAL}


def test_appended_log_with_dated_name_is_spaced_from_that_date(tmp_path: Path) -> None:
    path = tmp_path / "poolmon_20261121_080000.log"
    path.write_text(SCREEN * 2)
    result = parse([path], interval=timedelta(hours=1))
    assert [s.timestamp for s in result.snapshots] == [datetime(2026, 11, 21, 8), datetime(2026, 11, 21, 9)]


def test_appended_log_without_markers_or_interval_keeps_file_order(tmp_path: Path) -> None:
    path = tmp_path / "poolmon.log"
    path.write_text(SCREEN * 2)
    result = parse([path])
    assert [s.timestamp for s in result.snapshots] == [None, None]
    assert [s.index for s in result.snapshots] == [0, 1]


def test_date_t_and_time_t_lines_make_one_moment() -> None:
    from poolmon_helpers import parse_str

    result = parse_str(f"Sat 11/21/2026\n02:03 PM\n{SCREEN}Sat 11/21/2026\n02:33 PM\n{SCREEN}", "wrapper.log")
    assert [s.timestamp for s in result.snapshots] == [datetime(2026, 11, 21, 14, 3), datetime(2026, 11, 21, 14, 33)]
    assert result.warnings == []


def test_get_date_round_trip_format_keeps_the_clock_and_the_offset() -> None:
    marker = parse_marker("2026-11-21T14:03:07.1234567+01:00")
    assert marker is not None
    assert marker.moment() == datetime(2026, 11, 21, 14, 3, 7, 123456)
    assert marker.tz_name == "UTC+01:00"


def test_banner_time_dates_the_session_screens_of_its_run() -> None:
    # Each run of the sample: banner, system pool, then an all-sessions screen with headings only.
    result = parse([Path(__file__).resolve().parent.parent / "samples" / "banners_cp1252.log"])
    got = [(s.scope, s.timestamp, s.time_origin) for s in result.snapshots]
    runs = [datetime(2026, 11, 21, 14, 3, 15), datetime(2026, 11, 21, 15, 3, 13), datetime(2026, 11, 21, 16, 3, 10)]
    assert got == [
        (scope, when, TimeOrigin.MARKER) for when in runs for scope in ("system", "all-sessions")
    ]


def test_only_a_headed_screen_without_memory_lines_inherits_the_banner_time() -> None:
    from poolmon_helpers import parse_str

    sessions = " All sessions pool information\n Tag  Type     Allocs            Frees            Diff   Bytes\n\n"
    text = "===== 2026-11-21 14:03:07 =====\n" + SCREEN + sessions + SCREEN
    result = parse_str(text, "run.log")
    # The session screen belongs to the banner's run; the next full screen (own Memory: lines,
    # no banner) is a later, undated one.
    assert [(s.scope, s.timestamp) for s in result.snapshots] == [
        ("system", datetime(2026, 11, 21, 14, 3, 7)),
        ("all-sessions", datetime(2026, 11, 21, 14, 3, 7)),
        ("system", None),
    ]


def test_interval_without_anchor_ends_at_the_time_of_reading_and_says_so() -> None:
    import re

    from cli_helpers import REPO, poolscope

    marked = (REPO / "tests" / "data" / "trend" / "leak_run.log").read_text()
    bare = "".join(line for line in marked.splitlines(keepends=True) if not line.startswith("====="))
    # poolscope runs with TZ=UTC (cli_helpers.clean_env), so its clock reads UTC.
    before = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    run = poolscope("trend", "-", "--interval", "5m", stdin=bare.encode())
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert run.code == 0, run.err
    warning = re.fullmatch(
        r"warning: <stdin>: no time in the input: snapshots placed 0:05:00 apart, the last at the time of reading "
        r"\((\S+ \S+)\); these dates are estimates, not recorded times\n",
        run.err,
    )
    assert warning, run.err
    head = re.fullmatch(
        r"48 snapshots, (\S+ \S+) to (\S+ \S+) \(3h55m\); 8 series: 2 leak, 0 suspect, 1 recovers, 5 stable, "
        r"0 insufficient-data",
        run.out.splitlines()[0],
    )
    assert head, run.out
    start, end = (datetime.fromisoformat(t) for t in head.groups())
    assert before <= end <= after and end == datetime.fromisoformat(warning.group(1))
    assert end - start == timedelta(hours=3, minutes=55)
    assert "1970" not in run.out
    # Same spacing as the markers it lost: the verdicts and rates are those of the marked log,
    # and its dates (onsets, exhaustion) moved by the same amount.
    args = ("trend", "--all", "--format", "json", "--interval", "5m")
    got = json.loads(poolscope(*args, "-", stdin=bare.encode()).out)
    ref = json.loads(poolscope(*args, "tests/data/trend/leak_run.log").out)
    shift = datetime.fromisoformat(got["summary"]["end"]) - datetime.fromisoformat(ref["summary"]["end"])
    assert datetime.fromisoformat(ref["summary"]["end"]) == datetime(2026, 11, 21, 12, 55)

    def moved(when: str | None) -> str | None:
        return None if when is None else (datetime.fromisoformat(when) + shift).isoformat()

    masked = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")  # in texts, minutes: checked exactly below
    for row in ref["rows"]:
        row["onset"] = moved(row["onset"])
        if row["exhaustion"]:
            row["exhaustion"]["at"] = moved(row["exhaustion"]["at"])
    for row in (*ref["rows"], *got["rows"]):
        row["reason"] = masked.sub("T", row["reason"])
    assert any(row["onset"] for row in ref["rows"])
    assert got["rows"] == ref["rows"]
    reference = poolscope("trend", "tests/data/trend/leak_run.log").out
    assert masked.sub("T", run.out).splitlines()[1:] == masked.sub("T", reference).splitlines()[1:]
