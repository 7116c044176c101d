"""poolscope: find Windows kernel pool leaks in the text people already have.

PoolMon screens and logs, poolsnap files, pasted text, WinDbg ``!poolused`` dumps and debugger
transcripts, Linux slabinfo and live captures all become :class:`Snapshot` objects; the
functions here diff them, judge each tag's trend, name owners, triage crashes and build reports::

    import poolscope

    result = poolscope.parse(["poolmon.log"])
    resolver = poolscope.owners(snapshots=result.snapshots)
    for row in poolscope.trend(result.snapshots, resolver=resolver).rows:
        if row.verdict == poolscope.Verdict.LEAK:
            print(row.tag, row.pool, row.owner, row.reason)

This package is the public API: every name in ``__all__`` is documented and kept stable;
``parsers`` and ``analyzer`` are the implementation beneath it.  Bad input raises
:class:`InputError` (a :class:`PoolscopeError`) with the file and line in its message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from analyzer.analysis.verdict import Verdict
from parsers import (
    ErrorLevel,
    InputError,
    ParseError,
    ParseResult,
    ParseWarning,
    PoolscopeError,
    ProgressCallback,
    Row,
    Snapshot,
    UnsupportedPlatform,
)
from parsers import parse as _parse
from parsers import parse_text as _parse_text

if TYPE_CHECKING:
    from types import ModuleType

    from analyzer.analysis.diff import DiffResult, DiffRow
    from analyzer.analysis.fleet import FleetResult, FleetRow
    from analyzer.analysis.show import ShowOptions, ShowResult, ShowRow
    from analyzer.analysis.stacks import StacksOptions, StacksResult
    from analyzer.analysis.trend import TrendOptions, TrendResult, TrendRow
    from analyzer.analysis.triage import TriageReport
    from analyzer.owners import OwnerResolver
    from analyzer.render.dataset import IngestResult
    from analyzer.render.report import Report, ReportOptions

__version__ = "0.1.0"

__all__ = [
    "DiffResult",
    "DiffRow",
    "ErrorLevel",
    "FleetResult",
    "FleetRow",
    "IngestResult",
    "InputError",
    "OwnerResolver",
    "ParseError",
    "ParseResult",
    "ParseWarning",
    "PoolscopeError",
    "Report",
    "ReportOptions",
    "Row",
    "ShowOptions",
    "ShowResult",
    "ShowRow",
    "Snapshot",
    "StacksOptions",
    "StacksResult",
    "TrendOptions",
    "TrendResult",
    "TrendRow",
    "TriageReport",
    "UnsupportedPlatform",
    "Verdict",
    "__version__",
    "annotate",
    "capture",
    "diff",
    "fleet_analyze",
    "fleet_ingest",
    "owners",
    "parse",
    "parse_text",
    "report",
    "show",
    "stacks",
    "trend",
    "triage",
]

#: Public names loaded on first use, so ``import poolscope`` stays light (no SciPy, no TUI).
_LAZY: dict[str, str] = {
    "DiffResult": "analyzer.analysis.diff",
    "DiffRow": "analyzer.analysis.diff",
    "FleetResult": "analyzer.analysis.fleet",
    "FleetRow": "analyzer.analysis.fleet",
    "IngestResult": "analyzer.render.dataset",
    "ShowOptions": "analyzer.analysis.show",
    "ShowResult": "analyzer.analysis.show",
    "ShowRow": "analyzer.analysis.show",
    "StacksOptions": "analyzer.analysis.stacks",
    "StacksResult": "analyzer.analysis.stacks",
    "TrendOptions": "analyzer.analysis.trend",
    "TrendResult": "analyzer.analysis.trend",
    "TrendRow": "analyzer.analysis.trend",
    "TriageReport": "analyzer.analysis.triage",
    "OwnerResolver": "analyzer.owners",
    "Report": "analyzer.render.report",
    "ReportOptions": "analyzer.render.report",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "capture":
        module: ModuleType = importlib.import_module("analyzer.live.capture")
        return module
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'poolscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def parse(
    inputs: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    input_format: str | None = None,
    errors: ErrorLevel | str = ErrorLevel.WARN,
    interval: timedelta | None = None,
    progress: ProgressCallback | None = None,
) -> ParseResult:
    """Read files, folders, globs, archives or ``-`` (stdin) into snapshots in time order.

    The format is detected from the content unless ``input_format`` names one; ``errors``
    decides what an unreadable line does (``ignore``, ``warn`` into ``result.warnings``, or
    ``raise``); ``interval`` spaces snapshots that carry no time of their own; ``progress``
    is called as ``progress("read", bytes_done, bytes_total, label)`` while reading.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    return _parse(inputs, input_format=input_format, errors=errors, interval=interval, progress=progress)


def parse_text(text: str, name: str = "<text>", **kwargs: Any) -> ParseResult:
    """Parse text already in memory (a paste, a test fixture), as :func:`parse` reads a file."""
    return _parse_text(text, name, **kwargs)


def owners(
    tag_files: Sequence[str | os.PathLike[str]] = (),
    snapshots: Sequence[Snapshot] = (),
    *,
    use_defaults: bool = True,
) -> OwnerResolver:
    """An owner resolver over pooltag.txt/localtag.txt files and the owner evidence in ``snapshots``.

    ``tag_files`` come first (the first file given wins); ``use_defaults`` adds
    ``POOLSCOPE_TAGS``, the Debugging Tools' pooltag.txt and the files added with ``tags add``.
    """
    from analyzer.owners import build_resolver

    return build_resolver(tag_files, snapshots, use_defaults=use_defaults)


