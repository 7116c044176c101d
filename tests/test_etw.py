"""ETW pool traces: the .etl reader against our own byte-level writer, the accounting, WPA exports, damage."""

from __future__ import annotations

import json
import random
import struct
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import SAMPLES, invoke
from etl_writer import START_FILETIME, EtlWriter

import poolscope
from analyzer.analysis.stacks import StacksOptions, analyze_stacks
from parsers import Diagnostics, ErrorLevel, InputError, ParseError, parse, parse_text
from parsers.etw import pair_events, read_etl, read_trace
from parsers.etw.trace import NO_SESSION

START = datetime(2026, 11, 21, 14, 0, 0)
SECOND = 10_000_000  # QPC ticks per second in these traces

KERNEL64 = 0xFFFFF80710000000
DRIVER64 = 0xFFFFF80745600000
KERNEL32 = 0x82000000
DRIVER32 = 0x8A100000


def images(w: EtlWriter) -> tuple[int, int]:
    kernel, driver = (KERNEL64, DRIVER64) if w.pointer_size == 8 else (KERNEL32, DRIVER32)
    w.image(kernel, 0x800000, r"\SystemRoot\system32\ntoskrnl.exe")
    w.image(driver, 0x20000, r"\SystemRoot\System32\drivers\leaky.sys")
    return kernel, driver


def address(w: EtlWriter, i: int) -> int:
    return (0xFFFFC00000000000 if w.pointer_size == 8 else 0x90000000) + i * 0x40


def read(data: bytes, level: ErrorLevel = ErrorLevel.WARN) -> tuple:
    diag = Diagnostics(level=level)
    return read_etl(data, "t.etl", diag), [str(w) for w in diag.warnings()]


@pytest.mark.parametrize("pointer_size", [4, 8])
@pytest.mark.parametrize("header_kind", ["system", "compact", "perfinfo"])
def test_events_stacks_and_modules_read_back_exactly(pointer_size, header_kind):
    w = EtlWriter(pointer_size=pointer_size, header_kind=header_kind, buffer_size=1024)
    kernel, driver = images(w)
    stack = [kernel + 0x1234, driver + 0x5A0, driver + 0x120, 0x7FFE0000 if pointer_size == 4 else 0x7FF612340000]
    for i in range(40):  # several buffers of 1 KB
        w.alloc(2 * SECOND + i * 100, "Leak", 100 + i, address(w, i), stack=stack, thread=500 + i % 3)
    w.free(3 * SECOND, "Leak", address(w, 0), thread=501)
    trace, warnings = read(w.to_bytes())
    assert warnings == []
    assert trace.info.pointer_size == pointer_size and trace.info.buffers > 3
    ev = trace.events
    assert ev.kind.tolist() == [0] * 40 + [1]
    assert ev.size[:40].tolist() == [100 + i for i in range(40)]
    assert ev.address.tolist() == [address(w, i) for i in range(40)] + [address(w, 0)]
    assert set(ev.session.tolist()) == {NO_SESSION}
    assert (ev.stack[:40] == 0).all() and ev.stack[40] == -1
    unresolved = f"{stack[3]:#x}"
    assert trace.stacks == [("ntoskrnl.exe+0x1234", "leaky.sys+0x5a0", "leaky.sys+0x120", unresolved)]
    assert trace.info.start == START
    assert trace.time_of(int(ev.time[0])) == START + timedelta(seconds=2) - timedelta(microseconds=100_000)


def test_clock_types_turn_into_the_same_dates():
    for clock_type, freq in ((1, 10_000_000), (3, 3000 * 1_000_000)):
        w = EtlWriter(clock_type=clock_type, perf_freq=10_000_000, cpu_mhz=3000, start_ticks=5_000)
        w.alloc(5_000 + 90 * freq, "Abcd", 64, 0x1000)
        trace, _ = read(w.to_bytes())
        assert trace.time_of(int(trace.events.time[0])) == START + timedelta(seconds=90), clock_type
    w = EtlWriter(clock_type=2)
    w.alloc(START_FILETIME + 42 * 10_000_000, "Abcd", 64, 0x1000)
    trace, _ = read(w.to_bytes())
    assert trace.info.clock == "system-time"
    assert trace.time_of(int(trace.events.time[0])) == START + timedelta(seconds=42)


