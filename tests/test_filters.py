"""PoolMon's /i and /x tag filters, and snapshot selection (first/last/N, FILE#N)."""

from __future__ import annotations

import fnmatch
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer.analysis.filters import TagFilter, pattern_regex
from analyzer.analysis.selection import parse_spec, select_snapshot, split_file_spec
from parsers import ParseResult, Snapshot, SourceInfo
from parsers.errors import InputError
from parsers.model import Row, RowTable

TAGS = ["Abcd", "abcD", "Abxd", "Ab  ", "CM  ", "CM31", "Dh 2", "Io  ", "Irp ", "Xyz?", "-Xyz"]


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        ([], [], TAGS),
        (["Ab*"], [], ["Abcd", "Abxd", "Ab  "]),
        (["Ab?d"], [], ["Abcd", "Abxd"]),
        (["ab*"], [], ["abcD"]),  # case-sensitive: Abcd and Abxd stay out
        (["abcd"], [], []),
        (["CM"], [], ["CM  "]),  # the user types the tag without its padding
        (["CM  "], [], ["CM  "]),
        (["CM*"], ["CM3?"], ["CM  "]),
        (["I*"], [], ["Io  ", "Irp "]),
        (["Dh 2"], [], ["Dh 2"]),
        (["*"], ["A*", "a*"], ["CM  ", "CM31", "Dh 2", "Io  ", "Irp ", "Xyz?", "-Xyz"]),
        ([], ["*d", "*D"], ["Ab  ", "CM  ", "CM31", "Dh 2", "Io  ", "Irp ", "Xyz?", "-Xyz"]),
        (["Abcd", "Irp"], [], ["Abcd", "Irp "]),
        (["-X*"], [], ["-Xyz"]),
        (["Xyz?"], [], ["Xyz?"]),  # ? is a wildcard, so it also matches the literal ?
        (["?"], [], []),
        (["????"], ["*[*"], TAGS),  # [ is literal, not a character class
    ],
)
def test_include_exclude(include, exclude, expected):
    f = TagFilter(include, exclude)
    assert [t for t in TAGS if f.matches(t)] == expected
    assert list(np.array(TAGS)[f.mask(TAGS)]) == expected


def test_mask_and_apply_on_rowtable():
    rows = [Row(t, p, outstanding=1, bytes=10) for t in ("Abcd", "Io  ", "CM  ") for p in ("nonpaged", "paged")]
    table = RowTable.from_rows(rows)
    f = TagFilter(exclude=["Io"])
    assert f.mask(table).tolist() == [True, True, False, False, True, True]
    kept = f.apply(table)
    assert kept.keys() == [("Abcd", "nonpaged"), ("Abcd", "paged"), ("CM  ", "nonpaged"), ("CM  ", "paged")]
    assert TagFilter().apply(table) is table
    assert not TagFilter().active


# PoolMon's wildcards agree with fnmatch's once fnmatch's [sets] are taken out of play.
tag_chars = st.sampled_from(list("AbcdXyz 12-._"))
tags = st.text(tag_chars, min_size=4, max_size=4)
patterns = st.text(st.sampled_from(list("Abcd 1*?")), min_size=1, max_size=6)


@given(tag=tags, pattern=patterns)
def test_pattern_agrees_with_fnmatchcase(tag, pattern):
    assert (pattern_regex(pattern).fullmatch(tag) is not None) == fnmatch.fnmatchcase(tag, pattern)


@given(st.lists(tags, max_size=40), st.lists(patterns, max_size=3), st.lists(patterns, max_size=3))
def test_mask_equals_per_tag_matches(tag_list, inc, exc):
    f = TagFilter(inc, exc)
    assert f.mask(tag_list).tolist() == [f.matches(t) for t in tag_list]


# -- selection ---------------------------------------------------------------------------------


def _result(n: int, name: str = "x.log") -> ParseResult:
    snaps = [Snapshot(name, i, "poolmon") for i in range(n)]
    return ParseResult(snaps, [], [SourceInfo(name, "poolmon", "utf-8", n)])


