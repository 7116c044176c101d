"""Diagnostics: lenient by default, counted skips, strict raises with file and line."""

from __future__ import annotations

import pytest

from parsers.errors import Diagnostics, ErrorLevel, InputError, ParseError


def test_skipped_lines_are_summarised_per_source() -> None:
    diag = Diagnostics()
    diag.skip("a.log", 17, "row does not add up")
    diag.skip("a.log", 40, "no Type word")
    diag.skip("b.log", 3, "garbled")
    diag.note("a.log", 90, "log cut off mid-row")
    assert [str(w) for w in diag.warnings()] == [
        "a.log:90: log cut off mid-row",
        "a.log:17: 2 lines skipped; first at a.log:17: row does not add up",
        "b.log:3: 1 line skipped; first at b.log:3: garbled",
    ]


def test_strict_raises_on_the_first_unreadable_line() -> None:
    diag = Diagnostics(level=ErrorLevel.RAISE)
    with pytest.raises(ParseError) as info:
        diag.skip("a.log", 17, "row does not add up", text=" Abcd Nonp 12 x")
    assert str(info.value) == "a.log:17: row does not add up >> Abcd Nonp 12 x<<"


def test_ignore_level_reports_nothing() -> None:
    diag = Diagnostics(level=ErrorLevel.IGNORE)
    diag.skip("a.log", 1, "x")
    assert diag.warnings() == []


def test_input_error_without_line() -> None:
    assert str(InputError("x.bin", "binary data, not text")) == "x.bin: binary data, not text"