def test_session_events_pair_within_their_session_and_form_their_own_scope(tmp_path):
    w = EtlWriter()
    same = 0xFFFFD00000001000
    # The same address in two sessions' pools: two different blocks.
    w.alloc(2 * SECOND, "Gla5", 96, same, pool_type=33, session=1, stack=[0x1111])
    w.alloc(3 * SECOND, "Gla5", 96, same, pool_type=33, session=2, stack=[0x2222])
    w.free(4 * SECOND, "Gla5", same, pool_type=33, session=2)
    w.alloc(5 * SECOND, "Sys1", 32, same)  # system pool, same address again
    path = tmp_path / "s.etl"
    w.write(path)
    trace = read_trace(path)
    life = pair_events(trace)
    assert sorted(zip(life.session.tolist(), life.end_kind.tolist(), strict=True)) == [(-1, 0), (1, 0), (2, 1)]
    snaps = parse([path]).snapshots
    assert {s.scope for s in snaps} == {"system", "session:1", "session:2"}
    last_s1 = [s for s in snaps if s.scope == "session:1"][-1]
    assert last_s1.rows.get("Gla5", "paged").outstanding == 1
    result = analyze_stacks(trace)
    assert {(r.tag, r.session, r.bytes) for r in result.rows} == {("Gla5", 1, 96), ("Sys1", None, 32)}


def test_frees_of_blocks_allocated_before_the_trace_change_no_tag():
    w = EtlWriter()
    for i in range(5):
        w.free(2 * SECOND + i, "Irp ", 0xFFFFB00000000000 + i * 0x100, size=280)
    w.alloc(3 * SECOND, "Irp ", 280, 0xFFFFB00000000000)  # a new block at a pre-trace address
    trace, _ = read(w.to_bytes())
    life = pair_events(trace)
    assert life.frees_before_trace == 5 and life.frees_before_trace_bytes == 5 * 280
    assert life.end_kind.tolist() == [0]
    snap = trace_last_snapshot(trace)
    assert (snap.allocs, snap.frees, snap.outstanding, snap.bytes) == (1, 0, 1, 280)


def trace_last_snapshot(trace):
    from parsers.etw import trace_snapshots

    return trace_snapshots(trace)[-1].rows.get("Irp ", "nonpaged")


def test_address_reuse_with_and_without_a_recorded_free():
    w = EtlWriter()
    a, b = 0xFFFFC00000010000, 0xFFFFC00000020000
    w.alloc(2 * SECOND, "Abcd", 100, a, stack=[0x10])
    w.free(3 * SECOND, "Abcd", a)
    w.alloc(4 * SECOND, "Abcd", 200, a, stack=[0x20])  # reuse after a free: still outstanding at the end
    w.alloc(5 * SECOND, "Efgh", 300, b, stack=[0x30])
    w.alloc(6 * SECOND, "Efgh", 400, b, stack=[0x40])  # realloc-like: the free of the first was not recorded
    w.free(7 * SECOND, "Efgh", b)
    trace, _ = read(w.to_bytes())
    life = pair_events(trace)
    ends = {int(s): (int(k), int(e)) for s, k, e in zip(life.size, life.end_kind, life.end, strict=True)}
    assert ends[100][0] == 1 and ends[200][0] == 0
    assert ends[300] == (2, int(trace.events.time[4]))  # replaced when the second block appeared
    assert ends[400][0] == 1
    assert life.replaced == 1 and life.frees_before_trace == 0
    result = analyze_stacks(trace)
    assert [(r.tag, r.bytes, r.outstanding, r.stack) for r in result.rows] == [("Abcd", 200, 1, ("0x20",))]
    assert result.replaced == 1


def test_events_out_of_time_order_across_buffers_are_paired_by_time():
    w = EtlWriter(buffer_size=512)
    addr = 0xFFFFC00000000040
    # Per-processor buffers: the free can sit in an earlier buffer than its allocation.
    w.free(9 * SECOND, "Abcd", addr)
    for i in range(12):
        w.alloc(3 * SECOND + i, "Fill", 8, 0xFFFFC00000100000 + i * 16)
    w.alloc(8 * SECOND, "Abcd", 64, addr)
    trace, _ = read(w.to_bytes())
    life = pair_events(trace)
    abcd = life.tag == int.from_bytes(b"Abcd", "little")
    assert life.end_kind[abcd].tolist() == [1] and life.frees_before_trace == 0


