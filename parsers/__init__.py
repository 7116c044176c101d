"""poolscope parsers: every real-world text form of pool usage, normalised into snapshots.

The one entry point is :func:`parse`::

    from parsers import parse
    result = parse(["poolmon.log"])
    for snap in result.snapshots:
        print(snap.timestamp, len(snap.rows))
"""

from __future__ import annotations

import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
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
from .formats import SNIFF_CHARS, InputFormat, ParseOptions, SnapshotSink, detect, format_names, get_format
from .model import MISSING, NONPAGED, PAGED, POOLS, Row, RowTable, Snapshot, TimeOrigin, fits_int64
from .progress import ProgressCallback, counted_sources
from .textio import StreamedSource, TextSource, UnreadableSource, read_inputs, text_source

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
    "ProgressCallback",
    "Row",
    "RowTable",
    "Snapshot",
    "SourceInfo",
    "StreamedParse",
    "TextSource",
    "TimeOrigin",
    "UnsupportedPlatform",
    "format_names",
    "owner_map",
    "parse",
    "parse_sources",
    "parse_streamed",
    "parse_text",
    "settle_pictures",
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


def settle_pictures(snapshots: list[Snapshot]) -> list[ParseWarning]:
    """Screenshots read apart (``diff``'s two sides): settle the tags one doubts by the others."""
    from .screenshot import settle_across_pictures

    diag = Diagnostics()
    settle_across_pictures(snapshots, diag)
    return diag.warnings()


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
    failed: list[InputError] = []
    for source in sources:
        try:
            if isinstance(source, UnreadableSource):
                raise source.error
            for note in source.notes:
                diag.note(source.name, None, note)
            fmt = forced or detect(source)
            binary = getattr(source, "binary_format", None) is not None
            if not binary and not source.head(SNIFF_CHARS).strip():
                raise InputError(source.name, "empty input: no text to read")
            segments = [] if forced or binary or isinstance(source, StreamedSource) else _segments(source.text)
            if segments:
                parts = _parse_segments(source, segments, diag, options)
                fmt = parts[0][0]
                snaps = [s for _, part in parts for s in part]
                for i, snap in enumerate(snaps):
                    snap.index = i
            else:
                snaps = _parse_one(fmt, source, diag, options)
        except InputError as exc:
            if isinstance(exc, ParseError) or diag.level is ErrorLevel.RAISE:
                raise
            # An attachment's stray notes.txt, readme or empty file: read the rest, say what was left out.
            failed.append(exc)
            diag.note(source.name, exc.line, f"left out: {exc.message}", strict=False)
            continue
        _never_silently_empty(source.name, snaps, diag)
        result.sources.append(SourceInfo(source.name, fmt.name, source.encoding, len(snaps)))
        result.snapshots.extend(snaps)
    if failed and not result.sources:
        if len(failed) == 1:
            raise failed[0]
        raise InputError(failed[0].source, f"nothing usable in {len(failed)} files; first: {failed[0].message}",
                         failed[0].line)
    return _finish(result, diag, options)


def _finish(result: ParseResult, diag: Diagnostics, options: ParseOptions) -> ParseResult:
    """Pictures settled against each other, header figures kept in range, one time line, warnings."""
    from .screenshot import settle_across_pictures
    from .timeline import order_snapshots

    settle_across_pictures(result.snapshots, diag)

    for snap in result.snapshots:
        for key, value in list(snap.totals.items()):
            if not fits_int64((value,)):
                # Header figures feed float and int64 arithmetic downstream; keep them in range.
                del snap.totals[key]
                diag.note(snap.source, snap.line, f"header figure {key} = {value} is beyond the 64-bit range; "
                          "left out")
    result.snapshots = order_snapshots(result.snapshots, result.sources, options, diag)
    result.warnings = diag.warnings()
    return result


