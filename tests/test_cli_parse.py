"""``poolscope parse``: the JSON contract, CSV rows, the summary table, stdin and options."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import datetime
from pathlib import Path

import pytest
from cli_helpers import SAMPLES, fixed_sample_tree, invoke, poolscope
from hypothesis import given
from hypothesis import strategies as st

from analyzer.render.parse_output import CSV_COLUMNS, to_csv, to_json
from parsers import ParseResult, ParseWarning, Row, RowTable, Snapshot, TimeOrigin


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fixed_sample_tree(tmp_path_factory.mktemp("cli_parse"))


TABLE = """\
6 snapshots from 2 sources
#   Source                           Timestamp             From     Scope       Format     Rows   Nonpaged     Paged
────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
0   samples/console_session1.txt#0   2026-11-21 12:00:00   mtime    session:1   poolmon      19        0 B    8.1 MB
1   samples/server_de.log#0          2026-11-21 14:03:09   marker   system      poolsnap     20        0 B   61.3 MB
2   samples/server_de.log#1          2026-11-21 14:33:08   marker   system      poolsnap     20        0 B   61.8 MB
3   samples/server_de.log#2          2026-11-21 15:03:08   marker   system      poolsnap     20        0 B   62.6 MB
4   samples/server_de.log#3          2026-11-21 15:33:12   marker   system      poolsnap     20        0 B   63.0 MB
5   samples/server_de.log#4          2026-11-21 16:03:08   marker   system      poolsnap     20        0 B   63.1 MB

