"""Scenario benchmark: precision, recall, false leaks and speed of ``trend`` verdicts on two generators.

Generates labelled logs with both generators — :mod:`bench.scenarios` (level + AR(1) shapes)
and the independent :mod:`bench.kernel_scenarios` (operations, sizes and kernel behaviours) —
parses them back with :func:`parsers.parse` exactly as ``poolscope trend`` does, runs
:func:`analyzer.analysis.trend.analyze` and only then opens the labels to score the verdicts.

Thresholds were tuned on the development seed family only (``--suite dev``); the figures in
docs/analysis.md come from ``--suite heldout``, seeds never used while tuning.

    .venv/bin/python bench/run_scenarios.py --suite heldout         # both generators, held-out seeds
    .venv/bin/python bench/run_scenarios.py --suite dev             # the tuning seeds
    .venv/bin/python bench/run_scenarios.py --suite dev-wide        # more tuning seeds (12 captures)
    .venv/bin/python bench/run_scenarios.py --stable-only           # 3000 tags × 1440 snapshots, no leaks
    .venv/bin/python bench/run_scenarios.py --timing                # 1440 × 3000: time and peak memory
    .venv/bin/python bench/run_scenarios.py --seeds 101 --latency   # the legacy generator alone, with latency

A positive is a ``leak`` verdict; ``suspect`` is reported separately (it is not a claim of a leak).
Latency is how long after a leak's onset the growing prefix of the log first gives it a
``leak`` verdict that it keeps at every longer prefix.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzer.analysis.trend import analyze
from bench.kernel_scenarios import LEAK_KINDS as KERNEL_LEAKS
from bench.kernel_scenarios import KernelConfig, write_run
from bench.scenarios import LEAK_KINDS, ScenarioConfig, write_scenario
from parsers import parse

DEV_SEEDS = (1, 2)
EVAL_SEEDS = (101, 202, 303, 404, 505)
#: Seed families of the kernel generator: long captures, short test windows, 1440 × 2000 runs.
KERNEL_DEV = {"capture": (11, 12), "window": (11, 12, 13, 14), "big": (11,)}
#: A wider tuning family (still never the held-out seeds): more captures, where reboots cut sawtooths and leaks.
DEV_WIDE_SEEDS = (1, 2, 3, 4, 5, 6)
KERNEL_DEV_WIDE = {"capture": tuple(range(11, 23)), "window": (11, 12, 13, 14), "big": (11,)}
KERNEL_HELDOUT = {"capture": (1001, 1002, 1003, 1004, 1005), "window": tuple(range(1001, 1011)),
                  "big": (1001, 1002)}


def _verdicts(snapshots: list) -> dict[tuple[str, str], str]:
    return {(r.tag, r.pool): r.verdict for r in analyze(snapshots).rows}


def score(verdicts: dict[tuple[str, str], str], labels: dict) -> dict:
    tp = fp = fn = 0
    suspects = Counter()
    leak_calls = Counter()
    per_kind = Counter()
    misses = []
    false_alarms = []
    for lb in labels["tags"]:
        key = (lb["tag"], lb["pool"])
        v = verdicts.get(key, "absent")
        per_kind[lb["kind"]] += 1
        if v == "leak":
            leak_calls[lb["kind"]] += 1
        if v == "suspect":
            suspects[lb["kind"]] += 1
        if lb["leak"] and v == "leak":
            tp += 1
        elif lb["leak"]:
            fn += 1
            misses.append((lb["kind"], lb["tag"], v))
        elif v == "leak":
            fp += 1
            false_alarms.append((lb["kind"], lb["tag"]))
    return {"tp": tp, "fp": fp, "fn": fn, "per_kind": per_kind, "leak_calls": leak_calls, "suspects": suspects,
            "misses": misses, "false_alarms": false_alarms}


def latency(snapshots: list, labels: dict, interval_s: int, step_min: int = 15) -> list[tuple[str, float]]:
    """(kind, minutes from onset to a lasting leak verdict) for every labelled leak (inf: never)."""
    step = max(1, step_min * 60 // interval_s)
    lengths = [*range(step, len(snapshots), step), len(snapshots)]
    leaks = [(lb["tag"], lb["pool"], lb["onset_hours"], lb["kind"]) for lb in labels["tags"] if lb["leak"]]
    history: dict[tuple[str, str], list[bool]] = {(t, p): [] for t, p, _, _ in leaks}
    for n in lengths:
        v = _verdicts(snapshots[:n])
        for key in history:
            history[key].append(v.get(key) == "leak")
    out = []
    for tag, pool, onset, kind in leaks:
        hits = history[(tag, pool)]
        found = None
        for i in range(len(hits)):
            if all(hits[i:]):
                found = lengths[i]
                break
        if found is None:
            out.append((kind, float("inf")))
        else:
            out.append((kind, (found - 1) * interval_s / 60.0 - (onset or 0.0) * 60.0))
    return out


def _scored(log: Path, labels_path: Path) -> tuple[dict, Any, dict[tuple[str, str], str]]:
    """Parse and judge one labelled log, timing both; the labels are opened only after the analysis."""
    t0 = time.perf_counter()
    parsed = parse([log])
    t1 = time.perf_counter()
    verdicts = _verdicts(parsed.snapshots)
    t2 = time.perf_counter()
    result = score(verdicts, json.loads(labels_path.read_text()))
    result.update(parse_s=t1 - t0, analyze_s=t2 - t1)
    return result, parsed, verdicts


def run_seed(seed: int, folder: Path, snapshots: int, background: int, with_latency: bool) -> dict:
    cfg = ScenarioConfig(seed=seed, snapshots=snapshots, background=background)
    log, labels_path = write_scenario(cfg, folder, f"scenario_{seed}")
    result, parsed, _ = _scored(log, labels_path)
    result["rows"] = sum(len(s.rows) for s in parsed.snapshots)
    if with_latency:
        result["latency_min"] = latency(parsed.snapshots, json.loads(labels_path.read_text()), cfg.interval_s)
    return result


def needle(folder: Path, seed: int, rate: float = 1024 * 1024, background: int = 3000, minutes: int = 120) -> dict:
    """A handful of exactly-1 MB/h leaks among thousands of noisy tags, 1-minute snapshots."""
    cfg = ScenarioConfig(seed=seed, snapshots=minutes, background=background, per_kind=2, reboot=False,
                         needle_rate=rate)
    log, labels_path = write_scenario(cfg, folder, f"needle_{seed}")
    t0 = time.perf_counter()
    parsed = parse([log])
    t1 = time.perf_counter()
    verdicts = _verdicts(parsed.snapshots)
    t2 = time.perf_counter()
    labels = json.loads(labels_path.read_text())
    # The needles are the leaks that ran the whole window with ordinary noise; late leaks start up to
    # an hour in, and slow leaks carry noise as large as an hour of growth: both are reported apart.
    def hits(kinds: tuple[str, ...]) -> tuple[int, int]:
        keys = [(lb["tag"], lb["pool"]) for lb in labels["tags"] if lb["kind"] in kinds]
        return sum(1 for key in keys if verdicts.get(key) == "leak"), len(keys)

    found, needles = hits(("leak", "step-leak", "wrap-leak"))
    result = score(verdicts, labels)
    result.update(found=found, needles=needles, slow=hits(("slow-leak",)), late=hits(("late-leak",)),
                  parse_s=t1 - t0, analyze_s=t2 - t1)
    return result


def timing(folder: Path, snapshots: int = 1440, tags: int = 3000, parse_text: bool = True) -> dict:
    cfg = ScenarioConfig(seed=7, snapshots=snapshots, background=tags - 60, per_kind=6)
    log, _ = write_scenario(cfg, folder, "timing")
    t0 = time.perf_counter()
    parsed = parse([log])
    t1 = time.perf_counter()
    analyze(parsed.snapshots[:10])  # warm imports (scipy) outside the measurement
    t2, c2 = time.perf_counter(), time.process_time()
    res = analyze(parsed.snapshots)
    t3, c3 = time.perf_counter(), time.process_time()
    return {"snapshots": len(parsed.snapshots), "series": res.summary["series"], "bytes": log.stat().st_size,
            "parse_s": t1 - t0, "analyze_s": t3 - t2, "analyze_cpu_s": c3 - c2}


def _kernel_cfg(family: str, seed: int) -> KernelConfig:
    rng_pick = seed % 3
    if family == "window":
        return KernelConfig(seed=seed, snapshots=4 + rng_pick, interval_s=600.0, tags=400, per_kind=5,
                            reboots=0, test_window=True)
    if family == "big":
        return KernelConfig(seed=seed, snapshots=1440, tags=2000, per_kind=4, reboots=1,
                            leak_mb_per_hour=(0.5, 2.0))
    return KernelConfig(seed=seed, snapshots=480, tags=1000, per_kind=5, reboots=rng_pick)


def run_kernel(family: str, seed: int, folder: Path) -> dict:
    log, labels_path = write_run(_kernel_cfg(family, seed), folder, f"kernel_{family}_{seed}")
    result, parsed, verdicts = _scored(log, labels_path)
    result.update(snapshots=len(parsed.snapshots), series=len(verdicts))
    return result


class Tally:
    """Counts over many runs: confusion, leak calls per kind, stable series called leak."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.kinds: Counter = Counter()
        self.calls: Counter = Counter()
        self.sus: Counter = Counter()

    def add(self, r: dict) -> None:
        self.tp, self.fp, self.fn = self.tp + r["tp"], self.fp + r["fp"], self.fn + r["fn"]
        self.kinds.update(r["per_kind"])
        self.calls.update(r["leak_calls"])
        self.sus.update(r["suspects"])

    def report(self, title: str, leak_kinds: tuple[str, ...]) -> None:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")
        negatives = sum(v for k, v in self.kinds.items() if k not in leak_kinds)
        print(f"\n== {title}: precision {precision:.3f}  recall {recall:.3f}  (tp {self.tp}, fp {self.fp}, "
              f"fn {self.fn}); false leak {self.fp} of {negatives} non-leak series "
              f"= {1e4 * self.fp / max(negatives, 1):.2f} per 10,000")
        for kind in sorted(self.kinds):
            mark = "*" if kind in leak_kinds else " "
            label = "leak" if kind in leak_kinds else "not a leak"
            print(f"  {mark}{kind:<11} {label:<10} leak {self.calls[kind]:>4} / {self.kinds[kind]:<6} "
                  f"suspect {self.sus[kind]}")


