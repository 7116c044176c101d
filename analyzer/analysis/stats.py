"""Trend statistics, vectorised over many series at once.

Every function takes a ``(n, m)`` float matrix (``n`` points of ``m`` series, NaN for
a missing point) so that thousands of tags are handled by a few numpy operations
instead of a Python loop.  The definitions follow the references the tests check
against: Theil–Sen slope with Sen's (1968) confidence interval as in
:func:`scipy.stats.theilslopes`, and the Mann–Kendall test with Yue and Wang's
(2004) variance correction for autocorrelation as in pymannkendall's
``yue_wang_modification_test``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class _ScipyStats:
    """``scipy.stats``, imported on first use: it costs about a second, and `--help`, `diff`
    and `show` never need it."""

    def __getattr__(self, name: str) -> object:
        from scipy import stats

        return getattr(stats, name)


sps = _ScipyStats()

#: Upper bound on pair-difference elements held at once (~32 MB of float64).
_PAIR_BUDGET = 4_000_000
#: Autocorrelation factor up to which the slope interval is read from the first sorting pass.
_BAND_FACTOR = 6.0


@dataclass
class TrendStats:
    """Per-series results of :func:`trend_tests` (arrays of length m)."""

    slope: np.ndarray  # Theil–Sen slope, value units per x unit
    low: np.ndarray  # confidence interval of the slope
    high: np.ndarray
    s: np.ndarray  # Mann–Kendall S
    var_s: np.ndarray  # variance of S after the autocorrelation correction
    z: np.ndarray
    p: np.ndarray  # two-sided p-value
    n: np.ndarray  # points used
    n_ns: np.ndarray  # variance inflation from autocorrelation (1 = none)


def tie_sums(y: np.ndarray) -> np.ndarray:
    """Σ t(t-1)(2t+5) over groups of equal values in each column (the Kendall tie term)."""
    n, m = y.shape
    if n == 0 or m == 0:
        return np.zeros(m)
    srt = np.sort(y, axis=0)
    bound = np.ones((n + 1, m), dtype=bool)
    with np.errstate(invalid="ignore"):
        bound[1:n] = srt[1:] != srt[:-1]
    # NaN never equals NaN, so each NaN is its own run of 1 and adds nothing.
    flat = np.flatnonzero(bound.T.ravel())
    t = np.diff(flat).astype(np.float64)
    col = flat[:-1] // (n + 1)
    # Runs that would cross from one column into the next have length 1: they add 0.
    return np.bincount(col, weights=t * (t - 1) * (2 * t + 5), minlength=m)


def autocorrelation_factor(y: np.ndarray, slope_per_step: np.ndarray, lag: int | None = None) -> np.ndarray:
    """Yue–Wang n/n*: 1 + 2 Σ_k (1 - k/n) ρ_k of the series detrended by the Sen slope.

    ``lag`` is the largest lag used (pymannkendall's ``lag`` argument); None uses all.
    """
    n, m = y.shape
    if n < 3:
        return np.ones(m)
    steps = np.arange(1, n + 1, dtype=np.float64)[:, None]
    det = y - steps * slope_per_step[None, :]
    mean = np.nanmean(det, axis=0) if np.isnan(det).any() else det.mean(axis=0)
    dev = np.nan_to_num(det - mean)
    # Autocovariance of every column through one FFT (zero-padded: no wrap-around).
    size = 1 << int(np.ceil(np.log2(2 * n - 1)))
    f = np.fft.rfft(dev, n=size, axis=0)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=0)[:n] / n
    with np.errstate(invalid="ignore", divide="ignore"):
        acf = acov / acov[0]
    maxlag = n - 1 if lag is None else min(lag, n - 1)
    k = np.arange(1, maxlag + 1, dtype=np.float64)[:, None]
    sni = np.nansum((1 - k / n) * acf[1 : maxlag + 1], axis=0)
    out = 1 + 2 * sni
    out[acov[0] == 0] = 1.0
    return out


def trend_tests(y: np.ndarray, x: np.ndarray | None = None, *, alpha: float = 0.95, lag: int | None = None,
                correct: bool = True, conservative: bool = True) -> TrendStats:
    """Theil–Sen slope with CI and the Mann–Kendall test, one pass over pair differences.

    ``x`` (length n, increasing) defaults to 0..n-1.  With ``correct`` the MK variance
    and the slope's confidence interval are widened by the Yue–Wang factor for
    autocorrelation; ``conservative`` never lets that factor shrink them.  ``alpha``
    is the confidence level of the slope interval (scipy's convention).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    n, m = y.shape
    if x is None:
        x = np.arange(n, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    nan = np.isnan(y)
    counts = (~nan).sum(axis=0).astype(np.float64)
    slope = np.full(m, np.nan)
    low = np.full(m, np.nan)
    high = np.full(m, np.nan)
    s = np.zeros(m)
    nt_all = np.zeros(m)
    # Pairs (i, j) with x[j] > x[i], grouped by lag j - i so that each group is two plain slices.
    lag_rows = []
    dx_parts = []
    for k in range(1, n):
        dxk = x[k:] - x[:-k]
        ok = np.flatnonzero(dxk > 0)
        if len(ok):
            lag_rows.append((k, None if len(ok) == len(dxk) else ok))
            dx_parts.append(dxk[ok])
    dx = np.concatenate(dx_parts) if dx_parts else np.zeros(0)
    n_pairs = len(dx)

    # Series run along rows here: each series' pair slopes are contiguous, which sorts faster.
    yt = np.ascontiguousarray(y.T)

    def pair_diffs(a: int, b: int) -> np.ndarray:
        out = np.empty((b - a, n_pairs))
        pos = 0
        for k, ok in lag_rows:
            diff = yt[a:b, k:] - yt[a:b, :-k]
            if ok is not None:
                diff = diff[:, ok]
            out[:, pos : pos + diff.shape[1]] = diff
            pos += diff.shape[1]
        return out

    ties = tie_sums(y)
    var0 = (counts * (counts - 1) * (2 * counts + 5) - ties) / 18.0
    # The interval's order statistics lie within ``half`` places of the median unless the
    # autocorrelation factor exceeds _BAND_FACTOR; keep that band of each sorted series from the
    # single sorting pass, and sort again only for the rare series that need more.
    a_level = 1 - alpha if alpha > 0.5 else alpha
    zc = sps.norm.ppf(a_level / 2.0)
    half = int(np.ceil(abs(zc) * np.sqrt(max(float(np.max(var0, initial=0.0)), 0.0) * _BAND_FACTOR) / 2.0)) + 2
    width = 2 * half + 1
    band = np.full((m, width), np.nan)
    band_start = np.zeros(m, dtype=np.intp)

    def sorted_slopes(a: int, b: int) -> np.ndarray:
        d = pair_diffs(a, b)
        d /= dx[None, :]
        d.sort(axis=1)  # NaN pairs sort last
        return d

    if n_pairs:
        chunk = max(1, _PAIR_BUDGET // n_pairs)
        for a in range(0, m, chunk):
            b = min(m, a + chunk)
            d = pair_diffs(a, b)
            s[a:b] = np.count_nonzero(d > 0, axis=1) - np.count_nonzero(d < 0, axis=1)
            d /= dx[None, :]
            d.sort(axis=1)
            nt = (~np.isnan(d)).sum(axis=1)
            nt_all[a:b] = nt
            rows = np.arange(b - a)
            ok = nt > 0
            mid_lo = np.clip((nt - 1) // 2, 0, None)
            mid_hi = np.clip(nt // 2, 0, None)
            med = 0.5 * (d[rows, mid_lo] + d[rows, mid_hi])
            slope[a:b] = np.where(ok, med, np.nan)
            first = np.clip(mid_lo - half, 0, max(n_pairs - width, 0))
            band_start[a:b] = first
            where = np.minimum(first[:, None] + np.arange(width)[None, :], n_pairs - 1)
            band[a:b] = np.take_along_axis(d, where, axis=1)
    # Yue–Wang factor from the series detrended by the slope per step (index-based, as pymannkendall).
    step = np.nanmedian(np.diff(x)) if n > 1 else 1.0
    if correct:
        n_ns = autocorrelation_factor(y, np.nan_to_num(slope) * step, lag)
        if conservative:
            n_ns = np.maximum(n_ns, 1.0)
    else:
        n_ns = np.ones(m)
    var_s = var0 * n_ns
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(var_s)
        z = np.where(s > 0, (s - 1) / sd, np.where(s < 0, (s + 1) / sd, 0.0))
    z = np.nan_to_num(z)
    p = 2 * sps.norm.sf(np.abs(z))
    # Sen's interval: order statistics of the sorted slopes around the median (scipy's formula).
    if n_pairs:
        nt = nt_all
        sigma = np.sqrt(np.maximum(var_s, 0))
        ru = np.clip(np.minimum(np.round((nt - zc * sigma) / 2.0), nt - 1), 0, None).astype(np.intp)
        rl = np.clip(np.maximum(np.round((nt + zc * sigma) / 2.0) - 1, 0), 0, None).astype(np.intp)
        ok = nt > 0
        inside = (rl >= band_start) & (ru < band_start + width)
        series = np.arange(m)
        lo_i = np.clip(rl - band_start, 0, width - 1)
        hi_i = np.clip(ru - band_start, 0, width - 1)
        low[:] = np.where(ok, band[series, lo_i], np.nan)
        high[:] = np.where(ok, band[series, hi_i], np.nan)
        for c in np.flatnonzero(ok & ~inside):
            d = sorted_slopes(c, c + 1)[0]
            low[c], high[c] = d[rl[c]], d[ru[c]]
    return TrendStats(slope=slope, low=low, high=high, s=s, var_s=var_s, z=z, p=p, n=counts, n_ns=n_ns)


def hinge_onset(y: np.ndarray, x: np.ndarray, candidates: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onset of growth: the break of a flat-then-linear fit, per column.

    Fits ``y = a + b·max(0, x - x_k)`` by least squares for each candidate break
    ``x_k`` (all columns at once, through one matrix product) and returns
    (index of the best break, SSE of that fit / SSE of a straight line, residual
    standard deviation of the better of the two fits).  A ratio well below 1 says the
    series was flat and then started to grow.  NaN points should be filled before calling.
    """
    n, m = y.shape
    if n < 6:
        resid = np.sqrt(np.var(y, axis=0)) if n else np.zeros(m)
        return np.zeros(m, dtype=np.intp), np.ones(m), resid
    ks = np.unique(np.linspace(1, n - 3, min(candidates, n - 3)).astype(np.intp))
    xc = x - x.mean()
    yc = y - y.mean(axis=0)
    syy = (yc**2).sum(axis=0)
    sxx = (xc**2).sum()
    line_sse = syy - (xc @ yc) ** 2 / sxx if sxx > 0 else syy
    h = np.maximum(0.0, x[:, None] - x[ks][None, :])  # (n, K)
    hc = h - h.mean(axis=0)
    shh = (hc**2).sum(axis=0)
    shy = hc.T @ yc  # (K, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        sse = syy[None, :] - shy**2 / shh[:, None]
    sse = np.where(np.isnan(sse), np.inf, sse)
    best = np.argmin(sse, axis=0)
    best_sse = sse[best, np.arange(m)]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(line_sse > 0, best_sse / line_sse, 1.0)
    resid = np.sqrt(np.maximum(np.minimum(best_sse, line_sse), 0.0) / max(n - 3, 1))
    return ks[best], np.clip(ratio, 0.0, 1.0), resid


def drawdown(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Largest fall from a running peak, per column: (fall, index of the peak, index of the trough)."""
    n, m = y.shape
    filled = np.where(np.isnan(y), -np.inf, y)
    peak = np.maximum.accumulate(filled, axis=0)
    fall = np.where(np.isnan(y), 0.0, peak - y)
    trough = np.argmax(fall, axis=0)
    cols = np.arange(m)
    size = fall[trough, cols]
    # The peak that fall came from: the last index at or before the trough holding the running max.
    is_peak = filled == peak
    idx = np.where(is_peak, np.arange(n)[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    return size, idx[trough, cols], trough


def lockstep_groups(diffs: np.ndarray, threshold: float = 0.8) -> np.ndarray:
    """Group columns whose first differences correlate above ``threshold`` (average linkage).

    Returns one group number per column (0 for a column in no group of two or more).
    """
    n, m = diffs.shape
    out = np.zeros(m, dtype=np.intp)
    if m < 2 or n < 3:
        return out
    d = np.nan_to_num(diffs - np.nanmean(diffs, axis=0))
    sd = np.sqrt((d**2).sum(axis=0))
    live = sd > 0
    if live.sum() < 2:
        return out
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    dl = d[:, live] / sd[live]
    corr = np.clip(dl.T @ dl, -1.0, 1.0)
    dist = 1.0 - corr
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
    sizes = np.bincount(labels)
    grouped = np.where(sizes[labels] >= 2, labels, 0)
    # Number groups 1, 2, ... in order of their first member.
    renum: dict[int, int] = {}
    for g in grouped:
        if g and g not in renum:
            renum[g] = len(renum) + 1
    out[np.flatnonzero(live)] = [renum.get(g, 0) for g in grouped]
    return out


def time_to_exhaustion(headroom: float, rate: float, rate_low: float, rate_high: float) -> dict[str, float] | None:
    """Hours until ``headroom`` (same units as the rates per hour) is used up, as an interval.

    The fast end of the interval comes from the high rate, the slow end from the low
    one (infinite when the low rate does not grow).  None when nothing is consumed.
    """
    if not np.isfinite(headroom) or not np.isfinite(rate) or rate <= 0 or headroom < 0:
        return None
    hours = headroom / rate
    soonest = headroom / rate_high if np.isfinite(rate_high) and rate_high > 0 else hours
    latest = headroom / rate_low if np.isfinite(rate_low) and rate_low > 0 else float("inf")
    return {"hours": float(hours), "hours_low": float(min(soonest, hours)), "hours_high": float(max(latest, hours))}
