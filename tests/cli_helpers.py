"""Run the installed ``poolscope`` as a user would, with a reproducible environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
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


#: Checkouts set file times to "now"; samples whose time comes from their mtime get this one.
FIXED_MTIME = datetime(2026, 11, 21, 12, 0, 0)


def fixed_sample_tree(root: Path) -> Path:
    """Copy samples/ under ``root`` with every file time set to FIXED_MTIME; returns ``root``."""
    shutil.copytree(SAMPLES, root / "samples")
    stamp = FIXED_MTIME.timestamp()
    for path in (root / "samples").rglob("*"):
        os.utime(path, (stamp, stamp))
    return root


def invoke(tree: Path, *args: str, stdin: str | bytes | None = None) -> Run:
    """``poolscope ARGS`` in-process (click's runner) with ``tree`` as the working folder."""
    from click.testing import CliRunner

    from analyzer.cli import cli

    env = {"POOLSCOPE_DATA_DIR": str(tree / "no-user-data"), "POOLSCOPE_TAGS": "", "NO_COLOR": "1",
           "COLUMNS": "120"}
    old = Path.cwd()
    os.chdir(tree)
    try:
        result = CliRunner().invoke(cli, list(args), input=stdin, env=env, prog_name="poolscope")
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def _is_input(path: Path) -> bool:
    """Pool data, as opposed to the README, scripts and owner databases (pooltag.txt / localtag.txt)."""
    name = path.name.lower()
    if name.startswith((".", "_")) or name == "readme.md" or name.endswith((".py", ".pyc", ".md")):
        return False
    return not name.startswith(("pooltag", "localtag"))


def sample_inputs() -> list[str]:
    """Every sample as the user would name it: files, and the poolsnap folder as one input."""
    out = []
    for path in sorted(SAMPLES.iterdir()):
        if not _is_input(path):
            continue
        out.append(f"samples/{path.name}")
    return out
