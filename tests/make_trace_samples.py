"""Write the pool-trace samples: one x64 .etl (with our own writer, tests/etl_writer.py) and a WPA export.

Run from the repository root only to change the samples; regenerate the golden files after.
The story: `Nflt` (netflt.sys, nonpaged) leaks 1,056-byte blocks from one of its two
allocation sites, about one every 20 seconds for 40 minutes; everything else balances.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the writer lives beside this script

from etl_writer import EtlWriter  # noqa: E402

NT = 0xFFFFF80712000000
NETFLT = 0xFFFFF80745600000
STORAGE = 0xFFFFF80747800000
TICKS_PER_SECOND = 10_000_000


def etl_sample(path: Path) -> None:
    rng = random.Random(16)
    w = EtlWriter(pointer_size=8, buffer_size=16384)
    w.image(NT, 0x1046000, r"\SystemRoot\system32\ntoskrnl.exe")
    w.image(NETFLT, 0x2F000, r"\SystemRoot\System32\drivers\netflt.sys")
    w.image(STORAGE, 0x51000, r"\SystemRoot\System32\drivers\stordisk.sys")
    leak_stack = [NT + 0x2A7D10, NETFLT + 0x41C2, NETFLT + 0x3B90, NETFLT + 0x1E04, NT + 0x38E5C0]
    ok_stack = [NT + 0x2A7D10, NETFLT + 0x5A10, NETFLT + 0x1E04, NT + 0x38E5C0]
    irp_stack = [NT + 0x2A7D10, NT + 0x1B2C40, STORAGE + 0x7310, NT + 0x38E5C0]
    session_stack = [NT + 0x2A7D10, NT + 0x4410A0, 0x7FFB12340000 + 0x1A2B]
    # Frees of blocks allocated before the trace started: they must change no tag's count.
    t = 1_000_000 + TICKS_PER_SECOND
    for i in range(6):
        w.free(t + i, "Irp ", 0xFFFFB00000000000 + i * 0x1000, size=0)
    live: list[tuple[int, str, int, int, int | None]] = []  # (free time, tag, address, pool type, session)
    next_address = 0xFFFFC10000000000
    for second in range(0, 40 * 60, 4):
        t = 1_000_000 + (second + 2) * TICKS_PER_SECOND
        for free_at, tag, address, pool_type, session in [x for x in live if x[0] <= t]:
            w.free(free_at, tag, address, pool_type=pool_type, session=session)
        live = [x for x in live if x[0] > t]
        next_address += 0x200
        if second % 20 == 0:
            w.alloc(t + 1, "Nflt", 1056, next_address, stack=leak_stack, thread=4120)  # never freed
        next_address += 0x200
        w.alloc(t + 2, "Nflt", 176, next_address, stack=ok_stack, thread=4120)
        live.append((t + rng.randrange(1, 6) * TICKS_PER_SECOND, "Nflt", next_address, 0, None))
        for _ in range(rng.randrange(1, 4)):
            next_address += 0x200
            w.alloc(t + 3, "Irp ", 280, next_address, stack=irp_stack, thread=3308)
            live.append((t + rng.randrange(1, 3) * TICKS_PER_SECOND, "Irp ", next_address, 0, None))
        if second % 12 == 0:
            next_address += 0x200
            w.alloc(t + 4, "Gla5", 96, next_address, pool_type=33, session=1, stack=session_stack, thread=6012,
                    pid=812)
            live.append((t + 7 * TICKS_PER_SECOND, "Gla5", next_address, 33, 1))
    # Address reuse without a recorded free: the earlier block is taken as gone.
    reused = 0xFFFFC1FF00000000
    end = 1_000_000 + 40 * 60 * TICKS_PER_SECOND
    w.alloc(end - 50, "Irp ", 280, reused, stack=irp_stack, thread=3308)
    w.alloc(end - 40, "Irp ", 280, reused, stack=irp_stack, thread=3308)
    w.free(end - 30, "Irp ", reused)
    for free_at, tag, address, pool_type, session in sorted(live):
        w.free(max(free_at, end - 20), tag, address, pool_type=pool_type, session=session)
    w.write(path)


WPA_HEADER = "Pool Type,Stack,Tag,Size (B),Address,Alloc Time (s),Free Time (s),Count"


def wpa_sample(path: Path) -> None:
    lines = [WPA_HEADER]
    leak = "ntoskrnl.exe!ExAllocatePool2 <- netflt.sys!FltQueueRequest <- netflt.sys!FltDispatch"
    ok = "ntoskrnl.exe!ExAllocatePool2 <- netflt.sys!FltBuildHeader <- netflt.sys!FltDispatch"
    address = 0xFFFFC10000000000
    for second in range(0, 30 * 60, 10):
        address += 0x200
        lines.append(f'NonPaged,"{leak}",Nflt,1056,0x{address:X},{second + 0.25:.6f},,1')
        address += 0x200
        lines.append(f'NonPaged,"{ok}",Nflt,176,0x{address:X},{second + 0.5:.6f},{second + 3.75:.6f},1')
        address += 0x200
        lines.append(f'Paged,"ntoskrnl.exe!ExAllocatePool2 <- ntoskrnl.exe!CmpAllocate",CM31,512,0x{address:X},'
                     f'{second + 1.0:.6f},{second + 9.0:.6f},1')
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


if __name__ == "__main__":
    etl_sample(ROOT / "samples" / "pool_trace_x64.etl")
    wpa_sample(ROOT / "samples" / "wpa_pool_allocations.csv")
