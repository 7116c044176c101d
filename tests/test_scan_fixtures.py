"""The driver scan on real compiler output: x64 and x86, -O0 and -O2, evidence asserted per tag."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scan_helpers import (
    CONFIGS,
    TAGDRV_EXPECTED,
    THUNKDRV_EXPECTED,
    Built,
    drivers,  # noqa: F401  (session fixture)
    pick,
)

from analyzer.owners.scan import localtag_text, scan_bytes, scan_paths
from parsers.errors import Diagnostics
from parsers.pooltag import parse_pooltag_string

# x64 and x86 at -O0 and -O2, and x86 passing arguments with push.
MATRIX = [(arch, opt) for arch, opt, _ in CONFIGS]


def ids(params: tuple[str, str]) -> str:
    return f"{params[0]}{params[1]}"


@pytest.mark.parametrize("arch_opt", MATRIX, ids=ids)
def test_evidence_level_per_tag(drivers: list[Built], arch_opt: tuple[str, str]) -> None:  # noqa: F811
    path = pick(drivers, "tagdrv", *arch_opt)
    findings = scan_paths([path], list(TAGDRV_EXPECTED))
    assert {f.tag: f.evidence for f in findings} == TAGDRV_EXPECTED
    assert {f.arch for f in findings} == {arch_opt[0]}


@pytest.mark.parametrize("arch_opt", MATRIX, ids=ids)
def test_without_tags_lists_exactly_the_call_site_tags(drivers: list[Built], arch_opt: tuple[str, str]) -> None:  # noqa: F811
    path = pick(drivers, "tagdrv", *arch_opt)
    findings = scan_paths([path])
    expected = sorted(t for t, e in TAGDRV_EXPECTED.items() if e == "call-site")
    assert [f.tag for f in findings] == expected
    routines = {f.tag: f.routines for f in findings}
    assert routines["PsLt"] == ("ExAllocatePoolWithTag",)
    assert routines["PsFr"] == ("ExFreePoolWithTag",)
    assert routines["PsP2"] == ("ExAllocatePool2", "ExFreePoolWithTag")
    assert routines["PsLk"] == ("ExInitializeNPagedLookasideList",)  # 6th argument: a stack slot on x64
    assert routines["PsFl"] == ("ExFreePoolWithTag", "FltAllocatePoolAlignedWithTag")  # 4th argument
    assert routines["PsQt"] == ("ExAllocatePoolWithQuotaTag", "ExFreePoolWithTag")
    assert routines["PsPr"] == ("ExAllocatePoolWithTagPriority", "ExFreePoolWithTag")
    assert routines["PsLx"] == ("ExInitializeLookasideListEx",)  # 7th: [rsp+0x30] on x64, slot 6 on x86
    assert routines["PsA3"] == ("ExAllocatePool3",)  # after a 64-bit flags argument on x86
    assert routines["PsF2"] == ("ExFreePool2",)
    assert routines["PsNd"] == ("ExFreePoolWithTag", "NdisAllocateMemoryWithTagPriority")
    assert {f.sites for f in findings if f.tag in ("PsVr", "PsSf", "PsSt", "PsP2")} == {2}


@pytest.mark.parametrize("arch_opt", MATRIX, ids=ids)
def test_unprovable_tags_are_counted_not_guessed(drivers: list[Built], arch_opt: tuple[str, str]) -> None:  # noqa: F811
    path = pick(drivers, "tagdrv", *arch_opt)
    scan = scan_bytes(path.read_bytes(), str(path))
    # DrvAlloc passes its parameter; AllocGlobal and one free read the writable global.
    unresolved = {s.routine.name for s in scan.unresolved}
    assert unresolved == {"ExAllocatePoolWithTag", "ExFreePoolWithTag"}
    assert len(scan.unresolved) == 3
    # Frees with tag 0 are call sites with a value that is no tag.
    assert sum(1 for s in scan.call_sites if s.tag_value == 0) == 2


@pytest.mark.parametrize("arch_opt", MATRIX, ids=ids)
def test_calls_through_thunks_and_tail_calls(drivers: list[Built], arch_opt: tuple[str, str]) -> None:  # noqa: F811
    path = pick(drivers, "thunkdrv", *arch_opt)
    findings = scan_paths([path], list(THUNKDRV_EXPECTED))
    assert {f.tag: f.evidence for f in findings} == THUNKDRV_EXPECTED
    assert [f.tag for f in scan_paths([path])] == sorted(THUNKDRV_EXPECTED)


def test_folder_scan_recurses_and_warns_about_non_pe(drivers: list[Built], tmp_path: Path) -> None:  # noqa: F811
    nested = tmp_path / "pkg" / "x64"
    nested.mkdir(parents=True)
    shutil.copy(pick(drivers, "thunkdrv", "x64", "-O2"), nested / "thunk.sys")
    (tmp_path / "pkg" / "readme.txt").write_text("ThLt is documented here, but a .txt is not scanned\n")
    (tmp_path / "pkg" / "broken.sys").write_bytes(b"ThLt but not a PE image")
    (tmp_path / "pkg" / "zero.dll").write_bytes(b"MZ" + b"\0" * 10)
    diag = Diagnostics()
    findings = scan_paths([tmp_path / "pkg"], ["ThLt"], diag=diag)
    assert [(Path(f.file).name, f.evidence) for f in findings] == [("thunk.sys", "call-site")]
    assert [str(w) for w in diag.warnings()] == [
        f"{tmp_path / 'pkg' / 'broken.sys'}: not a PE file (no MZ header); skipped",
        f"{tmp_path / 'pkg' / 'zero.dll'}: not a PE file (too short); skipped",
    ]


def test_string_only_tag_is_never_a_call_site(drivers: list[Built]) -> None:  # noqa: F811
    for arch, opt in MATRIX:
        path = pick(drivers, "tagdrv", arch, opt)
        assert b"PsSg" in path.read_bytes()
        (finding,) = scan_paths([path], ["PsSg"])
        assert finding.evidence == "string"
        assert finding.address is None


def test_tag_absent_everywhere_gives_no_finding(drivers: list[Built]) -> None:  # noqa: F811
    assert scan_paths([pick(drivers, "tagdrv", "x64", "-O2")], ["Qzqz"]) == []


def test_localtag_output_reads_back(drivers: list[Built]) -> None:  # noqa: F811
    path = pick(drivers, "thunkdrv", "x86", "-O0")
    text = localtag_text(scan_paths([path]))
    name = path.name
    assert text == (
        f"ThFr - {name} - call-site: ExFreePoolWithTag (poolscope tags scan)\n"
        f"ThLt - {name} - call-site: ExAllocatePoolWithTag (poolscope tags scan)\n"
        f"ThP2 - {name} - call-site: ExAllocatePool2, ExFreePoolWithTag (poolscope tags scan)\n"
    )
    entries = parse_pooltag_string(text)
    assert [(e.pattern, e.binary) for e in entries] == [("ThFr", name), ("ThLt", name), ("ThP2", name)]


def test_single_tag_queries_agree_with_the_full_scan(drivers: list[Built]) -> None:  # noqa: F811
    # --tag skips call sites far from any occurrence of the tag; it must not lose any.
    for arch, opt in MATRIX:
        path = pick(drivers, "tagdrv", arch, opt)
        full = {f.tag: f for f in scan_paths([path])}
        for tag, level in TAGDRV_EXPECTED.items():
            (finding,) = scan_paths([path], [tag])
            assert finding.evidence == level, (arch, opt, tag)
            if level == "call-site":
                assert finding == full[tag]
