"""A real kernel-side leak on this machine, caught by ``capture`` + ``trend`` and by ``capture --run``.

The helper (tests/capture_helpers.py) opens and holds Unix socket pairs, so the
``sock_inode_cache`` slab cache grows by two objects per pair while caches the
helper never touches stay flat.  Runs wherever /proc/slabinfo is readable (CI
runs as root); skipped elsewhere.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from capture_helpers import (
    LEAK_CACHE,
    kernel_leak_lock,
    leak_cmd,
    poolscope_cmd,
    slabinfo_readable,
    stop_holder,
    wait_slab_quiet,
)

readable, why = slabinfo_readable()
pytestmark = [pytest.mark.linux_kernel, pytest.mark.slow, pytest.mark.skipif(not readable, reason=why)]

#: Caches neither the helper nor other tests running alongside touch in a sustained way.
UNTOUCHED = ("bdev_cache", "mnt_cache", "kmem_cache", "uts_namespace")


@pytest.fixture
def alone() -> Iterator[None]:
    """Serialise the tests that grow sock_inode_cache, and start each on a quiet cache."""
    with kernel_leak_lock():
        yield


def _verdicts(payload: dict) -> dict[str, str]:
    return {row["tag"]: row["verdict"] for row in payload["rows"] if row["pool"] == "nonpaged"}


def test_trend_names_the_leaking_slab_cache(tmp_path: Path, alone: None) -> None:
    log = tmp_path / "leak.pslog"
    cap = subprocess.Popen(
        [*poolscope_cmd(), "capture", "--interval", "0.5s", "--count", "16", "-q", "-o", str(log)],
        stderr=subprocess.PIPE, text=True,
    )
    time.sleep(1.0)  # two quiet snapshots first, so growth has a start
    helper = subprocess.Popen(leak_cmd(3000, 5.0, "--hold", "60"), stdout=subprocess.DEVNULL)
    try:
        _out, err = cap.communicate(timeout=120)
    finally:
        helper.send_signal(signal.SIGTERM)
        helper.wait(10)
        wait_slab_quiet()
    assert cap.returncode == 0, err
    def trend(*extra: str) -> dict[str, str]:
        run = subprocess.run([*poolscope_cmd(), "trend", str(log), "--all", "--format", "json", *extra],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return _verdicts(json.loads(run.stdout))

    # `trend` keeps "leak" for windows of 10 minutes or more: eight seconds earn "suspect" ...
    default = trend()
    assert len(default) > 50  # every cache of the machine is a series
    assert default[LEAK_CACHE] == "suspect"
    # ... and the same statistics over a short test window (--min-span 0) call it a leak.
    verdicts = trend("--min-span", "0")
    assert verdicts[LEAK_CACHE] == "leak"
    present = [c for c in UNTOUCHED if c in verdicts]
    assert present, f"none of {UNTOUCHED} exists on this kernel"
    for cache in present:
        assert verdicts[cache] == "stable", cache
    stable = sum(1 for v in verdicts.values() if v == "stable")
    assert stable >= 0.8 * len(verdicts), f"only {stable} of {len(verdicts)} caches stable"


def test_capture_run_reports_the_leaking_cache(tmp_path: Path, alone: None) -> None:
    pidfile = tmp_path / "holder.pid"
    command = " ".join(leak_cmd(2500, 4.0, "--linger", "90", "--pidfile", str(pidfile)))
    try:
        run = subprocess.run(
            [*poolscope_cmd(), "capture", "--run", command, "--interval", "0.5s", "--settle", "1.5s",
             "-q", "--format", "json", "-o", str(tmp_path / "run.pslog")],
            capture_output=True, text=True, timeout=180,
        )
    finally:
        if pidfile.exists():
            stop_holder(int(pidfile.read_text()))
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["exit_status"] == 0
    assert out["snapshots"] >= 8
    grown = {r["tag"]: r for r in out["diff"]["rows"]}
    # 2500 pairs: two socket inodes each, 832 bytes apiece on this kernel.
    assert grown[LEAK_CACHE]["outstanding_change"] >= 4500
    assert grown[LEAK_CACHE]["status"] == "changed"
    assert _verdicts(out["trend"])[LEAK_CACHE] == "leak"


def test_capture_run_keeps_the_command_exit_status_and_prints_tables(tmp_path: Path) -> None:
    run = subprocess.run(
        [*poolscope_cmd(), "capture", "--run", "exit 3", "--interval", "0.2s", "--settle", "0.3s", "-q"],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 3, run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("command exited with status 3; ")
    assert "\nbefore -> after\n" in run.stdout
    assert "\ntrend\n" in run.stdout


def test_capture_run_gate_trips_on_growth(tmp_path: Path, alone: None) -> None:
    pidfile = tmp_path / "holder.pid"
    command = " ".join(leak_cmd(1500, 1.0, "--linger", "60", "--pidfile", str(pidfile)))
    try:
        run = subprocess.run(
            [*poolscope_cmd(), "capture", "--run", command, "--interval", "0.5s", "--settle", "0.5s", "-q",
             "--format", "json", "--fail-on-growth", "256K"],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        if pidfile.exists():
            stop_holder(int(pidfile.read_text()))
    assert run.returncode == 1, run.stderr
    assert "held by pid" in run.stderr  # the command's own output went to stderr, keeping stdout JSON
    assert json.loads(run.stdout)["exit_status"] == 0
    assert "gate tripped:" in run.stderr
    assert LEAK_CACHE in run.stderr
