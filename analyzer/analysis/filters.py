"""PoolMon's tag filters: ``/iPATTERN`` includes, ``/xPATTERN`` excludes.

Patterns are case-sensitive (pool tags are: ``Abcd`` and ``abcD`` are different owners);
``*`` matches any run of characters, including none, and ``?`` exactly one.  A tag passes
when it matches any include (or there are none) and no exclude.  Tags are 4 characters
with right padding (``"CM  "``), and users type them unpadded, so a pattern is tried
against the tag as stored and with its trailing spaces removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from parsers.model import RowTable


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The anchored regex of one PoolMon pattern (``*`` any run, ``?`` one character)."""
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def _combined(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{pattern_regex(p).pattern})" for p in patterns), re.DOTALL)


@dataclass(frozen=True)
class TagFilter:
    """Include/exclude tag patterns with PoolMon's semantics."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    _inc: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _exc: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "include", tuple(self.include))
        object.__setattr__(self, "exclude", tuple(self.exclude))
        object.__setattr__(self, "_inc", _combined(self.include))
        object.__setattr__(self, "_exc", _combined(self.exclude))

    @property
    def active(self) -> bool:
        """False when the filter lets every tag through (no patterns at all)."""
        return bool(self.include or self.exclude)

    @staticmethod
    def _hit(rx: re.Pattern[str], tag: str) -> bool:
        if rx.fullmatch(tag):
            return True
        stripped = tag.rstrip(" ")
        return stripped != tag and rx.fullmatch(stripped) is not None

    def matches(self, tag: str) -> bool:
        if self._inc is not None and not self._hit(self._inc, tag):
            return False
        return not (self._exc is not None and self._hit(self._exc, tag))

    def mask(self, table: RowTable | Iterable[str]) -> np.ndarray:
        """A boolean array, one per row, True where the row's tag passes.

        Each distinct tag is matched once: a log repeats the same few thousand tags in
        every frame, so the regex work does not grow with the number of rows.
        """
        tags = table.tags if isinstance(table, RowTable) else list(table)
        if not self.active:
            return np.ones(len(tags), dtype=bool)
        verdict: dict[str, bool] = {}
        out = np.empty(len(tags), dtype=bool)
        for i, tag in enumerate(tags):
            hit = verdict.get(tag)
            if hit is None:
                hit = verdict[tag] = self.matches(tag)
            out[i] = hit
        return out

    def apply(self, table: RowTable) -> RowTable:
        """The rows of ``table`` whose tags pass (the table itself when nothing is filtered)."""
        if not self.active:
            return table
        return table.take(np.flatnonzero(self.mask(table)))
