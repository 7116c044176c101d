"""Which live backend runs here, and one snapshot from it (the platform is decided once).

The runner and the live view import from here; the package ``__init__`` re-exports it.
"""

from __future__ import annotations

import functools
import importlib
import platform
import socket
import sys
from datetime import datetime
from types import ModuleType

from parsers.errors import PoolscopeError, UnsupportedPlatform
from parsers.model import Snapshot, TimeOrigin

#: --source name -> private backend module.
_BACKENDS = {"windows": "_windows", "poolmon": "_poolmon_exe", "slabinfo": "_linux"}
SOURCES: tuple[str, ...] = ("auto", *_BACKENDS)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{__package__}.{_BACKENDS[name]}")


@functools.cache
def _auto_order() -> tuple[str, ...]:
    """What ``auto`` tries on this platform, decided once."""
    if sys.platform == "win32":
        return ("windows", "poolmon")
    if sys.platform.startswith("linux"):
        return ("slabinfo",)
    return ()


def available_sources() -> list[str]:
    """Backends that can run here now (``poolmon`` when a poolmon executable is on PATH)."""
    return [name for name in _BACKENDS if _module(name).available()]


def backend_name(source: str = "auto") -> str | None:
    """The backend ``source`` resolves to on this machine, or None when there is none."""
    if source != "auto":
        return source if source in _BACKENDS and _module(source).available() else None
    for name in _auto_order():
        if _module(name).available():
            return name
    return None


def host_meta(backend: str) -> dict[str, str]:
    """Who took the snapshot: written into every capture record."""
    return {
        "host": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}".strip(),
        "backend": backend,
    }


def _unsupported() -> UnsupportedPlatform:
    return UnsupportedPlatform(
        f"live capture is not available on {platform.system() or sys.platform}: it needs Windows "
        "(pool tags) or Linux (/proc/slabinfo); save PoolMon or slabinfo output there and read that instead"
    )


def snapshot(source: str = "auto", session: str | int | None = None) -> Snapshot:
    """One snapshot of this machine now, stamped with the local time zone.

    ``session`` ("N" or "all") asks for Windows session pools instead of the system pools.
    """
    if source not in SOURCES:
        raise PoolscopeError(f"unknown capture source {source!r}; choose from {', '.join(SOURCES)}")
    sess = None if session is None else str(session)
    if source == "auto":
        order = [n for n in _auto_order() if _module(n).available()]
        if not order:
            raise _unsupported()
        first_error: PoolscopeError | None = None
        for name in order:
            try:
                return _stamp(_module(name).snapshot(sess), name)
            except PoolscopeError as exc:
                # Only a refused NT call falls through to PoolMon; other errors are the answer.
                if not getattr(exc, "refused", False):
                    raise
                first_error = first_error or exc
        assert first_error is not None
        raise first_error
    mod = _module(source)
    if not mod.available():
        if source == "poolmon":
            raise UnsupportedPlatform("poolmon.exe is not on PATH (it comes with the Windows Driver Kit)")
        if source == "windows":
            raise UnsupportedPlatform("--source windows needs Windows (NtQuerySystemInformation)")
        raise UnsupportedPlatform("--source slabinfo needs Linux with /proc/slabinfo")
    return _stamp(mod.snapshot(sess), source)


def _stamp(snap: Snapshot, backend: str) -> Snapshot:
    meta = host_meta(backend)
    snap.source = f"live:{meta['host']}"
    snap.format = "capture"
    snap.timestamp = datetime.now().astimezone()
    snap.time_origin = TimeOrigin.SOURCE
    snap.extra.update(meta)
    return snap
