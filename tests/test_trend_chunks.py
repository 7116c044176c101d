"""The trend statistics do not depend on how the full-resolution matrices are cut for speed."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.analysis import trend
from tests.trend_helpers import noisy, snapshots_from


@pytest.fixture(scope="module")
def rebooted() -> list:
    """40 tags over 7 boot segments of 30 snapshots (counters restart at each), with gaps and a few leaks."""
    rng = np.random.default_rng(11)
    n, boots = 210, 7
    series, allocs, frees = {}, {}, {}
    for i in range(40):
        key = (f"T{i:03d}", "nonpaged" if i % 2 else "paged")
        level = noisy(rng, n, 50_000 + 1_000 * i, 300)
        if i % 5 == 0:
            level += np.tile(np.arange(n // boots) * 400.0, boots)  # grows in every boot segment
        if i % 7 == 0:
            level[rng.choice(n, 9, replace=False)] = np.nan  # absent now and then
        series[key] = level
        ops = np.tile(np.cumsum(rng.integers(50, 150, n // boots)), boots).astype(float)
        allocs[key] = ops + np.tile(np.arange(n // boots), boots) * (i % 5 == 0)
        frees[key] = ops
    return snapshots_from(series, allocs=allocs, frees=frees)


def _rows(snaps: list) -> list[dict]:
    return [r.to_dict() for r in trend.analyze(snaps).rows]


def test_column_chunks_and_held_segments_give_the_same_rows(rebooted, monkeypatch):
    whole = _rows(rebooted)
    assert any(r["stats"]["segments"] == 7 for r in whole)
    monkeypatch.setattr(trend, "_CHUNK", 7)  # chunks that cut the columns unevenly
    assert _rows(rebooted) == whole
    monkeypatch.setattr(trend, "_HELD_SEGMENTS", 10)  # every segment gathered in the one pass
    assert _rows(rebooted) == whole


LENGTHS = [30, 241, 360, 469, 1391, 1440, 10_080]


@pytest.mark.parametrize(("n", "points"), [(n, p) for p in (240, 24) for n in LENGTHS if n > p])
def test_block_sums_are_numpys_bit_for_bit(n, points):
    starts = trend._blocks(n, points)
    assert starts is not None and starts[0] == 0
    rng = np.random.default_rng(n + points)
    a = rng.normal(size=(n, 16)) * 10.0 ** rng.integers(0, 12, size=(1, 16))
    a[rng.random(a.shape) < 0.3] = 0.0
    assert np.array_equal(trend._block_sum(a, starts), np.add.reduceat(a, starts, axis=0))
    present = rng.random(a.shape) < 0.7
    assert np.array_equal(trend._block_sum(present, starts), np.add.reduceat(present, starts, axis=0))


@pytest.mark.parametrize("direction", [1, -1])
def test_edge_mean_is_the_mean_of_the_nearest_present_points(direction):
    rng = np.random.default_rng(5)
    y = rng.normal(size=(40, 30)) * 1e6
    ok = rng.random(y.shape) < 0.6
    at = rng.integers(0, 40, 30)
    got = trend._edge_mean(y, ok, at, direction)
    for c in range(30):
        rows = [t for t in (range(at[c], 40) if direction > 0 else range(at[c], -1, -1)) if ok[t, c]][:3]
        expect = sum(y[t, c] for t in sorted(rows)) / len(rows) if rows else np.nan
        assert got[c] == expect or (np.isnan(expect) and np.isnan(got[c]))
