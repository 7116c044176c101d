"""Live capture: one facade over private per-platform backends (chosen once, psutil style).

::

    from analyzer.live import capture
    snap = capture.snapshot()            # this machine, now
    capture.run_capture("run.pslog", interval=timedelta(seconds=5), count=12)

Backends: ``windows`` (NtQuerySystemInformation via ctypes), ``poolmon``
(``poolmon.exe -n`` fallback), ``slabinfo`` (Linux ``/proc/slabinfo``).  Importing
this package never fails; asking a platform without a backend for a snapshot
raises :class:`parsers.errors.UnsupportedPlatform` with one clear line.
"""

from __future__ import annotations

from analyzer.live.capture.backends import (
    SOURCES,
    available_sources,
    backend_name,
    host_meta,
    snapshot,
)
from analyzer.live.capture.backends import (
    _auto_order as _auto_order,  # re-exported for tests that reset the cached platform choice
)
from analyzer.live.capture.backends import (
    _module as _module,
)
from analyzer.live.capture.capturelog import CaptureLogError, CaptureWriter
from analyzer.live.capture.runner import AroundResult, CaptureSummary, RunAnalysis, capture_around, run_capture

__all__ = [
    "SOURCES",
    "AroundResult",
    "CaptureLogError",
    "CaptureSummary",
    "CaptureWriter",
    "RunAnalysis",
    "available_sources",
    "backend_name",
    "capture_around",
    "host_meta",
    "run_capture",
    "snapshot",
]
