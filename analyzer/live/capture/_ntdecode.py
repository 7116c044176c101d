"""Pure-Python decoders for the ``NtQuerySystemInformation`` buffers PoolMon reads.

Everything here runs on any platform: the Windows backend hands over raw bytes
and the pointer size of the calling process (4 for x86 and WOW64, 8 for x64),
because the SIZE_T fields and the padding before them differ.  Layouts (offsets
x86 / x64):

SYSTEM_POOLTAG (0x1C / 0x28 bytes)::

    Tag[4] 0x00/0x00  PagedAllocs 0x04/0x04  PagedFrees 0x08/0x08  PagedUsed (SIZE_T) 0x0C/0x10
    NonPagedAllocs 0x10/0x18  NonPagedFrees 0x14/0x1C  NonPagedUsed (SIZE_T) 0x18/0x20

SYSTEM_POOLTAG_INFORMATION: ULONG Count at 0, TagInfo[] at 0x04 / 0x08.

SYSTEM_SESSION_POOLTAG_INFORMATION: SIZE_T NextEntryOffset 0x00/0x00, ULONG SessionId
0x04/0x08, ULONG Count 0x08/0x0C, TagInfo[] 0x0C/0x10; entries are chained by
NextEntryOffset (relative to the entry, 0 ends the chain).  SessionId is also an
input: the buffer is pre-filled with the wanted session (0xFFFFFFFF for all).

SYSTEM_BASIC_INFORMATION: PageSize 0x08, NumberOfPhysicalPages 0x0C (both ULONG,
same offsets on both), NumberOfProcessors (CCHAR) 0x28 / 0x38.

SYSTEM_PERFORMANCE_INFORMATION is the same on x86 and x64 (only ULONG and
LARGE_INTEGER fields); the offsets PoolMon's header needs are in ``_PERF_FIELDS``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from parsers.errors import PoolscopeError
from parsers.model import NONPAGED, PAGED, RowTable, Snapshot, TimeOrigin

STATUS_SUCCESS = 0x00000000
STATUS_INFO_LENGTH_MISMATCH = 0xC0000004
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_INVALID_INFO_CLASS = 0xC0000003
STATUS_NOT_IMPLEMENTED = 0xC0000002

SYSTEM_BASIC_INFORMATION = 0
SYSTEM_PERFORMANCE_INFORMATION = 2
SYSTEM_POOLTAG_INFORMATION = 22
SYSTEM_SESSION_POOLTAG_INFORMATION = 67

ALL_SESSIONS = 0xFFFFFFFF

#: (class, buffer) -> (NTSTATUS, ReturnLength).  The buffer is filled in place.
QueryFunction = Callable[[int, bytearray], tuple[int, int]]


class NtStatusError(PoolscopeError):
    """NtQuerySystemInformation failed; ``status`` is the NTSTATUS as an unsigned 32-bit value."""

    def __init__(self, info_class: int, status: int, message: str | None = None) -> None:
        self.info_class = info_class
        self.status = status & 0xFFFFFFFF
        text = message or _STATUS_TEXT.get(self.status, "failed")
        super().__init__(f"NtQuerySystemInformation(class {info_class}) returned 0x{self.status:08X}: {text}")

    @property
    def refused(self) -> bool:
        """The caller may not ask (policy, sandbox) or the kernel does not offer it: try PoolMon instead."""
        return self.status in (STATUS_ACCESS_DENIED, STATUS_INVALID_INFO_CLASS, STATUS_NOT_IMPLEMENTED)


_STATUS_TEXT = {
    STATUS_ACCESS_DENIED: "access denied",
    STATUS_INVALID_INFO_CLASS: "information class not supported by this kernel",
    STATUS_NOT_IMPLEMENTED: "not implemented",
    STATUS_INFO_LENGTH_MISMATCH: "buffer too small",
}


def _check_pointer_size(pointer_size: int) -> None:
    if pointer_size not in (4, 8):
        raise ValueError(f"pointer size must be 4 or 8, not {pointer_size}")


# -- the retry loop --------------------------------------------------------------------------


def query(
    query_fn: QueryFunction,
    info_class: int,
    initial_size: int = 0x10000,
    *,
    prefill: Callable[[bytearray], None] | None = None,
    max_tries: int = 8,
    ceiling: int = 256 << 20,
) -> bytes:
    """Call the query with a buffer grown on STATUS_INFO_LENGTH_MISMATCH, at most ``max_tries`` times.

    The tag list can grow between the call that says how big it is and the next
    one, so the new size gets headroom beyond ReturnLength; a kernel that keeps
    asking for more past ``ceiling`` bytes is an error rather than an endless loop.
    """
    size = max(initial_size, 16)
    for _ in range(max_tries):
        buf = bytearray(size)
        if prefill is not None:
            prefill(buf)
        status, returned = query_fn(info_class, buf)
        status &= 0xFFFFFFFF
        if status == STATUS_SUCCESS:
            return bytes(buf)
        if status not in (STATUS_INFO_LENGTH_MISMATCH, STATUS_BUFFER_TOO_SMALL):
            raise NtStatusError(info_class, status)
        if size >= ceiling:
            break
        # ReturnLength is a hint that may already be stale (tags keep appearing): at least double.
        size = min(max(size * 2, returned + returned // 2 + 0x1000), ceiling)
    raise NtStatusError(
        info_class, STATUS_INFO_LENGTH_MISMATCH, f"buffer still too small after {max_tries} tries ({size} bytes)"
    )


# -- pool tags -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolTagEntry:
    tag: str
    paged_allocs: int
    paged_frees: int
    paged_used: int
    nonpaged_allocs: int
    nonpaged_frees: int
    nonpaged_used: int


def pooltag_struct(pointer_size: int) -> struct.Struct:
    """SYSTEM_POOLTAG: x64 pads 4 bytes before PagedUsed so the 8-byte SIZE_T is aligned."""
    _check_pointer_size(pointer_size)
    return struct.Struct("<4sIIIIII" if pointer_size == 4 else "<4sII4xQIIQ")


def tag_text(raw: bytes) -> str:
    """The 4 tag bytes as PoolMon shows them: unprintable bytes become dots."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in raw)


