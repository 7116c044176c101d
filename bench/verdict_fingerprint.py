"""Every number ``trend`` outputs on the benchmark logs, written to one file: a guard for speed work.

Runs :func:`analyzer.analysis.trend.analyze` on the logs of ``bench/run_scenarios.py`` (both
generators' dev and held-out seeds, the stable-only run and the 1440 × 3000 timing run) and writes
each row's verdict, reason and every statistic at full float precision, one JSON line per row.
A change meant to make the analysis faster must leave this file identical; ``--compare`` reports
the rows that differ (strings exactly, numbers to a relative tolerance).

    .venv/bin/python bench/verdict_fingerprint.py --logs /tmp/fp_logs -o before.jsonl
    .venv/bin/python bench/verdict_fingerprint.py --logs /tmp/fp_logs -o after.jsonl --compare before.jsonl

The generated logs (and their parsed snapshots, pickled) are kept in ``--logs`` so that later
runs skip generating and parsing them.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzer.analysis.trend import TrendRow, analyze
from bench import run_scenarios as rs
from bench.kernel_scenarios import KernelConfig, write_run
from bench.scenarios import ScenarioConfig, write_scenario
from parsers import parse


def _logs(folder: Path, which: set[str]) -> Iterator[tuple[str, Path]]:
    """(name, log path) of every benchmark log, written on first use."""
    def legacy(seed: int, snapshots: int = 360, background: int = 1000, **kw: Any) -> tuple[str, Path]:
        name = f"legacy_{seed}_{snapshots}x{background}"
        log = folder / f"{name}.log"
        if not log.exists():
            write_scenario(ScenarioConfig(seed=seed, snapshots=snapshots, background=background, **kw), folder, name)
        return name, log

    def kernel(name: str, cfg: KernelConfig) -> tuple[str, Path]:
        log = folder / f"{name}.log"
        if not log.exists():
            write_run(cfg, folder, name)
        return name, log

    if "suites" in which:
        for seed in (*rs.DEV_SEEDS, *rs.EVAL_SEEDS):
            yield legacy(seed)
        for families in (rs.KERNEL_DEV, rs.KERNEL_HELDOUT):
            for family, seeds in families.items():
                for seed in seeds:
                    yield kernel(f"kernel_{family}_{seed}", rs._kernel_cfg(family, seed))
    if "stable" in which:
        yield kernel("stable_only", KernelConfig(seed=4242, snapshots=1440, tags=3000, per_kind=5, reboots=1,
                                                 leaks=False))
    if "timing" in which:
        yield legacy(7, 1440, 3000 - 60, per_kind=6)


def _snapshots(log: Path) -> list:
    cache = log.with_suffix(".pickle")
    if cache.exists() and cache.stat().st_mtime >= log.stat().st_mtime:
        with cache.open("rb") as fh:
            return pickle.load(fh)
    snaps = parse([log]).snapshots
    with cache.open("wb") as fh:
        pickle.dump(snaps, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return snaps


def _plain(v: Any) -> Any:
    """JSON-ready value with floats at full precision (repr), NaN and infinities as strings."""
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v if v is None or isinstance(v, (int, str, bool)) else str(v)


def row_record(row: TrendRow) -> dict[str, Any]:
    """Everything a row carries: its output dict, and its statistics before the output's rounding."""
    out = row.to_dict()
    if row.stats is not None:
        out["stats_full"] = {k: _plain(v) for k, v in vars(row.stats).items()}
    for name in ("rate_bytes_per_hour", "rate_low", "rate_high", "allocs_per_hour", "freed_ratio"):
        out[name + "_full"] = _plain(getattr(row, name))
    return _plain(out)


def fingerprint(folder: Path, which: set[str], out: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        for name, log in _logs(folder, which):
            snaps = _snapshots(log)
            t0 = time.perf_counter()
            res = analyze(snaps)
            print(f"{name}: {len(snaps)} snapshots, {len(res.rows)} rows, analyze {time.perf_counter() - t0:.2f} s",
                  file=sys.stderr)
            fh.write(json.dumps({"log": name, "summary": _plain(res.summary), "exhaustion": _plain(res.exhaustion),
                                 "pool_totals": _plain(res.pool_totals)}, sort_keys=True) + "\n")
            for row in res.rows:
                fh.write(json.dumps({"log": name, **row_record(row)}, sort_keys=True) + "\n")


def _differ(a: Any, b: Any, rel: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return not math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() != b.keys() or any(_differ(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) != len(b) or any(_differ(x, y, rel) for x, y in zip(a, b, strict=True))
    return a != b


def compare(new: Path, old: Path, rel: float) -> int:
    """Lines that differ: exactly (byte for byte) and beyond the relative tolerance ``rel``."""
    a, b = new.read_text().splitlines(), old.read_text().splitlines()
    exact = sum(1 for x, y in zip(a, b, strict=False) if x != y) + abs(len(a) - len(b))
    loose = []
    for x, y in zip(a, b, strict=False):
        if x != y and _differ(json.loads(x), json.loads(y), rel):
            loose.append((x, y))
    print(f"{len(a)} lines; {exact} differ byte for byte; {len(loose)} differ beyond rel {rel:g}"
          + ("" if len(a) == len(b) else f"; line counts {len(a)} vs {len(b)}"))
    for x, y in loose[:5]:
        print("  new:", x[:600])
        print("  old:", y[:600])
    return 0 if not loose and len(a) == len(b) else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", type=Path, required=True, help="folder for the generated logs (kept between runs)")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--only", nargs="*", choices=["suites", "stable", "timing"],
                    default=["suites", "stable", "timing"])
    ap.add_argument("--compare", type=Path, default=None, help="an earlier output to compare with")
    ap.add_argument("--rel", type=float, default=1e-9, help="relative tolerance of numbers in --compare")
    args = ap.parse_args()
    fingerprint(args.logs, set(args.only), args.output)
    if args.compare:
        sys.exit(compare(args.output, args.compare, args.rel))


if __name__ == "__main__":
    main()
