"""`poolscope parse --format json` on every sample equals its golden file in tests/golden/parse/.

Regenerate after an intended change with ``POOLSCOPE_UPDATE_GOLDEN=1 pytest tests/test_samples_golden.py``
and review the diff: a golden file is only as good as its review.  The second half of this
module is that review made permanent for the PoolMon samples: an independent, deliberately
simple reader of their fixed columns (and of their time markers) must agree with the parser.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import SAMPLES, fixed_sample_tree, invoke, sample_inputs

GOLDEN = Path(__file__).resolve().parent / "golden" / "parse"
UPDATE = os.environ.get("POOLSCOPE_UPDATE_GOLDEN") == "1"

def golden_path(sample: str) -> Path:
    return GOLDEN / (Path(sample).name + ".json")


@pytest.fixture(scope="module")
def sample_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of samples/ with fixed file times, so mtime-dated snapshots are reproducible."""
    return fixed_sample_tree(tmp_path_factory.mktemp("golden"))


def run_parse(tree: Path, *args: str) -> tuple[str, str]:
    run = invoke(tree, "parse", "--format", "json", *args)
    assert run.code == 0, run.err
    return run.out, run.err


@pytest.mark.parametrize("sample", sample_inputs())
def test_parse_matches_golden(sample_tree, sample):
    out, _err = run_parse(sample_tree, sample)
    golden = golden_path(sample)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden file for {sample}; create it with POOLSCOPE_UPDATE_GOLDEN=1 and review it"
    expected = golden.read_text(encoding="utf-8")
    if out != expected:
        # Compare parsed first for a readable diff, then insist on the exact text.
        assert json.loads(out) == json.loads(expected)
    assert out == expected


def test_every_golden_has_a_sample():
    names = {golden_path(s).name for s in sample_inputs()}
    stale = sorted(p.name for p in GOLDEN.glob("*.json") if p.name not in names)
    assert not stale, f"golden files without a sample: {stale}"


# -- the independent review ----------------------------------------------------------------------

_CHANGE = re.compile(r"\(\s*-?\d+\)")
_TYPE = re.compile(r"^ (.{4}) (Nonp|Paged)(.*)$")


