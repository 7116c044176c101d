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

Inputs are made in chunks of --chunk, each from its own seed (seed * 100000 + chunk number), so the
run splits over workers and the counts so far are printed (and written to --json) after every chunk.
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


KINDS = ("ok", "traceback", "slow", "silent_loss")


def _report(tally: Tally, commands: list[str], ns: argparse.Namespace, wall: float, done: int) -> None:
    print(f"{done} mutated inputs per command (of {ns.count}), base seed {ns.seed}, chunks of {ns.chunk}, "
          f"limit {ns.limit:g} s, {wall:.0f} s wall on {ns.jobs} workers", flush=True)
    print(f"{'command':12} {'runs':>7} " + " ".join(f"{k:>11}" for k in KINDS) + f" {'slowest s':>10}")
    for command in commands:
        counts = [tally.outcomes[(command, k)] for k in KINDS]
        print(f"{command:12} {tally.runs[command]:7} " + " ".join(f"{n:11}" for n in counts)
              + f" {tally.slowest.get(command, 0.0):10.2f}")
    for (_command, outcome), examples in sorted(tally.examples.items()):
        for example in examples:
            print(f"  {outcome}: {example}")
    print(flush=True)
    if ns.json:
        ns.json.write_text(json.dumps({
            "count": done, "seed": ns.seed, "chunk": ns.chunk, "jobs": ns.jobs, "limit": ns.limit,
            "wall_seconds": wall,
            "commands": {c: {"runs": tally.runs[c], **{k: tally.outcomes[(c, k)] for k in KINDS},
                             "slowest_seconds": tally.slowest.get(c, 0.0)} for c in commands},
        }, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000, help="mutated inputs per command")
    ap.add_argument("--seed", type=int, default=13, help="base seed; chunk k uses seed * 100000 + k")
    ap.add_argument("--chunk", type=int, default=250, help="inputs per chunk (one task for a worker)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--limit", type=float, default=10.0, help="seconds one run may take")
    ap.add_argument("--commands", default=",".join(COMMANDS), help=f"comma-separated, from {','.join(COMMANDS)}")
    ap.add_argument("--json", type=Path, help="also write the counts here")
    ns = ap.parse_args()
    commands = [c for c in ns.commands.split(",") if c]
    unknown = set(commands) - set(COMMANDS)
    if unknown:
        ap.error(f"unknown commands: {sorted(unknown)}")
    chunks = [min(ns.chunk, ns.count - start) for start in range(0, ns.count, ns.chunk)]
    start = time.perf_counter()
    tally = Tally()
    done = 0
    with multiprocessing.get_context("fork").Pool(ns.jobs) as pool:
        tasks = [(commands, ns.seed * 100_000 + k, n, ns.limit) for k, n in enumerate(chunks)]
        for part in pool.imap_unordered(_worker, tasks):
            tally.merge(part)
            done += sum(part.runs.values()) // max(len(commands), 1)
            _report(tally, commands, ns, time.perf_counter() - start, done)
    sys.exit(1 if tally.bad() else 0)


if __name__ == "__main__":
    main()
