"""Renderers for ``poolscope stacks``: the leaking call stacks of a trace as text, JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from analyzer.analysis.stacks import StacksResult
from analyzer.render.safe import csv_cell, terminal_text
from analyzer.render.tables import render_json
from analyzer.units import format_size


def _when(value: Any, tick_seconds: float | None = None) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if value is None:
        return "-"
    return f"{value * tick_seconds:,.1f} s into the trace" if tick_seconds else f"clock tick {value}"


def _clock(trace: dict[str, Any]) -> str:
    parts = []
    if trace.get("pointer_size"):
        parts.append(f"{trace['pointer_size'] * 8}-bit")
    if trace.get("clock"):
        freq = trace.get("clock_frequency")
        parts.append(f"{trace['clock']} clock" + (f" at {freq:,} Hz" if freq else ""))
    if trace.get("timer_resolution_100ns"):
        parts.append(f"timer resolution {trace['timer_resolution_100ns'] / 10_000:g} ms")
    if trace.get("events_lost"):
        parts.append(f"{trace['events_lost']:,} events lost while recording")
    return ", ".join(parts)


def render_stacks_text(result: StacksResult, frames: int = 12) -> str:
    """Per tag (largest outstanding bytes first), its top stacks with bytes over time."""
    out = io.StringIO()
    outstanding = sum(t.outstanding for t in result.tags)
    total = sum(t.bytes for t in result.tags)
    plural = "s" if len(result.tags) != 1 else ""
    out.write(f"{terminal_text(result.source)}: {result.pool_events:,} pool events, "
              f"{result.allocations:,} allocations; "
              f"{outstanding:,} outstanding ({total:,} bytes) in {len(result.tags)} tag{plural} shown\n")
    trace = result.trace
    tick = trace.get("tick_seconds")
    span = f"{_when(result.times[0], tick)} to {_when(result.times[-1], tick)}" if result.times else "no events"
    clock = _clock(trace)
    out.write(f"trace: {span}" + (f"; {clock}" if clock else "") + "\n")
    notes = []
    if result.frees_before_trace:
        notes.append(f"{result.frees_before_trace:,} frees of allocations made before the trace started (not counted)")
    if result.replaced:
        notes.append(f"{result.replaced:,} allocations replaced at a reused address (their free was not recorded)")
    if result.events_without_stack:
        notes.append(f"{result.events_without_stack:,} allocations without a stack")
    for note in notes:
        out.write(f"note: {note}\n")
    if not result.tags:
        out.write("\nno allocations outstanding at the end of the trace\n")
        return out.getvalue()
    by_tag: dict[tuple[str, str, int | None], list[Any]] = {}
    for row in result.rows:
        by_tag.setdefault((row.tag, row.pool, row.session), []).append(row)
    for tag in result.tags:
        scope = f" session {tag.session}" if tag.session is not None else ""
        out.write(f"\n{terminal_text(tag.tag)} {tag.pool}{scope}: {tag.outstanding:,} outstanding, "
                  f"{tag.bytes:,} bytes ({format_size(tag.bytes)}) "
                  f"from {tag.stacks:,} stack{'s' if tag.stacks != 1 else ''} "
                  f"({tag.allocs:,} allocated, {tag.frees:,} ended during the trace)\n")
        for row in by_tag.get((tag.tag, tag.pool, tag.session), []):
            series = row.bytes_over_time
            growth = f"{format_size(series[0])} -> {format_size(series[-1])}" if series else ""
            out.write(f"  #{row.rank}  {row.bytes:,} bytes in {row.outstanding:,} allocations "
                      f"({row.share:.0%} of the tag), outstanding over time {growth}; "
                      f"oldest {_when(row.first_outstanding, tick)}, newest {_when(row.last_outstanding, tick)}\n")
            shown = row.stack[:frames] if frames else row.stack
            if not shown:
                out.write("      (no stack recorded)\n")
            for frame in shown:
                out.write(f"      {terminal_text(frame)}\n")
            if len(row.stack) > len(shown):
                out.write(f"      ... {len(row.stack) - len(shown)} more frames\n")
    return out.getvalue()


def render_stacks_json(result: StacksResult) -> str:
    return render_json(result.to_dict())


CSV_HEADER = ("tag", "pool", "session", "rank", "outstanding", "bytes", "allocs", "frees", "share",
              "first_outstanding", "last_outstanding", "stack")


def render_stacks_csv(result: StacksResult) -> str:
    """One line per (tag, stack); frames joined with `` <- `` (innermost first)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in result.rows:
        d = row.to_dict()
        writer.writerow([csv_cell(d["tag"]), d["pool"], d["session"], d["rank"], d["outstanding"], d["bytes"],
                         d["allocs"], d["frees"], d["share"], d["first_outstanding"], d["last_outstanding"],
                         csv_cell(" <- ".join(row.stack))])
    return buf.getvalue()