class StreamedParse:
    """The snapshots of one large log, handed over as they are read (:func:`parse_streamed`).

    Iterate once over :attr:`snapshots`; after that :attr:`warnings` and :attr:`sources` are
    complete and :attr:`exact` says whether what was handed over is exactly what :func:`parse`
    returns (the same snapshots, times and order).  When it is not (a log whose snapshots are
    out of time order, say), the caller reads again with :func:`parse`.  :attr:`streaming` is
    False when the input does not qualify; the snapshots then come from a whole parse.
    """

    def __init__(self, whole: ParseResult | None = None, source: TextSource | None = None,
                 fmt: InputFormat | None = None, diag: Diagnostics | None = None,
                 options: ParseOptions | None = None) -> None:
        self.streaming = whole is None
        self.exact = True
        self.warnings: list[ParseWarning] = whole.warnings if whole is not None else []
        self.sources: list[SourceInfo] = whole.sources if whole is not None else []
        self._whole = whole
        self._source, self._format, self._diag, self._options = source, fmt, diag, options
        self._used = False

    @property
    def snapshots(self) -> Iterator[Snapshot]:
        if self._used:
            raise RuntimeError("a streamed parse can be read only once")
        self._used = True
        if self._whole is not None:
            snaps, self._whole.snapshots = self._whole.snapshots, []
            return iter(snaps)
        return self._stream()

    def _stream(self) -> Iterator[Snapshot]:
        source, fmt, diag, options = self._source, self._format, self._diag, self._options
        assert source is not None and fmt is not None and diag is not None and options is not None
        handed: queue.Queue[Any] = queue.Queue(maxsize=4)
        sink = SnapshotSink(handed.put)
        done = object()

        def read() -> None:
            try:
                handed.put((done, _parse_one(fmt, source, diag, replace(options, sink=sink)), None))
            except BaseException as exc:  # handed to the reading thread, raised there
                handed.put((done, None, exc))

        threading.Thread(target=read, name="poolscope-streamed-parse", daemon=True).start()
        check = _StreamCheck()
        while True:
            item = handed.get()
            if isinstance(item, tuple) and item[0] is done:
                break
            check.see(item)
            yield item
        _, tail, error = item
        if error is not None:
            raise error
        if not sink.handed_over:
            # Nothing went out early (a small log): the whole path, exactly as parse does it.
            _never_silently_empty(source.name, tail, diag)
            info = SourceInfo(source.name, fmt.name, source.encoding, len(tail))
            result = _finish(ParseResult(snapshots=tail, sources=[info]), diag, options)
            self.sources, self.warnings = result.sources, result.warnings
            yield from result.snapshots
            return
        for snap in tail:
            check.see(snap)
        self.exact = sink.exact and check.same_as_whole(options)
        self.sources = [SourceInfo(source.name, fmt.name, source.encoding, check.count)]
        self.warnings = diag.warnings()
        yield from tail


class _StreamCheck:
    """What a whole parse would still do to snapshots seen one by one (:mod:`.timeline`, _finish)."""

    def __init__(self) -> None:
        self.count = 0
        self.rows = False
        self.totals_fit = True
        self.missing = False
        self.zoned = False
        self.backwards = False
        self._last: Any = None

    def see(self, snap: Snapshot) -> None:
        self.count += 1
        self.rows = self.rows or len(snap.rows) > 0
        if snap.totals and not fits_int64(tuple(snap.totals.values())):
            self.totals_fit = False
        stamp = snap.timestamp
        if stamp is None:
            self.missing = True
            return
        if stamp.tzinfo is not None:
            self.zoned = True
            return
        if self._last is not None and stamp < self._last:
            self.backwards = True
        self._last = stamp

    def same_as_whole(self, options: ParseOptions) -> bool:
        """True when the whole path would change nothing: no new warning, time or order."""
        if not (self.rows and self.totals_fit) or self.zoned or self.count < 2:
            return False
        if self.missing:
            # Without --interval, times stay unknown and file order stays (timeline.order_snapshots).
            return options.interval is None
        return not self.backwards


def parse_streamed(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    input_format: str | None = None,
    errors: ErrorLevel | str = ErrorLevel.WARN,
    interval: timedelta | None = None,
) -> StreamedParse:
    """:func:`parse` for writers that take snapshots one at a time, so a large log is never held whole.

    Streams when the input is one large plain file (read in chunks) of a reader that can
    hand snapshots over in file order (PoolMon); anything else is parsed whole as usual.
    See :class:`StreamedParse` for what the caller checks at the end.
    """
    level = ErrorLevel(errors)
    sources = list(read_inputs(inputs))
    source = sources[0] if len(sources) == 1 else None
    if isinstance(source, StreamedSource) and input_format is None and level is not ErrorLevel.RAISE:
        diag = Diagnostics(level=level)
        try:
            fmt = detect(source) if source.head(SNIFF_CHARS).strip() else None
        except InputError:
            fmt = None
        if fmt is not None and fmt.name == "poolmon":
            for note in source.notes:
                diag.note(source.name, None, note)
            return StreamedParse(None, source, fmt, diag, ParseOptions(interval=interval))
    return StreamedParse(parse_sources(sources, input_format=input_format, errors=errors, interval=interval))


