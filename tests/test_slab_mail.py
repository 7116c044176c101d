"""Linux slab data as it arrives by mail, and the slabinfo variants of round two."""

from __future__ import annotations

import pytest
from cli_helpers import SAMPLES

from parsers import InputError, parse, parse_text

V21 = SAMPLES / "slabinfo_v21_extra_columns.txt"


def _rows(snap):
    return {r.tag: (r.outstanding, r.bytes) for r in snap.rows}


def test_quoted_wrapped_qp_mail_gives_the_clean_rows():
    clean = parse([V21]).snapshots[0]
    result = parse([SAMPLES / "slabinfo_mail_wrapped.txt"])
    [snap] = result.snapshots
    assert _rows(snap) == _rows(clean)  # every row was broken in two; one also by a QP soft break
    assert snap.totals["nonpaged_kb"] == 412880
    assert snap.extra["partial"] is True  # the "..." elision
    messages = [w.message for w in result.warnings]
    assert any("wrapped" in m for m in messages)
    assert any("elision" in m for m in messages)
    assert not any("skipped" in m for m in messages)  # the prose around it is not data


def test_two_slabtop_screens_in_one_mail():
    result = parse([SAMPLES / "slabtop_two_screens_mail.txt"])
    assert len(result.snapshots) == 2
    first, second = (s.rows.get("kmalloc-256", "nonpaged").outstanding for s in result.snapshots)
    assert (first, second) == (31250, 33050)
    assert result.warnings == []


def test_v11_statistics_without_smp():
    [snap] = parse([SAMPLES / "slabinfo_v11_stats_nosmp.txt"]).snapshots
    assert snap.extra["slabinfo_version"] == "1.1"
    assert _rows(snap)["file lock cache"] == (38, 38 * 92)
    assert _rows(snap)["size-256"] == (1350, 1350 * 256)


def test_v21_extra_trailing_columns_are_tolerated():
    result = parse([V21])
    assert len(result.snapshots[0].rows) == 8 and result.warnings == []
    assert _rows(result.snapshots[0])["kmalloc-256"] == (31250, 31250 * 256)


def test_slab_text_with_no_readable_row_is_an_error_not_an_empty_success():
    text = "slabinfo - version: 2.1\nthis 1 2 is : not 3 a row\n"
    with pytest.raises(InputError, match="no cache row"):
        parse_text(text)


def test_rows_wrapped_after_the_cache_name_in_slabtop():
    text = (" Active / Total Objects (% used)    : 10 / 10 (100.0%)\n\n"
            "  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME\n"
            "    64     60  93%    0.25K      2       32        16K\n"
            "kmalloc-256\n")
    result = parse_text(text)
    assert result.snapshots[0].rows.get("kmalloc-256", "nonpaged").outstanding == 60
