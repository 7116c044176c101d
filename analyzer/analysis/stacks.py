"""Which call stacks leak: allocations still outstanding at the end of a trace, by (tag, stack).

A tag total says *that* a driver leaks; the stack of each allocation never freed says
*where*.  Rows are grouped by (tag, pool, stack), ranked by bytes still outstanding, with
those bytes sampled over the trace so a steady climb stands apart from a burst near the end.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from parsers.etw import DEFAULT_POINTS, Lifetimes, PoolTrace, pair_events
from parsers.etw.lifetimes import ALIVE, counts_over_time, sample_times
from parsers.etw.trace import NO_SESSION, tag_text
from parsers.model import POOLS


@dataclass(frozen=True)
class StacksOptions:
    """What to show: how many stacks per tag, which tags, how many time samples."""

    top: int = 5  # stacks per tag
    max_tags: int | None = 20  # tags, largest outstanding bytes first (None: all)
    tags: tuple[str, ...] = ()  # PoolMon-style patterns (case-sensitive, * and ?)
    points: int = DEFAULT_POINTS
    frames: int | None = None  # frames kept per stack (None: all)


@dataclass
class StackRow:
    """One (tag, pool, stack) with allocations still outstanding at the end of the trace."""

    tag: str
    pool: str
    rank: int  # 1 = the largest of its tag
    stack: tuple[str, ...]  # innermost frame first; () when the trace has no stack for it
    outstanding: int
    bytes: int
    allocs: int  # allocations seen from this stack during the trace
    frees: int  # of those, how many ended (freed, or replaced at a reused address)
    share: float  # of the tag's outstanding bytes
    first_outstanding: datetime | int | None  # time of the oldest allocation still outstanding
    last_outstanding: datetime | int | None
    bytes_over_time: list[int] = field(default_factory=list)
    session: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag, "pool": self.pool, "session": self.session, "rank": self.rank,
            "stack": list(self.stack), "outstanding": self.outstanding, "bytes": self.bytes,
            "allocs": self.allocs, "frees": self.frees, "share": round(self.share, 4),
            "first_outstanding": _iso(self.first_outstanding), "last_outstanding": _iso(self.last_outstanding),
            "bytes_over_time": list(self.bytes_over_time),
        }


@dataclass
class TagTotal:
    """A tag's totals across all its stacks."""

    tag: str
    pool: str
    outstanding: int
    bytes: int
    allocs: int
    frees: int
    stacks: int  # distinct stacks with outstanding allocations
    session: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "pool": self.pool, "session": self.session, "outstanding": self.outstanding,
                "bytes": self.bytes, "allocs": self.allocs, "frees": self.frees, "stacks": self.stacks}