def _print_run(name: str, r: dict) -> None:
    print(f"{name}: {r.get('snapshots', '?')} snapshots, {r.get('series', r.get('rows', '?'))} series/rows, "
          f"parse {r['parse_s']:.1f} s, analyze {r['analyze_s']:.2f} s; tp {r['tp']} fp {r['fp']} fn {r['fn']}")
    for m in r["misses"]:
        print(f"   missed {m[0]} {m[1]!r}: {m[2]}")
    for f in r["false_alarms"]:
        print(f"   false alarm {f[0]} {f[1]!r}")


def stable_only(folder: Path, seed: int = 4242) -> dict:
    """3000 stable tags (and every non-leak behaviour) × 1440 snapshots: every leak verdict is false."""
    cfg = KernelConfig(seed=seed, snapshots=1440, tags=3000, per_kind=5, reboots=1, leaks=False)
    log, labels_path = write_run(cfg, folder, "stable_only")
    parsed = parse([log])
    t0 = time.perf_counter()
    result = analyze(parsed.snapshots)
    elapsed = time.perf_counter() - t0
    counts = result.counts()
    labels = json.loads(labels_path.read_text())
    assert not any(t["leak"] for t in labels["tags"])
    kind = {(t["tag"], t["pool"]): t["kind"] for t in labels["tags"]}
    false_kinds = Counter(kind.get((r.tag, r.pool), "?") for r in result.rows if r.verdict == "leak")
    return {"snapshots": len(parsed.snapshots), "series": len(result.rows), "counts": counts, "analyze_s": elapsed,
            "leak_kinds": dict(false_kinds)}


