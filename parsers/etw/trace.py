"""The pool trace model: pool allocation and free events with their call stacks.

Both readers (``.etl`` files and WPA CSV exports) produce a :class:`PoolTrace`; the
accounting (:mod:`parsers.etw.lifetimes`) and the stack analysis work on it alone.
Events are kept as parallel numpy columns because a trace holds millions of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

#: Event kinds in :attr:`PoolEvents.kind`.
ALLOC = 0
FREE = 1

#: Session column value of an event outside any session pool.
NO_SESSION = -1
#: Size column value of a free event that does not say its size.
UNKNOWN_SIZE = -1
#: Stack column value of an event with no stack.
NO_STACK = -1
#: Thread column value when the event header carries no thread.
NO_THREAD = -1

#: FILETIME (100 ns since 1601-01-01 UTC) of the Unix epoch, to turn FILETIMEs into datetimes.
_FILETIME_EPOCH = datetime(1601, 1, 1)


def filetime_to_datetime(value: int) -> datetime | None:
    """A FILETIME as a naive UTC datetime; None when it is 0 or out of datetime's range."""
    if value <= 0:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def tag_text(raw: int) -> str:
    """A pool tag as PoolMon shows it: 4 characters, unprintable bytes as dots.

    Old kernels set the top bit of protected tags; it is not part of the name.
    """
    raw &= 0x7FFFFFFF
    chars = []
    for shift in (0, 8, 16, 24):
        b = (raw >> shift) & 0xFF
        chars.append(chr(b) if 32 <= b < 127 else ".")
    return "".join(chars)


def tag_value(text: str) -> int:
    """The 32-bit value of a tag string (inverse of :func:`tag_text` for printable tags)."""
    padded = (text + "    ")[:4]
    return int.from_bytes(padded.encode("latin-1", errors="replace"), "little")


@dataclass
class PoolEvents:
    """Parallel columns, one entry per pool event, in the order read (not necessarily time order).

    ``time`` is FILETIME (100 ns units, UTC) when the trace says how to convert its clock,
    otherwise raw clock ticks (see :attr:`TraceInfo.timed`).  ``pool`` is 0 nonpaged / 1 paged.
    """

    time: np.ndarray  # int64
    kind: np.ndarray  # uint8: ALLOC or FREE
    pool: np.ndarray  # uint8
    tag: np.ndarray  # uint32
    size: np.ndarray  # int64, UNKNOWN_SIZE for frees that do not carry it
    address: np.ndarray  # uint64
    session: np.ndarray  # int64, NO_SESSION outside session pools
    thread: np.ndarray  # int64, NO_THREAD when unknown
    stack: np.ndarray  # int32 index into PoolTrace.stacks, NO_STACK when none

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls) -> PoolEvents:
        return cls.concat([])

    @classmethod
    def concat(cls, parts: list[PoolEvents]) -> PoolEvents:
        dtypes = {"time": np.int64, "kind": np.uint8, "pool": np.uint8, "tag": np.uint32, "size": np.int64,
                  "address": np.uint64, "session": np.int64, "thread": np.int64, "stack": np.int32}
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]).astype(dt, copy=False)
                      if parts else np.zeros(0, dtype=dt) for name, dt in dtypes.items()})

    def take(self, index: np.ndarray) -> PoolEvents:
        return PoolEvents(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})


@dataclass
class TraceInfo:
    """What the trace says about itself (the logfile header of an .etl, or the CSV's columns)."""

    source: str
    format: str  # "etl" or "wpa"
    pointer_size: int | None = None
    timer_resolution_100ns: int | None = None
    clock: str | None = None  # "qpc", "system-time", "cpu-cycle" or None
    clock_frequency: int | None = None  # ticks per second of the event clock
    start: datetime | None = None
    end: datetime | None = None
    processors: int | None = None
    logger_name: str | None = None
    buffers: int = 0
    events_read: int = 0  # every event walked, pool or not
    events_lost: int = 0  # as the logfile header reports
    timed: bool = True  # event times are FILETIMEs (False: ticks of an undated clock)
    tick_seconds: float | None = None  # length of one tick when times are undated but relative (WPA)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "pointer_size": self.pointer_size,
            "timer_resolution_100ns": self.timer_resolution_100ns,
            "clock": self.clock,
            "clock_frequency": self.clock_frequency,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "processors": self.processors,
            "logger_name": self.logger_name,
            "buffers": self.buffers,
            "events_read": self.events_read,
            "events_lost": self.events_lost,
            "timed": self.timed,
            "tick_seconds": self.tick_seconds,
        }


@dataclass
class PoolTrace:
    """A pool trace read from one file: its header facts, pool events and distinct call stacks.

    Each stack is a tuple of frames, innermost first, already resolved to ``module+0xoffset``
    (or kept as the address in hex when no loaded image covers it).
    """

    info: TraceInfo
    events: PoolEvents
    stacks: list[tuple[str, ...]] = field(default_factory=list)

    def time_of(self, value: int) -> datetime | None:
        """An event time as a datetime (None for an untimed trace)."""
        return filetime_to_datetime(int(value)) if self.info.timed else None
