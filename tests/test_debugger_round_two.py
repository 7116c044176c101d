"""Debugger output as people paste it: elisions, several views of one dump, no prompt lines,
per-driver !verifier blocks, and the triage that follows from them."""

from __future__ import annotations

from cli_helpers import SAMPLES

from analyzer.analysis.triage import triage_transcript
from parsers import parse, parse_text
from parsers.debugger.analyze import read_analyze
from parsers.debugger.pool import read_pool
from parsers.formats import detect
from parsers.textio import read_path
from parsers.transcript import read_text, read_transcript


def test_elisions_mark_the_table_partial_and_are_no_description():
    result = parse([SAMPLES / "windbg_poolused_elided.txt"])
    [snap] = result.snapshots
    assert snap.extra["partial"] is True and snap.extra["elided"] is True
    assert not any("..." in d or "snip" in d for d in snap.extra["descriptions"].values())
    assert sum("elision" in w.message for w in result.warnings) == 3
    assert not any("rows are missing" in w.message for w in result.warnings)  # the elision explains it
    assert snap.totals["nonpaged_kb"] > 0  # the TOTAL row still gives the pool total


def test_two_sort_views_of_one_dump_are_one_snapshot():
    result = parse([SAMPLES / "windbg_poolused_two_views.txt"])
    [snap] = result.snapshots
    assert len(snap.rows) == 24 and not snap.extra.get("partial")
    assert snap.extra["also_printed_by"] == ["!poolused 4"]


def test_top_view_merges_into_the_complete_table_but_a_new_sample_does_not():
    table = ("0: kd> !poolused {flags}\n Sorting by NonPaged Pool Consumed\n\n"
             "               NonPaged                  Paged\n Tag     Allocs         Used     Allocs         Used\n\n"
             "{rows} TOTAL {ta:>8} {tu:>12} {tb:>10} {tv:>12}\n")
    rows = [("Abcd", 100, 6400), ("Efgh", 50, 3200), ("Ijkl", 10, 640)]

    def text(flags: str, data) -> str:
        body = "".join(f" {t} {a:>9} {u:>12} {0:>10} {0:>12}\n" for t, a, u in data)
        return table.format(flags=flags, rows=body, ta=sum(r[1] for r in data), tu=sum(r[2] for r in data),
                            tb=0, tv=0)

    same = parse_text(text("2", rows) + text("/t 2 2", rows[:2]))
    assert len(same.snapshots) == 1 and len(same.snapshots[0].rows) == 6
    grown = [("Abcd", 200, 12800), *rows[1:]]
    later = parse_text(text("2", rows) + text("2", grown))
    assert len(later.snapshots) == 2  # numbers differ: a later moment, not a second view


def test_output_without_prompt_lines_is_read_by_its_shape():
    source = next(read_path(SAMPLES / "windbg_pasted_no_prompt.txt"))
    assert detect(source).name == "transcript"
    t = read_transcript(source)
    kinds = [c.kind for c in t.commands]
    assert {"vm", "pool", "poolfind"} <= set(kinds)
    assert t.vm and "nonpaged_usage_kb" in t.vm[0].untrusted
    assert t.bugcheck is not None and t.bugcheck.code == 0x19
    assert t.bugcheck.params == [0x20, 0xFFFFB30C5A3C09F0, 0xFFFFB30C5A3C0A10, 0x4020011]
    large = [a for a in t.allocations if a.size == 0x2000 and a.current]
    assert large and large[0].tag == "Lkq7" and large[0].pool is None  # "region is Unknown"


def test_fatal_system_error_on_one_line():
    bug = read_analyze(["*** Fatal System Error: 0x00000041 (0x00001000,0x0000FF84,0x00000000,0x00000003)"])
    assert bug is not None and (bug.code, bug.params) == (0x41, [0x1000, 0xFF84, 0, 3])


def test_large_page_allocation_line():
    report = read_pool(["Pool page ffff800011112000 region is Paged pool",
                        "*ffff800011112000 : large page allocation, tag is MmSt, size is 0x3000 bytes"], "!pool x")
    [a] = report.allocations
    assert (a.tag, a.size, a.pool, a.current) == ("MmSt", 0x3000, "paged", True)


def test_per_driver_verifier_block_and_triage_names_the_unloaded_driver():
    t = read_transcript(SAMPLES / "windbg_verifier_unloaded.txt")
    drivers = {d.name: d for v in t.verifier for d in v.drivers}
    lkq, zq = drivers["lkqflt.sys"], drivers["zqnet.sys"]
    assert lkq.unloaded and lkq.holds_pool and not zq.unloaded
    assert lkq.counters["current_nonpaged_bytes"] == 0x600
    assert [a.size for a in lkq.allocations] == [0x200] * 3
    assert lkq.allocations[0].symbol == "lkqflt!LkqAllocContext+0x54"
    report = triage_transcript(t)
    assert report.category == "leak-at-unload"
    assert report.suspects == ["lkqflt.sys"]
    assert "lkqflt.sys was unloaded without freeing its pool" in report.summary
    assert not any(c.startswith("!verifier 3") for c in report.next_commands)  # the log lists them


def test_exhaustion_does_not_rest_on_an_unbelievable_vm_figure():
    report = triage_transcript(read_transcript(SAMPLES / "windbg_pasted_no_prompt.txt"))
    assert report.category == "corruption" and report.exhausted_pool is None
    assert any("not believable: ignored" in f for f in report.findings)
    # Evidence without any !poolused table: what !poolfind and !pool showed is still named.
    assert any(f.startswith("evidence for tag 'Lkq7'") and "lkqflt.sys" in f for f in report.findings)


def test_no_special_pool_for_the_tag_of_a_free_damaged_block():
    report = triage_transcript(read_transcript(SAMPLES / "windbg_pasted_no_prompt.txt"))
    assert not any("PoolTag" in c for c in report.next_commands)
    assert any("the damaged block is free" in f for f in report.findings)


def test_excessive_warning_alone_with_trusted_figures_still_means_exhaustion():
    text = ("0: kd> !vm\nNonPagedPool Usage:    123456 (   493824 Kb)\nNonPagedPool Max:      124000 (   496000 Kb)\n"
            "********** Excessive NonPaged Pool Usage *****\n")
    report = triage_transcript(read_text(text, "vm.log"))
    assert (report.category, report.exhausted_pool) == ("exhaustion", "nonpaged")
