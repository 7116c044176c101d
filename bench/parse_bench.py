"""Benchmark: parse a large appended PoolMon log and compare with one awk pass.

    .venv/bin/python bench/parse_bench.py [--size-mb 500] [--tags 2500] [--repeat 1]

Generates ``bench/out/poolmon_appended.log`` (an appended ``poolmon /b`` log with
a time marker before every frame and one slowly leaking tag) unless a file of
that size is already there, then, in the same run:

* times ``awk '{n+=$4} END {print n}'`` over the file (one plain pass);
* times ``parsers.parse`` on it in a fresh interpreter (after importing the format
  modules, reported apart), which also reports its CPU time, its peak RSS (VmHWM)
  and the size of the parsed columnar data (``RowTable.nbytes``);
* prints MB/s, the ratio to awk, and peak RSS against the columnar size.

Targets (issue 2): parse time <= 3x awk (goal 2x); peak RSS < 2x the columnar data.

With ``--output`` it also times, in the same run, what a user runs end to end (interpreter
start-up included) against one awk pass printing the same fields of every row as CSV:

* ``awk`` printing tag, type, allocs, frees, diff, bytes and per-alloc of every row line;
* ``poolscope parse --format csv FILE -o OUT.csv`` (and the same with pyarrow hidden, the plain
  writer), and ``--format json``;
* ``poolscope parse --format parquet FILE -o OUT.parquet``;

each with its peak RSS (the CLI process), and prints the ratio to the awk pass (target 1.5x).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

HEADER = (
    " Memory:16671384K Avail: 9125332K  PageFlts:{pf:>6}   InRam Krnl: 9124K P:91312K\n"
    " Commit:{commit}K Limit:19830400K Peak:9120332K            Pool N:{npk}K P:{pk}K\n"
    " System pool information\n"
    " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n"
    "\n"
)

_TAG_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_."


def _tags(n: int, rng: random.Random) -> list[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        length = rng.choice((2, 3, 4, 4, 4, 4))
        tag = "".join(rng.choice(_TAG_CHARS) for _ in range(length)).ljust(4)
        if rng.random() < 0.03:
            tag = tag[:2] + " " + tag[3]  # tags with a space inside, like "Dh 2"
        key = (tag, rng.choice(("Nonp ", "Paged")))
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def generate(path: Path, size_mb: int, ntags: int, seed: int = 7) -> None:
    """Write an appended log of at least ``size_mb`` megabytes."""
    rng = random.Random(seed)
    tags = _tags(ntags, rng)
    allocs = [rng.randint(1_000, 50_000_000) for _ in tags]
    live = [rng.randint(0, 5_000) for _ in tags]
    size = [rng.choice((16, 32, 64, 128, 320, 640, 4096)) for _ in tags]
    leak = 17
    target = size_mb * 1_000_000
    written = 0
    t0 = datetime(2026, 11, 21, 14, 0, 0)
    frame = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        while written < target:
            parts = [f"===== {(t0 + timedelta(minutes=5 * frame)).isoformat(' ')} =====\n"]
            parts.append(HEADER.format(pf=rng.randint(0, 99999), commit=4411208 + frame, npk=310228 + frame, pk=402116))
            for i, (tag, typ) in enumerate(tags):
                da = rng.randint(0, 99)
                df = da if i != leak else da - 3
                allocs[i] += da
                live[i] = max(live[i] + da - df, 0)
                frees = allocs[i] - live[i]
                nbytes = live[i] * size[i]
                per = nbytes // live[i] if live[i] else 0
                parts.append(
                    f" {tag} {typ} {allocs[i]:>11} ({da:>4}) {frees:>11} ({df:>4}) "
                    f"{live[i]:>8} {nbytes:>9} ({(da - df) * size[i]:>6}) {per:>6}\n"
                )
            block = "".join(parts)
            fh.write(block)
            written += len(block)
            frame += 1


def _awk_seconds(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one awk pass."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(["awk", "{n+=$4} END {print n}", str(path)], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from parsers import parse
from parsers.formats import available_formats
available_formats()  # detection imports every format's module once; timed separately
imports = time.perf_counter() - t0
start = time.perf_counter()
cpu = time.process_time()
result = parse([sys.argv[1]])
elapsed = time.perf_counter() - start
cpu = time.process_time() - cpu
hwm = 0
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
print(json.dumps({
    "seconds": elapsed,
    "cpu": cpu,
    "imports": imports,
    "snapshots": len(result.snapshots),
    "rows": sum(len(s.rows) for s in result.snapshots),
    "columnar": sum(s.rows.nbytes() for s in result.snapshots),
    "warnings": [str(w) for w in result.warnings][:5],
    "peak_rss": hwm,
}))
"""


AWK_CSV = ('$2 == "Nonp" || $2 == "Paged" { gsub(/[()]/, ""); '
           'print FILENAME "," $1 "," $2 "," $3 "," $5 "," $7 "," $8 "," $10 }')

_NO_ARROW = "import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.compute'] = None; "


