"""``build_report``: one library call from inputs to the :class:`Report` every renderer reads."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from analyzer.render.report.model import InputRead, LargestTag, NextStep, PoolTotal, Report, Series, Suspect
from analyzer.units import format_duration, format_size
from parsers import ParseResult, ProgressCallback, parse
from parsers.errors import ErrorLevel, repair_summary, split_repairs
from parsers.model import MISSING, POOLS, Snapshot

SUSPECT_VERDICTS = ("leak", "suspect")
#: Shorter than this, a capture cannot tell a leak from a slow cache: suggest a longer one.
SHORT_CAPTURE = timedelta(hours=2)


@dataclass
class ReportOptions:
    """What ``build_report`` needs beyond the inputs."""

    tag_files: Sequence[str | os.PathLike[str]] = ()
    use_default_tags: bool = True  # POOLSCOPE_TAGS, Debugging Tools pooltag.txt, the user folder
    input_format: str | None = None
    errors: ErrorLevel | str = ErrorLevel.WARN
    interval: timedelta | None = None
    trend_options: Any = None  # analyzer.analysis.trend.TrendOptions
    max_suspects: int = 10
    tag_filter: Any = None  # analyzer.analysis.filters.TagFilter: restrict the report to some tags
    progress: ProgressCallback | None = field(default=None, repr=False)


def build_report(
    inputs: ParseResult | Sequence[str | os.PathLike[str]], options: ReportOptions | None = None
) -> Report:
    """Read (unless given a ParseResult), analyse and summarise: the model behind every report format."""
    from analyzer.analysis.diff import diff_snapshots
    from analyzer.analysis.trend import analyze
    from analyzer.owners import annotate_rows, build_resolver

    opts = options or ReportOptions()
    if isinstance(inputs, ParseResult):
        result = inputs
    else:
        result = parse(
            list(inputs),
            input_format=opts.input_format,
            errors=opts.errors,
            interval=opts.interval,
            progress=opts.progress,
        )
    snaps = result.snapshots
    if opts.tag_filter is not None and getattr(opts.tag_filter, "active", True):
        snaps = [_filtered(s, opts.tag_filter) for s in snaps]
    if opts.progress:
        opts.progress("analyse", 0, 3, "analysing trends")
    resolver = build_resolver(opts.tag_files, snaps, use_defaults=opts.use_default_tags)
    # Exact repairs lose nothing: one note in "What was read" rather than a warning per file.
    warnings, repairs = split_repairs(list(result.warnings) + list(getattr(resolver, "warnings", [])))

    trend = analyze(snaps, opts.trend_options) if snaps else None
    if opts.progress:
        opts.progress("analyse", 1, 3, "diff of first and last snapshot")
    trend_rows = list(trend.rows) if trend is not None else []
    notes: list[str] = []
    repaired = repair_summary(repairs)
    if repaired:
        notes.append(repaired)
    scopes = {s.scope for s in snaps}
    if len(scopes) > 1 and trend is not None and trend.summary.get("scope") in scopes:
        # System and session pools are different series; follow the scope the trend analysed.
        scope = trend.summary["scope"]
        kept = [s for s in snaps if s.scope == scope]
        notes.append(
            f"{len(snaps) - len(kept)} snapshots of other pool scopes "
            f"({', '.join(sorted(scopes - {scope}))}) left out; this report covers {scope}"
        )
        snaps = kept
    # Rows carry owner and owner_candidates for JSON; `owners` is the lookup the text formats use.
    annotate_rows(resolver, trend_rows)
    owners: dict[tuple[str, str], str | None] = {(r.tag, r.pool): r.owner for r in trend_rows}

    times = _times(snaps)
    timed = bool(snaps) and all(s.timestamp is not None for s in snaps)
    picked = [r for r in trend_rows if r.verdict in SUSPECT_VERDICTS][: opts.max_suspects]
    suspects = [_suspect(r, *_series_of(trend, snaps, times, r.tag, r.pool)) for r in picked]

    diff_rows: list[Any] = []
    before = after = None
    if len(snaps) >= 2:
        d = diff_snapshots(snaps[0], snaps[-1])
        diff_rows = [r for r in d.rows if r.status not in ("same", "churn")]
        diff_rows.sort(key=lambda r: (-abs(r.bytes_change or 0), r.tag, r.pool))
        before, after = snaps[0].label, snaps[-1].label
        annotate_rows(resolver, diff_rows)
        for r in diff_rows:
            owners.setdefault((r.tag, r.pool), r.owner)
    if opts.progress:
        opts.progress("analyse", 2, 3, "summarising")

    start = snaps[0].timestamp if snaps else None
    end = snaps[-1].timestamp if snaps else None
    report = Report(
        inputs=[InputRead(s.name, _format_of(result, s), s.encoding, s.snapshots) for s in result.sources],
        snapshot_count=len(snaps),
        start=start,
        end=end,
        timed=timed,
        warnings=warnings,
        level="",
        verdict="",
        suspects=suspects,
        trend_rows=trend_rows,
        totals=_pool_totals(snaps, times),
        diff_rows=diff_rows,
        diff_before=before,
        diff_after=after,
        next_steps=[],
        owners=owners,
    )
    report.largest = annotate_rows(resolver, _largest(snaps[-1])) if snaps else []
    report.notes = notes
    report.extra["pool_totals"] = list(trend.pool_totals) if trend is not None else []
    # Every aligned series, for the HTML report's charts (not part of the JSON shape).
    report.extra["series_set"] = trend.data if trend is not None else None
    report.level, report.verdict = _verdict(report)
    report.next_steps = _next_steps(report, resolver)
    _crash_triage(report, result)
    if opts.progress:
        opts.progress("analyse", 3, 3, "done")
    return report


# -- pieces --------------------------------------------------------------------------


def _filtered(snap: Snapshot, tag_filter: Any) -> Snapshot:
    from dataclasses import replace

    mask = tag_filter.mask(snap.rows)
    return replace(snap, rows=snap.rows.take(np.flatnonzero(mask)))


def _format_of(result: ParseResult, source: Any) -> str:
    """The format name the snapshots of ``source`` carry (``poolsnap`` for ``poolmon /n`` files), as
    ``parse`` prints it; the reader's family name when they disagree or there are none."""
    names = {s.format for s in result.snapshots if s.source == source.name}
    return names.pop() if len(names) == 1 else source.format


