"""poolscope parsers: every real-world text form of pool usage, normalised into snapshots.

The one entry point is :func:`parse`::

    from parsers import parse
    result = parse(["poolmon.log"])
    for snap in result.snapshots:
        print(snap.timestamp, len(snap.rows))
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .errors import (
    Diagnostics,
    ErrorLevel,
    InputError,
    ParseError,
    ParseWarning,
    PoolscopeError,
    UnsupportedPlatform,
)
from .formats import SNIFF_CHARS, InputFormat, ParseOptions, detect, format_names, get_format
from .model import MISSING, NONPAGED, PAGED, POOLS, Row, RowTable, Snapshot, TimeOrigin
from .textio import TextSource, read_inputs, text_source

__all__ = [
    "MISSING",
    "NONPAGED",
    "PAGED",
    "POOLS",
    "Diagnostics",
    "ErrorLevel",
    "InputError",
    "InputFormat",
    "ParseError",
    "ParseOptions",
    "ParseResult",
    "ParseWarning",
    "PoolscopeError",
    "Row",
    "RowTable",
    "Snapshot",
    "SourceInfo",
    "TextSource",
    "TimeOrigin",
    "UnsupportedPlatform",
    "format_names",
    "parse",
    "parse_sources",
    "parse_text",
]


@dataclass(frozen=True)
class SourceInfo:
    name: str
    format: str
    encoding: str
    snapshots: int


@dataclass
class ParseResult:
    snapshots: list[Snapshot] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    sources: list[SourceInfo] = field(default_factory=list)

    def to_dict(self, owners: Any = None) -> dict[str, Any]:
        """The ``poolscope parse --format json`` contract."""
        return {
            "snapshots": [s.to_dict(owners) for s in self.snapshots],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def parse_sources(
    sources: Iterable[TextSource],
    *,
    input_format: str | None = None,
    errors: ErrorLevel | str = ErrorLevel.WARN,
    interval: timedelta | None = None,
) -> ParseResult:
    """Parse already-decoded sources; see :func:`parse`."""
    diag = Diagnostics(level=ErrorLevel(errors))
    options = ParseOptions(interval=interval)
    forced = get_format(input_format) if input_format else None
    result = ParseResult()
    for source in sources:
        fmt = forced or detect(source)
        if not source.head(SNIFF_CHARS).strip():
            raise InputError(source.name, "empty input: no text to read")
        snaps = fmt.parse(source, diag, options)
        result.sources.append(SourceInfo(source.name, fmt.name, source.encoding, len(snaps)))
        result.snapshots.extend(snaps)
    from .timeline import order_snapshots

    result.snapshots = order_snapshots(result.snapshots, result.sources, options, diag)
    result.warnings = diag.warnings()
    return result


def parse(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    input_format: str | None = None,
    errors: ErrorLevel | str = ErrorLevel.WARN,
    interval: timedelta | None = None,
) -> ParseResult:
    """Read files, folders, globs or ``-`` (stdin) and return their snapshots in time order.

    The format of each source is detected from its content unless ``input_format``
    names one.  ``errors`` chooses what an unreadable line does: ``ignore``,
    ``warn`` (collected in ``ParseResult.warnings``) or ``raise`` (:class:`ParseError`).
    ``interval`` spaces snapshots that carry no timestamp of their own.
    """
    return parse_sources(read_inputs(inputs), input_format=input_format, errors=errors, interval=interval)


def parse_text(text: str, name: str = "<text>", **kwargs: Any) -> ParseResult:
    """Parse an in-memory string, as :func:`parse` does a file."""
    return parse_sources([text_source(text, name)], **kwargs)
