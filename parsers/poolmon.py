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

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .errors import Diagnostics
from .formats import InputFormat, ParseOptions
from .model import MISSING, RowTable, Snapshot, TimeOrigin
from .poolmon_grammar import RowFields, parse_row
from .textio import TextSource
from .timestamps import Marker, MarkerClock, day_first_for, parse_marker, timestamp_from_filename

#: Numeric columns of a row batch, in RowTable order.
COLUMNS = ("allocs", "frees", "outstanding", "bytes", "allocs_change", "frees_change", "bytes_change")

_CHG = r"[ ]*\([ ]*(-?\d+)[ ]*\)"
_SCREEN_NUMS = rf"[ ]+(\d+){_CHG}[ ]*(\d+){_CHG}[ ]*(-?\d+)[ ]+(\d+){_CHG}[ ]*(\d+)"
_SNAP_NUMS = r"[ ]+(\d+)[ ]+(\d+)[ ]+(-?\d+)[ ]+(\d+)[ ]+(\d+)"
_DRIVER = r"(?:[ ]+(\S.*?))?[ ]*$"
_EXACT_TAG = r"^ ?(.{4}) (Nonp|Paged)"
_SHORT_TAG = r"^[ ]*([^ ].{0,3}?)[ ]+(Nonp|Paged)"

#: Compiled row patterns, most common first: (pattern, has change columns, tag may be short).
ROW_PATTERNS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(_EXACT_TAG + _SCREEN_NUMS + _DRIVER), True),
    (re.compile(_EXACT_TAG + _SNAP_NUMS + _DRIVER), False),
    (re.compile(_SHORT_TAG + _SCREEN_NUMS + _DRIVER), True),
    (re.compile(_SHORT_TAG + _SNAP_NUMS + _DRIVER), False),
)

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

    @property
    def has_header(self) -> bool:
        return self.memory or self.commit or self.title or self.colheader

    @property
    def has_content(self) -> bool:
        return self.nrows > 0 or self.has_header


