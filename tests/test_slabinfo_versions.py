"""slabinfo and slabtop text of every version and variant parses into cache rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers import parse, parse_text
from parsers.errors import ParseError
from parsers.slabinfo import LAYOUT_2X, layout_from_header

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def rows(path: str) -> dict[str, tuple[int | None, int | None]]:
    result = parse([SAMPLES / path])
    assert len(result.snapshots) == 1
    snap = result.snapshots[0]
    assert snap.format == "slabinfo"
    assert set(snap.rows.pools()) == {"nonpaged"}
    for row in snap.rows:
        assert row.allocs is None and row.frees is None
    return {r.tag: (r.outstanding, r.bytes) for r in snap.rows}


def test_v21_rows_and_meminfo_totals() -> None:
    result = parse([SAMPLES / "slabinfo_v21.txt"])
    assert result.warnings == []
    snap = result.snapshots[0]
    assert snap.extra["slabinfo_version"] == "2.1"
    got = {r.tag: (r.outstanding, r.bytes) for r in snap.rows}
    assert got["ext4_inode_cache"] == (48811, 48811 * 1096)
    assert got["sock_inode_cache"] == (912, 912 * 832)
    assert got["net_namespace"] == (0, 0)
    assert len(got) == 9
    assert snap.totals == {
        "nonpaged_kb": 612340,
        "slab_unreclaimable_kb": 211120,
        "slab_reclaimable_kb": 401220,
        "memory_kb": 16302436,
        "avail_kb": 13120552,
        "commit_kb": 4480312,
        "commit_limit_kb": 8151216,
    }


def test_v20_header_typo_still_names_the_columns() -> None:
    got = rows("slabinfo_v20.txt")
    assert got["ip_conntrack"] == (1320, 1320 * 256)
    assert got["size-32(DMA)"] == (0, 0)
    assert got["dentry_cache"] == (22610, 22610 * 144)
    layout = layout_from_header(
        "<active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <batchcount> "
        "<limit <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>"
    )
    assert layout is not None
    assert layout.lead == LAYOUT_2X.lead
    assert layout.sections[0] == ("tunables", ("batchcount", "limit", "sharedfactor"))


def test_v11_plain_with_names_containing_spaces() -> None:
    got = rows("slabinfo_v11.txt")
    assert got["file lock cache"] == (3, 3 * 92)
    assert got["size-4096(DMA)"] == (0, 0)
    assert got["inode_cache"] == (4402, 4402 * 480)
    assert len(got) == 9


def test_v11_smp_limit_batchcount() -> None:
    got = rows("slabinfo_v11_smp.txt")
    assert got["file lock cache"] == (38, 38 * 92)
    assert got["buffer_head"] == (21960, 21960 * 96)
    assert len(got) == 7


def test_v11_statistics_five_extra_counters() -> None:
    got = rows("slabinfo_v11_stats.txt")
    assert got == {
        "kmem_cache": (80, 80 * 244),
        "file lock cache": (38, 38 * 92),
        "inode_cache": (7040, 7040 * 480),
        "dentry_cache": (9240, 9240 * 128),
    }


def test_vendor_extra_sections_are_tolerated() -> None:
    got = rows("slabinfo_vendor.txt")
    assert got == {
        "nfs_inode_cache": (3240, 3240 * 1016),
        "radix_tree_node": (14014, 14014 * 560),
        "eventpoll_epi": (420, 420 * 128),
    }


def test_counts_that_touch_are_split_by_the_identities() -> None:
    result = parse([SAMPLES / "slabinfo_touching.txt"])
    snap = result.snapshots[0]
    assert snap.rows.get("buffer_head", "nonpaged").outstanding == 1234567
    assert snap.rows.get("buffer_head", "nonpaged").bytes == 1234567 * 104
    assert [str(w) for w in result.warnings] == [
        f"{SAMPLES / 'slabinfo_touching.txt'}:3: cache 'buffer_head': numbers ran together; "
        "split where the counts add up"
    ]
    assert len(snap.rows) == 3


def test_touching_counts_that_cannot_be_split_are_skipped_with_a_warning() -> None:
    text = (
        "slabinfo - version: 2.1\n"
        "# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> "
        "<batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
        "foo 111111 64 64 1 : tunables 0 0 0 : slabdata 2 2 0\n"
        "bar 10 16 64 16 1 : tunables 0 0 0 : slabdata 1 1 0\n"
    )
    result = parse_text(text, "t.txt")
    assert [r.tag for r in result.snapshots[0].rows] == ["bar"]
    assert len(result.warnings) == 1
    assert str(result.warnings[0]).startswith("t.txt:3: 1 line skipped; first at t.txt:3: 4 numbers before ':'")
    with pytest.raises(ParseError, match=r"t.txt:3: 4 numbers"):
        parse_text(text, "t.txt", errors="raise")


def test_name_touching_its_first_count_is_not_guessed() -> None:
    # "cache38" could be cache + 38 or cache3 + 8: both add up, so the row is reported, not guessed.
    text = "slabinfo - version: 1.1\nfile lock cache38     42     92    1    1    1\nuid_cache 5 113 32 1 1 1\n"
    result = parse_text(text, "v.txt")
    assert [r.tag for r in result.snapshots[0].rows] == ["uid_cache"]
    assert [str(w) for w in result.warnings] == [
        "v.txt:2: 1 line skipped; first at v.txt:2: 5 numbers before ':' where the header names 6; "
        "cannot split them safely"
    ]


def test_name_ending_in_a_number_word() -> None:
    text = "slabinfo - version: 1.1\nbio 2     12     16    192    1    1    1\n"
    snap = parse_text(text).snapshots[0]
    assert [(r.tag, r.outstanding) for r in snap.rows] == [("bio 2", 12)]


def test_slabtop_output() -> None:
    got = rows("slabtop_o.txt")
    # slabtop prints sizes to 1/100 KB: 0.19K is 195 bytes as far as anyone can tell.
    assert got["dentry"] == (66399, 66399 * 195)
    assert got["sock_inode_cache"] == (912, 912 * 829)
    assert got["ext4_inode_cache"] == (48811, 48811 * 1096)
    assert len(got) == 6


def test_series_with_date_markers_gives_timed_snapshots() -> None:
    result = parse([SAMPLES / "slabinfo_series.txt"])
    assert result.warnings == []
    snaps = result.snapshots
    assert len(snaps) == 10
    assert [s.timestamp.isoformat() for s in snaps[:3]] == [
        "2026-11-21T08:00:00+00:00",
        "2026-11-21T09:00:01+00:00",
        "2026-11-21T10:00:02+00:00",
    ]
    assert [s.rows.get("kmalloc-256", "nonpaged").outstanding for s in snaps[:4]] == [2040, 5140, 8240, 11340]
    assert [s.totals["nonpaged_kb"] for s in snaps[:4]] == [612340, 613140, 613940, 614740]


def test_detection_picks_slabinfo_for_every_sample() -> None:
    for path in sorted(SAMPLES.glob("slab*.txt")):
        result = parse([path])
        assert result.sources[0].format == "slabinfo", path


def test_not_slabinfo_is_a_clear_error() -> None:
    from parsers.errors import InputError

    with pytest.raises(InputError, match="no slabinfo or slabtop output found"):
        parse_text("hello\nworld\n", "x.txt", input_format="slabinfo")


def test_trend_names_the_growing_cache_in_the_series() -> None:
    from analyzer.analysis.trend import analyze

    result = analyze(parse([SAMPLES / "slabinfo_series.txt"]).snapshots)
    verdicts = {r.tag: r.verdict for r in result.rows}
    assert verdicts["kmalloc-256"] == "leak"
    assert verdicts["dentry"] == "stable"
    assert verdicts["eventpoll_epi"] == "stable"
