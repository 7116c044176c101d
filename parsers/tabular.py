"""Pieces the table-shaped families share (CSV exports, key=value logs, plugin tables).

Dates in these files are written by the producer in the machine's locale, so one column's
cells are read together: a single unambiguous day-first date settles d/m against m/d for all.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime

from .timestamps import day_first_for, parse_marker

_INT = re.compile(r"^[+-]?\d+$")
# Digit groups as a locale writes them: 1,234,567 / 1.234.567 / 1 234 567 (also NBSP, narrow NBSP, ').
_GROUPED = re.compile(r"^\d{1,3}(?:([,. \u00a0\u202f'])\d{3})(?:\1\d{3})*$")


def read_int(text: str | None) -> int | None:
    """An integer cell, tolerating locale digit grouping and a trailing ``.0``; None when blank or not a number."""
    if text is None:
        return None
    t = text.strip().strip('"').strip()
    if not t:
        return None
    if _INT.match(t):
        return int(t)
    if t.endswith(".0") or t.endswith(",0"):
        t = t[:-2]
        if _INT.match(t):
            return int(t)
    if _GROUPED.match(t):
        return int(re.sub(r"\D", "", t))
    try:
        value = float(t)
    except ValueError:
        return None
    return round(value) if value == value and abs(value) < 2**63 else None


def read_times(cells: Sequence[str]) -> list[datetime | None]:
    """The moments in one column of date cells, d/m order decided once for the whole column."""
    markers = [parse_marker(c.strip().strip('"')) for c in cells]
    day_first = day_first_for([m for m in markers if m is not None])
    return [m.moment(day_first) if m is not None else None for m in markers]


def split_csv_line(line: str, delimiter: str = ",") -> list[str]:
    """One CSV record (quotes honoured); a line with an unclosed quote is read as far as it goes."""
    try:
        return next(csv.reader(io.StringIO(line), delimiter=delimiter, skipinitialspace=False))
    except (StopIteration, csv.Error):
        return line.split(delimiter)


def strip_lines(text: str) -> list[str]:
    """The source's lines without trailing spaces (line numbers keep their meaning)."""
    return [x.rstrip() for x in text.split("\n")]


def mapped_driver_cell(binary: str | None, description: str | None) -> str | None:
    """Owner columns of an export as PoolMon's Mapped_Driver text (``[abc.sys - what]``).

    Owner evidence then reads them as it reads PoolMon's own column.
    """
    parts = [p.strip().replace("[", "(").replace("]", ")") for p in (binary, description) if p and p.strip()]
    if not parts:
        return None
    if len(parts) == 1 and binary and binary.strip():
        return f"[{parts[0]} - ]" if "." in parts[0] or "!" in parts[0] else f"[{parts[0]}]"
    return "[" + " - ".join(parts) + "]"
