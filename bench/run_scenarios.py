"""Scenario benchmark: precision, recall and detection latency of ``trend`` verdicts, and its speed.

Generates labelled PoolMon logs (:mod:`bench.scenarios`), parses them back with
:func:`parsers.parse` exactly as ``poolscope trend`` does, runs
:func:`analyzer.analysis.trend.analyze` and only then opens the labels to score the verdicts.

    .venv/bin/python bench/run_scenarios.py                 # evaluation seeds
    .venv/bin/python bench/run_scenarios.py --seeds 1       # the development seed
    .venv/bin/python bench/run_scenarios.py --timing        # also 1440 snapshots × 3000 tags

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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzer.analysis.trend import analyze
from bench.scenarios import LEAK_KINDS, ScenarioConfig, write_scenario
from parsers import parse

DEV_SEEDS = (1,)
EVAL_SEEDS = (101, 202, 303)


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


def run_seed(seed: int, folder: Path, snapshots: int, background: int, with_latency: bool) -> dict:
    cfg = ScenarioConfig(seed=seed, snapshots=snapshots, background=background)
    log, labels_path = write_scenario(cfg, folder, f"scenario_{seed}")
    t0 = time.perf_counter()
    parsed = parse([log])
    t1 = time.perf_counter()
    verdicts = _verdicts(parsed.snapshots)
    t2 = time.perf_counter()
    labels = json.loads(labels_path.read_text())  # opened only after the analysis
    result = score(verdicts, labels)
    result.update(parse_s=t1 - t0, analyze_s=t2 - t1, rows=sum(len(s.rows) for s in parsed.snapshots))
    if with_latency:
        result["latency_min"] = latency(parsed.snapshots, labels, cfg.interval_s)
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


def main() -> None:
    ap = argparse.ArgumentParser(description="Precision, recall and latency of trend verdicts on labelled logs.")
    ap.add_argument("--seeds", type=int, nargs="*", default=list(EVAL_SEEDS))
    ap.add_argument("--snapshots", type=int, default=360)
    ap.add_argument("--background", type=int, default=1000)
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--no-needle", action="store_true")
    ap.add_argument("--timing", action="store_true", help="also time 1440 snapshots × 3000 tags (slow to parse)")
    ap.add_argument("--keep", type=Path, default=None, help="write the logs here instead of a temporary folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        tp = fp = fn = 0
        kinds: Counter = Counter()
        calls: Counter = Counter()
        sus: Counter = Counter()
        lat: list[float] = []
        for seed in args.seeds:
            r = run_seed(seed, folder, args.snapshots, args.background, not args.no_latency)
            tp, fp, fn = tp + r["tp"], fp + r["fp"], fn + r["fn"]
            kinds.update(r["per_kind"])
            calls.update(r["leak_calls"])
            sus.update(r["suspects"])
            lat += r.get("latency_min", [])
            print(f"seed {seed}: {r['rows']} rows, parse {r['parse_s']:.1f} s, analyze {r['analyze_s']:.2f} s; "
                  f"tp {r['tp']} fp {r['fp']} fn {r['fn']}")
            for m in r["misses"]:
                print(f"   missed {m[0]} {m[1]!r}: {m[2]}")
            for f in r["false_alarms"]:
                print(f"   false alarm {f[0]} {f[1]!r}")
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        print(f"\nprecision {precision:.3f}  recall {recall:.3f}  (tp {tp}, fp {fp}, fn {fn}; "
              f"{len(args.seeds)} seeds × {args.snapshots} snapshots)")
        print("leak verdicts per kind (of tags of that kind):")
        for kind in sorted(kinds):
            mark = "*" if kind in LEAK_KINDS else " "
            label = "leak" if kind in LEAK_KINDS else "not a leak"
            print(f"  {mark}{kind:<11} {label:<10} leak {calls[kind]:>4} / {kinds[kind]:<5} suspect {sus[kind]}")
        if lat:
            print("detection latency after onset, minutes (15-minute steps of a growing prefix of the log):")
            for kind in [*sorted({k for k, _ in lat}), "all"]:
                values = [v for k, v in lat if kind in (k, "all")]
                finite = sorted(v for v in values if v != float("inf"))
                never = len(values) - len(finite)
                if finite:
                    print(f"  {kind:<10} median {finite[len(finite) // 2]:>4.0f}  "
                          f"90th pct {finite[int(0.9 * (len(finite) - 1))]:>4.0f}  max {finite[-1]:>4.0f}  "
                          f"never {never}")
        if not args.no_needle:
            for seed in args.seeds:
                n = needle(folder, seed + 1000)
                print(f"needle seed {seed + 1000}: {n['found']} of {n['needles']} 1 MB/h leaks found after 120 "
                      f"one-minute snapshots among {n['per_kind']['background']} background tags; "
                      f"false alarms {n['fp']}; also found: slow leaks {n['slow'][0]}/{n['slow'][1]}, late leaks "
                      f"{n['late'][0]}/{n['late'][1]}; parse {n['parse_s']:.1f} s, analyze {n['analyze_s']:.2f} s")
        if args.timing:
            t = timing(folder)
            print(f"timing: {t['snapshots']} snapshots × {t['series']} series ({t['bytes'] / 1e6:.0f} MB of text): "
                  f"parse {t['parse_s']:.1f} s, analyze {t['analyze_s']:.2f} s (CPU {t['analyze_cpu_s']:.2f} s)")


if __name__ == "__main__":
    main()
