"""Reader for uncompressed ``.etl`` files written by the NT kernel logger: pool events with stacks.

An .etl file is a run of fixed-size buffers (each a WMI_BUFFER_HEADER then 8-byte aligned
events, the unused tail filled with 0xFF).  The first event of the first buffer is the
logfile header (pointer size, clock, start time).  We read four kinds of events: pool
allocations and frees (group 0x0E), StackWalk events (group 0x18) joined to them by
timestamp and thread, and image loads (group 0x14) that turn stack addresses into
``module+0xoffset``.  Everything else is stepped over by its size.

Speed: the only per-event Python work is one walk that finds where each event starts
(sizes chain the events together); the fields of the pool and stack events are then read
for all events at once with numpy.  Compressed buffers (Windows 8+ ``-compress``) are
detected and refused with the way out.
"""

from __future__ import annotations

import struct
from array import array
from typing import Any

import numpy as np

from ..errors import Diagnostics, InputError
from . import layout as L
from .trace import ALLOC, FREE, NO_SESSION, NO_STACK, NO_THREAD, PoolEvents, PoolTrace, TraceInfo, filetime_to_datetime

_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_PAIR = struct.Struct("<II")
_U64 = struct.Struct("<Q")

_KERNEL_TYPES = frozenset(L.KERNEL_HEADERS)
_HEADER_LEN = np.zeros(256, dtype=np.int64)
_TIME_AT = np.zeros(256, dtype=np.int64)
_THREAD_AT = np.zeros(256, dtype=np.int64)
_SIZED = np.zeros(256, dtype=bool)
_SIZED[list(L.SIZED_HEADERS)] = True
for _t, (_len, _thread, _time) in L.KERNEL_HEADERS.items():
    _HEADER_LEN[_t] = _len
    _TIME_AT[_t] = _time
    _THREAD_AT[_t] = _thread if _thread is not None else -1

COMPRESSED_HINT = (
    "compressed ETL buffers cannot be read; write an uncompressed copy on Windows first "
    "(`xperf -merge IN.etl OUT.etl`, or relog the trace without compression) and read that"
)


def looks_like_etl(head: bytes) -> bool:
    """Whether ``head`` starts like an .etl file: a buffer header, then the kernel logfile header event."""
    if len(head) < L.BUFFER_HEADER_SIZE + 16:
        return False
    buffer_size = _U32.unpack_from(head, L.BUF_SIZE)[0]
    if not (L.BUFFER_HEADER_SIZE + 16 <= buffer_size <= L.MAX_BUFFER_SIZE) or buffer_size % 8:
        return False
    marker, packet = _PAIR.unpack_from(head, L.BUFFER_HEADER_SIZE)
    header_type = (marker >> 16) & 0xFF
    return (
        marker >> 24 == L.KERNEL_MARKER_FLAGS
        and header_type in (L.HT_SYSTEM32, L.HT_SYSTEM64)
        and packet >> 16 == (L.GROUP_HEADER << 8 | L.OP_HEADER_INFO)
    )


