"""Whole debugger logs: splitting at prompts and each command's reader, against golden files."""

from __future__ import annotations

from pathlib import Path

import pytest
from debugger_helpers import check_golden, sample, to_json

from parsers import parse, parse_text
from parsers.debugger.analyze import read_analyze
from parsers.debugger.blocks import split_commands
from parsers.debugger.modules import ModuleMap, read_modules
from parsers.debugger.pool import read_pool
from parsers.debugger.search import parse_search_command, read_hits
from parsers.debugger.verifier import read_verifier
from parsers.debugger.vm import read_vm
from parsers.transcript import read_transcript, sniff


def _golden_doc(name: str) -> str:
    t = read_transcript(sample(name))
    doc = t.to_dict()
    doc["source"] = Path(doc["source"]).name
    for snap in doc["snapshots"]:
        snap["source"] = Path(snap["source"]).name
    doc["warnings"] = [w.message for w in t.warnings]
    return to_json(doc)


@pytest.mark.parametrize("name", ["windbg_transcript_all.txt", "windbg_0x41.txt"])
def test_transcript_matches_golden(name: str) -> None:
    check_golden(name.replace(".txt", ".json").replace("windbg_", "transcript_"), _golden_doc(name))


def test_every_command_goes_to_its_reader() -> None:
    t = read_transcript(sample("windbg_transcript_all.txt"))
    kinds = [(c.command, c.kind) for c in t.commands]
    assert kinds == [
        ("!analyze -v", "analyze"),
        ("!vm", "vm"),
        ("!poolused 2", "poolused"),
        ("!poolused 4", "poolused"),
        ("!poolfind Abcd 0", "poolfind"),
        ("!pool ffffc48b3a40c2e0", "pool"),
        ("lm", "lm"),
        ("lm a fffff801`1b2034a0", "lm"),
        ("lmv m abcfilt", "lm"),
        ('!for_each_module s -a @#Base @#End "Abcd"', "search"),
        ("s -b fffff801`1d000000 fffff801`1d030000 51 72 73 74", "search"),
        ("!verifier 3 abcfilt.sys", "verifier"),
        ("!process 0 0 System", "raw"),
        (".logclose", "raw"),
    ]
    assert "Image: System" in t.raw[0].text
    assert t.tag_hits() == {"Abcd": {"abcfilt": 3, "nt": 1}, "Qrst": {"qrstdrv": 1}}
    assert t.bugcheck is not None and (t.bugcheck.code, t.bugcheck.param(1)) == (0xC4, 0x62)
    assert [m.name for m in t.unloaded_modules] == ["oldfilt"]
    by_tag = t.allocations_by_tag()
    assert sorted(by_tag) == ["Abcd", "File", "Thre"]
    assert [hex(a.address) for a in by_tag["Abcd"]] == [
        "0xffffc48b3e2a1000", "0xffffc48b3e2b7000", "0xffffc48b3a40c2d0", "0xffffc48b3a40c420", "0xffffc48b3a5e1010"
    ]


def test_same_moment_printed_twice_is_one_snapshot_with_vm_totals() -> None:
    result = parse([str(sample("windbg_transcript_all.txt"))])
    assert len(result.snapshots) == 1
    snap = result.snapshots[0]
    assert snap.extra["also_printed_by"] == ["!poolused 4"]
    # TOTAL row for the pools, !vm for the rest; the underflowed PagedPool Commit is not trusted.
    assert snap.totals == {
        "nonpaged_kb": 476768, "paged_kb": 88055, "memory_kb": 8388076, "avail_kb": 3125332,
        "commit_kb": 4411208, "commit_limit_kb": 9830400,
    }
    assert snap.extra["vm"]["untrusted"] == ["paged_commit_kb"]
    assert [w.message for w in result.warnings] == [
        "!vm figure paged_commit_kb is not believable (underflowed); ignored"
    ]


def test_prompts_of_every_shape_split_the_log() -> None:
    lines = ["junk", "kd> lm", "a", " 0: kd> !vm", "b", "lkd> !poolused", "12: kd> k", "0:000> r", "1: kd:x86> ?"]
    blocks = split_commands(lines)
    assert [(b.command, b.line) for b in blocks] == [
        (None, 0), ("lm", 2), ("!vm", 4), ("!poolused", 6), ("k", 7), ("r", 8), ("?", 9)
    ]


