"""The capture facade: backend choice, unsupported platforms, the poolmon.exe fallback, the CLI edges."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from capture_helpers import slabinfo_readable
from click.testing import CliRunner

from analyzer.cli import cli
from analyzer.live import capture
from analyzer.live.capture import _ntdecode as nt
from parsers import Row, RowTable, Snapshot, parse
from parsers.errors import PoolscopeError, UnsupportedPlatform

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
POOLSNAP = SAMPLES / "poolsnap" / "poolsnap_20261121_140324.log"


@pytest.fixture
def no_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "sunos5")
    monkeypatch.setenv("PATH", "/nonexistent")
    capture._auto_order.cache_clear()
    yield
    capture._auto_order.cache_clear()


def test_unsupported_platform_fails_on_call_not_import(no_backend: None) -> None:
    assert capture.backend_name() is None
    with pytest.raises(UnsupportedPlatform, match=r"^live capture is not available on .*: it needs Windows"):
        capture.snapshot()


def test_unsupported_platform_is_one_line_exit_2(no_backend: None, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["capture", "--count", "1", "-o", str(tmp_path / "x.pslog")])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: live capture is not available on ")


def test_explicit_source_without_its_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(UnsupportedPlatform, match=r"--source windows needs Windows"):
        capture.snapshot("windows")


def test_capture_needs_an_output_or_a_command() -> None:
    res = CliRunner().invoke(cli, ["capture", "--count", "1"])
    assert res.exit_code == 2
    assert "capture needs -o FILE to write the log to (or --run COMMAND)" in res.output


def test_bad_session_value() -> None:
    res = CliRunner().invoke(cli, ["capture", "--count", "1", "-o", "x", "--session", "two"])
    assert res.exit_code == 2
    assert "expected a session number or 'all'" in res.output


# -- the poolmon.exe fallback, with a stand-in executable on PATH ---------------------------------

STAND_IN = """#!{python}
import shutil, sys
args = sys.argv[1:]
open({argfile!r}, "a").write(" ".join(args) + "\\n")
if {fail!r}:
    print("PoolMon: access is denied", file=sys.stderr)
    sys.exit(5)
