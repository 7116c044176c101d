"""Benchmark: live capture cost, durable log throughput, reading logs back, slabinfo rows.

    .venv/bin/python bench/capture_bench.py [--snapshots 50] [--records 300] [--tags 3000]

Measures, in one run:

* ``capture.snapshot()`` on this machine (Linux: /proc/slabinfo + /proc/meminfo), mean and p95;
* appending records of a Windows-sized snapshot (``--tags`` tags, both pools, all four counters)
  with one write + fsync each: records/s, bytes per record;
* ``parsers.parse`` of that log: MB/s and snapshots/s;
* the slabinfo row fast path against the pyparsing grammar on this machine's slabinfo rows.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from analyzer.live import capture
from analyzer.live.capture.capturelog import CaptureWriter
from parsers import RowTable, Snapshot, parse
from parsers.slabinfo import split_row_fast, split_row_grammar


def windows_sized(n_tags: int, i: int, rng: random.Random) -> Snapshot:
    tags = [f"T{k:03d}" for k in range(n_tags)]
    pools = [k % 2 for k in range(n_tags)]
    allocs = np.array([rng.randrange(10**6, 10**9) for _ in range(n_tags)], dtype=np.int64)
    outstanding = np.array([rng.randrange(0, 10**5) for _ in range(n_tags)], dtype=np.int64)
    rows = RowTable.from_columns(tags, pools, allocs=allocs, frees=allocs - outstanding, outstanding=outstanding,
                                 bytes=outstanding * 64)
    return Snapshot("bench", i, "capture", rows,
                    timestamp=datetime(2026, 11, 21, tzinfo=timezone.utc) + timedelta(seconds=5 * i))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--snapshots", type=int, default=50)
    ap.add_argument("--records", type=int, default=300)
    ap.add_argument("--tags", type=int, default=3000)
    args = ap.parse_args()

    backend = capture.backend_name()
    if backend is not None:
        times = []
        for _ in range(args.snapshots):
            t = time.perf_counter()
            snap = capture.snapshot()
            times.append(time.perf_counter() - t)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"snapshot ({backend}, {len(snap.rows)} rows): mean {1000 * statistics.mean(times):.2f} ms, "
              f"p95 {1000 * p95:.2f} ms")
    else:
        print("snapshot: no capture backend on this machine")

    rng = random.Random(7)
    snaps = [windows_sized(args.tags, i, rng) for i in range(args.records)]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "bench.pslog"
        t = time.perf_counter()
        with CaptureWriter(log, {"host": "bench", "os": "bench", "backend": "windows"}) as w:
            for s in snaps:
                w.append(s)
        dt = time.perf_counter() - t
        size = log.stat().st_size
        print(f"append+fsync: {args.records} records of {args.tags} rows in {dt:.2f} s = "
              f"{args.records / dt:.0f} records/s, {size / args.records / 1024:.1f} KB per record "
              f"({size / args.records / args.tags:.1f} bytes per row)")
        t = time.perf_counter()
        result = parse([log])
        dt = time.perf_counter() - t
        assert len(result.snapshots) == args.records
        print(f"read back: {size / 2**20:.1f} MB in {dt:.2f} s = {size / 2**20 / dt:.1f} MB/s, "
              f"{args.records / dt:.0f} snapshots/s")

    try:
        lines = Path("/proc/slabinfo").read_text().splitlines()[2:]
    except OSError:
        lines = Path(__file__).resolve().parent.parent.joinpath("samples/slabinfo_v21.txt").read_text() \
            .splitlines()[2:11]
    lines = (lines * (20000 // max(1, len(lines)) + 1))[:20000]
    t = time.perf_counter()
    fast = [split_row_fast(x) for x in lines]
    t_fast = time.perf_counter() - t
    t = time.perf_counter()
    slow = [split_row_grammar(x) for x in lines]
    t_slow = time.perf_counter() - t
    assert fast == slow
    print(f"slabinfo rows: fast path {len(lines) / t_fast:,.0f} rows/s, grammar {len(lines) / t_slow:,.0f} rows/s "
          f"({t_slow / t_fast:.0f}x)")


if __name__ == "__main__":
    main()