def test_vm_old_style_and_kb_only() -> None:
    info = read_vm(
        [
            "*** Virtual Memory Usage ***",
            "\tNonPagedPool Usage:     65412 (    261648 Kb)",
            "\tNonPagedPool Max:       65536 (    262144 Kb)",
            "\t********** Excessive NonPaged Pool Usage *****",
            "\tPagedPool 0 Usage:      17003 (     68012 Kb)",
            "\tPagedPool Max:      98304Kb",
            "\tAvailable Pages:  18446744073709551610 (18446744073709551592 Kb)",
        ]
    )
    assert info.nonpaged_kb == 261648
    assert info.get("nonpaged_max_kb") == 262144
    assert info.get("paged_max_kb") == 98304
    assert info.nodes == {"pagedpool": [68012]}
    assert info.warnings == ["Excessive NonPaged Pool Usage"]
    assert info.untrusted == ["avail_kb"] and info.get("avail_kb") is None


def test_vm_usage_above_maximum_is_not_trusted() -> None:
    info = read_vm(["PagedPool Usage:  9000 ( 36000 Kb)", "PagedPool Maximum:  100 ( 400 Kb)"])
    assert info.paged_kb is None


def test_poolfind_old_and_new_forms() -> None:
    report = read_pool(
        [
            "Searching NonPaged pool (80000000 : ffc00000) for Tag: Abcd",
            "8a2f1130 size:   c0 previous size:   40  (Allocated) Abcd",
            "8a2f1400 size:   c0 previous size:   40  (Free)      Abcd",
            "ffff8a0c12345000 : tag Abcd, size     0x140, Paged pool",
            "8a2f14c0 size:   zz previous size:   40  (Allocated) Abcd",
        ],
        "!poolfind Abcd",
    )
    assert [(a.address, a.size, a.pool, a.state) for a in report.allocations] == [
        (0x8A2F1130, 0xC0, "nonpaged", "allocated"),
        (0x8A2F1400, 0xC0, "nonpaged", "free"),
        (0xFFFF8A0C12345000, 0x140, "paged", "allocated"),
    ]
    assert report.unreadable == [5]


def test_pool_owner_lines() -> None:
    report = read_pool(
        [
            "Pool page 8a2f1138 region is Paged pool",
            "*8a2f1130 size:   c0 previous size:   40  (Allocated) *Abcd",
            "\t\tOwning component : Unknown (update pooltag.txt)",
            "\t\tPooltag Efgh : Some subsystem, Binary : nt!xyz",
        ]
    )
    assert report.allocations[0].current and report.allocations[0].pool == "paged"
    assert [o.to_dict() for o in report.owners] == [
        {"tag": "Efgh", "description": "Some subsystem", "binary": "nt!xyz"}
    ]


def test_lm_ranges_are_end_exclusive() -> None:
    mods = read_modules(
        [
            "start             end                 module name",
            "fffff801`1b200000 fffff801`1b21c000   abcfilt    (deferred)",
            "80800000 80a50000   nt         (pdb symbols)          c:\\symbols\\ntkrpamp.pdb\\1\\ntkrpamp.pdb",
            "f7a10000 f7a2c000   abcfilt  abcfilt.sys",
        ]
    )
    mm = ModuleMap(mods)
    assert mm.find(0xFFFFF8011B21BFFF).name == "abcfilt"
    assert mm.find(0xFFFFF8011B21C000) is None
    assert mods[1].image is None and mods[2].image == "abcfilt.sys"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ('s -a @#Base @#End "Abcd"', ("ascii", b"Abcd", False)),
        ('!for_each_module s -a @#Base @#End "Abcd"', ("ascii", b"Abcd", True)),
        ("!for_each_module s -b @#Base @#End 0x41 0x62 0x63 0x64", ("bytes", b"Abcd", True)),
        ("s -b 80800000 L?100000 43 4d 20 20", ("bytes", b"CM  ", False)),
        ("!for_each_module \"s -a @#Base @#End Abcd\"", ("ascii", b"Abcd", True)),
        ("sxe ld", None),
    ],
)
def test_search_commands(command: str, expected: tuple[str, bytes, bool] | None) -> None:
    assert parse_search_command(command) == expected


def test_search_hits_old_and_new_addresses() -> None:
    assert read_hits(
        [
            "fffff801`1b20345c  41 62 63 64 ff 15 2a 0c-00 00 48 8b d8 48 85 c0  Abcd..*...H..H..",
            "f7a1b230  41 62 63 64 8b f0 85 f6-74 1c 8b 45 08 89 30 33  Abcd....t..E..03",
            "Search aborted",
        ]
    ) == [0xFFFFF8011B20345C, 0xF7A1B230]


