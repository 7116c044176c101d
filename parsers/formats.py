"""The registry of input formats and content-based detection.

Each input family lives in its own module exposing ``FORMAT``, an :class:`InputFormat`.
Modules are imported on first use so that one family's dependencies never slow
down or break another's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from .errors import Diagnostics, InputError
from .model import Snapshot
from .textio import TextSource

#: How much of a source detection looks at.
SNIFF_CHARS = 65536


@dataclass(frozen=True)
class ParseOptions:
    """What the caller knows that the text may not say."""

    interval: timedelta | None = None  # spacing of snapshots when no timestamps are found
    #: A reader that can hand snapshots over in file order as it reads them gives each but the
    #: last to this sink (parsers.parse_streamed); the list it returns then holds the rest.
    sink: SnapshotSink | None = field(default=None, compare=False)


class SnapshotSink:
    """Where a streaming reader hands over snapshots, and says if they differ from a whole read.

    ``exact`` turns False when something read later changes a snapshot already handed over
    (its time, say, once a later marker shows the dates are day-first).
    """

    def __init__(self, put: Callable[[Snapshot], None]) -> None:
        self.put = put
        self.handed_over = 0
        self.exact = True


@dataclass(frozen=True)
class InputFormat:
    """One input family.

    ``sniff`` scores the head of a source from 0 (not this format) to 1 (certainly
    this format); ``parse`` turns a whole source into snapshots, recording what it
    could not read in the diagnostics.
    """

    name: str
    description: str
    sniff: Callable[[str], float]
    parse: Callable[[TextSource, Diagnostics, ParseOptions], list[Snapshot]]


#: Format name -> module that defines ``FORMAT`` (or ``module:ATTRIBUTE`` when one module
#: defines several formats).  Order breaks sniffing ties.
_MODULES: dict[str, str] = {
    "capture": "parsers.capture_log",
    "transcript": "parsers.transcript",
    "poolused": "parsers.poolused",
    "poolmon": "parsers.poolmon",
    "poolsnap": "parsers.poolmon:SNAP_FORMAT",
    "slabinfo": "parsers.slabinfo",
    "poolmon-csv": "parsers.poolmon_csv:CSV_FORMAT",
    "poolmon-kv": "parsers.poolmon_csv:KV_FORMAT",
    "poolmonx": "parsers.poolmonx",
    "pooltracker": "parsers.volatility:TRACKER_FORMAT",
    "bigpools": "parsers.volatility:BIGPOOLS_FORMAT",
    "perfcounter": "parsers.perfcounter",
    "etl": "parsers.etw:ETL_FORMAT",
    "wpa": "parsers.etw:WPA_FORMAT",
    "screenshot": "parsers.screenshot",
}

_loaded: dict[str, InputFormat] = {}


def format_names() -> list[str]:
    return list(_MODULES)


def get_format(name: str) -> InputFormat:
    if name not in _MODULES:
        raise InputError("--input-format", f"unknown format {name!r}; choose from {', '.join(_MODULES)}")
    fmt = _loaded.get(name)
    if fmt is None:
        module, _, attr = _MODULES[name].partition(":")
        fmt = getattr(importlib.import_module(module), attr or "FORMAT")
        _loaded[name] = fmt
    return fmt


def available_formats() -> list[InputFormat]:
    """Formats whose module imports; a family still missing its module is left out."""
    out = []
    for name in _MODULES:
        try:
            out.append(get_format(name))
        except ModuleNotFoundError as exc:
            if exc.name != _MODULES[name].partition(":")[0]:
                raise
    return out


def detect(source: TextSource) -> InputFormat:
    """The format whose sniffer is most confident about the head of ``source``."""
    binary_format = getattr(source, "binary_format", None)
    if binary_format is not None:
        return get_format(binary_format)
    head = source.head(SNIFF_CHARS)
    if not head.strip():
        raise InputError(source.name, "empty input: no text to read")
    best: InputFormat | None = None
    best_score = 0.0
    for fmt in available_formats():
        score = fmt.sniff(head)
        if score > best_score:
            best, best_score = fmt, score
    if best is None:
        raise InputError(
            source.name,
            "not pool data: found no PoolMon, poolsnap, !poolused, debugger transcript, "
            "slabinfo or capture content",
        )
    return best
