"""Benchmark: `poolscope tags scan` over a folder of 200 driver binaries of about 1 MB each.

The binaries are real compiler output: a generated driver-shaped C file (thousands of
small functions, one in eight calling a pool routine with its own tag) compiled with
mingw-w64 for x64 (`-O2`) and x86 (`-O0`), then copied 100 times each with a few bytes of
the tail varied, so every file is read and parsed on its own.

    .venv/bin/python bench/scan_bench.py [--files 200] [--keep DIR]

Prints the size of the folder, the call sites found per binary, and the wall time of
`poolscope tags scan FOLDER` (every tag) and `... --tag Bnch --tag Qzqz` (one tag every file allocates
with, one no file holds) run as a user would.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from scan_helpers import FIXTURES, IMAGE_BASE, TOOLCHAINS, _import_libs, missing_toolchain  # noqa: E402

TARGET_BYTES = 1 << 20


def generate_source(functions: int, seed: int) -> str:
    """A driver-shaped C file: mixing functions, and every eighth function allocating or freeing."""
    rnd = random.Random(seed)
    out = ['#include "ntmini.h"', ""]
    tags = []
    for i in range(functions):
        if i % 8 == 0:
            tag = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") for _ in range(4))
            if i == 0:
                tag = "Bnch"  # a known tag for the --tag run
            tags.append(tag)
            t = ", ".join(f"'{c}'" for c in tag)
            kind = (i // 8) % 3
            if kind == 0:
                body = f"return ExAllocatePoolWithTag(PagedPool, n * {i % 97 + 1} + {i}, TAG({t}));"
            elif kind == 1:
                body = f"return ExAllocatePool2(POOL_FLAG_NON_PAGED, n + {i}, TAG({t}));"
            else:
                body = f"ExFreePoolWithTag((PVOID)n, TAG({t})); return (PVOID)(n ^ {i});"
            out.append(f"__attribute__((noinline)) PVOID f{i}(SIZE_T n) {{ {body} }}")
        else:
            a, b, c = rnd.randrange(1, 1 << 30), rnd.randrange(1, 31), rnd.randrange(1, 1 << 20)
            out.append(
                f"__attribute__((noinline)) PVOID f{i}(SIZE_T n) {{ SIZE_T x = n * {a}u + {c}; "
                f"for (int k = 0; k < (int)(n & 7); k++) {{ x = (x << {b % 13 + 1}) ^ (x >> {b}) ^ (k * {c}u); "
                f"if (x & {1 << (b % 16)}) x += {a % 1000}; }} return (PVOID)(x ^ {i}); }}"
            )
    calls = " ".join(f"s += (SIZE_T)f{i}(s);" for i in range(functions))
    out.append(f"NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) {{ SIZE_T s = (SIZE_T)r; "
               f"(void)d; {calls} return (NTSTATUS)s; }}")
    return "\n".join(out) + "\n"


def build(arch: str, opt: str, work: Path) -> Path:
    """Compile a generated driver of about 1 MB: one small calibration build, then the real one."""
    gcc, _, entry = TOOLCHAINS[arch]
    libs = _import_libs(arch, work)
    shutil.copy(FIXTURES / "ntmini.h", work / "ntmini.h")

    def compile_with(functions: int) -> Path:
        src = work / f"bench-{arch}.c"
        src.write_text(generate_source(functions, seed=functions))
        target = work / f"bench-{arch}.sys"
        subprocess.run(
            [gcc, opt, "-w", "-ffreestanding", "-nostdlib", "-shared", "-Wl,--subsystem,native",
             f"-Wl,--image-base,{IMAGE_BASE[arch]}", "-e", entry, "-o", str(target), str(src), *map(str, libs)],
            check=True,
        )
        return target

    small = 400
    per_function = compile_with(small).stat().st_size / small
    return compile_with(int(TARGET_BYTES / per_function * 1.02))


def scan_only(folder: Path, args: argparse.Namespace) -> int:
    """Time `poolscope tags scan` on the folder as a user runs it (wall and CPU seconds)."""
    exe = Path(sys.executable).with_name("poolscope")
    jobs = [] if args.jobs is None else ["--jobs", str(args.jobs)]
    for label, extra in (("every call-site tag", []), ("--tag Bnch --tag Qzqz", ["--tag", "Bnch", "--tag", "Qzqz"])):
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run([str(exe), "tags", "scan", str(folder), "--format", "csv", *jobs, *extra],
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rows = max(0, len(done.stdout.splitlines()) - 1)
        print(f"poolscope tags scan ({label}{', --jobs ' + str(args.jobs) if jobs else ''}): "
              f"{elapsed:.1f} s wall, {cpu:.1f} s CPU, {rows} findings, exit {done.returncode} "
              f"(load average {load:.1f} when started)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None, help="Build the folder here and keep it.")
    parser.add_argument("--jobs", type=int, default=None, help="Passed to tags scan --jobs.")
    parser.add_argument("--reuse", action="store_true", help="Scan the --keep folder as it is.")
    args = parser.parse_args()
    reason = missing_toolchain()
    if reason:
        print(f"skipped: {reason}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="scanbench-"))
    folder = args.keep or work / "drivers"
    folder.mkdir(parents=True, exist_ok=True)
    if args.reuse and args.keep is not None:
        return scan_only(folder, args)
    t0 = time.perf_counter()
    sources = [build("x64", "-O2", work), build("x86", "-O0", work)]
    build_s = time.perf_counter() - t0
    total = 0
    for n in range(args.files):
        data = bytearray(sources[n % 2].read_bytes())
        data[-8:] = n.to_bytes(8, "little")  # trailing padding: every file differs
        path = folder / f"sub{n % 10}" / f"drv{n:03}.sys"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(bytes(data))
        total += len(data)
    sys.path.insert(0, str(REPO))
    from analyzer.owners.scan import scan_paths

    per_file = {p.name: len(scan_paths([p])) for p in sources}
    expected = {p.name: sum(1 for line in p.with_suffix(".c").read_text().splitlines() if "TAG(" in line)
                for p in sources}
    print(f"built 2 generated drivers in {build_s:.1f} s: "
          + ", ".join(f"{name} {p.stat().st_size / 1e6:.2f} MB, {per_file[name]} call-site tags "
                      f"of {expected[name]} in the source"
                      for name, p in ((p.name, p) for p in sources)))
    print(f"folder: {args.files} files, {total / 1e6:.1f} MB")
    scan_only(folder, args)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
