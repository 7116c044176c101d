"""Trend statistics, vectorised over many series at once.

Every function takes a ``(n, m)`` float matrix (``n`` points of ``m`` series, NaN for
a missing point) so that thousands of tags are handled by a few numpy operations
instead of a Python loop.  The definitions follow the references the tests check
against: Theil–Sen slope with Sen's (1968) confidence interval as in
:func:`scipy.stats.theilslopes`, and the Mann–Kendall test with Yue and Wang's
(2004) variance correction for autocorrelation as in pymannkendall's
``yue_wang_modification_test``.

The leak verdicts themselves rest on :func:`growth_fit` (least-squares growth whose
uncertainty is widened for AR(1) dependence, never narrowed), :func:`benjamini_hochberg`
(false-discovery control across every series of a run) and :func:`null_scale` (the many
stable tags of a run as an empirical null).  SciPy is imported inside the functions that
need it: ``import poolscope`` stays light.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

#: Upper bound on pair-difference elements held at once (~32 MB of float64).
_PAIR_BUDGET = 4_000_000
#: Autocorrelation factor up to which the slope interval is read from the first sorting pass.
_BAND_FACTOR = 6.0


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """BLAS on one thread while the block: the matrix products here have an inner dimension of 2–4.

    Split over threads they gain nothing, and OpenBLAS's waiting threads burn a second core
    (about a fifth of the CPU time of a large ``trend``).  Without threadpoolctl, nothing changes.
    The products split their rows and columns among threads, never a sum, so the results are the same.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency; an older environment may lack it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


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
    from scipy import stats as sps

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


# -- growth with honest uncertainty -------------------------------------------------------------

#: Largest lag-1 autocorrelation used: beyond it a series carries almost no independent points.
PHI_MAX = 0.995
#: Standard errors added to the residual autocorrelation before it sets φ (see growth_fit).
RHO_MARGIN = 1.645
#: Also read φ from the steps (see growth_fit).
DIFF_PHI = True


