"""Windows backend: ``NtQuerySystemInformation`` through ctypes, the same call PoolMon makes.

Only :func:`nt_query_function` touches the platform; decoding lives in
:mod:`._ntdecode` and runs (and is tested) everywhere.
"""

from __future__ import annotations

import ctypes
import sys
from datetime import datetime

from analyzer.live.capture import _ntdecode as nt
from parsers.errors import UnsupportedPlatform
from parsers.model import Snapshot

NAME = "windows"


def available() -> bool:
    return sys.platform == "win32"


def pointer_size() -> int:
    """4 in 32-bit processes (including WOW64, where the kernel answers in 32-bit layouts), else 8."""
    return ctypes.sizeof(ctypes.c_void_p)


def nt_query_function() -> nt.QueryFunction:
    """The thin platform edge: ntdll!NtQuerySystemInformation filling a Python bytearray in place."""
    if not available():
        raise UnsupportedPlatform("NtQuerySystemInformation exists only on Windows")
    ntdll = ctypes.WinDLL("ntdll")  # type: ignore[attr-defined]
    fn = ntdll.NtQuerySystemInformation
    fn.argtypes = [ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong)]
    fn.restype = ctypes.c_ulong  # NTSTATUS read unsigned: 0xC0000004, not a negative number

    def call(info_class: int, buf: bytearray) -> tuple[int, int]:
        cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
        returned = ctypes.c_ulong(0)
        status = fn(info_class, cbuf, len(buf), ctypes.byref(returned))
        return int(status), int(returned.value)

    return call


def snapshot(
    session: str | None = None,
    *,
    query_fn: nt.QueryFunction | None = None,
    ptr: int | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """System pool tags (class 22), or session pool tags (class 67) for ``session`` = "N" or "all"."""
    q = query_fn or nt_query_function()
    ps = ptr or pointer_size()
    if session is None:
        entries = nt.decode_pooltag_information(nt.query(q, nt.SYSTEM_POOLTAG_INFORMATION), ps)
        scope = "system"
    else:
        wanted = nt.ALL_SESSIONS if session == "all" else int(session)
        buf = nt.query(q, nt.SYSTEM_SESSION_POOLTAG_INFORMATION, prefill=nt.prefill_session(wanted, ps))
        chain = nt.decode_session_chain(buf, ps)
        if session == "all":
            entries = nt.merge_entries(tags for _sid, tags in chain)
            scope = "all-sessions"
        else:
            entries = nt.merge_entries(tags for sid, tags in chain if sid == wanted)
            scope = f"session:{wanted}"
    totals = _header_totals(q, ps)
    return nt.build_snapshot(entries, scope=scope, totals=totals, timestamp=now)


def _header_totals(q: nt.QueryFunction, ps: int) -> dict[str, int]:
    """PoolMon's header figures; a kernel that refuses them still gets a capture, without totals."""
    try:
        # Fixed-size classes: a second size would not be accepted either, so ask once each.
        basic = nt.decode_basic(nt.query(q, nt.SYSTEM_BASIC_INFORMATION, 64 if ps == 8 else 44, max_tries=1), ps)
        perf = nt.decode_performance(
            nt.query(q, nt.SYSTEM_PERFORMANCE_INFORMATION, nt.PERFORMANCE_INFO_SIZE, max_tries=1)
        )
    except (nt.NtStatusError, ValueError):
        return {}
    return nt.header_totals(basic, perf)