def decode_pooltag_array(buf: bytes, offset: int, count: int, pointer_size: int) -> list[PoolTagEntry]:
    st = pooltag_struct(pointer_size)
    end = offset + count * st.size
    if count < 0 or end > len(buf):
        raise ValueError(f"{count} pool tag entries of {st.size} bytes at offset {offset} overrun a "
                         f"{len(buf)}-byte buffer")
    out = []
    for tag, pa, pf, pu, na, nf, nu in st.iter_unpack(buf[offset:end]):
        out.append(PoolTagEntry(tag_text(tag), pa, pf, pu, na, nf, nu))
    return out


def decode_pooltag_information(buf: bytes, pointer_size: int) -> list[PoolTagEntry]:
    """SYSTEM_POOLTAG_INFORMATION (class 22): Count, then the array aligned to the pointer size."""
    _check_pointer_size(pointer_size)
    if len(buf) < 4:
        raise ValueError("pool tag buffer shorter than its count field")
    (count,) = struct.unpack_from("<I", buf, 0)
    return decode_pooltag_array(buf, pointer_size, count, pointer_size)


def _session_header(pointer_size: int) -> struct.Struct:
    return struct.Struct("<III" if pointer_size == 4 else "<QII")


def prefill_session(session_id: int, pointer_size: int) -> Callable[[bytearray], None]:
    """Put the wanted SessionId (the input half of class 67) into a fresh query buffer."""
    _check_pointer_size(pointer_size)
    offset = 4 if pointer_size == 4 else 8

    def fill(buf: bytearray) -> None:
        struct.pack_into("<I", buf, offset, session_id & 0xFFFFFFFF)

    return fill


def decode_session_chain(buf: bytes, pointer_size: int) -> list[tuple[int, list[PoolTagEntry]]]:
    """SYSTEM_SESSION_POOLTAG_INFORMATION entries (class 67) as (session id, tags), in chain order."""
    _check_pointer_size(pointer_size)
    head = _session_header(pointer_size)
    out: list[tuple[int, list[PoolTagEntry]]] = []
    pos = 0
    seen: set[int] = set()
    while True:
        if pos in seen:
            raise ValueError(f"session chain loops back to offset {pos}")
        seen.add(pos)
        if pos + head.size > len(buf):
            raise ValueError(f"session entry at offset {pos} overruns a {len(buf)}-byte buffer")
        nxt, session_id, count = head.unpack_from(buf, pos)
        out.append((session_id, decode_pooltag_array(buf, pos + head.size, count, pointer_size)))
        if nxt == 0:
            return out
        pos += nxt


# -- header figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BasicInfo:
    page_size: int
    physical_pages: int
    processors: int


