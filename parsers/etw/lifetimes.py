"""Outstanding-allocation accounting: pair frees with allocations, then snapshots over time.

Pairing is by (session, address): a free ends the latest earlier allocation at its address.
Three real-trace cases are kept apart instead of being miscounted:

- a free with no allocation before it (the block was allocated before the trace started,
  or its allocation event was lost) is counted as *freed before trace* and changes no tag;
- a second allocation at an address still held means the free between them was lost:
  the earlier allocation is *replaced* (ended at that moment), since one address cannot hold
  two live blocks;
- an allocation with no later event at its address is *outstanding* at the end.

This lives with the readers because turning events into the snapshot model is what the
parser layer does; the (tag, stack) view is :mod:`analyzer.analysis.stacks`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import RowTable, Snapshot, TimeOrigin
from .trace import ALLOC, FREE, NO_SESSION, PoolTrace, tag_text

ALIVE = 0
FREED = 1
REPLACED = 2
#: End time of an allocation still outstanding when the trace ends.
NEVER = int(np.iinfo(np.int64).max)

#: How many snapshots a trace becomes (equally spaced from its first to its last event).
DEFAULT_POINTS = 24


@dataclass
class Lifetimes:
    """One entry per allocation seen in the trace, with when and how it ended."""

    start: np.ndarray  # int64 time of the allocation
    end: np.ndarray  # int64 time it ended, NEVER while outstanding
    end_kind: np.ndarray  # uint8 ALIVE, FREED or REPLACED
    tag: np.ndarray  # uint32
    pool: np.ndarray  # uint8
    size: np.ndarray  # int64
    session: np.ndarray  # int64
    stack: np.ndarray  # int32
    address: np.ndarray  # uint64
    frees_before_trace: int  # frees with no allocation in the trace
    frees_before_trace_bytes: int  # the sizes those frees carry, where they carry one

    def __len__(self) -> int:
        return len(self.start)

    @property
    def outstanding(self) -> np.ndarray:
        return self.end_kind == ALIVE

    @property
    def replaced(self) -> int:
        return int((self.end_kind == REPLACED).sum())


def pair_events(trace: PoolTrace) -> Lifetimes:
    """Pair every free with the allocation it ends (see the module docstring for the rules)."""
    ev = trace.events
    n = len(ev)
    order = np.lexsort((np.arange(n), ev.time, ev.address, ev.session))
    kind = ev.kind[order]
    time = ev.time[order]
    same_next = np.zeros(n, dtype=bool)
    if n > 1:
        same_next[:-1] = (ev.address[order][1:] == ev.address[order][:-1]) & (
            ev.session[order][1:] == ev.session[order][:-1]
        )
    same_prev = np.zeros(n, dtype=bool)
    same_prev[1:] = same_next[:-1]

    at = np.flatnonzero(kind == ALLOC)
    following = np.minimum(at + 1, max(n - 1, 0))
    ended = same_next[at]
    end = np.where(ended, time[following], NEVER)
    end_kind = np.where(~ended, ALIVE, np.where(kind[following] == FREE, FREED, REPLACED)).astype(np.uint8)

    previous_kind = np.empty(n, dtype=np.uint8)
    if n:
        previous_kind[0] = FREE
        previous_kind[1:] = kind[:-1]
    orphan = (kind == FREE) & (~same_prev | (previous_kind == FREE))
    orphan_sizes = ev.size[order][orphan]
    src = order[at]
    return Lifetimes(
        start=time[at],
        end=end.astype(np.int64),
        end_kind=end_kind,
        tag=ev.tag[src],
        pool=ev.pool[src],
        size=np.maximum(ev.size[src], 0),
        session=ev.session[src],
        stack=ev.stack[src],
        address=ev.address[src],
        frees_before_trace=int(orphan.sum()),
        frees_before_trace_bytes=int(orphan_sizes[orphan_sizes > 0].sum()),
    )


def sample_times(trace: PoolTrace, points: int = DEFAULT_POINTS) -> np.ndarray:
    """Snapshot times: ``points`` equal steps from the first event to the last (int64, event clock)."""
    if not len(trace.events):
        return np.zeros(0, dtype=np.int64)
    first, last = int(trace.events.time.min()), int(trace.events.time.max())
    if last == first:
        return np.array([last], dtype=np.int64)
    steps = np.arange(1, points + 1, dtype=np.float64) / points
    times = first + np.round(steps * (last - first)).astype(np.int64)
    times[-1] = last
    return np.unique(times)


def counts_over_time(
    group: np.ndarray, groups: int, life: Lifetimes, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group and sample time: allocations so far, those ended so far, and bytes outstanding.

    Each is a (groups, len(times)) int64 array; an allocation counts from the first sample
    at or after it, its end from the first sample at or after the end.
    """
    k = len(times)
    born = np.searchsorted(times, life.start, side="left")
    died = np.searchsorted(times, np.minimum(life.end, times[-1] + 1 if k else 0), side="left")
    shape = (groups, k + 1)
    allocs = np.bincount(group * (k + 1) + born, minlength=groups * (k + 1)).reshape(shape)
    frees = np.bincount(group * (k + 1) + died, minlength=groups * (k + 1)).reshape(shape)
    plus = np.bincount(group * (k + 1) + born, weights=life.size, minlength=groups * (k + 1)).reshape(shape)
    minus = np.bincount(group * (k + 1) + died, weights=life.size, minlength=groups * (k + 1)).reshape(shape)
    allocs = np.cumsum(allocs, axis=1)[:, :k]
    frees = np.cumsum(frees, axis=1)[:, :k]
    live_bytes = (np.cumsum(plus, axis=1) - np.cumsum(minus, axis=1))[:, :k]
    return allocs.astype(np.int64), frees.astype(np.int64), np.rint(live_bytes).astype(np.int64)


