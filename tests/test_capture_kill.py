"""Crash safety: a real ``poolscope capture`` killed with SIGKILL loses no record it reported."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
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


WRITER = r"""
import os, sys
import numpy as np
from datetime import datetime, timezone
from analyzer.live.capture.capturelog import CaptureWriter
from parsers import RowTable, Snapshot

def snap(n, width):
    tags = [f"{i:08d}" + "x" * width for i in range(n)]
    rows = RowTable.from_columns(tags, np.zeros(n, dtype=np.uint8), outstanding=np.arange(n, dtype=np.int64),
                                 bytes=np.arange(n, dtype=np.int64) * 64)
    return Snapshot("big", 0, "capture", rows, timestamp=datetime.now(timezone.utc))

def announce(fd, data):
    if len(data) > 1 << 20:
        print(f"writing {len(data)}", flush=True)
    return os.write(fd, data)

with CaptureWriter(sys.argv[1], {"host": "t", "os": "t", "backend": "test"}, write=announce) as w:
    for k in range(3):
        w.append(snap(50, 4))
        print(f"record {k + 1}", flush=True)
    w.append(snap(100_000, 600))  # about 60 MB in one write: the kernel stops it when the kill lands
    print("record 4", flush=True)
"""


def test_sigkill_inside_a_large_write_leaves_a_torn_tail_that_is_reported_and_repaired(tmp_path: Path) -> None:
    from analyzer.live.capture.capturelog import CaptureWriter

    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    torn = 0
    for attempt in range(5):
        log = tmp_path / f"big{attempt}.pslog"
        proc = subprocess.Popen([sys.executable, str(script), str(log)], stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        reported = 0
        for line in proc.stdout:
            if line.startswith("record "):
                reported = int(line.split()[1])
            if line.startswith("writing "):
                time.sleep(0.005)
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(30)
        assert reported == 3
        result = parse([log])
        assert len(result.snapshots) >= 3  # nothing reported is lost, whatever the kill cut
        if len(result.snapshots) == 3:
            torn += 1
            assert len(result.warnings) == 1
            assert "torn record at the end of the log" in result.warnings[0].message
            assert result.warnings[0].message.endswith("3 complete records read")
            # The next capture into the same log cuts the torn tail and appends after record 3.
            notes: list[str] = []
            later = result.snapshots[-1]
            later.timestamp = datetime.now(timezone.utc)
            with CaptureWriter(log, {"host": "t"}, warn=notes.append) as w:
                w.append(later)
            assert len(notes) == 1 and "removed a torn record of" in notes[0]
            again = parse([log])
            assert again.warnings == []
            assert [s.extra["seq"] for s in again.snapshots] == [0, 1, 2, 3]
            break
    assert torn, "five kills all landed after the 60 MB write had finished"