@dataclass
class StacksResult:
    """The leaking stacks of one trace, with the facts needed to judge them."""

    source: str
    trace: dict[str, Any]  # TraceInfo.to_dict()
    tags: list[TagTotal]
    rows: list[StackRow]
    times: list[datetime | int]  # sample times of bytes_over_time
    pool_events: int
    allocations: int
    frees_before_trace: int
    frees_before_trace_bytes: int
    replaced: int
    events_without_stack: int
    warnings: list[Any] = field(default_factory=list)  # ParseWarning: what the reader could not use

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "trace": self.trace,
            "pool_events": self.pool_events,
            "allocations": self.allocations,
            "frees_before_trace": self.frees_before_trace,
            "frees_before_trace_bytes": self.frees_before_trace_bytes,
            "replaced_allocations": self.replaced,
            "allocations_without_stack": self.events_without_stack,
            "times": [_iso(t) for t in self.times],
            "tags": [t.to_dict() for t in self.tags],
            "stacks": [r.to_dict() for r in self.rows],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _iso(value: datetime | int | None) -> str | int | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _matches(tag: str, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return True
    bare = tag.rstrip()
    return any(fnmatch.fnmatchcase(tag, p) or fnmatch.fnmatchcase(bare, p) for p in patterns)


def analyze_stacks(
    trace: PoolTrace, options: StacksOptions | None = None, life: Lifetimes | None = None
) -> StacksResult:
    """Outstanding allocations grouped by (tag, pool, session, stack), largest first within each tag."""
    opts = options or StacksOptions()
    life = life if life is not None else pair_events(trace)
    times = sample_times(trace, opts.points)
    alive = life.end_kind == ALIVE
    shown_times: list[datetime | int] = [trace.time_of(t) or int(t) for t in times.tolist()]

    # Level 1: (tag, pool, session); level 2: stack within it.
    session_rank, session_of = np.unique(life.session, return_inverse=True)
    tp_key = (life.tag.astype(np.int64) * 2 + life.pool) * len(session_rank) + session_of
    tp_values, tp = np.unique(tp_key, return_inverse=True)
    n_stacks = len(trace.stacks) + 1
    key = tp.astype(np.int64) * n_stacks + (life.stack.astype(np.int64) + 1)
    groups, group = np.unique(key, return_inverse=True)
    g_allocs = np.bincount(group, minlength=len(groups))
    g_ended = np.bincount(group, weights=~alive, minlength=len(groups)).astype(np.int64)
    g_out = np.bincount(group, weights=alive, minlength=len(groups)).astype(np.int64)
    g_bytes = np.rint(np.bincount(group, weights=np.where(alive, life.size, 0), minlength=len(groups))).astype(np.int64)

    def describe(tp_index: int) -> tuple[str, str, int | None]:
        value = int(tp_values[tp_index])
        session = int(session_rank[value % len(session_rank)])
        tag_pool = value // len(session_rank)
        return tag_text(tag_pool >> 1), POOLS[tag_pool & 1], None if session == NO_SESSION else session

    g_tp = (groups // n_stacks).astype(np.int64)
    t_out = np.bincount(g_tp, weights=g_out, minlength=len(tp_values)).astype(np.int64)
    t_bytes = np.bincount(g_tp, weights=g_bytes, minlength=len(tp_values)).astype(np.int64)
    t_allocs = np.bincount(g_tp, weights=g_allocs, minlength=len(tp_values)).astype(np.int64)
    t_ended = np.bincount(g_tp, weights=g_ended, minlength=len(tp_values)).astype(np.int64)
    t_stacks = np.bincount(g_tp, weights=g_out > 0, minlength=len(tp_values)).astype(np.int64)

    tag_order = [i for i in np.lexsort((-t_out, -t_bytes)).tolist() if t_out[i] > 0]
    tag_order = [i for i in tag_order if _matches(describe(i)[0], opts.tags)]
    if opts.max_tags is not None:
        tag_order = tag_order[: opts.max_tags]

    chosen: list[int] = []
    for i in tag_order:
        members = np.flatnonzero((g_tp == i) & (g_out > 0))
        members = members[np.lexsort((-g_out[members], -g_bytes[members]))][: opts.top]
        chosen.extend(members.tolist())

    # Bytes over time, only for the chosen groups (outstanding-at-end allocations and all others alike).
    series = np.zeros((len(chosen), len(times)), dtype=np.int64)
    first = np.full(len(chosen), np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(len(chosen), np.iinfo(np.int64).min, dtype=np.int64)
    if chosen and len(times):
        slot = np.full(len(groups), -1, dtype=np.int64)
        slot[chosen] = np.arange(len(chosen))
        member = slot[group] >= 0
        _, _, series = counts_over_time(slot[group][member], len(chosen), _subset(life, member), times)
        alive_member = member & alive
        np.minimum.at(first, slot[group][alive_member], life.start[alive_member])
        np.maximum.at(last, slot[group][alive_member], life.start[alive_member])

    rows: list[StackRow] = []
    rank_in_tag: dict[int, int] = {}
    for slot_index, g in enumerate(chosen):
        tpi = int(g_tp[g])
        tag, pool, session = describe(tpi)
        rank_in_tag[tpi] = rank_in_tag.get(tpi, 0) + 1
        stack_id = int(groups[g] % n_stacks) - 1
        frames = trace.stacks[stack_id] if stack_id >= 0 else ()
        if opts.frames is not None:
            frames = frames[: opts.frames]
        rows.append(StackRow(
            tag=tag, pool=pool, session=session, rank=rank_in_tag[tpi], stack=tuple(frames),
            outstanding=int(g_out[g]), bytes=int(g_bytes[g]), allocs=int(g_allocs[g]), frees=int(g_ended[g]),
            share=float(g_bytes[g]) / float(t_bytes[tpi]) if t_bytes[tpi] else 0.0,
            first_outstanding=_when(trace, int(first[slot_index])),
            last_outstanding=_when(trace, int(last[slot_index])),
            bytes_over_time=series[slot_index].tolist(),
        ))
    tags = []
    for i in tag_order:
        tag, pool, session = describe(i)
        tags.append(TagTotal(tag=tag, pool=pool, session=session, outstanding=int(t_out[i]), bytes=int(t_bytes[i]),
                             allocs=int(t_allocs[i]), frees=int(t_ended[i]), stacks=int(t_stacks[i])))
    return StacksResult(
        source=trace.info.source, trace=trace.info.to_dict(), tags=tags, rows=rows, times=shown_times,
        pool_events=len(trace.events), allocations=len(life), frees_before_trace=life.frees_before_trace,
        frees_before_trace_bytes=life.frees_before_trace_bytes, replaced=life.replaced,
        events_without_stack=int((life.stack < 0).sum()),
    )


def _when(trace: PoolTrace, value: int | None) -> datetime | int | None:
    if value is None:
        return None
    return trace.time_of(value) or int(value)


def _subset(life: Lifetimes, mask: np.ndarray) -> Lifetimes:
    return Lifetimes(
        start=life.start[mask], end=life.end[mask], end_kind=life.end_kind[mask], tag=life.tag[mask],
        pool=life.pool[mask], size=life.size[mask], session=life.session[mask], stack=life.stack[mask],
        address=life.address[mask], frees_before_trace=0, frees_before_trace_bytes=0,
    )
