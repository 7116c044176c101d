"""A second, independent generator of labelled pool logs, written from how kernel pool tags behave.

bench/scenarios.py models each tag as a level plus AR(1) noise plus a shape.  This one starts
from operations instead: every tag serves a load (diurnal swing, test loops, bursts), each
operation allocates from one of the tag's 1–3 allocation sizes and frees after a holding time;
what is outstanding is what the load keeps in flight, with AR(1) heavy-tailed wander on top and
single-snapshot spikes.  Behaviours (the label kinds):

* ``steady``      — load-following stable tag (the bulk of every log);
* ``busy-mixed``  — busy tag of 3 sizes whose mix swings (bytes noisy, counts steadier);
* ``leak-1inN``   — 1 operation in N is never freed: the leak follows the load;
* ``leak-late``   — the tag appears mid-log and leaks from then on;
* ``leak-pool``   — the same tag in both pools, leaking in one only (the other is ``steady``);
* ``leak-busy``   — a 1-in-N leak in a busy mixed-size tag with one early working-set swing;
* ``lookaside``   — a lookaside list ratcheting up to its depth limit early, then flat;
* ``trim``        — stable, with one large trim of its working set;
* ``fill``        — a bounded fill saturating at 50–75 % of the window, flat after;
* ``sawtooth``    — grows and is trimmed back periodically, the log ending at a peak;
* ``warmup``      — a cache that refills after every boot (reboots restart all counters);
* ``wrap``        — busy tags whose 32-bit Allocs/Frees wrap (``wrap-leak``: also leaking);
* short test windows (4–6 snapshots: before, during, after a settle period): ``tw-leak`` grows
  in every interval and keeps it after the settle, ``tw-use`` grows during the test and gives
  it back, ``tw-steady`` does not move beyond its noise.

A leak is labelled only if it is findable in principle: over the part of the log it is
observed in (after the last reboot, or across every boot for a leak that keeps leaking), its
expected growth is at least 6 times the tag's stationary noise and 256 KB.  Logs are written
as ``poolmon /b >> log`` with ``echo %DATE% %TIME%`` markers (irregular intervals, gaps,
missed snapshots), so the parser's own time handling is part of the test.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

WRAP = 2**32
LEAK_KINDS = ("leak-1inN", "leak-late", "leak-pool", "leak-busy", "wrap-leak", "tw-leak")
SIZES = (16, 24, 40, 64, 96, 112, 160, 208, 256, 384, 512, 640, 1024, 1536, 2048, 3072, 4096, 8192)


@dataclass
class KernelLabel:
    tag: str
    pool: str
    kind: str
    leak: bool
    rate_bytes_per_hour: float
    onset_hours: float | None


@dataclass
class KernelConfig:
    seed: int = 11
    snapshots: int = 480  # snapshots taken (some are then lost: gaps)
    interval_s: float = 60.0  # nominal spacing; the real spacing jitters
    tags: int = 1000  # steady tags (the labelled behaviours come on top)
    per_kind: int = 5
    reboots: int = 1  # 0, 1 or 2 reboots, placed in the middle 60 % of the log
    test_window: bool = False  # a short before/after test run instead of a long capture
    leak_mb_per_hour: tuple[float, float] | None = None  # fixed leak-rate range (MB/h) for big runs
    leaks: bool = True  # False: every leak kind left out (a stable-only run)
    start: datetime = datetime(2026, 11, 23, 7, 30, 0)


def _names(rng: np.random.Generator, count: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        head = "".join(rng.choice(list(letters), size=2))
        tail = "".join(rng.choice(list(letters + "0123456789 "), size=2))
        name = (head + tail).rstrip().ljust(4)
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _load(rng: np.random.Generator, hours: np.ndarray) -> np.ndarray:
    """Operations per hour relative to the mean: diurnal swing × test loops × bursts."""
    phase = rng.uniform(0, 24)
    diurnal = 1 + rng.uniform(0.1, 0.6) * np.sin(2 * np.pi * (hours + phase) / 24)
    period = rng.uniform(0.3, 2.0)
    duty = rng.uniform(0.3, 0.7)
    loops = np.where(((hours / period) % 1.0) < duty, 1 + rng.uniform(0, 1.0), 1.0)
    bursts = 1 + (rng.random(len(hours)) < 0.02) * rng.uniform(1, 6)
    load = diurnal * loops * bursts
    return load / load.mean()


def _wander(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) with Student-t(3) innovations and rare single-snapshot spikes."""
    shocks = rng.standard_t(3, n) / np.sqrt(3.0)
    out = np.empty(n)
    out[0] = shocks[0] * sd
    scale = sd * np.sqrt(1 - phi**2)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + scale * shocks[i]
    spikes = rng.random(n) < 0.01
    out[spikes] += rng.choice([-1, 1], spikes.sum()) * sd * rng.uniform(3, 8, spikes.sum())
    return out


