"""Benchmark the .etl pool-trace reader and stack accounting on a synthetic trace of over a million pool events.

The trace is written with our own writer (tests/etl_writer.py): an x64 kernel-logger file with
64 KB buffers, image rundowns, and for every allocation a StackWalk event.  Tags and stacks:

- ``Leak`` from two stacks in leaky.sys: one frees everything, the other keeps one block in
  ``--keep-every`` (the leak the benchmark must name, with its exact bytes);
- ``Irp ``, ``MmSt``, ``Ntfr`` and a session-pool tag, all balanced, from their own stacks;
- frees of blocks allocated before the trace, and addresses reused without a recorded free.

The reading runs in a fresh process so that its peak RSS is its own.  Usage::

    .venv/bin/python bench/etw_bench.py --allocations 600000
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

NT = 0xFFFFF80712000000
LEAKY = 0xFFFFF80745600000
OTHER = 0xFFFFF80747800000
SECOND = 10_000_000


def write_trace(path: Path, allocations: int, keep_every: int, seed: int) -> dict:
    """Write the trace; return what the analysis must find (computed while writing)."""
    from etl_writer import EtlWriter

    rng = random.Random(seed)
    w = EtlWriter(pointer_size=8, buffer_size=65536)
    w.image(NT, 0x1046000, r"\SystemRoot\system32\ntoskrnl.exe")
    w.image(LEAKY, 0x30000, r"\SystemRoot\System32\drivers\leaky.sys")
    w.image(OTHER, 0x60000, r"\SystemRoot\System32\drivers\other.sys")
    leak_stack = [NT + 0x2A7D10, LEAKY + 0x41C2, LEAKY + 0x3B90, LEAKY + 0x1E04, NT + 0x38E5C0, NT + 0x1F0A20]
    fine_stack = [NT + 0x2A7D10, LEAKY + 0x5A10, LEAKY + 0x1E04, NT + 0x38E5C0]
    others = {
        "Irp ": [NT + 0x2A7D10, NT + 0x1B2C40, OTHER + 0x7310, NT + 0x38E5C0],
        "MmSt": [NT + 0x2A7D10, NT + 0x3C1180, NT + 0x3C0A44],
        "Ntfr": [NT + 0x2A7D10, OTHER + 0x2210, OTHER + 0x1900, NT + 0x38E5C0, NT + 0x1F0A20],
    }
    for i in range(1000):  # blocks allocated before the trace started
        w.free(2 * SECOND + i, "Irp ", 0xFFFFB00000000000 + i * 0x100)
    pending: list[tuple[int, int, str, int, int | None]] = []  # heap of (free time, seq, tag, address, session)
    owner: dict[int, int] = {}  # address -> seq of the block that holds it now
    expected_bytes = 0
    expected_count = 0
    address = 0xFFFFC00000000000
    t = 3 * SECOND
    step = (3600 * SECOND) // allocations  # one hour of trace
    reused = 0

    def schedule(free_at: int, seq: int, tag: str, addr: int, session: int | None) -> None:
        owner[addr] = seq
        heapq.heappush(pending, (free_at, seq, tag, addr, session))

    def free(entry: tuple[int, int, str, int, int | None], at: int) -> None:
        _, seq, tag, addr, session = entry
        if owner.get(addr) == seq:  # not superseded by a block reusing the address
            w.free(at, tag, addr, pool_type=33 if session else 0, session=session, thread=77)
            del owner[addr]

    for i in range(allocations):
        t += step
        while pending and pending[0][0] <= t:
            entry = heapq.heappop(pending)
            free(entry, entry[0])
        address += 0x100
        kind = i % 8
        if kind < 3:
            size = 192 + (i % 5) * 16
            if kind == 0 and (i // 8) % keep_every == 0:
                w.alloc(t, "Leak", size, address, stack=leak_stack, thread=4120)
                expected_bytes += size
                expected_count += 1
                continue
            w.alloc(t, "Leak", size, address, stack=leak_stack if kind == 0 else fine_stack, thread=4120)
            schedule(t + rng.randrange(1, 50) * step, i, "Leak", address, None)
        elif kind == 7 and i % 64 == 7:
            w.alloc(t, "Gla5", 96, address, pool_type=33, session=1, stack=others["MmSt"], thread=6000, pid=812)
            schedule(t + 5 * step, i, "Gla5", address, 1)
        else:
            tag = ("Irp ", "MmSt", "Ntfr")[i % 3]
            target = address
            if i % 997 == 0:  # realloc-like: a new block where a live Irp/MmSt/Ntfr block sits, its free lost
                live = [e for e in pending[-8:] if e[2] in others and owner.get(e[3]) == e[1]]
                if live:
                    target = live[0][3]
                    reused += 1
            w.alloc(t, tag, 512, target, stack=others[tag], thread=3308)
            schedule(t + rng.randrange(1, 20) * step, i, tag, target, None)
    while pending:
        entry = heapq.heappop(pending)
        free(entry, max(entry[0], t + 1))
    pool_events = sum(1 for e in w.events if e[7] == 0x0E)
    path.write_bytes(w.to_bytes())
    return {"pool_events": pool_events, "events": len(w.events) + 1, "leak_bytes": expected_bytes,
            "leak_count": expected_count, "reused": reused}


def measure(path: Path) -> dict:
    """Run in a fresh process: read, pair and rank, and report times and peak RSS."""
    import poolscope
    from analyzer.analysis.stacks import analyze_stacks
    from parsers import Diagnostics
    from parsers.etw import pair_events, read_trace, trace_snapshots

    clocks = [(time.perf_counter(), time.process_time())]

    def lap() -> None:
        clocks.append((time.perf_counter(), time.process_time()))

    trace = read_trace(path, Diagnostics())
    lap()
    life = pair_events(trace)
    lap()
    result = analyze_stacks(trace, life=life)
    lap()
    snapshots = trace_snapshots(trace, life)
    lap()
    poolscope.stacks(path)  # the facade, end to end, as `poolscope stacks` runs it
    lap()
    steps = ("read", "pair", "stacks", "snapshots", "facade")
    timing = {}
    for i, step in enumerate(steps):
        timing[f"{step}_s"] = clocks[i + 1][0] - clocks[i][0]
        timing[f"{step}_cpu_s"] = clocks[i + 1][1] - clocks[i][1]
    top = result.rows[0]
    return {
        **timing,
        "events_read": trace.info.events_read, "pool_events": len(trace.events),
        "top": {"tag": top.tag, "bytes": top.bytes, "outstanding": top.outstanding, "stack": list(top.stack)},
        "frees_before_trace": result.frees_before_trace, "replaced": result.replaced,
        "snapshots": len(snapshots),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--allocations", type=int, default=600_000)
    ap.add_argument("--keep-every", type=int, default=40, help="the leaking stack keeps one block in this many")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--trace", type=Path, default=Path("/tmp/poolscope-etw-bench.etl"))
    ap.add_argument("--reuse", action="store_true", help="read the trace an earlier run wrote")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    truth_file = args.trace.with_suffix(".truth.json")
    if args.reuse and args.trace.exists() and truth_file.exists():
        truth = json.loads(truth_file.read_text())
        print(f"reusing {args.trace}")
    else:
        t0 = time.perf_counter()
        truth = write_trace(args.trace, args.allocations, args.keep_every, args.seed)
        truth_file.write_text(json.dumps(truth))
        print(f"wrote {args.trace} in {time.perf_counter() - t0:.1f} s")
    size_mb = args.trace.stat().st_size / 2**20
    print(f"{size_mb:.0f} MB, {truth['events']:,} events of which {truth['pool_events']:,} pool events")
    run = subprocess.run([sys.executable, __file__, "--measure", str(args.trace)], capture_output=True, text=True,
                         check=True)
    m = json.loads(run.stdout)
    def line(label: str, step: str, extra: str = "") -> None:
        print(f"{label:<10}{m[step + '_cpu_s']:6.2f} s CPU ({m[step + '_s']:6.2f} s wall){extra}")

    line("read", "read", f"  {m['pool_events'] / m['read_cpu_s']:,.0f} pool events/s, "
                          f"{m['events_read'] / m['read_cpu_s']:,.0f} events/s of every kind (CPU)")
    line("pair", "pair")
    line("stacks", "stacks")
    analysis = m["read_cpu_s"] + m["pair_cpu_s"] + m["stacks_cpu_s"]
    print(f"read+pair+stacks {analysis:.2f} s CPU = {m['pool_events'] / analysis:,.0f} pool events/s")
    line("snapshots", "snapshots", f"  ({m['snapshots']} snapshots)")
    line("end to end", "facade", "  poolscope.stacks(path)")
    print(f"peak RSS  {m['peak_rss_mb']:.0f} MB (trace file {size_mb:.0f} MB, memory-mapped)")
    top = m["top"]
    ok = (top["tag"], top["bytes"], top["outstanding"]) == ("Leak", truth["leak_bytes"], truth["leak_count"])
    print(f"top stack: {top['tag']} {top['bytes']:,} bytes in {top['outstanding']:,} allocations, "
          f"{' <- '.join(top['stack'][:3])} ...; expected {truth['leak_bytes']:,} bytes in {truth['leak_count']:,}: "
          f"{'MATCH' if ok else 'MISMATCH'}")
    print(f"frees before trace {m['frees_before_trace']:,} (written 1,000); replaced {m['replaced']:,} "
          f"(written {truth['reused']:,})")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
