"""Calibration of the growth tests on simulated nulls, and verdict rules whose outcome the model fixes.

The null simulations are vectorised (a few thousand series per call) and seeded, so each
test runs in well under a second.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from analyzer.analysis import stats
from analyzer.analysis.trend import analyze
from tests.trend_helpers import snapshots_from

SERIES = 3000


def _ar1(rng: np.random.Generator, n: int, m: int, phi: float, heavy: bool) -> np.ndarray:
    """Stationary AR(1) columns; heavy: Student-t(3) innovations (scaled to unit variance)."""
    e = rng.standard_t(3, (n, m)) / np.sqrt(3.0) if heavy else rng.normal(size=(n, m))
    out = np.empty((n, m))
    out[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + e[t]
    return out


def _allowed(alpha: float, m: int = SERIES) -> float:
    """Nominal rate plus three binomial standard errors (the simulation's own noise)."""
    return alpha + 3 * np.sqrt(alpha * (1 - alpha) / m)


@pytest.mark.parametrize("n", [60, 240])
@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9, 0.97])
@pytest.mark.parametrize("heavy", [False, True])
def test_growth_tests_reject_a_stable_null_at_most_at_the_nominal_rate(n, phi, heavy):
    rng = np.random.default_rng(int(1000 * phi) + n + heavy)
    y = _ar1(rng, n, SERIES, phi, heavy)
    x = np.arange(n) / 60.0
    line, drift = stats.growth_fit(y, x).p, stats.drift_fit(y, x).p
    for alpha in (0.05, 0.01):
        assert np.mean(line < alpha) <= _allowed(alpha)
        assert np.mean(drift < alpha) <= _allowed(alpha)


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_a_tag_following_a_trending_load_is_not_growth(phi):
    """y = b·turnover + AR(1) noise with a load that rises over the window (part of a daily cycle)."""
    rng = np.random.default_rng(77)
    n = 240
    x = np.arange(n) / 60.0  # four hours
    load = 5 * np.sin(2 * np.pi * (x[:, None] + rng.uniform(0, 24, SERIES)) / 24)
    z = 100 + load + rng.normal(0, 1, (n, SERIES))  # turnover: the daily swing and faster variation
    y = 3 * z + _ar1(rng, n, SERIES, phi, heavy=True)
    naive = stats.growth_fit(y, x).p
    b, b_se = stats.load_coefficient(y, x, z)
    adjusted = y - b * (z - z.mean(axis=0))
    line = stats.growth_fit(adjusted, x, z=z, z_se=b_se).p
    drift = stats.drift_fit(adjusted, x, z=z, z_se=b_se).p
    assert np.mean(naive < 0.01) > 0.2  # without the turnover the daily swing looks like growth
    for alpha in (0.05, 0.01):
        assert np.mean(line < alpha) <= _allowed(alpha)
        assert np.mean(drift < alpha) <= _allowed(alpha)
    # The joint fit (Frisch–Waugh) is calibrated as well.
    joint = stats.growth_fit(y, x, z=z).p
    assert np.mean(joint < 0.01) <= _allowed(0.01)