def _times(rng: np.random.Generator, cfg: KernelConfig) -> np.ndarray:
    """Seconds from the start: jittered spacing, a few lost snapshots and one or two long gaps."""
    steps = cfg.interval_s * rng.uniform(0.8, 1.25, cfg.snapshots - 1)
    if not cfg.test_window and cfg.snapshots > 50:
        for _ in range(int(rng.integers(1, 3))):
            steps[int(rng.integers(5, len(steps) - 5))] *= rng.uniform(5, 20)  # the logging loop stalled
    t = np.concatenate([[0.0], np.cumsum(steps)])
    if cfg.test_window:
        return t
    keep = rng.random(cfg.snapshots) > 0.03
    keep[[0, -1]] = True
    return t[keep]


def generate(cfg: KernelConfig) -> tuple[list[str], dict]:
    """(log lines, labels document) for one run."""
    rng = np.random.default_rng(cfg.seed)
    secs = _times(rng, cfg)
    hours = secs / 3600.0
    n = len(secs)
    span = float(hours[-1]) if n > 1 else 1.0
    if cfg.test_window:
        plan = ["tw-steady"] * cfg.tags + ["tw-leak"] * cfg.per_kind + ["tw-use"] * (2 * cfg.per_kind)
    else:
        kinds = ["busy-mixed", "leak-1inN", "leak-late", "leak-pool", "leak-busy", "lookaside", "trim", "fill",
                 "sawtooth", "warmup", "wrap", "wrap-leak"]
        plan = ["steady"] * cfg.tags + [k for k in kinds for _ in range(cfg.per_kind)
                                        if cfg.leaks or k not in LEAK_KINDS]
    reboot_at: list[int] = []
    if not cfg.test_window and cfg.reboots:
        reboot_at = sorted(int(i) for i in rng.choice(np.arange(int(0.2 * n), int(0.8 * n)), cfg.reboots,
                                                      replace=False))
    boot = np.searchsorted(np.array(reboot_at), np.arange(n), side="right")  # boot number of each snapshot
    boot_start = np.array([0, *reboot_at])
    since_boot = hours - hours[boot_start[boot]]
    last_boot_h = float(hours[-1] - hours[boot_start[-1]])
    boot_ends = np.append(hours[boot_start[1:] - 1], hours[-1]) if len(boot_start) > 1 else hours[-1:]
    shortest_boot_h = float(np.min(boot_ends - hours[boot_start]))

    names = _names(rng, len(plan))
    rows_counts: list[np.ndarray] = []  # outstanding allocations per size, (n, sizes)
    rows_sizes: list[np.ndarray] = []
    rows_ops: list[np.ndarray] = []  # operations per interval (for Allocs)
    rows_present: list[np.ndarray] = []
    labels: list[KernelLabel] = []
    pools: list[str] = []
    pool_of_pair: dict[int, str] = {}
    for c, kind in enumerate(plan):
        n_sizes = int(rng.integers(1, 4)) if kind not in ("busy-mixed", "leak-busy") else 3
        sizes = np.sort(rng.choice(SIZES, n_sizes, replace=False)).astype(np.int64)
        mix = rng.dirichlet(np.ones(n_sizes))
        load = _load(rng, hours)
        in_flight = float(np.exp(rng.uniform(np.log(20), np.log(60000))))
        if kind in ("busy-mixed", "leak-busy", "wrap", "wrap-leak"):
            in_flight = float(np.exp(rng.uniform(np.log(5000), np.log(80000))))
        ops_per_h = in_flight * rng.uniform(2, 200)
        phi = float(rng.uniform(0.3, 0.97))
        noise_sd = in_flight * rng.uniform(0.003, 0.04)
        level = in_flight * (0.6 + 0.4 * load) + _wander(rng, n, phi, noise_sd)
        shares = np.tile(mix, (n, 1))
        if kind in ("busy-mixed", "leak-busy"):
            # The size mix of a busy tag swings with what the workload is doing.
            swing = _wander(rng, n, 0.9, 0.25)
            shares = np.clip(mix[None, :] * np.exp(np.outer(swing, rng.normal(0, 1, n_sizes))), 1e-3, None)
            shares /= shares.sum(axis=1, keepdims=True)
        present = np.ones(n, bool)
        leaked = np.zeros((n, n_sizes))
        rate_bph = 0.0
        onset: float | None = None
        is_leak = kind in LEAK_KINDS
        mean_size = float((mix * sizes).sum())
        if kind == "leak-pool":
            pool_of_pair[c] = str(rng.choice(["Nonp", "Paged"]))
        if is_leak:
            # Findable by construction: growth over the observed time ≥ 6 noise sd and ≥ 256 KB.
            observed = last_boot_h if kind != "leak-late" else None
            if kind == "leak-late":
                onset = float(rng.uniform(0.25, 0.55) * span)
                observed = span - onset
                if reboot_at and onset < hours[boot_start[-1]]:
                    observed = min(observed, last_boot_h)
            need = max(6 * noise_sd * mean_size, 256 * 1024) / max(observed or 1.0, 0.25)
            if cfg.leak_mb_per_hour:
                rate_bph = float(rng.uniform(*cfg.leak_mb_per_hour)) * 1024 * 1024
                noise_sd = min(noise_sd, rate_bph * (observed or 1.0) / 6 / mean_size)
                level = in_flight * (0.6 + 0.4 * load) + _wander(rng, n, phi, noise_sd)
            else:
                rate_bph = float(need * np.exp(rng.uniform(0, np.log(8))))
            leak_size = int(rng.choice(sizes))
            per_op = rate_bph / leak_size / ops_per_h  # the 1-in-N share of operations that leaks
            n_one_in = max(1.0, 1.0 / max(per_op, 1e-12))
            ops = rng.poisson(np.maximum(ops_per_h * load * np.diff(hours, prepend=0.0), 0))
            leak_events = rng.binomial(ops, min(1.0, 1.0 / n_one_in))
            start_i = 0 if onset is None else int(np.searchsorted(hours, onset))
            leak_events[:start_i] = 0
            # A reboot frees what leaked: the count restarts with the boot.
            cum = np.zeros(n)
            for b in range(len(boot_start)):
                part = boot == b
                cum[part] = np.cumsum(leak_events[part])
            leaked[:, list(sizes).index(leak_size)] = cum
            rate_bph = float(leak_events.sum() / max(span, 1e-9) * leak_size)
            if kind == "leak-late":
                present[:start_i] = False
                rate_bph = float(leak_events.sum() / max(span - onset, 1e-9) * leak_size)
        if kind == "leak-busy":
            # One early working-set swing: up by several noise levels, and back.
            at = int(rng.uniform(0.05, 0.2) * n)
            width = max(3, int(0.05 * n))
            level[at : at + width] += in_flight * rng.uniform(0.2, 0.5)
        elif kind == "lookaside":
            # Re-ratchets after every boot; reaches its limit within 15-45 % of the shortest boot.
            steps_to_limit = int(rng.integers(3, 8))
            until = rng.uniform(0.15, 0.45) * shortest_boot_h
            step_times = np.sort(rng.uniform(0, until, steps_to_limit))
            depth = in_flight * rng.uniform(0.5, 2.0)
            level += depth * (np.searchsorted(step_times, since_boot) / steps_to_limit)
        elif kind == "trim":
            at = int(rng.uniform(0.3, 0.8) * n)
            level[at:] -= in_flight * rng.uniform(0.3, 0.6)
        elif kind == "fill":
            # Fills again after every boot, saturating at 50-75 % of the last boot's window.
            sat = rng.uniform(0.5, 0.75) * last_boot_h
            level += in_flight * rng.uniform(0.5, 3.0) * np.minimum(since_boot / sat, 1.0)
        elif kind == "sawtooth":
            cycles = int(rng.integers(3, 7))
            period = span / (cycles - rng.uniform(0.0, 0.15))
            # Phase chosen so that the log ends at (just before) a trim.
            phase = period - (span % period) - 0.01 * period
            level += in_flight * rng.uniform(0.5, 3.0) * (((hours + phase) % period) / period)
        elif kind == "warmup":
            tau = rng.uniform(0.03, 0.1) * span
            level += in_flight * rng.uniform(0.5, 4.0) * (1 - np.exp(-since_boot / tau))
        elif kind == "tw-use":
            # Grows while the test runs, given back after the settle period (the last snapshot).
            grow = np.linspace(0, 1, n) * in_flight * rng.uniform(0.2, 1.0)
            grow[-1] = grow[0] + rng.normal(0, noise_sd)
            level += grow
        counts = np.maximum(np.round(np.clip(level, 0, None)[:, None] * shares + leaked), 0).astype(np.int64)
        ops_step = rng.poisson(np.maximum(ops_per_h * load * np.diff(hours, prepend=0.0), 0)).astype(np.int64)
        rows_counts.append(counts)
        rows_sizes.append(sizes)
        rows_ops.append(ops_step)
        rows_present.append(present)
        pool = pool_of_pair.get(c, str(rng.choice(["Nonp", "Paged"], p=[0.45, 0.55])))
        pools.append(pool)
        labels.append(KernelLabel(names[c], "nonpaged" if pool == "Nonp" else "paged", kind, is_leak,
                                  rate_bph, onset))
    # leak-pool: the same tag also lives, stable, in the other pool.
    for c in list(pool_of_pair):
        other = "Paged" if pools[c] == "Nonp" else "Nonp"
        counts = rows_counts[c] - 0
        steady = np.round(np.median(counts, axis=0)[None, :] + 0 * counts
                          + _wander(rng, n, 0.8, max(1.0, 0.01 * counts.sum(axis=1).mean()))[:, None]
                          * (counts.mean(axis=0) / max(counts.mean(axis=0).sum(), 1))[None, :])
        rows_counts.append(np.maximum(steady, 0).astype(np.int64))
        rows_sizes.append(rows_sizes[c])
        rows_ops.append(rows_ops[c])
        rows_present.append(np.ones(n, bool))
        pools.append(other)
        names.append(names[c])
        labels.append(KernelLabel(names[c], "nonpaged" if other == "Nonp" else "paged", "steady", False, 0.0,
                                  None))
    if cfg.test_window:
        # A test-window leak grows in every interval, the settle period included.
        for c, lb in enumerate(labels):
            if lb.kind == "tw-leak":
                counts = rows_counts[c]
                base = counts[0].astype(np.float64)
                noise = max(1.0, float(np.std(np.diff(counts.sum(axis=1)))))
                per_step = rng.uniform(8, 40) * noise
                share = base / max(base.sum(), 1)
                growth = np.outer(np.arange(n), share * per_step)
                rows_counts[c] = np.round(base[None, :] + growth).astype(np.int64)
                lb.rate_bytes_per_hour = float(per_step * (share * rows_sizes[c]).sum() / max(span / (n - 1), 1e-9))
    lines = _write(rng, cfg, secs, rows_counts, rows_sizes, rows_ops, rows_present, pools, names, boot, labels)
    doc = {"seed": cfg.seed, "snapshots": n, "reboots_at": reboot_at, "test_window": cfg.test_window,
           "tags": [asdict(lb) for lb in labels]}
    return lines, doc


