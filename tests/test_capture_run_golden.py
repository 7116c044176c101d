"""``capture --run`` end to end with exact output, over a stand-in ``poolmon`` that serves two saved snapshots."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from capture_helpers import poolscope_cmd

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden" / "capture"
FIRST, LAST = sorted((REPO / "samples" / "poolsnap").glob("*.log"))[::5]

STAND_IN = """#!{python}
import os, shutil, sys
state = {state!r}
n = int(open(state).read()) if os.path.exists(state) else 0
open(state, "w").write(str(n + 1))
args = sys.argv[1:]
shutil.copyfile({first!r} if n == 0 else {last!r}, args[args.index("-n") + 1])
"""

_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d)?")


def run_capture(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "poolmon"
    exe.write_text(STAND_IN.format(python=sys.executable, state=str(tmp_path / "n"), first=str(FIRST),
                                   last=str(LAST)))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "120",
           "POOLSCOPE_TAGS": ""}
    return subprocess.run([*poolscope_cmd(), "capture", "--source", "poolmon", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)


def normalise(text: str) -> str:
    text = _TIME.sub("TIME", text)
    text = re.sub(r"\b\d+s later\b", "Ns later", text)
    return re.sub(r"\(\d+s\)", "(Ns)", text)


def test_run_prints_diff_and_trend_exactly(tmp_path: Path) -> None:
    # Settle 0.3 s: the two snapshots are far enough apart for their times to count.
    res = run_capture(tmp_path, "--run", "true", "--settle", "0.3s", "-q", "--min-change", "16K")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    got = normalise(res.stdout)
    golden = GOLDEN / "run_poolmon.txt"
    if os.environ.get("POOLSCOPE_UPDATE_GOLDEN") == "1":  # rewrite after a deliberate change, then review
        golden.write_text(got)
    assert got == golden.read_text()


def test_run_gate_on_total_growth(tmp_path: Path) -> None:
    res = run_capture(tmp_path, "--run", "true", "--settle", "0s", "-q", "--fail-on-total", "1MB",
                      "--format", "json")
    assert res.returncode == 1
    assert res.stderr == "gate tripped: pools grew +5.6 MB in total, more than 1.0 MB\n"


def test_run_keeps_a_failing_exit_status_over_gates(tmp_path: Path) -> None:
    res = run_capture(tmp_path, "--run", "exit 7", "--settle", "0s", "-q", "--fail-on-growth", "1K")
    assert res.returncode == 7
