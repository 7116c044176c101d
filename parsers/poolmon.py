"""PoolMon console screens, ``poolmon /n`` snapshot files and logs of many of them.

Reading happens in two layers.  Lines are classified (row, ``Memory:`` header,
``Commit:`` header, title, column header, time marker, noise) by a bulk path
(:mod:`parsers.poolmon_fast`, numpy over bytes) where the text is clean, and line
by line here where it is not.  Both feed one :class:`FrameAssembler`, which
decides where a snapshot starts and ends:

* a new ``Memory:`` header, ``Commit:`` line, title or column header after rows;
* a time marker after anything else;
* the same (tag, pool) seen twice with no separator between: the rows of a log
  written without headers restart, so a new frame starts there (one note per
  source says so).

Every row is checked against PoolMon's identities (Diff = Allocs − Frees, Per
Alloc = floor(Bytes / Diff)); numbers that ran together are split again with
them; rows that still disagree are kept as read and counted in one note.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from . import pasted
from .errors import Diagnostics
from .formats import InputFormat, ParseOptions, SnapshotSink
from .model import MISSING, RowTable, Snapshot, TimeOrigin
from .poolmon_fast import BulkResult, TagTable, read_chunk, resolve_tags
from .poolmon_grammar import RowFields
from .poolmon_rows import TAG_TYPE, fits_int64, read_row
from .textio import TextSource
from .timestamps import Marker, MarkerClock, day_first_for, parse_marker, timestamp_from_filename

#: Numeric columns of a row batch, in RowTable order.
COLUMNS = ("allocs", "frees", "outstanding", "bytes", "allocs_change", "frees_change", "bytes_change")

_TYPE_WORD = re.compile(r"(?:^|[ ])(Nonp|Paged)(?=[ (\d]|$)")
_ROWISH = re.compile(r"(?:^|[\s>#])(?:Nonp|Paged)[ \t]+\d")
_MEMORY = re.compile(r"\bMemory:\s*(\d+)\s*K")
_AVAIL = re.compile(r"\bAvail:\s*(\d+)\s*K")
_PAGEFLTS = re.compile(r"\bPageFlts:\s*(\d+)")
_COMMIT = re.compile(r"\bCommit:\s*(\d+)\s*K")
_LIMIT = re.compile(r"\bLimit:\s*(\d+)\s*K")
_PEAK = re.compile(r"\bPeak:\s*(\d+)\s*K")
_POOL = re.compile(r"\bPool\s+N:\s*(\d+)\s*K\s*P:\s*(\d+)\s*K")
_TITLE = re.compile(r"\b(System|All\s+sessions|Session\s+(\d+))\s+pool\s+information\b", re.IGNORECASE)
_COLHDR = re.compile(r"\bTag\s+Type\s+Allocs\b")
_RULE = re.compile(r"^[\s\-=_*+|]+$")
_PROMPT = re.compile(r"^\s*(?:PS\s+)?[A-Za-z]:\\[^<>|]*>|^\s*[A-Za-z]:>")
_ELISION = re.compile(r"^\s*(?:\.{3,}|…|\[\s*(?:\.{3}|…|snip(?:ped)?)\s*\]|<\s*snip\s*>|\(\s*snip\s*\))\s*$", re.I)


@dataclass
class RowBatch:
    """Rows read together (one bulk chunk or one line), with the line each came from."""

    tag_ids: np.ndarray  # int64 ids into FrameAssembler.tag_strings
    pools: np.ndarray  # uint8 0 nonpaged / 1 paged
    columns: dict[str, np.ndarray]
    per_alloc: np.ndarray
    lines: np.ndarray  # int64 1-based line numbers
    has_changes: np.ndarray  # bool per row
    drivers: list[str | None] | None = None
    bad: np.ndarray | None = None  # rows breaking the identities, when already known

    def __len__(self) -> int:
        return len(self.tag_ids)

    def slice(self, start: int, stop: int) -> RowBatch:
        return RowBatch(
            self.tag_ids[start:stop],
            self.pools[start:stop],
            {k: v[start:stop] for k, v in self.columns.items()},
            self.per_alloc[start:stop],
            self.lines[start:stop],
            self.has_changes[start:stop],
            self.drivers[start:stop] if self.drivers is not None else None,
            self.bad[start:stop] if self.bad is not None else None,
        )


@dataclass
class _Frame:
    line: int
    totals: dict[str, int] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)
    scope: str | None = None
    markers: list[tuple[int, Marker]] = field(default_factory=list)
    batches: list[RowBatch] = field(default_factory=list)
    nrows: int = 0
    memory: bool = False
    commit: bool = False
    title: bool = False
    colheader: bool = False
    partial_at: int | None = None
    table: RowTable | None = None
    has_changes: bool = True

    @property
    def has_header(self) -> bool:
        return self.memory or self.commit or self.title or self.colheader

    @property
    def has_content(self) -> bool:
        return self.nrows > 0 or self.has_header


class FrameAssembler:
    """Collects classified lines of one source and cuts them into snapshots."""

    def __init__(self, source: TextSource, diag: Diagnostics, forced_format: str | None = None,
                 sink: SnapshotSink | None = None) -> None:
        self.source = source
        self.name = source.name
        self.diag = diag
        self.forced_format = forced_format
        self.tag_index: dict[str, int] = {}
        self.tag_strings: list[str] = []
        self.tag_table = TagTable(self.tag_id)
        self._tag_array: np.ndarray | None = None
        self.frames: list[_Frame] = []
        self.frame = _Frame(line=1)
        self.identity_failures = 0
        self.first_identity_failure: int | None = None
        self.repaired = 0
        self.first_repaired: int | None = None
        self.restart_noted = False
        # Streaming (``emit``): every closed frame but the last goes out as soon as the next one
        # closes (the last may yet be dropped as cut off), its rows dropped here.  Its time comes
        # from the markers read so far; ``finish`` recomputes every time over the whole source
        # and ``streamed_exact`` says whether the ones handed over were the same.
        self.sink = sink
        self.emitted = 0
        self.streamed_times: list[tuple[object, object]] = []
        self.streamed_exact = True
        self._markers: list[Marker] = []
        self._clock: MarkerClock | None = None
        self._previous: _Frame | None = None

    # -- tags ---------------------------------------------------------------------------
    def tag_id(self, tag: str) -> int:
        i = self.tag_index.get(tag)
        if i is None:
            i = len(self.tag_strings)
            self.tag_index[tag] = i
            self.tag_strings.append(tag)
            self._tag_array = None
        return i

    def tag_array(self) -> np.ndarray:
        if self._tag_array is None or len(self._tag_array) != len(self.tag_strings):
            arr = np.empty(len(self.tag_strings), dtype=object)
            arr[:] = self.tag_strings
            self._tag_array = arr
        return self._tag_array

    # -- events -------------------------------------------------------------------------
    def _new_frame(self, line: int) -> None:
        self._close()
        self.frame = _Frame(line=line)

    def _start_if(self, cond: bool, line: int) -> None:
        if cond:
            self._new_frame(line)
        elif not self.frame.has_content and not self.frame.markers:
            self.frame.line = line

    def memory(self, line: int, text: str) -> None:
        self._start_if(self.frame.has_content, line)
        self.frame.memory = True
        _read_totals(text, self.frame)

    def commit(self, line: int, text: str) -> None:
        f = self.frame
        self._start_if(f.commit or f.title or f.colheader or f.nrows > 0, line)
        self.frame.commit = True
        _read_totals(text, self.frame)

    def title(self, line: int, scope: str) -> None:
        f = self.frame
        self._start_if(f.title or f.colheader or f.nrows > 0, line)
        self.frame.title = True
        self.frame.scope = scope

    def colheader(self, line: int) -> None:
        f = self.frame
        self._start_if(f.colheader or f.nrows > 0, line)
        self.frame.colheader = True

    def marker(self, line: int, marker: Marker) -> None:
        self._start_if(self.frame.has_content, line)
        self.frame.markers.append((line, marker))

    def elision(self, line: int) -> None:
        if self.frame.partial_at is None:
            self.frame.partial_at = line

    def rows(self, batch: RowBatch) -> None:
        if not len(batch):
            return
        if not self.frame.has_content and not self.frame.markers:
            self.frame.line = int(batch.lines[0])
        self._check_identities(batch)
        self.frame.batches.append(batch)
        self.frame.nrows += len(batch)

    # -- checks -------------------------------------------------------------------------
    def _check_identities(self, batch: RowBatch) -> None:
        bad = batch.bad if batch.bad is not None else identity_mismatch(batch)
        if bad.any():
            first = int(batch.lines[np.argmax(bad)])
            self.identity_failures += int(bad.sum())
            if self.first_identity_failure is None:
                self.first_identity_failure = first

    def note_repair(self, line: int) -> None:
        self.repaired += 1
        if self.first_repaired is None:
            self.first_repaired = line

    # -- closing ------------------------------------------------------------------------
    def _close(self) -> None:
        """Turn the current frame's rows into a RowTable now, so per-row scratch arrays go."""
        frame = self.frame
        if not frame.has_content:
            return
        if not frame.nrows:
            self.frames.append(frame)
            return
        batch = concat_batches(frame.batches)
        frame.batches = []
        tags = self.tag_array()
        for k, part in enumerate(self._split_repeats(batch)):
            f = frame if k == 0 else _Frame(line=int(part.lines[0]), totals=frame.totals, scope=frame.scope)
            f.extra = dict(frame.extra)
            f.nrows = len(part)
            f.partial_at = frame.partial_at
            f.table = RowTable(tags[part.tag_ids].tolist(), part.pools, part.columns, part.drivers)
            f.has_changes = bool(part.has_changes.any())
            self.frames.append(f)
        self._emit_ready()

    def _emit_ready(self) -> None:
        """Hand over every frame but the last (streaming only), dropping its rows."""
        if self.sink is None:
            return
        while self.emitted < len(self.frames) - 1:
            frame = self.frames[self.emitted]
            self._stream_time(frame)
            self.streamed_times.append((frame.extra.get("timestamp"), frame.extra.get("time_zone")))
            snapshot = self._snapshot(self.emitted, frame)
            frame.table = None
            self.emitted += 1
            self.sink.handed_over += 1
            self.sink.put(snapshot)

    def _stream_time(self, frame: _Frame) -> None:
        """:meth:`_assign_times` for one frame, from the markers read so far."""
        self._markers.extend(m for _, m in frame.markers)
        if not self._markers:
            self._previous = frame
            return
        if self._clock is None:
            stamp = timestamp_from_filename(self.name)
            self._clock = MarkerClock(stamp.date() if stamp else None)
        self._clock.day_first = day_first_for(self._markers)
        moment = None
        for _, marker in frame.markers:
            moment = self._clock.feed(marker) or moment
            if marker.tz_name:
                frame.extra["time_zone"] = marker.tz_name
        previous = self._previous
        if moment is None and previous is not None and _continues_run(frame):
            moment = previous.extra.get("timestamp")
            if "time_zone" in previous.extra:
                frame.extra["time_zone"] = previous.extra["time_zone"]
        frame.extra["timestamp"] = moment
        self._previous = frame

    def _split_repeats(self, batch: RowBatch) -> list[RowBatch]:
        keys = batch.tag_ids * 2 + batch.pools
        # Tag ids are small dense integers, so counting beats sorting or hashing here.
        if int(np.bincount(keys).max()) <= 1:
            return [batch]
        parts: list[RowBatch] = []
        start = 0
        seen: set[int] = set()
        for i, k in enumerate(keys.tolist()):
            if k in seen:
                if not self.restart_noted:
                    self.restart_noted = True
                    self.diag.note(
                        self.name,
                        int(batch.lines[i]),
                        "a (tag, pool) row repeats with no header between: read as the start of a new snapshot",
                        strict=False,
                    )
                parts.append(batch.slice(start, i))
                start = i
                seen = set()
            seen.add(k)
        parts.append(batch.slice(start, len(keys)))
        return parts

    def _cut_starts_new_frame(self, frame: _Frame, key: tuple[str, int] | None) -> bool:
        """A cut-off row whose (tag, pool) the last frame already holds began the next frame."""
        if key is None or frame.table is None:
            return False
        return frame.table.index_of(key[0], "nonpaged" if key[1] == 0 else "paged") is not None

    def finish(
        self, options: ParseOptions, cut_at: int | None = None, cut_key: tuple[str, int] | None = None
    ) -> list[Snapshot]:
        self._close()
        frames = self.frames
        if cut_at is not None:
            # The cut-off note replaces the "unreadable row" count for that line.
            self.diag.skipped = [w for w in self.diag.skipped if (w.source, w.line) != (self.name, cut_at)]
            last = frames[-1] if frames else None
            where = f"input cut off mid-row at line {cut_at}"
            if last is None:
                message = f"{where}, before any complete row"
            elif last.nrows and self._cut_starts_new_frame(last, cut_key):
                message = f"{where}; the snapshot it began was dropped"
            elif len(frames) > 1:
                frames.pop()
                message = f"{where}; its last snapshot ({last.nrows} rows read) was dropped"
            else:
                last.extra["partial"] = True
                message = f"{where}; the snapshot is incomplete"
            self.diag.note(self.name, cut_at, message, strict=False)
        if self.identity_failures:
            n = self.identity_failures
            self.diag.note(
                self.name,
                self.first_identity_failure,
                f"{n} row{'s disagree' if n != 1 else ' disagrees'} with Diff = Allocs - Frees or "
                f"Per Alloc = Bytes / Diff (first at line {self.first_identity_failure}); kept as read",
            )
        if self.repaired:
            n = self.repaired
            self.diag.note(
                self.name,
                self.first_repaired,
                f"{n} row{'s' if n != 1 else ''} whose numbers ran together {'were' if n != 1 else 'was'} split with "
                f"Diff = Allocs - Frees and Per Alloc = Bytes / Diff (first at line {self.first_repaired})",
                strict=False,
                repair=True,
            )
        for frame in frames:
            if frame.partial_at is not None:
                self.diag.note(
                    self.name,
                    frame.partial_at,
                    "rows were left out here ('...' or [snip]); the snapshot is partial",
                )
        if self.emitted:
            for frame in frames[: self.emitted]:
                frame.extra.pop("timestamp", None)
                frame.extra.pop("time_zone", None)
        self._assign_times(frames)
        if self.emitted:
            again = [(f.extra.get("timestamp"), f.extra.get("time_zone")) for f in frames[: self.emitted]]
            self.streamed_exact = again == self.streamed_times
        return [self._snapshot(i, frame) for i, frame in enumerate(frames) if i >= self.emitted]

    def _assign_times(self, frames: list[_Frame]) -> None:
        all_markers = [m for f in frames for _, m in f.markers]
        if not all_markers:
            return
        stamp = timestamp_from_filename(self.name)
        clock = MarkerClock(stamp.date() if stamp else None, day_first_for(all_markers))
        previous: _Frame | None = None
        for frame in frames:
            moment = None
            for _, marker in frame.markers:
                moment = clock.feed(marker) or moment
                if marker.tz_name:
                    frame.extra["time_zone"] = marker.tz_name
            if moment is None and previous is not None and _continues_run(frame):
                # One PoolMon run prints the system pool and then the session pools under a
                # single banner: the later screens were taken at the banner's moment too.
                moment = previous.extra.get("timestamp")
                if "time_zone" in previous.extra:
                    frame.extra["time_zone"] = previous.extra["time_zone"]
            frame.extra["timestamp"] = moment
            previous = frame

    def _snapshot(self, index: int, frame: _Frame) -> Snapshot:
        extra = dict(frame.extra)
        timestamp = extra.pop("timestamp", None)
        if self.source.mtime is not None:
            extra["mtime"] = self.source.mtime
        if frame.partial_at is not None:
            extra["partial"] = True
        table = frame.table if frame.table is not None else RowTable.empty()
        has_changes = frame.has_changes
        fmt = self.forced_format or ("poolmon" if has_changes else "poolsnap")
        assert isinstance(timestamp, datetime | None)
        return Snapshot(
            source=self.name,
            index=index,
            format=fmt,
            rows=table,
            timestamp=timestamp,
            time_origin=TimeOrigin.MARKER if timestamp is not None else TimeOrigin.UNKNOWN,
            scope=frame.scope or "system",
            totals=dict(frame.totals),
            line=frame.line,
            extra=extra,
        )


