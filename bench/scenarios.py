"""Labelled PoolMon logs for the trend benchmark.

Writes what a user's ``poolmon -n`` loop leaves behind: frames of PoolMon snapshot
text (header figures, column header, one row per tag) separated by time-marker
banners, appended to one log file.  What each tag really does is decided here and
written to a separate labels file that the analyzer never reads; the benchmark
(:mod:`bench.run_scenarios`) parses the log with :func:`parsers.parse` like any user
file and compares the verdicts with the labels.

Every tag is modelled in allocation counts, so the text keeps PoolMon's identities
(Diff = Allocs − Frees, Bytes = Diff × size, Per Alloc = floor(Bytes / Diff)):

* ``background``   — outstanding allocations wander around a level (AR(1) noise), or never move;
* ``leak``         — a share of allocations is never freed: steady linear growth;
* ``slow-leak``    — a small leak whose hourly growth is no bigger than the noise (every
  other leak has at most that much noise: a leak buried deeper is not labelled as findable);
* ``step-leak``    — the leak comes in bursts every 20–60 minutes (a staircase);
* ``late-leak``    — flat until 30–60 % of the run, then leaking;
* ``burst``        — bursts of allocations all freed again within minutes (balanced);
* ``cache``        — a sawtooth: grows, then trimmed back to its base, several times per run;
* ``warmup``       — rises quickly at the start and levels off (1 − e^(−t/τ));
* ``transient``    — appears mid-run and vanishes again;
* ``wrap``         — busy tags whose 32-bit Allocs/Frees counters wrap during the run
  (some of them leak: kind ``wrap-leak``);
and optionally a reboot mid-log, after which all counters restart and leaks resume.
"""

from __future__ import annotations

import argparse
import json
import string
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

WRAP = 2**32
LEAK_KINDS = ("leak", "slow-leak", "step-leak", "late-leak", "wrap-leak")


@dataclass
class Label:
    tag: str
    pool: str
    kind: str
    leak: bool
    rate_bytes_per_hour: float  # the leak's designed rate (0 for others)
    onset_hours: float | None  # when the leak starts (None: not a leak)


@dataclass
class ScenarioConfig:
    seed: int = 1
    snapshots: int = 360
    interval_s: int = 60
    background: int = 1000  # background tags (the rest are the labelled behaviours)
    per_kind: int = 6  # tags of each special behaviour
    reboot: bool = True  # counters restart once, somewhere in the middle half
    start: datetime = datetime(2026, 11, 21, 8, 0, 0)
    needle_rate: float | None = None  # if set, every leak leaks exactly this many bytes/hour


def _tag_names(rng: np.random.Generator, count: int) -> list[str]:
    alphabet = string.ascii_letters + string.digits
    names: set[str] = set()
    out = []
    while len(out) < count:
        n = int(rng.choice([4, 4, 4, 4, 3, 2]))
        name = "".join(rng.choice(list(alphabet), size=n)).ljust(4)
        if rng.random() < 0.03:
            name = name[:2] + " " + name[3]
        if name not in names:
            names.add(name)
            out.append(name)
    return out


