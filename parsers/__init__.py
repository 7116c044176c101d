"""poolscope parsers: every real-world text form of pool usage, normalised into snapshots.

The one entry point is :func:`parse`::

    from parsers import parse
    result = parse(["poolmon.log"])
    for snap in result.snapshots:
        print(snap.timestamp, len(snap.rows))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
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
    "Candidates",
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
    "owner_map",
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

    def to_dict(self, owners: Any = None, candidates: Candidates | None = None) -> dict[str, Any]:
        """The ``poolscope parse --format json`` contract.

        ``owners`` maps a tag to its best owner (the rows' ``owner``); ``candidates`` maps it to
        its candidate owners for the top-level ``owners`` object, and defaults to
        ``owners.candidates`` when ``owners`` is an owner resolver.
        """
        if candidates is None:
            candidates = getattr(owners, "candidates", None)
        return {
            "snapshots": [s.to_dict(owners) for s in self.snapshots],
            "warnings": [w.to_dict() for w in self.warnings],
            "owners": owner_map((t for s in self.snapshots for t in s.rows.tags), candidates),
        }


#: tag -> candidate owners, each a mapping or an object with ``to_dict()`` (analyzer.owners.OwnerCandidate).
Candidates = Callable[[str], Sequence[Any]]


def owner_map(tags: Iterable[str], candidates: Candidates | None) -> dict[str, list[dict[str, Any]]]:
    """``{tag: [candidate, ...]}`` for the given tags that have any candidate, in sorted tag order.

    Rows of the JSON contract carry only the best ``owner``: a large log has millions of rows,
    so each tag's candidates and their provenance are written once, here.
    """
    if candidates is None:
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for tag in sorted(set(tags)):
        found = candidates(tag)
        if found:
            out[tag] = [c.to_dict() if hasattr(c, "to_dict") else dict(c) for c in found]
    return out


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
        _never_silently_empty(source.name, snaps, diag)
        result.sources.append(SourceInfo(source.name, fmt.name, source.encoding, len(snaps)))
        result.snapshots.extend(snaps)
    from .timeline import order_snapshots

    result.snapshots = order_snapshots(result.snapshots, result.sources, options, diag)
    result.warnings = diag.warnings()
    return result


def _never_silently_empty(name: str, snaps: Sequence[Snapshot], diag: Diagnostics) -> None:
    """A source that gave no row at all is worth a warning, whatever its reader thought of it."""
    if any(len(s.rows) for s in snaps):
        return
    if any(w.source == name for w in (*diag.notes, *diag.skipped)):
        return
    totals = sorted({k for s in snaps for k in s.totals})
    what = f"only header totals ({', '.join(totals)})" if totals else "nothing"
    diag.note(name, snaps[0].line if snaps else None, f"no pool rows read, {what}: headings without rows",
              strict=False)


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
