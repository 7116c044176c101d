"""Text enums of the result records: the verdict vocabulary of trend analysis and their shared base."""

from __future__ import annotations

from enum import Enum


class TextEnum(str, Enum):
    """A ``str`` enum that prints, formats and serialises as its value.

    Result records carry these (verdicts, diff statuses, triage categories), so comparing with
    the plain word, JSON output and f-strings all keep working.
    """

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Verdict(TextEnum):
    """What ``trend`` concludes about one (tag, pool) series.

    A ``str`` subclass, so ``row.verdict == "leak"`` and JSON output keep working.
    """

    LEAK = "leak"
    SUSPECT = "suspect"
    RECOVERS = "recovers"
    STABLE = "stable"
    INSUFFICIENT_DATA = "insufficient-data"
