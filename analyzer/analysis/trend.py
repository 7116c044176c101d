"""Leak verdicts over many snapshots: one verdict with a checkable reason per (tag, pool).

The pipeline, all vectorised over the (time × series) matrices of
:mod:`analyzer.analysis.series`:

1. wraps repaired and resets stitched; long logs averaged into at most
   ``max_points`` blocks (noise shrinks, the O(n²) statistics stay cheap);
2. Theil–Sen slope with a confidence interval and Mann–Kendall with Yue–Wang's
   autocorrelation correction (:mod:`analyzer.analysis.stats`);
3. onset of growth (flat-then-linear break), whether the series is still growing
   at the end (last third against the middle third), and the largest give-back of
   memory after a peak ("stop the test, wait, see what was freed");
4. a verdict by the rules in :func:`_verdicts` (documented in docs/analysis.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class TrendOptions:
    """Thresholds of the verdict rules (defaults tuned on the scenario benchmark's development seed)."""

    alpha: float = 0.01  # Mann–Kendall p below this: significant growth
    suspect_alpha: float = 0.05  # weaker evidence: at most "suspect"
    confidence: float = 0.95  # level of the Theil–Sen interval
    min_points: int = 5  # fewer observations: insufficient-data
    min_span_hours: float = 1 / 6  # a shorter window (timed logs) can say "suspect", not "leak"
    min_growth: int = 64 * 1024  # bytes a leak must have added over the window
    still_growing: float = 0.3  # last-third gain over the middle third, as a share of slope × time
    giveback: float = 0.5  # largest fall after a peak, as a share of the range, that means "recovers"
    leak_giveback: float = 0.4  # a leak never fell back this much
    recover_rise: float = 0.25  # "recovers" needs a rise of at least this share of the level it rose from
    snr: float = 4.0  # growth over the window against the residual noise of the fit
    onset_ratio: float = 0.5  # SSE of flat-then-linear / straight line below this: growth has an onset
    max_points: int = 160  # longer series are averaged into this many blocks
    mk_lag: int | None = 10  # autocorrelation lags in the Yue–Wang correction
    lockstep: float = 0.8  # correlation of first differences that groups tags


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
    stats: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    #: Every candidate owner with its provenance (OwnerCandidate.to_dict()), most trusted first.
    owner_candidates: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "pool": self.pool,
            "verdict": self.verdict,
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
            "owner": self.owner,
            "owner_candidates": list(self.owner_candidates),
            "stats": {k: _num(v) if isinstance(v, float) else v for k, v in self.stats.items()},
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

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(VERDICTS, 0)
        for row in self.rows:
            out[row.verdict] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "exhaustion": self.exhaustion, "pool_totals": list(self.pool_totals),
                "rows": [r.to_dict() for r in self.rows]}


# -- helpers -------------------------------------------------------------------------------


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
    sums = np.add.reduceat(np.where(valid, a, 0.0), starts, axis=0)
    cnt = np.add.reduceat(valid.astype(np.float64), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)


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


def _rolling_median(a: np.ndarray, width: int = 5) -> np.ndarray:
    n = a.shape[0]
    if n < width:
        return a
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


def _stamp(data: SeriesSet, hours: float) -> datetime | None:
    if not data.timed or not data.timestamps or data.timestamps[0] is None:
        return None
    return data.timestamps[0] + timedelta(hours=float(hours))


def _clock(dt: datetime | None, fallback: str) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else fallback


# -- the analysis ----------------------------------------------------------------------------


