"""Owner candidates with provenance in JSON: parse's top-level ``owners``, and beside ``owner`` in show,
diff, trend and report rows (issue 4 item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import fixed_sample_tree, invoke

from analyzer.owners import OwnerResolver, annotate_rows, build_resolver
from analyzer.owners.evidence import parse_mapped_driver
from parsers import owner_map, parse

REPO = Path(__file__).resolve().parent.parent
TAGS = "samples/pooltag_sample.txt"
CONTRACT_ROW_KEYS = ["tag", "pool", "allocs", "frees", "outstanding", "bytes", "owner"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fixed_sample_tree(tmp_path_factory.mktemp("owners_json"))


def first_line(sample: str, start: str, also: str = "") -> int:
    """1-based number of the first line of ``sample`` starting with ``start`` (and holding ``also``)."""
    lines = (REPO / sample).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(start) and also in line)


def from_tags(pattern: str, binary: str, description: str) -> dict[str, object]:
    return {"pattern": pattern, "binary": binary, "description": description,
            "source": f"--tags: {TAGS}", "line": first_line(TAGS, pattern + " ", binary)}


def evidence(pattern: str, binary: str | None, description: str, source: str, line: int) -> dict[str, object]:
    return {"pattern": pattern, "binary": binary, "description": description,
            "source": f"input evidence: {source}", "line": line}


#: Evidence candidates cite the snapshot's line: for `!poolused`, its column heading.
POOLUSED_LINE = first_line("samples/windbg_poolused_modern.txt", " Tag ", "Allocs")


def json_of(tree: Path, *args: str) -> dict:
    run = invoke(tree, *args)
    assert run.code == 0, run.err
    return json.loads(run.out)


# -- item 2: PoolMon /g + /c Mapped_Driver ------------------------------------------------------

def test_binary_with_description_beats_the_bare_driver_name() -> None:
    assert parse_mapped_driver("[abc][abc.sys - queue]") == [("abc.sys", "queue"), ("abc", "")]
    # Equal claims keep PoolMon's order.
    assert parse_mapped_driver("[a.sys - one][b.sys - two]") == [("a.sys", "one"), ("b.sys", "two")]
    snaps = parse([str(REPO / "samples" / "markdown_issue.txt")]).snapshots
    resolver = build_resolver([], snaps, use_defaults=False)
    assert resolver.best("Abcd") == "abc.sys - queue"
    assert [(c.binary, c.description) for c in resolver.candidates("Abcd")] == [("abc.sys", "queue"), ("abc", "")]


def test_a_terminal_escape_in_mapped_driver_stays_in_the_claim_text() -> None:
    """ESC [ opens no claim: a hostile cell is kept whole (and shown escaped), not cut at the escape."""
    assert parse_mapped_driver("[ev\x1b[31mil.sys - red]") == [(None, "ev\x1b[31mil.sys - red")]
    assert parse_mapped_driver("[x][drv.sys - a \x1b[1mbold\x1b[0m note]") == [
        ("drv.sys", "a \x1b[1mbold\x1b[0m note"), ("x", "")]


# -- parse --format json: rows keep the contract, one top-level `owners` object ------------------

def test_parse_json_owners_map_with_tag_file_and_mapped_driver(tree: Path) -> None:
    data = json_of(tree, "parse", "--format", "json", "--tags", TAGS, "samples/markdown_issue.txt")
    assert list(data) == ["snapshots", "warnings", "owners"]
    rows = [row for snap in data["snapshots"] for row in snap["rows"]]
    assert all(list(row) == CONTRACT_ROW_KEYS for row in rows)
    # Only tags of the output that have a candidate; Zqx1 has none, Zq of the tag file is not in the input.
    assert list(data["owners"]) == ["Abcd", "CM  ", "Io  ", "Ntfr", "Thre", "Ttfd"]
    assert {row["tag"] for row in rows} == set(data["owners"]) | {"Dh 2", "Zqx1"}
    src = "samples/markdown_issue.txt (Mapped_Driver)"
    assert data["owners"]["Abcd"] == [
        from_tags("Abcd", "abcfilt.sys", "Abc filter request buffers"),
        from_tags("Abcd", "abcmon.sys", "Abc monitor context (the same tag claimed by a second driver)"),
        evidence("Abcd", "abc.sys", "queue", src, 6),
        evidence("Abcd", "abc", "", src, 6),
        from_tags("Abc*", "abcfilt.sys", "Abc filter, any tag starting with Abc"),
    ]
    assert data["owners"]["Ttfd"] == [evidence("Ttfd", None, "Font related stuff", src, 6)]
    abcd = next(row for row in rows if row["tag"] == "Abcd")
    assert abcd["owner"] == "abcfilt.sys - Abc filter request buffers"


def without_bundled(owners: dict[str, list[dict[str, object]]]) -> dict[str, list[dict[str, object]]]:
    """The candidates before poolscope's own common-tags list, which always comes last."""
    out = {}
    for tag, found in owners.items():
        sources = [str(c["source"]) for c in found]
        ours = [s.startswith("poolscope common tags") for s in sources]
        assert ours == sorted(ours), sources  # never before another source
        out[tag] = [c for c, mine in zip(found, ours, strict=True) if not mine]
    return out


def test_parse_json_owners_from_poolused_descriptions(tree: Path) -> None:
    data = json_of(tree, "parse", "--format", "json", "samples/windbg_poolused_modern.txt")
    owners = without_bundled(data["owners"])
    src = "samples/windbg_poolused_modern.txt (!poolused)"
    line = POOLUSED_LINE
    assert owners["Thre"] == [evidence("Thre", "nt!ps", "Thread objects", src, line)]
    assert owners["CM  "] == [evidence("CM  ", "nt!cm", "Configuration Manager (registry)", src, line)]
    assert owners["File"] == [evidence("File", None, "File objects", src, line)]
    # UNKNOWN pooltag is listed as a candidate (with its provenance) but never the row's owner.
    assert owners["Abcd"] == [evidence("Abcd", "<unknown>", "not in the debugger's pooltag.txt", src, line)]
    by_tag = {row["tag"]: row["owner"] for row in data["snapshots"][0]["rows"]}
    assert (by_tag["Abcd"], by_tag["Thre"], by_tag["Ntff"]) == (None, "nt!ps - Thread objects", "ntfs.sys - FCB_DATA")


def test_parse_json_without_any_owner_has_an_empty_map(tree: Path) -> None:
    data = json_of(tree, "parse", "--format", "json", "samples/slabinfo_v21.txt")
    assert data["owners"] == {}


def test_owner_map_takes_mappings_and_candidates() -> None:
    resolver = build_resolver([REPO / TAGS], use_defaults=False)
    got = owner_map(["Zq  ", "Zq  ", "Nope", "Wxyz"], resolver.candidates)
    assert list(got) == ["Wxyz", "Zq  "]
    assert got["Wxyz"][0]["pattern"] == "Wx??"
    assert owner_map(["b", "a"], lambda tag: [{"pattern": tag}]) == {"a": [{"pattern": "a"}], "b": [{"pattern": "b"}]}
    assert owner_map(["a"], None) == {}


# -- show / diff / trend / report rows: owner_candidates beside owner -----------------------------

def test_show_json_rows_carry_candidates(tree: Path) -> None:
    data = json_of(tree, "show", "--format", "json", "--tags", TAGS, "samples/windbg_poolused_modern.txt")
    rows = {(r["tag"], r["pool"]): r for r in data["rows"]}
    src = "samples/windbg_poolused_modern.txt (!poolused)"
    thre = rows[("Thre", "nonpaged")]
    assert list(thre)[-2:] == ["owner", "owner_candidates"]
    assert thre["owner"] == "nt!ps - Thread objects"
    assert without_bundled({"Thre": thre["owner_candidates"]})["Thre"] == [
        evidence("Thre", "nt!ps", "Thread objects", src, POOLUSED_LINE)]
    io = rows[("Io  ", "paged")]
    assert without_bundled({"Io": io["owner_candidates"]})["Io"] == [
        evidence("Io  ", "nt!io", "general IO allocations", src, POOLUSED_LINE)]
    mmca = rows[("MmCa", "nonpaged")]
    assert mmca["owner"] == "nt!mm - Mm control areas"
    assert without_bundled({"MmCa": mmca["owner_candidates"]})["MmCa"] == [
        from_tags("MmCa", "nt!mm", "Mm control areas"),
        evidence("MmCa", "nt!mm", "Mm control areas for mapped files", src, POOLUSED_LINE),
    ]
    assert rows[("-Xyz", "nonpaged")]["owner"] is None
    assert rows[("-Xyz", "nonpaged")]["owner_candidates"] == [
        evidence("-Xyz", "<unknown>", "not in the debugger's pooltag.txt", src, POOLUSED_LINE)]


WDRQ_EVIDENCE = evidence("Wdrq", "wdrfilt.sys", "Widget filter request queue",
                         "samples/leak_appended.log (Mapped_Driver)", 1)
WDRQ_FILE = from_tags("Wdrq", "wdrfilt.sys", "Widget filter request queue (the leaking tag of leak_appended.log)")


def test_diff_json_rows_carry_candidates(tree: Path) -> None:
    data = json_of(tree, "diff", "--format", "json", "--tags", TAGS,
                   "samples/leak_appended.log#first", "samples/leak_appended.log#last")
    wdrq = next(r for r in data["rows"] if r["tag"] == "Wdrq")
    assert list(wdrq)[-2:] == ["owner", "owner_candidates"]
    assert wdrq["owner"] == "wdrfilt.sys - Widget filter request queue (the leaking tag of leak_appended.log)"
    assert wdrq["owner_candidates"] == [WDRQ_FILE, WDRQ_EVIDENCE]
    assert all("owner_candidates" in r for r in data["rows"])


def test_trend_json_rows_carry_candidates(tree: Path) -> None:
    data = json_of(tree, "trend", "--format", "json", "samples/leak_appended.log")
    wdrq = next(r for r in data["rows"] if r["tag"] == "Wdrq")
    assert wdrq["verdict"] == "leak"
    assert (wdrq["owner"], wdrq["owner_candidates"]) == ("wdrfilt.sys - Widget filter request queue", [WDRQ_EVIDENCE])
    assert list(wdrq)[list(wdrq).index("owner") + 1] == "owner_candidates"


def test_report_json_suspects_diff_and_trend_carry_candidates(tree: Path) -> None:
    data = json_of(tree, "report", "--format", "json", "--tags", TAGS, "samples/leak_appended.log")
    suspect = data["suspects"][0]
    assert (suspect["tag"], suspect["owner"]) == ("Wdrq", WDRQ_FILE["binary"] + " - " + WDRQ_FILE["description"])
    assert suspect["owner_candidates"] == [WDRQ_FILE, WDRQ_EVIDENCE]
    diff_row = next(r for r in data["diff"]["rows"] if r["tag"] == "Wdrq")
    trend_row = next(r for r in data["trend"] if r["tag"] == "Wdrq")
    for row in (diff_row, trend_row):
        assert (row["owner"], row["owner_candidates"]) == (suspect["owner"], [WDRQ_FILE, WDRQ_EVIDENCE])


def test_annotate_rows_gives_each_row_its_own_list() -> None:
    class Row:
        def __init__(self, tag: str) -> None:
            self.tag = tag

    rows = [Row("Zq"), Row("Zq"), Row("Nope")]
    annotate_rows(build_resolver([REPO / TAGS], use_defaults=False), rows)
    assert rows[0].owner == "zqbus.sys - short tag, PoolMon pads it to four characters"
    assert [c["line"] for c in rows[0].owner_candidates] == [first_line(TAGS, "Zq ")]
    assert rows[0].owner_candidates == rows[1].owner_candidates
    assert rows[0].owner_candidates is not rows[1].owner_candidates
    assert (rows[2].owner, rows[2].owner_candidates) == (None, [])
    annotate_rows(None, rows)
    assert (rows[0].owner, rows[0].owner_candidates) == (None, [])
    annotate_rows(OwnerResolver.empty(), rows)
    assert (rows[1].owner, rows[1].owner_candidates) == (None, [])
