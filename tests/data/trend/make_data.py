"""Write the small PoolMon logs the trend and diff CLI tests read (deterministic; run to regenerate).

    .venv/bin/python tests/data/trend/make_data.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
START = datetime(2026, 11, 21, 9, 0, 0)

# tag, pool, size per allocation, base outstanding, behaviour
TAGS = [
    ("Wdrq", "Nonp", 512, 400, "leak"),
    ("Fmfc", "Paged", 128, 2000, "late"),
    ("MmCa", "Paged", 256, 3000, "cache"),
    ("Ntfx", "Nonp", 1024, 500, "warmup"),
    ("Irp ", "Nonp", 1008, 2400, "flat"),
    ("File", "Nonp", 304, 20000, "flat"),
    ("CM  ", "Paged", 352, 900, "flat"),
    ("Dh 2", "Paged", 320, 12, "static"),
]


def outstanding(kind: str, base: int, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0, max(base * 0.01, 1.0), len(t))
    if kind == "leak":
        return base + 30 * t + noise
    if kind == "late":
        return base + np.maximum(0, t - 24) * 90 + noise
    if kind == "cache":
        return base + (t % 16) * 400 + noise
    if kind == "warmup":
        return base + 1500 * (1 - np.exp(-t / 4)) + noise
    if kind == "static":
        return np.full(len(t), float(base))
    return base + noise


def frame_lines(stamp: datetime, rows: list[tuple[str, str, int, int, int]], avail: int, commit: int) -> list[str]:
    npg = sum(b for _, p, _, _, b in rows if p == "Nonp") // 1024 + 150_000
    pgd = sum(b for _, p, _, _, b in rows if p == "Paged") // 1024 + 300_000
    out = [
        f"===== {stamp:%Y-%m-%d %H:%M:%S} =====",
        f" Memory: 8388020K Avail:{avail:>8}K  PageFlts:   412   InRam Krnl: 5124K P:61312K",
        f" Commit:{commit:>7}K Limit:9830400K Peak:5120332K            Pool N:{npg:>6}K P:{pgd:>6}K",
        " System pool information",
        " Tag  Type     Allocs            Frees               Diff            Bytes                 Per Alloc",
        "",
    ]
    for tag, pool, a, f, b in rows:
        d = a - f
        out.append(f" {tag} {pool:<5}{a:>18}{f:>19}{d:>18}{b:>15}{(b // d if d else 0):>17}")
    out.append("")
    return out


def main() -> None:
    rng = np.random.default_rng(20261121)
    frames = 48  # four hours, every five minutes
    t = np.arange(frames, dtype=float)
    lines: list[str] = []
    state = {}
    for tag, pool, size, base, kind in TAGS:
        o = np.maximum(np.round(outstanding(kind, base, t, rng)), 0).astype(np.int64)
        grown = np.maximum(np.diff(o, prepend=o[:1]), 0)
        traffic = 0 if kind == "static" else 300
        allocs = 100_000 + o[0] + np.cumsum(traffic + grown)
        state[tag] = (pool, size, o, allocs)
    leaked_kb = 0
    for i in range(frames):
        rows = []
        for tag, (pool, size, o, allocs) in state.items():
            rows.append((tag, pool, int(allocs[i]), int(allocs[i] - o[i]), int(o[i] * size)))
        leaked_kb = (int(state["Wdrq"][2][i] - state["Wdrq"][2][0]) * 512
                     + int(state["Fmfc"][2][i] - state["Fmfc"][2][0]) * 128) // 1024
        lines += frame_lines(START + timedelta(minutes=5 * i), rows, 3_125_332 - leaked_kb, 4_411_208 + leaked_kb)
    (HERE / "leak_run.log").write_text("\r\n".join(lines) + "\r\n", encoding="ascii", newline="")

    # Two single snapshots for diff: a tag appears, one vanishes, one grows, one is unchanged.
    before = [("Wdrq", "Nonp", 5000, 4600, 204800), ("Gone", "Paged", 900, 880, 6400),
              ("Same", "Nonp", 300, 290, 3200), ("Shrk", "Paged", 8000, 7000, 1024000)]
    after = [("Wdrq", "Nonp", 9000, 6000, 1536000), ("Newt", "Nonp", 40, 10, 122880),
             ("Same", "Nonp", 300, 290, 3200), ("Shrk", "Paged", 9000, 8500, 512000)]
    (HERE / "before.log").write_text("\r\n".join(frame_lines(START, before, 3_000_000, 4_000_000)) + "\r\n",
                                     encoding="ascii", newline="")
    (HERE / "after.log").write_text(
        "\r\n".join(frame_lines(START + timedelta(hours=2), after, 2_900_000, 4_100_000)) + "\r\n",
        encoding="ascii", newline="")


if __name__ == "__main__":
    main()
