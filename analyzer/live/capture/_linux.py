"""Linux backend: ``/proc/slabinfo`` plus ``/proc/meminfo``, read with the slabinfo parser."""

from __future__ import annotations

import sys
from pathlib import Path

from parsers.errors import UnsupportedPlatform
from parsers.model import Snapshot
from parsers.slabinfo import parse_live

NAME = "slabinfo"
SLABINFO = Path("/proc/slabinfo")
MEMINFO = Path("/proc/meminfo")


def available() -> bool:
    return sys.platform.startswith("linux") and SLABINFO.exists()


def readable() -> tuple[bool, str]:
    """Whether a capture can run now, and why not (slabinfo is root-only on modern kernels)."""
    try:
        with SLABINFO.open("rb") as fh:
            fh.read(1)
    except FileNotFoundError:
        return False, f"{SLABINFO} does not exist (kernel without slab statistics)"
    except PermissionError:
        return False, f"{SLABINFO} is readable by root only on this kernel: run as root (sudo)"
    except OSError as exc:
        return False, f"{SLABINFO}: {exc.strerror}"
    return True, ""


def snapshot(session: str | None = None) -> Snapshot:
    if session is not None:
        raise UnsupportedPlatform("--session: session pools exist only on Windows (Terminal Services)")
    try:
        # /proc files report size 0: read them whole in one call each, never by stat'ed size.
        slab = SLABINFO.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise UnsupportedPlatform(f"{SLABINFO} does not exist (kernel without slab statistics)") from None
    except PermissionError:
        raise UnsupportedPlatform(
            f"{SLABINFO} is readable by root only on this kernel: run the capture as root (sudo)"
        ) from None
    except OSError as exc:
        raise UnsupportedPlatform(f"{SLABINFO}: cannot read it: {exc.strerror or exc}") from None
    try:
        mem = MEMINFO.read_text(encoding="ascii", errors="replace")
    except OSError:
        mem = ""
    snaps, _diag = parse_live(slab, mem, str(SLABINFO))
    snap = snaps[0]
    snap.extra.pop("mtime", None)
    return snap