def test_leaking_stack_is_named_with_exact_bytes_in_json(tmp_path):
    w = EtlWriter(buffer_size=8192)
    kernel, driver = images(w)
    leak = [kernel + 0x2A7D10, driver + 0x41C2, driver + 0x3B90]
    fine = [kernel + 0x2A7D10, driver + 0x5A10]
    expected = 0
    for i in range(300):
        t = 2 * SECOND + i * SECOND
        w.alloc(t, "Nflt", 1000 + i % 7, address(w, 2 * i), stack=leak, thread=7)
        if i % 4 == 0:
            w.free(t + 5, "Nflt", address(w, 2 * i), thread=7)
        else:
            expected += 1000 + i % 7
        w.alloc(t + 10, "Nflt", 4096, address(w, 2 * i + 1), stack=fine, thread=7)
        w.free(t + 20, "Nflt", address(w, 2 * i + 1), thread=7)
    (tmp_path / "t.etl").write_bytes(w.to_bytes())
    run = invoke(tmp_path, "stacks", "t.etl", "--format", "json")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    top = doc["stacks"][0]
    assert (top["tag"], top["stack"], top["bytes"], top["outstanding"]) == (
        "Nflt", ["ntoskrnl.exe+0x2a7d10", "leaky.sys+0x41c2", "leaky.sys+0x3b90"], expected, 225)
    assert len(doc["stacks"]) == 1 and doc["tags"][0]["bytes"] == expected
    assert top["bytes_over_time"][-1] == expected and top["bytes_over_time"] == sorted(top["bytes_over_time"])
    table = invoke(tmp_path, "stacks", "t.etl", "--tag", "Nf*", "--frames", "2")
    assert f"{expected:,} bytes in 225 allocations" in table.out and "1 more frames" in table.out
    assert invoke(tmp_path, "stacks", "t.etl", "--tag", "Zz*").out.count("no allocations outstanding") == 1


def test_sample_trace_tells_its_story():
    result = poolscope.stacks(SAMPLES / "pool_trace_x64.etl")
    assert [(r.tag, r.bytes, r.outstanding) for r in result.rows] == [("Nflt", 126_720, 120)]
    assert result.rows[0].stack[1:3] == ("netflt.sys+0x41c2", "netflt.sys+0x3b90")
    assert (result.frees_before_trace, result.replaced) == (6, 1)
    trend = poolscope.trend(poolscope.parse([SAMPLES / "pool_trace_x64.etl"]).snapshots)
    assert [(r.tag, r.pool) for r in trend.rows if r.verdict == "leak"] == [("Nflt", "nonpaged")]


def test_trace_is_snapshots_for_every_command(tmp_path):
    result = parse([SAMPLES / "pool_trace_x64.etl"])
    assert {s.format for s in result.snapshots} == {"etl"}
    system = [s for s in result.snapshots if s.scope == "system"]
    assert len(system) == 24 and system[-1].timestamp == START + timedelta(minutes=40)
    row = system[-1].rows.get("Nflt", "nonpaged")
    assert row.outstanding == row.allocs - row.frees and row.bytes == 126_720 + 0  # the other stack freed all
    run = invoke(tmp_path, "report", str(SAMPLES / "pool_trace_x64.etl"), "--format", "json")
    assert run.code == 0, run.err


# -- damaged and unusual traces -------------------------------------------------------------------


def small_trace(**kw) -> bytes:
    w = EtlWriter(buffer_size=512, **kw)
    images(w)
    for i in range(30):
        w.alloc(2 * SECOND + i, "Abcd", 64, address(w, i), stack=[KERNEL64 + i])
    return w.to_bytes()


def test_truncated_inside_a_buffer_reads_what_is_there_with_a_warning():
    data = small_trace()
    cut = data[: 512 * 3 + 200]
    trace, warnings = read(cut)
    full, _ = read(data)
    assert 0 < len(trace.events) < len(full.events)
    assert any("file ends inside buffer" in w for w in warnings)
    with pytest.raises(ParseError):
        read(cut, ErrorLevel.RAISE)


def test_bad_sizes_are_read_around_with_warnings():
    data = bytearray(small_trace())
    struct.pack_into("<I", data, 512 * 2, 4096)  # third buffer claims another size
    event = 512 * 3 + 0x48
    struct.pack_into("<H", data, event + 4, 60000)  # an event running past its buffer
    trace, warnings = read(bytes(data))
    assert len(trace.events) > 0
    assert len(warnings) == 1 and "declares 4096 bytes" in warnings[0] and "1 more" in warnings[0]


def test_short_pool_events_are_not_counted():
    w = EtlWriter()
    w.alloc(2 * SECOND, "Abcd", 64, 0x1000)
    w.add(w._header("system", 0x0E, 0x20, 4, 3 * SECOND, 1, 4), b"\0\0\0\0")
    trace, warnings = read(w.to_bytes())
    assert len(trace.events) == 1 and "too short" in warnings[0]


@pytest.mark.parametrize("where", ["logfile", "buffer"])
def test_compressed_traces_are_refused_with_the_way_out(tmp_path, where):
    data = small_trace(logfile_mode=0x04000000) if where == "logfile" else small_trace(compressed_buffer=2)
    (tmp_path / "c.etl").write_bytes(data)
    run = invoke(tmp_path, "stacks", "c.etl")
    assert run.code == 2 and len(run.err_lines) == 1
    assert "compressed" in run.err and "xperf -merge" in run.err and "Traceback" not in run.err


