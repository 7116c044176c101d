"""``poolscope show``: PoolMon's table of one snapshot, its sort keys, filters, pools and totals.

Exact screens live in tests/golden/show/ (regenerate with POOLSCOPE_UPDATE_GOLDEN=1 and review);
the rest checks the rules behind them on every sample.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import click
import pytest
from cli_helpers import fixed_sample_tree, invoke, sample_inputs
from hypothesis import given
from hypothesis import strategies as st

from analyzer.analysis.filters import TagFilter
from analyzer.analysis.show import ShowOptions, show_snapshot
from analyzer.owners import OwnerResolver, annotate_rows
from analyzer.owners.database import OwnerCandidate, OwnerDatabase
from analyzer.render.show_screen import render_show
from parsers import ParseResult, Row, RowTable, Snapshot, SourceInfo, parse_text
from parsers.errors import InputError

GOLDEN = Path(__file__).resolve().parent / "golden" / "show"
UPDATE = os.environ.get("POOLSCOPE_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fixed_sample_tree(tmp_path_factory.mktemp("cli_show"))


SCREENS = {
    "session_default": ["samples/console_session1.txt"],
    "first_filtered_nonpaged": ["samples/leak_appended.log", "--snapshot", "first", "-i", "Wdr?", "-i", "Dh*",
                                "--pool", "nonpaged"],
    "folder_paged_by_tag_totals": ["samples/poolsnap", "--sort", "tag", "--pool", "paged", "-i", "C*",
                                   "-x", "CM3?", "--totals"],
    "by_change_top5": ["samples/leak_appended.log", "--by-change", "--top", "5"],
    "zip_per_alloc": ["samples/bugreport_screens.zip", "--snapshot", "0", "--sort", "per-alloc"],
}


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_matches_golden(tree, name):
    run = invoke(tree, "show", *SCREENS[name])
    assert run.code == 0, run.err
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(run.out, encoding="utf-8")
    assert run.out == path.read_text(encoding="utf-8")


def _json(tree: Path, *args: str) -> dict:
    run = invoke(tree, "show", "--format", "json", *args)
    assert run.code == 0, run.err
    return json.loads(run.out)


SORT_FIELD = {"allocs": "allocs", "frees": "frees", "diff": "outstanding", "bytes": "bytes",
              "per-alloc": "per_alloc"}


@pytest.mark.parametrize("sample", ["samples/leak_appended.log", "samples/console_session1.txt",
                                    "samples/pasted_forum.txt", "samples/windbg_poolused_modern.txt"])
@pytest.mark.parametrize("key", ["tag", "allocs", "frees", "diff", "bytes", "per-alloc"])
def test_sort_keys(tree, sample, key):
    rows = _json(tree, sample, "--sort", key)["rows"]
    if key == "tag":
        keys = [(r["tag"], r["pool"] != "nonpaged") for r in rows]
        assert keys == sorted(keys)
        return
    values = [r[SORT_FIELD[key]] for r in rows]
    known = [v for v in values if v is not None]
    # Largest first, like PoolMon; rows without the value (a !poolused row has no allocs) come last.
    assert known == sorted(known, reverse=True)
    assert values == known + [None] * (len(values) - len(known))
    # Ties are broken by tag, so the order is stable from run to run.
    for a, b in itertools.pairwise(rows):
        if a[SORT_FIELD[key]] == b[SORT_FIELD[key]] and a[SORT_FIELD[key]] is not None:
            assert (a["tag"], a["pool"]) <= (b["tag"], b["pool"])


@pytest.mark.parametrize("key", ["allocs", "frees", "bytes"])
def test_by_change_uses_the_screen_change_columns(tree, key):
    rows = _json(tree, "samples/console_session1.txt", "--by-change", "--sort", key)["rows"]
    values = [r[f"{key}_change"] for r in rows]
    assert values == sorted(values, reverse=True)


def test_by_change_diff_sorts_on_outstanding_change(tree):
    rows = _json(tree, "samples/console_session1.txt", "--by-change", "--sort", "diff")["rows"]
    values = [r["allocs_change"] - r["frees_change"] for r in rows]
    assert values == sorted(values, reverse=True)


def test_changes_in_a_log_are_since_the_previous_snapshot(tree):
    data = json.loads(invoke(tree, "parse", "--format", "json", "samples/leak_appended.log").out)
    before = {(r["tag"], r["pool"]): r for r in data["snapshots"][4]["rows"]}
    shown = _json(tree, "samples/leak_appended.log", "--snapshot", "5")
    assert shown["change_origin"] == "samples/leak_appended.log#4"
    for r in shown["rows"]:
        prev = before[(r["tag"], r["pool"])]
        assert r["allocs_change"] == r["allocs"] - prev["allocs"]
        assert r["frees_change"] == r["frees"] - prev["frees"]
        assert r["bytes_change"] == r["bytes"] - prev["bytes"]


def test_first_snapshot_of_a_log_has_no_changes(tree):
    shown = _json(tree, "samples/leak_appended.log", "--snapshot", "first")
    assert shown["change_origin"] is None
    assert all(r["bytes_change"] is None for r in shown["rows"])


def test_pool_filter_and_top(tree):
    rows = _json(tree, "samples/leak_appended.log", "--pool", "paged", "--top", "3")["rows"]
    assert [r["pool"] for r in rows] == ["paged"] * 3
    everything = _json(tree, "samples/leak_appended.log", "--pool", "paged")
    assert everything["matched"] == 27
    assert rows == everything["rows"][:3]


def test_include_exclude_are_case_sensitive(tree):
    tags = {r["tag"] for r in _json(tree, "samples/leak_appended.log", "-i", "N*", "-x", "ND*")["rows"]}
    assert tags == {"Ntfr", "Ntfx", "Ntff"}
    assert _json(tree, "samples/leak_appended.log", "-i", "n*")["rows"] == []


def test_padded_tag_matches_unpadded_pattern(tree):
    rows = _json(tree, "samples/leak_appended.log", "-i", "Io", "-i", "CM")["rows"]
    assert sorted(r["tag"] for r in rows) == ["CM  ", "Io  "]


def test_negative_snapshot_counts_from_the_end(tree):
    a = _json(tree, "samples/leak_appended.log", "--snapshot", "-2")
    b = _json(tree, "samples/leak_appended.log", "--snapshot", "12")
    assert a == b and a["position"] == 12


def test_csv_output(tree):
    run = invoke(tree, "show", "--format", "csv", "--top", "2", "samples/console_session1.txt")
    assert run.out == (
        "tag,pool,allocs,frees,diff,bytes,per_alloc,allocs_change,frees_change,bytes_change,owner\n"
        "Gh05,paged,432709,430534,2175,4449547,2045,9,46,-474704,\n"
        "Gpfe,paged,6219,6058,161,651728,4048,0,1,-4048,\n"
    )


def test_bad_snapshot_spec_is_a_usage_error(tree):
    run = invoke(tree, "show", "--snapshot", "latest", "samples/console_session1.txt")
    assert run.code == 2
    assert "Invalid value for '--snapshot': not a snapshot: 'latest'" in run.err


# -- the library -----------------------------------------------------------------------------------

SCREEN = """\
 Memory: 8388020K Avail: 3125332K  PageFlts:   412   InRam Krnl: 5124K P:61312K
 Commit:4411208K Limit:9830400K Peak:5120332K            Pool N:310228K P:402116K
 System pool information
 Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc

 Abcd Nonp     1520331 (  12)    1519870 (  10)      461   147520 (   640)    320
 Io   Nonp       88120 (   0)      87993 (   0)      127    40640 (     0)    320
 Dh 2 Paged        731 (   0)        700 (   0)       31     9920 (     0)    320
 Qrst Paged   10233456( -3)    10233000 (   1)      456   291840 ( -1088)    640