def _timed(cmd: list[str], out: Path | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (the child's own, from wait4) of one command."""
    start = time.perf_counter()
    with open(out or os.devnull, "wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.DEVNULL, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def output_runs(path: Path, mb: float, repeat: int = 1) -> None:
    """awk printing the fields against parse --format csv/json/parquet, in one run.

    With ``repeat`` > 1 the whole sequence runs that many times (awk, then each command, so a
    change of load on the shared machine hits both sides) and each command's best CPU is reported.
    """
    out = OUT / "out"
    out.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "analyzer.cli", "parse", str(path)]
    runs = [
        ("awk printing CSV", ["awk", AWK_CSV, str(path)], out / "awk.csv"),
        ("parse --format csv", [*cli, "--format", "csv", "-o", str(out / "out.csv")], None),
        ("  plain writer (no pyarrow)", [sys.executable, "-c", _NO_ARROW + "from analyzer.cli import main; main()",
                                         "parse", str(path), "--format", "csv", "-o", str(out / "plain.csv")], None),
        ("parse --format json", [*cli, "--format", "json", "-o", str(out / "out.json")], None),
        ("parse --format parquet", [*cli, "--format", "parquet", "-o", str(out / "out.parquet")], None),
        ("parse (table only)", [*cli], None),
    ]
    best: dict[str, tuple[float, float, int]] = {}
    cpus: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    for _ in range(repeat):
        for name, cmd, sink in runs:
            secs, cpu, rss = _timed(cmd, sink)
            cpus[name].append(cpu)
            if name not in best or cpu < best[name][1]:
                best[name] = (secs, cpu, rss)
    awk, awk_cpu, awk_rss = best["awk printing CSV"]
    print(f"awk printing CSV            {awk:6.2f} s  ({mb / awk:4.0f} MB/s)  {awk_cpu:6.2f} s CPU  "
          f"peak RSS {awk_rss / 1e6:5.0f} MB" + (f"  (CPU of each run: {_list(cpus['awk printing CSV'])})"
                                                  if repeat > 1 else ""))
    for name, cmd, _ in runs[1:]:
        secs, cpu, rss = best[name]
        size = ""
        target = Path(cmd[-1]) if "-o" in cmd else None
        if target is not None and target.exists():
            size = f", wrote {target.stat().st_size / 1e6:.0f} MB"
        each = f"  (CPU of each run: {_list(cpus[name])})" if repeat > 1 else ""
        print(f"{name:<28}{secs:6.2f} s  ({mb / secs:4.0f} MB/s)  {cpu:6.2f} s CPU  = {secs / awk:4.2f}x awk "
              f"(CPU {cpu / awk_cpu:4.2f}x)  peak RSS {rss / 1e6:5.0f} MB{size}{each}")
    same = (out / "out.csv").read_bytes() == (out / "plain.csv").read_bytes()
    print(f"columnar and plain CSV identical: {same}")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _parse_run(path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=500)
    ap.add_argument("--tags", type=int, default=2500)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each side (and of --output's); the best is reported")
    ap.add_argument("--file", type=Path, default=None, help="parse this file instead of the generated log")
    ap.add_argument("--output", action="store_true", help="also time parse --format csv/json/parquet against awk")
    args = ap.parse_args()

    path = args.file or OUT / f"poolmon_appended_{args.size_mb}mb_{args.tags}tags.log"
    if args.file is None and not path.exists():
        t = time.perf_counter()
        generate(path, args.size_mb, args.tags)
        print(f"generated {path} in {time.perf_counter() - t:.1f}s")
    size = os.path.getsize(path)
    mb = size / 1e6

    awk_runs = [_awk_seconds(path) for _ in range(args.repeat)]
    awk, awk_cpu = min(r[0] for r in awk_runs), min(r[1] for r in awk_runs)
    runs = [_parse_run(path) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    secs = float(best["seconds"])  # type: ignore[arg-type]
    cpu = min(float(r["cpu"]) for r in runs)  # type: ignore[arg-type]
    columnar = int(best["columnar"])  # type: ignore[call-overload]
    peak = int(best["peak_rss"])  # type: ignore[call-overload]

    print(f"file            {path.name}: {mb:.1f} MB, {best['snapshots']} snapshots, {best['rows']} rows")
    print(f"load average    {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows both sides)")
    print(f"awk pass        {awk:.2f} s  ({mb / awk:.0f} MB/s), {awk_cpu:.2f} s CPU")
    print(f"poolscope parse {secs:.2f} s  ({mb / secs:.0f} MB/s)  = {secs / awk:.2f}x awk  (target <= 3x, goal 2x)")
    print(
        f"                {cpu:.2f} s CPU = {cpu / awk_cpu:.2f}x awk CPU; "
        f"module imports before it {best['imports']:.2f} s"
    )
    print(
        f"peak RSS        {peak / 1e6:.0f} MB;  columnar data {columnar / 1e6:.0f} MB  "
        f"= {peak / columnar:.2f}x  (target < 2x)"
    )
    if best["warnings"]:
        print("warnings:", *best["warnings"], sep="\n  ")  # type: ignore[arg-type]
    if args.output:
        output_runs(path, mb, args.repeat)


if __name__ == "__main__":
    main()
