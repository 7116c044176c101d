"""Offsets and constants of the uncompressed ``.etl`` file layout that the reader relies on.

Written from the publicly documented structures (WMI_BUFFER_HEADER, SYSTEM_TRACE_HEADER,
PERFINFO_TRACE_HEADER, TRACE_LOGFILE_HEADER, the kernel logger's group/opcode numbers);
see docs/etw.md.  The test writer (tests/etl_writer.py) builds files from the same facts
independently, by hand, so a mistake here shows up as a disagreement there.
"""

from __future__ import annotations

#: Every buffer starts with a WMI_BUFFER_HEADER of this size; events follow it.
BUFFER_HEADER_SIZE = 0x48
BUF_SIZE = 0x00  # ULONG BufferSize
BUF_SAVED_OFFSET = 0x04  # ULONG SavedOffset
BUF_CURRENT_OFFSET = 0x08  # ULONG CurrentOffset
BUF_TIMESTAMP = 0x10  # LARGE_INTEGER
BUF_OFFSET = 0x30  # ULONG Offset: bytes of the buffer in use
BUF_FLAG = 0x34  # USHORT BufferFlag
BUF_TYPE = 0x36  # USHORT BufferType

BUFFER_FLAG_COMPRESSED = 0x40
#: LogFileMode bit of a trace whose buffers were written compressed (Windows 8 and later).
LOGFILE_MODE_COMPRESSED = 0x04000000
#: Largest buffer size ETW allows (16 MB since Windows 8).
MAX_BUFFER_SIZE = 16 * 1024 * 1024

#: Events are 8-byte aligned; free space at the end of a buffer is filled with 0xFF.
EVENT_ALIGNMENT = 8
END_MARKER = 0xFFFFFFFF

#: Header types (byte 2 of the event's first ULONG).
HT_SYSTEM32 = 1
HT_SYSTEM64 = 2
HT_COMPACT32 = 3
HT_COMPACT64 = 4
HT_FULL_HEADER32 = 10
HT_INSTANCE32 = 11
HT_ERROR = 13
HT_MESSAGE = 15
HT_PERFINFO32 = 16
HT_PERFINFO64 = 17
HT_EVENT_HEADER32 = 18
HT_EVENT_HEADER64 = 19
HT_FULL_HEADER64 = 20
HT_INSTANCE64 = 21

#: Kernel-logger headers: Marker ULONG (Version, HeaderType, Flags), then the packet ULONG
#: (Size, Type = opcode, Group).  Header length and where thread and time sit in it.
KERNEL_HEADERS: dict[int, tuple[int, int | None, int]] = {
    # type: (header length, thread id offset or None, timestamp offset)
    HT_SYSTEM32: (32, 8, 16),
    HT_SYSTEM64: (32, 8, 16),
    HT_COMPACT32: (24, 8, 16),
    HT_COMPACT64: (24, 8, 16),
    HT_PERFINFO32: (16, None, 8),
    HT_PERFINFO64: (16, None, 8),
}
#: Other headers start with their own USHORT Size (EVENT_HEADER, full and instance headers).
SIZED_HEADERS = frozenset({HT_FULL_HEADER32, HT_INSTANCE32, HT_ERROR, HT_MESSAGE, HT_EVENT_HEADER32,
                           HT_EVENT_HEADER64, HT_FULL_HEADER64, HT_INSTANCE64})
#: Marker flags byte of kernel-logger headers (TRACE_HEADER_FLAG | TRACE_HEADER_EVENT_TRACE).
KERNEL_MARKER_FLAGS = 0xC0

#: Groups (high byte of the hook id) and opcodes (low byte) read here.
GROUP_HEADER = 0x00
OP_HEADER_INFO = 0x00
GROUP_POOL = 0x0E
OP_POOL_ALLOC = 0x20
OP_POOL_ALLOC_SESSION = 0x21
OP_POOL_FREE = 0x22
OP_POOL_FREE_SESSION = 0x23
GROUP_IMAGE = 0x14
OP_IMAGE_UNLOAD = 0x02
OP_IMAGE_DC_START = 0x03
OP_IMAGE_DC_END = 0x04
OP_IMAGE_LOAD = 0x0A
GROUP_STACKWALK = 0x18
OP_STACKWALK = 0x20

#: TRACE_LOGFILE_HEADER fields (offsets inside the header event's payload).
LF_BUFFER_SIZE = 0
LF_VERSION = 4
LF_PROCESSORS = 12
LF_END_TIME = 16
LF_TIMER_RESOLUTION = 24
LF_LOGFILE_MODE = 32
LF_BUFFERS_WRITTEN = 36
LF_POINTER_SIZE = 44
LF_EVENTS_LOST = 48
LF_CPU_MHZ = 52
LF_NAMES = 56  # LoggerName and LogFileName pointers (pointer-sized each)


def logfile_tail_offsets(pointer_size: int) -> dict[str, int]:
    """Offsets of the fields after the two name pointers and TIME_ZONE_INFORMATION (172 bytes).

    LARGE_INTEGERs are 8-byte aligned, so the x86 and x64 layouts differ by the pointers
    and by the alignment padding after the time zone.
    """
    tz_end = LF_NAMES + 2 * pointer_size + 172
    boot = (tz_end + 7) & ~7
    return {
        "boot_time": boot,
        "perf_freq": boot + 8,
        "start_time": boot + 16,
        "clock_type": boot + 24,  # ReservedFlags
        "buffers_lost": boot + 28,
        "end": boot + 32,  # LoggerName text follows
    }


#: Clock types in the ReservedFlags field.
CLOCKS = {1: "qpc", 2: "system-time", 3: "cpu-cycle"}