def _times(snaps: Sequence[Snapshot]) -> list[datetime | int]:
    if snaps and all(s.timestamp is not None for s in snaps):
        return [s.timestamp for s in snaps]  # type: ignore[misc]
    return list(range(1, len(snaps) + 1))


def _bytes_series(snaps: Sequence[Snapshot], tag: str, pool: str) -> list[float | None]:
    out: list[float | None] = []
    for s in snaps:
        i = s.rows.index_of(tag, pool)
        if i is None:
            out.append(None)
            continue
        v = int(s.rows.column("bytes")[i])
        out.append(None if v == MISSING else float(v))
    return out


def _series_of(
    trend: Any, snaps: Sequence[Snapshot], times: list[datetime | int], tag: str, pool: str
) -> tuple[list[datetime | int], list[float | None]]:
    """Bytes of one (tag, pool) over time: from the trend's aligned matrix, else read from the snapshots."""
    try:
        t, v = trend.series(tag, pool)
    except (KeyError, AttributeError):
        return times, _bytes_series(snaps, tag, pool)
    values = [float(x) if np.isfinite(x) else None for x in np.asarray(v, dtype=float)]
    if len(t) and all(isinstance(x, datetime) for x in t):
        return list(t), values
    return list(range(1, len(values) + 1)), values


def _suspect(row: Any, times: list[datetime | int], values: list[float | None]) -> Suspect:
    known = [(t, v) for t, v in zip(times, values, strict=True) if v is not None]
    first = known[0] if known else None
    last = known[-1] if known else None
    return Suspect(
        tag=row.tag,
        pool=row.pool,
        owner=row.owner,
        owner_candidates=list(row.owner_candidates),
        verdict=row.verdict,
        reason=row.reason,
        rate_bytes_per_hour=_f(row.rate_bytes_per_hour),
        rate_low=_f(getattr(row, "rate_low", None)),
        rate_high=_f(getattr(row, "rate_high", None)),
        bytes_first=int(first[1]) if first else None,
        bytes_last=int(last[1]) if last else None,
        start=first[0] if first and isinstance(first[0], datetime) else None,
        end=last[0] if last and isinstance(last[0], datetime) else None,
        n_points=int(getattr(row, "n_points", len(known))),
        onset=getattr(row, "onset", None),
        exhaustion=getattr(row, "exhaustion", None),
        allocs_per_hour=_f(getattr(row, "allocs_per_hour", None)),
        freed_ratio=_f(getattr(row, "freed_ratio", None)),
        series=Series(list(times), values),
    )