samples/console_session1.txt: poolmon, utf-8, 1 snapshot
samples/server_de.log: poolmon, utf-8, 5 snapshots
"""


def test_table_is_one_line_per_snapshot(tree):
    run = invoke(tree, "parse", "samples/console_session1.txt", "samples/server_de.log.gz")
    assert run.code == 0
    assert run.out == TABLE
    assert run.err == (
        "note: 5 rows in 1 file repaired exactly (numbers that ran together, split with PoolMon's identities; "
        "first at samples/server_de.log:14); -v lists them\n"
    )


def test_table_totals_are_the_row_sums(tree):
    data = json.loads(invoke(tree, "parse", "--format", "json", "samples/console_session1.txt").out)
    paged = sum(r["bytes"] for r in data["snapshots"][0]["rows"])
    assert paged == 8_494_472  # checked with awk over the screen (minding the "Dh 1" tag)
    assert f"{paged / 1024**2:.1f} MB" == "8.1 MB"


CSV_HEAD = """\
source,index,timestamp,time_origin,scope,format,tag,pool,allocs,frees,outstanding,bytes,allocs_change,\
frees_change,bytes_change,per_alloc,mapped_driver,owner
samples/console_session1.txt,0,2026-11-21T12:00:00,mtime,session:1,poolmon,Gh05,paged,432709,430534,2175,\
4449547,9,46,-474704,2045,,
samples/console_session1.txt,0,2026-11-21T12:00:00,mtime,session:1,poolmon,Gpfe,paged,6219,6058,161,651728,\
0,1,-4048,4048,,
"""


def test_csv_rows(tree):
    run = invoke(tree, "parse", "--format", "csv", "samples/console_session1.txt")
    assert run.code == 0
    assert run.out.startswith(CSV_HEAD)
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert len(rows) == 19
    last = rows[-1]
    assert (last["tag"], last["allocs"], last["allocs_change"], last["bytes_change"], last["per_alloc"]) == (
        "Qrst", "10233456", "-3", "-1088", "640")
    # Ghab has nothing outstanding: Per Alloc is undefined, so the cell is empty, not 0.
    ghab = next(r for r in rows if r["tag"] == "Ghab")
    assert (ghab["outstanding"], ghab["bytes"], ghab["per_alloc"]) == ("0", "0", "")


def test_csv_keeps_padding_drivers_and_owners(tree):
    rows = list(csv.DictReader(io.StringIO(invoke(tree, "parse", "--format", "csv",
                                                  "samples/bugreport_screens.zip").out)))
    assert len(rows) == 16
    cm = next(r for r in rows if r["tag"] == "CM  ")
    assert cm["source"] == "samples/bugreport_screens.zip!before_update.txt"
    assert cm["mapped_driver"] == "[nt!cm - Configuration Manager (registry)]"
    assert cm["owner"] == "nt!cm - Configuration Manager (registry)"
    dh2 = next(r for r in rows if r["tag"] == "Dh 2")
    assert (dh2["mapped_driver"], dh2["owner"]) == ("Unknown Driver", "")


def test_json_contract_shape(tree):
    data = json.loads(invoke(tree, "parse", "--format", "json", "samples/leak_appended.log").out)
    assert list(data) == ["snapshots", "warnings", "owners"]
    snap = data["snapshots"][0]
    assert list(snap) == ["source", "index", "format", "timestamp", "scope", "totals", "rows"]
    assert (snap["source"], snap["index"], snap["format"], snap["timestamp"], snap["scope"]) == (
        "samples/leak_appended.log", 0, "poolsnap", "2026-11-21T14:03:07.120000", "system")
    assert list(snap["totals"]) == ["nonpaged_kb", "paged_kb", "memory_kb", "avail_kb", "commit_kb",
                                    "commit_limit_kb", "commit_peak_kb"]
    wdrq = next(r for r in snap["rows"] if r["tag"] == "Wdrq")
    assert wdrq == {"tag": "Wdrq", "pool": "nonpaged", "allocs": 233392, "frees": 232983, "outstanding": 409,
                    "bytes": 261760, "owner": "wdrfilt.sys - Widget filter request queue"}
    assert [s["index"] for s in data["snapshots"]] == list(range(14))
    assert data["warnings"] == [{"source": "samples/leak_appended.log", "line": 31, "message":
                                 "14 rows whose numbers ran together were split with Diff = Allocs - Frees "
                                 "and Per Alloc = Bytes / Diff (first at line 31)"}]


def test_json_null_means_not_in_source(tree):
    data = json.loads(invoke(tree, "parse", "--format", "json", "samples/windbg_poolused_modern.txt").out)
    rows = data["snapshots"][0]["rows"]
    # !poolused carries outstanding and bytes but no cumulative counters: null, never 0.
    assert all(r["allocs"] is None and r["frees"] is None for r in rows)
    assert all(isinstance(r["outstanding"], int) and isinstance(r["bytes"], int) for r in rows)


def test_json_owner_from_tag_file(tree, tmp_path):
    tags = tmp_path / "pooltag.txt"
    tags.write_text("rem local owners\nGh05 - win32kfull.sys - GDITAG_HMGR_SPRITE_TYPE\nUs*  - win32k.sys   - "
                    "User tags\n")
    data = json.loads(invoke(tree, "parse", "--format", "json", "--tags", str(tags),
                             "samples/console_session1.txt").out)
    owners = {r["tag"]: r["owner"] for r in data["snapshots"][0]["rows"]}
    assert owners["Gh05"] == "win32kfull.sys - GDITAG_HMGR_SPRITE_TYPE"
    assert owners["Usqm"] == "win32k.sys - User tags"
    assert owners["Gla5"] is None


def test_stdin_dash(tree):
    text = (SAMPLES / "console_session1.txt").read_text()
    run = invoke(tree, "parse", "--format", "json", "-", stdin=text)
    snap = json.loads(run.out)["snapshots"][0]
    assert (snap["source"], snap["timestamp"], snap["scope"], len(snap["rows"])) == ("<stdin>", None, "session:1", 19)


def test_stdin_utf16_through_the_real_entry_point():
    raw = (SAMPLES / "powershell_utf16.log").read_bytes()
    run = poolscope("parse", "--format", "json", "-", stdin=raw)
    assert run.code == 0, run.err
    snaps = json.loads(run.out)["snapshots"]
    assert [s["timestamp"] for s in snaps] == ["2026-11-21T13:58:43", "2026-11-21T14:08:41",
                                              "2026-11-21T14:18:43", "2026-11-21T14:28:43"]


def test_interval_dates_snapshots_without_times(tree):
    text = (SAMPLES / "console_session1.txt").read_text()
    snap = json.loads(invoke(tree, "parse", "--format", "json", "--interval", "10m", "-", stdin=text).out)
    assert snap["snapshots"][0]["timestamp"] is not None


def test_interval_spaces_a_folder_in_file_order(tree):
    rows = list(csv.DictReader(io.StringIO(invoke(tree, "parse", "--format", "csv", "--interval", "10m",
                                                  "samples/screens_numbered").out)))
    firsts = {}
    for r in rows:
        firsts.setdefault(r["source"], (r["timestamp"], r["time_origin"]))
    times = [datetime.fromisoformat(t) for t, _ in firsts.values()]
    assert [s.rsplit("/", 1)[1] for s in firsts] == [f"screen{i}.txt" for i in range(1, 9)]
    assert {origin for _, origin in firsts.values()} == {"interval"}
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [600.0] * 7


def test_folder_is_one_input(tree):
    data = json.loads(invoke(tree, "parse", "--format", "json", "samples/poolsnap").out)
    assert [s["source"] for s in data["snapshots"]] == [
        f"samples/poolsnap/{p.name}" for p in sorted((SAMPLES / "poolsnap").glob("*.log"))]


def test_input_format_override(tree):
    run = invoke(tree, "parse", "--input-format", "slabinfo", "samples/console_session1.txt")
    assert run.code == 2
    assert run.err.count("\n") == 1 and run.err.startswith("Error: samples/console_session1.txt")


@pytest.mark.parametrize("output_format", ["csv", "json", "parquet"])
def test_a_failed_parse_leaves_the_output_file_as_it_was(tmp_path, output_format):
    """-o FILE is written under a temporary name: an input error replaces nothing and leaves nothing behind."""
    (tmp_path / "junk.log").write_bytes(bytes(range(256)) * 20)
    kept = tmp_path / "kept.out"
    kept.write_text("earlier results\n")
    for target in (kept, tmp_path / "new.out"):
        run = poolscope("parse", "--format", output_format, "-o", str(target), str(tmp_path / "junk.log"))
        assert (run.code, run.err) == (2, f"Error: {tmp_path / 'junk.log'}: binary data, not text\n")
    assert kept.read_text() == "earlier results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.log", "kept.out"]


def test_output_file_is_replaced_on_success_keeping_its_mode(tree, tmp_path):
    target = tmp_path / "rows.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    run = poolscope("parse", "--format", "csv", "-o", str(target), str(SAMPLES / "leak_appended.log"))
    assert run.code == 0, run.err
    assert target.read_text().startswith("source,index,timestamp,")
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


def test_paths_are_required(tree):
    run = invoke(tree, "parse")
    assert run.code == 2
    assert "Missing argument 'FILE...'" in run.err


# -- the JSON writer against the model's own to_dict ---------------------------------------------

odd_tags = st.text(st.sampled_from(list('Ab 1"\\/é\t.-*')), min_size=1, max_size=6)
numbers = st.one_of(st.none(), st.integers(min_value=0, max_value=2**62))


@given(st.lists(st.tuples(odd_tags, st.sampled_from(["nonpaged", "paged"]), numbers, numbers, numbers, numbers),
                max_size=12, unique_by=lambda r: (r[0], r[1])),
       st.dictionaries(odd_tags, st.text(max_size=8), max_size=4),
       st.dictionaries(odd_tags, st.lists(st.fixed_dictionaries({"pattern": odd_tags, "line": numbers}), max_size=2),
                       max_size=4))
def test_to_json_is_the_contract(rows, owner_map, candidate_map):
    table = RowTable.from_rows(Row(t, p, allocs=a, frees=f, outstanding=o, bytes=b) for t, p, a, f, o, b in rows)
    snaps = [Snapshot('x"y.log', 0, "poolmon", table, datetime(2026, 11, 21, 14, 3, 7, 120000), TimeOrigin.MARKER,
                      "session:3", {"paged_kb": 5, "nonpaged_kb": 7, "slab_kb": 1}),
             Snapshot("<stdin>", 1, "poolsnap")]
    result = ParseResult(snaps, [ParseWarning("x.log", 3, 'odd "text"\n'), ParseWarning("y", None, "é")])
    assert json.loads(to_json(result, owner_map.get)) == result.to_dict(owner_map.get)
    candidates = lambda tag: candidate_map.get(tag, [])  # noqa: E731
    text = to_json(result, owner_map.get, candidates)
    assert json.loads(text) == result.to_dict(owner_map.get, candidates)
    # Only tags of the rows that have candidates, in sorted order.
    assert list(json.loads(text)["owners"]) == sorted({t for t, *_ in rows if candidate_map.get(t)})
    assert json.loads(to_json(ParseResult())) == {"snapshots": [], "warnings": [], "owners": {}}


def _csv_reference(result: ParseResult, owners) -> list[list[str]]:
    """The cells each CSV line must hold, row by row from the model's Row objects.

    Text from the input goes through the spreadsheet formula guard (a leading ' before = + - @ tab CR).
    """
    from analyzer.render.safe import csv_cell

    out = [list(CSV_COLUMNS)]
    for snap in result.snapshots:
        for row in snap.rows:
            values = [row.allocs, row.frees, row.outstanding, row.bytes, row.allocs_change, row.frees_change,
                      row.bytes_change, row.per_alloc]
            out.append([csv_cell(snap.source), str(snap.index), snap.timestamp.isoformat() if snap.timestamp else "",
                        snap.time_origin.value, snap.scope, snap.format, csv_cell(row.tag), row.pool,
                        *("" if v is None else str(v) for v in values), csv_cell(row.mapped_driver or ""),
                        csv_cell(owners(row.tag) or "")])
    return out


odd_text = st.text(st.sampled_from(list('Ab ,"\r\n\'é;')), max_size=8)


@given(st.lists(st.tuples(odd_tags, st.sampled_from(["nonpaged", "paged"]), numbers, numbers, numbers, numbers,
                          st.one_of(st.none(), st.integers(min_value=-5000, max_value=5000)),
                          st.one_of(st.none(), odd_text)),
                max_size=10, unique_by=lambda r: (r[0], r[1])),
       st.dictionaries(odd_tags, odd_text, max_size=4), odd_text)
def test_to_csv_matches_the_csv_module(rows, owner_map, source):
    table = RowTable.from_rows(Row(t, p, allocs=a, frees=f, outstanding=o, bytes=b, bytes_change=c, mapped_driver=d)
                               for t, p, a, f, o, b, c, d in rows)
    result = ParseResult([Snapshot(source, 0, "poolmon", table, None, TimeOrigin.UNKNOWN, "system"),
                          Snapshot("b.log", 1, "poolsnap", table, datetime(2026, 11, 21), TimeOrigin.FILENAME)])
    text = to_csv(result, owner_map.get)
    # Read back with the csv module: quoting must survive commas, quotes and line breaks in any cell.
    assert list(csv.reader(io.StringIO(text, newline=""))) == _csv_reference(result, owner_map.get)
    simple = all(not any(ch in cell for ch in ',"\r\n') for line in _csv_reference(result, owner_map.get)
                 for cell in line)
    if simple:
        assert "\"" not in text


def test_contract_doc_names_every_format_and_total():
    from parsers import format_names
    from parsers.model import NUMERIC_COLUMNS, TOTAL_KEYS

    doc = (Path(__file__).resolve().parent.parent / "docs" / "json-contract.md").read_text(encoding="utf-8")
    for name in format_names():
        assert f"| `{name}` |" in doc, name
    for key in TOTAL_KEYS:
        assert f"| `{key}` |" in doc, key
    for field in ("tag", "pool", *NUMERIC_COLUMNS[:4], "owner", "source", "index", "timestamp", "scope", "totals"):
        assert f"| `{field}` |" in doc, field
    for column in CSV_COLUMNS:
        assert column in (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