shutil.copyfile({sample!r}, args[args.index("-n") + 1])
"""


def install_poolmon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool = False,
                    name: str = "poolmon") -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    argfile = tmp_path / "args.txt"
    exe = bindir / name
    exe.write_text(STAND_IN.format(python=sys.executable, argfile=str(argfile), fail=fail, sample=str(POOLSNAP)))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return argfile


def test_poolmon_source_runs_poolmon_and_reads_its_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argfile = install_poolmon(tmp_path, monkeypatch)
    assert "poolmon" in capture.available_sources()
    snap = capture.snapshot("poolmon")
    expected = parse([POOLSNAP]).snapshots[-1]
    assert snap.rows == expected.rows
    assert snap.totals == expected.totals
    assert snap.format == "capture"
    assert snap.extra["backend"] == "poolmon"
    assert snap.timestamp is not None and snap.timestamp.tzinfo is not None
    assert re.fullmatch(r"-n \S+poolscope-\S+\.log\n", argfile.read_text())
    capture.snapshot("poolmon", session="3")
    assert argfile.read_text().splitlines()[1].startswith("/s3 -n ")


def test_poolmon_failure_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_poolmon(tmp_path, monkeypatch, fail=True)
    res = CliRunner().invoke(cli, ["capture", "--source", "poolmon", "--count", "1", "-o", str(tmp_path / "p.pslog")])
    assert res.exit_code == 2
    assert res.output.strip().endswith("-n failed: PoolMon: access is denied")


def test_poolmon_capture_log_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_poolmon(tmp_path, monkeypatch)
    log = tmp_path / "p.pslog"
    res = CliRunner().invoke(cli, ["capture", "--source", "poolmon", "--count", "2", "--interval", "0.1s",
                                   "-o", str(log)])
    assert res.exit_code == 0, res.output
    snaps = parse([log]).snapshots
    assert len(snaps) == 2
    assert snaps[1].rows == parse([POOLSNAP]).snapshots[-1].rows


def test_refused_nt_call_falls_back_to_poolmon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_poolmon(tmp_path, monkeypatch, name="poolmon.exe")
    from analyzer.live.capture import _windows

    def refuse(session: str | None = None) -> Snapshot:
        raise nt.NtStatusError(22, nt.STATUS_ACCESS_DENIED)

    # Windows as far as the backend choice goes (decided once, then cached); the rest stays real.
    capture._auto_order.cache_clear()
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", "win32")
        assert capture._auto_order() == ("windows", "poolmon")
    monkeypatch.setattr(_windows, "available", lambda: True)
    monkeypatch.setattr(_windows, "snapshot", refuse)
    try:
        snap = capture.snapshot()
    finally:
        capture._auto_order.cache_clear()
    assert snap.extra["backend"] == "poolmon"


# -- scheduling -----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, cost: float = 0.0) -> None:
        self.now = 100.0
        self.cost = cost
        self.shots: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s

    def take(self) -> Snapshot:
        self.shots.append(self.now)
        self.now += self.cost
        return Snapshot("fake", 0, "capture", RowTable.from_rows([Row("Abcd", "paged", bytes=1)]))


def test_snapshots_are_due_on_a_fixed_grid() -> None:
    fc = FakeClock(cost=0.3)
    s = capture.run_capture(None, interval=1.0, count=4, take=fc.take, sleep=fc.sleep, clock=fc.clock)
    assert s.records == 4
    assert fc.shots == [100.0, 101.0, 102.0, 103.0]


def test_a_slow_snapshot_skips_missed_slots() -> None:
    fc = FakeClock(cost=2.5)
    capture.run_capture(None, interval=1.0, count=3, take=fc.take, sleep=fc.sleep, clock=fc.clock)
    assert fc.shots == [100.0, 103.0, 106.0]


def test_duration_includes_both_ends() -> None:
    fc = FakeClock()
    s = capture.run_capture(None, interval=5.0, duration=20.0, take=fc.take, sleep=fc.sleep, clock=fc.clock,
                            keep=True)
    assert fc.shots == [100.0, 105.0, 110.0, 115.0, 120.0]
    assert [x.index for x in s.snapshots] == [0, 1, 2, 3, 4]


# -- the real Linux backend -----------------------------------------------------------------------

readable, why = slabinfo_readable()


@pytest.mark.linux_kernel
@pytest.mark.skipif(not readable, reason=why)
def test_linux_snapshot_is_this_machine() -> None:
    assert capture.backend_name() == "slabinfo"
    snap = capture.snapshot()
    assert snap.extra["backend"] == "slabinfo"
    assert snap.timestamp is not None and snap.timestamp.tzinfo is not None
    assert len(snap.rows) > 20
    assert snap.rows.get("kmem_cache", "nonpaged") is not None
    assert snap.totals["nonpaged_kb"] > 0  # /proc/meminfo Slab:
    with pytest.raises(UnsupportedPlatform, match="session pools exist only on Windows"):
        capture.snapshot(session="1")


@pytest.mark.linux_kernel
@pytest.mark.skipif(not readable, reason=why)
def test_capture_cli_progress_lines_and_summary(tmp_path: Path) -> None:
    log = tmp_path / "c.pslog"
    res = CliRunner().invoke(cli, ["capture", "--count", "2", "--interval", "0.1s", "-o", str(log)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert re.fullmatch(rf"record 1 -> {re.escape(str(log))} \(\d+ rows, \d{{4}}-\d\d-\d\dT[\d:]+[+-]\d\d:\d\d\)",
                        lines[0])
    assert lines[1].startswith("record 2 -> ")
    assert lines[2] == f"captured 2 snapshots (slabinfo) into {log}"
    res = CliRunner().invoke(cli, ["capture", "--count", "1", "-q", "-o", str(log)])
    assert res.exit_code == 0
    assert res.output == ""
    assert len(parse([log]).snapshots) == 3


def test_unsupported_platform_leaves_no_empty_log(no_backend: None, tmp_path: Path) -> None:
    log = tmp_path / "x.pslog"
    CliRunner().invoke(cli, ["capture", "--count", "1", "-o", str(log)])
    assert not log.exists()


@pytest.mark.linux_kernel
@pytest.mark.skipif(not readable or not os.path.exists("/dev/full"), reason=why or "needs /dev/full")
def test_full_disk_is_one_line_exit_2() -> None:
    res = CliRunner().invoke(cli, ["capture", "--count", "3", "--interval", "0.1s", "-q", "-o", "/dev/full"])
    assert res.exit_code == 2
    assert res.output == (
        "Error: /dev/full: disk full (ENOSPC) writing record 1; capture stopped, "
        "the 0 complete records before it are kept\n"
    )


def test_a_command_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    fc = FakeClock()
    with pytest.raises(PoolscopeError, match=r"cannot run \['/nonexistent/tool'\]"):
        capture.capture_around(["/nonexistent/tool"], take=fc.take, interval=0.1, settle=0)


@pytest.mark.parametrize(("where", "message"), [
    ("missing", "does not exist (kernel without slab statistics)"),
    ("folder", "cannot read it: Is a directory"),
])
def test_linux_backend_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str,
                                           message: str) -> None:
    from analyzer.live.capture import _linux

    target = tmp_path / "slabinfo"
    if where == "folder":
        target.mkdir()
    monkeypatch.setattr(_linux, "SLABINFO", target)
    with pytest.raises(UnsupportedPlatform) as info:
        _linux.snapshot()
    assert str(info.value) == f"{target}: {message}" or str(info.value) == f"{target} {message}"


@pytest.mark.linux_kernel
@pytest.mark.skipif(not readable, reason=why)
def test_capture_to_stdout_streams_the_log() -> None:
    from capture_helpers import poolscope_cmd

    from parsers import parse_text

    res = subprocess.run([*poolscope_cmd(), "capture", "--count", "2", "--interval", "0.1s", "-q", "-o", "-"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    result = parse_text(res.stdout, "<stdout>")
    assert [s.format for s in result.snapshots] == ["capture", "capture"]
    assert result.warnings == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_capture_into_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the far end of the pipe, open first
    try:
        fc = FakeClock()
        capture.run_capture(fifo, interval=1.0, count=2, take=fc.take, sleep=fc.sleep, clock=fc.clock)
        out = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    from parsers import parse_text

    assert len(parse_text(out.decode(), "<fifo>").snapshots) == 2


def test_capture_around_library_call_and_analysis() -> None:
    n = {"i": 0}

    def take() -> Snapshot:
        i = n["i"]
        n["i"] += 1
        return Snapshot("fake", 0, "capture", RowTable.from_rows([
            Row("Abcd", "nonpaged", outstanding=10 + 100 * i, bytes=640 * (10 + 100 * i)),
            Row("Same", "paged", outstanding=5, bytes=320),
        ]), timestamp=datetime(2026, 11, 21, tzinfo=timezone.utc) + timedelta(seconds=i))

    result = capture.capture_around([sys.executable, "-c", "import time; time.sleep(0.3)"], take=take,
                                    interval=0.05, settle=0.1)
    assert result.returncode == 0
    assert len(result.snapshots) >= 5
    assert [s.index for s in result.snapshots] == list(range(len(result.snapshots)))
    found = result.analyze()
    assert [(r.tag, r.status) for r in found.diff.rows] == [("Abcd", "changed")]
    assert {r.tag for r in found.full_diff.rows} == {"Abcd", "Same"}
    verdicts = {r.tag: r.verdict for r in found.trend.rows}
    assert verdicts == {"Abcd": "leak", "Same": "stable"}