def reference_rows(text: str) -> list[tuple[str, str, int, int, int, int]]:
    """(tag, pool, allocs, frees, outstanding, bytes) of every fixed-column row, in file order.

    Deliberately not the parser's method: drop the bracketed change fields, read the numbers
    left to right, and split a fused Diff+Bytes with Diff = Allocs - Frees.
    """
    rows = []
    for line in text.splitlines():
        m = _TYPE.match(line)
        if not m:
            continue
        tag, pool, rest = m.groups()
        numbers = []
        for token in _CHANGE.sub(" ", rest).split():
            if not token.isdigit():
                break  # Mapped_Driver text
            numbers.append(int(token))
        if len(numbers) == 5:
            allocs, frees, diff, nbytes, per = numbers
        else:
            assert len(numbers) == 4, line
            allocs, frees, fused, per = numbers
            diff = allocs - frees
            head, tail = str(fused)[: len(str(diff))], str(fused)[len(str(diff)) :]
            assert head == str(diff), line
            nbytes = int(tail)
        assert allocs - frees == diff, line
        assert per == (nbytes // diff if diff else 0), line
        rows.append((tag, "nonpaged" if pool == "Nonp" else "paged", allocs, frees, diff, nbytes))
    return rows


def golden_rows(sample: str) -> list[tuple[str, str, int, int, int, int]]:
    data = json.loads(golden_path(sample).read_text(encoding="utf-8"))
    return [
        (r["tag"], r["pool"], r["allocs"], r["frees"], r["outstanding"], r["bytes"])
        for s in data["snapshots"]
        for r in s["rows"]
    ]


def golden_snapshots(sample: str) -> list[dict]:
    return json.loads(golden_path(sample).read_text(encoding="utf-8"))["snapshots"]


def _text(name: str) -> str:
    raw = (SAMPLES / name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    if raw.startswith(b"\xff\xfe"):
        return raw[2:].decode("utf-16-le")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    return raw.decode("cp1252" if "cp1252" in name else "ascii")


@pytest.mark.parametrize(
    ("sample", "rows_per_frame"),
    [
        ("leak_appended.log", [59] * 14),
        ("powershell_utf16.log", [24] * 4),
        ("server_de.log.gz", [20] * 5),
        ("console_session1.txt", [19]),
        # Each run: the system pool, then the all-sessions pool with headings only.
        ("banners_cp1252.log", [8, 0] * 3),
        ("tz_markers_utf8bom.log", [12] * 3),
        ("poolmon.Sat 11-21-2026.log", [15]),
    ],
)
def test_golden_rows_agree_with_independent_reader(sample, rows_per_frame):
    snaps = golden_snapshots(f"samples/{sample}")
    assert [len(s["rows"]) for s in snaps] == rows_per_frame
    assert golden_rows(f"samples/{sample}") == reference_rows(_text(sample))


def test_golden_scopes_and_drivers_of_the_banner_log():
    snaps = golden_snapshots("samples/banners_cp1252.log")
    assert [s["scope"] for s in snaps] == ["system", "all-sessions"] * 3
    owners = {r["tag"]: r["owner"] for r in snaps[0]["rows"]}
    assert owners["Grfx"] == "grafik.sys - Puffer für Überlagerung"  # cp1252 text decoded


def test_poolsnap_folder_agrees_with_independent_reader():
    files = sorted((SAMPLES / "poolsnap").glob("*.log"))
    expected = [row for f in files for row in reference_rows(f.read_text(encoding="ascii"))]
    assert golden_rows("samples/poolsnap") == expected
    snaps = golden_snapshots("samples/poolsnap")
    stamps = [datetime.strptime(f.stem, "poolsnap_%Y%m%d_%H%M%S").isoformat() for f in files]
    assert [s["timestamp"] for s in snaps] == stamps
    assert {s["format"] for s in snaps} == {"poolsnap"}


def test_numbered_screens_agree_with_independent_reader():
    files = sorted((SAMPLES / "screens_numbered").glob("*.txt"))
    assert len(files) == 8
    expected = [row for f in files for row in reference_rows(f.read_text(encoding="ascii"))]
    assert golden_rows("samples/screens_numbered") == expected
    snaps = golden_snapshots("samples/screens_numbered")
    assert [s["source"] for s in snaps] == [f"samples/screens_numbered/{f.name}" for f in files]


def test_zip_members_agree_with_independent_reader():
    archive = zipfile.ZipFile(SAMPLES / "bugreport_screens.zip")
    before = reference_rows(archive.read("before_update.txt").decode("ascii"))
    after = reference_rows(archive.read("after_update.txt").decode("ascii"))
    assert golden_rows("samples/bugreport_screens.zip") == before + after  # time order: before first
    snaps = golden_snapshots("samples/bugreport_screens.zip")
    assert [s["timestamp"] for s in snaps] == ["2026-11-20T09:15:00", "2026-11-20T17:45:00"]


def _session_truth() -> list[tuple[str, str, int, int, int, int]]:
    return reference_rows(_text("console_session1.txt"))


def _after_update_truth() -> list[tuple[str, str, int, int, int, int]]:
    return reference_rows(zipfile.ZipFile(SAMPLES / "bugreport_screens.zip").read("after_update.txt").decode("ascii"))


# Mangled copies of clean samples must give back the clean rows, as far as the identities allow.
MANGLED = [
    pytest.param("flattened_one_line.txt", _session_truth, id="flattened"),
    pytest.param("markdown_issue.txt", _after_update_truth, id="markdown"),
    pytest.param("mail_quoted.txt", _session_truth, id="mail"),
]


@pytest.mark.parametrize(("sample", "truth"), MANGLED)
def test_mangled_copies_give_the_clean_rows(sample, truth):
    assert golden_rows(f"samples/{sample}") == truth()


@pytest.mark.parametrize("sample", [
    "flattened_one_line.txt",
    "mail_quoted.txt",
])
def test_mangled_copies_keep_scope_and_totals(sample):
    clean = golden_snapshots("samples/console_session1.txt")[0]
    snap = golden_snapshots(f"samples/{sample}")[0]
    assert (snap["scope"], snap["totals"]) == (clean["scope"], clean["totals"])


def test_date_only_file_name():
    snap = golden_snapshots("samples/poolmon.Sat 11-21-2026.log")[0]
    assert snap["timestamp"] == "2026-11-21T00:00:00"


_MARKERS = {
    "leak_appended.log": (re.compile(r"^\w{3} (\d\d/\d\d/\d{4}) +(\d+:\d\d:\d\d)\.(\d\d) $"), "%m/%d/%Y %H:%M:%S"),
    "server_de.log.gz": (re.compile(r"^(\d\d\.\d\d\.\d{4}) +(\d+:\d\d:\d\d),(\d\d) $"), "%d.%m.%Y %H:%M:%S"),
    "banners_cp1252.log": (re.compile(r"^===== (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)() =====$"), "%Y-%m-%d %H:%M:%S"),
    "tz_markers_utf8bom.log": (re.compile(r"^(\d{4}\.\d\d\.\d\d)-(\d\d:\d\d:\d\d)() W\. Europe Standard Time$"),
                               "%Y.%m.%d %H:%M:%S"),
    "powershell_utf16.log": (re.compile(r"^\w+, (\w+ \d+, \d{4}) (\d+:\d\d:\d\d (?:AM|PM))()$"),
                             "%B %d, %Y %I:%M:%S %p"),
}


@pytest.mark.parametrize("sample", sorted(_MARKERS))
def test_golden_timestamps_are_the_markers(sample):
    rx, fmt = _MARKERS[sample]
    expected = []
    for line in _text(sample).splitlines():
        m = rx.match(line)
        if m:
            when = datetime.strptime(f"{m.group(1)} {m.group(2)}", fmt)
            if m.group(3):
                when = when.replace(microsecond=int(m.group(3)) * 10000)
            expected.append(when.isoformat())
    # Only the frames a marker dates (the all-sessions screens of the banner log carry none of their own).
    snaps = [s for s in golden_snapshots(f"samples/{sample}") if s["scope"] == "system"]
    assert [s["timestamp"] for s in snaps] == expected
    assert len(expected) == len(snaps) > 1


def test_golden_header_totals_are_the_header_lines():
    text = _text("leak_appended.log")
    nonpaged = [int(v) for v in re.findall(r"Pool N:\s*(\d+)K", text)]
    paged = [int(v) for v in re.findall(r"Pool N:\s*\d+K P:\s*(\d+)K", text)]
    commit = [int(v) for v in re.findall(r"Commit:\s*(\d+)K", text)]
    snaps = golden_snapshots("samples/leak_appended.log")
    assert [s["totals"]["nonpaged_kb"] for s in snaps] == nonpaged
    assert [s["totals"]["paged_kb"] for s in snaps] == paged
    assert [s["totals"]["commit_kb"] for s in snaps] == commit
    assert {s["totals"]["memory_kb"] for s in snaps} == {16776692}


def test_golden_session_scope_and_leak_shape():
    assert golden_snapshots("samples/console_session1.txt")[0]["scope"] == "session:1"
    # The story the README tells: Wdrq grows in every frame of the appended log.
    snaps = golden_snapshots("samples/leak_appended.log")
    wdrq = [next(r["bytes"] for r in s["rows"] if r["tag"] == "Wdrq") for s in snaps]
    assert wdrq == sorted(wdrq) and wdrq[-1] > 10 * wdrq[0]


@pytest.mark.parametrize(
    ("inputs", "interval", "leaks"),
    [
        (["leak_appended.log"], None, [("Wdrq", "nonpaged")]),
        (["poolsnap"], None, [("Cfgb", "paged")]),
        (["screens_numbered"], timedelta(minutes=10), [("Pfq9", "nonpaged")]),
    ],
)
def test_each_leak_sample_tells_its_story(inputs, interval, leaks):
    """The samples' README promises one leaking tag each; the trend analysis must find that one only."""
    from analyzer.analysis.trend import analyze
    from parsers import parse

    result = parse([SAMPLES / name for name in inputs], interval=interval)
    trend = analyze(result.snapshots)
    assert [(r.tag, r.pool) for r in trend.rows if r.verdict == "leak"] == leaks
