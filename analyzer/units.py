"""Sizes (``64K``, ``1.5MB``) and durations (``5s``, ``30m``, ``1.5h``) as users type them."""

from __future__ import annotations

import re
from datetime import timedelta

_SIZE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_SIZE_FACTOR = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|sec|hr|s|m|h|d)?", re.IGNORECASE)
_DURATION_FACTOR = {
    "ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, None: 1,
}


def parse_size(text: str) -> int:
    """Bytes in ``text``: ``4096``, ``64K``, ``64KB``, ``1.5MB``, ``2GiB`` (binary multiples)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r} (examples: 4096, 64K, 1.5MB)")
    number, unit, _ = m.groups()
    return round(float(number) * _SIZE_FACTOR[unit.lower()])


def parse_duration(text: str, allow_zero: bool = False) -> timedelta:
    """A duration: ``0.5s``, ``5s``, ``1m``, ``30m``, ``2h``, ``1h30m``; a bare number is seconds."""
    s = text.strip().replace(" ", "")
    if not s:
        raise ValueError("empty duration")
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos or not m.group(0):
            raise ValueError(f"not a duration: {text!r} (examples: 5s, 30m, 1.5h)")
        unit = m.group(2).lower() if m.group(2) else None
        total += float(m.group(1)) * _DURATION_FACTOR[unit]
        pos = m.end()
    if pos != len(s):
        raise ValueError(f"not a duration: {text!r} (examples: 5s, 30m, 1.5h)")
    if total < 0 or (total == 0 and not allow_zero):
        raise ValueError(f"duration must be positive: {text!r}")
    return timedelta(seconds=total)


def format_size(value: float | None, signed: bool = False) -> str:
    """Human size with binary prefixes: ``1.5 MB``, ``640 B``; ``-`` for unknown."""
    if value is None:
        return "-"
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    v = abs(float(value))
    for unit in ("B", "KB", "MB", "GB"):
        if v < 1024 or unit == "GB":
            if unit == "B":
                return f"{sign}{int(v)} B"
            return f"{sign}{v:.1f} {unit}"
        v /= 1024
    raise AssertionError("unreachable")


def format_duration(td: timedelta) -> str:
    secs = int(td.total_seconds())
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    if secs < 172800:
        h, rem = divmod(secs, 3600)
        return f"{h}h{rem // 60:02d}m" if rem // 60 else f"{h}h"
    return f"{secs / 86400:.1f}d"
