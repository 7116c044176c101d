"""Benchmark: ``poolscope report`` against ``poolscope trend`` on a big PoolMon log.

The target (issue 6): ``report`` on a 200 MB log finishes, with a progress bar, within
2x the time ``trend`` takes on the same log.  Both run as the installed command in a
subprocess; ``report`` runs with its stderr on a pseudo-terminal so the progress bar
is really drawn (the bench counts the frames it received).

    .venv/bin/python bench/report_bench.py --size-mb 200
    .venv/bin/python bench/report_bench.py --html-budget --tags 3000 --snapshots 1440

The log comes from the parse benchmark's generator (bench/parse_bench.py) when present,
else from :func:`write_log` here.
"""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

EXE = Path(sys.executable).with_name("poolscope")


def write_log(path: Path, size_mb: float, tags: int = 3000, seed: int = 6) -> int:
    """Append PoolMon ``/n``-style frames with ``=====`` time banners until the file reaches ``size_mb``.

    A few tags leak (steady growth), the rest wander around a level, so the trend
    analysis has real work to do.  Returns the number of frames written.
    """
    rng = np.random.default_rng(seed)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    names = sorted({"".join(rng.choice(letters, 4)) for _ in range(tags * 2)})[:tags]
    pools = rng.integers(0, 2, size=tags)
    size = rng.choice([64, 128, 256, 320, 640, 1024, 4096], size=tags)
    base = rng.integers(10, 20000, size=tags).astype(np.int64)
    churn = rng.integers(1, 500, size=tags).astype(np.int64)
    leak = np.zeros(tags, dtype=np.int64)
    leak[rng.choice(tags, 5, replace=False)] = rng.integers(5, 50, size=5)
    allocs = base * 3
    frees = allocs - base
    target = int(size_mb * 1024 * 1024)
    start = datetime(2026, 11, 21, 8, 0, 0)
    frames = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        while fh.tell() < target:
            when = start + timedelta(minutes=5 * frames)
            noise = rng.integers(-20, 21, size=tags)
            new = churn + np.maximum(0, noise)
            allocs += new + leak
            frees += new
            frees = np.minimum(frees, allocs)
            outstanding = allocs - frees
            nbytes = outstanding * size
            np_kb = int(nbytes[pools == 0].sum() // 1024) + 150000
            p_kb = int(nbytes[pools == 1].sum() // 1024) + 250000
            lines = [
                f"===== {when:%Y-%m-%d %H:%M:%S} =====",
                " Memory:16776692K Avail: 9121503K  PageFlts:   709   InRam Krnl:14212K P:251880K",
                f" Commit:7810220K Limit:19137988K Peak:8622564K            Pool N:{np_kb}K P:{p_kb}K",
                " System pool information",
                " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc",
                "",
            ]
            for i in range(tags):
                per = nbytes[i] // outstanding[i] if outstanding[i] else 0
                typ = "Nonp " if pools[i] == 0 else "Paged"
                lines.append(
                    f" {names[i]} {typ} {allocs[i]:>10}       {frees[i]:>10}       {outstanding[i]:>8} "
                    f"{nbytes[i]:>10}       {per:>6}"
                )
            lines.append("")
            fh.write("\n".join(lines) + "\n")
            frames += 1
    return frames


def synthetic_report(tags: int = 3000, snapshots: int = 1440, seed: int = 14) -> Any:
    """A :class:`Report` of ``tags`` series over ``snapshots`` one-minute snapshots, built directly.

    The HTML size budget is about what the page embeds, so this skips reading and the trend
    statistics: every series, verdict, owner and reason is there as ``build_report`` makes them.
    """
    from analyzer.analysis.series import SeriesSet
    from analyzer.analysis.trend import TrendRow
    from analyzer.render.report.model import PoolTotal, Report, Series, Suspect

    rng = np.random.default_rng(seed)
    start = datetime(2026, 11, 21, 8, 0, 0)
    stamps = [start + timedelta(minutes=i) for i in range(snapshots)]
    level = rng.integers(10_000, 5_000_000, size=tags).astype(float)
    noise = rng.normal(0, 1, size=(snapshots, tags)).cumsum(axis=0) * level * 0.002
    values = level + noise
    leaking = rng.choice(tags, 5, replace=False)
    values[:, leaking] += np.outer(np.arange(snapshots), rng.integers(200, 4000, size=5))
    values = np.round(values)
    names = [f"T{i:03X}"[:4].ljust(4) for i in range(tags)]
    pools = (np.arange(tags) % 2).astype(np.uint8)
    data = SeriesSet(times=np.arange(snapshots) * 60.0, timestamps=list(stamps), timed=True, tags=names,
                     pool_codes=pools, values={"bytes": values}, resets=np.zeros_like(values, dtype=bool),
                     wraps=np.zeros_like(values, dtype=bool))
    rows = []
    owners = {}
    for i, tag in enumerate(names):
        pool = "nonpaged" if pools[i] == 0 else "paged"
        leak = i in set(leaking.tolist())
        owner = f"drv{i % 97:02d}.sys - synthetic component {i % 97}"
        owners[(tag, pool)] = owner
        rows.append(TrendRow(tag, pool, "leak" if leak else "stable",
                             "grew in 1439 of 1439 intervals, +1.2 MB/h [+1.1 MB, +1.3 MB], no recovery"
                             if leak else "no sustained growth: 0 B/h [-1.2 KB, +1.1 KB], trend p=0.52, net -3.1 KB",
                             float(rng.normal(0, 1000)), None, None, None, None, None, None, None, snapshots,
                             int(values[0, i]), int(values[-1, i]), owner=owner))
    suspects = [Suspect(names[i], "nonpaged" if pools[i] == 0 else "paged", owners[(names[i], "nonpaged" if
                        pools[i] == 0 else "paged")], "leak", "grew", 1e6, None, None, int(values[0, i]),
                        int(values[-1, i]), stamps[0], stamps[-1], snapshots,
                        series=Series(list(stamps), values[:, i].tolist())) for i in leaking]
    totals = [PoolTotal(p, "sum of tags", Series(list(stamps), (values[:, pools == c].sum(axis=1) / 1024).tolist()))
              for c, p in enumerate(("nonpaged", "paged"))]
    report = Report([], snapshots, stamps[0], stamps[-1], True, [], "leak", "Likely leak (synthetic)", suspects,
                    rows, totals, [], None, None, [], owners)
    report.extra["series_set"] = data
    return report


def html_budget(tags: int, snapshots: int) -> tuple[int, float]:
    """Size in bytes and render time of the HTML report of :func:`synthetic_report`."""
    from analyzer.render.report.html import render_html

    report = synthetic_report(tags, snapshots)
    t0 = time.perf_counter()
    text = render_html(report)
    return len(text.encode("utf-8")), time.perf_counter() - t0


def generate(path: Path, size_mb: float, tags: int) -> int | str:
    """The parse benchmark's generator when it is there (one log shape for all benchmarks), else :func:`write_log`."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from parse_bench import generate as parse_bench_generate
    except ImportError:
        return write_log(path, size_mb, tags)
    parse_bench_generate(path, int(size_mb), tags)
    return "parse_bench"


def timed(cmd: list[str], *, pty_stderr: bool = False) -> tuple[float, int, bytes]:
    """Wall time, exit status and (with ``pty_stderr``) what was drawn on the terminal."""
    env = dict(os.environ, POOLSCOPE_DATA_DIR=os.devnull + "-none", NO_COLOR="1")
    env.pop("POOLSCOPE_TAGS", None)
    if not pty_stderr:
        t0 = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        return time.perf_counter() - t0, done.returncode, done.stderr
    master, slave = pty.openpty()
    drawn = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    code = proc.wait()
    elapsed = time.perf_counter() - t0
    os.close(slave)
    reader.join(timeout=5)
    os.close(master)
    return elapsed, code, bytes(drawn)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=200.0)
    ap.add_argument("--tags", type=int, default=3000)
    ap.add_argument("--folder", type=Path, default=Path("/tmp/poolscope-report-bench"))
    ap.add_argument("--keep", action="store_true", help="Keep the generated log.")
    ap.add_argument("--html-budget", action="store_true",
                    help="Only measure the HTML report's size for --tags series over --snapshots snapshots.")
    ap.add_argument("--snapshots", type=int, default=1440)
    args = ap.parse_args()
    if args.html_budget:
        size, seconds = html_budget(args.tags, args.snapshots)
        print(f"html report, {args.tags} tags x {args.snapshots} snapshots: {size / 1e6:.2f} MB "
              f"(budget 3.00 MB: {'PASS' if size <= 3_000_000 else 'FAIL'}), rendered in {seconds:.1f}s")
        return
    args.folder.mkdir(parents=True, exist_ok=True)
    log = args.folder / f"poolmon_{int(args.size_mb)}mb.log"
    if not log.exists() or log.stat().st_size < args.size_mb * 1_000_000:
        t0 = time.perf_counter()
        frames = generate(log, args.size_mb, args.tags)
        print(
            f"generated {log} ({log.stat().st_size / 1e6:.0f} MB, frames: {frames}) in {time.perf_counter() - t0:.1f}s"
        )
    exe = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "analyzer.cli"]
    with log.open("rb") as fh:  # warm the page cache so the first timed run is not the only cold one
        while fh.read(1 << 24):
            pass
    trend_s, code, err = timed([*exe, "trend", str(log), "--format", "json"])
    assert code == 0, err.decode(errors="replace")
    print(f"trend:            {trend_s:7.1f}s")
    html = args.folder / "report.html"
    report_s, code, drawn = timed([*exe, "report", str(log), "-o", str(html)], pty_stderr=True)
    assert code == 0, drawn.decode(errors="replace")
    bars = drawn.count(b"\r") + drawn.count(b"\x1b[")
    print(
        f"report (html):    {report_s:7.1f}s  ({html.stat().st_size / 1e6:.1f} MB file, "
        f"progress bar frames drawn: {bars}, 'reading' shown: {b'reading' in drawn})"
    )
    table_s, code, err = timed([*exe, "report", str(log)])
    assert code == 0, err.decode(errors="replace")
    print(f"report (table):   {table_s:7.1f}s")
    again_s, code, err = timed([*exe, "trend", str(log), "--format", "json"])
    assert code == 0, err.decode(errors="replace")
    print(f"trend (again):    {again_s:7.1f}s")
    # The machine is shared: compare with the mean of the trend runs before and after.
    trend_s = (trend_s + again_s) / 2
    ratio = report_s / trend_s
    print(f"report/trend:     {ratio:7.2f}x  (target <= 2.0x): {'PASS' if ratio <= 2.0 else 'FAIL'}")
    if not args.keep:
        log.unlink()


if __name__ == "__main__":
    main()
