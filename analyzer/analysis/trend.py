"""Leak verdicts over many snapshots: one verdict with a checkable reason per (tag, pool).

Three named stages, each vectorised over the (time × series) matrices of
:mod:`analyzer.analysis.series`:

1. :func:`segment_by_boot` — counter restarts (reboots, driver reloads) split every series
   into boot segments; the verdict is about the latest segment with enough points (a cache
   that refills after each boot is a warm-up per segment, not a staircase across them);
2. :func:`compute_statistics` — per series, a :class:`SeriesStatistics` record: growth tested
   at a few candidate onsets with an autocorrelation-honest t-test (:func:`stats.growth_fit`),
   corrected for having looked at several onsets and two measures (bytes, outstanding
   allocations), calibrated against the run's own stable tags (:func:`stats.null_scale`) and
   turned into q-values across every series of the run (Benjamini–Hochberg); whether the tail
   has levelled off; what was given back; and for short windows (a before/after test run)
   growth in every interval against the steps of comparable tags;
3. :func:`verdict_rules` — the verdicts, in an order that follows the evidence (docs/analysis.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from analyzer.analysis import stats
from analyzer.analysis.series import SeriesSet, build_series
from analyzer.analysis.verdict import Verdict
from analyzer.units import format_duration, format_size
from parsers.model import POOLS, Snapshot

VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)
_RANK = {v: i for i, v in enumerate(VERDICTS)}
MODELS = ("line", "drift", "line, coarse")
#: Share of the false-positive budget of each growth test (weighted Bonferroni; sums to 1).
#: The whole-segment line tests carry most of it; later onsets split theirs equally.
TEST_WEIGHTS: dict[tuple[str, str], float] = {
    ("bytes", "line"): 0.25,
    ("bytes", "line, coarse"): 0.2,
    ("bytes", "drift"): 0.05,
    ("bytes", "line, later onset"): 0.15,
    ("bytes", "drift, later onset"): 0.1,
    ("outstanding", "line"): 0.05,
    ("outstanding", "line, coarse"): 0.05,
    ("outstanding", "drift"): 0.05,
    ("outstanding", "line, later onset"): 0.1,
    ("outstanding", "drift, later onset"): 0.0,
}


@dataclass(frozen=True)
class TrendOptions:
    """Thresholds of the verdict rules (tuned on one seed family of each benchmark generator)."""

    alpha: float = 0.01  # q-value (false-discovery rate) at or below this: leak
    suspect_alpha: float = 0.1  # q-value at or below this: at most suspect
    confidence: float = 0.95  # level of the rate's interval
    min_points: int = 4  # fewer snapshots in every boot segment: insufficient-data
    min_span_hours: float = 1 / 6  # a shorter window (timed logs) can say "suspect", not "leak"
    min_growth: int = 64 * 1024  # bytes a leak must have added over the window
    short_points: int = 24  # a boot segment of at most this many snapshots takes the test-window path
    onsets: int = 5  # candidate onsets tested: at 0, 1/6, 2/6, ... of the segment
    flat_share: float = 0.3  # a tail whose slope is surely (99 %) below this share of the rate has levelled off
    giveback: float = 0.5  # share of a rise that, fallen back, means "recovers" (and vetoes "leak")
    noise_multiple: float = 4.0  # a rise or fall must exceed this many noise standard deviations
    max_points: int = 240  # longer series are averaged into this many blocks
    coarse_points: int = 24  # and, for the coarse line test, into this many
    lockstep: float = 0.8  # correlation of first differences that groups tags
    load_adjust: bool = True  # fit each tag's allocation turnover with its growth (where Allocs/Frees exist)


@dataclass
class TrendStatistics:
    """The numbers behind one row's verdict (every reason can be checked against these)."""

    p_value: float | None  # growth, corrected for the onsets and measures tried (None: not tested)
    q_value: float | None  # Benjamini–Hochberg over every tested series of the run
    t_stat: float  # best growth t statistic (after the run's null scale)
    null_scale: float  # how much wider than N(0, 1) the run's stable tags spread (≥ 1)
    autocorrelation: float  # AR(1) φ used for the residuals of the growth fit
    effective_points: float  # independent points the fitted window is worth
    measure: str  # "bytes" or "outstanding": which one showed the growth
    model: str  # the test that did: "line", "drift" or "line, coarse" (see docs/analysis.md)
    path: str  # "long", "short" or "none"
    segment: int  # boot segment analysed (1 = first boot in which the tag was seen)
    segments: int  # boot segments in which the tag was seen
    pooled_segments: int  # > 0: the evidence is growth in each of this many segments (pooled rate)
    segment_points: int  # snapshots of the tag in the analysed segment
    intervals: int
    intervals_up: int
    intervals_down: int
    growth_bytes: float  # end level − start level of the growing part (or of the segment)
    levelled_off: bool  # the tail is surely flatter than flat_share × the rate
    level_bytes: float | None  # where it levelled off
    tail_rate_high: float | None  # 99 % upper bound of the tail's rate
    rate_before_tail: float | None  # the rate the tail is compared with (growing part or whole segment)
    fell_back_bytes: float  # high of the growing part minus where it ends
    large_falls: int  # falls of half the range (and of noise_multiple × noise) in the segment
    rise_bytes: float  # rise to the peak of the largest give-back
    fall_bytes: float  # that give-back
    noise_bytes: float  # residual standard deviation of the growth fit
    reference_tags: int  # short path: comparable tags whose steps set the null
    smallest_step_bytes: float | None  # short path: the smallest of the steps that carried the evidence
    top_steps: int  # short path: how many of the tag's largest steps carried it
    resets: int
    wraps: int
    points_analyzed: int
    last_seen_index: int

    def to_dict(self) -> dict[str, Any]:
        return {k: _num(v) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass
class TrendRow:
    tag: str
    pool: str
    verdict: str
    reason: str
    rate_bytes_per_hour: float | None
    rate_low: float | None
    rate_high: float | None
    allocs_per_hour: float | None
    freed_ratio: float | None
    onset: datetime | None
    exhaustion: dict[str, Any] | None
    group: int | None
    n_points: int
    bytes_first: int | None
    bytes_last: int | None
    stats: TrendStatistics | None = None
    owner: str | None = None
    #: Every candidate owner with its provenance (OwnerCandidate.to_dict()), most trusted first.
    owner_candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def q_value(self) -> float | None:
        return self.stats.q_value if self.stats else None

    @property
    def segment(self) -> int | None:
        return self.stats.segment if self.stats else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "pool": self.pool,
            "verdict": str(self.verdict),
            "reason": self.reason,
            "rate_bytes_per_hour": _num(self.rate_bytes_per_hour),
            "rate_low": _num(self.rate_low),
            "rate_high": _num(self.rate_high),
            "allocs_per_hour": _num(self.allocs_per_hour),
            "freed_ratio": _num(self.freed_ratio),
            "onset": self.onset.isoformat() if self.onset else None,
            "exhaustion": self.exhaustion,
            "group": self.group,
            "n_points": self.n_points,
            "bytes_first": self.bytes_first,
            "bytes_last": self.bytes_last,
            "q_value": _num(self.q_value),
            "segment": self.segment,
            "owner": self.owner,
            "owner_candidates": list(self.owner_candidates),
            "stats": self.stats.to_dict() if self.stats else {},
        }


def _num(v: float | None) -> float | None:
    """A finite float kept to 6 significant digits (tiny p-values stay visible), else None."""
    if v is None or not np.isfinite(v):
        return None
    return float(f"{float(v):.6g}")


@dataclass
class TrendResult:
    rows: list[TrendRow]
    summary: dict[str, Any]
    exhaustion: dict[str, Any] | None
    data: SeriesSet | None = field(default=None, repr=False)
    #: One entry per pool whose header total (PoolMon header, !vm, performance counters) was read.
    pool_totals: list[dict[str, Any]] = field(default_factory=list)

    def series(self, tag: str, pool: str) -> tuple[list[datetime | None] | np.ndarray, np.ndarray]:
        """(times, bytes) of one series as read (NaN where absent) for charts.

        Times are datetimes when the snapshots carry timestamps, else snapshot numbers.
        """
        if self.data is None:
            raise KeyError((tag, pool))
        i = self.data.index_of(tag, pool)
        if i is None:
            raise KeyError((tag, pool))
        times = list(self.data.timestamps) if self.data.timed else self.data.times
        return times, self.data.values["bytes"][:, i].copy()

    @property
    def start(self) -> datetime | None:
        """Time of the first snapshot analysed; None when the snapshots carry no times."""
        d = self.data
        return d.timestamps[0] if d is not None and d.timed and d.timestamps else None

    @property
    def end(self) -> datetime | None:
        """Time of the last snapshot analysed; None when the snapshots carry no times."""
        d = self.data
        return d.timestamps[-1] if d is not None and d.timed and d.timestamps else None

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(VERDICTS, 0)
        for row in self.rows:
            out[str(row.verdict)] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "exhaustion": self.exhaustion, "pool_totals": list(self.pool_totals),
                "rows": [r.to_dict() for r in self.rows]}


# -- matrix helpers ------------------------------------------------------------------------------


def _blocks(n: int, max_points: int) -> np.ndarray | None:
    """Start indices of equal blocks that average ``n`` points into at most ``max_points``."""
    if n <= max_points:
        return None
    width = int(np.ceil(n / max_points))
    # The last block ends at the last snapshot, so the latest state is never diluted by a partial block.
    starts = np.arange(n % width if n % width else 0, n, width)
    if starts[0] != 0:
        starts = np.concatenate([[0], starts])
    return starts