@pytest.mark.parametrize(
    ("spec", "index"),
    [("first", 0), ("last", 3), (0, 0), (2, 2), ("2", 2), (-1, 3), ("-4", 0), ("LAST", 3)],
)
def test_select_snapshot(spec, index):
    assert select_snapshot(_result(4), spec).index == index


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (4, "x.log: has 4 snapshots (0..3); there is no snapshot #4"),
        (-5, "x.log: has 4 snapshots (0..3); there is no snapshot #-5"),
        ("middle", "x.log: not a snapshot: 'middle' (use first, last, a number counted from 0, a time such as "
                   "2026-11-21T15:00, or a date (its first snapshot))"),
        ("2026-11-31T10:00", "x.log: not a snapshot: '2026-11-31T10:00' (use first, last, a number counted from 0, "
                             "a time such as 2026-11-21T15:00, or a date (its first snapshot))"),
    ],
)
def test_select_snapshot_errors(spec, message):
    with pytest.raises(InputError) as err:
        select_snapshot(_result(4), spec)
    assert str(err.value) == message


def _timed(times: list[str | None]) -> ParseResult:
    snaps = [Snapshot("t.log", i, "poolmon", timestamp=datetime.fromisoformat(t) if t else None)
             for i, t in enumerate(times)]
    return ParseResult(snaps, [], [SourceInfo("t.log", "poolmon", "utf-8", len(snaps))])


@pytest.mark.parametrize(
    ("spec", "index"),
    [
        ("2026-11-21T14:00", 0),
        ("2026-11-21T14:14:59", 0),
        ("2026-11-21T14:15:01", 2),  # nearest; the untimed snapshot #1 is never picked by time
        ("2026-11-21 15:00", 3),
        ("2026-11-22T00:00", 3),
        (datetime(2026, 11, 21, 14, 40), 3),
    ],
)
def test_select_by_time_takes_the_nearest(spec, index):
    result = _timed(["2026-11-21T14:00:00", None, "2026-11-21T14:30:00", "2026-11-21T14:45:00+00:00"])
    assert select_snapshot(result, spec).index == index


def test_select_by_time_needs_times():
    with pytest.raises(InputError, match=r"^t.log: no snapshot has a time; pick one by position"):
        select_snapshot(_timed([None, None]), "2026-11-21T14:00")


def test_select_from_nothing():
    with pytest.raises(InputError, match=r"^x.log: holds no snapshots$"):
        select_snapshot(_result(0), "last")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x.log#3", ("x.log", 3)),
        ("x.log#last", ("x.log", "last")),
        ("x.log#first", ("x.log", "first")),
        ("x.log#-1", ("x.log", -1)),
        ("x.log", ("x.log", None)),
        ("dir#2/x.log", ("dir#2/x.log", None)),
        ("notes#draft.log", ("notes#draft.log", None)),
        ("#3", ("#3", None)),
        ("a#b#2", ("a#b", 2)),
        ("x.log#2026-11-21T15:00", ("x.log", datetime(2026, 11, 21, 15, 0))),
        ("x.log#2026-11-21T15:00:30", ("x.log", datetime(2026, 11, 21, 15, 0, 30))),
        ("x.log#2026-11-41T15:00", ("x.log", "2026-11-41T15:00")),  # select_snapshot reports it
    ],
)
def test_split_file_spec(text, expected):
    assert split_file_spec(text) == expected


def test_split_file_spec_prefers_an_existing_file(tmp_path):
    odd = tmp_path / "run#2"
    odd.write_text("x")
    assert split_file_spec(str(odd)) == (str(odd), None)
    plain = tmp_path / "run.log"
    plain.write_text("x")
    assert split_file_spec(f"{plain}#2") == (str(plain), 2)


def test_parse_spec():
    assert parse_spec(" 7 ") == 7
    assert parse_spec("First") == "first"
    with pytest.raises(ValueError):
        parse_spec("1.5")
