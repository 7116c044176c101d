"""Theil–Sen and Mann–Kendall (analyzer.analysis.stats) against their reference implementations."""

from __future__ import annotations

import numpy as np
import pymannkendall as pmk
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from analyzer.analysis import stats


def test_exact_slope_on_a_line():
    x = np.arange(50, dtype=float) * 0.5
    y = 3.0 * x + 5.0
    ts = stats.trend_tests(y, x)
    assert ts.slope[0] == pytest.approx(3.0)
    assert ts.low[0] == pytest.approx(3.0)
    assert ts.high[0] == pytest.approx(3.0)
    assert ts.s[0] == 50 * 49 / 2  # every pair increases
    assert ts.p[0] < 1e-12


def test_slope_and_interval_match_scipy_theilslopes():
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 10, 60))
    ys = [2.0 * x + rng.normal(0, 3, 60) for _ in range(5)] + [rng.normal(0, 1, 60)]
    ts = stats.trend_tests(np.column_stack(ys), x, correct=False, alpha=0.90)
    for i, y in enumerate(ys):
        ref = sps.theilslopes(y, x, alpha=0.90)
        assert ts.slope[i] == pytest.approx(ref.slope, rel=1e-12)
        assert ts.low[i] == pytest.approx(ref.low_slope, rel=1e-12)
        assert ts.high[i] == pytest.approx(ref.high_slope, rel=1e-12)


def test_interval_with_ties_matches_scipy():
    rng = np.random.default_rng(4)
    x = np.arange(40, dtype=float)
    y = np.round(0.2 * x + rng.normal(0, 1, 40))  # integers: many ties
    ts = stats.trend_tests(y, x, correct=False)
    ref = sps.theilslopes(y, x)
    assert (ts.slope[0], ts.low[0], ts.high[0]) == pytest.approx((ref.slope, ref.low_slope, ref.high_slope))


def test_interval_covers_the_true_slope_on_noisy_data():
    rng = np.random.default_rng(5)
    n, m, true = 80, 400, 1.5
    x = np.arange(n, dtype=float)
    y = true * x[:, None] + rng.normal(0, 10, (n, m))
    ts = stats.trend_tests(y, x, correct=False, alpha=0.95)
    covered = np.mean((ts.low <= true) & (true <= ts.high))
    assert 0.90 <= covered <= 0.99
    assert np.median(ts.slope) == pytest.approx(true, abs=0.05)


def test_missing_points_give_the_slope_of_the_points_present():
    rng = np.random.default_rng(6)
    x = np.arange(30, dtype=float)
    y = 4.0 * x + rng.normal(0, 2, 30)
    holed = y.copy()
    holed[[3, 4, 17, 29]] = np.nan
    ts = stats.trend_tests(holed, x, correct=False)
    keep = ~np.isnan(holed)
    ref = sps.theilslopes(y[keep], x[keep])
    assert ts.slope[0] == pytest.approx(ref.slope)
    assert (ts.low[0], ts.high[0]) == pytest.approx((ref.low_slope, ref.high_slope))
    assert ts.n[0] == keep.sum()


def test_mann_kendall_matches_pymannkendall_original_test():
    rng = np.random.default_rng(7)
    cols = [rng.normal(0, 1, 45) + 0.02 * np.arange(45), np.round(rng.normal(0, 1, 45)), rng.normal(0, 1, 45)]
    ts = stats.trend_tests(np.column_stack(cols), correct=False)
    for i, y in enumerate(cols):
        ref = pmk.original_test(y)
        assert ts.s[i] == ref.s
        assert ts.var_s[i] == pytest.approx(ref.var_s)
        assert ts.z[i] == pytest.approx(ref.z)
        assert ts.p[i] == pytest.approx(ref.p)


@pytest.mark.parametrize("lag", [None, 5, 10])
def test_yue_wang_correction_matches_pymannkendall(lag):
    rng = np.random.default_rng(8)
    n = 70
    e = rng.normal(0, 1, (n, 4))
    ar = np.zeros_like(e)
    for t in range(1, n):
        ar[t] = 0.7 * ar[t - 1] + e[t]
    y = ar + 0.03 * np.arange(n)[:, None]
    ts = stats.trend_tests(y, lag=lag, conservative=False)
    for i in range(4):
        ref = pmk.yue_wang_modification_test(y[:, i], lag=lag)
        assert ts.var_s[i] == pytest.approx(ref.var_s, rel=1e-9)
        assert ts.z[i] == pytest.approx(ref.z, rel=1e-9)
        assert ts.p[i] == pytest.approx(ref.p, rel=1e-6, abs=1e-12)


def test_conservative_correction_never_shrinks_the_variance():
    rng = np.random.default_rng(9)
    y = rng.normal(0, 1, (60, 50))
    plain = stats.trend_tests(y, correct=False)
    corrected = stats.trend_tests(y, lag=10)
    assert np.all(corrected.var_s >= plain.var_s - 1e-9)


def test_mann_kendall_on_monotone_and_random_series():
    rng = np.random.default_rng(10)
    n = 100
    monotone = np.cumsum(rng.uniform(0.1, 1.0, n))
    ts = stats.trend_tests(monotone[:, None], lag=10)
    assert ts.p[0] < 1e-3 and ts.z[0] > 0  # the correction widens: a cumulative sum is autocorrelated
    assert stats.trend_tests(monotone[:, None], correct=False).p[0] < 1e-12
    noise = rng.normal(0, 1, (n, 1000))
    tn = stats.trend_tests(noise, lag=10)
    # Under no trend the test rejects at about its nominal rate.
    assert 0.01 <= np.mean(tn.p < 0.05) <= 0.09
    falling = stats.trend_tests(-monotone[:, None])
    assert falling.z[0] < 0 and falling.slope[0] < 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=2, max_size=40))
def test_tie_sums_agree_with_counting(values):
    y = np.array(values, dtype=float)[:, None]
    _, counts = np.unique(y, return_counts=True)
    expected = float(np.sum(counts * (counts - 1) * (2 * counts + 5)))
    assert stats.tie_sums(y)[0] == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=25))
def test_vectorised_slope_agrees_with_scipy_on_any_series(values):
    y = np.array(values)
    x = np.arange(len(y), dtype=float)
    ts = stats.trend_tests(y, x, correct=False)
    ref = sps.theilslopes(y, x)
    assert ts.slope[0] == pytest.approx(ref.slope, rel=1e-9, abs=1e-6)


def test_interval_outside_the_first_pass_band_is_the_same(monkeypatch):
    rng = np.random.default_rng(13)
    n = 90
    e = rng.normal(0, 1, (n, 6))
    ar = np.zeros_like(e)
    for t in range(1, n):
        ar[t] = 0.9 * ar[t - 1] + e[t]
    y = ar + 0.05 * np.arange(n)[:, None]
    wide = stats.trend_tests(y, lag=20)
    monkeypatch.setattr(stats, "_BAND_FACTOR", 0.01)  # every interval now needs the second pass
    narrow = stats.trend_tests(y, lag=20)
    assert np.array_equal(wide.low, narrow.low) and np.array_equal(wide.high, narrow.high)
    assert np.any(wide.n_ns > 1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=4, max_size=30))
def test_vectorised_mann_kendall_agrees_with_pymannkendall_on_any_series(values):
    y = np.array(values, dtype=float)
    ts = stats.trend_tests(y, correct=False)
    ref = pmk.original_test(y)
    assert ts.s[0] == ref.s
    assert ts.var_s[0] == pytest.approx(ref.var_s)
    assert ts.p[0] == pytest.approx(ref.p, abs=1e-12)