def _ar1(rng: np.random.Generator, t: int, k: int, phi: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """AR(1) noise (t × k) with stationary standard deviation ``sd`` per column."""
    e = rng.normal(size=(t, k)) * (sd * np.sqrt(1 - phi**2))
    out = np.empty((t, k))
    out[0] = rng.normal(size=k) * sd
    for i in range(1, t):
        out[i] = phi * out[i - 1] + e[i]
    return out


def generate(cfg: ScenarioConfig) -> tuple[list[str], dict[str, object], dict[str, np.ndarray]]:
    """Return (log lines, labels document, matrices) for one scenario."""
    rng = np.random.default_rng(cfg.seed)
    t_n = cfg.snapshots
    hours = np.arange(t_n) * cfg.interval_s / 3600.0
    span = hours[-1] if t_n > 1 else 1.0
    kinds = ["leak", "slow-leak", "step-leak", "late-leak", "burst", "cache", "warmup", "transient", "wrap",
             "wrap-leak"]
    plan = [k for k in kinds for _ in range(cfg.per_kind)] + ["background"] * cfg.background
    k_n = len(plan)
    names = _tag_names(rng, k_n)
    pools = rng.choice(["Nonp", "Paged"], size=k_n)
    size = rng.choice([32, 48, 64, 96, 128, 160, 256, 512, 1024, 2048, 4096], size=k_n).astype(np.float64)
    base = np.exp(rng.uniform(np.log(5), np.log(40000), size=k_n))  # outstanding allocations
    traffic = np.exp(rng.uniform(np.log(1), np.log(3000), size=k_n))  # allocations per interval
    phi = rng.uniform(0.5, 0.95, size=k_n)
    noise_frac = rng.uniform(0.002, 0.05, size=k_n)
    static = (rng.random(k_n) < 0.3) & (np.array(plan) == "background")
    noise_sd = np.where(static, 0.0, np.maximum(base * noise_frac, 1.0))
    target = base[None, :] + _ar1(rng, t_n, k_n, phi, noise_sd)

    labels: list[Label] = []
    present = np.ones((t_n, k_n), dtype=bool)
    for c, kind in enumerate(plan):
        s = size[c]
        rate = 0.0
        onset: float | None = None
        if kind in LEAK_KINDS:
            rate = cfg.needle_rate if cfg.needle_rate else float(np.exp(rng.uniform(np.log(256e3), np.log(8e6))))
            if kind == "slow-leak" and not cfg.needle_rate:
                rate = float(rng.uniform(100e3, 400e3))
            per_h = rate / s
            # A leak is labelled only where it can be seen at all: its noise is at most one hour of
            # its growth (slow leaks sit exactly there).
            if kind == "slow-leak" or noise_sd[c] > per_h:
                noise_sd[c] = per_h
                target[:, c] = base[c] + _ar1(rng, t_n, 1, phi[c : c + 1], noise_sd[c : c + 1])[:, 0]
            onset = 0.0
            if kind == "step-leak":
                period = float(rng.uniform(20, 60)) / 60.0
                phase = float(rng.uniform(0, period))
                target[:, c] += np.floor((hours + phase) / period) * per_h * period
            elif kind == "late-leak":
                onset = float(rng.uniform(0.3, 0.6) * span)
                target[:, c] += np.maximum(0.0, hours - onset) * per_h
            else:
                target[:, c] += hours * per_h
        elif kind == "burst":
            events = rng.random(t_n) < cfg.interval_s / 3600.0 * 1.5  # ~1.5 bursts an hour
            amp = base[c] * rng.uniform(0.5, 3.0)
            decay = np.exp(-np.arange(30) / rng.uniform(2, 8))
            target[:, c] += np.convolve(events * amp, decay)[:t_n]
        elif kind == "cache":
            period = float(rng.uniform(span / 6, span / 3))
            phase = float(rng.uniform(0, period))
            amp = base[c] * rng.uniform(1.0, 6.0)
            target[:, c] += ((hours + phase) % period) / period * amp
        elif kind == "warmup":
            tau = float(rng.uniform(0.03, 0.08) * span)
            amp = base[c] * rng.uniform(1.0, 10.0)
            target[:, c] += amp * (1 - np.exp(-hours / tau))
        elif kind == "transient":
            a = int(rng.uniform(0.1, 0.4) * t_n)
            b = int(rng.uniform(0.6, 0.9) * t_n)
            present[:a, c] = False
            present[b:, c] = False
        labels.append(Label(names[c], "nonpaged" if pools[c] == "Nonp" else "paged", kind, kind in LEAK_KINDS,
                            rate, onset))

    reboot_at: int | None = None
    if cfg.reboot and t_n >= 8:
        reboot_at = int(rng.uniform(0.35, 0.65) * t_n)
    outstanding = np.maximum(np.round(target), 0).astype(np.int64)
    if reboot_at is not None:
        # After a reboot the boot-time level comes back and growth starts again from there.
        shift = outstanding[reboot_at] - np.maximum(np.round(base + _ar1(rng, 1, k_n, phi, noise_sd)[0]), 0)
        outstanding[reboot_at:] -= shift.astype(np.int64)
        outstanding = np.maximum(outstanding, 0)

    # Allocations per interval: traffic plus whatever the outstanding count grew by.
    d_out = np.diff(outstanding, axis=0, prepend=outstanding[:1])
    allocs_step = rng.poisson(np.where(static, 0.0, traffic)[None, :], size=(t_n, k_n)) + np.maximum(d_out, 0)
    frees_step = allocs_step - d_out
    allocs0 = (outstanding[0] + rng.integers(0, 10**7, size=k_n)).astype(np.int64)
    wrapping = np.array([k in ("wrap", "wrap-leak") for k in plan])
    busy = traffic * 20
    allocs_step[:, wrapping] += rng.poisson(busy[wrapping][None, :], size=(t_n, int(wrapping.sum())))
    frees_step[:, wrapping] = allocs_step[:, wrapping] - d_out[:, wrapping]
    # Start busy tags just below 2**32 so both counters wrap during the run.
    total_busy = allocs_step[:, wrapping].sum(axis=0)
    allocs0[wrapping] = WRAP - (total_busy * rng.uniform(0.05, 0.3, size=int(wrapping.sum()))).astype(np.int64)
    allocs = allocs0[None, :] + np.cumsum(allocs_step, axis=0) - allocs_step[0]
    if reboot_at is not None:
        restart = allocs[reboot_at] - (outstanding[reboot_at] + rng.integers(0, 5000, size=k_n))
        allocs[reboot_at:] -= restart
    frees = allocs - outstanding
    nbytes = outstanding * size.astype(np.int64)[None, :]

    lines: list[str] = []
    mem_kb = 16_776_692
    leak_bytes = np.cumsum(np.clip(np.diff(nbytes, axis=0, prepend=nbytes[:1]), 0, None)
                           * np.array([lb.leak for lb in labels])[None, :], axis=0).sum(axis=1)
    for t in range(t_n):
        stamp = cfg.start + timedelta(seconds=int(t * cfg.interval_s))
        on = present[t]
        npg = int(nbytes[t, on & (pools == "Nonp")].sum() // 1024) + 150_000
        pgd = int(nbytes[t, on & (pools == "Paged")].sum() // 1024) + 300_000
        avail = int(9_000_000 - leak_bytes[t] // 1024 + rng.integers(-20_000, 20_000))
        commit = int(7_800_000 + leak_bytes[t] // 1024 + rng.integers(-20_000, 20_000))
        lines += [
            f"===== {stamp:%Y-%m-%d %H:%M:%S} =====",
            f" Memory:{mem_kb:>8}K Avail:{avail:>8}K  PageFlts:{int(rng.integers(0, 2000)):>6}   "
            f"InRam Krnl:{14212:>5}K P:{251880:>6}K",
            f" Commit:{commit:>7}K Limit:{19137988:>7}K Peak:{commit + 812344:>7}K"
            f"            Pool N:{npg:>6}K P:{pgd:>6}K",
            " System pool information",
            " Tag  Type     Allocs            Frees               Diff            Bytes                 Per Alloc",
            "",
        ]
        a_t = allocs[t] % WRAP
        f_t = frees[t] % WRAP
        for c in np.flatnonzero(on):
            d = int(outstanding[t, c])
            b = int(nbytes[t, c])
            per = b // d if d else 0
            lines.append(f" {names[c]} {pools[c]:<5}{int(a_t[c]):>18}{int(f_t[c]):>19}{d:>18}{b:>15}{per:>17}")
        lines.append("")
    doc = {
        "seed": cfg.seed,
        "snapshots": t_n,
        "interval_s": cfg.interval_s,
        "reboot_at": reboot_at,
        "tags": [asdict(lb) for lb in labels],
    }
    return lines, doc, {"bytes": nbytes, "present": present}


def write_scenario(cfg: ScenarioConfig, folder: Path, name: str = "scenario") -> tuple[Path, Path]:
    """Write ``<name>.log`` (CRLF, as Windows writes it) and ``<name>.labels.json`` into ``folder``."""
    lines, doc, _ = generate(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    labels = folder / f"{name}.labels.json"
    with open(log, "w", encoding="ascii", newline="\r\n") as fh:
        fh.write("\n".join(lines))
        fh.write("\n")
    labels.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return log, labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--snapshots", type=int, default=360)
    ap.add_argument("--interval", type=int, default=60, help="seconds between snapshots")
    ap.add_argument("--background", type=int, default=1000)
    ap.add_argument("--per-kind", type=int, default=6)
    ap.add_argument("--no-reboot", action="store_true")
    args = ap.parse_args()
    cfg = ScenarioConfig(seed=args.seed, snapshots=args.snapshots, interval_s=args.interval,
                         background=args.background, per_kind=args.per_kind, reboot=not args.no_reboot)
    log, labels = write_scenario(cfg, args.folder, f"scenario_{args.seed}")
    print(f"wrote {log} and {labels}")


if __name__ == "__main__":
    main()
