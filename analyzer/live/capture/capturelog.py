"""The durable, append-only capture log (``.pslog``): JSON Lines, one self-describing record per snapshot.

Why JSON Lines: a record is complete exactly when its line ends with a newline and
parses, so a reader can tell a torn tail (kill -9, power loss mid-write) from data
without any framing; every other command reads the file as format ``capture``.

Layout::

    {"poolscope_capture": 1, "created": "...", "host": "...", "tool": "poolscope 0.1.0"}
    {"record": "snapshot", "seq": 0, "host": ..., "os": ..., "backend": ..., "timestamp": "...+00:00",
     "scope": "system", "totals": {...}, "n": 235, "tags": [...], "pools": "NNNP...",
     "outstanding": [...], "bytes": [...], ...}

Durability: each record is one ``os.write`` of one ASCII line on an ``O_APPEND``
descriptor, followed by ``os.fsync``; only then is the record reported complete.
Re-opening an existing log appends to it, after completing or truncating a torn
tail left by a crash.  A full disk truncates the half-written record away and
raises :class:`CaptureLogError`; everything written before stays readable.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from parsers.errors import PoolscopeError
from parsers.model import MISSING, NUMERIC_COLUMNS, Snapshot

MAGIC = "poolscope_capture"
VERSION = 1
_POOL_LETTERS = "NP"
#: Who and what took a snapshot: written into every record so that each one stands alone.
_META_KEYS = ("host", "os", "backend")


def _read_at(fd: int, n: int, offset: int) -> bytes:
    """``os.pread`` for every platform (Windows has none); O_APPEND writes ignore the file position."""
    os.lseek(fd, offset, os.SEEK_SET)
    chunks = []
    while n > 0:
        chunk = os.read(fd, n)
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _stdout_fd() -> int:
    try:
        return sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # stdout replaced by an in-memory stream
        return 1


class CaptureLogError(PoolscopeError):
    """The capture log cannot be written (full disk, not a capture log, unwritable path)."""


def encode_record(snapshot: Snapshot, seq: int, meta: dict[str, Any]) -> bytes:
    """One snapshot as one ASCII JSON line; columns that are entirely unknown are left out."""
    rows = snapshot.rows
    who = {k: snapshot.extra.get(k, meta.get(k)) for k in _META_KEYS}
    rec: dict[str, Any] = {
        "record": "snapshot",
        "seq": seq,
        **who,
        "timestamp": snapshot.timestamp.isoformat() if snapshot.timestamp else None,
        "scope": snapshot.scope,
        "totals": dict(snapshot.totals),
        "n": len(rows),
        "tags": rows.tags,
        "pools": "".join(_POOL_LETTERS[c] for c in rows.pool_codes),
    }
    for name in NUMERIC_COLUMNS:
        col = rows.column(name)
        known = col != MISSING
        if not known.any():
            continue
        if known.all():
            rec[name] = col.tolist()
        else:
            rec[name] = [int(v) if k else None for v, k in zip(col.tolist(), known.tolist(), strict=True)]
    if rows.mapped_driver is not None:
        rec["mapped_driver"] = rows.mapped_driver
    extra = {
        k: v
        for k, v in snapshot.extra.items()
        if isinstance(v, (str, int, float, bool)) and k not in _META_KEYS and k not in ("mtime", "seq")
    }
    if extra:
        rec["extra"] = extra
    return (json.dumps(rec, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def header_line(meta: dict[str, Any]) -> bytes:
    head = {MAGIC: VERSION, "created": datetime.now().astimezone().isoformat(), **meta}
    return (json.dumps(head, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


class CaptureWriter:
    """Append snapshots to a capture log, one fsync'd record each.

    ``write`` and ``fsync`` are injectable so tests can make the disk fill up
    (``OSError(ENOSPC)``) at any chosen record.  ``warn`` receives one line per
    repair made to an existing log (torn tail completed or cut).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        meta: dict[str, Any] | None = None,
        *,
        write: Callable[[int, bytes], int] = os.write,
        fsync: Callable[[int], None] = os.fsync,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.meta = dict(meta or {})
        self._write = write
        self._fsync = fsync
        self._warn = warn or (lambda _msg: None)
        self.records = 0  # complete records this writer has made durable
        self.existing = 0  # complete records already in the log when it was opened
        self._fd: int | None = None
        self._regular = True
        self._open()

    # -- opening an existing log -----------------------------------------------------------
    def _open(self) -> None:
        if str(self.path) == "-":
            # Standard output (a pipe to ssh, gzip, ...): append-only by nature, nothing to fsync.
            self._fd = os.dup(_stdout_fd())
            self._regular = False
            self._start_new(self._fd)
            return
        try:
            # O_BINARY: on Windows a descriptor is text mode by default and would write CRLF.
            flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise CaptureLogError(f"{self.path}: cannot open the capture log: {exc.strerror}") from exc
        self._fd = fd
        try:
            st = os.fstat(fd)
            # A FIFO or device (/dev/stdout, /dev/full) cannot be read back, truncated or fsync'd.
            self._regular = stat.S_ISREG(st.st_mode)
            if st.st_size == 0 or not self._regular:
                self._start_new(fd)
                return
            self._check_existing(fd, st.st_size)
        except BaseException:
            os.close(fd)
            self._fd = None
            raise

    def _start_new(self, fd: int) -> None:
        self._write_all(header_line(self.meta), 0)
        self._sync()

    def _sync(self) -> None:
        if self._regular and self._fd is not None:
            self._fsync(self._fd)

    def _check_existing(self, fd: int, size: int) -> None:
        first = _read_at(fd, min(size, 4096), 0).split(b"\n", 1)[0]
        try:
            head = json.loads(first)
            ok = isinstance(head, dict) and MAGIC in head
        except ValueError:
            ok = False
        if not ok:
            raise CaptureLogError(f"{self.path}: exists and is not a poolscope capture log; not appending to it")
        # Find the last newline: everything after it is a tail a crash left behind.
        pos, chunk = size, 65536
        tail_start = 0
        while pos > 0:
            start = max(0, pos - chunk)
            block = _read_at(fd, pos - start, start)
            i = block.rfind(b"\n")
            if i >= 0:
                tail_start = start + i + 1
                break
            pos = start
        lines, at = 0, 0
        while at < tail_start:  # a long log is counted in blocks, never read whole
            block = _read_at(fd, min(1 << 20, tail_start - at), at)
            if not block:
                break
            lines += block.count(b"\n")
            at += len(block)
        data_lines = lines - 1
        self.existing = max(0, data_lines)
        if tail_start == size:
            return
        tail = _read_at(fd, size - tail_start, tail_start)
        try:
            complete = isinstance(json.loads(tail), dict)
        except ValueError:
            complete = False
        if complete:
            # Cut just before its newline: the record is whole, only the line end is missing.
            self._write_all(b"\n", size)
            self._sync()
            self.existing += 1
            self._warn(f"{self.path}: last record had no line end (capture stopped mid-write); completed it")
        else:
            os.ftruncate(fd, tail_start)
            self._sync()
            self._warn(
                f"{self.path}: removed a torn record of {size - tail_start} bytes at the end "
                "(capture stopped mid-write); appending after the last complete record"
            )

    # -- writing ---------------------------------------------------------------------------
    def _write_all(self, data: bytes, start: int) -> None:
        """One write call per record; loop only if the kernel accepted part of it."""
        assert self._fd is not None
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                n = self._write(self._fd, bytes(view[done:]))
                if n <= 0:
                    raise OSError(errno.EIO, "write accepted no bytes")
                done += n
        except OSError as exc:
            # Leave no half record behind: the log ends at the last complete one.
            with contextlib.suppress(OSError):
                if self._regular and os.fstat(self._fd).st_size > start:
                    os.ftruncate(self._fd, start)
            if exc.errno == errno.ENOSPC:
                raise CaptureLogError(
                    f"{self.path}: disk full (ENOSPC) writing record {self.existing + self.records + 1}; "
                    f"capture stopped, the {self.existing + self.records} complete records before it are kept"
                ) from exc
            raise CaptureLogError(f"{self.path}: cannot write the capture log: {exc.strerror or exc}") from exc

    def append(self, snapshot: Snapshot) -> int:
        """Write one record durably; returns its sequence number in this log."""
        if self._fd is None:
            raise CaptureLogError(f"{self.path}: capture log is closed")
        seq = self.existing + self.records
        data = encode_record(snapshot, seq, self.meta)
        start = os.fstat(self._fd).st_size if self._regular else 0
        self._write_all(data, start)
        try:
            self._sync()
        except OSError as exc:
            raise CaptureLogError(f"{self.path}: fsync failed: {exc.strerror or exc}") from exc
        self.records += 1
        return seq

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