@pytest.mark.parametrize("length", [0, 10, 0x48, 0x48 + 40, 0x48 + 200])
def test_files_cut_before_the_first_events_are_one_line_errors(tmp_path, length):
    (tmp_path / "cut.etl").write_bytes(small_trace()[:length])
    for command in ("stacks", "parse"):
        run = invoke(tmp_path, command, "cut.etl")
        assert run.code == 2, (command, length, run.out)
        assert len(run.err_lines) == 1 and "cut.etl" in run.err and "Traceback" not in run.err


def test_random_damage_never_raises_anything_but_input_errors():
    data = small_trace()
    rng = random.Random(7)
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged))]
        try:
            trace, _ = read(bytes(damaged))
            analyze_stacks(trace, StacksOptions(points=4))
        except InputError:
            pass


def test_text_named_etl_and_forced_format_are_clear(tmp_path):
    (tmp_path / "x.etl").write_text("Tag,Size\nAbcd,5\n")
    run = invoke(tmp_path, "stacks", "x.etl")
    assert run.code == 2 and "not a pool trace" in run.err
    run = invoke(tmp_path, "parse", "--input-format", "etl", "x.etl")
    assert run.code == 2 and "not an ETL trace" in run.err


# -- WPA exports ----------------------------------------------------------------------------------


def test_wpa_per_allocation_export_columns_by_name(tmp_path):
    csv_text = (
        "Count,Free Time (s),Stack,Address,Size (B),Tag,Alloc Time (s),Pool Type\n"
        '1,,"nt!ExAllocatePool2 <- drv.sys!Queue",0xFFFF1000,512,Qrst,1.5,NonPaged\n'
        '1,4.0,"nt!ExAllocatePool2 <- drv.sys!Queue",0xFFFF2000,512,Qrst,2.0,NonPaged\n'
        '1,,"nt!ExAllocatePool2 | drv.sys!Other",0xFFFF3000,64,Qrst,2.5,Paged\n'
        "1,,,0xFFFF4000,bad,Too long tag,3.0,Paged\n"
    )
    path = tmp_path / "wpa.csv"
    path.write_text(csv_text)
    diag = Diagnostics()
    trace = read_trace(path, diag)
    assert any("not a pool tag" in str(w) for w in diag.warnings())
    result = analyze_stacks(trace)
    assert [(r.pool, r.stack, r.bytes) for r in result.rows] == [
        ("nonpaged", ("nt!ExAllocatePool2", "drv.sys!Queue"), 512),
        ("paged", ("nt!ExAllocatePool2", "drv.sys!Other"), 64),
    ]
    snaps = parse_text(csv_text, name="wpa.csv").snapshots
    assert snaps[0].format == "wpa" and snaps[-1].rows.get("Qrst", "nonpaged").allocs == 2


def test_wpa_event_rows_share_the_etl_accounting():
    text = (
        "Event Name,Time,Tag,Entry,NumberOfBytes,Session Id\n"
        "PoolFree,0.5,Abcd,0x100,,\n"  # freed before any allocation was seen
        "PoolAlloc,1.0,Abcd,0x200,48,\n"
        "PoolAllocSession,1.5,Abcd,0x200,48,3\n"
        "PoolFree,2.0,Abcd,0x200,,\n"
    )
    trace = read_trace_text(text)
    life = pair_events(trace)
    assert life.frees_before_trace == 1
    assert sorted(zip(life.session.tolist(), life.end_kind.tolist(), strict=True)) == [(-1, 1), (3, 0)]


def test_wpa_row_beyond_int64_is_skipped_naming_the_line():
    text = ("Tag,Pool Type,Size,Alloc Time,Free Time,Address\n"
            "Abcd,NonPaged,99999999999999999999999,1.0,,0x1000\n"
            "Abcd,NonPaged,64,1.5,,0x2000\n")
    diag = Diagnostics()
    from parsers.etw import read_wpa
    from parsers.textio import text_source

    trace = read_wpa(text_source(text, "huge.csv"), diag)
    assert trace.events.size.tolist() == [64]
    assert [str(w) for w in diag.warnings()] == [
        "huge.csv:2: 1 line skipped; first at huge.csv:2: number beyond the 64-bit range of the row model; "
        "row left out"]


def read_trace_text(text: str):
    from parsers.etw import read_wpa
    from parsers.textio import text_source

    return read_wpa(text_source(text, "e.csv"), Diagnostics())


def test_wpa_summary_table_without_times_is_refused(tmp_path):
    (tmp_path / "sum.csv").write_text("Tag,Outstanding Size,Outstanding Count,Stack\nAbcd,100,2,x\n")
    run = invoke(tmp_path, "stacks", "sum.csv")
    assert run.code == 2 and len(run.err_lines) == 1


def test_wpa_sample_names_the_leaking_function():
    result = poolscope.stacks(Path(SAMPLES / "wpa_pool_allocations.csv"))
    top = result.rows[0]
    assert (top.tag, top.bytes, top.stack[1]) == ("Nflt", 190_080, "netflt.sys!FltQueueRequest")
