"""The long fuzz run: ≥ 10,000 mutated inputs through every command, counts printed.

Same mutations and classification as the suite's short run (tests/fuzz_helpers.py):
truncation, byte flips, line edits, numbers beyond int64 or not integers, odd Unicode and
control characters, partial re-encoding, impossible and zone-mixed time markers, splices,
and nested or damaged gzip/zip wrapping.  Every command runs in-process on the same inputs;
a run is a traceback (an exception escaped, or the exit-3 guard fired), slow (past --limit
seconds, stopped by an alarm), a silent loss (a PoolMon row line neither read nor warned
about, checked on ``parse``), or ok.

    python bench/fuzz.py --count 10000 --jobs 2          # the issue-13 figures
    python bench/fuzz.py --count 500 --commands parse    # a quick look at one reader
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzz_helpers import COMMANDS, Tally, fuzz  # noqa: E402


def _worker(args: tuple[list[str], int, int, float]) -> Tally:
    commands, seed, count, limit = args
    return fuzz(commands, seed, count, limit)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000, help="mutated inputs per command")
    ap.add_argument("--seed", type=int, default=13, help="first seed; worker k uses seed + k")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--limit", type=float, default=10.0, help="seconds one run may take")
    ap.add_argument("--commands", default=",".join(COMMANDS), help=f"comma-separated, from {','.join(COMMANDS)}")
    ap.add_argument("--json", type=Path, help="also write the counts here")
    ns = ap.parse_args()
    commands = [c for c in ns.commands.split(",") if c]
    unknown = set(commands) - set(COMMANDS)
    if unknown:
        ap.error(f"unknown commands: {sorted(unknown)}")
    shares = [ns.count // ns.jobs + (1 if k < ns.count % ns.jobs else 0) for k in range(ns.jobs)]
    start = time.perf_counter()
    tally = Tally()
    with multiprocessing.get_context("fork").Pool(ns.jobs) as pool:
        for part in pool.imap_unordered(_worker, [(commands, ns.seed + k, n, ns.limit)
                                                   for k, n in enumerate(shares)]):
            tally.merge(part)
    wall = time.perf_counter() - start
    kinds = ("ok", "traceback", "slow", "silent_loss")
    print(f"{ns.count} mutated inputs per command, seeds {ns.seed}..{ns.seed + ns.jobs - 1}, "
          f"limit {ns.limit:g} s, {wall:.0f} s wall on {ns.jobs} workers")
    print(f"{'command':12} {'runs':>7} " + " ".join(f"{k:>11}" for k in kinds) + f" {'slowest s':>10}")
    for command in commands:
        counts = [tally.outcomes[(command, k)] for k in kinds]
        print(f"{command:12} {tally.runs[command]:7} " + " ".join(f"{n:11}" for n in counts)
              + f" {tally.slowest.get(command, 0.0):10.2f}")
    for (_command, outcome), examples in sorted(tally.examples.items()):
        for example in examples:
            print(f"  {outcome}: {example}")
    if ns.json:
        ns.json.write_text(json.dumps({
            "count": ns.count, "seed": ns.seed, "jobs": ns.jobs, "limit": ns.limit, "wall_seconds": wall,
            "commands": {c: {"runs": tally.runs[c], **{k: tally.outcomes[(c, k)] for k in kinds},
                             "slowest_seconds": tally.slowest.get(c, 0.0)} for c in commands},
        }, indent=2) + "\n")
    sys.exit(1 if tally.bad() else 0)


if __name__ == "__main__":
    main()