def _sort_rate(row: TrendRow) -> float:
    """The rate, or the growth when there is none; a rate of 0.0 is a rate, not a missing one."""
    if row.rate_bytes_per_hour is not None:
        return row.rate_bytes_per_hour
    growth = row.stats.get("growth_bytes")
    return 0.0 if growth is None else float(growth)


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

    unit = "/h" if data.timed else "/snapshot"
    full = data.stitched("bytes")
    present = ~np.isnan(full)
    n_points = present.sum(axis=0)
    first_i = np.argmax(present, axis=0)
    last_i = t_count - 1 - np.argmax(present[::-1], axis=0)
    cols = np.arange(k)
    raw = data.values["bytes"]
    bytes_first = raw[first_i, cols]
    bytes_last = raw[last_i, cols]

    # Interval counts at full resolution ("grew in 118 of 120 intervals").
    d = np.diff(full, axis=0)
    d_valid = ~np.isnan(d) & ~data.resets[1:]
    ups = ((d > 0) & d_valid).sum(axis=0)
    downs = ((d < 0) & d_valid).sum(axis=0)
    intervals = d_valid.sum(axis=0)

    starts = _blocks(t_count, opts.max_points)
    y = _block_mean(full, starts)
    x = _block_mean(hours[:, None], starts)[:, 0]
    n = len(x)
    ts = stats.trend_tests(y, x, alpha=opts.confidence, lag=opts.mk_lag)
    slope, low, high, pval = ts.slope.copy(), ts.low.copy(), ts.high.copy(), ts.p.copy()

    filled = _fill(y)
    onset_idx, onset_ratio, resid_sd = stats.hinge_onset(filled, x)
    # Onset only when the flat-then-linear fit is much better, the break is not at the very start,
    # and there is a real rise after it.
    has_onset = (onset_ratio < opts.onset_ratio) & (onset_idx >= max(2, n // 10)) & (slope > 0) & (n >= 12)
    # Series with an onset: the rate and the tests describe the part after it (one call, NaN before).
    on = np.flatnonzero(has_onset)
    if len(on):
        seg = y[:, on].copy()
        seg[np.arange(n)[:, None] < onset_idx[on][None, :]] = np.nan
        sub = stats.trend_tests(seg, x, alpha=opts.confidence, lag=opts.mk_lag)
        good = (sub.n >= 6) & (sub.slope > 0)
        cols_ok = on[good]
        slope[cols_ok], low[cols_ok], high[cols_ok], pval[cols_ok] = (
            sub.slope[good], sub.low[good], sub.high[good], sub.p[good])
        has_onset[on[~good]] = False

    # Still growing at the end: median of the last third over the middle third, against slope × time.
    third = max(1, n // 3)
    tail = np.nanmedian(filled[n - third :], axis=0)
    middle = np.nanmedian(filled[n - 2 * third : n - third], axis=0) if n >= 3 else tail
    dt_mid = float(np.median(x[n - third :]) - np.median(x[n - 2 * third : n - third])) if n >= 3 else 0.0
    gain = tail - middle
    with np.errstate(invalid="ignore", divide="ignore"):
        still = np.where((slope > 0) & (dt_mid > 0), gain / (slope * dt_mid), 0.0)

    # Give-back: the largest fall from a peak (smoothed), as a share of the whole range.
    smooth = _rolling_median(filled, 5)
    fall, peak_i, _trough_i = stats.drawdown(smooth)
    span_range = smooth.max(axis=0) - smooth.min(axis=0) if n else np.zeros(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        giveback = np.where(span_range > 0, fall / span_range, 0.0)
    # The rise that led to that peak, and the point-to-point noise a real rise and fall must exceed.
    lowest_before = np.minimum.accumulate(smooth, axis=0)[peak_i, cols] if n else np.zeros(k)
    rise = smooth[peak_i, cols] - lowest_before if n else np.zeros(k)
    step_noise = (1.4826 / np.sqrt(2)) * np.median(np.abs(np.diff(filled, axis=0)), axis=0) if n > 2 \
        else np.zeros(k)
    growth = filled[-1] - filled[0]
    # Signal to noise: growth the slope explains over the growing part, against the residual of the fit.
    active = np.where(has_onset, x[-1] - x[onset_idx], x[-1] - x[0]) if n else np.zeros(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = np.where(resid_sd > 0, slope * active / resid_sd, np.where(slope > 0, np.inf, 0.0))

    # Allocation counters: freed share of new allocations over the window.
    freed = np.full(k, np.nan)
    if "allocs" in data.values and "frees" in data.values:
        da = _window_delta(data.values["allocs"], data.resets)
        df = _window_delta(data.values["frees"], data.resets)
        with np.errstate(invalid="ignore", divide="ignore"):
            freed = np.where(da > 0, df / da, np.nan)

    span = float(hours[-1] - hours[0]) if t_count > 1 else 0.0
    verdict = _verdicts(opts, n_points, pval, low, slope, still, giveback, rise, lowest_before, fall, step_noise, snr,
                        growth, span, data.timed)

    suspicious = np.flatnonzero((verdict == "leak") | (verdict == "suspect"))
    groups = np.zeros(k, dtype=np.intp)
    if len(suspicious) >= 2:
        groups[suspicious] = stats.lockstep_groups(np.diff(filled[:, suspicious], axis=0), opts.lockstep)

    # Allocations per hour for the leak and suspect rows: one Theil-Sen call over Allocs - Frees.
    allocs_rate = np.full(k, np.nan)
    outstanding = _outstanding(data, suspicious)
    if outstanding is not None and data.timed and len(suspicious):
        o = _block_mean(outstanding, starts)
        rates = stats.trend_tests(o, x, correct=False).slope
        enough_o = (~np.isnan(o)).sum(axis=0) >= 3
        allocs_rate[suspicious[enough_o]] = rates[enough_o]
    headroom = _headroom(data)
    n_resets, n_wraps = data.resets.sum(axis=0), data.wraps.sum(axis=0)
    n_analyzed = (~np.isnan(y)).sum(axis=0)
    rows: list[TrendRow] = []
    for c in range(k):
        v = str(verdict[c])
        onset_dt = _stamp(data, x[onset_idx[c]]) if has_onset[c] else None
        apr = None if np.isnan(allocs_rate[c]) else float(allocs_rate[c])
        exh = None
        if v in ("leak", "suspect") and data.timed:
            exh = _row_exhaustion(headroom, POOLS[data.pool_codes[c]], slope[c], low[c], high[c], data)
        st = {
            "mk_p": float(pval[c]),
            "mk_z": float(ts.z[c]),
            "mk_s": float(ts.s[c]),
            "autocorrelation_factor": float(ts.n_ns[c]),
            "intervals": int(intervals[c]),
            "intervals_up": int(ups[c]),
            "intervals_down": int(downs[c]),
            "growth_bytes": float(growth[c]),
            "still_growing": float(still[c]),
            "giveback": float(giveback[c]),
            "signal_to_noise": float(snr[c]),
            "rise_bytes": float(rise[c]),
            "onset_fit_ratio": float(onset_ratio[c]),
            "resets": int(n_resets[c]),
            "wraps": int(n_wraps[c]),
            "points_analyzed": int(n_analyzed[c]),
            "last_seen_index": int(last_i[c]),
        }
        rate_ok = v != "insufficient-data" and np.isfinite(slope[c])
        rows.append(
            TrendRow(
                tag=data.tags[c],
                pool=POOLS[data.pool_codes[c]],
                verdict=v,
                reason="",
                rate_bytes_per_hour=float(slope[c]) if rate_ok and data.timed else None,
                rate_low=float(low[c]) if rate_ok and data.timed else None,
                rate_high=float(high[c]) if rate_ok and data.timed else None,
                allocs_per_hour=apr,
                freed_ratio=None if np.isnan(freed[c]) else float(freed[c]),
                onset=onset_dt,
                exhaustion=exh,
                group=int(groups[c]) or None,
                n_points=int(n_points[c]),
                bytes_first=None if np.isnan(bytes_first[c]) else int(bytes_first[c]),
                bytes_last=None if np.isnan(bytes_last[c]) else int(bytes_last[c]),
                stats=st,
            )
        )
        rows[-1].reason = _reason(rows[-1], slope[c], low[c], high[c], unit, float(fall[c]), peak_i[c],
                                  x, data, opts)
    rows.sort(key=lambda r: (_RANK[r.verdict], -_sort_rate(r), r.tag, r.pool))
    summary["verdicts"] = {v: sum(1 for r in rows if r.verdict == v) for v in VERDICTS}
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
            ts = stats.trend_tests(y[:, None], hours[ok], alpha=opts.confidence, lag=opts.mk_lag)
            slope, p = float(ts.slope[0]), float(ts.p[0])
            entry["rate_bytes_per_hour"] = _num(slope)
            entry["p_value"] = _num(p)
            # Growth must be significant and matter: at least 1 % of the pool over the span.
            span = float(hours[ok][-1] - hours[ok][0])
            grows = p < opts.alpha and slope > 0 and slope * span >= 0.01 * max(float(y[0]), 1.0)
            shrinks = p < opts.alpha and slope < 0 and -slope * span >= 0.01 * max(float(y[0]), 1.0)
            entry["verdict"] = "grows" if grows else ("shrinks" if shrinks else "steady")
        out.append(entry)
    return out


def _verdicts(opts: TrendOptions, n_points: np.ndarray, p: np.ndarray, low: np.ndarray, slope: np.ndarray,
              still: np.ndarray, giveback: np.ndarray, rise: np.ndarray, base: np.ndarray, fall: np.ndarray,
              noise: np.ndarray, snr: np.ndarray, growth: np.ndarray, span: float, timed: bool) -> np.ndarray:
    """The verdict rules, first match wins (docs/analysis.md lists them)."""
    k = len(n_points)
    out = np.full(k, "stable", dtype=object)
    enough = n_points >= opts.min_points
    grows = (low > 0) & (slope > 0)
    big = (growth >= opts.min_growth) | (slope * span >= opts.min_growth)
    kept = giveback < opts.leak_giveback
    still_ok = still >= opts.still_growing
    clear = snr >= opts.snr
    long_enough = span >= opts.min_span_hours if timed else True
    leak = enough & grows & (p < opts.alpha) & big & kept & still_ok & clear & long_enough
    # Recovers: a real rise to a peak, then at least ``giveback`` of that rise returned.
    real = np.maximum(3 * noise, opts.min_growth / 2)
    recovers = (enough & ~leak & (rise >= opts.min_growth) & (rise > real) & (fall > real)
                & (rise >= opts.recover_rise * np.maximum(base, 1.0)) & (fall >= opts.giveback * rise))
    suspect = (enough & ~leak & ~recovers & grows & (p < opts.suspect_alpha) & still_ok & big
               & (snr >= opts.snr / 2))
    out[leak] = "leak"
    out[recovers] = "recovers"
    out[suspect] = "suspect"
    out[~enough] = "insufficient-data"
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _reason(row: TrendRow, slope: float, low: float, high: float, unit: str, fall: float, peak: int,
            x: np.ndarray, data: SeriesSet, opts: TrendOptions) -> str:
    st = row.stats
    if row.verdict == "insufficient-data":
        noun = "snapshot" if row.n_points == 1 else "snapshots"
        change = ""
        if row.n_points > 1 and row.bytes_first is not None and row.bytes_last is not None:
            delta = row.bytes_last - row.bytes_first
            change = f"; {format_size(delta, signed=True) if delta else 'no change'} from first to last"
        return f"only {row.n_points} {noun} with this tag (need {opts.min_points}){change}"
    lo, hi = format_size(low, signed=True), format_size(high, signed=True)
    rate = f"{format_size(slope, signed=True)}{unit} [{lo}, {hi}]"
    grew = f"grew in {st['intervals_up']} of {st['intervals']} intervals"
    freed = f", {_pct(row.freed_ratio)} freed" if row.freed_ratio is not None else ""
    extra = ""
    if st["resets"]:
        extra += f", {st['resets']} counter reset{'s' if st['resets'] > 1 else ''} stitched"
    if st["wraps"]:
        extra += f", {st['wraps']} 32-bit wrap{'s' if st['wraps'] > 1 else ''} unwrapped"
    if st["last_seen_index"] < len(data.times) - 1:
        seen = st["last_seen_index"]
        stamp = data.timestamps[seen] if data.timed else None
        extra += f", not seen after {_clock(stamp, f'snapshot {seen}')}"
    since = f" since {_clock(row.onset, '')}" if row.onset else ""
    if row.verdict == "leak":
        return f"{grew}, {rate}{since}{freed}, no recovery, still growing at the end{extra}"
    if row.verdict == "suspect":
        why = []
        if st["mk_p"] >= opts.alpha:
            why.append(f"trend p={st['mk_p']:.3f}")
        if st["giveback"] >= opts.leak_giveback:
            why.append(f"fell {100 * st['giveback']:.0f} % of its range once")
        if st["signal_to_noise"] < opts.snr:
            why.append(f"growth only {st['signal_to_noise']:.1f}× the noise")
        if data.timed and len(data.times) > 1 and data.times[-1] - data.times[0] < opts.min_span_hours * 3600:
            why.append(f"only {format_duration(timedelta(seconds=float(data.times[-1] - data.times[0])))} observed")
        return f"{grew}, {rate}{since}{freed}, weaker evidence ({', '.join(why) or 'borderline'}){extra}"
    if row.verdict == "recovers":
        when = _clock(_stamp(data, x[peak]), f"point {peak}")
        share = fall / max(st["rise_bytes"], 1.0)
        back = "below where the rise began" if share > 1.0 else f"{100 * share:.0f} % of the rise"
        return (f"rose {format_size(st['rise_bytes'])} to a peak at {when}, then fell {format_size(fall)} "
                f"({back}){freed}{extra}")
    # stable
    if st["growth_bytes"] > 0 and st["still_growing"] < opts.still_growing and st["mk_p"] < opts.alpha and low > 0:
        return f"grew {format_size(st['growth_bytes'], signed=True)} early, then levelled off{freed}{extra}"
    net = format_size(st["growth_bytes"], signed=True)
    return f"no sustained growth: {rate}, trend p={st['mk_p']:.2f}, net {net}{freed}{extra}"


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
        ts = stats.trend_tests(values[ok][:, None], hours[ok], alpha=opts.confidence, lag=opts.mk_lag)
        # Headroom shrinking: the consumption rate is minus its slope (low/high swap sides).
        iv = stats.time_to_exhaustion(float(values[ok][-1]), -ts.slope[0], -ts.high[0], -ts.low[0])
        if iv is not None and ts.p[0] < opts.alpha:
            out[name] = {"headroom_bytes": int(values[ok][-1]), "rate_bytes_per_hour": _num(-ts.slope[0]),
                         **_dated(iv, data)}
    return out or None
