"""Timestamps written by the wrappers people put around PoolMon, and in file names."""

from __future__ import annotations

import re
from datetime import datetime

_FILENAME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(\d{4})(\d{2})(\d{2})[_T-]?(\d{2})(\d{2})(\d{2})"), "ymdHMS"),
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})[_T ](\d{2})[-.:h](\d{2})[-.:m](\d{2})"), "ymdHMS"),
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), "mdy"),
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "ymd"),
)


def timestamp_from_filename(name: str) -> datetime | None:
    """A timestamp embedded in a file name (``poolsnap_20261121_140307.log``), or None."""
    base = name.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
    for pattern, order in _FILENAME_PATTERNS:
        m = pattern.search(base)
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        try:
            if order == "ymdHMS":
                return datetime(g[0], g[1], g[2], g[3], g[4], g[5])
            if order == "mdy":
                return datetime(g[2], g[0], g[1])
            return datetime(g[0], g[1], g[2])
        except ValueError:
            continue
    return None
