"""Exceptions, warnings and the error level shared by every parser.

Lenient by default: a parser that meets a line it cannot read records a
:class:`ParseWarning` in a :class:`Diagnostics` and goes on.  The caller's
:class:`ErrorLevel` decides whether such a line is ignored, reported, or raised.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field


class PoolscopeError(Exception):
    """Base of every error poolscope raises on purpose; the CLI prints it as one line, exit 2."""


class InputError(PoolscopeError):
    """Input that cannot be used: missing, empty, binary, or not pool data at all."""

    def __init__(self, source: str, message: str, line: int | None = None, text: str | None = None) -> None:
        self.source = source
        self.line = line
        self.message = message
        self.text = text
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        shown = ""
        if self.text is not None:
            snippet = self.text if len(self.text) <= 60 else self.text[:57] + "..."
            shown = f" >>{snippet}<<"
        return f"{where}: {self.message}{shown}"


class ResourceLimit(InputError):
    """Input refused because reading it would exceed a limit (an archive bomb, archives nested too deep)."""


class ParseError(InputError):
    """A line that could not be read, raised under ``ErrorLevel.RAISE`` (``--strict``)."""


class UnsupportedPlatform(PoolscopeError):
    """A platform facility (live capture, debugger) is not available here."""


class ErrorLevel(str, enum.Enum):
    IGNORE = "ignore"
    WARN = "warn"
    RAISE = "raise"


@dataclass(frozen=True)
class ParseWarning:
    source: str
    line: int | None
    message: str
    #: True for an exact repair (nothing lost, e.g. numbers that ran together split by PoolMon's
    #: identities): worth a note, not a warning on every run.
    repair: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "line": self.line, "message": self.message}


@dataclass
class Diagnostics:
    """Collects what a parse could not read.

    Two kinds: *skipped lines* (unreadable rows, counted and summarised as
    ``N lines skipped; first at FILE:LINE: reason``) and *notes* (partial input,
    repaired values, a log cut off mid-row) that are reported one by one.
    """

    level: ErrorLevel = ErrorLevel.WARN
    notes: list[ParseWarning] = field(default_factory=list)
    skipped: list[ParseWarning] = field(default_factory=list)

    def skip(self, source: str, line: int | None, reason: str, text: str | None = None) -> None:
        """Record an unreadable line; raises ParseError when the level is RAISE."""
        if self.level is ErrorLevel.RAISE:
            raise ParseError(source, reason, line, text)
        self.skipped.append(ParseWarning(source, line, reason))

    def note(self, source: str, line: int | None, message: str, *, strict: bool = True,
             repair: bool = False) -> None:
        """Record partial or repaired input; raises under RAISE unless ``strict`` is False.

        ``repair=True`` marks an exact repair (nothing lost): front ends summarise those.
        """
        if strict and self.level is ErrorLevel.RAISE:
            raise ParseError(source, message, line)
        self.notes.append(ParseWarning(source, line, message, repair=repair))

    def extend(self, other: Diagnostics) -> None:
        self.notes.extend(other.notes)
        self.skipped.extend(other.skipped)

    def warnings(self) -> list[ParseWarning]:
        """Notes first, then one summary per source for skipped lines."""
        if self.level is ErrorLevel.IGNORE:
            return []
        out = list(self.notes)
        by_source: Counter[str] = Counter(w.source for w in self.skipped)
        seen: set[str] = set()
        for w in self.skipped:
            if w.source in seen:
                continue
            seen.add(w.source)
            n = by_source[w.source]
            noun = "line" if n == 1 else "lines"
            where = f"{w.source}:{w.line}" if w.line is not None else w.source
            out.append(ParseWarning(w.source, w.line, f"{n} {noun} skipped; first at {where}: {w.message}"))
        return out


def split_repairs(warnings: list[ParseWarning]) -> tuple[list[ParseWarning], list[ParseWarning]]:
    """(warnings about lost or doubtful input, exact repairs) in their original order."""
    return [w for w in warnings if not w.repair], [w for w in warnings if w.repair]


def repair_summary(repairs: list[ParseWarning]) -> str | None:
    """One line for every exact repair of a run: how many, in how many files, where the first is."""
    if not repairs:
        return None
    rows = 0
    for w in repairs:
        head = w.message.split(" ", 1)[0]
        rows += int(head) if head.isdigit() else 1
    files = len({w.source for w in repairs})
    first = repairs[0]
    where = f"{first.source}:{first.line}" if first.line is not None else first.source
    return (f"{rows} row{'s' if rows != 1 else ''} in {files} file{'s' if files != 1 else ''} repaired exactly "
            f"(numbers that ran together, split with PoolMon's identities; first at {where})")
