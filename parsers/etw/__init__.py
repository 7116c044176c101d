"""Pool traces with call stacks: ETW ``.etl`` files and WPA CSV exports, read on any OS.

:func:`read_trace` gives the events and stacks (for ``poolscope stacks``); the two
:class:`InputFormat` objects turn a trace into snapshots so that every other command
(``trend``, ``report``, ``diff``...) reads a trace like any PoolMon log.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import Diagnostics, InputError
from ..formats import InputFormat, ParseOptions
from ..model import Snapshot
from ..textio import TextSource
from .etl import looks_like_etl, read_etl
from .lifetimes import DEFAULT_POINTS, Lifetimes, pair_events, trace_snapshots
from .trace import PoolEvents, PoolTrace, TraceInfo
from .wpa import read_wpa
from .wpa import sniff as sniff_wpa

__all__ = [
    "DEFAULT_POINTS",
    "ETL_FORMAT",
    "WPA_FORMAT",
    "Lifetimes",
    "PoolEvents",
    "PoolTrace",
    "TraceInfo",
    "looks_like_etl",
    "pair_events",
    "read_etl",
    "read_source",
    "read_trace",
    "read_wpa",
    "trace_snapshots",
]


def read_source(source: TextSource, diag: Diagnostics) -> PoolTrace:
    """The pool trace in one source: an .etl (binary) or a WPA CSV export (text)."""
    data = getattr(source, "data", None)
    if data is not None:
        return read_etl(data, source.name, diag)
    if sniff_wpa(source.head(65536)) > 0:
        return read_wpa(source, diag)
    raise InputError(source.name, "not a pool trace: expected an uncompressed .etl file or a WPA pool-table CSV export")


def read_trace(path: str | os.PathLike[str], diag: Diagnostics | None = None) -> PoolTrace:
    """Read one trace file (``.etl`` or WPA ``.csv``; ``.gz``/``.zip`` wrapped ones too)."""
    from ..textio import read_path

    diag = diag if diag is not None else Diagnostics()
    sources = list(read_path(Path(path), os.fspath(path)))
    if len(sources) != 1:
        raise InputError(os.fspath(path), f"expected one trace, found {len(sources)} files inside")
    return read_source(sources[0], diag)


def _parse_etl(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    if getattr(source, "data", None) is None:
        raise InputError(source.name, "not an ETL trace: this is text (an .etl file is binary)")
    return trace_snapshots(read_etl(source.data, source.name, diag))  # type: ignore[attr-defined]


def _parse_wpa(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    return trace_snapshots(read_wpa(source, diag))


ETL_FORMAT = InputFormat(
    name="etl",
    description="ETW kernel trace (.etl, uncompressed) with pool events; outstanding allocations over time",
    sniff=lambda head: 0.0,  # binary: recognised by its bytes (parsers.binary), never by text
    parse=_parse_etl,
)

WPA_FORMAT = InputFormat(
    name="wpa",
    description="WPA pool-table CSV export (per-allocation or per-event rows, columns by header name)",
    sniff=sniff_wpa,
    parse=_parse_wpa,
)