def _continues_run(frame: _Frame) -> bool:
    """A pool-information screen with no ``Memory:``/``Commit:`` header or marker of its own.

    PoolMon prints those headers once per run, so such a screen (``All sessions pool
    information``) belongs to the run before it.  Rows that restart without any heading are
    a new, undated snapshot instead, so the title is required.
    """
    return frame.title and not (frame.memory or frame.commit or frame.markers)


def _read_totals(text: str, frame: _Frame) -> None:
    totals = frame.totals
    for label, pattern, key in (
        ("Memory:", _MEMORY, "memory_kb"),
        ("Avail:", _AVAIL, "avail_kb"),
        ("Commit:", _COMMIT, "commit_kb"),
        ("Limit:", _LIMIT, "commit_limit_kb"),
        ("Peak:", _PEAK, "commit_peak_kb"),
    ):
        m = pattern.search(text) if label in text else None
        if m:
            totals[key] = int(m.group(1))
    m = _POOL.search(text) if "Pool" in text else None
    if m:
        # "Pool N:" is nonpaged and the "P:" right after it is paged.
        totals["nonpaged_kb"] = int(m.group(1))
        totals["paged_kb"] = int(m.group(2))
    m = _PAGEFLTS.search(text) if "PageFlts" in text else None
    if m:
        frame.extra["page_faults"] = int(m.group(1))


