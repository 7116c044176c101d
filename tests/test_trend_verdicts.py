"""Verdicts of analyzer.analysis.trend on series whose truth is known."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest

from analyzer.analysis.trend import VERDICTS, TrendOptions, analyze
from analyzer.render.columns import TREND_COLUMNS
from analyzer.render.tables import render_json
from tests.trend_helpers import START, noisy, snapshots_from

N = 180  # three hours of one-minute snapshots
T = np.arange(N, dtype=float)
MB_PER_HOUR = 1024 * 1024 / 60.0  # bytes per one-minute interval


def _counters(bytes_series, size=256, traffic=50, start=1_000_000):
    """Cumulative Allocs/Frees consistent with the bytes: every interval allocates, growth is not freed."""
    outstanding = np.asarray(bytes_series) // size
    grown = np.maximum(np.diff(outstanding, prepend=outstanding[:1]), 0)
    allocs = start + outstanding[0] + np.cumsum(traffic + grown)
    return allocs, allocs - outstanding


def _analyze(series, counters=True, **kwargs):
    allocs = frees = None
    if counters:
        allocs, frees = {}, {}
        for k, v in series.items():
            allocs[k], frees[k] = _counters(np.nan_to_num(v))
    return analyze(snapshots_from(series, allocs=allocs, frees=frees, **kwargs))


def _row(result, tag, pool="nonpaged"):
    return next(r for r in result.rows if r.tag == tag and r.pool == pool)


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(21)
    series = {
        ("Leak", "nonpaged"): 200_000 + MB_PER_HOUR * T + rng.normal(0, 3000, N),
        ("Cach", "paged"): 500_000 + (T % 45) * 40_000 + rng.normal(0, 2000, N),
        ("Warm", "nonpaged"): 300_000 + 2_000_000 * (1 - np.exp(-T / 10)) + rng.normal(0, 2000, N),
        ("Flat", "paged"): noisy(rng, N, 800_000, 5000),
        ("Stat", "paged"): np.full(N, 4096.0),
    }
    burst = np.full(N, 100_000.0)
    for start in (20, 70, 130):
        burst[start : start + 8] += 1_500_000
    series[("Brst", "nonpaged")] = burst + rng.normal(0, 1000, N)
    return _analyze({k: np.round(v) for k, v in series.items()})


def test_steady_leak_is_a_leak_with_its_rate(mixed):
    row = _row(mixed, "Leak")
    assert row.verdict == "leak"
    assert row.rate_low <= 1024 * 1024 <= row.rate_high
    assert row.rate_bytes_per_hour == pytest.approx(1024 * 1024, rel=0.02)
    assert row.reason.startswith("grew in 179 of 179 intervals, +1023.7 KB/h [")
    assert row.reason.endswith("freed, no recovery, still growing at the end")
    assert mixed.rows[0] is row  # most suspicious first


def test_cache_burst_warmup_and_flat_tags_are_not_leaks(mixed):
    verdicts = {r.tag: r.verdict for r in mixed.rows}
    assert verdicts["Cach"] == "recovers"
    assert verdicts["Brst"] == "recovers"
    assert verdicts["Warm"] == "stable"
    assert "levelled off" in _row(mixed, "Warm").reason
    assert verdicts["Flat"] == "stable"
    assert verdicts["Stat"] == "stable"


def test_summary_counts_every_series_once(mixed):
    assert sum(mixed.summary["verdicts"].values()) == len(mixed.rows) == 6
    assert set(mixed.summary["verdicts"]) == set(VERDICTS)
    assert mixed.summary["snapshots"] == N
    assert mixed.summary["span_hours"] == pytest.approx((N - 1) / 60, abs=1e-3)


def test_json_rows_carry_the_contract_fields(mixed):
    doc = json.loads(render_json(mixed.to_dict()))
    row = doc["rows"][0]
    for key in ("tag", "pool", "verdict", "reason", "rate_bytes_per_hour", "rate_low", "rate_high",
                "allocs_per_hour", "freed_ratio", "onset", "exhaustion", "group", "n_points", "bytes_first",
                "bytes_last", "stats"):
        assert key in row
    assert {"p_value", "q_value", "autocorrelation", "effective_points", "intervals_up", "segment"} <= set(row["stats"])
    assert row["q_value"] == row["stats"]["q_value"] and row["segment"] == 1
    assert [c.key for c in TREND_COLUMNS][:3] == ["tag", "pool", "verdict"]


def test_allocations_per_hour_and_freed_ratio_of_a_leak(mixed):
    row = _row(mixed, "Leak")
    # 256-byte allocations: 1 MB/h is 4096 allocations an hour never freed.
    assert row.allocs_per_hour == pytest.approx(4096, rel=0.05)
    assert 0.0 < row.freed_ratio < 1.0


def test_series_returns_times_and_bytes_for_charts(mixed):
    times, values = mixed.series("Leak", "nonpaged")
    assert times[0] == START and times[-1] == START + timedelta(minutes=N - 1)
    assert len(values) == N
    with pytest.raises(KeyError):
        mixed.series("Nope", "paged")


def test_too_few_snapshots_is_insufficient_data():
    result = _analyze({("Shrt", "paged"): [1000.0, 2000.0, 3000.0]})
    row = result.rows[0]
    assert row.verdict == "insufficient-data"
    assert row.rate_bytes_per_hour is None
    assert "only 3 snapshots" in row.reason


def test_leak_across_a_reboot_is_stitched():
    rng = np.random.default_rng(22)
    leak = 100_000 + MB_PER_HOUR * T
    leak[90:] -= leak[90] - 100_000  # reboot: back to the boot level, then leaking again
    other = noisy(rng, N, 300_000, 2000)
    series = {("Leak", "nonpaged"): np.round(leak), ("Calm", "paged"): other}
    allocs, frees = {}, {}
    for k, v in series.items():
        a1, f1 = _counters(v[:90])
        a2, f2 = _counters(v[90:], start=0)  # counters restart
        allocs[k], frees[k] = np.concatenate([a1, a2]), np.concatenate([f1, f2])
    result = analyze(snapshots_from(series, allocs=allocs, frees=frees))
    row = _row(result, "Leak")
    assert row.verdict == "leak"
    assert row.stats.resets == 1
    # Judged on the latest boot segment (not stitched across the reboot), and the reason says so.
    assert "boot segment 2 of 2 (since 2026-11-21 09:30)" in row.reason
    assert row.rate_bytes_per_hour == pytest.approx(1024 * 1024, rel=0.02)
    assert result.summary["reboots"] == [(START + timedelta(minutes=90)).isoformat()]
    assert _row(result, "Calm", "paged").verdict == "stable"


def test_late_leak_has_an_onset():
    rng = np.random.default_rng(23)
    late = 400_000 + np.maximum(0, T - 100) * MB_PER_HOUR + rng.normal(0, 2000, N)
    result = _analyze({("Late", "paged"): np.round(late)})
    row = result.rows[0]
    assert row.verdict == "leak"
    assert row.onset is not None
    assert abs((row.onset - (START + timedelta(minutes=100))).total_seconds()) <= 5 * 60
    assert row.rate_bytes_per_hour == pytest.approx(1024 * 1024, rel=0.05)
    assert "since" in row.reason


def test_lockstep_leaks_share_a_group():
    rng = np.random.default_rng(24)
    steps = rng.poisson(40, N)
    a = 100_000 + np.cumsum(steps) * 256.0
    b = 50_000 + np.cumsum(steps) * 64.0
    c = 70_000 + np.cumsum(rng.poisson(40, N)) * 128.0
    result = _analyze({("Lk1 ", "nonpaged"): a, ("Lk2 ", "paged"): b, ("Lk3 ", "nonpaged"): c})
    rows = {r.tag: r for r in result.rows}
    assert all(r.verdict == "leak" for r in rows.values())
    assert rows["Lk1 "].group == rows["Lk2 "].group == 1
    assert rows["Lk3 "].group is None


def test_untimed_snapshots_give_verdicts_without_hourly_rates():
    rng = np.random.default_rng(25)
    series = {("Leak", "nonpaged"): np.round(100_000 + 5000 * T + rng.normal(0, 500, N))}
    result = _analyze(series, interval=None)
    row = result.rows[0]
    assert row.verdict == "leak"
    assert row.rate_bytes_per_hour is None
    assert "/snapshot" in row.reason
    assert result.summary["timed"] is False


def test_exhaustion_from_header_figures():
    avail = [int(2_000_000 - 1024 * t / 60) for t in range(N)]  # KB: falls 1 MB an hour
    totals = [{"avail_kb": a, "commit_kb": 4_000_000 + t, "commit_limit_kb": 8_000_000} for t, a in enumerate(avail)]
    series = {("Leak", "nonpaged"): np.round(100_000 + MB_PER_HOUR * T)}
    result = _analyze(series, totals=totals)
    row = result.rows[0]
    assert row.exhaustion["resource"] == "available memory"
    headroom = avail[-1] * 1024
    assert row.exhaustion["hours"] == pytest.approx(headroom / (1024 * 1024), rel=0.02)
    assert row.exhaustion["hours_low"] <= row.exhaustion["hours"] <= row.exhaustion["hours_high"]
    system = result.exhaustion["available memory"]
    assert system["hours"] == pytest.approx(headroom / (1024 * 1024), rel=0.02)
    end = START + timedelta(minutes=N - 1)
    expected_at = end + timedelta(hours=system["hours"])
    assert abs((datetime.fromisoformat(system["at"]) - expected_at).total_seconds()) < 60


def test_gappy_tag_still_analyzed():
    rng = np.random.default_rng(26)
    s = np.round(200_000 + MB_PER_HOUR * T + rng.normal(0, 2000, N))
    s[40:60] = np.nan  # scrolled off a screen for a while
    result = _analyze({("Gapy", "paged"): s, ("Flat", "nonpaged"): noisy(rng, N, 1000, 10)})
    row = _row(result, "Gapy", "paged")
    assert row.verdict == "leak"
    assert row.n_points == N - 20


def test_options_change_the_rules():
    rng = np.random.default_rng(27)
    series = {("Leak", "nonpaged"): np.round(200_000 + MB_PER_HOUR * T + rng.normal(0, 3000, N))}
    strict = analyze(snapshots_from(series), TrendOptions(min_points=N + 1))
    assert strict.rows[0].verdict == "insufficient-data"


def test_no_snapshots_no_rows():
    result = analyze([])
    assert result.rows == [] and result.summary["verdicts"]["leak"] == 0


def test_insufficient_data_reason_gives_the_change():
    result = _analyze({("Shrt", "paged"): [1000.0, 2000.0, 4096.0]})
    assert result.rows[0].reason == "only 3 snapshots with this tag (need 4); +3.0 KB from first to last"


def test_short_window_is_at_most_suspect():
    rng = np.random.default_rng(28)
    n = 60
    series = {("Fast", "nonpaged"): np.round(100_000 + 50_000 * np.arange(n) + rng.normal(0, 500, n))}
    result = analyze(snapshots_from(series, interval=timedelta(seconds=5)))  # five minutes in all
    row = result.rows[0]
    assert row.verdict == "suspect"
    assert "only 4m observed" in row.reason


def test_timestamps_too_close_to_use_fall_back_to_order():
    rng = np.random.default_rng(29)
    series = {("Leak", "nonpaged"): np.round(100_000 + 5000 * T[:20] + rng.normal(0, 100, 20))}
    result = analyze(snapshots_from(series, interval=timedelta(milliseconds=1)))
    assert result.summary["timed"] is False
    assert result.rows[0].rate_bytes_per_hour is None
    assert result.rows[0].verdict == "leak"


def test_vanished_tag_says_when_it_was_last_seen():
    rng = np.random.default_rng(30)
    s = noisy(rng, N, 50_000, 100)
    s[150:] = np.nan
    result = _analyze({("Gone", "paged"): s, ("Stay", "paged"): noisy(rng, N, 1000, 10)})
    row = _row(result, "Gone", "paged")
    assert row.reason.endswith(", not seen after 2026-11-21 10:29")
    assert row.stats.last_seen_index == 149


def _analyze_rebooted(series: dict, bounds: tuple[int, ...]):
    """Analyse ``series`` whose counters restart at each of ``bounds``' inner points (reboots)."""
    allocs, frees = {}, {}
    for k, v in series.items():
        parts = [_counters(v[a:b], start=0 if a else 1_000_000) for a, b in pairwise(bounds)]
        allocs[k] = np.concatenate([p[0] for p in parts])
        frees[k] = np.concatenate([p[1] for p in parts])
    return analyze(snapshots_from(series, allocs=allocs, frees=frees))