def _block_mean(a: np.ndarray, starts: np.ndarray | None) -> np.ndarray:
    if starts is None:
        return a
    valid = ~np.isnan(a)
    sums = _block_sum(np.where(valid, a, 0.0), starts)
    cnt = _block_sum(valid, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        sums /= cnt
    return sums  # NaN where a block has no point (0 / 0)


def _block_sum(a: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``np.add.reduceat(a, starts, axis=0)`` for the blocks of :func:`_blocks`, bit for bit, several times faster.

    reduceat adds each block down a strided column: the block's first row plus numpy's pairwise
    sum of the rest.  With equal blocks (and one shorter block first) the same additions, in the
    same order, run as whole-row operations on a (blocks, width, ...) view.  Booleans are counted.
    """
    n = a.shape[0]
    width = int(starts[-1] - starts[-2]) if len(starts) > 1 else n
    head = n % width
    expected = np.arange(head, n, width)
    if head:
        expected = np.concatenate([[0], expected])
    if not np.array_equal(starts, expected):
        return np.add.reduceat(a, starts, axis=0)
    if a.dtype == bool:
        body = a[head:].reshape((n - head) // width, width, *a.shape[1:]).sum(axis=1)
        return np.concatenate([a[:head].sum(axis=0)[None], body]) if head else body
    body3 = a[head:].reshape((n - head) // width, width, *a.shape[1:])
    body = body3[:, 0] + _pairwise_sum(body3, 1, width - 1)
    if head:
        first3 = a[:head][None]
        return np.concatenate([first3[:, 0] + _pairwise_sum(first3, 1, head - 1), body])
    return body


def _pairwise_sum(a3: np.ndarray, lo: int, n: int) -> np.ndarray:
    """numpy's pairwise summation of ``a3[:, lo:lo + n]`` along axis 1, for every other index at once."""
    if n < 8:
        res = np.zeros_like(a3[:, 0])
        for i in range(lo, lo + n):
            res += a3[:, i]
        return res
    if n <= 128:
        acc = [a3[:, lo + j].copy() for j in range(8)]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                acc[j] += a3[:, lo + i + j]
            i += 8
        res = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        for k in range(i, n):
            res += a3[:, lo + k]
        return res
    half = n // 2
    half -= half % 8
    return _pairwise_sum(a3, lo, half) + _pairwise_sum(a3, lo + half, n - half)


def _fill(a: np.ndarray) -> np.ndarray:
    """Forward then backward fill NaN down each column (all-NaN columns become 0)."""
    out = a.copy()
    for arr in (out, out[::-1]):
        mask = np.isnan(arr)
        if not mask.any():
            break
        idx = np.where(~mask, np.arange(arr.shape[0])[:, None], 0)
        np.maximum.accumulate(idx, axis=0, out=idx)
        arr[...] = arr[idx, np.arange(arr.shape[1])[None, :]]
    return np.nan_to_num(out)


def _median_of_three(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Elementwise median of three arrays: max(min(a, b), min(max(a, b), c)).

    The median of three is one of them, the value np.median picks (NaN if any is NaN), found
    without sorting every window.
    """
    low = np.minimum(a, b)
    high = np.maximum(a, b)
    np.minimum(high, c, out=high)
    return np.maximum(low, high, out=low)


def _median3(a: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Running median of 3 (single-snapshot spikes removed); points in ``keep`` or next to a gap stay."""
    if a.shape[0] < 3:
        return a
    low = _median_of_three(a[:-2], a[1:-1], a[2:])
    out = a.copy()
    inner = ~np.isnan(low)
    inner &= ~keep[1:-1]
    inner &= ~keep[2:]
    np.copyto(out[1:-1], low, where=inner)
    return out


def _rolling_median(a: np.ndarray, width: int = 5) -> np.ndarray:
    n = a.shape[0]
    if n < width:
        return a
    if width == 3:
        return _median_of_three(np.concatenate([a[:1], a[:-1]]), a, np.concatenate([a[1:], a[-1:]]))
    half = width // 2
    padded = np.concatenate([np.repeat(a[:1], half, axis=0), a, np.repeat(a[-1:], half, axis=0)])
    win = np.lib.stride_tricks.sliding_window_view(padded, width, axis=0)
    return np.median(win, axis=-1)


def _window_delta(a: np.ndarray, resets: np.ndarray) -> np.ndarray:
    """Total increase of a cumulative counter over the window, restarts skipped."""
    d = np.diff(a, axis=0)
    d = np.where(resets[1:], np.nan, d)
    with np.errstate(invalid="ignore"):
        return np.nansum(np.where(d >= 0, d, np.nan), axis=0)


def _first_last(ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = ok.shape[0]
    return np.argmax(ok, axis=0), n - 1 - np.argmax(ok[::-1], axis=0)


def _stamp(data: SeriesSet, hours: float) -> datetime | None:
    if not data.timed or not data.timestamps or data.timestamps[0] is None or not np.isfinite(hours):
        return None
    return data.timestamps[0] + timedelta(hours=float(hours))


def _clock(dt: datetime | None, fallback: str) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else fallback


# -- stage 1: boot segments -----------------------------------------------------------------------


@dataclass
class BootSegments:
    """Each series cut at its counter restarts; the segment whose verdict counts."""

    ids: np.ndarray  # (T, K) boot segment of each snapshot, per series (0 = before any restart)
    points: np.ndarray  # (S, K) snapshots with the tag in each segment
    analysed: np.ndarray  # (K,) latest segment with at least min_points snapshots (-1: none)

    def mask(self, segment: np.ndarray) -> np.ndarray:
        """(T, K) True where a snapshot belongs to the given segment of its series."""
        return self.ids == segment[None, :]

    def rank(self) -> tuple[np.ndarray, np.ndarray]:
        """(position of the analysed segment among those where the tag was seen, their count), 1-based."""
        seen = self.points > 0
        count = seen.sum(axis=0)
        upto = np.arange(self.points.shape[0])[:, None] <= self.analysed[None, :]
        return (seen & upto).sum(axis=0), count


def segment_by_boot(data: SeriesSet, min_points: int) -> BootSegments:
    """Stage 1: boot segments from the counter restarts found in :func:`build_series`."""
    ids = np.cumsum(data.resets, axis=0, dtype=np.int32)  # a few segments: 4 bytes a cell, not 8
    present = ~np.isnan(data.values["bytes"])
    s_count = int(ids.max()) + 1 if ids.size else 1
    points = np.stack([(present & (ids == s)).sum(axis=0) for s in range(s_count)]) if ids.size \
        else np.zeros((1, ids.shape[1]), dtype=np.intp)
    usable = points >= min_points
    latest = s_count - 1 - np.argmax(usable[::-1], axis=0)
    analysed = np.where(usable.any(axis=0), latest, -1)
    return BootSegments(ids=ids, points=points, analysed=analysed)


# -- stage 2: statistics --------------------------------------------------------------------------


@dataclass
class SeriesStatistics:
    """Stage 2's result: one array entry per series (K), everything the verdict rules read."""

    n_points: np.ndarray
    segment_points: np.ndarray
    segment_start: np.ndarray  # first snapshot of the analysed segment with the tag (0 without one)
    segment: np.ndarray  # 1-based rank of the analysed segment among those the tag was seen in
    segments: np.ndarray
    short: np.ndarray  # took the short-window path
    tested: np.ndarray  # has a p-value
    p: np.ndarray
    q: np.ndarray
    t: np.ndarray
    phi: np.ndarray
    n_eff: np.ndarray
    measure: np.ndarray  # 0 bytes, 1 outstanding
    model: np.ndarray  # 0 line, 1 drift, 2 line at coarse resolution
    onset_j: np.ndarray  # candidate onset that won (0: the start of the segment)
    slope: np.ndarray  # bytes per x unit over the growing part
    whole: tuple[np.ndarray, np.ndarray, np.ndarray]  # (slope, low, high) over the whole segment
    low: np.ndarray
    high: np.ndarray
    onset_x: np.ndarray  # NaN: growth from the start of the segment
    window_x: np.ndarray  # duration of the analysed segment (x units)
    growth: np.ndarray  # end level − start level of the growing part
    levelled: np.ndarray
    each: np.ndarray  # the "grew in every boot segment" route gave the smaller p
    each_rate: np.ndarray  # that route's pooled rate, its standard error, and the segments pooled
    each_se: np.ndarray
    each_df: np.ndarray
    each_count: np.ndarray
    level: np.ndarray
    level_since_x: np.ndarray
    tail_high: np.ndarray
    ref_rate: np.ndarray  # the rate a levelled-off tail is compared with
    fell_back: np.ndarray  # high of the growing part − end level
    fell_back_limit: np.ndarray  # more than this fallen back vetoes a leak
    falls: np.ndarray
    new_high: np.ndarray
    rise: np.ndarray
    fall: np.ndarray
    peak_x: np.ndarray
    ends_above_peak: np.ndarray
    noise: np.ndarray
    reference: np.ndarray  # short path: comparable tags
    smallest_step: np.ndarray
    all_up: np.ndarray
    top_steps: np.ndarray  # short path: how many of the largest steps carried the evidence
    intervals: np.ndarray
    ups: np.ndarray
    downs: np.ndarray
    freed: np.ndarray
    null_scale: float


def compute_statistics(data: SeriesSet, segs: BootSegments, opts: TrendOptions) -> SeriesStatistics:
    """Stage 2: every statistic of every series, for the analysed boot segment."""
    k = len(data.tags)
    x_full = data.times / 3600.0 if data.timed else data.times.astype(np.float64)
    prep = _prepare(data, segs, opts, x_full)
    seg_points = prep.seg_points
    rank, count = segs.rank()
    first_i, last_i = prep.first_i, prep.last_i
    window_x = np.where(seg_points > 0, x_full[last_i] - x_full[first_i], 0.0)

    short = (seg_points >= opts.min_points) & (seg_points <= opts.short_points) & (segs.analysed >= 0)
    long_ = (seg_points > opts.short_points) & (segs.analysed >= 0)

    nan = np.full(k, np.nan)
    st = SeriesStatistics(
        n_points=prep.n_points, segment_points=seg_points, segment_start=first_i, segment=rank, segments=count,
        short=short,
        tested=short | long_, p=np.ones(k), q=nan.copy(), t=np.zeros(k), phi=np.zeros(k), n_eff=nan.copy(),
        measure=np.zeros(k, dtype=np.intp), model=np.zeros(k, dtype=np.intp), onset_j=np.zeros(k, dtype=np.intp),
        slope=nan.copy(),
        whole=(nan.copy(), nan.copy(), nan.copy()), low=nan.copy(), high=nan.copy(),
        onset_x=nan.copy(), window_x=window_x, growth=np.zeros(k), levelled=np.zeros(k, bool), each=np.zeros(k, bool),
        each_rate=nan.copy(), each_se=nan.copy(), each_df=nan.copy(), each_count=np.zeros(k, dtype=np.intp),
        level=nan.copy(), level_since_x=nan.copy(), tail_high=nan.copy(), ref_rate=nan.copy(), fell_back=np.zeros(k),
        fell_back_limit=np.zeros(k), falls=np.zeros(k, dtype=np.intp),
        new_high=np.ones(k, bool),
        rise=np.zeros(k), fall=np.zeros(k), peak_x=nan.copy(), ends_above_peak=np.zeros(k, bool),
        noise=np.zeros(k), reference=np.zeros(k, dtype=np.intp), smallest_step=nan.copy(),
        all_up=np.zeros(k, bool), top_steps=np.zeros(k, dtype=np.intp),
        intervals=prep.intervals, ups=prep.ups, downs=prep.downs, freed=nan.copy(), null_scale=1.0,
    )

    # Freed share of new allocations over the segment.
    if prep.has_outstanding:
        st.freed = prep.freed

    if long_.any():
        _long_path(st, np.flatnonzero(long_), prep, data, x_full, segs, opts)
    if short.any():
        cols = np.flatnonzero(short)
        raw = data.values["bytes"][:, cols]
        in_seg = (segs.ids[:, cols] == segs.analysed[cols][None, :]) & ~np.isnan(raw)
        seg_raw = np.full((raw.shape[0], k), np.nan)
        seg_raw[:, cols] = np.where(in_seg, raw, np.nan)
        _short_path(st, cols, seg_raw, x_full, first_i, last_i)
    st.q = stats.benjamini_hochberg(np.where(st.tested, st.p, np.nan))
    return st


#: Columns per pass over the full-resolution matrices: a few (T × 128) arrays stay in the CPU cache,
#: where a pass over the whole (T × K) matrix would stream it from memory, once per operation.
_CHUNK = 128
#: At most this many boot segments' block means are gathered in the one pass and held for the
#: every-segment route; with more, each is read from the matrices when that route needs it.
_HELD_SEGMENTS = 4


def _take(a: np.ndarray, cols: slice | np.ndarray) -> np.ndarray:
    """Columns of ``a``, row-major like ``a`` (``a[:, cols]`` with an index array would be column-major,
    and numpy's sums then add in another order: results would differ in the last digits)."""
    if isinstance(cols, np.ndarray) and len(cols) and cols[-1] - cols[0] == len(cols) - 1 \
            and (len(cols) < 2 or bool(np.all(np.diff(cols) == 1))):
        cols = slice(int(cols[0]), int(cols[-1]) + 1)  # a run of columns: a view, no gather
    return a[:, cols] if isinstance(cols, slice) else np.take(a, cols, axis=1)


def _column_chunks(k: int) -> list[slice]:
    return [slice(a, min(k, a + _CHUNK)) for a in range(0, k, _CHUNK)]


#: (bytes, turnover or None) block means of one boot segment, one pair per block layout.
_SegmentBlocks = list[tuple[np.ndarray, np.ndarray | None]]


@dataclass
class _Prepared:
    """What stage 2 reads from the full-resolution matrices, gathered in one pass over column chunks.

    The rest of stage 2 works on block means (at most ``max_points`` and ``coarse_points`` rows),
    so the (T × K) matrices are read once, chunk by chunk, instead of once per statistic.
    Pairs are (fine blocks, coarse blocks); every array has one column per series.
    """

    n_points: np.ndarray
    seg_points: np.ndarray
    first_i: np.ndarray  # first and last snapshot of the analysed segment with the tag
    last_i: np.ndarray
    ups: np.ndarray  # intervals up, down, and counted, at full resolution inside the segment
    downs: np.ndarray
    intervals: np.ndarray
    has_outstanding: bool  # Allocs − Frees known somewhere
    freed: np.ndarray  # freed share of the segment's new allocations
    bytes: tuple[np.ndarray, np.ndarray]  # spikes removed, analysed segment only
    raw_fine: np.ndarray  # spikes kept, analysed segment only (the step noise)
    every: np.ndarray | None  # spikes removed, every boot segment (only with several segments)
    outstanding: tuple[np.ndarray, np.ndarray] | None  # spikes removed, analysed segment only
    outstanding_seen: np.ndarray  # (K,) the despiked outstanding count has a point
    every_outstanding: np.ndarray | None  # spikes removed, every boot segment (several segments, counters)
    turnover: tuple[np.ndarray, np.ndarray] | None  # spikes removed, analysed segment only
    #: Boot segment → (bytes, turnover) block means of that segment alone, fine and coarse, for the
    #: "keeps growing in each segment" route (only the segments it reads, when they are few).
    segments: dict[int, _SegmentBlocks]

    def segment_blocks(self, data: SeriesSet, segs: BootSegments, s: int, cols: np.ndarray,
                       starts: list[np.ndarray | None], x_full: np.ndarray) -> _SegmentBlocks:
        """(bytes, turnover) block means of boot segment ``s`` of the given columns, at each block layout."""
        if s in self.segments:
            return [(_take(y, cols), None if z is None else _take(z, cols)) for y, z in self.segments[s]]
        return _segment_blocks(data, segs, s, cols, starts, x_full, self.turnover is not None)


def _turnover_of(data: SeriesSet, cols: slice | np.ndarray, dx: np.ndarray) -> np.ndarray:
    """(T, len(cols)) allocations per x unit that were also freed: min(ΔAllocs, ΔFrees) / Δx (NaN: unknown).

    A tag's in-use count follows its load (Little's law: in use ≈ turnover rate × lifetime), so
    the turnover is the covariate that tells load-following from leaking.  What is allocated
    and never freed shows in ΔAllocs − ΔFrees, not in the smaller of the two.  ``dx`` is
    ``np.diff(x)[:, None]``.
    """
    a, f = _take(data.values["allocs"], cols), _take(data.values["frees"], cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.minimum(np.diff(a, axis=0), np.diff(f, axis=0)) / dx
    rate = np.where((dx > 0) & ~_take(data.resets, cols)[1:] & (rate >= 0), rate, np.nan)
    return np.vstack([np.full((1, rate.shape[1]), np.nan), rate])


def _has_turnover(data: SeriesSet, opts: TrendOptions) -> bool:
    if not opts.load_adjust or "allocs" not in data.values or "frees" not in data.values:
        return False
    return not (np.isnan(data.values["allocs"]).all() or np.isnan(data.values["frees"]).all())


def _prepare(data: SeriesSet, segs: BootSegments, opts: TrendOptions, x_full: np.ndarray) -> _Prepared:
    """One pass over the full-resolution matrices, column chunk by column chunk (see :class:`_Prepared`)."""
    raw_all = data.values["bytes"]
    t_count, k = raw_all.shape
    counters = "allocs" in data.values and "frees" in data.values
    with_turnover = _has_turnover(data, opts)
    starts = _blocks(t_count, opts.max_points)
    coarse_starts = _blocks(t_count, opts.coarse_points)
    nb = t_count if starts is None else len(starts)
    nc = t_count if coarse_starts is None else len(coarse_starts)
    several = len(segs.points) > 1
    dx = np.diff(x_full)[:, None]
    # The segments the every-segment route reads (those with many points, of tags with two or more).
    usable = segs.points > opts.short_points
    wanted: list[int] = np.flatnonzero((usable & (usable.sum(axis=0) >= 2)[None, :]).any(axis=1)).tolist() \
        if several else []
    if len(wanted) > _HELD_SEGMENTS:
        wanted = []  # many restarts: each segment is read when it is needed instead of all held at once
    seg_blocks: dict[int, _SegmentBlocks] = {
        int(w): [(np.empty((size, k)), np.empty((size, k)) if with_turnover else None) for size in (nb, nc)]
        for w in wanted}

    def ints() -> np.ndarray:
        return np.zeros(k, dtype=np.intp)

    def pair() -> tuple[np.ndarray, np.ndarray]:
        return np.empty((nb, k)), np.empty((nc, k))

    n_points, seg_points, first_i, last_i = ints(), ints(), ints(), ints()
    ups, downs, intervals = ints(), ints(), ints()
    freed = np.full(k, np.nan)
    y_pair, o_pair, z_pair = pair(), pair(), pair()
    raw_fine = np.empty((nb, k))
    every = np.empty((nb, k)) if several else None
    every_o = np.full((nb, k), np.nan) if several and counters else None
    o_seen = np.zeros(k, bool)
    has_outstanding = False
    for cs in _column_chunks(k):
        raw = raw_all[:, cs]
        present = ~np.isnan(raw)
        analysed = segs.analysed[cs]
        in_seg = (segs.ids[:, cs] == analysed[None, :]) & present & (analysed >= 0)[None, :]
        n_points[cs] = present.sum(axis=0)
        seg_points[cs] = in_seg.sum(axis=0)
        first_i[cs], last_i[cs] = _first_last(in_seg)
        # Interval counts at full resolution inside the segment ("grew in 118 of 120 intervals").
        seg_raw = np.where(in_seg, raw, np.nan)
        d = np.diff(seg_raw, axis=0)
        d_valid = ~np.isnan(d)
        ups[cs] = ((d > 0) & d_valid).sum(axis=0)
        downs[cs] = ((d < 0) & d_valid).sum(axis=0)
        intervals[cs] = d_valid.sum(axis=0)
        resets = data.resets[:, cs]
        # Spikes removed once for the whole series: the restarts are kept points, so the median never
        # reaches across a segment boundary and masking afterwards equals masking first.
        keep = resets | np.vstack([resets[1:], np.zeros((1, raw.shape[1]), bool)])
        despiked = _median3(raw, keep)
        filtered = np.where(in_seg, despiked, np.nan)
        y_pair[0][:, cs], y_pair[1][:, cs] = _block_mean(filtered, starts), _block_mean(filtered, coarse_starts)
        raw_fine[:, cs] = _block_mean(seg_raw, starts)
        if every is not None:
            every[:, cs] = _block_mean(despiked, starts)
        if counters:
            allocs, frees = data.values["allocs"][:, cs], data.values["frees"][:, cs]
            o = allocs - frees
            if not np.isnan(o).all():
                has_outstanding = True
            seg_resets = resets & in_seg
            da = _window_delta(np.where(in_seg, allocs, np.nan), seg_resets)
            df = _window_delta(np.where(in_seg, frees, np.nan), seg_resets)
            with np.errstate(invalid="ignore", divide="ignore"):
                freed[cs] = np.where(da > 0, df / da, np.nan)
            if every_o is not None:
                every_o[:, cs] = _block_mean(_median3(o, keep), starts)
            o = _median3(np.where(in_seg, o, np.nan), keep)
            o_seen[cs] = ~np.isnan(o).all(axis=0)
            o_pair[0][:, cs], o_pair[1][:, cs] = _block_mean(o, starts), _block_mean(o, coarse_starts)
        turnover = _turnover_of(data, cs, dx) if with_turnover else None
        if turnover is not None:
            zf = _median3(np.where(in_seg, turnover, np.nan), keep)
            z_pair[0][:, cs], z_pair[1][:, cs] = _block_mean(zf, starts), _block_mean(zf, coarse_starts)
        for s_id, layouts in seg_blocks.items():
            mine = segs.ids[:, cs] == s_id
            # The analysed segment of every series here: its bytes are seg_raw (absent points are NaN).
            analysed_here = bool(np.all(analysed == s_id))
            part = seg_raw if analysed_here else np.where(mine, raw, np.nan)
            z_part = None if turnover is None else np.where(mine, turnover, np.nan)
            for (y_out, z_out), layout in zip(layouts, (starts, coarse_starts), strict=True):
                y_out[:, cs] = raw_fine[:, cs] if analysed_here and layout is starts else _block_mean(part, layout)
                if z_out is not None and z_part is not None:
                    z_out[:, cs] = _block_mean(z_part, layout)
    return _Prepared(
        n_points=n_points, seg_points=seg_points, first_i=first_i, last_i=last_i, ups=ups, downs=downs,
        intervals=intervals, has_outstanding=has_outstanding, freed=freed, bytes=y_pair, raw_fine=raw_fine,
        every=every, outstanding=o_pair if has_outstanding else None, outstanding_seen=o_seen,
        every_outstanding=every_o if has_outstanding else None,
        turnover=z_pair if with_turnover else None, segments=seg_blocks)


def _segment_blocks(data: SeriesSet, segs: BootSegments, s: int, cols: np.ndarray, starts: list[np.ndarray | None],
                    x_full: np.ndarray, with_turnover: bool) -> _SegmentBlocks:
    """(bytes, turnover) block means of boot segment ``s`` of the given columns, at each block layout."""
    t_count = data.values["bytes"].shape[0]
    sizes = [t_count if st is None else len(st) for st in starts]
    ys = [np.empty((size, len(cols))) for size in sizes]
    zs = [np.empty((size, len(cols))) for size in sizes] if with_turnover else None
    dx = np.diff(x_full)[:, None]
    for cs in _column_chunks(len(cols)):
        idx = cols[cs]
        mine = _take(segs.ids, idx) == s
        part = np.where(mine, _take(data.values["bytes"], idx), np.nan)
        z_part = np.where(mine, _turnover_of(data, idx, dx), np.nan) if zs is not None else None
        for i, st in enumerate(starts):
            ys[i][:, cs] = _block_mean(part, st)
            if zs is not None and z_part is not None:
                zs[i][:, cs] = _block_mean(z_part, st)
    return [(ys[i], zs[i] if zs is not None else None) for i in range(len(starts))]


def _covariate(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The turnover where ``y`` is present, gaps filled with the column's mean (0 without any)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nan_to_num(np.nanmean(np.where(np.isnan(y), np.nan, z), axis=0))
    return np.where(np.isnan(y), np.nan, np.where(np.isnan(z), mean[None, :], z))


def _load_adjusted(y: np.ndarray, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``y`` less the part its turnover explains, the standard error of that part's coefficient).

    b is fitted over the whole segment jointly with a line (y = a + c·x + b·z), where bursts
    and test loops make the load vary faster than any trend; the growth tests then widen
    their errors for b's (``z_se`` of :func:`stats.growth_fit`).
    """
    b, b_se = stats.load_coefficient(y, x, z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        zm = np.nan_to_num(np.nanmean(z, axis=0))
    return y - b[None, :] * np.nan_to_num(z - zm[None, :]), b_se


def _long_path(st: SeriesStatistics, cols: np.ndarray, prep: _Prepared, data: SeriesSet, x_full: np.ndarray,
               segs: BootSegments, opts: TrendOptions) -> None:
    """Growth at candidate onsets, levelling off, give-back: the statistics of segments with many points."""
    t_count = len(x_full)
    starts = _blocks(t_count, opts.max_points)
    x = _block_mean(x_full[:, None], starts)[:, 0]
    coarse_starts = _blocks(t_count, opts.coarse_points)
    x_coarse = _block_mean(x_full[:, None], coarse_starts)[:, 0]
    zb = zc = None
    if prep.turnover is not None:
        zb, zc = _take(prep.turnover[0], cols), _take(prep.turnover[1], cols)
    Adjusted = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None,
                     np.ndarray | None]
    measures: list[Adjusted] = []
    raw_y = [prep.bytes]
    if prep.outstanding is not None and prep.outstanding_seen[cols].any():
        raw_y.append(prep.outstanding)
    for y_fine, y_coarse in raw_y:
        y_b, y_c = _take(y_fine, cols), _take(y_coarse, cols)
        z_b = z_c = se_b = se_c = None
        if zb is not None and zc is not None:
            # Load-following taken out: every test and shape statistic reads the adjusted series,
            # the tests widen their errors for the error of the fitted load coefficient.
            z_b, z_c = _covariate(zb, y_b), _covariate(zc, y_c)
            y_b, se_b = _load_adjusted(y_b, x, z_b)
            y_c, se_c = _load_adjusted(y_c, x_coarse, z_c)
        measures.append((y_b, y_c, z_b, z_c, se_b, se_c))
    yb, zb, zse = measures[0][0], measures[0][2], measures[0][4]
    ok = ~np.isnan(yb)
    nb = len(x)
    idx = np.arange(nb)[:, None]
    first, last = _first_last(ok)

    # The run's stable tags as an empirical null: the spread of whole-segment t statistics.
    scale = stats.null_scale(stats.growth_fit(yb, x, z=zb, z_se=zse).t)
    st.null_scale = scale

    # Weighted Bonferroni over every test looked at (the best of several tests is not one test):
    # p = min over tests of p_i / w_i, the weights fixed in advance and summing to 1 (TEST_WEIGHTS).
    has_o = np.zeros(len(cols), bool)
    if len(measures) > 1:
        has_o = (~np.isnan(measures[1][0])).sum(axis=0) >= 6
    total_w = np.where(has_o, 1.0, 1.0 - sum(w for (m, _), w in TEST_WEIGHTS.items() if m == "outstanding"))
    # Two tiers of "best test": over every test, and over the tests whose growing part (from
    # their onset on) kept its growth to the end.  A leak with one early working-set swing shows
    # it from an onset after the swing; the series' p is the best of the second tier when there
    # is one (never below the best of all, so still a valid p-value).
    tiers = [_BestTest(len(cols)), _BestTest(len(cols))]

    def consider(g: stats.GrowthFit, weight: float, j: int, m_i: int, model: int, usable: np.ndarray,
                 kept_j: np.ndarray) -> None:
        if weight <= 0:
            return
        adj = np.where(usable & (g.n >= 6) & (g.slope > 0), g.p / (weight / total_w), np.inf)
        tiers[0].offer(adj, g, j, m_i, model)
        tiers[1].offer(np.where(kept_j, adj, np.inf), g, j, m_i, model)

    # What each onset's growing part gave back by the end (the same rule as the verdict's), read
    # on the measure of the test: bytes, or outstanding allocations at the tag's mean size (a
    # busy tag of mixed sizes swings in bytes with its size mix, not in its count).
    smooth = _rolling_median(_fill(np.where(ok, yb, np.nan)), 3)
    smooth = np.where(ok, smooth, np.nan)
    end_level = _edge_mean(yb, ok, last, -1)
    shapes = [(yb, smooth, end_level)]
    if len(measures) > 1:
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            size = np.nanmean(yb, axis=0) / np.nanmean(measures[1][0], axis=0)
        size = np.where(np.isfinite(size) & (size > 0), size, 0.0)
        yo = measures[1][0] * size[None, :]
        ok_o = ~np.isnan(yo)
        smooth_o = np.where(ok_o, _rolling_median(_fill(yo), 3), np.nan)
        shapes.append((yo, smooth_o, _edge_mean(yo, ok_o, _first_last(ok_o)[1], -1)))
    gave_back: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def kept_from(start: np.ndarray, noise_j: np.ndarray, j: int, m_i: int) -> np.ndarray:
        y_s, smooth_s, end_s = shapes[m_i]
        part = idx >= start[None, :]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            high_j = np.nanmax(np.where(part, smooth_s, np.nan), axis=0)
        begin = _edge_mean(y_s, ~np.isnan(y_s) & part, start, +1)
        fell_j = high_j - end_s
        limit_j = np.maximum(opts.giveback * (high_j - begin), opts.noise_multiple * noise_j)
        if m_i == 1:  # without a mean size (no count), the bytes' give-back stands
            fell_j = np.where(size > 0, fell_j, gave_back[(j, 0)][0])
            limit_j = np.where(size > 0, limit_j, gave_back[(j, 0)][1])
        gave_back[(j, m_i)] = (fell_j, limit_j)
        return fell_j <= limit_j

    fits: list[stats.GrowthFit] = []
    cand_start = []
    later = opts.onsets - 1
    for j in range(opts.onsets):
        start = first + np.floor(j / (opts.onsets + 1) * (last - first)).astype(np.intp)
        cand_start.append(start)
        mask = idx >= start[None, :]
        fb = stats.growth_fit(yb, x, scale, mask, z=zb, z_se=zse)
        fits.append(fb)
        # Two models of growth (a line through stationary noise, at full and at coarse resolution;
        # the drift of a random walk) on two measures (bytes; outstanding allocations, steadier
        # for busy tags of mixed sizes).
        for m_i, (y, y_coarse, z, z_coarse, z_se, z_se_coarse) in enumerate(measures):
            name = "bytes" if m_i == 0 else "outstanding"
            usable = np.ones(len(cols), bool) if m_i == 0 else has_o
            share = 1.0 if j == 0 else 1.0 / later
            w_line = TEST_WEIGHTS[(name, "line" if j == 0 else "line, later onset")] * share
            w_drift = TEST_WEIGHTS[(name, "drift" if j == 0 else "drift, later onset")] * share
            line = fb if m_i == 0 else stats.growth_fit(y, x, scale, mask, z=z, z_se=z_se)
            kept_j = kept_from(start, line.resid_sd * (1.0 if m_i == 0 else size), j, m_i)
            if w_line > 0:  # a test without budget is not run at all
                consider(line, w_line, j, m_i, 0, usable, kept_j)
            if w_drift > 0:
                consider(stats.drift_fit(y, x, scale, mask, z=z, z_se=z_se), w_drift, j, m_i, 1, usable, kept_j)
            if j == 0:
                coarse = stats.growth_fit(y_coarse, x_coarse, scale, z=z_coarse, z_se=z_se_coarse)
                consider(coarse, TEST_WEIGHTS[(name, "line, coarse")], j, m_i, 2, usable, kept_j)
    best = tiers[0].merged(tiers[1])
    best_p, best_j, best_m, best_model = best.p, best.j, best.m, best.model
    best_fit = best.fit
    p_growth = np.minimum(1.0, best_p)
    c = np.arange(len(cols))
    slope = np.choose(best_j, [f.slope for f in fits])
    se = np.choose(best_j, [f.se for f in fits])
    df = np.choose(best_j, [f.df for f in fits])
    from scipy.special import stdtrit

    half = stdtrit(df, 0.5 + opts.confidence / 2) * se
    start_b = np.choose(best_j, cand_start)
    st.t[cols], st.phi[cols], st.n_eff[cols] = best_fit["t"], best_fit["phi"], best_fit["n_eff"]
    st.measure[cols] = best_m
    st.model[cols] = best_model
    st.onset_j[cols] = best_j
    st.slope[cols], st.low[cols], st.high[cols] = slope, slope - half, slope + half
    w_low, w_high = fits[0].interval(opts.confidence)
    st.whole[0][cols], st.whole[1][cols], st.whole[2][cols] = fits[0].slope, w_low, w_high
    # Point-to-point noise of the unfiltered series: what a rise or fall must stand out from.
    steps = stats.step_noise(_take(prep.raw_fine, cols))
    st.noise[cols] = steps
    st.p[cols] = p_growth

    # Onset: a later candidate won; place it at the break of the best flat-then-linear fit before it.
    late = np.flatnonzero(best_j > 0)
    if len(late):
        sub = np.where(idx >= first[late][None, :], yb[:, late], np.nan)
        brk, ratio, _ = stats.hinge_onset(_fill(sub), x)
        lo_lim = np.choose(best_j - 1, cand_start, mode="clip")[late]
        brk = np.clip(brk, lo_lim, start_b[late])
        # Only a clear flat-then-growing shape has an onset worth naming.
        clear = ratio < 0.5
        st.onset_x[cols[late[clear]]] = x[brk[clear]]

    # Level of the growing part at its start and end (3 blocks), its high, what it gave back by the end.
    grow_part = idx >= start_b[None, :]
    start_level = _edge_mean(yb, ok & grow_part, start_b, +1)
    growth = end_level - start_level
    st.growth[cols] = growth
    # What the growing part gave back, on the measure of the test that carried the evidence.
    fell_all = np.stack([gave_back[(j, m)][0] for j in range(opts.onsets) for m in range(len(measures))])
    limit_all = np.stack([gave_back[(j, m)][1] for j in range(opts.onsets) for m in range(len(measures))])
    # The measure the shape statistics are read on: the test's, unless the count has no mean size.
    shape_m = np.where(size > 0, best_m, 0) if len(shapes) > 1 else best_m
    pick = best_j * len(measures) + shape_m
    st.fell_back[cols] = np.take_along_axis(fell_all, pick[None, :], axis=0)[0]
    st.fell_back_limit[cols] = np.take_along_axis(limit_all, pick[None, :], axis=0)[0]
    # Large falls counted inside every boot segment (a reboot's drop is no fall), and the highest
    # level reached before the growing part, earlier boots included (a cache that refills after a
    # reboot reaches the same height again; only a new high is growth beyond its cycles).  Read on
    # the measure of the test, as the give-back above.
    blk_ids = None
    if len(segs.points) > 1:
        ends = np.minimum((np.append(starts[1:], t_count) - 1) if starts is not None else np.arange(t_count),
                          t_count - 1)
        blk_ids = segs.ids[ends][:, cols]
        # A block that straddles a restart mixes two boots: it belongs to neither (its mean is no fall).
        begins = starts if starts is not None else np.arange(t_count)
        blk_ids = np.where(segs.ids[begins][:, cols] != blk_ids, -1, blk_ids)
    falls, before = _falls_and_before(smooth, _take(prep.every, cols) if prep.every is not None else smooth, steps,
                                      grow_part, blk_ids, opts)
    new_high = end_level - before >= 0.25 * np.maximum(growth, 0)
    if len(shapes) > 1 and (shape_m == 1).any():
        yo, smooth_o, end_o = shapes[1]
        every_o = yo if blk_ids is None or prep.every_outstanding is None \
            else _take(prep.every_outstanding, cols) * size[None, :]
        steps_o = stats.step_noise(np.where(ok, every_o, np.nan))
        begin_o = _edge_mean(yo, ~np.isnan(yo) & grow_part, start_b, +1)
        falls_o, before_o = _falls_and_before(smooth_o, every_o, steps_o, grow_part, blk_ids, opts)
        on_o = shape_m == 1
        falls = np.where(on_o, falls_o, falls)
        new_high = np.where(on_o, end_o - before_o >= 0.25 * np.maximum(end_o - begin_o, 0), new_high)
    st.falls[cols] = falls
    st.new_high[cols] = new_high

    # Levelled off: a tail whose rate is surely (99 %) below flat_share × the rate of the rise before it,
    # on the measure of the test (bytes, or outstanding allocations at the tag's mean size).
    seg_start_level = _edge_mean(yb, ok, first, +1)
    tails = _levelled_off(yb, zb, zse, x, first, last, steps, scale, opts)
    if len(shapes) > 1 and (shape_m == 1).any():
        on_o = np.flatnonzero(shape_m == 1)
        m_o = measures[1]
        z_o = None if m_o[2] is None else m_o[2][:, on_o]
        se_o = None if m_o[4] is None else m_o[4][on_o] * size[on_o]
        steps_o = stats.step_noise(shapes[1][0][:, on_o])
        tails_o = _levelled_off(shapes[1][0][:, on_o], z_o, se_o, x, first[on_o], last[on_o], steps_o, scale, opts)
        for whole, part in zip(tails, tails_o, strict=True):
            whole[on_o] = part
    levelled, ref_rate, level, level_since, tail_high = tails
    st.level[cols], st.level_since_x[cols], st.tail_high[cols] = level, level_since, tail_high
    st.levelled[cols] = levelled
    st.ref_rate[cols] = ref_rate
    st.growth[cols] = np.where(levelled, end_level - seg_start_level, growth)

    # Largest give-back of the segment: a rise to a peak, then a fall from it.
    fall, peak_i, _ = stats.drawdown(smooth)
    running_min = np.fmin.accumulate(np.where(ok, smooth, np.nan), axis=0)
    rise = smooth[peak_i, c] - running_min[peak_i, c]
    st.rise[cols], st.fall[cols] = np.nan_to_num(rise), np.nan_to_num(fall)
    st.peak_x[cols] = x[peak_i]
    st.ends_above_peak[cols] = end_level > smooth[peak_i, c] + np.maximum(opts.noise_multiple * steps, 0.1 * rise)

    if len(segs.points) > 1:
        _each_segment(st, cols, data, prep, x_full, segs, opts, scale)


def _levelled_off(yb: np.ndarray, zb: np.ndarray | None, zse: np.ndarray | None, x: np.ndarray, first: np.ndarray,
                  last: np.ndarray, steps: np.ndarray, scale: float,
                  opts: TrendOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(levelled off, rate before the tail, level, where the tail starts, tail rate bound) per column.

    A tail (the last 20, 35 or 50 %) whose rate is surely (99 %) below flat_share × the rate of
    the rise before it, and longer than 1.5 × the longest pause between the steps before it.
    """
    m = yb.shape[1]
    nb = len(x)
    idx = np.arange(nb)[:, None]
    ok = ~np.isnan(yb)
    seg_start_level = _edge_mean(yb, ok, first, +1)
    levelled = np.zeros(m, bool)
    ref_rate = np.full(m, np.nan)
    level = np.full(m, np.nan)
    level_since = np.full(m, np.nan)
    tail_high = np.full(m, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rise_steps = np.diff(yb, axis=0)
        span_y = np.nanmax(yb, axis=0) - np.nanmin(yb, axis=0)
        jumps = rise_steps > np.maximum(6 * steps, 0.05 * span_y)[None, :]  # (nb - 1, m): step up after block i
    # Two levels of the segment differ by at most √2 × its wander about a smooth path (any φ).
    wander = stats.level_noise(np.where(ok, yb, np.nan), x)
    x_b = np.where(ok, x[:, None], np.nan)
    z99 = 2.326
    for share in (0.8, 0.65, 0.5):
        t0 = first + np.floor(share * (last - first)).astype(np.intp)
        in_tail = idx >= t0[None, :]
        tail = stats.growth_fit(yb, x, scale, in_tail, z=zb, z_se=zse)
        head = stats.growth_fit(yb, x, scale, ~in_tail, z=zb, z_se=zse)
        # The tail's rate bound: its slope's 99 % upper bound, or (often much tighter when the
        # noise is strongly autocorrelated) the rise from its first three blocks to its last
        # three plus 2.33 × √2 × the wander, over the time between them.
        rise_start = _edge_mean(yb, ok & in_tail, t0, +1)
        rise_end = _edge_mean(yb, ok, last, -1)
        dur = _edge_mean(x_b, ok, last, -1) - _edge_mean(x_b, ok & in_tail, t0, +1)
        with np.errstate(invalid="ignore", divide="ignore"):
            up_level = np.where(dur > 0, (rise_end - rise_start + z99 * np.sqrt(2) * wander * scale) / dur, np.inf)
        # ... only after a rise that is growth by itself (a flat tag has nothing to level off from).
        rose = rise_start - seg_start_level > z99 * np.sqrt(2) * wander * scale
        up_level = np.where(rose, up_level, np.inf)
        up = np.fmin(tail.upper(0.99), up_level)
        # A pause no longer than the pauses between the steps before it is no plateau (a staircase).
        long_pause = x[last] - x[np.minimum(t0, nb - 1)] > 1.5 * _longest_pause(jumps, x, t0)
        flat = (tail.n >= 5) & (head.slope > 0) & (up < opts.flat_share * head.slope) & long_pause
        levelled |= flat
        ref_rate = np.where(flat | np.isnan(ref_rate), head.slope, ref_rate)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            level = np.where(flat, np.nanmean(np.where(in_tail, yb, np.nan), axis=0), level)
        level_since = np.where(flat, x[np.minimum(t0, nb - 1)], level_since)
        tail_high = np.where(flat | np.isnan(tail_high), up, tail_high)
    return levelled, ref_rate, level, level_since, tail_high


def _falls_and_before(smooth: np.ndarray, every: np.ndarray, steps: np.ndarray, grow_part: np.ndarray,
                      blk_ids: np.ndarray | None, opts: TrendOptions) -> tuple[np.ndarray, np.ndarray]:
    """(large falls inside each boot segment, highest smoothed level before the growing part).

    ``smooth`` is the analysed segment (blocks, smoothed), ``every`` the whole series in blocks
    (every boot), ``blk_ids`` the boot segment of each block (None: one segment only; -1: a
    block of no segment).
    """
    with np.errstate(invalid="ignore"):
        before = np.where(~grow_part & ~np.isnan(smooth), smooth, -np.inf).max(axis=0)
    if blk_ids is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rng = np.nanmax(smooth, axis=0) - np.nanmin(smooth, axis=0)
        return stats.large_falls(smooth, np.maximum(0.5 * rng, opts.noise_multiple * steps)), before
    smooth_all = np.where(np.isnan(every), np.nan, _rolling_median(_fill(every), 3))
    falls = np.zeros(smooth.shape[1], dtype=np.intp)
    for s_id in range(int(blk_ids.max()) + 1):
        part = np.where(blk_ids == s_id, smooth_all, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            span = np.nanmax(part, axis=0) - np.nanmin(part, axis=0)
        falls += stats.large_falls(part, np.nan_to_num(np.maximum(0.5 * span, opts.noise_multiple * steps)))
    before = np.fmax(before, np.where(~grow_part, np.nan_to_num(smooth_all, nan=-np.inf), -np.inf).max(axis=0))
    return falls, before


class _BestTest:
    """The test with the smallest Bonferroni-weighted p so far, per series (see _long_path)."""

    def __init__(self, m: int) -> None:
        self.p = np.full(m, np.inf)
        self.j = np.zeros(m, dtype=np.intp)
        self.m = np.zeros(m, dtype=np.intp)
        self.model = np.zeros(m, dtype=np.intp)
        self.fit: dict[str, np.ndarray] = {"t": np.zeros(m), "phi": np.zeros(m), "n_eff": np.full(m, np.nan)}

    def offer(self, adj: np.ndarray, g: stats.GrowthFit, j: int, m_i: int, model: int) -> None:
        better = adj < self.p
        self.p[better] = adj[better]
        self.j[better], self.m[better], self.model[better] = j, m_i, model
        for name, arr in self.fit.items():
            arr[better] = getattr(g, name)[better]

    def merged(self, preferred: _BestTest) -> _BestTest:
        """``preferred`` where it found a test, else this one."""
        use = np.isfinite(preferred.p)
        out = _BestTest(len(self.p))
        for name in ("p", "j", "m", "model"):
            setattr(out, name, np.where(use, getattr(preferred, name), getattr(self, name)))
        out.fit = {k: np.where(use, preferred.fit[k], v) for k, v in self.fit.items()}
        return out


def _longest_pause(jumps: np.ndarray, x: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Longest time between consecutive upward jumps before index ``before`` (0 with fewer than 2 jumps)."""
    out = np.zeros(jumps.shape[1])
    counts = jumps.sum(axis=0)
    for c in np.flatnonzero(counts >= 2):
        at = np.flatnonzero(jumps[:, c]) + 1
        at = at[at <= before[c]]
        if len(at) >= 2:
            out[c] = float(np.max(np.diff(x[at])))
    return out


def _edge_mean(y: np.ndarray, ok: np.ndarray, at: np.ndarray, direction: int, width: int = 3) -> np.ndarray:
    """Mean of the first ``width`` present points from index ``at`` on (direction +1) or back (−1)."""
    n, m = y.shape
    idx = np.arange(n)[:, None]
    side = ok & ((idx >= at[None, :]) if direction > 0 else (idx <= at[None, :]))
    # The points one at a time (the nearest left), instead of counting along every column; added
    # in time order, as a column sum over the selected points would add them.
    side = np.ascontiguousarray(side if direction > 0 else side[::-1])
    values = y if direction > 0 else y[::-1]
    cols = np.arange(m)
    found = []
    for _ in range(width):
        pos = np.argmax(side, axis=0)
        hit = side[pos, cols]
        found.append((values[pos, cols], hit))
        side[pos, cols] = False
    if direction < 0:
        found.reverse()
    total = np.zeros(m)
    count = np.zeros(m, dtype=np.intp)
    for value, hit in found:
        total = np.where(hit, total + value, total)
        count += hit
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _each_segment(st: SeriesStatistics, cols: np.ndarray, data: SeriesSet, prep: _Prepared,
                  x_full: np.ndarray, segs: BootSegments, opts: TrendOptions, scale: float) -> None:
    """"Keeps growing in each boot segment": one slope common to every usable segment, a second route.

    Each segment keeps its own level: a reboot restarts it, and joining the segments end to end
    would read the restart's random step as growth.  The evidence is the segments' own one-sided
    p-values combined (Stouffer, weights √points), at full and at coarse resolution, half the
    budget each; the rate reported is the slopes pooled by inverse variance.  Every earlier segment
    must have grown to its end (a cache that refills after each boot levels off in each); the
    latest may have just begun.
    """
    usable = segs.points[:, cols] > opts.short_points
    multi = usable.sum(axis=0) >= 2
    if not multi.any():
        return
    sub = cols[multi]
    t_count = len(x_full)
    scales = []
    for n_blocks in (opts.max_points, opts.coarse_points):
        starts = _blocks(t_count, n_blocks)
        scales.append((starts, _block_mean(x_full[:, None], starts)[:, 0]))
    weight_sum = [np.zeros(len(sub)), np.zeros(len(sub))]
    weighted = [np.zeros(len(sub)), np.zeros(len(sub))]
    dof = [np.zeros(len(sub)), np.zeros(len(sub))]
    all_grow = np.ones(len(sub), bool)
    latest_up = [np.full(len(sub), np.inf), np.full(len(sub), np.inf)]  # the latest segment's own 99 % bound
    seg_p: list[list[np.ndarray]] = [[], []]  # each segment's own one-sided p, per resolution
    seg_w: list[list[np.ndarray]] = [[], []]
    for s in range(segs.points.shape[0]):
        use = usable[s, multi]
        if not use.any():
            continue
        parts = prep.segment_blocks(data, segs, s, sub, [layout for layout, _ in scales], x_full)
        for k, (_, x) in enumerate(scales):
            y, z_raw = parts[k]
            z = z_se = None
            if z_raw is not None:
                z = _covariate(z_raw, y)
                y, z_se = _load_adjusted(y, x, z)
            g = stats.growth_fit(y, x, scale, z=z, z_se=z_se)
            ok = use & np.isfinite(g.se) & (g.se > 0) & (g.n >= 5)
            w = np.where(ok, 1.0 / np.where(ok, g.se, 1.0) ** 2, 0.0)
            weight_sum[k] += w
            weighted[k] += w * np.nan_to_num(g.slope)
            dof[k] += np.where(ok, g.df, 0.0)
            seg_p[k].append(np.where(ok, g.p, np.nan))
            seg_w[k].append(np.where(ok, np.sqrt(segs.points[s, sub]), 0.0))
            if k == 0:
                first, last = _first_last(~np.isnan(y))
                mid = first + (last - first) // 2
                tail = stats.growth_fit(y, x, scale, np.arange(len(x))[:, None] >= mid[None, :], z=z, z_se=z_se)
                latest = s == segs.analysed[sub]
                grows = (g.slope > 0) & (latest | ~(tail.upper(0.99) < opts.flat_share * g.slope))
                all_grow &= ~use | grows
            if np.isfinite(g.se).any():
                latest_up[k] = np.where(use & (s == segs.analysed[sub]), g.upper(0.99), latest_up[k])
    p_each = np.ones(len(sub))
    pooled = np.full(len(sub), np.nan)
    pooled_se = np.full(len(sub), np.nan)
    pooled_df = np.full(len(sub), np.nan)
    for k in range(2):
        with np.errstate(invalid="ignore", divide="ignore"):
            rate_k = weighted[k] / weight_sum[k]
            se_k = 1.0 / np.sqrt(weight_sum[k])
        # The evidence: the segments' own p-values combined (Stouffer, weights √points fixed by the
        # design), each already honest about its autocorrelation and degrees of freedom.  A t
        # pooled by inverse variance would trust the noisy standard errors of short segments.
        p_k = stats.combine_one_sided(np.array(seg_p[k]), np.array(seg_w[k]))
        # Growth "in each" must hold in the latest segment too: its own rate must not be surely
        # below the pooled one (a tag flat since the last boot does not keep growing).
        p_k = np.where(latest_up[k] >= rate_k, p_k, 1.0)
        won = (2 * p_k < p_each) | np.isnan(pooled)
        pooled, pooled_se = np.where(won, rate_k, pooled), np.where(won, se_k, pooled_se)
        pooled_df = np.where(won, np.maximum(dof[k], 1.0), pooled_df)
        p_each = np.minimum(p_each, 2 * p_k)
    p_each = np.where(all_grow, np.minimum(p_each, 1.0), 1.0)
    # Two routes to "leak" (latest segment, every segment): half the budget each.
    st.each[sub] = p_each < st.p[sub]
    st.each_rate[sub], st.each_se[sub], st.each_df[sub] = pooled, pooled_se, pooled_df
    st.each_count[sub] = usable[:, multi].sum(axis=0)
    st.p[sub] = np.minimum(1.0, 2 * np.minimum(st.p[sub], p_each))


def _short_path(st: SeriesStatistics, cols: np.ndarray, seg_raw: np.ndarray, x_full: np.ndarray,
                first_i: np.ndarray, last_i: np.ndarray) -> None:
    """A test window (a few snapshots): the tag's largest steps against the steps of comparable tags.

    For each k, p1 = P(a step of a comparable tag ≥ the tag's k-th largest step), from the pooled
    steps of the other tags of the window of similar size (within ×4; all moving tags if fewer
    than 20); the chance that k or more of the tag's n steps reach it is the binomial tail
    P(Bin(n, p1) ≥ k).  p is the smallest tail over k, times n (Bonferroni over k).  Growth in
    every interval is k = n: p1 ^ n.  A k counts only when every one of those k steps is larger
    than the tag's largest step down.  Without 5 comparable tags: the sign test, or a drift t-test
    on the tag's own steps.
    """
    from scipy.stats import binom

    y = seg_raw[:, cols]
    # Steps between consecutive present points (gaps bridged).
    steps = [np.diff(y[~np.isnan(y[:, i]), i]) for i in range(len(cols))]
    level = np.array([np.nanmedian(y[:, i]) if (~np.isnan(y[:, i])).any() else 0.0 for i in range(len(cols))])
    moving = np.array([bool(len(s)) and bool(np.any(s != 0)) for s in steps])
    log_level = np.log(np.maximum(level, 1.0))
    for i, c in enumerate(cols):
        s = steps[i]
        if not len(s):
            continue
        first, last = first_i[c], last_i[c]
        values = y[~np.isnan(y[:, i]), i]
        growth = float(values[-1] - values[0])
        st.growth[c] = growth
        span = float(x_full[last] - x_full[first])
        st.slope[c] = growth / span if span > 0 else np.nan
        st.all_up[c] = bool(np.all(s > 0))
        # What came back by the end (the settle period): at most half of the high above the start.
        st.fell_back[c] = float(values.max() - values[-1])
        st.fell_back_limit[c] = 0.5 * float(values.max() - values[0])
        others = moving.copy()
        others[i] = False
        near = others & (np.abs(log_level - log_level[i]) <= np.log(4))
        ref_set = near if near.sum() >= 20 else others
        st.reference[c] = int(ref_set.sum())
        top = np.sort(s)[::-1]
        n_steps = len(s)
        if top[0] <= 0 or growth <= 0:
            st.p[c] = 1.0
            st.smallest_step[c] = float(top[0])
            continue
        if ref_set.sum() >= 5:
            pooled = np.sort(np.concatenate([steps[j] for j in np.flatnonzero(ref_set)]))
            ups = top[top > 0]
            above = len(pooled) - np.searchsorted(pooled, ups, side="left")
            p1 = (1 + above) / (1 + len(pooled))
            tails = binom.sf(np.arange(len(ups)), n_steps, p1)  # P(Bin ≥ k), k = 1..len(ups)
        else:
            # Too few comparable tags: the sign test, or the tag's own steps as the noise (a drift
            # t-test on them), whichever says more, with the budget split between the two.
            ups = top[top > 0]
            tails = binom.sf(np.arange(len(ups)), n_steps, 0.5)
            own = stats.drift_fit(values[:, None], x_full[~np.isnan(y[:, i])]).p[0]
            tails = np.minimum(tails * 2, 2 * own / max(n_steps, 1))
        # Only steps up that no step down of the tag's own matches count: a noisy tag of large
        # allocations has large steps both ways, whatever its neighbours do.
        largest_fall = float(max(0.0, -s.min()))
        # ... and they must be at least half of the steps: growth in most intervals, not a few jumps.
        k_values = np.arange(1, len(ups) + 1)
        tails = np.where((ups > largest_fall) & (2 * k_values >= n_steps), tails, 1.0)
        best = int(np.argmin(tails))
        st.p[c] = float(min(1.0, tails[best] * n_steps))
        st.smallest_step[c] = float(ups[best])
        st.top_steps[c] = best + 1


class _Listed:
    """The arrays of a :class:`SeriesStatistics` as Python lists, for the loop that builds one row at a time."""

    def __init__(self, st: SeriesStatistics) -> None:
        self.__dict__.update({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in vars(st).items()})

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


# -- stage 3: verdict rules -----------------------------------------------------------------------


def verdict_rules(st: SeriesStatistics, opts: TrendOptions, timed: bool) -> np.ndarray:
    """Stage 3: the verdicts, first match wins (docs/analysis.md lists the rules)."""
    k = len(st.n_points)
    out = np.full(k, Verdict.STABLE, dtype=object)
    span_h = st.window_x if timed else np.full(k, np.inf)
    grows = st.tested & (st.slope > 0)
    growing_part = np.where(np.isnan(st.onset_x), st.window_x, st.window_x - st.onset_x)
    big = (st.growth >= opts.min_growth) | (np.nan_to_num(st.slope) * np.maximum(growing_part, 0) >= opts.min_growth)
    # A cycling tag (two or more large falls) whose growth starts late in the segment is its latest
    # refill unless it has climbed above everything before.
    # So is a rise that fills the whole latest boot segment of a tag that fell back twice before
    # (a sawtooth cut by reboots: its latest segment is one clean rise, no higher than its peaks).
    cyclic = (st.falls >= 2) & ((st.onset_j > 0) | (st.segment > 1)) & ~st.each
    kept = (st.fell_back <= st.fell_back_limit) & (~cyclic | st.new_high)
    unbounded = ~st.levelled
    shape_ok = np.where(st.short, st.fell_back <= st.fell_back_limit, kept & unbounded)
    long_enough = span_h >= opts.min_span_hours if timed else np.ones(k, bool)
    q = np.nan_to_num(st.q, nan=1.0)
    leak = grows & big & shape_ok & (q <= opts.alpha) & long_enough
    # Recovers: a real rise to a peak, at least ``giveback`` of it returned, and not since risen above it.
    real = np.maximum(opts.noise_multiple * st.noise, opts.min_growth / 2)
    recovers = (st.tested & ~st.short & ~leak & (st.rise >= opts.min_growth) & (st.rise > real)
                & (st.fall > real) & (st.fall >= opts.giveback * st.rise) & ~st.ends_above_peak)
    suspect = ~leak & ~recovers & grows & big & shape_ok & (q <= opts.suspect_alpha)
    out[leak] = Verdict.LEAK
    out[recovers] = Verdict.RECOVERS
    out[suspect] = Verdict.SUSPECT
    out[~st.tested] = Verdict.INSUFFICIENT_DATA
    return out


# -- the analysis ----------------------------------------------------------------------------------


def _sort_rate(row: TrendRow) -> float:
    """The rate, or the growth when there is none; a rate of 0.0 is a rate, not a missing one."""
    if row.rate_bytes_per_hour is not None:
        return row.rate_bytes_per_hour
    return float(row.stats.growth_bytes) if row.stats else 0.0


def analyze(snapshots: Sequence[Snapshot], options: TrendOptions | None = None) -> TrendResult:
    """One verdict per (tag, pool) series of ``snapshots`` (in time order), most suspicious first."""
    opts = options or TrendOptions()
    snaps = _one_scope(list(snapshots))
    data = build_series(snaps)
    t_count, k = len(data.times), len(data.tags)
    summary = _summary(data, snaps)
    hours = data.times / 3600.0 if data.timed else data.times
    totals = _pool_total_trends(data, hours, opts) if t_count else []
    if k == 0 or t_count == 0:
        summary["verdicts"] = dict.fromkeys(VERDICTS, 0)
        return TrendResult([], summary, None, data, totals)

    segs = segment_by_boot(data, opts.min_points)
    with stats.one_blas_thread():
        st = compute_statistics(data, segs, opts)
    verdict = verdict_rules(st, opts, data.timed)
    # Rows that are not growing report the rate of their whole segment, not of the best-looking onset.
    calm = (verdict != Verdict.LEAK) & (verdict != Verdict.SUSPECT) & ~st.short
    st.slope = np.where(calm, st.whole[0], st.slope)
    st.low = np.where(calm, st.whole[1], st.low)
    st.high = np.where(calm, st.whole[2], st.high)
    st.onset_x = np.where(calm, np.nan, st.onset_x)
    # Rows whose evidence is growth in every boot segment report the pooled rate of that route.
    pooled = st.each & ~calm & ~st.short & np.isfinite(st.each_rate)
    if pooled.any():
        from scipy.special import stdtrit

        half = stdtrit(np.where(pooled, st.each_df, 1.0), 0.5 + opts.confidence / 2) * np.where(pooled, st.each_se, 0.0)
        st.slope = np.where(pooled, st.each_rate, st.slope)
        st.low = np.where(pooled, st.each_rate - half, st.low)
        st.high = np.where(pooled, st.each_rate + half, st.high)
        st.onset_x = np.where(pooled, np.nan, st.onset_x)

    raw = data.values["bytes"]
    present = ~np.isnan(raw)
    first_i = np.argmax(present, axis=0)
    last_i = t_count - 1 - np.argmax(present[::-1], axis=0)
    cols = np.arange(k)
    bytes_first = raw[first_i, cols]
    bytes_last = raw[last_i, cols]

    suspicious = np.flatnonzero((verdict == Verdict.LEAK) | (verdict == Verdict.SUSPECT))
    groups = np.zeros(k, dtype=np.intp)
    if len(suspicious) >= 2:
        starts = _blocks(t_count, opts.max_points)
        filled = _fill(_block_mean(data.stitched("bytes")[:, suspicious], starts))
        groups[suspicious] = stats.lockstep_groups(np.diff(filled, axis=0), opts.lockstep)

    # Allocations per hour for the leak and suspect rows: the slope of Allocs − Frees in the analysed segment.
    allocs_rate = np.full(k, np.nan)
    outstanding = _outstanding(data, suspicious)
    if outstanding is not None and data.timed and len(suspicious):
        in_seg = segs.mask(segs.analysed)[:, suspicious]
        o = np.where(in_seg, outstanding, np.nan)
        rates = stats.growth_fit(o, hours).slope
        enough_o = (~np.isnan(o)).sum(axis=0) >= 3
        allocs_rate[suspicious[enough_o]] = rates[enough_o]
    headroom = _headroom(data)
    n_resets, n_wraps = data.resets.sum(axis=0).tolist(), data.wraps.sum(axis=0).tolist()
    # The loop reads Python numbers: indexing numpy arrays one element at a time costs more than the rest.
    sv = _Listed(st)
    verdicts, per_hour = verdict.tolist(), allocs_rate.tolist()
    firsts, lasts, group_of = bytes_first.tolist(), bytes_last.tolist(), groups.tolist()
    last_seen, pool_codes = last_i.tolist(), data.pool_codes.tolist()
    measures = ("bytes", "outstanding")
    rows: list[TrendRow] = []
    for c in range(k):
        v = verdicts[c]
        tested = bool(sv.tested[c])
        onset_dt = _stamp(data, sv.onset_x[c]) if tested and np.isfinite(sv.onset_x[c]) else None
        apr = None if np.isnan(per_hour[c]) else float(per_hour[c])
        exh = None
        if v in (Verdict.LEAK, Verdict.SUSPECT) and data.timed and np.isfinite(sv.low[c]):
            exh = _row_exhaustion(headroom, POOLS[pool_codes[c]], sv.slope[c], sv.low[c], sv.high[c], data)
        record = TrendStatistics(
            p_value=float(sv.p[c]) if tested else None,
            q_value=float(sv.q[c]) if tested and np.isfinite(sv.q[c]) else None,
            t_stat=float(sv.t[c]),
            null_scale=float(sv.null_scale),
            autocorrelation=float(sv.phi[c]),
            effective_points=float(sv.n_eff[c]),
            measure=measures[int(sv.measure[c])],
            model=MODELS[int(sv.model[c])],
            path="short" if sv.short[c] else ("long" if tested else "none"),
            segment=int(sv.segment[c]),
            segments=int(sv.segments[c]),
            pooled_segments=int(sv.each_count[c]) if sv.each[c] and v in (Verdict.LEAK, Verdict.SUSPECT) else 0,
            segment_points=int(sv.segment_points[c]),
            intervals=int(sv.intervals[c]),
            intervals_up=int(sv.ups[c]),
            intervals_down=int(sv.downs[c]),
            growth_bytes=float(sv.growth[c]),
            levelled_off=bool(sv.levelled[c]),
            level_bytes=float(sv.level[c]) if sv.levelled[c] else None,
            tail_rate_high=float(sv.tail_high[c]) if np.isfinite(sv.tail_high[c]) else None,
            rate_before_tail=float(sv.ref_rate[c]) if np.isfinite(sv.ref_rate[c]) else None,
            fell_back_bytes=float(sv.fell_back[c]),
            large_falls=int(sv.falls[c]),
            rise_bytes=float(sv.rise[c]),
            fall_bytes=float(sv.fall[c]),
            noise_bytes=float(sv.noise[c]),
            reference_tags=int(sv.reference[c]),
            smallest_step_bytes=float(sv.smallest_step[c]) if np.isfinite(sv.smallest_step[c]) else None,
            top_steps=int(sv.top_steps[c]),
            resets=int(n_resets[c]),
            wraps=int(n_wraps[c]),
            points_analyzed=int(sv.segment_points[c]),
            last_seen_index=int(last_seen[c]),
        )
        rate_ok = tested and np.isfinite(sv.slope[c])
        rows.append(
            TrendRow(
                tag=data.tags[c],
                pool=POOLS[pool_codes[c]],
                verdict=v,
                reason="",
                rate_bytes_per_hour=float(sv.slope[c]) if rate_ok and data.timed else None,
                rate_low=float(sv.low[c]) if rate_ok and data.timed and np.isfinite(sv.low[c]) else None,
                rate_high=float(sv.high[c]) if rate_ok and data.timed and np.isfinite(sv.high[c]) else None,
                allocs_per_hour=apr,
                freed_ratio=None if np.isnan(sv.freed[c]) else float(sv.freed[c]),
                onset=onset_dt,
                exhaustion=exh,
                group=int(group_of[c]) or None,
                n_points=int(sv.n_points[c]),
                bytes_first=None if np.isnan(firsts[c]) else int(firsts[c]),
                bytes_last=None if np.isnan(lasts[c]) else int(lasts[c]),
                stats=record,
            )
        )
        rows[-1].reason = _reason(rows[-1], sv, c, data, segs, opts)
    rows.sort(key=lambda r: (_RANK[str(r.verdict)], -_sort_rate(r), r.tag, r.pool))
    summary["verdicts"] = {v: sum(1 for r in rows if r.verdict == v) for v in VERDICTS}
    summary["null_scale"] = _num(st.null_scale)
    return TrendResult(rows, summary, _system_exhaustion(data, hours, opts), data, totals)


def _pool_total_trends(data: SeriesSet, hours: np.ndarray, opts: TrendOptions) -> list[dict[str, Any]]:
    """Whether each pool's total grows: the answer a log of totals alone (performance counters) can give."""
    out: list[dict[str, Any]] = []
    for pool, key in (("nonpaged", "nonpaged_kb"), ("paged", "paged_kb")):
        values = data.totals.get(key)
        if values is None:
            continue
        ok = ~np.isnan(values)
        n = int(ok.sum())
        if not n:
            continue
        y = values[ok] * 1024.0
        entry: dict[str, Any] = {"pool": pool, "points": n, "bytes_first": int(y[0]), "bytes_last": int(y[-1]),
                                 "rate_bytes_per_hour": None, "p_value": None, "verdict": "insufficient-data"}
        if n >= opts.min_points and data.timed:
            fit = stats.growth_fit(y[:, None], hours[ok])
            slope = float(fit.slope[0])
            # One-sided p of the direction the slope points to (growth_fit tests growth; -y tests shrinking).
            p = float(fit.p[0]) if slope >= 0 else float(stats.growth_fit(-y[:, None], hours[ok]).p[0])
            entry["rate_bytes_per_hour"] = _num(slope)
            entry["p_value"] = _num(p)
            # Growth must be significant and matter: at least 1 % of the pool over the span.
            span = float(hours[ok][-1] - hours[ok][0])
            grows = p < opts.alpha and slope > 0 and slope * span >= 0.01 * max(float(y[0]), 1.0)
            shrinks = p < opts.alpha and slope < 0 and -slope * span >= 0.01 * max(float(y[0]), 1.0)
            entry["verdict"] = "grows" if grows else ("shrinks" if shrinks else "steady")
        out.append(entry)
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _q(v: float | None) -> str:
    if v is None:
        return "q=-"
    return "q<1e-300" if v < 1e-300 else f"q={v:.2g}"


def _reason(row: TrendRow, st: _Listed, c: int, data: SeriesSet, segs: BootSegments,
            opts: TrendOptions) -> str:
    rec = row.stats
    assert rec is not None
    unit = "/h" if data.timed else "/snapshot"
    seg_note = ""
    if rec.segments > 1 and rec.segment >= 1:
        first_t = int(st.segment_start[c])
        when = _clock(data.timestamps[first_t] if data.timed else None, f"snapshot {first_t}")
        seg_note = f", boot segment {rec.segment} of {rec.segments} (since {when})"
    extra = ""
    if rec.wraps:
        extra += f", {rec.wraps} 32-bit wrap{'s' if rec.wraps > 1 else ''} unwrapped"
    if rec.last_seen_index < len(data.times) - 1:
        seen = rec.last_seen_index
        stamp = data.timestamps[seen] if data.timed else None
        extra += f", not seen after {_clock(stamp, f'snapshot {seen}')}"
    if row.verdict == Verdict.INSUFFICIENT_DATA:
        noun = "snapshot" if row.n_points == 1 else "snapshots"
        change = ""
        if row.n_points > 1 and row.bytes_first is not None and row.bytes_last is not None:
            delta = row.bytes_last - row.bytes_first
            change = f"; {format_size(delta, signed=True) if delta else 'no change'} from first to last"
        where = ""
        if rec.segments > 1 and row.n_points >= opts.min_points:
            where = f" in any of its {rec.segments} boot segments"
        return f"only {row.n_points} {noun} with this tag{where} (need {opts.min_points}){change}"
    freed = f", {_pct(row.freed_ratio)} freed" if row.freed_ratio is not None else ""
    slope, low, high = st.slope[c], st.low[c], st.high[c]
    if rec.path == "short":
        span = st.window_x[c]
        over = format_duration(timedelta(hours=float(span))) if data.timed else f"{rec.segment_points - 1} intervals"
        step = format_size(rec.smallest_step_bytes, signed=True)
        which = "every step" if rec.top_steps >= rec.intervals else f"{rec.top_steps} of {rec.intervals} steps"
        if rec.reference_tags >= 5:
            against = f"{which} ≥ {step}, rare among the steps of {rec.reference_tags} comparable tags"
        else:
            against = f"{which} ≥ {step}, measured against its own steps (fewer than 5 comparable tags)"
        head = (f"grew in {rec.intervals_up} of {rec.intervals} intervals, "
                f"{format_size(rec.growth_bytes, signed=True)} over {over}; {against}, {_q(rec.q_value)}")
        if row.verdict == Verdict.LEAK:
            return f"{head}, kept at the end{freed}{seg_note}{extra}"
        if row.verdict == Verdict.SUSPECT:
            why = _weaker(rec, data, st, c, opts)
            return f"{head}{freed}, weaker evidence ({why}){seg_note}{extra}"
        if rec.growth_bytes > 0 and rec.fell_back_bytes > st.fell_back_limit[c] and rec.q_value is not None \
                and rec.q_value <= opts.suspect_alpha:
            return f"{head}, but gave {format_size(rec.fell_back_bytes)} back by the end{freed}{seg_note}{extra}"
        return (f"test window: grew in {rec.intervals_up} of {rec.intervals} intervals, net "
                f"{format_size(rec.growth_bytes, signed=True)}, {_q(rec.q_value)}{freed}{seg_note}{extra}")
    lo, hi = format_size(low, signed=True), format_size(high, signed=True)
    rate = f"{format_size(slope, signed=True)}{unit} [{lo}, {hi}]"
    grew = f"grew in {rec.intervals_up} of {rec.intervals} intervals"
    if rec.pooled_segments:
        grew = f"kept growing in each of {rec.pooled_segments} boot segments, pooled"
    since = f" since {_clock(row.onset, '')}" if row.onset else ""
    measure = " (outstanding allocations)" if rec.measure == "outstanding" else ""
    if row.verdict == Verdict.LEAK:
        return (f"{grew}, {rate}{since}, {_q(rec.q_value)}{measure}{freed}, no recovery, still growing at the end"
                f"{seg_note}{extra}")
    if row.verdict == Verdict.SUSPECT:
        why = _weaker(rec, data, st, c, opts)
        return f"{grew}, {rate}{since}, {_q(rec.q_value)}{freed}, weaker evidence ({why}){seg_note}{extra}"
    if row.verdict == Verdict.RECOVERS:
        when = _clock(_stamp(data, st.peak_x[c]), f"point {st.peak_x[c]:.0f}")
        share = rec.fall_bytes / max(rec.rise_bytes, 1.0)
        back = "below where the rise began" if share > 1.0 else f"{100 * share:.0f} % of the rise"
        return (f"rose {format_size(rec.rise_bytes)} to a peak at {when}, then fell {format_size(rec.fall_bytes)} "
                f"({back}){freed}{seg_note}{extra}")
    # stable
    if rec.levelled_off and rec.rate_before_tail:
        since_lvl = _clock(_stamp(data, st.level_since_x[c]), f"point {st.level_since_x[c]:.0f}")
        return (f"grew {format_size(rec.growth_bytes, signed=True)}, then levelled off at "
                f"{format_size(rec.level_bytes)} since {since_lvl} (tail rate at most "
                f"{format_size(rec.tail_rate_high, signed=True)}{unit} against "
                f"{format_size(rec.rate_before_tail, signed=True)}{unit} before)"
                f"{freed}{seg_note}{extra}")
    net = format_size(rec.growth_bytes, signed=True)
    return f"no sustained growth: {rate}, {_q(rec.q_value)}, net {net}{freed}{seg_note}{extra}"


def _weaker(rec: TrendStatistics, data: SeriesSet, st: _Listed, c: int, opts: TrendOptions) -> str:
    """What a suspect row lacks for a leak."""
    why = []
    if rec.q_value is None or rec.q_value > opts.alpha:
        why.append(_q(rec.q_value))
    if data.timed and st.window_x[c] < opts.min_span_hours:
        why.append(f"only {format_duration(timedelta(hours=float(st.window_x[c])))} observed")
    return ", ".join(why) or "borderline"


def _one_scope(snaps: list[Snapshot]) -> list[Snapshot]:
    """Keep the most frequent scope: system and session pools are different series."""
    scopes = {s.scope for s in snaps}
    if len(scopes) <= 1:
        return snaps
    counts: dict[str, int] = {}
    for s in snaps:
        counts[s.scope] = counts.get(s.scope, 0) + 1
    keep = max(counts, key=lambda sc: (counts[sc], sc == "system"))
    return [s for s in snaps if s.scope == keep]


def _summary(data: SeriesSet, snaps: Sequence[Snapshot]) -> dict[str, Any]:
    start = data.timestamps[0] if data.timed and data.timestamps else None
    end = data.timestamps[-1] if data.timed and data.timestamps else None
    return {
        "snapshots": len(snaps),
        "series": len(data.tags),
        "timed": data.timed,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "span_hours": round((end - start).total_seconds() / 3600.0, 4) if start and end else None,
        "scope": snaps[0].scope if snaps else None,
        "reboots": [data.timestamps[t].isoformat() if data.timed else t for t in data.reboots],  # type: ignore[union-attr]
    }


def _outstanding(data: SeriesSet, cols: np.ndarray) -> np.ndarray | None:
    """Allocs - Frees of the given columns, restarts stitched (None without counters)."""
    if "allocs" in data.values and "frees" in data.values and len(cols):
        o = data.values["allocs"][:, cols] - data.values["frees"][:, cols]
        if not np.isnan(o).all():
            from analyzer.analysis.series import stitch

            return stitch(o, data.resets[:, cols])
    return None


def _headroom(data: SeriesSet) -> dict[str, float]:
    """Latest free memory (bytes) that each pool's growth consumes."""
    out: dict[str, float] = {}
    tot = data.totals

    def last(key: str) -> float:
        arr = tot.get(key)
        if arr is None:
            return np.nan
        ok = arr[~np.isnan(arr)]
        return float(ok[-1]) if len(ok) else np.nan

    avail = last("avail_kb")
    commit, limit = last("commit_kb"), last("commit_limit_kb")
    if np.isfinite(avail):
        out["available memory"] = avail * 1024
    if np.isfinite(commit) and np.isfinite(limit):
        out["commit limit"] = (limit - commit) * 1024
    return out


def _row_exhaustion(headroom: dict[str, float], pool: str, rate: float, low: float, high: float,
                    data: SeriesSet) -> dict[str, Any] | None:
    # Nonpaged pool is resident: it eats available memory.  Paged pool is charged to commit.
    order = ["available memory", "commit limit"] if pool == "nonpaged" else ["commit limit", "available memory"]
    for resource in order:
        if resource in headroom:
            iv = stats.time_to_exhaustion(headroom[resource], rate, low, high)
            if iv is None:
                return None
            return {"resource": resource, "headroom_bytes": int(headroom[resource]), **_dated(iv, data)}
    return None


def _dated(iv: dict[str, float], data: SeriesSet) -> dict[str, Any]:
    end = data.timestamps[-1] if data.timed else None
    out: dict[str, Any] = {k: _num(v) for k, v in iv.items()}
    if end is not None and np.isfinite(iv["hours"]) and iv["hours"] < 24 * 365 * 50:
        out["at"] = (end + timedelta(hours=iv["hours"])).replace(microsecond=0).isoformat()
    return out


def _system_exhaustion(data: SeriesSet, hours: np.ndarray, opts: TrendOptions) -> dict[str, Any] | None:
    """When available memory or commit headroom would run out at the trend of the header figures."""
    if not data.timed or len(hours) < opts.min_points:
        return None
    tot = data.totals
    out: dict[str, Any] = {}
    series: dict[str, np.ndarray] = {}
    if "avail_kb" in tot:
        series["available memory"] = tot["avail_kb"] * 1024
    if "commit_kb" in tot and "commit_limit_kb" in tot:
        series["commit limit"] = (tot["commit_limit_kb"] - tot["commit_kb"]) * 1024
    for name, values in series.items():
        ok = ~np.isnan(values)
        if ok.sum() < opts.min_points:
            continue
        fit = stats.growth_fit(values[ok][:, None], hours[ok])
        low, high = fit.interval(opts.confidence)
        # Headroom shrinking: the consumption rate is minus its slope (low/high swap sides).
        iv = stats.time_to_exhaustion(float(values[ok][-1]), -fit.slope[0], -high[0], -low[0])
        shrinking = stats.growth_fit(-values[ok][:, None], hours[ok]).p[0]
        if iv is not None and shrinking < opts.alpha:
            out[name] = {"headroom_bytes": int(values[ok][-1]), "rate_bytes_per_hour": _num(-fit.slope[0]),
                         **_dated(iv, data)}
    return out or None