def test_analyze_new_style_without_headline() -> None:
    bug = read_analyze(["BUGCHECK_CODE:  19", "BUGCHECK_P1: 20", "BUGCHECK_P2: ffffa2052f0e8000",
                        "BUGCHECK_P3: ffffa2052f0e8110", "BUGCHECK_P4: 4110000"])
    assert bug is not None and bug.code == 0x19
    assert bug.params == [0x20, 0xFFFFA2052F0E8000, 0xFFFFA2052F0E8110, 0x4110000]


def test_verifier_two_column_nonpaged_first() -> None:
    report = read_verifier(
        [
            "MODULE: abcfilt.sys (load: 2 / unload: 1)",
            "      Current Pool Allocations: 0x00000152    0x0000006f",
            "      Current Pool Bytes:       0x0003b4c0    0x00012a00",
            "      PoolAddress  SizeInBytes    Tag       CallersAddress",
            "      8a2f1130     c0             Abcd      f7a1b22c",
        ]
    )
    drv = report.drivers[0]
    assert (drv.loads, drv.unloads, drv.unloaded) == (2, 1, True)
    assert drv.counters == {
        "current_nonpaged_allocations": 0x152, "current_paged_allocations": 0x6F,
        "current_nonpaged_bytes": 0x3B4C0, "current_paged_bytes": 0x12A00,
    }
    assert [(a.address, a.size, a.tag) for a in drv.allocations] == [(0x8A2F1130, 0xC0, "Abcd")]


def test_verifier_driver_table_form() -> None:
    report = read_verifier(
        [
            "Driver Verification List",
            "",
            "Entry     State           NonPagedPool   PagedPool   Module",
            "",
            "fffffa8002e1b860 Unloaded         3               1       Null.sys",
            "",
            "Current Pool Allocations: 0x00000003    0x00000001",
            "PoolAddress  SizeInBytes    Tag       CallersAddress",
            "fffffa800a9d0aa0     0x00000010     Null      fffff88001a16c6f",
        ]
    )
    drv = report.drivers[0]
    assert (drv.name, drv.state, drv.unloaded, drv.holds_pool) == ("Null.sys", "Unloaded", True, True)
    assert drv.counters == {"current_nonpaged_allocations": 3, "current_paged_allocations": 1}
    assert [(a.size, a.tag) for a in drv.allocations] == [(0x10, "Null")]


def test_verifier_pools_named_the_other_way_round() -> None:
    report = read_verifier(["MODULE: x.sys", "  Pool Allocation Statistics: ( PagedPool / NonPagedPool )",
                            "  Current Pool Allocations: ( 0x00000001 / 0x00000009 )"])
    assert report.drivers[0].counters == {"current_nonpaged_allocations": 9, "current_paged_allocations": 1}


def test_unknown_commands_are_kept_not_errors() -> None:
    result = parse_text("0: kd> k\n # Child-SP RetAddr Call Site\n00 nt!KeBugCheckEx\n0: kd> !thread\n", "t.log",
                        input_format="transcript")
    assert result.snapshots == []
    assert [w.message for w in result.warnings] == [
        "debugger log holds no !poolused output: no pool snapshot in it"
    ]


def test_sniff_prefers_transcript_when_other_commands_are_present() -> None:
    assert sniff(sample("windbg_transcript_all.txt").read_text()) == 0.95
    assert sniff(sample("windbg_poolused_modern.txt").read_text()) == 0.85
    assert sniff("Tag Type Allocs\n") == 0.0


def test_library_api_is_what_the_docs_promise() -> None:
    from analyzer.analysis.triage import TriageReport
    from parsers.transcript import Transcript
    from poolscope import triage

    t = read_transcript(sample("windbg_transcript_all.txt"))
    assert isinstance(t, Transcript)
    for name in ("bugcheck", "vm", "allocations", "modules", "searches", "verifier", "events", "raw", "snapshots"):
        assert hasattr(t, name), name
    assert callable(t.tag_hits) and callable(t.allocations_by_tag)
    assert isinstance(triage(t), TriageReport)
    keys = set(triage(t).to_dict())
    assert keys == {"source", "category", "summary", "bugcheck", "exhausted_pool", "pools", "consumers", "suspects",
                    "findings", "next_commands", "warnings"}


def test_pool_rows_with_protected_marker_and_a_padded_owner_tag() -> None:
    report = read_pool(
        [
            "Pool page 8628a008 region is Nonpaged pool",
            "*8628a000 size:   40 previous size:    0  (Allocated) *Even (Protected)",
            "\t\tPooltag Even : Event objects",
            " 8628a040 size:   80 previous size:   40  (Free)       b.2.",
            "*ffff860c3326f000 size:  370 previous size:    0  (Allocated) *Irp",
            "        Pooltag Irp  : Io, IRP packets",
        ]
    )
    assert [(a.tag, a.state, a.current, a.protected) for a in report.allocations] == [
        ("Even", "allocated", True, True), ("b.2.", "free", False, False), ("Irp ", "allocated", True, False)
    ]
    assert [(o.tag, o.description, o.binary) for o in report.owners] == [
        ("Even", "Event objects", None), ("Irp ", "Io, IRP packets", None)
    ]