def decode_basic(buf: bytes, pointer_size: int) -> BasicInfo:
    _check_pointer_size(pointer_size)
    cpu_at = 0x28 if pointer_size == 4 else 0x38
    if len(buf) < cpu_at + 1:
        raise ValueError("SYSTEM_BASIC_INFORMATION buffer too short")
    page_size, pages = struct.unpack_from("<II", buf, 0x08)
    return BasicInfo(page_size, pages, struct.unpack_from("<b", buf, cpu_at)[0])


#: SYSTEM_PERFORMANCE_INFORMATION offsets of the ULONG fields PoolMon's header shows.
_PERF_FIELDS = {
    "available_pages": 0x2C,
    "committed_pages": 0x30,
    "commit_limit": 0x34,
    "peak_commitment": 0x38,
    "page_fault_count": 0x3C,
    "paged_pool_pages": 0x70,
    "nonpaged_pool_pages": 0x74,
    "resident_system_code_page": 0x8C,
    "resident_paged_pool_page": 0xA8,
}
PERFORMANCE_INFO_SIZE = 0x138  # the oldest size every kernel still answers


def decode_performance(buf: bytes) -> dict[str, int]:
    if len(buf) < 0xAC:
        raise ValueError("SYSTEM_PERFORMANCE_INFORMATION buffer too short")
    return {name: struct.unpack_from("<I", buf, off)[0] for name, off in _PERF_FIELDS.items()}


def header_totals(basic: BasicInfo | None, perf: dict[str, int] | None) -> dict[str, int]:
    """PoolMon's header figures in KB: Memory, Avail, Commit, Limit, Peak, Pool N: and P:."""
    if basic is None or perf is None:
        return {}
    kb = basic.page_size // 1024
    return {
        "nonpaged_kb": perf["nonpaged_pool_pages"] * kb,
        "paged_kb": perf["paged_pool_pages"] * kb,
        "memory_kb": basic.physical_pages * kb,
        "avail_kb": perf["available_pages"] * kb,
        "commit_kb": perf["committed_pages"] * kb,
        "commit_limit_kb": perf["commit_limit"] * kb,
        "commit_peak_kb": perf["peak_commitment"] * kb,
    }


# -- to the snapshot model -------------------------------------------------------------------------


def merge_entries(groups: Iterable[list[PoolTagEntry]]) -> list[PoolTagEntry]:
    """Add up the same tag across sessions (``--session all``), keeping first-seen order."""
    acc: dict[str, list[int]] = {}
    for entries in groups:
        for e in entries:
            cur = acc.setdefault(e.tag, [0] * 6)
            for i, v in enumerate((e.paged_allocs, e.paged_frees, e.paged_used,
                                   e.nonpaged_allocs, e.nonpaged_frees, e.nonpaged_used)):
                cur[i] += v
    return [PoolTagEntry(tag, *vals) for tag, vals in acc.items()]


def entries_to_rows(entries: Iterable[PoolTagEntry]) -> RowTable:
    """One row per pool a tag has ever used, as PoolMon lists them (Diff = Allocs - Frees, mod 2^32)."""
    tags: list[str] = []
    pools: list[str] = []
    allocs: list[int] = []
    frees: list[int] = []
    diff: list[int] = []
    used: list[int] = []
    for e in entries:
        for pool, a, f, u in (
            (NONPAGED, e.nonpaged_allocs, e.nonpaged_frees, e.nonpaged_used),
            (PAGED, e.paged_allocs, e.paged_frees, e.paged_used),
        ):
            if a == 0 and f == 0 and u == 0:
                continue
            tags.append(e.tag)
            pools.append(pool)
            allocs.append(a)
            frees.append(f)
            # The counters are 32-bit and wrap; the difference stays right modulo 2^32.
            diff.append((a - f) & 0xFFFFFFFF)
            used.append(u)
    return RowTable.from_columns(tags, pools, allocs=allocs, frees=frees, outstanding=diff, bytes=used)


def build_snapshot(
    entries: Iterable[PoolTagEntry],
    *,
    scope: str = "system",
    totals: dict[str, int] | None = None,
    timestamp: datetime | None = None,
    source: str = "live",
) -> Snapshot:
    return Snapshot(
        source=source,
        index=0,
        format="capture",
        rows=entries_to_rows(entries),
        timestamp=timestamp,
        time_origin=TimeOrigin.SOURCE if timestamp else TimeOrigin.UNKNOWN,
        scope=scope,
        totals=dict(totals or {}),
    )
