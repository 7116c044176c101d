"""Build ``.etl`` files byte by byte for tests and benchmarks (our own writer, from documented layouts).

Written apart from the reader: the structures are spelled out here field by field with
``struct`` so that a misunderstanding in parsers/etw/layout.py shows up as a failing test.
What a real Windows trace looks like has not been checked against this (see docs/etw.md).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

KERNEL_FLAGS = 0xC0
SYSTEM32, SYSTEM64, COMPACT32, COMPACT64, PERFINFO32, PERFINFO64 = 1, 2, 3, 4, 16, 17

POOL_GROUP, STACK_GROUP, IMAGE_GROUP = 0x0E, 0x18, 0x14
OP_ALLOC, OP_ALLOC_SESSION, OP_FREE, OP_FREE_SESSION = 0x20, 0x21, 0x22, 0x23

#: A plausible FILETIME for 2026-11-21 14:00:00 UTC.
START_FILETIME = 134397432000000000


def tag_int(tag: str) -> int:
    return int.from_bytes((tag + "    ")[:4].encode("latin-1"), "little")


@dataclass
class EtlWriter:
    """Collects events, then lays them out in buffers behind a logfile header."""

    pointer_size: int = 8
    buffer_size: int = 4096
    clock_type: int = 1  # 1 QPC, 2 system time, 3 CPU cycles
    perf_freq: int = 10_000_000
    cpu_mhz: int = 3000
    start_filetime: int = START_FILETIME
    start_ticks: int = 1_000_000  # clock value of the logfile header event
    logfile_mode: int = 0
    header_kind: str = "system"  # header of pool events: system, compact or perfinfo
    events: list[bytes] = field(default_factory=list)
    compressed_buffer: int | None = None  # index of a buffer to flag as compressed

    # -- event headers ---------------------------------------------------------------
    def _fmt_ptr(self) -> str:
        return "Q" if self.pointer_size == 8 else "I"

    def _header(self, kind: str, group: int, opcode: int, payload_len: int, ticks: int, thread: int,
                pid: int, version: int = 2) -> bytes:
        wide = self.pointer_size == 8
        if kind == "system":
            htype, hlen = (SYSTEM64 if wide else SYSTEM32), 32
        elif kind == "compact":
            htype, hlen = (COMPACT64 if wide else COMPACT32), 24
        else:
            htype, hlen = (PERFINFO64 if wide else PERFINFO32), 16
        size = hlen + payload_len
        marker = (KERNEL_FLAGS << 24) | (htype << 16) | version
        packet = (group << 24) | (opcode << 16) | size
        if kind == "perfinfo":
            return struct.pack("<IIQ", marker, packet, ticks)
        head = struct.pack("<IIIIQ", marker, packet, thread, pid, ticks)
        return head + (struct.pack("<II", 0, 0) if kind == "system" else b"")

    def add(self, header: bytes, payload: bytes) -> None:
        self.events.append(header + payload)

    # -- events ------------------------------------------------------------------------
    def pool(self, opcode: int, ticks: int, tag: str, size: int, address: int, pool_type: int = 0,
             session: int | None = None, thread: int = 1200, pid: int = 4) -> None:
        p = self._fmt_ptr()
        payload = struct.pack(f"<II{p}{p}", pool_type, tag_int(tag), size, address)
        if opcode in (OP_ALLOC_SESSION, OP_FREE_SESSION):
            payload += struct.pack("<I", session or 0)
        self.add(self._header(self.header_kind, POOL_GROUP, opcode, len(payload), ticks, thread, pid), payload)

    def alloc(self, ticks: int, tag: str, size: int, address: int, *, pool_type: int = 0,
              session: int | None = None, thread: int = 1200, stack: list[int] | None = None, pid: int = 4) -> None:
        opcode = OP_ALLOC if session is None else OP_ALLOC_SESSION
        self.pool(opcode, ticks, tag, size, address, pool_type, session, thread, pid)
        if stack:
            self.stackwalk(ticks, thread, stack, pid)

    def free(self, ticks: int, tag: str, address: int, *, pool_type: int = 0, session: int | None = None,
             thread: int = 1200, size: int = 0, stack: list[int] | None = None, pid: int = 4) -> None:
        opcode = OP_FREE if session is None else OP_FREE_SESSION
        self.pool(opcode, ticks, tag, size, address, pool_type, session, thread, pid)
        if stack:
            self.stackwalk(ticks, thread, stack, pid)

    def stackwalk(self, event_ticks: int, thread: int, frames: list[int], pid: int = 4) -> None:
        p = self._fmt_ptr()
        payload = struct.pack(f"<QII{len(frames)}{p}", event_ticks, pid, thread, *frames)
        self.add(self._header("perfinfo" if self.header_kind == "perfinfo" else "system", STACK_GROUP, 0x20,
                              len(payload), event_ticks + 1, thread, pid), payload)

    def image(self, base: int, size: int, path: str, *, pid: int = 0, opcode: int = 3, ticks: int = 0,
              version: int = 2) -> None:
        p = self._fmt_ptr()
        # ImageBase, ImageSize, ProcessId, CheckSum, TimeDateStamp, Reserved0, DefaultBase, Reserved1-4, FileName
        payload = struct.pack(f"<{p}{p}IIII{p}IIII", base, size, pid, 0x1234, 0x5F000000, 0, base, 0, 0, 0, 0)
        payload += path.encode("utf-16-le") + b"\0\0"
        self.add(self._header("system", IMAGE_GROUP, opcode, len(payload), ticks or self.start_ticks, 8, pid,
                              version=version), payload)

    # -- file ----------------------------------------------------------------------------
    def logfile_header_event(self) -> bytes:
        p = self._fmt_ptr()
        name = "NT Kernel Logger".encode("utf-16-le") + b"\0\0"
        fields = struct.pack(
            f"<IIIIqIIIIIIII{p}{p}",
            self.buffer_size,  # BufferSize
            0x00000002,  # Version
            19041,  # ProviderVersion
            2,  # NumberOfProcessors
            0,  # EndTime
            156250,  # TimerResolution (15.625 ms)
            0,  # MaximumFileSize
            self.logfile_mode,  # LogFileMode
            0,  # BuffersWritten
            1,  # StartBuffers
            self.pointer_size,  # PointerSize
            0,  # EventsLost
            self.cpu_mhz,  # CpuSpeedInMHz
            0,  # LoggerName pointer
            0,  # LogFileName pointer
        )
        fields += b"\0" * 172  # TIME_ZONE_INFORMATION
        fields += b"\0" * (-len(fields) % 8)  # LARGE_INTEGER alignment
        fields += struct.pack("<qqqII", 0, self.perf_freq, self.start_filetime, self.clock_type, 0)
        fields += name + "trace.etl".encode("utf-16-le") + b"\0\0"
        wide = self.pointer_size == 8
        marker = (KERNEL_FLAGS << 24) | ((SYSTEM64 if wide else SYSTEM32) << 16) | 2
        packet = (0 << 24) | (0 << 16) | (32 + len(fields))
        return struct.pack("<IIIIQII", marker, packet, 0, 0, self.start_ticks, 0, 0) + fields

    def _buffer(self, body: bytes, index: int) -> bytes:
        used = 72 + len(body)
        flag = 0x40 if index == self.compressed_buffer else 0
        header = struct.pack("<IIIiqqQHHIIHH16s", self.buffer_size, used, used, 0, self.start_ticks, index,
                             1, index % 2, 0xFFFF, 3, used, flag, 0, b"\0" * 16)
        assert len(header) == 72
        return header + body + b"\xff" * (self.buffer_size - used)

    def to_bytes(self) -> bytes:
        out = []
        body = bytearray()
        room = self.buffer_size - 72
        for event in [self.logfile_header_event(), *self.events]:
            padded = event + b"\0" * (-len(event) % 8)
            if len(padded) > room:
                raise ValueError("event larger than a buffer")
            if len(body) + len(padded) > room:
                out.append(self._buffer(bytes(body), len(out)))
                body = bytearray()
            body += padded
        out.append(self._buffer(bytes(body), len(out)))
        return b"".join(out)

    def write(self, path: object) -> None:
        from pathlib import Path

        Path(str(path)).write_bytes(self.to_bytes())