def trace_snapshots(trace: PoolTrace, life: Lifetimes | None = None, points: int = DEFAULT_POINTS) -> list[Snapshot]:
    """The trace as PoolMon-like snapshots: per (tag, pool) allocations, frees, outstanding and bytes.

    Counts cover what the trace saw (allocations made before it started are not in them);
    one series of snapshots per scope (system pool, each session's pool).
    """
    life = life or pair_events(trace)
    times = sample_times(trace, points)
    if not len(times) or not len(life):
        return []
    info = trace.info
    scopes = np.unique(life.session)
    snapshots: list[Snapshot] = []
    for scope_session in scopes.tolist():
        mask = life.session == scope_session
        sub = _select(life, mask)
        keys, group = np.unique(sub.tag.astype(np.int64) * 2 + sub.pool, return_inverse=True)
        allocs, frees, live_bytes = counts_over_time(group, len(keys), sub, times)
        tags = [tag_text(int(k) >> 1) for k in keys.tolist()]
        pools = (keys & 1).astype(np.uint8)
        scope = "system" if scope_session == NO_SESSION else f"session:{scope_session}"
        for i, t in enumerate(times.tolist()):
            seen = allocs[:, i] > 0
            idx = np.flatnonzero(seen)
            rows = RowTable.from_columns(
                [tags[j] for j in idx.tolist()], pools[idx],
                allocs=allocs[idx, i], frees=frees[idx, i], outstanding=allocs[idx, i] - frees[idx, i],
                bytes=live_bytes[idx, i],
            )
            stamp = trace.time_of(t)
            snapshots.append(Snapshot(
                source=info.source, index=len(snapshots), format=info.format, rows=rows, timestamp=stamp,
                time_origin=TimeOrigin.SOURCE if stamp else TimeOrigin.UNKNOWN, scope=scope,
                extra={"trace_time": t, "frees_before_trace": life.frees_before_trace,
                       "replaced_allocations": life.replaced},
            ))
    return snapshots


def _select(life: Lifetimes, mask: np.ndarray) -> Lifetimes:
    return Lifetimes(
        start=life.start[mask], end=life.end[mask], end_kind=life.end_kind[mask], tag=life.tag[mask],
        pool=life.pool[mask], size=life.size[mask], session=life.session[mask], stack=life.stack[mask],
        address=life.address[mask], frees_before_trace=life.frees_before_trace,
        frees_before_trace_bytes=life.frees_before_trace_bytes,
    )
