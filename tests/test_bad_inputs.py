"""Bad input never shows a traceback: one line on stderr naming the file (and line), exit 2.

Partial input is the other half of the contract: a log cut off mid-row still yields its
complete snapshots, with a warning that says where it was cut.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import zipfile
from pathlib import Path

import pytest
from cli_helpers import SAMPLES, poolscope


def _one_line_failure(run, expected: str) -> None:
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err
    assert run.err_lines == [expected], run.err
    assert run.out == ""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = random.Random(1)
    junk = tmp_path / "dump.bin"
    junk.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.log"
    blank.write_bytes(b"\r\n  \r\n\t\r\n")
    prose = tmp_path / "notes.txt"
    prose.write_text("Shopping list\n- 12 eggs\n- milk 2 l\nCall the plumber at 14:30\n")
    csv_file = tmp_path / "numbers.csv"
    csv_file.write_text("a,b,c\n1,2,3\n4,5,6\n")
    folder = tmp_path / "nothing"
    folder.mkdir()
    (folder / ".hidden").write_text("x")
    bad_gz = tmp_path / "log.gz"
    packed = gzip.compress((SAMPLES / "leak_appended.log").read_bytes())
    bad_gz.write_bytes(packed[: len(packed) // 2])  # a mail attachment that lost its tail
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("empty/", "")
    empty_zip = tmp_path / "attach.zip"
    empty_zip.write_bytes(buf.getvalue())
    return {
        "junk": junk, "empty": empty, "blank": blank, "prose": prose, "csv": csv_file,
        "folder": folder, "bad_gz": bad_gz, "empty_zip": empty_zip, "tmp": tmp_path,
    }


NOT_POOL = ("not pool data: found no PoolMon, poolsnap, !poolused, debugger transcript, "
            "slabinfo or capture content")


@pytest.mark.parametrize("command", ["parse", "show"])
@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("junk", "binary data, not text"),
        ("empty", "empty input: no text to read"),
        ("blank", "empty input: no text to read"),
        ("prose", NOT_POOL),
        ("csv", NOT_POOL),
        ("folder", "folder holds no files"),
        ("empty_zip", "zip archive holds no files"),
    ],
)
def test_unusable_file(files, command, key, message):
    path = files[key]
    _one_line_failure(poolscope(command, str(path)), f"Error: {path}: {message}")


def test_damaged_gzip(files):
    # Partial input: what could be inflated is read, with a warning naming the file; --strict refuses it.
    run = poolscope("parse", str(files["bad_gz"]))
    assert run.code == 0 and "Traceback" not in run.err
    assert f"warning: {files['bad_gz'].with_suffix('')}: gzip data cut off after " in run.err
    strict = poolscope("parse", str(files["bad_gz"]), "--strict")
    assert strict.code == 2 and len(strict.err_lines) == 1
    assert strict.err.startswith(f"Error: {files['bad_gz'].with_suffix('')}: gzip data cut off after ")


def test_missing_path(files):
    missing = files["tmp"] / "no-such.log"
    _one_line_failure(poolscope("parse", str(missing)), f"Error: {missing}: no such file")
    _one_line_failure(poolscope("show", str(missing)), f"Error: {missing}: no such file")


def test_glob_matching_nothing(files):
    pattern = str(files["tmp"] / "*.poolmon")
    _one_line_failure(poolscope("parse", pattern), f"Error: {pattern}: pattern matches no files")


def test_empty_stdin():
    _one_line_failure(poolscope("parse", "-", stdin=b""), "Error: <stdin>: empty input: no text to read")


def test_binary_stdin():
    _one_line_failure(poolscope("parse", "-", stdin=bytes(range(256)) * 8), "Error: <stdin>: binary data, not text")


def test_second_input_bad_fails_the_whole_command(files):
    # Half an answer without saying so would be silent loss: the bad input stops the run.
    run = poolscope("parse", str(SAMPLES / "console_session1.txt"), str(files["junk"]))
    _one_line_failure(run, f"Error: {files['junk']}: binary data, not text")


def test_missing_tag_file(files):
    missing = files["tmp"] / "pooltag.txt"
    run = poolscope("parse", "--format", "json", "--tags", str(missing), str(SAMPLES / "console_session1.txt"))
    assert run.code == 2 and len(run.err_lines) == 1 and "Traceback" not in run.err
    assert str(missing) in run.err


def test_snapshot_out_of_range():
    path = SAMPLES / "console_session1.txt"
    _one_line_failure(
        poolscope("show", "--snapshot", "5", str(path)),
        f"Error: {path}: has 1 snapshot (0..0); there is no snapshot #5",
    )


def test_by_change_without_change_columns():
    path = SAMPLES / "poolsnap" / "poolsnap_20261121_140324.log"
    _one_line_failure(
        poolscope("show", "--by-change", str(path)),
        f"Error: {path}#0: no change columns to sort by: the screen has none and there is no earlier "
        "snapshot of this scope in the input",
    )


# -- partial input -------------------------------------------------------------------------------


def _cut_log(tmp: Path) -> tuple[Path, int, str]:
    """leak_appended.log cut in the middle of a row of its last frame; returns (path, line, text)."""
    lines = (SAMPLES / "leak_appended.log").read_bytes().decode("ascii").split("\r\n")
    markers = [i for i, line in enumerate(lines) if line.startswith("Sat 11/21/2026")]
    cut_at = markers[-1] + 20  # a row well inside the last frame
    row = lines[cut_at]
    assert row.startswith(" ") and ("Nonp" in row or "Paged" in row)
    partial = row[: len(row) // 2 - 3]
    text = "\r\n".join([*lines[:cut_at], partial])
    path = tmp / "cut.log"
    path.write_bytes(text.encode("ascii"))
    return path, cut_at + 1, partial


def test_log_cut_mid_row_keeps_complete_snapshots(tmp_path):
    path, line, _partial = _cut_log(tmp_path)
    full = json.loads(poolscope("parse", "--format", "json", str(SAMPLES / "leak_appended.log")).out)
    run = poolscope("parse", "--format", "json", str(path))
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    data = json.loads(run.out)
    snaps = data["snapshots"]
    # Every frame before the cut is there, exactly as in the whole file.
    assert len(snaps) >= 13
    for got, want in zip(snaps[:13], full["snapshots"][:13], strict=True):
        assert (got["timestamp"], got["totals"], got["rows"]) == (want["timestamp"], want["totals"], want["rows"])
    # The warning names the file and the line where the text stops, on stderr and in the JSON.
    where = f"{path}:{line}"
    assert any(where in w for w in run.err_lines), run.err
    assert all(w.startswith(("warning: ", "note: ")) for w in run.err_lines)
    assert any(w["source"] == str(path) and w["line"] == line for w in data["warnings"])
    if len(snaps) == 14:
        # A kept partial frame holds only the rows read in full.
        assert len(snaps[13]["rows"]) < len(full["snapshots"][13]["rows"])
        assert snaps[13]["rows"] == full["snapshots"][13]["rows"][: len(snaps[13]["rows"])] or all(
            r in full["snapshots"][13]["rows"] for r in snaps[13]["rows"]
        )


def test_strict_rejects_an_unreadable_line(tmp_path):
    lines = (SAMPLES / "console_session1.txt").read_text().splitlines()
    lines.insert(8, " Gzzz Paged   12x45 (   9)    ### (  46)     2175 oops")
    path = tmp_path / "mangled.txt"
    path.write_text("\n".join(lines) + "\n")
    lenient = poolscope("parse", "--format", "json", str(path))
    assert lenient.code == 0, lenient.err
    assert any(f"{path}:9" in w for w in lenient.err_lines), lenient.err
    strict = poolscope("parse", "--strict", str(path))
    assert strict.code == 2 and "Traceback" not in strict.err
    assert len(strict.err_lines) == 1
    assert strict.err.startswith(f"Error: {path}:9: ")