class FrameAssembler:
    """Collects classified lines of one source and cuts them into snapshots."""

    def __init__(self, source: TextSource, diag: Diagnostics, forced_format: str | None = None) -> None:
        self.source = source
        self.name = source.name
        self.diag = diag
        self.forced_format = forced_format
        self.tag_index: dict[str, int] = {}
        self.tag_strings: list[str] = []
        self._tag_array: np.ndarray | None = None
        self.frames: list[_Frame] = []
        self.frame = _Frame(line=1)
        self.identity_failures = 0
        self.first_identity_failure: int | None = None
        self.repaired = 0
        self.first_repaired: int | None = None
        self.restart_noted = False

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

    def add_row(self, fields: RowFields, line: int) -> None:
        self.rows(batch_from_fields([fields], [line], self))

    # -- checks -------------------------------------------------------------------------
    def _check_identities(self, batch: RowBatch) -> None:
        bad = identity_mismatch(batch)
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
        frame = self.frame
        if not frame.has_content:
            return
        if frame.nrows:
            batch = concat_batches(frame.batches)
            for part in self._split_repeats(batch):
                f = _Frame(
                    line=frame.line
                    if part is batch or int(part.lines[0]) == int(batch.lines[0])
                    else int(part.lines[0]),
                    totals=frame.totals,
                    extra=frame.extra,
                    scope=frame.scope,
                    markers=frame.markers if int(part.lines[0]) == int(batch.lines[0]) else [],
                    batches=[part],
                    nrows=len(part),
                    partial_at=frame.partial_at,
                )
                self.frames.append(f)
        else:
            frame.batches = []
            self.frames.append(frame)

    def _split_repeats(self, batch: RowBatch) -> list[RowBatch]:
        keys = batch.tag_ids * 2 + batch.pools
        if len(np.unique(keys)) == len(keys):
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
        if key is None or key[0] not in self.tag_index:
            return False
        wanted = self.tag_index[key[0]] * 2 + key[1]
        batch = frame.batches[0]
        return bool(np.any(batch.tag_ids * 2 + batch.pools == wanted))

    def finish(
        self, options: ParseOptions, cut_at: int | None = None, cut_key: tuple[str, int] | None = None
    ) -> list[Snapshot]:
        self._close()
        frames = self.frames
        if cut_at is not None:
            # The cut-off note below replaces the "unreadable row" count for that line.
            self.diag.skipped = [w for w in self.diag.skipped if (w.source, w.line) != (self.name, cut_at)]
        if cut_at is not None and frames and frames[-1].nrows and self._cut_starts_new_frame(frames[-1], cut_key):
            self.diag.note(
                self.name,
                cut_at,
                f"input cut off mid-row at line {cut_at}; the snapshot it began was dropped",
                strict=False,
            )
        elif cut_at is not None and frames and frames[-1].nrows:
            if len(frames) > 1:
                dropped = frames.pop()
                self.diag.note(
                    self.name,
                    cut_at,
                    f"input cut off mid-row at line {cut_at}; its last snapshot "
                    f"({dropped.nrows} rows read) was dropped",
                    strict=False,
                )
            else:
                self.diag.note(
                    self.name,
                    cut_at,
                    f"input cut off mid-row at line {cut_at}; the snapshot is incomplete",
                    strict=False,
                )
        if self.identity_failures:
            n = self.identity_failures
            self.diag.note(
                self.name,
                self.first_identity_failure,
                f"{n} row{'s' if n != 1 else ''} disagree with Diff = Allocs - Frees or "
                f"Per Alloc = Bytes / Diff (first at line {self.first_identity_failure}); kept as read",
                strict=False,
            )
        if self.repaired:
            n = self.repaired
            self.diag.note(
                self.name,
                self.first_repaired,
                f"{n} row{'s' if n != 1 else ''} whose numbers ran together {'were' if n != 1 else 'was'} split with "
                f"Diff = Allocs - Frees and Per Alloc = Bytes / Diff (first at line {self.first_repaired})",
                strict=False,
            )
        for frame in frames:
            if frame.partial_at is not None:
                self.diag.note(
                    self.name,
                    frame.partial_at,
                    "rows were left out here ('...' or [snip]); the snapshot is partial",
                    strict=False,
                )
        self._assign_times(frames)
        snaps = []
        tags = self.tag_array()
        for i, frame in enumerate(frames):
            snaps.append(self._snapshot(i, frame, tags))
        return snaps

    def _assign_times(self, frames: list[_Frame]) -> None:
        all_markers = [m for f in frames for _, m in f.markers]
        if not all_markers:
            return
        stamp = timestamp_from_filename(self.name)
        clock = MarkerClock(stamp.date() if stamp else None, day_first_for(all_markers))
        for frame in frames:
            moment = None
            for _, marker in frame.markers:
                moment = clock.feed(marker) or moment
                if marker.tz_name:
                    frame.extra["time_zone"] = marker.tz_name
            frame.extra["timestamp"] = moment

    def _snapshot(self, index: int, frame: _Frame, tags: np.ndarray) -> Snapshot:
        extra = dict(frame.extra)
        timestamp = extra.pop("timestamp", None)
        if self.source.mtime is not None:
            extra["mtime"] = self.source.mtime
        if frame.partial_at is not None:
            extra["partial"] = True
        if frame.nrows:
            batch = frame.batches[0]
            table = RowTable(
                tags[batch.tag_ids].tolist(),
                batch.pools,
                batch.columns,
                batch.drivers,
            )
            has_changes = bool(batch.has_changes.any())
        else:
            table = RowTable.empty()
            has_changes = True
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


