"""Benchmark: reading `!poolused` tables and debugger logs, fast path against the reference grammar.

Writes a debugger log of ``--tables`` `!poolused 2` outputs of ``--tags`` rows each (a
live `lkd>` session sampled repeatedly, descriptions after a TAB, one table in four in the
legacy glued layout) plus a `!vm` per table, then times

* ``parsers.parse`` on the whole log (what every poolscope command does),
* the row fast path (:func:`parsers.poolused.read_row`) and the pyparsing reference
  grammar (:func:`parsers.poolused.parse_row_grammar`) on the same rows.

    .venv/bin/python bench/debugger_bench.py --tables 40 --tags 5000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from parsers import parse
from parsers.poolused import header_layout, parse_row_grammar, read_row

HEADER = " Tag     Allocs         Used     Allocs         Used"
WIDTHS = (9, 12, 10, 12)


def _row(tag: str, nums: tuple[int, ...], desc: str, glued: bool) -> str:
    line = " " + tag + "".join(" " + str(x).rjust(w) for x, w in zip(nums, WIDTHS, strict=True))
    return line + (desc if glued else "\t" + desc)


def write_log(path: Path, tables: int, tags: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    names = sorted({"".join(rng.choice(alphabet) for _ in range(4)) for _ in range(tags * 2)})[:tags]
    base = {t: (rng.randrange(0, 50000), rng.randrange(0, 50000)) for t in names}
    rows_out: list[str] = []
    with path.open("w", encoding="utf-8") as fh:
        for k in range(tables):
            glued = k % 4 == 3
            fh.write(f"lkd> !vm\nNonPagedPool Usage:  {100000 + k} ( {400000 + 4 * k} Kb)\n"
                     "PagedPool Usage:  50000 ( 200000 Kb)\n")
            fh.write("lkd> !poolused 2\n....\n Sorting by NonPaged Pool Consumed\n\n")
            fh.write("               NonPaged                  Paged\n" + HEADER + "\n\n")
            tot = [0, 0, 0, 0]
            for i, tag in enumerate(names):
                n_np, n_p = base[tag]
                n_np += k * (i % 7 == 0)  # a few tags grow
                nums = (n_np, n_np * 64, n_p, n_p * 128)
                tot = [a + b for a, b in zip(tot, nums, strict=True)]
                line = _row(tag, nums, f"Tag {tag} owner , Binary: drv{i % 97}.sys", glued)
                fh.write(line + "\n")
                if k == 0 or k == 3:
                    rows_out.append(line)
            fh.write(" TOTAL" + "".join(" " + str(x).rjust(w) for x, w in zip(tot, WIDTHS, strict=True))[1:] + "\n")
    return rows_out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=40)
    ap.add_argument("--tags", type=int, default=5000)
    ap.add_argument("--memory", action="store_true", help="also measure peak memory (tracemalloc slows parsing)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lkd_session.log"
        sample_rows = write_log(path, args.tables, args.tags)
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        result = parse([str(path)])
        elapsed = time.perf_counter() - t0
        rows = sum(len(s.rows) for s in result.snapshots)
        print(f"log: {size_mb:.1f} MB, {args.tables} tables x {args.tags} tags -> {len(result.snapshots)} snapshots, "
              f"{rows} normalized rows, {len(result.warnings)} warnings")
        print(f"parse(): {elapsed:.2f} s ({size_mb / elapsed:.1f} MB/s, {rows / 2 / elapsed:,.0f} table rows/s)")
        if args.memory:
            del result
            tracemalloc.start()
            parse([str(path)])
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"peak traced memory while parsing: {peak / 1e6:.0f} MB")
    layout = header_layout(HEADER)
    t0 = time.perf_counter()
    fast = [read_row(line, 4, layout) for line in sample_rows]
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = [parse_row_grammar(line, 4) for line in sample_rows]
    t_ref = time.perf_counter() - t0
    agree = sum(1 for a, b in zip(fast, ref, strict=True) if a == b)
    print(f"rows: fast path {len(sample_rows) / t_fast:,.0f}/s, grammar {len(sample_rows) / t_ref:,.0f}/s "
          f"({t_ref / t_fast:.0f}x slower); agree on {agree}/{len(sample_rows)} "
          "(legacy glued rows starting with a digit need the fast path's column slicing)")


if __name__ == "__main__":
    main()
