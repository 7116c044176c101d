"""Archive bombs against the real command line: 2 GiB of spaces as one zip member and as gzip.

Each bomb is built in a few seconds without inflating it (a deflate block of 64 MiB of spaces,
ended by a full flush, compresses to the same bytes every time, so the stream is that block
repeated), then ``poolscope parse`` and ``poolscope report`` run on it in a subprocess; the
script prints exit status, the error line, wall time and the child's peak RSS.

    python bench/archive_bombs.py            # 2 GiB bombs (the issue's figure)
    python bench/archive_bombs.py --gib 4    # bigger (zip needs zip64 past 4 GiB: not built here)

Target (issue 13): refused in < 2 s with < 200 MB RSS.  Wall time includes interpreter start-up and
waiting for a busy CPU; CPU time is what the refusal costs.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

BLOCK = 64 * 1024 * 1024


def _deflate_spaces(total: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``total`` spaces and its CRC-32, built from one compressed block."""
    block = b" " * BLOCK
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    second = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    assert first == second, "full-flushed blocks differ; cannot repeat them"
    count = total // BLOCK
    stream = first * count + comp.flush()
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    return stream, crc


def gzip_bomb(path: Path, total: int) -> None:
    stream, crc = _deflate_spaces(total)
    header = b"\x1f\x8b\x08\x00" + b"\x00\x00\x00\x00" + b"\x02\xff"
    path.write_bytes(header + stream + struct.pack("<II", crc, total & 0xFFFFFFFF))


def zip_bomb(path: Path, total: int, member: str = "spaces.log") -> None:
    if total >= 2**32:
        raise SystemExit("zip bombs past 4 GiB need zip64 records; use --gib 2 or 3")
    stream, crc = _deflate_spaces(total)
    name = member.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5B21, crc, len(stream), total, len(name), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x5B21, crc, len(stream), total,
                          len(name), 0, 0, 0, 0, 0, 0)
    offset = len(local) + len(name) + len(stream)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), offset, 0)
    path.write_bytes(local + name + stream + central + name + end)


def run(args: list[str]) -> tuple[int, str, float, float, float]:
    """(exit status, last stderr line, wall seconds, CPU seconds, peak RSS in MB) of ``poolscope ARGS``."""
    exe = Path(sys.executable).with_name("poolscope")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "analyzer.cli"]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([*cmd, *args], stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    cpu = usage.ru_utime + usage.ru_stime
    return os.waitstatus_to_exitcode(status), (lines[-1] if lines else ""), wall, cpu, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=int, default=2, help="inflated size of each bomb in GiB")
    ns = ap.parse_args()
    total = ns.gib * 1024**3
    with tempfile.TemporaryDirectory() as tmp:
        bombs = [Path(tmp) / "spaces.zip", Path(tmp) / "spaces.log.gz"]
        t0 = time.perf_counter()
        zip_bomb(bombs[0], total)
        gzip_bomb(bombs[1], total)
        print(f"built two {ns.gib} GiB bombs in {time.perf_counter() - t0:.1f} s: "
              + ", ".join(f"{b.name} {b.stat().st_size / 1024:.0f} KiB" for b in bombs))
        print(f"{'command':28} {'exit':>4} {'wall s':>7} {'CPU s':>6} {'RSS MB':>7}  message")
        for bomb in bombs:
            for command in (["parse"], ["report"]):
                code, line, wall, cpu, rss = run([*command, str(bomb)])
                shown = line.replace(str(bomb), bomb.name)
                print(f"{' '.join([*command, bomb.name]):28} {code:>4} {wall:7.2f} {cpu:6.2f} {rss:7.1f}  {shown}")


if __name__ == "__main__":
    main()