def _f(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if np.isnan(v) else v


def _pool_totals(snaps: Sequence[Snapshot], times: list[datetime | int]) -> list[PoolTotal]:
    out = []
    for code, pool in enumerate(POOLS):
        key = f"{pool}_kb"
        if snaps and any(key in s.totals for s in snaps):
            values: list[float | None] = [float(s.totals[key]) if key in s.totals else None for s in snaps]
            out.append(PoolTotal(pool, "header", Series(list(times), values)))
            continue
        values = []
        seen = False
        for s in snaps:
            sel = (s.rows.pool_codes == code) & (s.rows.column("bytes") != MISSING)
            if sel.any():
                seen = True
                values.append(float(s.rows.column("bytes")[sel].sum()) / 1024.0)
            else:
                values.append(None)
        if seen:
            out.append(PoolTotal(pool, "sum of tags", Series(list(times), values)))
    return out


def _largest(snap: Snapshot, n: int = 10) -> list[LargestTag]:
    col = snap.rows.column("bytes")
    order = [i for i in np.argsort(-col, kind="stable") if col[i] != MISSING][:n]
    out = []
    for i in order:
        row = snap.rows.row(int(i))
        out.append(LargestTag(row.tag, row.pool, row.bytes, row.outstanding))
    return out


def rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{format_size(rate, signed=True)}/h"


def _span_text(report: Report) -> str:
    span = report.span_seconds
    if span is None:
        return f"{report.snapshot_count} snapshots"
    return f"{format_duration(timedelta(seconds=span))} ({report.snapshot_count} snapshots)"


def _who(s: Suspect, linux: bool = False) -> str:
    where = "slab cache" if linux else s.pool
    return f"{s.tag.rstrip()} ({where}{', ' + s.owner if s.owner else ''})"


#: Triage categories that explain a crash by pool: the report leads with them.
_CRASH_CATEGORIES = ("exhaustion", "corruption", "leak-at-unload", "session-leak")


def _crash_triage(report: Report, result: ParseResult) -> None:
    """A crash transcript's report leads with its triage, not with advice to capture for hours.

    Only debugger logs named by path are re-read for it (a zip member or stdin keeps the plain report).
    """
    from analyzer.analysis.triage import triage_transcript
    from parsers.transcript import read_transcript

    for info in result.sources:
        if info.format != "transcript" or not os.path.isfile(info.name):
            continue
        try:
            case = triage_transcript(read_transcript(info.name))
        except (OSError, ValueError):
            continue
        if case.category not in _CRASH_CATEGORIES:
            continue
        report.extra["triage"] = case.to_dict()
        report.level = "triage"
        report.verdict = f"Debugger-log triage of {info.name} ({case.category}): {case.summary}."
        report.next_steps = [_triage_step(c) for c in case.next_commands]
        return


def _triage_step(line: str) -> NextStep:
    """A triage next command (``cmd   (why)``) as a report step."""
    command, _, why = line.partition("   (")
    why = why.rstrip(")").strip()
    where = "windows" if command.startswith(("verifier", "reg ")) else "windbg"
    if why:
        text = why[0].upper() + why[1:] + "."
    else:
        text = "Run it in the debugger." if where == "windbg" else "Run it on the machine."
    if not command.startswith(("!", "verifier", "reg ", "dt ", "lm", ".")):
        return NextStep(line[0].upper() + line[1:] + ".", None, "windows")  # advice, not a command
    return NextStep(text, command.strip(), where)


def _verdict(report: Report) -> tuple[str, str]:
    """The one sentence a reader sees first, and its level."""
    if report.snapshot_count == 0:
        return "insufficient-data", "No snapshots were read, so nothing can be said about leaks."
    if report.snapshot_count == 1:
        return (
            "insufficient-data",
            "Only one snapshot was read: a leak shows as growth over time, so capture again later and "
            "compare; the largest consumers are listed.",
        )
    leaks = [s for s in report.suspects if s.verdict == "leak"]
    suspects = [s for s in report.suspects if s.verdict == "suspect"]
    span = _span_text(report)
    if leaks:
        top = leaks[0]
        more = len(leaks) - 1
        tail = f"; {more} more tag{'s also leak' if more != 1 else ' also leaks'}" if more else ""
        if suspects:
            tail += f", {len(suspects)} more {'looks' if len(suspects) == 1 else 'look'} suspicious"
        return (
            "leak",
            f"Likely leak: {_who(top, is_linux(report))} grew steadily at "
            f"{rate_text(top.rate_bytes_per_hour)} over {span}{tail}.",
        )
    if suspects:
        top = suspects[0]
        more = len(suspects) - 1
        tail = f" and {more} more tag{'s' if more != 1 else ''}" if more else ""
        return (
            "suspect",
            f"No certain leak, but {_who(top, is_linux(report))}{tail} grew over {span} "
            f"({rate_text(top.rate_bytes_per_hour)}); a longer capture would settle it.",
        )
    rows = report.trend_rows
    pool_totals = report.extra.get("pool_totals") or []
    if not rows and pool_totals:
        # Totals alone (performance counters): say whether a pool grows, and what to capture next.
        growing = [t for t in pool_totals if t["verdict"] == "grows"]
        if growing:
            t = growing[0]
            return (
                "suspect",
                f"The {t['pool']} pool grew steadily at {rate_text(t['rate_bytes_per_hour'])} over {span} "
                "(pool totals only, no per-tag data): capture PoolMon or poolscope snapshots to find the tag.",
            )
        if all(t["verdict"] == "insufficient-data" for t in pool_totals):
            return "insufficient-data", f"Too few pool-total readings over {span} to judge; capture for longer."
        return "clean", f"No pool grew steadily over {span} (pool totals only, no per-tag data)."
    if rows and all(r.verdict == "insufficient-data" for r in rows):
        grown = [r for r in report.diff_rows if (r.bytes_change or 0) > 0]
        hint = ""
        if grown:
            biggest = grown[0]
            hint = (
                f"; the largest growth from first to last was {biggest.tag.rstrip()} ({biggest.pool}, "
                f"{format_size(biggest.bytes_change or 0, signed=True)})"
            )
        return (
            "insufficient-data",
            f"Too few snapshots over {span} to judge any tag{hint}; capture for longer.",
        )
    return "clean", f"No leak found: no tag grew steadily over {span}."


def _tag_dword(tag: str) -> str:
    """The tag as the 32-bit number the kernel compares (little-endian bytes), for ``ed``."""
    from parsers.pooltag import pad_tag

    raw = pad_tag(tag).encode("latin-1", "replace")[:4]
    return f"0x{int.from_bytes(raw, 'little'):08x}"


def _findstr_arg(tag: str) -> str:
    """``findstr``'s literal search string; a tag with spaces needs ``/c:"..."`` to stay one string."""
    body = tag.rstrip()
    return f'/c:"{tag}"' if " " in body or len(body) < 4 else body


def _inputs_arg(report: Report) -> str:
    """The inputs as they would be typed again, or a placeholder when they do not fit a line."""
    names = [i.name for i in report.inputs]
    if not names or len(names) > 3 or any(" " in n or "!" in n or n == "<stdin>" for n in names):
        return "INPUT..."
    return " ".join(names)


def _arg(tag: str) -> str:
    """A tag as one command-line argument (PoolMon tags may hold spaces: ``"Dh 2"``)."""
    return f'"{tag}"' if " " in tag.rstrip(" ") or not tag.strip() else tag.rstrip(" ")


def _binary(resolver: Any, tag: str) -> str | None:
    for c in resolver.candidates(tag):
        b = (getattr(c, "binary", None) or "").strip()
        if b and not b.startswith("<") and b.lower().endswith((".sys", ".dll", ".exe")):
            return b
    return None


def is_linux(report: Report) -> bool:
    """Slab caches, not Windows pools: the next steps are Linux tools."""
    return bool(report.inputs) and all(i.format == "slabinfo" for i in report.inputs)


def _linux_steps(report: Report) -> list[NextStep]:
    steps = []
    for s in report.suspects[:3]:
        cache = s.tag.strip()
        steps.append(
            NextStep(
                f"Record who allocates from {cache}: boot with slub_debug=U,{cache} (SLUB allocator), "
                "reproduce, then read the allocation call sites.",
                f"sort -rn /sys/kernel/slab/{cache}/alloc_calls | head",
                "linux",
            )
        )
    if report.suspects:
        steps.append(
            NextStep(
                "On a kernel built with CONFIG_DEBUG_KMEMLEAK, ask kmemleak for unreferenced objects and "
                "their allocation backtraces.",
                "echo scan > /sys/kernel/debug/kmemleak && cat /sys/kernel/debug/kmemleak",
                "linux",
            )
        )
    return steps


def _next_steps(report: Report, resolver: Any) -> list[NextStep]:
    steps: list[NextStep] = []
    if report.snapshot_count and not report.timed:
        steps.append(
            NextStep(
                "The snapshots carry no timestamps, so rates are per snapshot; give the capture interval "
                "to get rates per hour.",
                f"poolscope report {_inputs_arg(report)} --interval 5m",
                "poolscope",
            )
        )
    machine = "linux" if is_linux(report) else "windows"
    if machine == "linux":
        steps.extend(_linux_steps(report))
    for s in [] if is_linux(report) else report.suspects[:3]:
        tag = s.tag.rstrip()
        binary = _binary(resolver, s.tag)
        if binary is None:
            steps.append(
                NextStep(
                    f"Find which driver uses tag {tag}: scan the driver binaries for it.",
                    f"poolscope tags scan C:\\Windows\\System32\\drivers --tag {_arg(s.tag)}",
                    "poolscope",
                )
            )
        if binary is None:
            steps.append(
                NextStep(
                    f"Or, on the machine itself, list the drivers whose files contain the bytes {tag} (a quick "
                    "first look: a match is a candidate, not proof).",
                    f"findstr /m /l {_findstr_arg(s.tag)} %SystemRoot%\\System32\\drivers\\*.sys",
                    "windows",
                )
            )
        pool_type = 0 if s.pool == "nonpaged" else 1
        steps.append(
            NextStep(
                f"List live {tag} allocations in a kernel debugger, then look at a few with !pool <address> "
                "to see what they hold.",
                f"!poolfind {tag} {pool_type}",
                "windbg",
            )
        )
        steps.append(
            NextStep(
                f"Catch the code that allocates {tag}: set PoolHitTag to the tag's four bytes as the kernel stores "
                "them, and the kernel breaks into the attached debugger on each allocation and free with that "
                "tag (look at the stack with k; set it back to 0 when done).",
                f"ed nt!PoolHitTag {_tag_dword(s.tag)}",
                "windbg",
            )
        )
        steps.append(
            NextStep(
                f"Or record every {tag} allocation and free with its call stack using the Windows Performance "
                "Toolkit: start it elevated, reproduce, stop with xperf -d pool.etl, then open pool.etl in WPA "
                "and group the pool graph by stack.",
                f"xperf -on PROC_THREAD+LOADER+POOL -stackwalk PoolAlloc+PoolFree -PoolTag {_arg(s.tag)} "
                "-BufferSize 1024 -MinBuffers 256 -MaxBuffers 1024",
                "windows",
            )
        )
        if binary:
            steps.append(
                NextStep(
                    f"Turn on Driver Verifier pool tracking for {binary} (reboot needed), reproduce, then list "
                    "its outstanding allocations with !verifier 3 " + binary + ".",
                    f"verifier /flags 0x8 /driver {binary}",
                    "windows",
                )
            )
    if report.level == "suspect" and not report.trend_rows and report.extra.get("pool_totals"):
        steps.append(
            NextStep(
                "Pool totals grow but say nothing of who allocates: capture per-tag snapshots on the same machine.",
                "poolscope capture --interval 5m --duration 6h -o pool-capture.log",
                "poolscope",
            )
        )
        return steps
    if report.level in ("leak", "suspect"):
        names = [s.tag.rstrip() for s in report.suspects[:3]]
        they = f"{names[0]} falls back" if len(names) == 1 else f"{', '.join(names)} fall back"
        steps.append(
            NextStep(
                f"Stop the load and keep capturing for a few hours: if {they}, it was a cache filling up, not a leak.",
                None,
                machine,
            )
        )
    span = report.span_seconds
    if report.level in ("suspect", "insufficient-data") or (span is not None and span < SHORT_CAPTURE.total_seconds()):
        steps.append(
            NextStep(
                "Capture for longer (several hours, one snapshot every few minutes) so growth can be told from noise.",
                "poolscope capture --interval 5m --duration 6h -o pool-capture.log",
                "poolscope",
            )
        )
    if report.level == "clean" and machine == "linux":
        steps.append(
            NextStep(
                "If memory still runs out, capture /proc/slabinfo and /proc/meminfo (Slab, SUnreclaim) while "
                "the problem builds up.",
                None,
                machine,
            )
        )
    elif report.level == "clean":
        steps.append(
            NextStep(
                "If the machine still runs out of pool, capture while the problem builds up, including "
                "session pools (poolmon /s) and a !vm 1 in the debugger.",
                None,
                machine,
            )
        )
    return steps