"""


def test_library_render_with_totals():
    result = parse_text(SCREEN, "screen.txt")
    known = OwnerDatabase()
    known.add(OwnerCandidate("Abcd", "abc.sys", "", "test"))
    shown = show_snapshot(result, ShowOptions(sort="allocs"))
    annotate_rows(OwnerResolver(known), shown.rows)
    assert [r.tag for r in shown.rows] == ["Qrst", "Abcd", "Io  ", "Dh 2"]
    text = render_show(shown, totals=True)
    assert text.splitlines()[1] == " System pool information - time unknown - screen.txt#0, snapshot 1 of 1"
    assert text.splitlines()[2:] == [
        " Tag   Type     Allocs   ( )     Frees   ( )  Diff   Bytes      ( )  Per Alloc  Owner",
        "",
        " Qrst  Paged  10233456  (-3)  10233000   (1)   456  291840  (-1088)        640",
        " Abcd  Nonp    1520331  (12)   1519870  (10)   461  147520    (640)        320  abc.sys",
        " Io    Nonp      88120   (0)     87993   (0)   127   40640      (0)        320",
        " Dh 2  Paged       731   (0)       700   (0)    31    9920      (0)        320",
        "",
        " Totals    Rows    Allocs     Frees  Diff   Bytes",
        " Nonpaged     2   1608451   1607863   588  188160",
        " Paged        2  10234187  10233700   487  301760",
        "",
        " 4 rows",
    ]
    assert text.splitlines()[0] == (" Memory: 8388020K  Avail: 3125332K  Commit: 4411208K  Limit: 9830400K  "
                                    "Peak: 5120332K  Pool N: 310228K  P: 402116K")


def test_library_options_are_checked():
    with pytest.raises(ValueError, match="unknown sort key 'size'"):
        ShowOptions(sort="size")
    with pytest.raises(ValueError, match="unknown pool 'session'"):
        ShowOptions(pool="session")


def test_library_by_change_without_changes_names_the_snapshot():
    # One snapshot file (no change columns) and nothing earlier to compare with.
    result = parse_text(SCREEN.split(" Tag")[0] + " Tag  Type     Allocs      Frees     Diff    Bytes  Per Alloc\n\n"
                        " Abcd Nonp     1520331    1519870      461   147520    320\n", "snap.txt")
    with pytest.raises(InputError, match=r"^snap.txt#0: no change columns to sort by"):
        show_snapshot(result, ShowOptions(by_change=True))


def test_scope_picks_among_snapshots_of_one_scope(tree):
    # The banner log alternates system screens and header-only all-sessions screens.
    shown = _json(tree, "samples/banners_cp1252.log", "--scope", "system")
    assert (shown["scope"], shown["index"], shown["position"], shown["change_origin"]) == (
        "system", 4, 2, "samples/banners_cp1252.log#2")
    # Without --scope a mixed log shows the system pool, as PoolMon does.
    assert _json(tree, "samples/banners_cp1252.log") == shown
    empty = _json(tree, "samples/banners_cp1252.log", "--scope", "all-sessions", "--by-change")
    assert (empty["scope"], empty["rows"]) == ("all-sessions", [])
    run = invoke(tree, "show", "--scope", "session:1", "samples/banners_cp1252.log")
    assert run.code == 2
    assert run.err.splitlines()[-1] == (
        "Error: samples/banners_cp1252.log: no snapshot of scope 'session:1' (found: system, all-sessions)")


@pytest.mark.parametrize("sample", sample_inputs())
def test_every_sample_shows(tree, sample):
    """Each sample's last snapshot shows, with the row count and byte total its JSON says."""
    snaps = json.loads(invoke(tree, "parse", "--format", "json", sample).out)["snapshots"]
    if not snaps:
        # A debugger log with no !poolused table (triage reads it): show says so in one line.
        run = invoke(tree, "show", sample)
        assert run.code == 2 and run.err.strip() and "Traceback" not in run.err
        return
    scopes = {s["scope"] for s in snaps}
    if len(scopes) > 1 and "system" in scopes:
        snaps = [s for s in snaps if s["scope"] == "system"]
    parsed = snaps[-1]
    shown = _json(tree, sample, "--top", "1000000")
    assert (shown["source"], shown["index"]) == (parsed["source"], parsed["index"])
    assert len(shown["rows"]) == len(parsed["rows"])
    assert sum(r["bytes"] or 0 for r in shown["rows"]) == sum(r["bytes"] or 0 for r in parsed["rows"])
    text = invoke(tree, "show", sample)
    assert text.code == 0 and "Traceback" not in text.err


