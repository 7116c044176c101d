"""Sizes and durations as users type them, and as tables print them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer.units import format_duration, format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4096", 4096),
        ("64K", 65536),
        ("64KB", 65536),
        ("64kb", 65536),
        ("64KiB", 65536),
        ("1.5MB", 1572864),
        ("1.5 mb", 1572864),
        ("2GiB", 2 * 1024**3),
        ("1T", 1024**4),
        ("-3k", -3072),
        ("0", 0),
        (" 7B ", 7),
    ],
)
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "abc", "5x", "1.5.5K", "K", "5 KB extra", "0x10"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match=r"^not a size: .* \(examples: 4096, 64K, 1\.5MB\)$"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0.5s", 0.5),
        ("250ms", 0.25),
        ("5s", 5),
        ("10sec", 10),
        ("90", 90),
        ("1m", 60),
        ("5 min", 300),
        ("30m", 1800),
        ("1.5h", 5400),
        ("2hr", 7200),
        ("1h30m", 5400),
        ("1h30min", 5400),
        ("1d", 86400),
        ("2H", 7200),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration"),
        ("  ", "empty duration"),
        ("abc", "not a duration: 'abc' (examples: 5s, 30m, 1.5h)"),
        ("5x", "not a duration: '5x' (examples: 5s, 30m, 1.5h)"),
        ("m", "not a duration: 'm' (examples: 5s, 30m, 1.5h)"),
        ("-5s", "not a duration: '-5s' (examples: 5s, 30m, 1.5h)"),
        ("1m x", "not a duration: '1m x' (examples: 5s, 30m, 1.5h)"),
        ("0", "duration must be positive: '0'"),
        ("0s", "duration must be positive: '0s'"),
    ],
)
def test_parse_duration_rejects(text, message):
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [
        (None, False, "-"),
        (0, False, "0 B"),
        (0, True, "0 B"),
        (640, False, "640 B"),
        (1023, False, "1023 B"),
        (1024, False, "1.0 KB"),
        (1536, False, "1.5 KB"),
        (10, True, "+10 B"),
        (-2048, True, "-2.0 KB"),
        (-2048, False, "-2.0 KB"),
        (5 * 1024**2 + 1024**2 // 2, True, "+5.5 MB"),
        (3 * 1024**3, False, "3.0 GB"),
        (5 * 1024**4, False, "5120.0 GB"),  # GB is the largest unit: pool sizes never need more
    ],
)
def test_format_size(value, signed, text):
    assert format_size(value, signed=signed) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (119, "119s"), (120, "2m"), (7199, "119m"), (7200, "2h"), (9000, "2h30m"),
     (172799, "47h59m"), (172800, "2.0d"), (200000, "2.3d")],
)
def test_format_duration(seconds, text):
    assert format_duration(timedelta(seconds=seconds)) == text


@given(st.integers(min_value=0, max_value=10**7), st.sampled_from(["", "K", "M", "G"]))
def test_size_round_trip_of_whole_units(n, unit):
    factor = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[unit]
    assert parse_size(f"{n}{unit}") == n * factor


@given(st.integers(min_value=0, max_value=48), st.integers(min_value=0, max_value=59),
       st.integers(min_value=0, max_value=59))
def test_duration_parts_add_up(h, m, s):
    if h == m == s == 0:
        return
    text = "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v)
    assert parse_duration(text) == timedelta(hours=h, minutes=m, seconds=s)