@dataclass
class GrowthFit:
    """Per-series least-squares growth of :func:`growth_fit` (arrays of length m)."""

    slope: np.ndarray  # value units per x unit
    se: np.ndarray  # standard error of the slope, widened for autocorrelation (never narrowed)
    t: np.ndarray  # slope / se, divided by the run's null scale
    p: np.ndarray  # one-sided p-value of growth (slope > 0), Student t with n_eff - 2 degrees of freedom
    df: np.ndarray  # those degrees of freedom
    phi: np.ndarray  # lag-1 autocorrelation of the residuals, bias-corrected, in [0, PHI_MAX]
    n: np.ndarray  # points used
    n_eff: np.ndarray  # n (1 - phi) / (1 + phi): independent points the series is worth
    resid_sd: np.ndarray  # standard deviation of the residuals about the line
    x_first: np.ndarray  # x of the first and last point used
    x_last: np.ndarray

    def interval(self, level: float = 0.95, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Two-sided confidence interval of the slope at ``level``."""
        from scipy.special import stdtrit

        with np.errstate(invalid="ignore"):
            q = stdtrit(np.maximum(self.df, 1.0), 0.5 + level / 2)
        half = q * self.se * scale
        return self.slope - half, self.slope + half

    def upper(self, level: float, scale: float = 1.0) -> np.ndarray:
        """One-sided upper confidence bound of the slope at ``level``."""
        from scipy.special import stdtrit

        with np.errstate(invalid="ignore"):
            return self.slope + stdtrit(np.maximum(self.df, 1.0), level) * self.se * scale


@lru_cache(maxsize=256)
def _ar1_table(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What AR(1) noise of coefficient φ does to a straight-line fit of ``n`` equally spaced points.

    For a grid of φ: the expected lag-1 autocorrelation of the residuals (what is observed:
    lower than φ, because the line soaks up slow wander), the variance of the slope relative
    to independent noise (dxᵀRdx / Σdx²) and tr(HR), which sets the residuals' expected sum
    of squares (σ² (n − tr(HR))).  Exact expectations, from the rank-2 hat matrix.
    """
    phis = np.concatenate([np.linspace(0.0, 0.9, 91), np.linspace(0.9025, PHI_MAX, 40)])
    idx = np.arange(n, dtype=np.float64)
    dx = idx - idx.mean()
    u = np.column_stack([np.full(n, 1 / np.sqrt(n)), dx / np.sqrt((dx**2).sum())])
    # R·U for every φ at once: R v = (forward AR filter) + (backward AR filter) − v, O(n) per φ.
    ph = phis[:, None]
    fwd = np.empty((n, len(phis), 2))
    bwd = np.empty((n, len(phis), 2))
    fwd[0] = u[0][None, :]
    for t in range(1, n):
        fwd[t] = u[t][None, :] + ph * fwd[t - 1]
    bwd[n - 1] = u[n - 1][None, :]
    for t in range(n - 2, -1, -1):
        bwd[t] = u[t][None, :] + ph * bwd[t + 1]
    ru = fwd + bwd - u[:, None, :]  # (n, φ, 2)
    core = np.einsum("ti,tpj->pij", u, ru)  # UᵀRU per φ (φ, 2, 2)
    # A = R − UUᵀR − RUUᵀ + U(UᵀRU)Uᵀ; its first sub-diagonal summed, and its trace.
    sub_r = (n - 1) * phis
    sub_hr = np.einsum("ti,tpi->p", u[1:], ru[:-1])  # Σ_t U[t]·(RU)[t−1]
    sub_rh = np.einsum("tpi,ti->p", ru[1:], u[:-1])
    sub_hrh = np.einsum("ti,pij,tj->p", u[1:], core, u[:-1])
    tr_hr = np.trace(core, axis1=1, axis2=2)
    trace = n - tr_hr
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(trace > 0, (sub_r - sub_hr - sub_rh + sub_hrh) / trace, 0.0)
    infl = core[:, 1, 1]
    return phis, rho, infl, tr_hr


@lru_cache(maxsize=256)
def _rho_order(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The table of ``size`` sorted by expected ρ (for the inverse lookup φ of an observed ρ)."""
    phis, rho, _, _ = _ar1_table(size)
    order = np.argsort(rho, kind="stable")
    return rho[order], phis[order]


def _table_groups(n: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(table size, columns) for the columns of ``n`` points: tables by point count rounded to about 5 %."""
    key = np.where(n >= 3, np.round(np.exp(np.round(np.log(np.maximum(n, 3)) / 0.05) * 0.05)), 0).astype(int)
    if not len(key):
        return []
    order = np.argsort(key, kind="stable")  # each group's columns stay in ascending order
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    return [(int(key[g[0]]), g) for g in np.split(order, bounds) if key[g[0]] >= 3]


def _ar1_terms(rho_obs: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(φ, slope-variance inflation, tr(HR)) for each column's observed residual autocorrelation."""
    phi = np.zeros(len(n))
    infl = np.ones(len(n))
    tr_hr = np.full(len(n), 2.0)
    # Columns share tables by their point count, rounded to about 5 % (a few distinct tables per run).
    for size, cols in _table_groups(n):
        phis, rho, inf, trh = _ar1_table(size)
        # Expected ρ rises with φ: invert it; beyond the table's top φ = PHI_MAX, below 0 → φ = 0.
        r = np.clip(rho_obs[cols], rho[0], rho[-1])
        rho_sorted, phis_sorted = _rho_order(size)
        phi[cols] = np.interp(r, rho_sorted, phis_sorted)
        infl[cols] = np.interp(phi[cols], phis, inf)
        tr_hr[cols] = np.interp(phi[cols], phis, trh)
    return phi, infl, tr_hr


def _expected_rho(phi: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The residual autocorrelation a line fit leaves on AR(φ) noise of n points (inverse of _ar1_terms)."""
    out = np.zeros(len(n))
    for size, cols in _table_groups(n):
        phis, rho, _, _ = _ar1_table(size)
        out[cols] = np.interp(phi[cols], phis, rho)
    return out


def _columns_present(y: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as float columns (one series per column) and where it holds a value the caller keeps."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    ok = ~np.isnan(y)
    if mask is not None:
        ok &= mask
    return y, ok


def _x_ends(x: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x of the first and of the last point used, per column (NaN for a column without any)."""
    m = ok.shape[1]
    if not len(x):
        return np.zeros(m), np.zeros(m)
    if len(x) > 1 and not bool(np.all(np.diff(x) >= 0)):
        xs = np.where(ok, x[:, None], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmin(xs, axis=0), np.nanmax(xs, axis=0)
    # x in order (times are): the smallest and largest x used are those of the first and last point.
    seen = ok.any(axis=0)
    first = np.argmax(ok, axis=0)
    last = ok.shape[0] - 1 - np.argmax(ok[::-1], axis=0)
    return np.where(seen, x[first], np.nan), np.where(seen, x[last], np.nan)


def growth_fit(y: np.ndarray, x: np.ndarray, scale: float | np.ndarray = 1.0, mask: np.ndarray | None = None,
               z: np.ndarray | None = None, z_se: np.ndarray | None = None) -> GrowthFit:
    """Least-squares slope of each column of ``y`` against ``x`` and a one-sided test of growth.

    Why not a plain t-test: pool counters wander (AR(1)-like, φ up to 0.95 per minute), so
    neighbouring points repeat each other, and a fitted line soaks up part of that wander,
    so the residuals look less dependent than the noise is.  φ is the AR(1) coefficient
    whose *expected* residual autocorrelation after a line fit equals the observed one
    (:func:`_ar1_table`); the slope's variance and the noise level then follow exactly for
    that φ.  φ is never taken below 0, so the correction can only make p larger.  ``scale``
    (≥ 1) widens every standard error further (the empirical null of :func:`null_scale`).
    NaN points (and points outside ``mask``) are left out.

    ``z`` (same shape as ``y``, no NaN where ``y`` is present) is a covariate fitted together
    with the line: y = a + slope·x + b·z.  With the tag's allocation turnover as ``z`` a tag
    whose in-use count follows its load (Little's law: in use ≈ rate × lifetime) is not
    growth; the slope's error then carries the collinearity of x and z (it widens when the
    load itself trends over the window).  With ``z_se`` as well, ``y`` has already had
    b·z taken out (b fitted over a longer window, :func:`load_coefficient`, standard error
    ``z_se``): the slope is fitted to ``y`` alone and its error widened by what the error of
    b does to it (z_se × the slope of z over the points used).  Over a short window the load
    is nearly a straight line and b cannot be fitted there; this keeps the test honest there.
    """
    from scipy.special import stdtr

    y, ok = _columns_present(y, mask)
    w = ok.astype(np.float64)
    n = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = (x[:, None] * w).sum(axis=0) / n
        yz = np.where(ok, y, 0.0)
        ym = yz.sum(axis=0) / n
        dx = (x[:, None] - xm) * w
        dy = (yz - ym) * w
        extra = 0.0
        if z is not None and z_se is None:
            # Frisch–Waugh: partial z out of both x and y, then fit the line to what is left.
            zz = np.where(ok, z, 0.0)
            dz = (zz - zz.sum(axis=0) / n) * w
            szz = (dz * dz).sum(axis=0)
            has = szz > 1e-12 * n * np.maximum((zz.sum(axis=0) / n) ** 2, 1.0)  # not constant but for rounding
            safe = np.where(has, szz, 1.0)
            dx = dx - np.where(has, (dx * dz).sum(axis=0) / safe, 0.0) * dz
            dy = dy - np.where(has, (dy * dz).sum(axis=0) / safe, 0.0) * dz
            extra = has.astype(np.float64)
        sxx = (dx * dx).sum(axis=0)
        slope = (dx * dy).sum(axis=0) / sxx
        r = dy - slope * dx  # 0 where a point is left out
        sse = (r * r).sum(axis=0)
        both = ok[1:] & ok[:-1]
        c1 = (r[1:] * r[:-1] * both).sum(axis=0)
        rho = np.where(sse > 0, c1 / sse, 0.0)
        # An upper confidence value of the autocorrelation, not the estimate: a plug-in φ is
        # too low half of the time, and each time the test is too sure.
        rho_up = rho + RHO_MARGIN * np.sqrt(np.maximum(1 - rho**2, 0.0) / np.maximum(n, 1))
        if DIFF_PHI:
            # The steps' own lag-1 autocorrelation says φ too (ρ₁(Δe) = −(1 − φ)/2), untouched by the
            # line: when the line soaked up a slow wander, this one does not look white.
            d = np.diff(np.where(ok, y, np.nan), axis=0)
            dok = ~np.isnan(d)
            d_mean = np.where(dok, d, 0.0).sum(axis=0) / np.maximum(dok.sum(axis=0), 1)
            dz = np.where(dok, d - d_mean, 0.0)
            both_d = dok[1:] & dok[:-1]
            d0 = (dz * dz).sum(axis=0)
            rho_d = np.where(d0 > 0, (dz[1:] * dz[:-1] * both_d).sum(axis=0) / np.where(d0 > 0, d0, 1.0), -0.5)
            phi_d = np.clip(1 + 2 * rho_d, 0.0, PHI_MAX)
            rho_up = np.maximum(rho_up, _expected_rho(phi_d, n))
        phi, infl, tr_hr = _ar1_terms(rho_up, n)
        s2 = sse / np.maximum(n - tr_hr - extra, 1.0)  # unbiased noise variance under AR(φ)
        var = s2 / sxx * infl
        if z is not None and z_se is not None:
            zz = np.where(ok, z, 0.0)
            z_slope = (dx * (zz - zz.sum(axis=0) / n) * w).sum(axis=0) / sxx
            var = var + np.nan_to_num(z_se * z_slope) ** 2
        se = np.sqrt(var) * np.maximum(scale, 1.0)
        n_eff = n * (1 - phi) / (1 + phi)
        df = np.maximum(n_eff - 2 - extra, 1.0)
        t = np.where(se > 0, slope / se, np.where(slope > 0, np.inf, 0.0))
        p = np.where(np.isfinite(t), stdtr(df, -np.nan_to_num(t)), np.where(t > 0, 0.0, 1.0))
    bad = (n < 3) | ~(sxx > 0)
    p[bad] = 1.0
    t[bad] = 0.0
    slope[bad & ~np.isfinite(slope)] = np.nan
    x_first, x_last = _x_ends(x, ok)
    return GrowthFit(slope=slope, se=se, t=t, p=p, df=df, phi=phi, n=n, n_eff=n_eff,
                     resid_sd=np.sqrt(s2), x_first=x_first, x_last=x_last)


def _masked_gram(w: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Bᵀ diag(w_c) B for every column c of the weights (m, d, d), by one matrix product."""
    d = basis.shape[1]
    pairs = (basis[:, :, None] * basis[:, None, :]).reshape(len(basis), d * d)
    return (w.T @ pairs).reshape(w.shape[1], d, d) + 1e-9 * np.eye(d)[None]


def level_noise(y: np.ndarray, x: np.ndarray, degree: int = 3) -> np.ndarray:
    """Standard deviation of each column about a cubic in x: how far its level wanders from a smooth path.

    Two levels of a stationary series differ by at most √2 × this in standard deviation,
    however strongly neighbouring points repeat each other (what a slope test on a short,
    autocorrelated tail cannot say with confidence, a comparison of levels can).
    """
    ok = ~np.isnan(y)
    w = ok.astype(np.float64)
    n = w.sum(axis=0)
    span = float(np.nanmax(x) - np.nanmin(x)) if len(x) else 0.0
    u = (x - (np.nanmin(x) if len(x) else 0.0)) / span * 2 - 1 if span > 0 else np.zeros(len(x))
    basis = np.stack([u**k for k in range(degree + 1)], axis=1)
    yy = np.where(ok, y, 0.0)
    coef = np.linalg.solve(_masked_gram(w, basis), (yy.T @ basis)[:, :, None])[:, :, 0]
    r = (yy - basis @ coef.T) * w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > degree + 1, np.sqrt((r * r).sum(axis=0) / np.maximum(n - degree - 1, 1.0)), np.nan)


def _poly_with_covariate(y: np.ndarray, x: np.ndarray, z: np.ndarray,
                         degree: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(b, its standard error, residual sum of squares) of y = poly_degree(x) + b·z, per column."""
    ok = ~np.isnan(y) & ~np.isnan(z)
    w = ok.astype(np.float64)
    n = w.sum(axis=0)
    span = float(np.nanmax(x) - np.nanmin(x)) if len(x) else 0.0
    u = (x - (np.nanmin(x) if len(x) else 0.0)) / span * 2 - 1 if span > 0 else np.zeros(len(x))
    basis = np.stack([u**k for k in range(degree + 1)], axis=1)  # (T, d)
    yy, zz = np.where(ok, y, 0.0), np.where(ok, z, 0.0)
    gram = _masked_gram(w, basis)
    rhs = np.stack([yy.T @ basis, zz.T @ basis], axis=2)  # (m, d, 2); y and z are 0 where left out
    coef = np.linalg.solve(gram, rhs)  # (m, d, 2)
    ry = (yy - basis @ coef[:, :, 0].T) * w
    rz = (zz - basis @ coef[:, :, 1].T) * w
    with np.errstate(invalid="ignore", divide="ignore"):
        szz = (rz * rz).sum(axis=0)
        scale_z = (np.abs(zz) * w).sum(axis=0) / np.maximum(n, 1.0)
        szz = np.where(szz > 1e-12 * n * np.maximum(scale_z**2, 1.0), szz, 0.0)  # z constant but for rounding
        # The turnover is counted, not known: its interval-to-interval counting noise would pull a
        # plain least-squares b towards 0.  The previous point's z is the instrument (the load
        # persists from one interval to the next, the counting noise does not).
        both = ok[1:] & ok[:-1]
        inst = np.where(both, rz[:-1], 0.0)
        szv = (rz[1:] * inst).sum(axis=0)
        svv = (inst * inst).sum(axis=0)
        strong = (szz > 0) & (szv > 0.1 * np.sqrt(np.maximum(svv, 0.0) * szz))
        safe = np.where(strong, szv, 1.0)
        b_ols = np.where(szz > 0, (ry * rz).sum(axis=0) / np.where(szz > 0, szz, 1.0), 0.0)
        b = np.where(strong, (ry[1:] * inst).sum(axis=0) / safe, b_ols)  # a weak instrument: plain least squares
        r = ry - b * rz
        sse = (r * r).sum(axis=0)
        rho = np.where(sse > 0, (r[1:] * r[:-1] * both).sum(axis=0) / np.where(sse > 0, sse, 1.0), 0.0)
        rho = np.clip(rho + RHO_MARGIN * np.sqrt(np.maximum(1 - rho**2, 0.0) / np.maximum(n, 1.0)), 0.0, PHI_MAX)
        rho_z = np.clip((rz[1:] * rz[:-1] * both).sum(axis=0) / np.where(szz > 0, szz, 1.0), 0.0, 1.0)
        infl = (1 + rho * rho_z) / np.maximum(1 - rho * rho_z, 1e-3)
        s2 = sse / np.maximum(n - degree - 2, 1.0)
        var = np.where(strong, s2 * svv / safe**2, s2 / np.where(szz > 0, szz, np.inf)) * infl
    enough = n >= degree + 4
    return (np.where(enough, np.nan_to_num(b), 0.0), np.where(enough, np.nan_to_num(np.sqrt(var)), 0.0),
            np.where(enough, sse, np.nan))


def load_coefficient(y: np.ndarray, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(b, its standard error) of y = trend(x) + b·z per column, over the points with y and z.

    b is an instrumental-variable estimate (z of the previous point as the instrument, so
    that the counting noise of z does not pull b towards 0), or plain least squares where z
    hardly persists from one point to the next.  The trend is a line (a leak or nothing: then
    the load's daily swing identifies b), or a cubic where a cubic halves the residual variance
    (a fill's bend, which a line would leave in the residuals; b then rests on the load's
    faster changes, test loops and bursts).  The
    error is widened for AR(1) residuals by (1 + φρz)/(1 − φρz) (φ an upper confidence value
    of the residuals' lag-1 autocorrelation, ρz that of z once the trend is taken out).
    """
    b1, se1, sse1 = _poly_with_covariate(y, x, z, 1)
    b3, se3, sse3 = _poly_with_covariate(y, x, z, 3)
    bent = np.nan_to_num(sse3) < 0.5 * np.nan_to_num(sse1)
    return np.where(bent, b3, b1), np.where(bent, se3, se1)


def drift_fit(y: np.ndarray, x: np.ndarray, scale: float | np.ndarray = 1.0, mask: np.ndarray | None = None,
              z: np.ndarray | None = None, z_se: np.ndarray | None = None) -> GrowthFit:
    """Growth as a drift: the mean step per x unit between consecutive points, and a one-sided test.

    The model of a leak of 1-in-N operations: a random walk with drift (each step adds a
    random count of leaked allocations), on which a line fit through the levels is not valid.
    Steps are weighted by the time between points (Σ Δy / Σ Δx); the steps' lag-1
    autocorrelation, when positive, widens the error (a stationary level has negatively
    correlated steps, for which the plain error is already conservative).  With a covariate
    ``z`` (the tag's turnover, see :func:`growth_fit`) each step is fitted as mu·Δx + b·Δz: a
    step that the load's own change explains is not drift.  With ``z_se`` too, ``y`` is already
    load-adjusted and the error of b widens the drift's (as in :func:`growth_fit`).
    """
    from scipy.special import stdtr

    y, ok = _columns_present(y, mask)
    m = y.shape[1]
    # Consecutive present points, gaps bridged: a column with gaps inside is compressed to its present
    # points.  A column without is left where it is: every statistic below is a sum over its steps
    # in time order, which the absent points around its run (steps of 0 weight) do not change.
    n = ok.sum(axis=0)
    ys = np.where(ok, y, np.nan)
    xs = np.where(ok, x[:, None], np.nan)
    zs_all = None if z is None else np.where(ok, z, np.nan)
    first = np.argmax(ok, axis=0)
    last = ok.shape[0] - 1 - np.argmax(ok[::-1], axis=0)
    gappy = np.flatnonzero((n > 0) & (last - first + 1 != n))
    if len(gappy):
        ok_g = ok[:, gappy]
        order = np.argsort(~ok_g, axis=0, kind="stable")  # present rows first, in time order
        ys[:, gappy] = np.take_along_axis(ys[:, gappy], order, axis=0)
        xs[:, gappy] = np.where(np.take_along_axis(ok_g, order, axis=0), x[order], np.nan)
        if zs_all is not None:
            zs_all[:, gappy] = np.take_along_axis(zs_all[:, gappy], order, axis=0)
    dy = np.diff(ys, axis=0)
    dxs = np.diff(xs, axis=0)
    valid = ~np.isnan(dy) & (dxs > 0)
    dy = np.where(valid, dy, 0.0)
    dxs = np.where(valid, dxs, 0.0)
    steps = valid.sum(axis=0)
    extra = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        total_dx = dxs.sum(axis=0)
        z_drift = np.zeros(m)
        if z is None or z_se is not None:
            mu = dy.sum(axis=0) / total_dx
            e = np.where(valid, (dy - mu * dxs) / np.sqrt(np.where(valid, dxs, 1.0)), 0.0)
            if z is not None:
                dzs = np.where(valid, np.nan_to_num(np.diff(zs_all, axis=0)), 0.0)
                z_drift = np.nan_to_num(z_se * dzs.sum(axis=0) / total_dx)
        else:
            # Weighted (1/Δx) least squares of the steps on Δx and Δz, without intercept.
            dzs = np.where(valid, np.nan_to_num(np.diff(zs_all, axis=0)), 0.0)
            root = np.sqrt(np.where(valid, dxs, 1.0))
            u, v, wv = np.where(valid, dxs / root, 0.0), dzs / root, dy / root
            svv = (v * v).sum(axis=0)
            has = svv > 0
            safe = np.where(has, svv, 1.0)
            u_t = u - np.where(has, (u * v).sum(axis=0) / safe, 0.0) * v
            w_t = wv - np.where(has, (wv * v).sum(axis=0) / safe, 0.0) * v
            total_dx = (u_t * u_t).sum(axis=0)  # the information Δx carries once Δz is fitted
            mu = (u_t * w_t).sum(axis=0) / total_dx
            e = np.where(valid, w_t - mu * u_t, 0.0)
            extra = has.astype(np.float64)
        s2 = (e * e).sum(axis=0) / np.maximum(steps - 1 - extra, 1)
        c1 = (e[1:] * e[:-1] * (valid[1:] & valid[:-1])).sum(axis=0)
        rho = np.where(s2 > 0, c1 / ((e * e).sum(axis=0)), 0.0)
        rho_up = np.clip(rho + RHO_MARGIN * np.sqrt(np.maximum(1 - rho**2, 0.0) / np.maximum(steps, 1)), 0.0,
                         PHI_MAX)
        inflation = (1 + rho_up) / (1 - rho_up)
        se = np.sqrt(s2 / total_dx * inflation + z_drift**2) * np.maximum(scale, 1.0)
        n_eff = steps / inflation
        df = np.maximum(n_eff - 1 - extra, 1.0)
        t = np.where(se > 0, mu / se, np.where(mu > 0, np.inf, 0.0))
        p = np.where(np.isfinite(t), stdtr(df, -np.nan_to_num(t)), np.where(t > 0, 0.0, 1.0))
    bad = (steps < 3) | ~(total_dx > 0)
    p[bad] = 1.0
    t[bad] = 0.0
    x_first, x_last = _x_ends(x, ok)
    return GrowthFit(slope=mu, se=se, t=t, p=p, df=df, phi=rho_up, n=n.astype(np.float64), n_eff=n_eff,
                     resid_sd=np.sqrt(s2), x_first=x_first, x_last=x_last)


def step_noise(y: np.ndarray) -> np.ndarray:
    """Robust point-to-point noise of each column: 1.4826 / √2 × the median absolute step (gaps skipped)."""
    d = np.abs(np.diff(y, axis=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(d, axis=0) if d.shape[0] else np.zeros(y.shape[1])
    return np.nan_to_num(1.4826 / np.sqrt(2) * med)


def null_scale(t: np.ndarray, minimum_series: int = 200) -> float:
    """How much wider than N(0, 1) the run's growth statistics spread (≥ 1).

    A run of thousands of tags is mostly stable tags: the robust spread (1.4826 × MAD)
    of their t statistics is what a miscalibrated test would show.  Only ever widens;
    with fewer than ``minimum_series`` usable statistics the theoretical null stands.
    """
    t = t[np.isfinite(t) & (t != 0)]
    if len(t) < minimum_series:
        return 1.0
    mad = 1.4826 * float(np.median(np.abs(t - np.median(t))))
    return max(1.0, mad)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q-values of the Benjamini–Hochberg step-up procedure (NaN p stays NaN, q is monotone in p)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not len(ok):
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def large_falls(y: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """How many times each column fell by ``threshold`` from a peak, counting again only after a rise as large."""
    n, m = y.shape
    count = np.zeros(m, dtype=np.intp)
    if n < 2:
        return count
    peak = np.where(np.isnan(y[0]), -np.inf, y[0])
    trough = np.where(np.isnan(y[0]), np.inf, y[0])
    armed = np.ones(m, dtype=bool)  # the first fall always counts; later ones after a rise of threshold
    for t in range(1, n):
        v = y[t]
        ok = ~np.isnan(v)
        peak = np.where(ok & (v > peak), v, peak)
        trough = np.where(ok & (v < trough), v, trough)
        armed |= ok & (v - trough >= threshold)
        fell = ok & armed & (peak - v >= threshold) & (threshold > 0)
        count += fell
        armed &= ~fell
        peak = np.where(fell, v, peak)
        trough = np.where(fell, v, trough)
    return count


def combine_one_sided(p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted Stouffer combination of independent one-sided p-values, per column of ``p`` (S, m).

    Each p becomes z = Φ⁻¹(1 − p); Σ wᵢzᵢ / √Σ wᵢ² is N(0, 1) when every p is uniform, so the
    combined p is exact whatever the weights, as long as they are fixed without looking at
    the p-values.  NaN entries (or weight 0) take no part; a column with none gives 1.
    """
    from scipy.special import ndtr, ndtri

    use = np.isfinite(p) & (weights > 0)
    w = np.where(use, weights, 0.0)
    z = np.where(use, -ndtri(np.clip(np.where(use, p, 0.5), 1e-300, 1.0)), 0.0)
    norm = np.sqrt((w * w).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(norm > 0, (w * z).sum(axis=0) / np.where(norm > 0, norm, 1.0), -np.inf)
    return np.where(norm > 0, ndtr(-total), 1.0)
