"""Crash safety: a real ``poolscope capture`` killed with SIGKILL loses no record it reported."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from capture_helpers import poolscope_cmd, slabinfo_readable

from parsers import parse

readable, why = slabinfo_readable()
pytestmark = [
    pytest.mark.linux_kernel,
    pytest.mark.skipif(not readable, reason=why),
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

_RECORD = re.compile(r"^record (\d+) -> ")


def capture_then_kill(log: Path, after: int, delay: float) -> tuple[int, str]:
    """Run an endless capture, SIGKILL it once it reported ``after`` records (+ ``delay``); return the count."""
    proc = subprocess.Popen(
        [*poolscope_cmd(), "capture", "--interval", "0.05s", "-o", str(log)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    reported = 0
    lines: list[str] = []
    enough = threading.Event()

    def read() -> None:
        nonlocal reported
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            m = _RECORD.match(line)
            if m:
                reported = max(reported, int(m.group(1)))
                if reported >= after:
                    enough.set()
        enough.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert enough.wait(60), "capture reported nothing within 60 s"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    reader.join(10)  # every line the process wrote before dying is still in the pipe
    assert proc.returncode == -signal.SIGKILL, "".join(lines)
    return reported, "".join(lines)


def test_sigkill_mid_run_loses_no_reported_record(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    total_reported = 0
    # Three runs appending to one log, killed at different moments: each restart must repair
    # whatever the previous kill left and keep every record it had reported.
    for after, delay in ((8, 0.0), (5, 0.013), (12, 0.031)):
        reported, err = capture_then_kill(log, after, delay)
        assert reported >= after
        total_reported += reported
        result = parse([log])
        got = len(result.snapshots)
        # Every reported record is there; at most one per run was complete but not yet reported.
        assert total_reported <= got <= total_reported + 3, err
        for w in result.warnings:
            assert "torn record at the end of the log" in w.message
        seqs = [s.extra["seq"] for s in result.snapshots]
        assert seqs == list(range(got)), "records out of sequence or missing"
        total_reported = got  # the next run numbers on from what is in the log
    assert total_reported >= 25