def test_the_turnover_does_not_hide_a_leak_of_one_in_n_operations():
    rng = np.random.default_rng(78)
    n, m = 240, 200
    x = np.arange(n) / 60.0
    z = 100 + 5 * np.sin(2 * np.pi * (x[:, None] + rng.uniform(0, 24, m)) / 24) + rng.normal(0, 1, (n, m))
    leaked = np.cumsum(z / 60.0, axis=0) / 20  # one operation in 20 never freed
    y = 3 * z + leaked + _ar1(rng, n, m, 0.5, heavy=True)
    b, b_se = stats.load_coefficient(y, x, z)
    fit = stats.growth_fit(y - b * (z - z.mean(axis=0)), x, z=z, z_se=b_se)
    assert np.mean(fit.p < 1e-4) > 0.95
    assert np.median(fit.slope) == pytest.approx(5.0, rel=0.1)  # 100 operations/h ÷ 20


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_growth_in_every_boot_segment_is_combined_at_the_nominal_rate(phi):
    """Three short stable segments (10–40 points): each segment's p is honest, and so is their combination.

    Pooling the slopes by inverse variance trusts each short segment's noisy standard error
    (few degrees of freedom); the segments' own p-values, combined, keep the nominal rate.
    """
    rng = np.random.default_rng(int(100 * phi) + 7)
    sizes = (40, 25, 10)
    ps, weights = [], []
    for n in sizes:
        fit = stats.growth_fit(_ar1(rng, n, SERIES, phi, heavy=True), np.arange(n) / 30.0)
        ps.append(fit.p)
        weights.append(np.full(SERIES, np.sqrt(n)))
    combined = stats.combine_one_sided(np.array(ps), np.array(weights))
    for alpha in (0.05, 0.01):
        assert np.mean(combined < alpha) <= _allowed(alpha)
    # Uniform p-values give a uniform combination; a segment left out (NaN) takes no part.
    u = rng.uniform(size=(3, SERIES))
    u[2, : SERIES // 2] = np.nan
    both = stats.combine_one_sided(u, np.ones((3, SERIES)))
    assert abs(np.mean(both < 0.05) - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / SERIES)
    assert stats.combine_one_sided(np.full((2, 1), np.nan), np.ones((2, 1)))[0] == 1.0
    # Growth in each segment adds up: three p of 0.02 together say far more than one.
    assert stats.combine_one_sided(np.full((3, 1), 0.02), np.ones((3, 1)))[0] < 0.001


def test_q_values_are_monotone_in_p():
    rng = np.random.default_rng(79)
    p = np.concatenate([rng.uniform(size=500), rng.uniform(0, 1e-4, 20), [np.nan, 1.0, 0.0]])
    q = stats.benjamini_hochberg(p)
    ok = np.isfinite(p)
    order = np.argsort(p[ok], kind="stable")
    assert np.all(np.diff(q[ok][order]) >= 0)
    assert np.all(q[ok] >= p[ok]) and np.all(q[ok] <= 1.0)
    assert np.isnan(q[~ok]).all()


def _run(series: dict, n: int, **kwargs):
    return analyze(snapshots_from({k: np.round(v) for k, v in series.items()}, **kwargs))


def test_rows_of_a_run_carry_q_values_monotone_in_their_p_values():
    rng = np.random.default_rng(80)
    n = 180
    t = np.arange(n, dtype=float)
    series = {(f"S{i:03d}", "paged"): 50_000 + rng.normal(0, 500, n) for i in range(60)}
    for i in range(5):
        series[(f"L{i:03d}", "nonpaged")] = 50_000 + (i + 1) * 2000 * t + rng.normal(0, 500, n)
    result = _run(series, n)
    pairs = sorted((r.stats.p_value, r.q_value) for r in result.rows if r.q_value is not None)
    qs = [q for _, q in pairs]
    assert qs == sorted(qs)
    assert sum(r.verdict == "leak" for r in result.rows) == 5


def test_a_fill_that_levels_off_is_stable_and_says_where():
    rng = np.random.default_rng(81)
    n = 240
    t = np.arange(n, dtype=float)
    fill = 100_000 + 2_000_000 * np.minimum(t / 140, 1.0) + rng.normal(0, 3000, n)
    calm = {(f"C{i:03d}", "paged"): 40_000 + rng.normal(0, 300, n) for i in range(20)}
    result = _run({("Fill", "nonpaged"): fill, **calm}, n)
    row = next(r for r in result.rows if r.tag == "Fill")
    assert row.verdict == "stable"
    assert row.stats.levelled_off
    assert "levelled off at" in row.reason
    assert row.stats.level_bytes == pytest.approx(2_100_000, rel=0.02)


def test_a_series_ending_at_its_maximum_is_never_recovers():
    rng = np.random.default_rng(82)
    n = 240
    t = np.arange(n, dtype=float)
    # A large early give-back, then growth to a new high at the end.
    shape = np.where(t < 40, 20_000 * t, np.where(t < 60, 800_000 - 40_000 * (t - 40), 15_000 * (t - 60)))
    rows = []
    for seed in range(5):
        noise = np.random.default_rng(seed).normal(0, 5000, n)
        calm = {(f"C{i:03d}", "paged"): 40_000 + rng.normal(0, 300, n) for i in range(10)}
        result = _run({("Ends", "nonpaged"): 200_000 + shape + noise, **calm}, n)
        rows.append(next(r for r in result.rows if r.tag == "Ends"))
    assert all(r.verdict != "recovers" for r in rows)


def test_noise_alone_is_not_recovers():
    rng = np.random.default_rng(83)
    n = 240
    series = {(f"N{i:03d}", "paged"): 80_000 + np.cumsum(rng.normal(0, 400, n)) * 0.2 + rng.normal(0, 2000, n)
              for i in range(200)}
    result = _run(series, n)
    assert sum(r.verdict == "recovers" for r in result.rows) <= 2


def test_five_snapshots_of_a_test_run_can_say_leak():
    rng = np.random.default_rng(84)
    n = 5
    series = {(f"T{i:03d}", "paged"): 60_000 + rng.normal(0, 800, n) for i in range(200)}
    series[("Grow", "nonpaged")] = 60_000 + 40_000 * np.arange(n) + rng.normal(0, 800, n)
    result = _run(series, n, interval=timedelta(minutes=10))
    row = next(r for r in result.rows if r.tag == "Grow")
    assert row.verdict == "leak"
    assert row.stats.path == "short"
    assert sum(r.verdict == "leak" for r in result.rows) == 1
