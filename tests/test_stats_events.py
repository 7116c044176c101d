"""Counter wraps and resets, onset of growth, give-back, lockstep groups and time to exhaustion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.analysis import stats
from analyzer.analysis.series import WRAP, build_series, find_wraps_and_resets, stitch, unwrap
from tests.trend_helpers import snapshots_from


def test_wrap_found_at_the_right_index_and_unwrapped():
    allocs = np.array([WRAP - 300, WRAP - 200, WRAP - 100, 0, 100, 200], dtype=float)[:, None]
    in_use = np.array([1000, 1010, 1020, 1030, 1040, 1050], dtype=float)[:, None]
    resets, wraps = find_wraps_and_resets(allocs, in_use)
    assert np.flatnonzero(wraps[:, 0]).tolist() == [3]
    assert not resets.any()
    fixed = unwrap(allocs, wraps)
    assert np.all(np.diff(fixed[:, 0]) == 100)


def test_reset_when_counters_restart_small_and_bytes_collapse():
    allocs = np.array([5_000_000, 5_000_100, 5_000_200, 120, 220], dtype=float)[:, None]
    in_use = np.array([900_000, 900_100, 900_200, 40_000, 40_100], dtype=float)[:, None]
    resets, wraps = find_wraps_and_resets(allocs, in_use)
    assert np.flatnonzero(resets[:, 0]).tolist() == [3]
    assert not wraps.any()


def test_drop_near_the_top_of_32_bits_with_collapsed_bytes_is_a_reset_not_a_wrap():
    allocs = np.array([WRAP - 300, WRAP - 200, 100, 200], dtype=float)[:, None]
    in_use = np.array([800_000, 800_100, 1_000, 1_100], dtype=float)[:, None]
    resets, wraps = find_wraps_and_resets(allocs, in_use)
    assert np.flatnonzero(resets[:, 0]).tolist() == [2]
    assert not wraps.any()


def test_gap_is_bridged_when_looking_for_a_drop():
    allocs = np.array([1000, 1100, np.nan, np.nan, 20, 30], dtype=float)[:, None]
    resets, _ = find_wraps_and_resets(allocs)
    assert np.flatnonzero(resets[:, 0]).tolist() == [4]


def test_stitch_removes_the_step_at_a_reset():
    values = np.array([100, 110, 120, 20, 30, 40], dtype=float)[:, None]
    resets = np.zeros_like(values, dtype=bool)
    resets[3] = True
    assert stitch(values, resets)[:, 0].tolist() == [100, 110, 120, 120, 130, 140]


def test_whole_log_reboot_restarts_every_series():
    n = 10
    keys = [(f"T{i:03d}", "nonpaged") for i in range(6)]
    allocs = {k: [1_000_000 + 100 * t if t < 5 else 10 + 100 * t for t in range(n)] for k in keys}
    frees = {k: [a - 50 for a in allocs[k]] for k in keys}
    series = {k: [5000.0 + t for t in range(n)] for k in keys}
    # One series without counters: restarted with the others all the same.
    series[("Xtra", "paged")] = [9000.0 + 10 * t if t < 5 else 100.0 + 10 * t for t in range(n)]
    data = build_series(snapshots_from(series, allocs=allocs, frees=frees))
    assert data.reboots == [5]
    assert data.resets[5].all()
    x = data.index_of("Xtra", "paged")
    assert np.all(np.diff(data.stitched()[:, x])[5:] == 10)


def test_series_are_aligned_by_tag_and_pool_with_gaps():
    series = {("Abcd", "nonpaged"): [1.0, 2.0, 3.0], ("Abcd", "paged"): [10.0, np.nan, 30.0]}
    data = build_series(snapshots_from(series))
    assert sorted(data.keys) == [("Abcd", "nonpaged"), ("Abcd", "paged")]
    col = data.index_of("Abcd", "paged")
    assert np.isnan(data.bytes[1, col]) and data.bytes[2, col] == 30.0
    assert data.timed and data.times.tolist() == [0.0, 60.0, 120.0]


def test_onset_of_growth_is_located():
    rng = np.random.default_rng(11)
    n = 120
    x = np.arange(n, dtype=float)
    onsets = [30, 60, 90]
    cols = [np.maximum(0.0, x - o) * 5.0 + rng.normal(0, 2, n) for o in onsets]
    cols.append(3.0 * x + rng.normal(0, 2, n))  # straight line: no onset
    idx, ratio, resid = stats.hinge_onset(np.column_stack(cols), x, candidates=n)
    for i, o in enumerate(onsets):
        assert abs(idx[i] - o) <= 2
        assert ratio[i] < 0.1
        assert resid[i] == pytest.approx(2.0, rel=0.25)
    assert ratio[3] > 0.9


def test_drawdown_finds_the_largest_fall_after_a_peak():
    y = np.array([1, 3, 7, 4, 5, 9, 8, 2, 3], dtype=float)[:, None]
    fall, peak, trough = stats.drawdown(y)
    assert (fall[0], peak[0], trough[0]) == (7.0, 5, 7)


def test_lockstep_groups_tags_with_shared_increments():
    rng = np.random.default_rng(12)
    n = 200
    shared = rng.poisson(5, n).astype(float)
    other = rng.poisson(5, (n, 2)).astype(float)
    diffs = np.column_stack([shared * 64, shared * 128 + rng.normal(0, 5, n), other[:, 0], shared * 32,
                             other[:, 1]])
    groups = stats.lockstep_groups(diffs, 0.8)
    assert groups[0] == groups[1] == groups[3] == 1
    assert groups[2] == 0 and groups[4] == 0


def test_time_to_exhaustion_is_an_interval():
    iv = stats.time_to_exhaustion(1000.0, 10.0, 5.0, 20.0)
    assert iv == {"hours": 100.0, "hours_low": 50.0, "hours_high": 200.0}
    open_ended = stats.time_to_exhaustion(1000.0, 10.0, -1.0, 20.0)
    assert open_ended is not None and open_ended["hours_high"] == float("inf")
    assert stats.time_to_exhaustion(1000.0, -3.0, -5.0, 1.0) is None


@settings(max_examples=50)
@given(st.integers(0, WRAP - 1), st.lists(st.integers(0, 2**20), min_size=2, max_size=60))
def test_unwrap_recovers_any_32_bit_counter(start, steps):
    true = start + np.cumsum([0, *steps]).astype(np.float64)
    shown = np.mod(true, WRAP)[:, None]  # what a 32-bit counter prints
    in_use = np.full_like(shown, 5000.0)
    resets, wraps = find_wraps_and_resets(shown, in_use)
    assert not resets.any()
    fixed = unwrap(shown, wraps)[:, 0]
    assert np.array_equal(fixed - fixed[0], true - true[0])


def test_reboot_while_a_tag_is_absent_applies_when_it_returns():
    n = 10
    keys = [(f"T{i:03d}", "nonpaged") for i in range(4)]
    allocs = {k: [1_000_000 + 100 * t if t < 5 else 10 + 100 * t for t in range(n)] for k in keys}
    frees = {k: [a - 50 for a in allocs[k]] for k in keys}
    series = {k: [5000.0 + t for t in range(n)] for k in keys}
    # Absent at the reboot (5) and after; back at 7 on its post-boot level.
    series[("Away", "paged")] = [9000.0 + 10 * t if t < 5 else (np.nan if t < 7 else 100.0 + 10 * t)
                                 for t in range(n)]
    data = build_series(snapshots_from(series, allocs=allocs, frees=frees))
    x = data.index_of("Away", "paged")
    assert np.flatnonzero(data.resets[:, x]).tolist() == [7]
    stitched = data.stitched()[:, x]
    assert stitched[7] == stitched[4] and stitched[9] - stitched[7] == 20
