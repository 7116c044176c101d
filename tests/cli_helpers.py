"""Run the installed ``poolscope`` as a user would, with a reproducible environment."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
EXE = Path(sys.executable).with_name("poolscope")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def clean_env(tmp: Path | None = None) -> dict[str, str]:
    """No user tag files, no colour, a fixed width: output depends on the arguments only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POOLSCOPE_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "120", "PYTHONIOENCODING": "utf-8", "TZ": "UTC"})
    env["POOLSCOPE_DATA_DIR"] = str(tmp or (REPO / "tests" / ".no-user-data"))
    return env


def poolscope(*args: str, stdin: bytes | None = None, cwd: Path = REPO, tmp: Path | None = None) -> Run:
    """``poolscope ARGS`` in a subprocess (so a traceback would really reach stderr)."""
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "analyzer.cli"]
    done = subprocess.run(
        [*cmd, *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=clean_env(tmp),
        timeout=300,
    )
    return Run(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))
