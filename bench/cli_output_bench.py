"""Benchmark: what `poolscope parse` and `poolscope show` add on top of parsing.

    .venv/bin/python bench/cli_output_bench.py [--size-mb 50] [--tags 2500]

Generates (with bench/parse_bench.py's generator) an appended PoolMon log unless one of that
size is already in bench/out/, parses it once, then times each output step on the parsed
result: the JSON contract, the CSV rows, the summary table, and `show` (filter, change
columns against the previous snapshot, sort, layout) of the last snapshot, with and without
owner lookups.  Parsing itself is measured by bench/parse_bench.py.  Not part of the tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from parse_bench import OUT, generate  # noqa: E402

from analyzer.analysis.show import ShowOptions, show_snapshot  # noqa: E402
from analyzer.render.parse_output import to_csv, to_json, to_table  # noqa: E402
from analyzer.render.show_screen import render_show  # noqa: E402
from parsers import parse  # noqa: E402


def timed(label: str, func, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = func(*args, **kwargs)
    seconds = time.perf_counter() - start
    size = f"{len(value) / 1e6:8.1f} MB out" if isinstance(value, str) else ""
    print(f"{label:<44} {seconds:8.3f} s  {size}")
    return value, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=50)
    ap.add_argument("--tags", type=int, default=2500)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"poolmon_appended_{args.size_mb}mb_{args.tags}tags.log"
    if not path.exists() or abs(path.stat().st_size - args.size_mb * 1e6) > 0.05 * args.size_mb * 1e6:
        print(f"generating {path} ...")
        generate(path, args.size_mb, args.tags)
    print(f"input: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    result, _ = timed("parse", parse, [path])
    rows = sum(len(s.rows) for s in result.snapshots)
    print(f"{len(result.snapshots)} snapshots, {rows} rows")
    owners = {}.get  # the cost of a lookup per distinct tag, without reading a tag file
    _, t_json = timed("parse --format json (to_json)", to_json, result, owners)
    _, t_csv = timed("parse --format csv (to_csv)", to_csv, result, owners)
    timed("parse (summary table)", to_table, result)
    shown, t_show = timed("show: select + changes + sort (last)", show_snapshot, result,
                          ShowOptions(sort="bytes"), owners)
    timed("show: layout", render_show, shown, True)
    timed("show -i 'A*' -x 'Ab*' --by-change", show_snapshot, result,
          ShowOptions(include=["A*"], exclude=["Ab*"], by_change=True), owners)
    print(f"rows/s: json {rows / t_json:,.0f}, csv {rows / t_csv:,.0f}; show of one snapshot {t_show * 1000:.1f} ms")


if __name__ == "__main__":
    main()
