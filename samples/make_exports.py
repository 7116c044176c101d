"""Write the export-family samples (PowerShell PoolMon ports, PoolMonX, Volatility, performance counters).

Like make_samples.py, this only keeps the committed samples' numbers consistent: one seeded
model of a server's tags, every row obeying Diff = Allocs - Frees, cumulative counters never
going down.  **`Lkq7` (nonpaged, 512 bytes each) leaks** about 900 allocations an hour in every
time series written here.  Run from the repository root:  python samples/make_exports.py
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = datetime(2026, 11, 21, 14, 0, 0)


@dataclass
class Tag:
    tag: str
    size: int
    paged: tuple[int, int]  # (outstanding at start, allocs per hour); (0, 0) = never used
    nonpaged: tuple[int, int]
    leak: int = 0  # nonpaged outstanding growth per hour
    binary: str = ""
    description: str = ""


TAGS = [
    Tag("Lkq7", 512, (0, 0), (1200, 5000), 900, "lkqflt.sys", "Queue filter request contexts"),
    Tag("Io  ", 256, (310, 90000), (4100, 250000), 0, "nt!io", "general IO allocations"),
    Tag("MmSt", 1024, (52000, 30000), (0, 0), 0, "nt!mm", "Mm section object prototype ptes"),
    Tag("CM31", 4096, (9800, 4000), (0, 0), 0, "nt!cm", "Internal Configuration manager allocations"),
    Tag("File", 384, (0, 0), (21000, 700000), 0, "nt!io", "File objects"),
    Tag("Ntfx", 1536, (900, 12000), (3300, 18000), 0, "ntfs.sys", "General Allocation"),
    Tag("Vad ", 128, (0, 0), (15200, 80000), 0, "nt!mm", "Mm virtual address descriptors"),
    Tag("Zz9q", 96, (40, 200), (0, 0), 0, "", ""),
]


def counters(t: Tag, hours: float, rng: random.Random) -> dict[str, tuple[int, int, int]]:
    """pool -> (allocs, frees, bytes) ``hours`` after START."""
    out = {}
    for pool, (outstanding, rate) in (("paged", t.paged), ("nonpaged", t.nonpaged)):
        if not outstanding and not rate:
            out[pool] = (0, 0, 0)
            continue
        allocs = 3 * rate + int(rate * hours)
        live = outstanding + (int(t.leak * hours) if pool == "nonpaged" else rng.randint(-20, 20))
        live = max(live, 1)
        out[pool] = (allocs, allocs - live, live * t.size)
    return out


def ps_record(when: datetime, t: Tag, c: dict[str, tuple[int, int, int]], owners: bool) -> list[str]:
    p, n = c["paged"], c["nonpaged"]
    utc = when - timedelta(hours=1)
    cells = [when.strftime("%m/%d/%Y %I:%M:%S %p"), utc.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"), t.tag,
             str(p[0]), str(p[1]), str(p[0] - p[1]), str(p[2]),
             str(n[0]), str(n[1]), str(n[0] - n[1]), str(n[2]), str(p[2] + n[2])]
    if owners:
        cells += [t.binary, t.description]
    return cells


def write_ps_samples() -> None:
    rng = random.Random(12)
    header = ["DateTime", "DateTimeUTC", "Tag", "PagedAllocs", "PagedFrees", "PagedDiff", "PagedUsedBytes",
              "NonPagedAllocs", "NonPagedFrees", "NonPagedDiff", "NonPagedUsedBytes", "TotalUsedBytes",
              "Binary", "Description"]
    # 1. Export-Csv of one sample (Windows PowerShell 5.1: #TYPE line, every cell quoted, CRLF).
    when = START
    lines = ["#TYPE System.Management.Automation.PSCustomObject", ",".join(f'"{h}"' for h in header)]
    for t in TAGS:
        lines.append(",".join(f'"{c}"' for c in ps_record(when, t, counters(t, 0, rng), True)))
    (HERE / "ps_poolmon_20261121_1400.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    # 2. A loop appending ConvertTo-Csv | Select -Skip 1 >> log: no header, UTF-16LE with BOM, 4 samples.
    lines = []
    for i in range(4):
        when = START + timedelta(minutes=30 * i)
        for t in TAGS:
            lines.append(",".join(f'"{c}"' for c in ps_record(when, t, counters(t, 0.5 * i, rng), False)[:12]))
    (HERE / "ps_poolmon_appended.csv").write_bytes(b"\xff\xfe" + ("\r\n".join(lines) + "\r\n").encode("utf-16-le"))
    # 3. The key=value log form, 3 samples an hour apart.
    lines = []
    for i in range(3):
        when = START + timedelta(hours=i)
        for t in TAGS:
            cells = ps_record(when, t, counters(t, float(i), rng), True)
            lines.append(" ".join(f'{h}="{c}"' for h, c in zip(header, cells, strict=True)))
    (HERE / "ps_poolmon_kv.log").write_text("\n".join(lines) + "\n", encoding="utf-8")


def grouped(n: int) -> str:
    return f"{n:,}"


def write_poolmonx() -> None:
    rng = random.Random(7)
    lines = ["Tag,Value,Paged Allocs,Paged Frees,Paged Diff,Paged Usage,Non Paged Allocs,Non Paged Frees,"
             "Non Paged Diff,Non Paged Usage,Source,Description"]
    for t in TAGS:
        c = counters(t, 2.0, rng)
        value = int.from_bytes(t.tag.encode("ascii"), "little")
        p, n = c["paged"], c["nonpaged"]
        nums = [p[0], p[1], p[0] - p[1], p[2], n[0], n[1], n[0] - n[1], n[2]]
        # The en-US locale groups digits with the same comma that separates fields.
        lines.append(",".join([t.tag.rstrip(), f"0x{value:08X}", *(grouped(x) for x in nums),
                               t.binary, t.description]))
    (HERE / "poolmonx_saved.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))


def write_volatility() -> None:
    rng = random.Random(3)
    out = ["Volatility Foundation Volatility Framework 2.6.1",
           "Tag    NpAllocs NpFrees  NpBytes  PgAllocs PgFrees  PgBytes  Driver                 Reason",
           "------ -------- -------- -------- -------- -------- -------- ---------------------- ------"]
    for t in TAGS:
        c = counters(t, 5.0, rng)
        n, p = c["nonpaged"], c["paged"]
        driver = t.binary or ""
        out.append(f"{t.tag:<6} {n[0]:>8} {n[1]:>8} {n[2]:>8} {p[0]:>8} {p[1]:>8} {p[2]:>8} "
                   f"{driver:<22} {t.description}".rstrip())
    (HERE / "vol2_pooltracker.txt").write_text("\n".join(out) + "\n", encoding="utf-8")
    # Volatility 3 windows.bigpools, text renderer: tab-separated, big allocations only.
    out = ["Volatility 3 Framework 2.7.0", "Progress:  100.00\t\tPDB scanning finished", "",
           "Offset\tTag\tPoolType\tNumberOfBytes\tStatus", ""]
    addr = 0xFFFFB30C5A200000
    blocks = [("Lkq7", "NonPagedPoolNx", 0x2000)] * 6 + [("CM31", "PagedPool", 0x1000)] * 3 + [
        ("MmSt", "PagedPool", 0x3000), ("Io  ", "NonPagedPoolNx", 0x1000), ("File", "NonPagedPoolNx", 0x1000)]
    for i, (tag, pool, size) in enumerate(blocks):
        status = "Free" if i == 4 else "Allocated"
        out.append(f"{addr:#x}\t{tag}\t{pool}\t{size:#x}\t{status}")
        addr += 0x4000
    (HERE / "vol3_bigpools.txt").write_text("\n".join(out) + "\n", encoding="utf-8")


def write_perfcounters() -> None:
    rng = random.Random(5)
    lines = ['"(PDH-CSV 4.0) (W. Europe Standard Time)(-60)","\\\\SRV-FS01\\Memory\\Pool Nonpaged Bytes",'
             '"\\\\SRV-FS01\\Memory\\Pool Paged Bytes","\\\\SRV-FS01\\Memory\\Available MBytes",'
             '"\\\\SRV-FS01\\Memory\\Committed Bytes","\\\\SRV-FS01\\Memory\\Commit Limit"']
    nonpaged, paged = 412_340_224, 693_092_352
    for i in range(13):
        when = START + timedelta(hours=i)
        np_now = nonpaged + i * 900 * 512 * 8 + rng.randint(-200_000, 200_000)
        p_now = paged + rng.randint(-3_000_000, 3_000_000)
        avail = 9_800 - i * 4 + rng.randint(-20, 20)
        committed = 7_100_000_000 + i * 4_000_000 + rng.randint(-9_000_000, 9_000_000)
        cells = [when.strftime("%m/%d/%Y %H:%M:%S.") + f"{rng.randint(0, 999):03d}",
                 f"{np_now}", f"{p_now}", f"{avail}", f"{committed}", "20401094656"]
        if i == 0:
            cells[3] = " "  # typeperf leaves a counter blank when it has no first value
        lines.append(",".join(f'"{c}"' for c in cells))
    (HERE / "perfmon_pool.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))


if __name__ == "__main__":
    write_ps_samples()
    write_poolmonx()
    write_volatility()
    write_perfcounters()