def read_etl(data: Any, name: str, diag: Diagnostics) -> PoolTrace:
    """Read the pool events, stacks and image ranges of one .etl file (bytes or a memory map)."""
    size = len(data)
    if size < L.BUFFER_HEADER_SIZE + 16 or not looks_like_etl(bytes(data[: L.BUFFER_HEADER_SIZE + 16])):
        raise InputError(name, "not an ETL trace: no buffer header followed by the kernel logfile header")
    buffer_size = _U32.unpack_from(data, 0)[0]
    info, pointer_size, header_time = _logfile_header(data, name, buffer_size, diag)
    if size % buffer_size:
        diag.note(name, None, f"file ends inside buffer {size // buffer_size} "
                              f"({size % buffer_size} of {buffer_size} bytes); its events after byte {size} are lost")
    offsets = _walk(data, buffer_size, name, diag, info)
    if not len(offsets):
        return PoolTrace(info, PoolEvents.empty(), [])
    offs = offsets
    u8 = np.frombuffer(data, dtype=np.uint8)
    w32 = np.frombuffer(data, dtype="<u4", count=size // 4)
    htype = u8[offs + 2]
    kernel = _HEADER_LEN[htype] > 0
    offs, htype = offs[kernel], htype[kernel]
    hook = (w32[(offs + 4) >> 2] >> 16).astype(np.int64)
    ev_size = (w32[(offs + 4) >> 2] & 0xFFFF).astype(np.int64)
    group, opcode = hook >> 8, hook & 0xFF
    hlen = _HEADER_LEN[htype]

    def read_u64(at: np.ndarray) -> np.ndarray:
        i = at >> 2
        return (w32[i].astype(np.uint64) | (w32[i + 1].astype(np.uint64) << np.uint64(32))).astype(np.int64)

    def read_ptr(at: np.ndarray) -> np.ndarray:
        return read_u64(at) if pointer_size == 8 else w32[at >> 2].astype(np.int64)

    raw_time = read_u64(offs + _TIME_AT[htype])
    thread_at = _THREAD_AT[htype]
    thread = np.where(thread_at >= 0, w32[(offs + np.maximum(thread_at, 0)) >> 2].astype(np.int64), NO_THREAD)

    # Pool events: PoolType, Tag, NumberOfBytes, Entry (and SessionId for the session opcodes).
    is_pool = (group == L.GROUP_POOL) & (opcode >= L.OP_POOL_ALLOC) & (opcode <= L.OP_POOL_FREE_SESSION)
    session_op = (opcode == L.OP_POOL_ALLOC_SESSION) | (opcode == L.OP_POOL_FREE_SESSION)
    need = 8 + 2 * pointer_size + np.where(session_op, 4, 0)
    short = is_pool & (ev_size - hlen < need)
    if short.any():
        first = int(offs[np.argmax(short)])
        diag.note(name, None, f"{int(short.sum())} pool events too short for their fields "
                              f"(first at byte {first}); not counted")
    pool_idx = np.flatnonzero(is_pool & ~short)
    p = offs[pool_idx] + hlen[pool_idx]
    op = opcode[pool_idx]
    ptr = pointer_size
    session = np.full(len(pool_idx), NO_SESSION, dtype=np.int64)
    in_session = np.flatnonzero(session_op[pool_idx])
    session[in_session] = w32[(p[in_session] + 8 + 2 * ptr) >> 2]
    events = PoolEvents(
        time=raw_time[pool_idx],
        kind=np.where((op == L.OP_POOL_ALLOC) | (op == L.OP_POOL_ALLOC_SESSION), ALLOC, FREE).astype(np.uint8),
        pool=(w32[p >> 2] & 1).astype(np.uint8),
        tag=w32[(p + 4) >> 2].copy(),
        size=read_ptr(p + 8),
        address=read_ptr(p + 8 + ptr).astype(np.uint64),
        session=session,
        thread=thread[pool_idx],
        stack=np.full(len(pool_idx), NO_STACK, dtype=np.int32),
    )

    # StackWalk events: EventTimeStamp, StackProcess, StackThread, then the frames.
    is_stack = (group == L.GROUP_STACKWALK) & (opcode == L.OP_STACKWALK) & (ev_size - hlen >= 16 + pointer_size)
    stack_idx = np.flatnonzero(is_stack)
    sp = offs[stack_idx] + hlen[stack_idx]
    stack_time = read_u64(sp)
    stack_process = w32[(sp + 8) >> 2].astype(np.int64)
    stack_thread = w32[(sp + 12) >> 2].astype(np.int64)
    frames_end = offs[stack_idx] + ev_size[stack_idx]
    frames_end -= (frames_end - sp - 16) % pointer_size
    stack_ids, raw_stacks, stack_pids = _intern_stacks(data, sp + 16, frames_end, stack_process)
    _join_stacks(events, stack_time, stack_thread, stack_ids)

    # Image loads and rundowns: where each module sits.
    is_image = (group == L.GROUP_IMAGE) & np.isin(opcode, (L.OP_IMAGE_LOAD, L.OP_IMAGE_DC_START, L.OP_IMAGE_DC_END))
    modules = _images(data, offs[is_image], hlen[is_image], ev_size[is_image], pointer_size, name, diag)
    stacks = [_resolve(raw, pointer_size, modules, pid) for raw, pid in zip(raw_stacks, stack_pids, strict=True)]

    _convert_times(events, info, header_time, name, diag)
    if len(events) and info.timed:
        info.end = filetime_to_datetime(int(events.time.max())) or info.end
    return PoolTrace(info, events, stacks)


def _logfile_header(data: Any, name: str, buffer_size: int, diag: Diagnostics) -> tuple[TraceInfo, int, int]:
    """TraceInfo from the first event (TRACE_LOGFILE_HEADER), the pointer size, and the event's own time."""
    at = L.BUFFER_HEADER_SIZE
    marker, packet = _PAIR.unpack_from(data, at)
    header_type = (marker >> 16) & 0xFF
    event_size = packet & 0xFFFF
    hlen = L.KERNEL_HEADERS[header_type][0]
    if event_size < hlen + L.LF_NAMES + 16 or at + event_size > min(len(data), buffer_size):
        raise InputError(name, f"logfile header event at byte {at} has a bad size ({event_size} bytes) "
                               f"or the file ends inside it ({len(data)} bytes)")
    header_time = _U64.unpack_from(data, at + L.KERNEL_HEADERS[header_type][2])[0]
    pointer_size = 8 if header_type == L.HT_SYSTEM64 else 4
    payload = at + hlen

    def u32(off: int) -> int:
        return _U32.unpack_from(data, payload + off)[0]

    def u64(off: int) -> int:
        return _U64.unpack_from(data, payload + off)[0]

    declared = u32(L.LF_POINTER_SIZE)
    if declared in (4, 8):
        if declared != pointer_size:
            diag.note(name, None, f"logfile header says {declared}-byte pointers but its event header is "
                                  f"{pointer_size * 8}-bit; using {declared}")
        pointer_size = declared
    if u32(L.LF_LOGFILE_MODE) & L.LOGFILE_MODE_COMPRESSED:
        raise InputError(name, COMPRESSED_HINT)
    declared_buffer = u32(L.LF_BUFFER_SIZE)
    if declared_buffer and declared_buffer != buffer_size:
        diag.note(name, None, f"logfile header says {declared_buffer}-byte buffers, the first buffer "
                              f"{buffer_size}; using {buffer_size}")
    tail = L.logfile_tail_offsets(pointer_size)
    info = TraceInfo(source=name, format="etl", pointer_size=pointer_size,
                     timer_resolution_100ns=u32(L.LF_TIMER_RESOLUTION), processors=u32(L.LF_PROCESSORS),
                     events_lost=u32(L.LF_EVENTS_LOST))
    if event_size >= hlen + tail["end"]:
        clock_type = u32(tail["clock_type"])
        info.clock = L.CLOCKS.get(clock_type)
        perf_freq = u64(tail["perf_freq"])
        cpu_mhz = u32(L.LF_CPU_MHZ)
        frequencies = {"qpc": perf_freq, "system-time": 10_000_000, "cpu-cycle": cpu_mhz * 1_000_000}
        info.clock_frequency = frequencies.get(info.clock or "") or None
        start = u64(tail["start_time"])
        info.start = filetime_to_datetime(start)
        info.extra["start_filetime"] = start
        info.logger_name = _utf16z(data, payload + tail["end"], at + event_size) or None
    else:
        diag.note(name, None, f"logfile header event is {event_size} bytes, too short for the clock fields; "
                              "event times are clock ticks, not dates")
    return info, pointer_size, header_time


def _walk(data: Any, buffer_size: int, name: str, diag: Diagnostics, info: TraceInfo) -> np.ndarray:
    """Byte offsets of every event in every buffer (file order), found by chaining event sizes.

    All buffers are stepped through together, one event per buffer per numpy step, so the
    per-event cost is a few array operations shared by every buffer instead of Python code.
    """
    size = len(data)
    bad: list[str] = []
    bases: list[int] = []
    ends: list[int] = []
    buffers = 0
    for base in range(0, size, buffer_size):
        if base + L.BUFFER_HEADER_SIZE > size:
            break
        buffers += 1
        declared = _U32.unpack_from(data, base + L.BUF_SIZE)[0]
        if declared != buffer_size:
            bad.append(f"buffer at byte {base} declares {declared} bytes, not {buffer_size}; skipped")
            continue
        if _U16.unpack_from(data, base + L.BUF_FLAG)[0] & L.BUFFER_FLAG_COMPRESSED:
            raise InputError(name, f"buffer at byte {base}: {COMPRESSED_HINT}")
        used = _U32.unpack_from(data, base + L.BUF_OFFSET)[0]
        if not L.BUFFER_HEADER_SIZE <= used <= buffer_size:
            used = _U32.unpack_from(data, base + L.BUF_CURRENT_OFFSET)[0]
            if not L.BUFFER_HEADER_SIZE <= used <= buffer_size:
                bad.append(f"buffer at byte {base} has no valid fill offset; skipped")
                continue
        bases.append(base)
        ends.append(min(base + used, size - size % 4))  # fields are read as aligned 32-bit words
    w32 = np.frombuffer(data, dtype="<u4", count=size // 4)
    pos = np.array(bases, dtype=np.int64) + L.BUFFER_HEADER_SIZE
    end = np.array(ends, dtype=np.int64)
    found: list[np.ndarray] = []
    while len(pos):
        room = pos + 16 <= end
        if not room.all():
            pos, end = pos[room], end[room]
        if len(pos) < 8:  # a few long buffers left: plain Python is cheaper than numpy per step
            tail = array("q")
            for p, e in zip(pos.tolist(), end.tolist(), strict=True):
                _walk_buffer(data, p, e, tail, bad)
            found.append(np.frombuffer(tail, dtype=np.int64))
            break
        marker = w32[pos >> 2]
        packet = w32[(pos >> 2) + 1]
        header_type = (marker >> 16) & 0xFF
        kernel_length = _HEADER_LEN[header_type]
        length = np.where(kernel_length > 0, packet & 0xFFFF, marker & 0xFFFF).astype(np.int64)
        known = (kernel_length > 0) | _SIZED[header_type]
        good = known & (length >= np.where(kernel_length > 0, kernel_length, 8)) & (pos + length <= end)
        going = good & (marker != 0xFFFFFFFF)
        if not good.all():
            for at, t, n in zip(pos[~good & (marker != 0xFFFFFFFF)].tolist(),
                                header_type[~good & (marker != 0xFFFFFFFF)].tolist(),
                                length[~good & (marker != 0xFFFFFFFF)].tolist(), strict=True):
                bad.append(_problem(at, t, n))
        found.append(pos[going])
        pos = pos[going] + ((length[going] + 7) & ~7)
        end = end[going]
    offsets = np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    info.buffers = buffers
    info.events_read = len(offsets)
    if bad:
        more = f" (and {len(bad) - 1} more such problems)" if len(bad) > 1 else ""
        diag.note(name, None, bad[0] + more)
    return offsets


def _problem(at: int, header_type: int, length: int) -> str:
    if header_type not in _KERNEL_TYPES and header_type not in L.SIZED_HEADERS:
        return f"unknown event header type {header_type} at byte {at}; rest of its buffer skipped"
    return f"event at byte {at} claims {length} bytes, outside its buffer; rest of the buffer skipped"


def _walk_buffer(data: Any, p: int, end: int, out: array, bad: list[str]) -> None:
    """The events of one buffer from byte ``p`` to ``end``, one at a time."""
    unpack_pair = _PAIR.unpack_from
    append = out.append
    while p + 16 <= end:
        marker, packet = unpack_pair(data, p)
        if marker == 0xFFFFFFFF:
            return
        header_type = (marker >> 16) & 0xFF
        minimum = int(_HEADER_LEN[header_type])
        if minimum:
            length = packet & 0xFFFF
        elif header_type in L.SIZED_HEADERS:
            length, minimum = marker & 0xFFFF, 8
        else:
            bad.append(_problem(p, header_type, 0))
            return
        if length < minimum or p + length > end:
            bad.append(_problem(p, header_type, length))
            return
        append(p)
        p += (length + 7) & ~7


def _intern_stacks(
    data: Any, starts: np.ndarray, ends: np.ndarray, processes: np.ndarray
) -> tuple[np.ndarray, list[bytes], list[int]]:
    """One id per distinct frame list (its raw bytes), so a million stacks become a few hundred.

    Stacks of one length are compared as fixed-size byte strings with numpy, a chunk at a time.
    """
    u8 = np.frombuffer(data, dtype=np.uint8)
    lengths = ends - starts
    ids = np.empty(len(starts), dtype=np.int32)
    table: dict[bytes, int] = {}
    pids: list[int] = []
    chunk = 1 << 16
    for length in np.unique(lengths).tolist():
        chosen = np.flatnonzero(lengths == length)
        span = np.arange(length, dtype=np.int64)
        for at in range(0, len(chosen), chunk):
            part = chosen[at : at + chunk]
            rows = u8[starts[part, None] + span]
            keys = rows.view(f"V{length}").ravel() if length else np.zeros(len(part), dtype="V1")
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            local = np.empty(len(first), dtype=np.int32)
            for j, row in enumerate(first.tolist()):
                raw = rows[row].tobytes()
                sid = table.get(raw)
                if sid is None:
                    sid = table[raw] = len(table)
                    pids.append(int(processes[part[row]]))
                local[j] = sid
            ids[part] = local[inverse.ravel()]
    return ids, list(table), pids


def _join_stacks(events: PoolEvents, stack_time: np.ndarray, stack_thread: np.ndarray, stack_ids: np.ndarray) -> None:
    """Give each pool event the stack walked for it: same timestamp, same thread.

    Events whose header carries no thread (PERFINFO headers) match on the timestamp alone.
    """
    if not len(stack_ids) or not len(events):
        return
    t0 = int(min(stack_time.min(), events.time.min()))
    threads, inverse = np.unique(np.concatenate([stack_thread, np.maximum(events.thread, 0)]), return_inverse=True)
    span = int(max(stack_time.max(), events.time.max())) - t0 + 1
    if span * len(threads) < 2**62:
        rank_s, rank_e = inverse[: len(stack_thread)], inverse[len(stack_thread):]
        skey = (stack_time - t0) * len(threads) + rank_s
        ekey = (events.time - t0) * len(threads) + rank_e
    else:  # clock values too far apart to pack with the thread: match on time alone
        skey, ekey = stack_time - t0, events.time - t0
    order = np.argsort(skey, kind="stable")
    sorted_keys = skey[order]
    known = events.thread != NO_THREAD
    pos = np.minimum(np.searchsorted(sorted_keys, ekey), len(sorted_keys) - 1)
    hit = known & (sorted_keys[pos] == ekey)
    events.stack[hit] = stack_ids[order[pos[hit]]]
    if (~known).any():
        by_time = np.argsort(stack_time, kind="stable")
        times = stack_time[by_time]
        idx = np.flatnonzero(~known)
        pos = np.minimum(np.searchsorted(times, events.time[idx]), len(times) - 1)
        ok = times[pos] == events.time[idx]
        events.stack[idx[ok]] = stack_ids[by_time[pos[ok]]]
        events.thread[idx[ok]] = stack_thread[by_time[pos[ok]]]


def _images(
    data: Any, offs: np.ndarray, hlen: np.ndarray, sizes: np.ndarray, pointer_size: int, name: str, diag: Diagnostics
) -> list[tuple[int, int, int, str]]:
    """(base, size, process id, module file name) of every image load and rundown event."""
    out = []
    old_versions = 0
    fmt = "<Q" if pointer_size == 8 else "<I"
    name_at = 3 * pointer_size + 32
    for o, h, n in zip(offs.tolist(), hlen.tolist(), sizes.tolist(), strict=True):
        version = _U16.unpack_from(data, o)[0]
        p = o + h
        if version < 2 or n - h < name_at:
            old_versions += 1
            continue
        base = struct.unpack_from(fmt, data, p)[0]
        length = struct.unpack_from(fmt, data, p + pointer_size)[0]
        pid = _U32.unpack_from(data, p + 2 * pointer_size)[0]
        path = _utf16z(data, p + name_at, o + n)
        module = path.replace("/", "\\").rsplit("\\", 1)[-1] or f"image@{base:#x}"
        out.append((base, length, pid, _printable(module)))
    if old_versions:
        diag.note(name, None, f"{old_versions} image events of an older layout (version < 2) not read; "
                              "their addresses stay unresolved")
    return out


def _resolve(raw: bytes, pointer_size: int, modules: list[tuple[int, int, int, str]], pid: int) -> tuple[str, ...]:
    """Frames as ``module+0xoffset`` (kernel images first, then the stack's process), else hex."""
    count = len(raw) // pointer_size
    addresses = struct.unpack_from(f"<{count}{'Q' if pointer_size == 8 else 'I'}", raw)
    frames = []
    for address in addresses:
        found = None
        for base, length, owner, module in modules:
            if base <= address < base + length and owner in (0, pid):
                found = f"{module}+{address - base:#x}"
                if owner == 0:
                    break
        frames.append(found or f"{address:#x}")
    return tuple(frames)


def _convert_times(events: PoolEvents, info: TraceInfo, header_time: int, name: str, diag: Diagnostics) -> None:
    """Event clock ticks → FILETIME, anchored at the logfile header's start time and its event's tick."""
    start = info.extra.get("start_filetime", 0)
    freq = info.clock_frequency
    if info.clock == "system-time":
        info.timed = True
        return
    freq = freq if info.clock is not None else None
    if not freq or not 0 < freq < 2**40 or not 0 < start < 2**62 or header_time >= 2**62 or info.clock is None:
        info.timed = False
        diag.note(name, None, "the trace does not say how to turn its clock into dates; "
                              "events are ordered by clock ticks and snapshots carry no time")
        return
    delta = events.time - np.int64(header_time)
    whole, part = np.divmod(delta, np.int64(freq))
    events.time = np.int64(start) + whole * 10_000_000 + (part * 10_000_000) // np.int64(freq)
    info.timed = True


def _utf16z(data: Any, start: int, end: int) -> str:
    """A NUL-terminated UTF-16LE string between ``start`` and ``end`` (untrusted: printable only)."""
    raw = bytes(data[start:end])
    for i in range(0, len(raw) - 1, 2):
        if raw[i] == 0 and raw[i + 1] == 0:
            raw = raw[:i]
            break
    return _printable(raw[: len(raw) & ~1].decode("utf-16-le", errors="replace"))


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:260]
