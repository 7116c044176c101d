"""A simulated fleet: one folder per host with an appended PoolMon log and a host.json.

Every host runs the same drivers (``drv00.sys`` ... one per ``tags_per_driver`` tags), each at a
version drawn per host.  A leak is planted in chosen (tag, driver version) pairs: that tag grows
steadily on every host running that version of its driver, and only there.  Everything else is
mean-reverting noise around a per-host level, with allocation churn.  ``fleet_bench.py`` and the
fleet tests both use this, so the expected hosts-affected counts are known exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

VERSIONS: tuple[str, ...] = ("1.0.0", "1.1.0", "2.0.0")
SIZES = np.array([32, 64, 128, 256, 512, 1024, 4096], dtype=np.int64)

HEADER = (
    " Memory:16776692K Avail:{avail:>8}K  PageFlts:{pf:>6}   InRam Krnl:14212K P:251880K\n"
    " Commit:{commit}K Limit:19137988K Peak:8622564K            Pool N:{npk}K P:{pk}K\n"
    " System pool information\n"
    " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc  Mapped_Driver\n"
    "\n"
)


@dataclass(frozen=True)
class Plant:
    """A leak in ``tag`` on every host whose ``driver`` runs ``version``."""

    tag: str
    driver: str
    version: str


@dataclass(frozen=True)
class FleetConfig:
    hosts: int = 2000
    snapshots: int = 48
    tags: int = 300
    tags_per_driver: int = 10
    interval_minutes: int = 30
    start: datetime = datetime(2026, 11, 21, 12, 0, 0)
    seed: int = 17
    plants: tuple[Plant, ...] = field(default_factory=lambda: (
        Plant("X003", "drv03.sys", "2.0.0"),
        Plant("X011", "drv11.sys", "1.1.0"),
        Plant("X017", "drv17.sys", "2.0.0"),
        Plant("X047", "drv17.sys", "2.0.0"),
    ))

    @property
    def drivers(self) -> int:
        return max(1, self.tags // self.tags_per_driver)


def tag_name(i: int) -> str:
    return f"X{i:03d}"


def driver_of(i: int, cfg: FleetConfig) -> str:
    return f"drv{i % cfg.drivers:02d}.sys"


def host_name(h: int) -> str:
    return f"host{h:04d}"


def host_versions(cfg: FleetConfig) -> list[dict[str, str]]:
    """Each host's driver -> version map (deterministic from the seed)."""
    rng = np.random.default_rng(cfg.seed)
    picks = rng.choice(len(VERSIONS), size=(cfg.hosts, cfg.drivers), p=[0.5, 0.3, 0.2])
    return [{f"drv{d:02d}.sys": VERSIONS[picks[h, d]] for d in range(cfg.drivers)} for h in range(cfg.hosts)]


def expected_hosts(cfg: FleetConfig) -> dict[tuple[str, str, str], int]:
    """(tag, driver, version) of every plant -> the number of hosts where it must be found leaking."""
    versions = host_versions(cfg)
    return {(p.tag, p.driver, p.version): sum(1 for v in versions if v.get(p.driver) == p.version)
            for p in cfg.plants if int(p.tag[1:]) < cfg.tags}


def _host_text(h: int, cfg: FleetConfig, versions: dict[str, str], rng: np.random.Generator) -> str:
    t_count, k = cfg.snapshots, cfg.tags
    size = SIZES[rng.integers(0, len(SIZES), k)]
    level = rng.integers(50, 5000, k).astype(np.float64)
    # AR(1) noise around the level: mean-reverting, so no trend test should fire on it.
    noise = np.zeros((t_count, k))
    shocks = rng.normal(0.0, 0.01, (t_count, k)) * level
    for t in range(1, t_count):
        noise[t] = 0.6 * noise[t - 1] + shocks[t]
    outstanding = level + noise
    steps = np.arange(t_count, dtype=np.float64)[:, None]
    for p in cfg.plants:
        i = int(p.tag[1:])
        if i < k and versions.get(p.driver) == p.version:
            # At least 600 KB over the window, whatever the allocation size: well clear of the noise.
            per_step = max(40.0, 0.02 * level[i], 600_000 / (float(size[i]) * max(1, t_count - 1)))
            outstanding[:, i] += steps[:, 0] * per_step
    outstanding = np.maximum(np.rint(outstanding), 0).astype(np.int64)
    churn = rng.integers(100, 1000, (t_count, k))
    d_out = np.diff(outstanding, axis=0, prepend=outstanding[:1])
    allocs = rng.integers(10_000, 5_000_000, k) + np.cumsum(churn + np.maximum(d_out, 0), axis=0)
    frees = allocs - outstanding
    nbytes = outstanding * size
    per = np.where(outstanding > 0, nbytes // np.maximum(outstanding, 1), 0)
    pools = ["Nonp " if i % 3 else "Paged" for i in range(k)]
    mapped = [f"[{driver_of(i, cfg)}  -  Simulated driver {i % cfg.drivers} buffers]" for i in range(k)]
    names = [tag_name(i) for i in range(k)]
    parts = []
    for t in range(t_count):
        stamp = cfg.start + timedelta(minutes=cfg.interval_minutes * t)
        parts.append(f"===== {stamp:%Y-%m-%d %H:%M:%S} =====\n")
        npk = int(nbytes[t, [i for i in range(k) if i % 3]].sum() // 1024)
        parts.append(HEADER.format(avail=9121503 - t, pf=t * 7 % 1000, commit=7810220 + t, npk=npk,
                                   pk=int(nbytes[t, ::3].sum() // 1024)))
        a, f, o, b, pa = (allocs[t].tolist(), frees[t].tolist(), outstanding[t].tolist(), nbytes[t].tolist(),
                          per[t].tolist())
        parts.extend(
            f" {names[i]} {pools[i]} {a[i]:>10} {f[i]:>16} {o[i]:>15} {b[i]:>10} {pa[i]:>15}  {mapped[i]}\n"
            for i in range(k))
    return "".join(parts)


def write_fleet(root: Path, cfg: FleetConfig, hosts: Sequence[int] | None = None) -> None:
    """Write ``root/hostNNNN/poolmon.log`` and ``host.json`` for every host (or the given ones)."""
    versions = host_versions(cfg)
    for h in hosts if hosts is not None else range(cfg.hosts):
        folder = root / host_name(h)
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([cfg.seed, h])
        (folder / "poolmon.log").write_text(_host_text(h, cfg, versions[h], rng), encoding="ascii")
        meta = {"os": "Windows Server 2022 (simulated)", "drivers": versions[h]}
        (folder / "host.json").write_text(json.dumps(meta, indent=1), encoding="ascii")