def test_poolfind_new_syntax_is_a_poolfind() -> None:
    from parsers.transcript import read_text

    t = read_text('12: kd> !poolfind -nonpaged -tag "Proc"\n\n'
                  "ffff8287befc4060 : tag Proc, size     0xe70, Nonpaged pool\n", "pf.log")
    assert [c.kind for c in t.commands] == ["poolfind"]
    assert [(a.tag, a.size, a.pool) for a in t.allocations] == [("Proc", 0xE70, "nonpaged")]


def test_vm_markdown_paste_with_nonsense_usage_and_numa_nx_nodes() -> None:
    info = read_vm(
        [
            "\\*\\*\\* Virtual Memory Usage \\*\\*\\*  ",
            "Physical Memory: 2097038 ( 8388152 Kb)  ",
            "Unimplemented error for MiSystemVaTypeCount  ",
            "NonPagedPool Usage: 29559056 ( 118236224 Kb)  ",
            "NonPagedPoolNx Usage: 32908 ( 131632 Kb)  ",
            "NonPagedPool Max: 1561080 ( 6244320 Kb)  ",
            "\\*\\*\\*\\*\\*\\*\\*\\*\\*\\* Excessive NonPaged Pool Usage \\*\\*\\*\\*\\*  ",
            "******* 351175 kernel stack PTE allocations have failed ******",
            "NonPagedPoolNx  0:          17887 (      71548 Kb)",
            "NonPagedPoolNx  1:          12233 (      48932 Kb)",
        ]
    )
    assert info.untrusted == ["nonpaged_usage_kb"]
    assert info.nonpaged_kb is None
    assert info.warnings == ["Excessive NonPaged Pool Usage", "351175 kernel stack PTE allocations have failed"]
    assert info.nodes == {"nonpagedpoolnx": [71548, 48932]}
    assert info.get("memory_kb") == 8388152


@pytest.mark.parametrize(
    ("text", "events"),
    [
        ("Source: Srv   Event ID: 2019   The server was unable to allocate ...", [(2019, "nonpaged")]),
        ("EventID=2020", [(2020, "paged")]),
        ("Log Name: System\nID: 2019\n", [(2019, "nonpaged")]),
        ("The server was unable to allocate from the system paged pool because the pool was empty.",
         [(2020, "paged")]),
        ("Debug session time: Sat Nov 21 2019\nPID 2019\nv1.2020 2019-11-21\n", []),
    ],
)
def test_server_pool_events(text: str, events: list[tuple[int, str]]) -> None:
    from parsers.transcript import read_text

    assert [(e.event_id, e.pool) for e in read_text(text, "ev.log").events] == events


def test_live_session_samples_take_the_time_printed_before_them() -> None:
    def sample_at(minute: int, abcd: int) -> str:
        return (
            f"lkd> .time\nDebug session time: Sat Nov 21 14:{minute:02d}:00.000 2026 (UTC + 1:00)\n"
            "lkd> !poolused 2\n"
            " Tag     Allocs         Used     Allocs         Used\n"
            f" Abcd   {abcd:7d} {abcd * 320:12d}          0            0\n"
            f" TOTAL  {abcd:7d} {abcd * 320:12d}          0            0\n"
        )

    result = parse_text(sample_at(0, 1000) + sample_at(30, 1000) + sample_at(59, 4000), "live.log")
    assert [s.timestamp.strftime("%H:%M") for s in result.snapshots] == ["14:00", "14:30", "14:59"]
    assert [s.rows.get("Abcd", "nonpaged").outstanding for s in result.snapshots] == [1000, 1000, 4000]
    assert {s.time_origin.value for s in result.snapshots} == {"source"}


def test_live_lkd_sample_is_a_time_series() -> None:
    result = parse([str(sample("windbg_live_lkd.txt"))])
    assert result.warnings == []
    assert [s.timestamp.strftime("%H:%M") for s in result.snapshots] == [
        "14:00", "14:10", "14:20", "14:30", "14:40", "14:50", "15:00"
    ]
    growth = [s.rows.get("Abcd", "nonpaged").bytes for s in result.snapshots]
    assert growth == sorted(growth) and growth[-1] - growth[0] == 6 * 5120 * 320
    assert [src.format for src in result.sources] == ["transcript"]
