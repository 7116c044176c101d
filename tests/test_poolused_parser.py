"""!poolused: every variant against golden files, plus the awkward rows one at a time."""

from __future__ import annotations

import pytest
from debugger_helpers import check_golden, sample, snapshot_record, to_json

from parsers import ParseError, parse, parse_text
from parsers.errors import Diagnostics, ErrorLevel
from parsers.poolused import (
    header_layout,
    parse_command,
    parse_row_grammar,
    read_row,
    sniff,
    split_description,
)

VARIANTS = ["modern", "legacy", "verbose", "top", "filter", "session", "pasted"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_matches_golden(variant: str) -> None:
    result = parse([str(sample(f"windbg_poolused_{variant}.txt"))])
    assert [s.format for s in result.snapshots] == ["poolused"]
    doc = {
        "snapshots": [snapshot_record(s) for s in result.snapshots],
        "warnings": [w.message for w in result.warnings],
    }
    check_golden(f"poolused_{variant}.json", to_json(doc))


def test_one_row_becomes_two_normalized_rows() -> None:
    snap = parse([str(sample("windbg_poolused_modern.txt"))]).snapshots[0]
    np_row = snap.rows.get("Abcd", "nonpaged")
    p_row = snap.rows.get("Abcd", "paged")
    assert (np_row.outstanding, np_row.bytes, np_row.allocs, np_row.frees) == (1204411, 385411520, None, None)
    assert (p_row.outstanding, p_row.bytes) == (12, 3840)
    assert snap.totals == {"nonpaged_kb": 488185120 // 1024, "paged_kb": 90169280 // 1024}
    assert snap.timestamp is not None and snap.timestamp.isoformat() == "2026-11-21T14:03:07"


def test_verbose_rows_carry_cumulative_counts() -> None:
    snap = parse([str(sample("windbg_poolused_verbose.txt"))]).snapshots[0]
    row = snap.rows.get("Io  ", "paged")
    assert (row.allocs, row.frees, row.outstanding, row.bytes) == (3301, 3287, 14, 7168)


def test_legacy_description_starting_with_a_digit_is_sliced_off_the_number() -> None:
    snap = parse([str(sample("windbg_poolused_legacy.txt"))]).snapshots[0]
    assert snap.rows.get("1394", "paged").bytes == 0
    assert snap.extra["descriptions"]["1394"] == "1394 host controller , Binary: 1394ohci.sys"
    assert snap.extra["binaries"]["1394"] == "1394ohci.sys"
    assert snap.extra["sort"] == "Tag"


def test_filtered_and_top_tables_do_not_claim_pool_totals() -> None:
    top = parse([str(sample("windbg_poolused_top.txt"))]).snapshots[0]
    filtered = parse([str(sample("windbg_poolused_filter.txt"))]).snapshots[0]
    assert top.totals == {} and top.extra["top"] == 3
    assert filtered.totals == {} and filtered.extra["tag_filter"] == "Abc*"


def test_session_scope_follows_the_session_command() -> None:
    snap = parse([str(sample("windbg_poolused_session.txt"))]).snapshots[0]
    assert snap.scope == "session:2"
    text = " Sorting by Tag\n Tag     Allocs         Used     Allocs         Used\n"
    text += " Gh05         0            0       1904     15597568\n"
    assert parse_text("0: kd> !poolused 8\n" + text).snapshots[0].scope == "all-sessions"


@pytest.mark.parametrize(
    ("text", "flags", "tag", "top"),
    [
        ("!poolused", 0, None, None),
        ("!poolused 2", 2, None, None),
        ("!poolused 1 Abc*", 1, "Abc*", None),
        ("!poolused /t 10 4", 4, None, 10),
        ("!poolused /t5", 0, None, 5),
        ("!poolused c", 12, None, None),
        ("!kdexts.poolused 8 Gh0?", 8, "Gh0?", None),
        ('!poolused 2 "Ab*"', 2, "Ab*", None),
    ],
)
def test_command_arguments(text: str, flags: int, tag: str | None, top: int | None) -> None:
    cmd = parse_command(text)
    assert cmd is not None
    assert (cmd.flags, cmd.tag_filter, cmd.top) == (flags, tag, top)


def test_not_a_poolused_command() -> None:
    assert parse_command("!vm 1") is None


LAYOUT = header_layout(" Tag     Allocs         Used     Allocs         Used")


@pytest.mark.parametrize(
    ("line", "tag", "numbers", "desc"),
    [
        (" Abcd   1204411    385411520         12         3840\tUNKNOWN pooltag 'Abcd', please update pooltag.txt",
         "Abcd", (1204411, 385411520, 12, 3840), "UNKNOWN pooltag 'Abcd', please update pooltag.txt"),
        (" 1394         2          128          0            01394 host controller",
         "1394", (2, 128, 0, 0), "1394 host controller"),
        (" Dh 2        31         9920          0            0", "Dh 2", (31, 9920, 0, 0), None),
        (" .Xyz         4         1024          0            0", ".Xyz", (4, 1024, 0, 0), None),
        # collapsed spaces: the regex fallback
        ("Io 1602 512640 14 7168 general IO allocations", "Io  ", (1602, 512640, 14, 7168),
         "general IO allocations"),
        ("Dh 2 31 9920 0 0", "Dh 2", (31, 9920, 0, 0), None),
        ("Abcd\t1204411\t385411520\t12\t3840\tx.sys", "Abcd", (1204411, 385411520, 12, 3840), "x.sys"),
        # a number wider than its column shifts the rest: the regex takes over
        (" Abcd 12044110000    385411520         12         3840", "Abcd", (12044110000, 385411520, 12, 3840),
         None),
    ],
)
def test_awkward_rows(line: str, tag: str, numbers: tuple[int, ...], desc: str | None) -> None:
    row = read_row(line, 4, LAYOUT)
    assert row is not None
    assert (row.tag, row.numbers, row.description) == (tag, numbers, desc)


def test_verbose_regex_uses_the_diff_identity_to_place_a_spaced_tag() -> None:
    row = read_row("Dh 2 10 3 7 640 0 0 0 0", 8)
    assert row is not None and row.tag == "Dh 2" and row.numbers == (10, 3, 7, 640, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Some subsystem , Binary: nt!xyz", ("Some subsystem", "nt!xyz")),
        ("UNKNOWN pooltag 'Xyz ', please update pooltag.txt", (None, None)),
        ("File objects", ("File objects", None)),
        (None, (None, None)),
    ],
)
def test_split_description(text: str | None, expected: tuple[str | None, str | None]) -> None:
    assert split_description(text) == expected


def test_grammar_reads_an_aligned_row() -> None:
    row = parse_row_grammar(" Efgh      2201     70432000          0            0\tSome subsystem , Binary: nt!xyz", 4)
    assert row is not None
    assert (row.tag, row.numbers, row.description) == ("Efgh", (2201, 70432000, 0, 0),
                                                        "Some subsystem , Binary: nt!xyz")


def test_unreadable_row_is_skipped_with_its_line_and_strict_raises() -> None:
    text = (
        "0: kd> !poolused 2\n"
        " Tag     Allocs         Used     Allocs         Used\n"
        " Abcd   1204411    385411520         12         3840\n"
        " Efgh   22x01     70432000          0            0\n"
        " TOTAL  1204411    385411520         12         3840\n"
    )
    result = parse_text(text, "case.txt")
    assert len(result.snapshots[0].rows) == 2
    assert [str(w) for w in result.warnings] == [
        "case.txt:4: 1 line skipped; first at case.txt:4: unreadable !poolused row"
    ]
    with pytest.raises(ParseError, match=r"case.txt:4: unreadable !poolused row"):
        parse_text(text, "case.txt", errors=ErrorLevel.RAISE)


def test_missing_rows_are_reported_against_total() -> None:
    text = (
        " Tag     Allocs         Used     Allocs         Used\n"
        " Abcd   1204411    385411520         12         3840\n"
        " TOTAL  1204412    385411620         12         3840\n"
    )
    result = parse_text(text, "cut.txt", input_format="poolused")
    assert [w.message for w in result.warnings] == [
        "rows add up to 385415360 bytes but TOTAL says 385415460: rows are missing from this table"
    ]


def test_cut_off_table_is_noted() -> None:
    text = (
        " Tag     Allocs         Used     Allocs         Used\n"
        " Abcd   1204411    385411520         12         3840\n"
    )
    result = parse_text(text, "cut.txt", input_format="poolused")
    assert [w.message for w in result.warnings] == ["!poolused table has no TOTAL row: output may be cut off"]


def test_no_table_is_an_input_error() -> None:
    with pytest.raises(ParseError, match=r"^empty.txt: no !poolused table found"):
        parse_text("0: kd> !poolused 2\nnothing here\n", "empty.txt", input_format="poolused")


def test_sniff_prefers_poolused_tables() -> None:
    head = (sample("windbg_poolused_modern.txt")).read_text()
    assert sniff(head) == 0.9
    assert sniff("Tag  Type  Allocs  Frees  Diff  Bytes  Per Alloc\n") == 0.0
    diag = Diagnostics()
    assert diag.warnings() == []


def test_total_row_touching_its_first_number() -> None:
    text = (
        " Tag     Allocs         Used     Allocs         Used\n"
        " Abcd  12044110   7708230400         12         3840\n"
        " TOTAL12044110   7708230400         12         3840\n"
    )
    result = parse_text(text, "big.txt", input_format="poolused")
    assert result.warnings == []
    assert result.snapshots[0].totals == {"nonpaged_kb": 7708230400 // 1024, "paged_kb": 3}


def test_mail_quoted_and_wrapped_table() -> None:
    text = (
        "> 0: kd> !poolused 2\n"
        ">  Sorting by NonPaged Pool Consumed\n"
        ">\n"
        ">  Tag     Allocs         Used     Allocs         Used\n"
        ">\n"
        ">  Abcd   1204411    385411520         12         3840\tAbc request buffers for the\n"
        "> filter , Binary: abcfilt.sys\n"
        ">  Efgh      2201     70432000          0            0\tSome subsystem , Binary: nt!xyz\n"
        ">  TOTAL  1206612    455843520         12         3840\n"
    )
    result = parse_text(text, "mail.txt")
    snap = result.snapshots[0]
    assert snap.extra["command"] == "!poolused 2"
    assert snap.extra["descriptions"]["Abcd"] == "Abc request buffers for the filter , Binary: abcfilt.sys"
    assert snap.extra["binaries"]["Abcd"] == "abcfilt.sys"
    assert snap.totals == {"nonpaged_kb": 455843520 // 1024, "paged_kb": 3}
    assert [str(w) for w in result.warnings] == ["mail.txt:7: wrapped description line joined to the row above"]


def test_rows_pasted_without_their_header() -> None:
    text = "kd> !poolused 1\nAbcd 10 4 6 1920 0 0 0 0 UNKNOWN pooltag 'Abcd', please update pooltag.txt\n"
    result = parse_text(text, "rows.txt", input_format="poolused")
    row = result.snapshots[0].rows.get("Abcd", "nonpaged")
    assert (row.allocs, row.frees, row.outstanding, row.bytes) == (10, 4, 6, 1920)
    assert [w.message for w in result.warnings] == [
        "!poolused rows without a column header; columns assumed",
        "!poolused table has no TOTAL row: output may be cut off",
    ]


def test_a_message_inside_a_table_is_not_taken_for_a_wrapped_description() -> None:
    text = (
        " Tag     Allocs         Used     Allocs         Used\n"
        " Abcd        12         3840          0            0\tAbc\n"
        "Memory read error\n"
        " TOTAL       12         3840          0            0\n"
    )
    result = parse_text(text, "m.txt", input_format="poolused")
    assert result.snapshots[0].extra["descriptions"] == {"Abcd": "Abc"}
    assert [w.message for w in result.warnings] == [
        "1 line skipped; first at m.txt:3: unreadable !poolused row"
    ]


@pytest.mark.parametrize(
    ("header", "width"),
    [
        (" Tag     Allocs         Used     Allocs         Used", 4),
        (" Tag    Allocs    Frees     Diff     Used   Allocs    Frees     Diff     Used", 8),
        (" Tag    Allocs    Frees     Diff     Used", None),  # single-pool header of very old builds
        (" Tag    Allocs     Used", None),
        (" Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc", None),  # PoolMon
    ],
)
def test_header_layouts(header: str, width: int | None) -> None:
    layout = header_layout(header)
    assert (layout.width if layout else None) == width


def test_debugger_cache_statistics_before_the_table_are_noise() -> None:
    text = (
        " kd> !poolused 2\n\n"
        "*** CacheSize too low - increasing to 128 MB\n\n"
        "Max cache size is       : 134217728 bytes (0x20000 KB) \n"
        "Total memory in cache   : 157892 bytes (0x9b KB) \n"
        "Number of regions cached: 292\n"
        "2257 full reads broken into 2626 partial reads\n"
        "    counts: 2241 cached/385 uncached, 85.34% cached\n"
        "    bytes : 371524 cached/139204 uncached, 72.74% cached\n"
        "** Transition PTEs are implicitly decoded\n"
        "** Prototype PTEs are implicitly decoded\n"
        "..\n"
        " Sorting by NonPaged Pool Consumed\n\n"
        "               NonPaged                  Paged\n"
        " Tag     Allocs         Used     Allocs         Used\n\n"
        " Cont      1094      6525216          0            0\tContiguous physical memory allocations for "
        "device drivers \n"
        " EtwB       128      5041136          4       163840\tEtw Buffer , Binary: nt!etw\n"
        " TOTAL     1222     11566352          4       163840\n"
    )
    result = parse_text(text, "kd.txt")
    assert result.warnings == []
    snap = result.snapshots[0]
    assert len(snap.rows) == 4
    assert snap.extra["descriptions"]["Cont"] == "Contiguous physical memory allocations for device drivers"


def test_oldest_layout_with_eight_wide_columns_and_an_overflowing_number() -> None:
    rows = [("Abcd", 201326, 64424320, 0, 0), ("Big ", 7, 123456789, 0, 0), ("CM  ", 0, 0, 10231, 19890176)]
    lines = ["   Sorting by Tag", "", "  Pool Used:", "            NonPaged            Paged",
             " Tag    Allocs     Used    Allocs     Used"]
    lines += [f" {t} {a:8d} {u:8d}  {pa:8d} {pu:8d}" for t, a, u, pa, pu in rows]  # the extension's printf
    result = parse_text("\n".join(lines) + "\n", "old.txt", input_format="poolused")
    snap = result.snapshots[0]
    assert snap.rows.get("Big ", "nonpaged").bytes == 123456789
    assert snap.rows.get("CM  ", "paged").outstanding == 10231
    assert snap.extra["sort"] == "Tag"