def timing_with_memory(folder: Path) -> dict:
    """1440 snapshots × 3000 tags: analysis time, then its peak memory (tracemalloc) and the peak RSS."""
    import resource
    import tracemalloc

    cfg = ScenarioConfig(seed=7, snapshots=1440, background=3000 - 60, per_kind=6)
    log, _ = write_scenario(cfg, folder, "timing")
    parsed = parse([log])
    rss_parsed = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    analyze(parsed.snapshots[:10])  # warm imports (scipy) and caches outside the measurement
    best = float("inf")
    cpu = 0.0
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        res = analyze(parsed.snapshots)
        t1, c1 = time.perf_counter(), time.process_time()
        if t1 - t0 < best:
            best, cpu = t1 - t0, c1 - c0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    analyze(parsed.snapshots)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"snapshots": len(parsed.snapshots), "series": res.summary["series"], "analyze_s": best,
            "analyze_cpu_s": cpu, "rss_parsed_mb": rss_parsed, "rss_peak_mb": rss_after,
            "analysis_peak_mb": peak / 2**20, "text_mb": log.stat().st_size / 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description="Precision, recall and speed of trend verdicts on labelled logs.")
    ap.add_argument("--suite", choices=["dev", "dev-wide", "heldout"], default=None,
                    help="both generators on the tuning seeds (dev; dev-wide: more of them) or on seeds never "
                         "used for tuning (heldout)")
    ap.add_argument("--seeds", type=int, nargs="*", default=None, help="legacy generator alone, these seeds")
    ap.add_argument("--snapshots", type=int, default=360)
    ap.add_argument("--background", type=int, default=1000)
    ap.add_argument("--latency", action="store_true", help="detection latency (legacy generator; slow)")
    ap.add_argument("--needle", action="store_true", help="1 MB/h needles among 3000 tags (legacy generator)")
    ap.add_argument("--stable-only", action="store_true", help="3000 stable tags × 1440 snapshots: no leak allowed")
    ap.add_argument("--timing", action="store_true", help="1440 snapshots × 3000 tags: time and memory")
    ap.add_argument("--keep", type=Path, default=None, help="write the logs here instead of a temporary folder")
    args = ap.parse_args()
    if args.suite is None and args.seeds is None and not (args.stable_only or args.timing):
        args.suite = "heldout"
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        legacy_seeds = args.seeds if args.seeds is not None else (
            list({"dev": DEV_SEEDS, "dev-wide": DEV_WIDE_SEEDS}.get(args.suite, EVAL_SEEDS)) if args.suite else [])
        legacy = Tally()
        lat: list[tuple[str, float]] = []
        for seed in legacy_seeds:
            r = run_seed(seed, folder, args.snapshots, args.background, args.latency)
            legacy.add(r)
            lat += r.get("latency_min", [])
            _print_run(f"legacy seed {seed}", r)
        if legacy_seeds:
            legacy.report(f"legacy generator (bench/scenarios.py), seeds {' '.join(map(str, legacy_seeds))}",
                          LEAK_KINDS)
        if lat:
            print("detection latency after onset, minutes (15-minute steps of a growing prefix of the log):")
            for kind in [*sorted({k for k, _ in lat}), "all"]:
                values = [v for k, v in lat if kind in (k, "all")]
                finite = sorted(v for v in values if v != float("inf"))
                if finite:
                    print(f"  {kind:<10} median {finite[len(finite) // 2]:>4.0f}  "
                          f"90th pct {finite[int(0.9 * (len(finite) - 1))]:>4.0f}  max {finite[-1]:>4.0f}  "
                          f"never {len(values) - len(finite)}")
        if args.suite:
            families = {"dev": KERNEL_DEV, "dev-wide": KERNEL_DEV_WIDE}.get(args.suite, KERNEL_HELDOUT)
            overall = Tally()
            for family, seeds in families.items():
                tally = Tally()
                for seed in seeds:
                    r = run_kernel(family, seed, folder)
                    tally.add(r)
                    overall.add(r)
                    _print_run(f"kernel {family} seed {seed}", r)
                tally.report(f"kernel generator, {family}, seeds {' '.join(map(str, seeds))}", KERNEL_LEAKS)
            overall.report("kernel generator, all families", KERNEL_LEAKS)
        if args.needle:
            for seed in legacy_seeds or list(EVAL_SEEDS):
                n = needle(folder, seed + 1000)
                print(f"needle seed {seed + 1000}: {n['found']} of {n['needles']} 1 MB/h leaks found after 120 "
                      f"one-minute snapshots among {n['per_kind']['background']} background tags; "
                      f"false alarms {n['fp']}; also found: slow leaks {n['slow'][0]}/{n['slow'][1]}, late leaks "
                      f"{n['late'][0]}/{n['late'][1]}; parse {n['parse_s']:.1f} s, analyze {n['analyze_s']:.2f} s")
        if args.stable_only:
            r = stable_only(folder)
            print(f"stable-only: {r['snapshots']} snapshots × {r['series']} series, verdicts {r['counts']}, "
                  f"analyze {r['analyze_s']:.2f} s; leak verdicts by kind {r['leak_kinds']}")
        if args.timing:
            t = timing_with_memory(folder)
            print(f"timing: {t['snapshots']} snapshots × {t['series']} series ({t['text_mb']:.0f} MB of text): "
                  f"analyze {t['analyze_s']:.2f} s wall (best of 3), {t['analyze_cpu_s']:.2f} s CPU; "
                  f"peak RSS {t['rss_peak_mb']:.0f} MB ({t['rss_parsed_mb']:.0f} MB after parsing); "
                  f"the analysis itself peaks at {t['analysis_peak_mb']:.0f} MB (tracemalloc)")


if __name__ == "__main__":
    main()