def _read_totals(text: str, frame: _Frame) -> None:
    totals = frame.totals
    for pattern, key in (
        (_MEMORY, "memory_kb"),
        (_AVAIL, "avail_kb"),
        (_COMMIT, "commit_kb"),
        (_LIMIT, "commit_limit_kb"),
        (_PEAK, "commit_peak_kb"),
    ):
        m = pattern.search(text)
        if m:
            totals[key] = int(m.group(1))
    m = _POOL.search(text)
    if m:
        # "Pool N:" is nonpaged and the "P:" right after it is paged.
        totals["nonpaged_kb"] = int(m.group(1))
        totals["paged_kb"] = int(m.group(2))
    m = _PAGEFLTS.search(text)
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


def _fields_from_match(m: re.Match[str], screen: bool) -> RowFields:
    g = m.groups()
    tag = g[0].ljust(4)
    pool = "nonpaged" if g[1] == "Nonp" else "paged"
    if screen:
        return RowFields(
            tag, pool, int(g[2]), int(g[4]), int(g[6]), int(g[7]), int(g[9]),
            int(g[3]), int(g[5]), int(g[8]), g[10],
        )  # fmt: skip
    return RowFields(tag, pool, int(g[2]), int(g[3]), int(g[4]), int(g[5]), int(g[6]), mapped_driver=g[7])


def read_row(line: str) -> tuple[RowFields | None, bool]:
    """One row line by pattern, grammar, then repair; returns (row, repaired)."""
    for pattern, screen in ROW_PATTERNS:
        m = pattern.match(line)
        if m:
            return _fields_from_match(m, screen), False
    fields = parse_row(line)
    if fields is not None:
        return fields, False
    fields = repair_row(line)
    return fields, fields is not None


_TAG_TYPE = re.compile(r"^ ?(.{4}) (Nonp|Paged)(?= |$)|^[ ]*([^ ].{0,3}?)[ ]+(Nonp|Paged)(?= |$)")
_BRACKETED = re.compile(r"\([ ]*(-?\d+)[ ]*\)")
_NUMBER = re.compile(r"-?\d+")


def repair_row(line: str) -> RowFields | None:
    """Split numbers that ran together (overflowing columns) using the identities.

    Only a unique split is accepted: Diff = Allocs − Frees, Bytes = 0 when Diff = 0,
    and Per Alloc = floor(Bytes / Diff) leave almost no freedom, and an ambiguous row
    is better reported than guessed.
    """
    m = _TAG_TYPE.match(line)
    if not m:
        return None
    tag = (m.group(1) if m.group(1) is not None else m.group(3)).ljust(4)
    pool = "nonpaged" if (m.group(2) or m.group(4)) == "Nonp" else "paged"
    rest = line[m.end() :]
    driver = None
    dm = re.search(r"[\[A-Za-z]", rest)
    if dm:
        driver = rest[dm.start() :].strip() or None
        rest = rest[: dm.start()]
    changes = [int(x) for x in _BRACKETED.findall(rest)]
    rest = _BRACKETED.sub(" ", rest)
    if rest.strip(" 0123456789-"):
        return None
    tokens = _NUMBER.findall(rest)
    splits = split_numbers(tokens, 5)
    if len(splits) != 1:
        return None
    a, f, d, b, p = splits[0]
    if len(changes) == 3:
        return RowFields(tag, pool, a, f, d, b, p, changes[0], changes[1], changes[2], driver)
    return RowFields(tag, pool, a, f, d, b, p, mapped_driver=driver)


def _identities_hold(a: int, f: int, d: int, b: int, p: int) -> bool:
    if a - f != d and (a - f - d) % (1 << 32) != 0:
        return False
    if d > 0:
        return b // d == p
    return b == 0 and p == 0