def test_leak_in_every_boot_segment_reports_the_pooled_rate():
    """Slow growth after each of three boots: each segment alone is weak, together they are not."""
    rng = np.random.default_rng(31)
    bounds = (0, 70, 140, N)
    rate = 0.15 * MB_PER_HOUR  # about 150 KB/h under AR(1) noise of about 10 KB
    noise = np.zeros(N)
    for t in range(1, N):
        noise[t] = 0.8 * noise[t - 1] + rng.normal(0, 6000)
    leak = np.concatenate([200_000 + rate * np.arange(b - a) for a, b in pairwise(bounds)]) + noise
    series = {("Slow", "nonpaged"): np.round(leak)}
    series.update({(f"C{i:03d}", "paged"): np.round(noisy(rng, N, 300_000, 2000)) for i in range(30)})
    row = _row(_analyze_rebooted(series, bounds), "Slow")
    assert row.stats.segments == 3
    assert row.verdict == "leak"
    # The evidence is the every-segment route: the reason and the rate say so and are its own.
    assert row.stats.pooled_segments == 3
    assert row.reason.startswith("kept growing in each of 3 boot segments, pooled, +")
    assert row.rate_low <= rate * 60 <= row.rate_high


def _busy_mixed_leak(seed: int):
    """A busy tag of three sizes whose mix swings (bytes noisy, count steady), one early working-set
    swing given back, and 40 small allocations a minute never freed; 30 calm tags around it."""
    rng = np.random.default_rng(seed)
    n = 240
    t = np.arange(n, dtype=float)
    swing = np.zeros(n)
    for i in range(1, n):
        swing[i] = 0.9 * swing[i - 1] + rng.normal(0, 0.25 * np.sqrt(1 - 0.81))
    mix = np.array([0.5, 0.3, 0.2])[None, :] * np.exp(np.outer(swing, [1.0, -0.5, 0.8]))
    mix /= mix.sum(axis=1, keepdims=True)
    base = 40_000 + rng.normal(0, 150, n)
    base[20:36] += 12_000
    counts = np.round(base[:, None] * mix)
    counts[:, 0] += np.round(40 * t)
    out = counts.sum(axis=1)
    series = {("Busy", "paged"): (counts * np.array([16.0, 512.0, 4096.0])).sum(axis=1)}
    allocs = {("Busy", "paged"): 1_000_000 + out[0] + np.cumsum(5000 + np.maximum(np.diff(out, prepend=out[:1]), 0))}
    frees = {("Busy", "paged"): allocs[("Busy", "paged")] - out}
    for i in range(30):
        key = (f"C{i:03d}", "nonpaged")
        series[key] = noisy(rng, n, 300_000, 2000)
        allocs[key], frees[key] = _counters(series[key])
    return _row(analyze(snapshots_from(series, allocs=allocs, frees=frees)), "Busy", "paged")