# -- properties of the library over generated snapshots ---------------------------------------------

gen_tags = st.text(st.sampled_from(list("AbCd 1?*")), min_size=1, max_size=4).map(lambda t: t.ljust(4))
gen_num = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))
gen_rows = st.lists(st.tuples(gen_tags, st.sampled_from(["nonpaged", "paged"]), gen_num, gen_num, gen_num),
                    max_size=25, unique_by=lambda r: (r[0], r[1]))


@given(gen_rows, gen_rows, st.sampled_from(["tag", "allocs", "frees", "diff", "bytes", "per-alloc"]),
       st.booleans(), st.sampled_from(["both", "nonpaged", "paged"]),
       st.lists(st.sampled_from(["A*", "?b*", "C", "*1*"]), max_size=2), st.lists(st.sampled_from(["*d", "1*"]),
                                                                               max_size=1))
def test_show_properties(before, after, key, by_change, pool, include, exclude):
    def snap(rows, index):
        table = RowTable.from_rows(Row(t, p, allocs=a, frees=f, outstanding=None if a is None or f is None else
                                       a - f, bytes=b) for t, p, a, f, b in rows)
        return Snapshot("g.log", index, "poolsnap", table)

    result = ParseResult([snap(before, 0), snap(after, 1)], [], [SourceInfo("g.log", "poolsnap", "utf-8", 2)])
    options = ShowOptions(sort=key, by_change=by_change, pool=pool, include=include, exclude=exclude)
    try:
        shown = show_snapshot(result, options)
    except InputError:
        assert by_change  # only a change sort can be impossible
        return
    f = TagFilter(include, exclude)
    expected = {(t, p) for t, p, *_ in after if f.matches(t) and pool in ("both", p)}
    assert {(r.tag, r.pool) for r in shown.rows} == expected
    field = {"allocs": "allocs", "frees": "frees", "diff": "diff", "bytes": "bytes", "per-alloc": "per_alloc"}
    if by_change:
        attr = {"allocs": "allocs_change", "frees": "frees_change", "bytes": "bytes_change"}.get(key, "bytes_change")
        values = [(r.allocs_change - r.frees_change if None not in (r.allocs_change, r.frees_change) else None)
                  if key == "diff" else getattr(r, attr) for r in shown.rows]
    elif key == "tag":
        values = None
        assert [(r.tag, r.pool) for r in shown.rows] == sorted((r.tag, r.pool) for r in shown.rows)
    else:
        values = [getattr(r, field[key]) for r in shown.rows]
    if values is not None:
        known = [v for v in values if v is not None]
        assert known == sorted(known, reverse=True)
        assert values == known + [None] * (len(values) - len(known))
    for r in shown.rows:
        if r.per_alloc is not None:
            assert r.per_alloc == r.bytes // r.diff


def test_colour_marks_growth_red_and_shrink_green():
    shown = show_snapshot(parse_text(SCREEN, "screen.txt"), ShowOptions(sort="tag"))
    plain = render_show(shown)
    coloured = render_show(shown, color=True)
    assert "\x1b[" not in plain
    lines = {line.split()[0] if not line.startswith("\x1b") else line[5:].split()[0]: line
             for line in coloured.splitlines()[4:8]}
    assert lines["Abcd"].startswith("\x1b[31m")  # bytes +640: red
    assert lines["Qrst"].startswith("\x1b[32m")  # bytes -1088: green
    assert not lines["Io"].startswith("\x1b")  # unchanged
    assert click.unstyle(coloured) == plain


def test_snapshot_by_time(tree):
    # 16:00 lies between frames at 15:43:20 and 16:08:25 of the appended log; the later is nearer.
    shown = _json(tree, "samples/leak_appended.log", "--snapshot", "2026-11-21T16:00")
    assert (shown["index"], shown["timestamp"]) == (5, "2026-11-21T16:08:25.460000")