def split_numbers(tokens: Sequence[str], want: int) -> list[tuple[int, ...]]:
    """Every way to cut ``tokens`` into ``want`` numbers that satisfies the identities."""
    if len(tokens) > want or not tokens:
        return []
    extra = want - len(tokens)
    out: list[tuple[int, ...]] = []
    for counts in _compositions(extra, len(tokens)):
        pieces_per_token: list[list[list[str]]] = []
        ok = True
        for tok, k in zip(tokens, counts, strict=True):
            digits = tok.lstrip("-")
            if k and (tok.startswith("-") or len(digits) < k + 1):
                ok = False
                break
            pieces_per_token.append(list(_cuts(tok, k)))
        if not ok:
            continue
        for combo in itertools.product(*pieces_per_token):
            nums = [piece for parts in combo for piece in parts]
            if any(len(x) > 1 and x[0] == "0" for x in nums):
                continue  # PoolMon never pads with zeros
            vals = tuple(int(x) for x in nums)
            if _identities_hold(*vals):
                out.append(vals)
    return out


def _compositions(total: int, parts: int) -> Iterable[tuple[int, ...]]:
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


def _cuts(token: str, k: int) -> Iterable[list[str]]:
    """Cut a digit string into k + 1 non-empty pieces."""
    if k == 0:
        yield [token]
        return
    for positions in itertools.combinations(range(1, len(token)), k):
        bounds = (0, *positions, len(token))
        yield [token[bounds[i] : bounds[i + 1]] for i in range(k + 1)]


# -- line classification ----------------------------------------------------------------


def classify_lines(lines: Iterable[tuple[int, str]], asm: FrameAssembler) -> tuple[int, tuple[str, int] | None] | None:
    """Feed numbered lines to the assembler.

    Returns the line and (tag, pool code) of the last line when it is an unreadable
    row, which the caller may judge to be a log cut off mid-row.
    """
    last_bad: tuple[int, tuple[str, int] | None] | None = None
    for lineno, raw in lines:
        line = raw.rstrip()
        if not line.strip():
            continue
        last_bad = None
        if _TYPE_WORD.search(line) and not _COLHDR.search(line):
            fields, repaired = read_row(line)
            if fields is not None:
                if repaired:
                    asm.note_repair(lineno)
                asm.add_row(fields, lineno)
            else:
                km = _TAG_TYPE.match(line)
                key = None
                if km:
                    tag = (km.group(1) if km.group(1) is not None else km.group(3)).ljust(4)
                    key = (tag, 0 if (km.group(2) or km.group(4)) == "Nonp" else 1)
                last_bad = (lineno, key)
                asm.diag.skip(asm.name, lineno, "unreadable PoolMon row", line.strip())
            continue
        if "Memory:" in line:
            asm.memory(lineno, line)
            if "Commit:" in line:
                asm.frame.commit = True
            continue
        if "Commit:" in line or "Pool N:" in line:
            asm.commit(lineno, line)
            continue
        m = _TITLE.search(line)
        if m:
            word = m.group(1).lower()
            if word == "system":
                scope = "system"
            else:
                scope = "all-sessions" if word.startswith("all") else f"session:{m.group(2)}"
            asm.title(lineno, scope)
            continue
        if _COLHDR.search(line):
            asm.colheader(lineno)
            continue
        if _RULE.match(line) and not _ELISION.match(line):
            continue
        marker = parse_marker(line)
        if marker is not None:
            asm.marker(lineno, marker)
            continue
        if _ELISION.match(line):
            asm.elision(lineno)
            continue
        asm.diag.skip(asm.name, lineno, "not a PoolMon line", line.strip())
    return last_bad


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
    from . import pasted

    asm = FrameAssembler(source, diag, forced)
    text = source.text
    if pasted.looks_pasted(text):
        cleaned = pasted.clean(text, source.name, diag)
        numbered: Iterable[tuple[int, str]] = cleaned.numbered_lines()
    else:
        numbered = enumerate(text.split("\n"), start=1)
    cut = classify_lines(numbered, asm)
    if cut is None or text.rstrip(" \t").endswith("\n"):
        # A complete last line that simply did not parse is a bad row, not a cut-off log.
        return asm.finish(options)
    return asm.finish(options, cut[0], cut[1])


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