def test_a_busy_mixed_size_leak_after_an_early_swing_is_found_on_its_outstanding_allocations():
    # Before, the swing's give-back (read on bytes, from the start of the segment) made every one "recovers".
    rows = [_busy_mixed_leak(seed) for seed in range(6)]
    leaks = [r for r in rows if r.verdict == "leak"]
    assert len(leaks) >= 4
    for row in leaks:
        assert row.stats.measure == "outstanding"
        assert "(outstanding allocations)" in row.reason
        assert row.q_value <= 0.01 and not row.stats.levelled_off


def test_a_block_that_straddles_a_reboot_is_no_fall():
    """600 snapshots average into blocks of 3; a reboot inside a block mixes two boots in its mean."""
    rng = np.random.default_rng(32)
    n = 600
    bounds = (0, 301, 452, n)  # both restarts fall inside a block
    leak = np.concatenate([200_000 + 3000.0 * np.arange(b - a) for a, b in pairwise(bounds)])
    series = {("Boot", "nonpaged"): np.round(leak + rng.normal(0, 2000, n))}
    series.update({(f"C{i:03d}", "paged"): noisy(rng, n, 300_000, 2000) for i in range(10)})
    row = _row(_analyze_rebooted(series, bounds), "Boot")
    assert row.stats.segments == 3
    assert row.stats.large_falls == 0
    assert row.verdict == "leak"


def test_a_sawtooth_whose_latest_boot_is_one_clean_rise_is_not_a_leak():
    """Trimmed every 150 minutes; the last reboot leaves one rise, no higher than the peaks before it."""
    rng = np.random.default_rng(33)
    n = 600
    bounds = (0, 320, 451, n)
    saw = 100_000 + 10_000.0 * (np.arange(n) % 150)
    series = {("Saw ", "nonpaged"): np.round(saw + rng.normal(0, 3000, n))}
    series.update({(f"C{i:03d}", "paged"): noisy(rng, n, 300_000, 2000) for i in range(10)})
    row = _row(_analyze_rebooted(series, bounds), "Saw ")
    assert row.stats.segment == 3 and row.stats.large_falls >= 2
    assert row.q_value < 1e-6  # the latest segment alone is a clean rise
    assert row.verdict != "leak"
