"""Snapshots in, one aligned matrix per column out: times × (tag, pool) keys.

Every statistic of the trend analysis works on whole matrices at once, so this
module turns a list of :class:`~parsers.model.Snapshot` into float matrices
(``NaN`` where a tag is absent from a snapshot or the source does not carry the
value) and repairs what cumulative counters do over a long log:

* a **32-bit wrap**: Allocs or Frees drop by about 2**32 while the bytes in use
  carry on; the counter is unwrapped (2**32 added from there on);
* a **reset**: a reboot or a driver reload restarts the counters; the series is
  split there, and the stitched byte series (:attr:`SeriesSet.stitched`) drops
  the jump across the reset so that growth on both sides adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from parsers.model import MISSING, POOLS, Snapshot

WRAP = 2**32
#: Median spacing (seconds) below which timestamps are not used as a time axis.
MIN_INTERVAL = 0.1
#: Share of the series with counters that must restart together for a whole-log reboot.
REBOOT_SHARE = 0.5


@dataclass
class SeriesSet:
    """Aligned columns of many snapshots.

    ``values[name]`` is a ``(T, K)`` float array for each numeric column (after wrap
    repair for allocs/frees); ``resets`` is a ``(T, K)`` bool array, True at the first
    snapshot after a counter restart; ``wraps`` likewise for 32-bit wraps.
    """

    times: np.ndarray  # (T,) seconds since the first snapshot
    timestamps: list[datetime | None]
    timed: bool  # False when the snapshots carry no timestamps (times are snapshot numbers)
    tags: list[str]
    pool_codes: np.ndarray  # (K,) uint8
    values: dict[str, np.ndarray]
    resets: np.ndarray
    wraps: np.ndarray
    reboots: list[int] = field(default_factory=list)  # snapshot positions where most counters restarted
    totals: dict[str, np.ndarray] = field(default_factory=dict)  # header figures per snapshot (KB, NaN unknown)

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [(t, POOLS[c]) for t, c in zip(self.tags, self.pool_codes, strict=True)]

    def __len__(self) -> int:
        return len(self.tags)

    def index_of(self, tag: str, pool: str) -> int | None:
        code = POOLS.index(pool)
        for i, (t, c) in enumerate(zip(self.tags, self.pool_codes, strict=True)):
            if t == tag and c == code:
                return i
        return None

    @property
    def bytes(self) -> np.ndarray:
        return self.values["bytes"]

    def stitched(self, name: str = "bytes") -> np.ndarray:
        """``values[name]`` with the jump across each reset removed (the level carries on).

        Growth before and after a reboot then reads as one series; NaN gaps stay NaN.
        """
        return stitch(self.values[name], self.resets)


def stitch(values: np.ndarray, resets: np.ndarray) -> np.ndarray:
    """Remove the step at each reset: later values shifted so the reset interval changes by 0."""
    rows = np.flatnonzero(resets.any(axis=1))
    if not len(rows):
        return values
    filled = _ffill(values)
    # The level shift changes only at rows holding a reset: accumulate over those rows alone.
    prev = filled[np.maximum(rows - 1, 0)]
    jump = np.nan_to_num(np.where(resets[rows], values[rows] - prev, 0.0))
    steps = np.cumsum(jump, axis=0)
    out = values.copy()
    bounds = [*rows.tolist(), values.shape[0]]
    for k in range(len(rows)):
        out[bounds[k] : bounds[k + 1]] -= steps[k]
    return out


def _ffill(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaN down each column (leading NaN stay)."""
    mask = np.isnan(a)
    gappy = np.flatnonzero(mask.any(axis=0))
    if not len(gappy):
        return a
    # Only the few columns with gaps pay for the gather.
    sub = mask[:, gappy]
    idx = np.where(~sub, np.arange(a.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = a.copy()
    out[:, gappy] = a[:, gappy][idx, np.arange(len(gappy))[None, :]]
    return out


def _key_codes(tags: Sequence[str], pools: np.ndarray, lookup: dict[tuple[str, int], int],
               order: list[tuple[str, int]]) -> np.ndarray:
    """Column positions of one snapshot's rows, growing the key index as new keys appear."""
    out = np.empty(len(tags), dtype=np.intp)
    get = lookup.get
    for i, key in enumerate(zip(tags, pools.tolist(), strict=True)):
        pos = get(key)
        if pos is None:
            pos = len(order)
            lookup[key] = pos
            order.append(key)
        out[i] = pos
    return out


def build_series(snapshots: Sequence[Snapshot], columns: Sequence[str] = ("allocs", "frees", "bytes")) -> SeriesSet:
    """Align ``snapshots`` (already in time order) into one matrix per column."""
    n = len(snapshots)
    lookup: dict[tuple[str, int], int] = {}
    order: list[tuple[str, int]] = []
    positions: list[np.ndarray] = []
    prev_tags: list[str] | None = None
    prev_pools: np.ndarray | None = None
    prev_pos: np.ndarray | None = None
    for snap in snapshots:
        rows = snap.rows
        # Most logs repeat the same rows in the same order: reuse the previous mapping.
        if (prev_tags is not None and prev_pools is not None and rows.tags == prev_tags
                and np.array_equal(rows.pool_codes, prev_pools)):
            pos = prev_pos
        else:
            pos = _key_codes(rows.tags, rows.pool_codes, lookup, order)
        positions.append(pos)  # type: ignore[arg-type]
        prev_tags, prev_pools, prev_pos = rows.tags, rows.pool_codes, pos
    k = len(order)
    values: dict[str, np.ndarray] = {}
    for name in columns:
        mat = np.full((n, k), np.nan)
        for t, snap in enumerate(snapshots):
            col = snap.rows.column(name)
            if len(col):
                vals = col.astype(np.float64)
                vals[col == MISSING] = np.nan
                mat[t, positions[t]] = vals
        values[name] = mat

    stamps = [s.timestamp for s in snapshots]
    timed = n > 0 and all(s is not None for s in stamps)
    times = np.arange(n, dtype=np.float64)
    if timed:
        t0 = stamps[0]
        secs = np.array([(s - t0).total_seconds() for s in stamps], dtype=np.float64)  # type: ignore[operator]
        # Snapshots closer than MIN_INTERVAL apart (files copied in one go, all with the same
        # modification time) carry no usable time: fall back to their order.
        if n < 2 or np.median(np.diff(secs)) >= MIN_INTERVAL:
            times = secs
        else:
            timed = False

    resets = np.zeros((n, k), dtype=bool)
    wraps = np.zeros((n, k), dtype=bool)
    for name in ("allocs", "frees"):
        if name in values:
            r, w = find_wraps_and_resets(values[name], values.get("bytes"))
            values[name] = unwrap(values[name], w)
            resets |= r
            wraps |= w
    reboots = _whole_log_restarts(resets, values)
    for t in reboots:
        resets[t, :] = True
    # A wrap and a reset at the same point: the reset wins (the counter restarted).
    wraps &= ~resets
    if "bytes" in values:
        _move_to_next_present(resets, values["bytes"])

    totals: dict[str, np.ndarray] = {}
    keys = sorted({key for s in snapshots for key in s.totals})
    for key in keys:
        totals[key] = np.array([float(s.totals.get(key, np.nan)) for s in snapshots])

    return SeriesSet(
        times=times,
        timestamps=stamps,
        timed=timed,
        tags=[t for t, _ in order],
        pool_codes=np.array([c for _, c in order], dtype=np.uint8),
        values=values,
        resets=resets,
        wraps=wraps,
        reboots=reboots,
        totals=totals,
    )


def _move_to_next_present(resets: np.ndarray, values: np.ndarray) -> None:
    """A restart found while a tag was absent takes effect at the tag's next snapshot."""
    t_idx, c_idx = np.nonzero(resets & np.isnan(values))
    for t, c in zip(t_idx.tolist(), c_idx.tolist(), strict=True):
        resets[t, c] = False
        later = np.flatnonzero(~np.isnan(values[t + 1 :, c]))
        if len(later):
            resets[t + 1 + later[0], c] = True


def find_wraps_and_resets(counter: np.ndarray, in_use: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where a cumulative counter drops: (resets, wraps), bool arrays shaped like ``counter``.

    A drop is a 32-bit wrap when the value before it was in the upper half of the
    32-bit range, the value after it in the lower half, the unwrapped step is
    plausible (less than 2**31) and the bytes in use did not collapse with it;
    every other drop is a counter restart.  Gaps (NaN) are bridged: the comparison
    is with the last value seen.
    """
    filled = _ffill(counter)
    resets = np.zeros(counter.shape, dtype=bool)
    wraps = np.zeros(counter.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        t, c = np.nonzero(counter[1:] < filled[:-1])  # NaN compares False: gaps never drop
    if not len(t):
        return resets, wraps
    t = t + 1
    # Only the few drop positions are examined further.
    prev = filled[t - 1, c]
    cur = counter[t, c]
    step = cur - prev + WRAP
    wrapish = (prev >= 2**31) & (prev < WRAP) & (cur < 2**31) & (step >= 0) & (step < 2**31)
    if in_use is not None:
        used = _ffill(in_use)
        used_prev = used[t - 1, c]
        used_now = in_use[t, c]
        with np.errstate(invalid="ignore"):
            collapsed = (used_now < 0.5 * used_prev) & (used_prev > 0)
        wrapish &= ~collapsed
    resets[t[~wrapish], c[~wrapish]] = True
    wraps[t[wrapish], c[wrapish]] = True
    return resets, wraps


def unwrap(counter: np.ndarray, wraps: np.ndarray) -> np.ndarray:
    """Add 2**32 after each wrap so the counter keeps counting."""
    cols = np.flatnonzero(wraps.any(axis=0))
    if not len(cols):
        return counter
    out = counter.copy()
    out[:, cols] += np.cumsum(wraps[:, cols], axis=0) * float(WRAP)
    return out


def _whole_log_restarts(resets: np.ndarray, values: dict[str, np.ndarray]) -> list[int]:
    """Snapshot positions where most series with counters restarted together (a reboot)."""
    if "allocs" not in values or not resets.any():
        return []
    have = ~np.isnan(values["allocs"])
    # Series seen before and at t: only they can show a restart at t (every series present at t
    # but the ones seen for the first time there).
    ever = have.any(axis=0)
    first_seen = np.bincount(np.argmax(have, axis=0)[ever], minlength=have.shape[0])
    eligible = have.sum(axis=1) - first_seen
    counts = resets.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(eligible > 0, counts / np.maximum(eligible, 1), 0.0)
    return [int(t) for t in np.flatnonzero((share >= REBOOT_SHARE) & (counts >= 2))]
