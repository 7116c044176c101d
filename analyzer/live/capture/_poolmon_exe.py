"""Windows fallback: run ``poolmon.exe -n FILE`` and read the snapshot file with the PoolMon parser.

Used when ``NtQuerySystemInformation`` is refused (policy, sandbox) or with
``--source poolmon``.  PoolMon comes with the WDK; it must be on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from parsers.errors import InputError, PoolscopeError, UnsupportedPlatform
from parsers.model import Snapshot

NAME = "poolmon"
TIMEOUT_SECONDS = 60


def executable() -> str | None:
    return shutil.which("poolmon.exe") or shutil.which("poolmon")


def available() -> bool:
    return executable() is not None


def snapshot(session: str | None = None) -> Snapshot:
    exe = executable()
    if exe is None:
        raise UnsupportedPlatform("poolmon.exe is not on PATH (it comes with the Windows Driver Kit)")
    args = [exe]
    if session is not None:
        # poolmon /s shows all session pools, /sN one session.
        args.append("/s" if session == "all" else f"/s{session}")
    fd, tmp = tempfile.mkstemp(prefix="poolscope-", suffix=".log")
    os.close(fd)
    try:
        args += ["-n", tmp]
        try:
            proc = subprocess.run(args, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise PoolscopeError(f"{exe} did not finish within {TIMEOUT_SECONDS} s") from None
        data = Path(tmp).read_bytes()
        if proc.returncode != 0 or not data.strip():
            err = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip().splitlines()
            why = err[-1] if err else f"exit status {proc.returncode}, empty snapshot file"
            raise PoolscopeError(f"{exe} -n failed: {why}")
        return _read(data, exe)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read(data: bytes, exe: str) -> Snapshot:
    from parsers import parse_sources
    from parsers.textio import decode_bytes, text_source

    text, _enc = decode_bytes(data, exe)
    try:
        result = parse_sources([text_source(text, f"{Path(exe).name} -n")], input_format="poolmon")
    except InputError as exc:
        raise PoolscopeError(f"could not read {Path(exe).name} output: {exc}") from exc
    if not result.snapshots:
        raise PoolscopeError(f"{Path(exe).name} wrote no snapshot")
    return result.snapshots[-1]