# -- rows -------------------------------------------------------------------------------


def identity_mismatch(batch: RowBatch) -> np.ndarray:
    """Rows that break Diff = Allocs − Frees (modulo 32-bit wrap) or Per Alloc = floor(Bytes/Diff)."""
    c = batch.columns
    allocs, frees, diff, nbytes = c["allocs"], c["frees"], c["outstanding"], c["bytes"]
    delta = allocs - frees
    diff_ok = (delta == diff) | (((delta - diff) % (1 << 32)) == 0)
    positive = diff > 0
    per = np.where(positive, nbytes // np.where(positive, diff, 1), batch.per_alloc)
    return ~(diff_ok & (per == batch.per_alloc))


def batch_from_fields(rows: Sequence[RowFields], lines: Sequence[int], asm: FrameAssembler) -> RowBatch:
    def col(name: str) -> np.ndarray:
        return np.array([MISSING if getattr(r, name) is None else getattr(r, name) for r in rows], dtype=np.int64)

    drivers = [r.mapped_driver for r in rows]
    return RowBatch(
        tag_ids=np.array([asm.tag_id(r.tag) for r in rows], dtype=np.int64),
        pools=np.array([0 if r.pool == "nonpaged" else 1 for r in rows], dtype=np.uint8),
        columns={
            "allocs": col("allocs"),
            "frees": col("frees"),
            "outstanding": col("diff"),
            "bytes": col("bytes"),
            "allocs_change": col("allocs_change"),
            "frees_change": col("frees_change"),
            "bytes_change": col("bytes_change"),
        },
        per_alloc=col("per_alloc"),
        lines=np.array(lines, dtype=np.int64),
        has_changes=np.array([r.allocs_change is not None for r in rows], dtype=bool),
        drivers=drivers if any(d is not None for d in drivers) else None,
    )


def concat_batches(batches: Sequence[RowBatch]) -> RowBatch:
    if len(batches) == 1:
        return batches[0]
    drivers: list[str | None] | None = None
    if any(b.drivers is not None for b in batches):
        drivers = []
        for b in batches:
            drivers.extend(b.drivers if b.drivers is not None else [None] * len(b))
    return RowBatch(
        np.concatenate([b.tag_ids for b in batches]),
        np.concatenate([b.pools for b in batches]),
        {k: np.concatenate([b.columns[k] for b in batches]) for k in COLUMNS},
        np.concatenate([b.per_alloc for b in batches]),
        np.concatenate([b.lines for b in batches]),
        np.concatenate([b.has_changes for b in batches]),
        drivers,
    )


# -- line classification ----------------------------------------------------------------


class LineReader:
    """Classifies lines one by one and feeds them, with bulk-read rows, to a FrameAssembler.

    Remembers whether the last non-blank line was an unreadable row, which the caller
    may judge to be a log cut off mid-row.
    """

    def __init__(self, asm: FrameAssembler) -> None:
        self.asm = asm
        self.last_bad: tuple[int, tuple[str, int] | None] | None = None
        self._pending: list[RowFields] = []
        self._pending_lines: list[int] = []

    def flush(self) -> None:
        """Hand rows read line by line to the assembler as one batch (before any other event)."""
        if self._pending:
            self.asm.rows(batch_from_fields(self._pending, self._pending_lines, self.asm))
            self._pending = []
            self._pending_lines = []

    def rows(self, batch: RowBatch) -> None:
        if len(batch):
            self.flush()
            self.last_bad = None
            self.asm.rows(batch)

    def lines(self, lines: Iterable[tuple[int, str]]) -> None:
        for lineno, raw in lines:
            self.line(lineno, raw)

    def line(self, lineno: int, raw: str) -> None:
        asm = self.asm
        line = raw.rstrip()
        if not line.strip():
            return
        self.last_bad = None
        if _TYPE_WORD.search(line) and not _COLHDR.search(line):
            fields, repaired = read_row(line)
            if fields is not None and not fits_int64(fields):
                asm.diag.skip(asm.name, lineno, "number too large for a PoolMon counter", line.strip())
                return
            if fields is not None:
                if repaired:
                    asm.note_repair(lineno)
                self._pending.append(fields)
                self._pending_lines.append(lineno)
                return
            km = TAG_TYPE.match(line)
            key = None
            if km:
                tag = (km.group(1) if km.group(1) is not None else km.group(3)).ljust(4)
                key = (tag, 0 if (km.group(2) or km.group(4)) == "Nonp" else 1)
            self.last_bad = (lineno, key)
            asm.diag.skip(asm.name, lineno, "unreadable PoolMon row", line.strip())
            return
        self.flush()
        if "Memory:" in line:
            asm.memory(lineno, line)
            if "Commit:" in line:
                asm.frame.commit = True
            return
        if "Commit:" in line or "Pool N:" in line:
            asm.commit(lineno, line)
            return
        m = _TITLE.search(line)
        if m:
            word = m.group(1).lower()
            if word == "system":
                scope = "system"
            else:
                scope = "all-sessions" if word.startswith("all") else f"session:{m.group(2)}"
            asm.title(lineno, scope)
            return
        if _COLHDR.search(line):
            asm.colheader(lineno)
            return
        if _RULE.match(line) and not _ELISION.match(line):
            return
        if _PROMPT.match(line):
            # Batch wrappers echo their commands ("C:\\tools>poolmon.exe -b"); output follows.
            return
        marker = parse_marker(line)
        if marker is not None:
            asm.marker(lineno, marker)
            return
        if _ELISION.match(line):
            asm.elision(lineno)
            return
        asm.diag.skip(asm.name, lineno, "not a PoolMon line", line.strip())


# -- format entry points ----------------------------------------------------------------


def sniff(head: str) -> float:
    """How sure we are that ``head`` is PoolMon output (screens, snapshot files, pasted)."""
    rows = len(_ROWISH.findall(head))
    header = bool(_COLHDR.search(head)) or bool(re.search(r"\bTag\s+Type\b", head))
    totals = "Pool N:" in head or ("Memory:" in head and "Commit:" in head)
    if rows and (header or totals or rows >= 2):
        return 0.9
    if header and ("Allocs" in head and "Frees" in head and "Diff" in head):
        return 0.8
    if totals and _TITLE.search(head):
        return 0.7
    if rows:
        return 0.4
    return 0.0


def parse_source(
    source: TextSource, diag: Diagnostics, options: ParseOptions, forced: str | None = None
) -> list[Snapshot]:
    """Every snapshot in one PoolMon source."""

    asm = FrameAssembler(source, diag, forced, options.sink)
    reader = LineReader(asm)
    if pasted.looks_pasted(source.head(65536)):
        # Chunk by chunk too: a big log with one tab or '#' line in its head must not be
        # held whole.  Line numbers stay those of the source.
        offset = 0
        last = ""
        for chunk in source.iter_chunks():
            cleaned = pasted.clean(chunk)
            text = "\n".join(cleaned.lines) + "\n"
            bulk = None
            if text.isascii():
                numbers = np.asarray(cleaned.numbers, dtype=np.int64) + offset
                bulk = read_chunk(text.encode("utf-8"), 1, asm.tag_id, "utf-8", line_numbers=numbers)
            if bulk is not None:
                _merge(bulk, reader)
            else:
                reader.lines((offset + no, line) for no, line in cleaned.numbered_lines())
            offset += chunk.count("\n")
            last = chunk
        complete = last.rstrip(" \t").endswith("\n")
    else:
        complete = _read_bulk(source, reader)
    reader.flush()
    cut = reader.last_bad
    # A complete last line that simply did not parse is a bad row, not a cut-off log.
    snapshots = asm.finish(options) if cut is None or complete else asm.finish(options, cut[0], cut[1])
    if options.sink is not None and not asm.streamed_exact:
        options.sink.exact = False
    return snapshots


def _read_bulk(source: TextSource, reader: LineReader) -> bool:
    """Read chunk by chunk, rows in bulk where the text allows; True if the text ends with a newline.

    Chunks are read in bulk on a small thread pool (numpy releases the GIL for most of
    that work), and handed to the reader strictly in order.
    """
    line = 1
    raw = source.iter_raw_chunks()
    if raw is not None:
        codec = source.encoding.removesuffix("-sig")
        pieces: Iterator[tuple[bytes, str | None, str]] = ((data, None, codec) for data in raw)
    else:
        pieces = ((chunk.encode("utf-8", "replace"), chunk, "utf-8") for chunk in source.iter_chunks())
    complete = True
    pending: deque[tuple[Future[BulkResult | None], bytes, str | None, int, str]] = deque()
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        for data, text, codec in pieces:
            pending.append((pool.submit(read_chunk, data, line, None, codec), data, text, line, codec))
            line += data.count(b"\n")
            complete = data.endswith(b"\n")
            while len(pending) >= _WORKERS:
                _finish_piece(*pending.popleft(), reader)
        while pending:
            _finish_piece(*pending.popleft(), reader)
    return complete


#: Chunks read at once: two cores is what the project machines have.  Each chunk in flight
#: holds several byte matrices of its size (textio.CHUNK_CHARS), which counts in peak memory.
_WORKERS = 2


def _finish_piece(
    future: Future[BulkResult | None], data: bytes, text: str | None, line: int, codec: str, reader: LineReader
) -> None:
    bulk = future.result()
    if bulk is not None:
        resolve_tags(bulk, reader.asm.tag_table)
        _merge(bulk, reader)
        return
    if text is None:
        text = data.decode(codec, "replace").replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    reader.lines(enumerate(lines, start=line))


def _merge(bulk: BulkResult, reader: LineReader) -> None:
    """Feed bulk rows and the other lines to the reader in line order."""
    batch = RowBatch(bulk.tag_ids, bulk.pools, bulk.columns, bulk.per_alloc, bulk.lines, bulk.has_changes, bulk.drivers)
    batch.bad = identity_mismatch(batch)  # once per chunk rather than once per snapshot
    if not bulk.other_lines:
        reader.rows(batch)
        return
    cuts = np.searchsorted(bulk.lines, np.asarray(bulk.other_lines)).tolist()
    pos = 0
    for cut, lineno, text in zip(cuts, bulk.other_lines, bulk.other_texts, strict=True):
        if cut > pos:
            reader.rows(batch.slice(pos, cut))
            pos = cut
        reader.line(lineno, text)
    if pos < len(batch):
        reader.rows(batch.slice(pos, len(batch)))


def _parse_poolmon(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    return parse_source(source, diag, options)


def _parse_poolsnap(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    return parse_source(source, diag, options, forced="poolsnap")


FORMAT = InputFormat(
    name="poolmon",
    description="PoolMon console screens, poolmon /n snapshot files and appended logs of them",
    sniff=sniff,
    parse=_parse_poolmon,
)

#: ``--input-format poolsnap``: the same reader, every snapshot labelled as a snapshot file.
#: It never wins detection on its own (the poolmon reader already labels snapshot files).
SNAP_FORMAT = InputFormat(
    name="poolsnap",
    description="poolmon /n snapshot files (poolsnap.log), narrow or wide x64 layout",
    sniff=lambda head: 0.0,
    parse=_parse_poolsnap,
)
