"""Benchmark: the export families and the two-formats scan on inputs of realistic size.

    .venv/bin/python bench/exports_bench.py [--tags 3000] [--samples 48]

Measures, in one run:

* ``parsers.parse`` of a PowerShell-port CSV log (``--samples`` samples of ``--tags`` tags, appended
  without a header) and of the same in the key=value form: MB/s and rows/s;
* PoolMonX CSV of ``--tags`` rows whose numbers carry unquoted thousands separators: rows/s;
* a performance-counter CSV of one sample a minute for a week (10,080 lines): samples/s;
* the scan that finds a second format in one file (``parsers._segments``) on a 4 MB PoolMon log,
  the largest text it runs on: seconds, and its share of the whole parse.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from parsers import _segments, parse

START = datetime(2026, 11, 21, 14, 0, 0)


def tag_names(n: int) -> list[str]:
    rng = random.Random(1)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.choice(letters) for _ in range(4)))
    return sorted(names)


def ps_rows(tags: list[str], samples: int) -> list[list[str]]:
    rng = random.Random(2)
    out = []
    for i in range(samples):
        when = (START + timedelta(minutes=30 * i)).strftime("%m/%d/%Y %I:%M:%S %p")
        for t in tags:
            pa, na = 1000 + i * 10, 5000 + i * 40
            pd, nd = rng.randint(0, 500), rng.randint(0, 900)
            out.append([when, when, t, str(pa), str(pa - pd), str(pd), str(pd * 64), str(na), str(na - nd),
                        str(nd), str(nd * 128), str(pd * 64 + nd * 128)])
    return out


def timed(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = parse([path])
    return time.perf_counter() - t0, sum(len(s.rows) for s in result.snapshots)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tags", type=int, default=3000)
    ap.add_argument("--samples", type=int, default=48)
    args = ap.parse_args()
    tags = tag_names(args.tags)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = ps_rows(tags, args.samples)
        csv_path = root / "ps.csv"
        csv_path.write_text("\n".join(",".join(f'"{c}"' for c in r) for r in rows) + "\n", encoding="utf-8")
        names = ["DateTime", "DateTimeUTC", "Tag", "PagedAllocs", "PagedFrees", "PagedDiff", "PagedUsedBytes",
                 "NonPagedAllocs", "NonPagedFrees", "NonPagedDiff", "NonPagedUsedBytes", "TotalUsedBytes"]
        kv_path = root / "ps.log"
        kv_path.write_text("\n".join(" ".join(f'{n}="{c}"' for n, c in zip(names, r, strict=True)) for r in rows)
                           + "\n", encoding="utf-8")
        for label, path in (("PowerShell CSV, no header", csv_path), ("PowerShell key=value", kv_path)):
            secs, n = timed(path)
            mb = path.stat().st_size / 1e6
            print(f"{label}: {mb:.1f} MB, {n:,} rows in {secs:.2f} s = {mb / secs:.1f} MB/s, {n / secs:,.0f} rows/s")
        rng = random.Random(3)
        lines = ["Tag,Value,Paged Allocs,Paged Frees,Paged Diff,Paged Usage,Non Paged Allocs,Non Paged Frees,"
                 "Non Paged Diff,Non Paged Usage,Source,Description"]
        for t in tags:
            pa, na = rng.randint(0, 5_000_000), rng.randint(0, 90_000_000)
            pd, nd = rng.randint(0, min(pa, 90_000)), rng.randint(0, min(na, 90_000))
            nums = [pa, pa - pd, pd, pd * 64, na, na - nd, nd, nd * 128]
            lines.append(",".join([t, "0x" + t.encode().hex(), *(f"{x:,}" for x in nums), "x.sys", "desc"]))
        px = root / "poolmonx.csv"
        px.write_text("\n".join(lines) + "\n", encoding="utf-8")
        secs, n = timed(px)
        print(f"PoolMonX CSV with digit groups: {len(tags):,} tags in {secs:.2f} s = {len(tags) / secs:,.0f} rows/s")
        perf = root / "perf.csv"
        out = ['"(PDH-CSV 4.0) (UTC)(0)","\\\\S\\Memory\\Pool Nonpaged Bytes","\\\\S\\Memory\\Pool Paged Bytes"']
        for i in range(7 * 24 * 60):
            when = (START + timedelta(minutes=i)).strftime("%m/%d/%Y %H:%M:%S.000")
            out.append(f'"{when}","{400_000_000 + i * 100}","{700_000_000 + (i % 50)}"')
        perf.write_text("\n".join(out) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        snaps = parse([perf]).snapshots
        secs = time.perf_counter() - t0
        print(f"performance counters: {len(snaps):,} samples in {secs:.2f} s = {len(snaps) / secs:,.0f} samples/s")
        screen = Path(__file__).resolve().parent.parent / "samples" / "console_session1.txt"
        text = screen.read_text(encoding="ascii")
        big = (text + "\n") * (4_000_000 // (len(text) + 1))
        t0 = time.perf_counter()
        _segments(big)
        scan = time.perf_counter() - t0
        log = root / "big.log"
        log.write_text(big, encoding="ascii")
        secs, _ = timed(log)
        print(f"second-format scan on {len(big) / 1e6:.1f} MB of PoolMon text: {scan:.3f} s "
              f"({100 * scan / secs:.0f} % of the {secs:.2f} s parse)")


if __name__ == "__main__":
    main()
