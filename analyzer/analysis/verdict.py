"""The verdict vocabulary of trend analysis, shared by every layer and the public API."""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    """What ``trend`` concludes about one (tag, pool) series.

    A ``str`` subclass, so ``row.verdict == "leak"`` and JSON output keep working.
    """

    LEAK = "leak"
    SUSPECT = "suspect"
    RECOVERS = "recovers"
    STABLE = "stable"
    INSUFFICIENT_DATA = "insufficient-data"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)
