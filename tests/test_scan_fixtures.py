"""The driver scan on real compiler output, evidence asserted per tag.

mingw-w64 for x64 and x86 at -O0 and -O2; clang in MSVC mode with lld-link for x64, x86 and
ARM64 at /O1 and /O2, with and without /GS and /guard:cf.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scan_helpers import (
    CONFIGS,
    KMDFDRV_EXPECTED,
    TAGDRV_EXPECTED,
    THUNKDRV_EXPECTED,
    Built,
    drivers,  # noqa: F401  (session fixture)
    pick,
)

from analyzer.owners.scan import localtag_text, scan_bytes, scan_paths
from parsers.errors import Diagnostics
from parsers.pooltag import parse_pooltag_string

# mingw: x64 and x86 at -O0 and -O2, and x86 passing arguments with push;
# MSVC mode: x64, x86 and ARM64 at /O1 and /O2, each also with /GS and /guard:cf.
MATRIX = [(arch, opt) for arch, opt, _ in CONFIGS]


def ids(params: tuple[str, str]) -> str:
    return f"{params[0]}{params[1]}" if params[1].startswith("-") else f"{params[0]}-{params[1]}"


@pytest.mark.parametrize("arch_opt", MATRIX, ids=ids)
def test_evidence_level_per_tag(drivers: list[Built], arch_opt: tuple[str, str]) -> None:  # noqa: F811
    path = pick(drivers, "tagdrv", *arch_opt)
    findings = scan_paths([path], list(TAGDRV_EXPECTED))
    assert {f.tag: f.evidence for f in findings} == TAGDRV_EXPECTED
    assert {f.arch for f in findings} == {arch_opt[0]}


@pytest.mark.parametrize("arch_opt", MATRIX, ids=ids)
def test_without_tags_lists_the_call_site_and_data_tags(drivers: list[Built], arch_opt: tuple[str, str]) -> None:  # noqa: F811
    path = pick(drivers, "tagdrv", *arch_opt)
    findings = scan_paths([path])
    expected = sorted(t for t, e in TAGDRV_EXPECTED.items() if e in ("call-site", "data"))
    assert [f.tag for f in findings] == expected
    assert {f.tag: f.evidence for f in findings} == {t: TAGDRV_EXPECTED[t] for t in expected}
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
    assert routines["PsRl"] == ("IoInitializeRemoveLockEx",)
    assert routines["PsCo"] == ("NdisAllocateCloneOidRequest",)
    assert routines["PsGo"] == ("NdisAllocateGenericObject",)
    # Loaded from writable globals at the allocation and at the free.
    assert routines["PsGl"] == routines["PsCf"] == ("ExAllocatePoolWithTag", "ExFreePoolWithTag")
    assert {f.sites for f in findings if f.tag in ("PsVr", "PsSf", "PsSt", "PsP2", "PsGl", "PsCf")} == {2}


def test_data_evidence_names_the_address_of_the_tag(drivers: list[Built]) -> None:  # noqa: F811
    for arch, opt in MATRIX:
        path = pick(drivers, "tagdrv", arch, opt)
        data = path.read_bytes()
        for finding in scan_paths([path], ["PsGl", "PsCf"]):
            assert finding.evidence == "data" and finding.data_address is not None, (arch, opt, finding)
            # The address is where the tag's four bytes sit in the image.
            scan = scan_bytes(data, str(path))
            site = next(s for s in scan.call_sites if s.data is not None and s.data.address == finding.data_address)
            assert site.data.value.to_bytes(4, "little") == finding.tag.encode()


@pytest.mark.parametrize("arch_opt", MATRIX, ids=ids)
def test_calls_through_thunks_and_tail_calls(drivers: list[Built], arch_opt: tuple[str, str]) -> None:  # noqa: F811
    path = pick(drivers, "thunkdrv", *arch_opt)
    findings = scan_paths([path], list(THUNKDRV_EXPECTED))
    assert {f.tag: f.evidence for f in findings} == THUNKDRV_EXPECTED
    assert [f.tag for f in scan_paths([path])] == sorted(THUNKDRV_EXPECTED)


@pytest.mark.parametrize("arch_opt", MATRIX, ids=ids)
def test_kmdf_calls_through_the_function_table(drivers: list[Built], arch_opt: tuple[str, str]) -> None:  # noqa: F811
    path = pick(drivers, "kmdfdrv", *arch_opt)
    findings = scan_paths([path], list(KMDFDRV_EXPECTED))
    assert {f.tag: f.evidence for f in findings} == KMDFDRV_EXPECTED
    assert {f.tag: f.routines for f in findings} == {
        "KmMc": ("WdfMemoryCreate",), "KmLa": ("WdfLookasideListCreate",), "KmGl": ("WdfMemoryCreate",)}
    assert [f.tag for f in scan_paths([path])] == sorted(KMDFDRV_EXPECTED)


def test_kmdf_bind_info_gives_table_and_version(drivers: list[Built]) -> None:  # noqa: F811
    from analyzer.owners.scan.image import load_image

    for arch, opt in MATRIX:
        path = pick(drivers, "kmdfdrv", arch, opt)
        image = load_image(path.read_bytes(), str(path))
        assert image.wdf_table is not None and image.wdf_version == (1, 15), (arch, opt)
        tag_only = load_image(pick(drivers, "tagdrv", arch, opt).read_bytes())
        assert tag_only.wdf_table is None  # no WdfVersionBind import: no table is looked for


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
