"""Benchmark: ``diff_snapshots`` and the shared alignment on two large synthetic snapshots.

    .venv/bin/python bench/diff_bench.py [--rows 20000] [--repeat 5]

Two snapshots of ``--rows`` (tag, pool) rows each, about 5% of rows present on one side only,
random counters; prints the best of ``--repeat`` runs of ``diff_snapshots`` and of
``align`` + three change columns (what ``show`` and the live view compute per frame).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from analyzer.analysis.align import align
from analyzer.analysis.diff import diff_snapshots
from parsers.model import RowTable, Snapshot


def _snapshot(rng: np.random.Generator, tags: list[str], shift: int) -> Snapshot:
    keep = rng.random(len(tags)) > 0.05
    picked = [t for t, k in zip(tags, keep, strict=True) if k]
    n = len(picked)
    rows = RowTable.from_columns(picked, rng.integers(0, 2, n), allocs=rng.integers(0, 10**6, n),
                                 frees=rng.integers(0, 10**6, n), bytes=rng.integers(0, 10**7, n) + shift)
    return Snapshot(source="bench", index=0, format="poolmon", rows=rows)


def _best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    tags = [f"T{i:07x}" for i in range(args.rows)]
    before, after = _snapshot(rng, tags, 0), _snapshot(rng, tags, 100)
    diff_s = _best(lambda: diff_snapshots(before, after), args.repeat)
    align_s = _best(lambda: [align(after.rows, before.rows).column_change(c) for c in ("allocs", "frees", "bytes")],
                    args.repeat)
    print(f"rows: {args.rows}  diff_snapshots: {diff_s * 1000:.1f} ms  "
          f"align + 3 change columns: {align_s * 1000:.1f} ms")


if __name__ == "__main__":
    main()