def annotate(rows: Iterable[Any], resolver: OwnerResolver | None) -> None:
    """Fill ``owner`` and ``owner_candidates`` on result rows (diff, trend, show, triage), one lookup per tag."""
    from analyzer.owners import annotate_rows

    annotate_rows(resolver, rows)


def diff(before: Snapshot, after: Snapshot, *, min_change: int = 0,
         resolver: OwnerResolver | None = None) -> DiffResult:
    """Per (tag, pool) change from ``before`` to ``after``, largest growth first.

    Rows whose bytes changed by less than ``min_change`` are left out; the totals cover every row.
    """
    from analyzer.analysis.diff import diff_snapshots

    result = diff_snapshots(before, after, min_change=min_change)
    if resolver is not None:
        annotate(result.rows, resolver)
    return result


def trend(
    snapshots: Sequence[Snapshot],
    options: TrendOptions | None = None,
    *,
    resolver: OwnerResolver | None = None,
) -> TrendResult:
    """A verdict per (tag, pool) over time (leak, suspect, recovers, stable, insufficient-data) with its reason."""
    from analyzer.analysis.trend import analyze

    result = analyze(snapshots, options)
    if resolver is not None:
        annotate(result.rows, resolver)
    return result


def show(
    result: ParseResult,
    options: ShowOptions | None = None,
    *,
    resolver: OwnerResolver | None = None,
) -> ShowResult:
    """One snapshot as PoolMon shows it: filtered, sorted, with change columns and totals."""
    from analyzer.analysis.show import ShowOptions, show_snapshot

    shown = show_snapshot(result, options or ShowOptions())
    annotate(shown.rows, resolver)
    return shown


def stacks(
    source: str | os.PathLike[str],
    options: StacksOptions | None = None,
    *,
    errors: ErrorLevel | str = ErrorLevel.WARN,
) -> StacksResult:
    """Leaking call stacks of one pool trace (uncompressed ``.etl`` or a WPA pool-table CSV export).

    Allocations never freed by the end of the trace, grouped by (tag, pool, stack) and largest
    first within each tag; ``result.warnings`` says what of the file could not be used.
    """
    from analyzer.analysis.stacks import analyze_stacks
    from parsers import Diagnostics
    from parsers.etw import read_trace

    diag = Diagnostics(level=ErrorLevel(errors))
    result = analyze_stacks(read_trace(source, diag), options)
    result.warnings = diag.warnings()
    return result


def triage(
    source: Any,
    *,
    tag_files: Sequence[str | os.PathLike[str]] = (),
    use_default_tags: bool = True,
    symbols: str | None = None,
    debugger: str | None = None,
    top: int = 5,
) -> TriageReport:
    """What a crash or debugger log says about the pools: bug check, exhausted pool, top tags, next steps.

    ``source`` is a transcript path, a :class:`parsers.transcript.Transcript`, or (on Windows
    with the Debugging Tools) a crash dump, which is opened with cdb.
    """
    from analyzer.live.triage import triage_source

    return triage_source(source, tag_files=tag_files, use_default_tags=use_default_tags, symbols=symbols,
                         debugger=debugger, top=top)


def report(
    inputs: ParseResult | Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    options: ReportOptions | None = None,
) -> Report:
    """Everything a report shows (inputs read, verdict, suspects, totals, diff, next steps) as one record.

    Render it with :func:`analyzer.render.report.render` as ``text``, ``markdown``, ``html`` or ``json``.
    """
    from analyzer.render.report import build_report

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    return build_report(inputs, options)


def fleet_ingest(
    dirs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    dataset: str | os.PathLike[str],
    *,
    host_from: str | None = None,
    tag_files: Sequence[str | os.PathLike[str]] = (),
    use_defaults: bool = True,
    interval: timedelta | None = None,
    strict: bool = False,
    jobs: int | None = None,
    append: bool = False,
) -> IngestResult:
    """Many hosts' inputs into one Parquet dataset partitioned by host and day (needs the ``fleet`` extra).

    Each sub-folder of a dir is a host (or ``host_from``, a regular expression over each file's
    relative path, names it); hosts are parsed in parallel on ``jobs`` processes.  A host that
    cannot be read is in ``result.failed``, the others are written.  See docs/fleet.md.
    """
    from analyzer.render.dataset import ingest

    if isinstance(dirs, (str, os.PathLike)):
        dirs = [dirs]
    return ingest(dirs, dataset, host_from=host_from, tag_files=[str(t) for t in tag_files],
                  use_defaults=use_defaults, interval=interval, strict=strict, jobs=jobs, append=append)


def fleet_analyze(
    datasets: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    by: str = "tag",
    options: TrendOptions | None = None,
    scheduler: Any = None,
    jobs: int | None = None,
    include_all: bool = False,
) -> FleetResult:
    """Every host of a dataset gets the ``trend`` verdicts; then per tag (owner, driver) how many hosts leak.

    Hosts run on a local process pool of ``jobs`` workers, or on a Dask cluster when
    ``scheduler`` is its address (``tcp://host:8786``) or a ``distributed.Client``.  Rows with
    no leaking or suspect host are left out unless ``include_all``.  See docs/fleet.md.
    """
    from analyzer.analysis.fleet import analyze_fleet

    if isinstance(datasets, (str, os.PathLike)):
        datasets = [datasets]
    return analyze_fleet(datasets, by=by, options=options, scheduler=scheduler, jobs=jobs, include_all=include_all)
