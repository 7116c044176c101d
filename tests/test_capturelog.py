"""The capture log: round trip, torn tails, appending, a full disk."""

from __future__ import annotations

import errno
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.live.capture.capturelog import CaptureLogError, CaptureWriter, encode_record
from parsers import Row, RowTable, Snapshot, parse
from parsers.errors import ParseError

META = {"host": "build7", "os": "Windows 10.0.19045 AMD64", "backend": "windows"}
T0 = datetime(2026, 11, 21, 14, 0, 0, tzinfo=timezone(timedelta(hours=1)))


def snap(i: int) -> Snapshot:
    rows = RowTable.from_rows([
        Row("Abcd", "nonpaged", allocs=1000 + 10 * i, frees=900, outstanding=100 + 10 * i, bytes=6400 + 640 * i),
        Row("Dh 2", "paged", allocs=50, frees=50, outstanding=0, bytes=0),
        Row("Io  ", "paged", outstanding=7, bytes=None, mapped_driver="[nt!io - I/O]"),
    ])
    return Snapshot("live:build7", i, "capture", rows, timestamp=T0 + timedelta(seconds=5 * i),
                    scope="system", totals={"nonpaged_kb": 310228 + i, "paged_kb": 402116})


def write(path: Path, n: int, first: int = 0, **kw: object) -> CaptureWriter:
    with CaptureWriter(path, META, **kw) as w:  # type: ignore[arg-type]
        for i in range(first, first + n):
            w.append(snap(i))
    return w


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    w = write(log, 3)
    assert w.records == 3
    result = parse([log])
    assert result.warnings == []
    assert result.sources[0].format == "capture"
    assert len(result.snapshots) == 3
    for i, got in enumerate(result.snapshots):
        want = snap(i)
        assert got.rows == want.rows
        assert got.timestamp == want.timestamp
        assert got.timestamp.utcoffset() == timedelta(hours=1)
        assert got.totals == want.totals
        assert got.scope == "system"
        assert got.format == "capture"
        assert got.extra["host"] == "build7"
        assert got.extra["backend"] == "windows"
        assert got.extra["seq"] == i
    io = result.snapshots[0].rows.get("Io  ", "paged")
    assert io is not None and io.bytes is None and io.allocs is None and io.mapped_driver == "[nt!io - I/O]"