#: Lines only one family writes, by family group (a debugger log holds !poolused tables: one group).
_ANCHORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("poolmon", re.compile(r"^[ \t>]*Tag\s+Type\s+Allocs\b")),
    ("debugger", re.compile(
        r"^[ \t>]*(?:(?:\d+:\s?)?(?:l?kd|\d+:\d+)>\s*\S|Tag\s+Allocs\s+(?:Frees\s+Diff\s+)?Used\b)")),
    ("slab", re.compile(r"^[ \t>]*(?:slabinfo\s*-\s*version:|OBJS\s+ACTIVE\s+USE\b)", re.IGNORECASE)),
)
#: Lines above an anchor that belong to the family starting there (PoolMon's header, a debugger banner).
_LEAD_IN = re.compile(r"^\s*(?:Memory:|Commit:|\S.*pool information\s*$|Microsoft \(R\)|Copyright|Loading Dump|"
                      r"Debug session time|Sorting by|NonPaged\s+Paged\s*$|\*\*\*)", re.IGNORECASE)
_MAX_SEGMENTED = 4 << 20  # big logs are one tool's output; scanning them line by line would cost too much


def _segments(text: str) -> list[tuple[int, str]]:
    """(first line, family) where the family of the text changes; one entry for a one-family text."""
    if len(text) > _MAX_SEGMENTED:
        return []
    lines = text.split("\n")
    out: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if not line or line[0] not in " \t>TOosS0123456789lk":
            continue
        # Substring tests first: nearly every line of a big log is a data row that no anchor matches.
        if "Tag" not in line and ">" not in line and "slabinfo" not in line and "OBJS" not in line:
            continue
        for family, pattern in _ANCHORS:
            if pattern.match(line):
                if not out or out[-1][1] != family:
                    start = i
                    while start > 0 and (_LEAD_IN.match(lines[start - 1]) or _few_numbers(lines[start - 1])):
                        start -= 1
                    if out and start <= out[-1][0]:
                        start = i
                    out.append((start + 1, family))
                break
    return out if len(out) > 1 else []


def _few_numbers(line: str) -> bool:
    """Blank lines, prose and banners (under three numbers): not data rows of the family above."""
    return sum(tok.strip("(),%K").isdigit() for tok in line.split()) < 3


def _parse_segments(source: TextSource, segments: list[tuple[int, str]], diag: Diagnostics,
                    options: ParseOptions) -> list[tuple[InputFormat, list[Snapshot]]]:
    """Each part of a file that holds several families, read by its own format (line numbers kept)."""
    lines = source.text.split("\n")
    bounds = [start for start, _ in segments] + [len(lines) + 1]
    out = []
    for (start, _family), end in zip(segments, bounds[1:], strict=True):
        part = "\n" * (start - 1) + "\n".join(lines[start - 1 : end - 1])
        piece = TextSource(source.name, part, source.encoding, source.mtime, source.path)
        fmt = detect(piece)
        snaps = _parse_one(fmt, piece, diag, options)
        if out:
            diag.note(source.name, start, f"a second format starts here: {fmt.name} ({fmt.description})",
                      strict=False)
        out.append((fmt, snaps))
    return out


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


def _parse_one(fmt: InputFormat, source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    """One reader on one source; a number past int64 that the reader let through refuses the source cleanly.

    Readers skip such rows themselves, naming the line; this is the backstop for a reader that
    does not yet, so the user gets one line (or, among several inputs, a warning) instead of a crash.
    """
    try:
        return fmt.parse(source, diag, options)
    except OverflowError as exc:
        raise InputError(source.name, f"a number beyond the 64-bit range of the row model ({exc})") from exc


def parse(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    input_format: str | None = None,
    errors: ErrorLevel | str = ErrorLevel.WARN,
    interval: timedelta | None = None,
    progress: ProgressCallback | None = None,
) -> ParseResult:
    """Read files, folders, globs or ``-`` (stdin) and return their snapshots in time order.

    The format of each source is detected from its content unless ``input_format``
    names one.  ``errors`` chooses what an unreadable line does: ``ignore``,
    ``warn`` (collected in ``ParseResult.warnings``) or ``raise`` (:class:`ParseError`).
    ``interval`` spaces snapshots that carry no timestamp of their own.  ``progress``
    is called as ``progress("read", bytes_done, bytes_total, label)`` while reading.
    """
    sources = read_inputs(inputs) if progress is None else counted_sources(inputs, progress)
    return parse_sources(sources, input_format=input_format, errors=errors, interval=interval)


def parse_text(text: str, name: str = "<text>", **kwargs: Any) -> ParseResult:
    """Parse an in-memory string, as :func:`parse` does a file."""
    return parse_sources([text_source(text, name)], **kwargs)
