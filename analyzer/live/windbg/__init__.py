"""Debugger helpers: the pykd script that runs inside WinDbg and the cdb runner for dumps."""

from __future__ import annotations

from pathlib import Path

#: Where the pykd helper is installed (it ships inside the package).
HELPER_PATH = Path(__file__).resolve().parent / "poolscope_pykd.py"