def test_each_record_is_one_self_describing_line(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    write(log, 2)
    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b""
    head, first, second = (json.loads(x) for x in lines[:-1])
    assert head["poolscope_capture"] == 1
    for rec in (first, second):
        assert rec["record"] == "snapshot"
        assert (rec["host"], rec["os"], rec["backend"]) == ("build7", "Windows 10.0.19045 AMD64", "windows")
        assert rec["timestamp"].endswith("+01:00")
        assert rec["tags"] == ["Abcd", "Dh 2", "Io  "]
        assert rec["pools"] == "NPP"
        assert "allocs_change" not in rec  # an entirely unknown column is not written
    assert first["bytes"] == [6400, 0, None]


def test_torn_tail_is_a_warning_not_an_error(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    write(log, 3)
    data = log.read_bytes()
    cut = data[: len(data) - 40]  # kill -9 in the middle of the third record
    log.write_bytes(cut)
    result = parse([log])
    assert len(result.snapshots) == 2
    assert len(result.warnings) == 1
    msg = str(result.warnings[0])
    assert msg.startswith(f"{log}:4: torn record at the end of the log (")
    assert msg.endswith("the capture stopped mid-write); 2 complete records read")
    # Strict mode still reads a torn tail: it is the expected result of a crash, not bad input.
    assert len(parse([log], errors="raise").snapshots) == 2


def test_a_corrupt_record_mid_log_is_skipped_with_its_line(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    write(log, 3)
    lines = log.read_text().split("\n")
    lines[2] = lines[2][:50] + "#garbage#" + lines[2][60:]
    log.write_text("\n".join(lines))
    result = parse([log])
    assert [s.extra["seq"] for s in result.snapshots] == [0, 2]
    assert str(result.warnings[0]).startswith(f"{log}:3: 1 line skipped; first at {log}:3: unreadable capture record")
    with pytest.raises(ParseError, match=r"run.pslog:3: unreadable capture record"):
        parse([log], errors="raise")


def test_reopening_appends_and_numbers_on(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    write(log, 2)
    w = write(log, 2, first=2)
    assert (w.existing, w.records) == (2, 2)
    result = parse([log])
    assert result.warnings == []
    assert [s.extra["seq"] for s in result.snapshots] == [0, 1, 2, 3]
    assert log.read_text().count("poolscope_capture") == 1


def test_append_after_a_crash_cuts_the_torn_tail(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    write(log, 2)
    with log.open("ab") as fh:
        fh.write(encode_record(snap(2), 2, META)[:57])  # the third record, torn
    warnings: list[str] = []
    w = write(log, 1, first=3, warn=warnings.append)
    assert w.existing == 2
    assert len(warnings) == 1
    assert "removed a torn record of 57 bytes at the end" in warnings[0]
    result = parse([log])
    assert result.warnings == []
    assert [s.extra["seq"] for s in result.snapshots] == [0, 1, 2]


def test_append_completes_a_whole_record_missing_only_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    write(log, 1)
    with log.open("ab") as fh:
        fh.write(encode_record(snap(1), 1, META).rstrip(b"\n"))
    warnings: list[str] = []
    w = write(log, 1, first=2, warn=warnings.append)
    assert w.existing == 2
    assert warnings == [f"{log}: last record had no line end (capture stopped mid-write); completed it"]
    assert [s.extra["seq"] for s in parse([log]).snapshots] == [0, 1, 2]


def test_refuses_to_append_to_something_else(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("my notes\n")
    with pytest.raises(CaptureLogError, match="exists and is not a poolscope capture log"):
        CaptureWriter(other, META)
    assert other.read_text() == "my notes\n"


def test_disk_full_keeps_every_complete_record(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    state = {"writes": 0}

    def write_until_full(fd: int, data: bytes) -> int:
        state["writes"] += 1
        if state["writes"] == 4:  # header, record 1, record 2, then the disk is full mid-record 3
            os.write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)

    w = CaptureWriter(log, META, write=write_until_full)
    w.append(snap(0))
    w.append(snap(1))
    with pytest.raises(CaptureLogError) as info:
        w.append(snap(2))
    w.close()
    assert str(info.value) == (
        f"{log}: disk full (ENOSPC) writing record 3; capture stopped, the 2 complete records before it are kept"
    )
    result = parse([log])
    assert result.warnings == []  # the half record was cut away
    assert len(result.snapshots) == 2


def test_short_writes_are_completed(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"

    def dribble(fd: int, data: bytes) -> int:
        return os.write(fd, data[:100])

    write(log, 2, write=dribble)
    assert len(parse([log]).snapshots) == 2


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_real_enospc_from_the_kernel() -> None:
    with pytest.raises(CaptureLogError, match=r"/dev/full: disk full \(ENOSPC\)"):
        CaptureWriter("/dev/full", META)


def test_unwritable_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureLogError, match=r"cannot open the capture log"):
        CaptureWriter(tmp_path / "missing-dir" / "run.pslog", META)


def test_capture_log_mixes_with_inputs_that_have_no_time_zone(tmp_path: Path) -> None:
    log = tmp_path / "run.pslog"
    write(log, 2)
    other = tmp_path / "slab.txt"
    sample = Path(__file__).parent.parent / "samples" / "slabinfo_v21.txt"
    other.write_text("2026-11-21 15:30:00\n" + sample.read_text())
    result = parse([log, other])
    assert [s.format for s in result.snapshots] == ["capture", "capture", "slabinfo"]
    assert all(s.timestamp is not None and s.timestamp.tzinfo is None for s in result.snapshots)
    want = T0.astimezone().replace(tzinfo=None)
    assert result.snapshots[0].timestamp == want
    assert [str(w) for w in result.warnings] == [
        f"{log}: times with a time zone (1 source) mixed with times without one: all read as this machine's "
        "local time"
    ]


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("bytes", [1.5, 0, None], "holds a value that is not an integer"),
    ("bytes", [2**70, 0, None], "holds a value beyond 64 bits"),
    ("outstanding", [1, 2], "has 2 values for 3 rows"),
])
def test_records_of_the_wrong_shape_are_skipped(tmp_path: Path, column: str, value: list, reason: str) -> None:
    log = tmp_path / "run.pslog"
    write(log, 2)
    lines = log.read_text().split("\n")
    rec = json.loads(lines[1])
    rec[column] = value
    lines[1] = json.dumps(rec)
    log.write_text("\n".join(lines))
    result = parse([log])
    assert [s.extra["seq"] for s in result.snapshots] == [1]
    assert f"bad capture record: column {column!r} {reason}" in str(result.warnings[0])


_tags = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6)
_value = st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62))


@st.composite
def _snapshots(draw: st.DrawFn) -> Snapshot:
    keys = draw(st.lists(st.tuples(_tags, st.sampled_from(["nonpaged", "paged"])), max_size=12, unique=True))
    rows = [Row(t, p, allocs=draw(_value), frees=draw(_value), outstanding=draw(_value), bytes=draw(_value),
                bytes_change=draw(_value)) for t, p in keys]
    return Snapshot("h", 0, "capture", RowTable.from_rows(rows), timestamp=T0,
                    scope=draw(st.sampled_from(["system", "session:3", "all-sessions"])),
                    totals={"nonpaged_kb": draw(st.integers(0, 2**40))})


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_snapshots())
def test_any_snapshot_round_trips(tmp_path_factory: pytest.TempPathFactory, s: Snapshot) -> None:
    log = tmp_path_factory.mktemp("rt") / "x.pslog"
    with CaptureWriter(log, META) as w:
        w.append(s)
    assert log.read_bytes().isascii()
    got = parse([log]).snapshots
    assert len(got) == 1
    assert got[0].rows == s.rows
    assert (got[0].scope, got[0].totals, got[0].timestamp) == (s.scope, s.totals, s.timestamp)