def _write(rng: np.random.Generator, cfg: KernelConfig, secs: np.ndarray, counts: list[np.ndarray],
           sizes: list[np.ndarray], ops: list[np.ndarray], present: list[np.ndarray], pools: list[str],
           names: list[str], boot: np.ndarray, labels: list[KernelLabel]) -> list[str]:
    """``poolmon /b`` frames after ``echo %DATE% %TIME%`` markers, counters restarting at each boot."""
    n = len(secs)
    k = len(counts)
    out_count = np.stack([c.sum(axis=1) for c in counts], axis=1)  # (n, k)
    out_bytes = np.stack([(c * s[None, :]).sum(axis=1) for c, s in zip(counts, sizes, strict=True)], axis=1)
    ops_m = np.stack(ops, axis=1)
    busy = np.array([lb.kind in ("wrap", "wrap-leak") for lb in labels])
    grown = np.maximum(np.diff(out_count, axis=0, prepend=out_count[:1]), 0)
    alloc_steps = ops_m + grown
    alloc_steps[:, busy] += rng.poisson(2e6, size=(n, int(busy.sum())))
    allocs = np.zeros((n, k), dtype=np.int64)
    start = rng.integers(10_000, 5_000_000, size=k)
    # Busy tags start close to 2**32 so that both counters wrap during the log.
    start[busy] = WRAP - (alloc_steps[:, busy].sum(axis=0) * rng.uniform(0.2, 0.6, int(busy.sum()))).astype(np.int64)
    for b in np.unique(boot):
        part = np.flatnonzero(boot == b)
        base = start if b == 0 else rng.integers(1_000, 50_000, size=k) + out_count[part[0]]
        allocs[part] = base[None, :] + np.cumsum(alloc_steps[part], axis=0) - alloc_steps[part[0]][None, :]
    frees = allocs - out_count
    lines: list[str] = []
    for t in range(n):
        stamp = cfg.start + timedelta(seconds=float(secs[t]))
        day = stamp.strftime("%a %m/%d/%Y")
        lines.append(f"{day} {stamp:%H:%M:%S}.{stamp.microsecond // 10000:02d}")
        if rng.random() < 0.8:
            lines.append(f" Memory:{33487156:>9}K Avail:{int(20e6 + rng.normal(0, 1e5)):>9}K  PageFlts:"
                         f"{int(rng.integers(0, 900)):>6}   InRam Krnl:{11520:>5}K P:{302112:>7}K")
            lines.append(f" Commit:{int(9e6 + rng.normal(0, 1e5)):>8}K Limit:{38000000:>8}K Peak:{12000000:>8}K"
                         f"            Pool N:{400000:>7}K P:{700000:>7}K")
        lines.append(" Tag  Type     Allocs            Frees               Diff            Bytes"
                     "                 Per Alloc")
        for c in range(k):
            if not present[c][t]:
                continue
            diff = int(out_count[t, c])
            nbytes = int(out_bytes[t, c])
            per = nbytes // diff if diff else 0
            a = int(allocs[t, c]) % WRAP
            f = int(frees[t, c]) % WRAP
            lines.append(f" {names[c]} {pools[c]:<5}{a:>18}{f:>19}{diff:>18}{nbytes:>15}{per:>17}")
        lines.append("")
    return lines


def write_run(cfg: KernelConfig, folder: Path, name: str) -> tuple[Path, Path]:
    """Write ``<name>.log`` (CRLF) and ``<name>.labels.json``."""
    lines, doc = generate(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    log, labels = folder / f"{name}.log", folder / f"{name}.labels.json"
    with open(log, "w", encoding="ascii", newline="\r\n") as fh:
        fh.write("\n".join(lines) + "\n")
    labels.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return log, labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--snapshots", type=int, default=480)
    ap.add_argument("--tags", type=int, default=1000)
    ap.add_argument("--reboots", type=int, default=1)
    ap.add_argument("--test-window", action="store_true")
    args = ap.parse_args()
    cfg = KernelConfig(seed=args.seed, snapshots=args.snapshots, tags=args.tags, reboots=args.reboots,
                       test_window=args.test_window)
    log, labels = write_run(cfg, args.folder, f"kernel_{args.seed}")
    print(f"wrote {log} and {labels}")


if __name__ == "__main__":
    main()
