"""Decoding what Windows tools write, and unpacking attachments."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest

from parsers.errors import InputError
from parsers.textio import decode_bytes, expand_inputs, read_inputs

TEXT = " Tag  Type     Allocs\n Abcd Nonp     1520331 caf\u00e9\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (b"\xff\xfe" + TEXT.encode("utf-16-le"), "utf-16-le-sig"),
        (b"\xfe\xff" + TEXT.encode("utf-16-be"), "utf-16-be-sig"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_decodes_every_encoding_windows_tools_write(data: bytes, encoding: str) -> None:
    text, found = decode_bytes(data, "x.log")
    assert found == encoding
    assert text == TEXT


def test_line_ends_are_normalised() -> None:
    text, _ = decode_bytes(b"a\r\nb\rc\nd\r\n", "x.log")
    assert text == "a\nb\nc\nd\n"


def test_binary_junk_is_refused() -> None:
    junk = bytes(range(256)) * 20
    with pytest.raises(InputError, match="binary data"):
        decode_bytes(junk, "junk.bin")


def test_gzip_and_zip_attachments(tmp_path: Path) -> None:
    gz = tmp_path / "poolmon.log.gz"
    gz.write_bytes(gzip.compress(TEXT.encode("utf-16")))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("b/second.log", TEXT)
        zf.writestr("a/first.log", TEXT)
    (tmp_path / "report.zip").write_bytes(buf.getvalue())
    sources = list(read_inputs([gz, tmp_path / "report.zip"]))
    assert [s.name for s in sources] == [
        str(tmp_path / "poolmon.log"),
        f"{tmp_path / 'report.zip'}!a/first.log",
        f"{tmp_path / 'report.zip'}!b/second.log",
    ]
    assert all(s.text == TEXT for s in sources)
    assert sources[1].basename == "first.log"


def test_missing_file_and_empty_folder_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_inputs([tmp_path / "nope.log"]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="folder holds no files"):
        expand_inputs([tmp_path / "empty"])
    with pytest.raises(InputError, match="pattern matches no files"):
        expand_inputs([str(tmp_path / "*.nothing")])


def test_folders_and_globs_expand_sorted(tmp_path: Path) -> None:
    for name in ("b.log", "a.log", "c.txt"):
        (tmp_path / name).write_text(TEXT)
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.log", "b.log", "c.txt"]
    assert [p.name for p in expand_inputs([str(tmp_path / "*.log")])] == ["a.log", "b.log"]


SCREEN = (" Memory:  524288K Avail:  262144K  PageFlts:     0   InRam Krnl:  4096K P:  8192K\n"
          " Tag  Type     Allocs            Frees            Diff   Bytes      Per Alloc\n"
          " Abcd Nonp        120 (   0)        20 (   0)      100     6400 (     0)      64\n")


def test_a_folders_stray_binary_files_are_left_out_with_a_warning(tmp_path: Path) -> None:
    """A bug report's folder holds the tester's tools beside the logs: read the logs, name what was left out."""
    from parsers import parse

    (tmp_path / "poolmon.txt").write_text(SCREEN)
    (tmp_path / "leaktest.exe").write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 8)
    (tmp_path / "core.bin").write_bytes(bytes(range(256)) * 20)
    result = parse([tmp_path])
    assert [s.name for s in result.sources] == [str(tmp_path / "poolmon.txt")]
    assert result.snapshots[0].rows.tags == ["Abcd"]
    left_out = sorted(str(w) for w in result.warnings if "left out" in str(w))
    assert left_out == [f"{tmp_path / 'core.bin'}: left out: binary data, not text",
                        f"{tmp_path / 'leaktest.exe'}: left out: binary data, not text"]


def test_binary_files_named_or_alone_are_still_an_error(tmp_path: Path) -> None:
    from parsers import parse

    junk = tmp_path / "only" / "core.bin"
    junk.parent.mkdir()
    junk.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InputError, match=r"core\.bin: binary data, not text"):
        parse([junk.parent])  # nothing usable in the folder
    (tmp_path / "poolmon.txt").write_text(SCREEN)
    with pytest.raises(InputError, match=r"core\.bin: binary data, not text"):
        parse([tmp_path / "poolmon.txt", junk])  # named by the user: a mistake worth stopping for


def test_a_folder_with_a_stray_binary_file_parses_from_the_command_line(tmp_path: Path) -> None:
    from cli_helpers import poolscope

    (tmp_path / "poolmon.txt").write_text(SCREEN)
    (tmp_path / "core.bin").write_bytes(bytes(range(256)) * 20)
    run = poolscope("parse", "--format", "csv", str(tmp_path))
    assert run.code == 0, run.err
    assert f"warning: {tmp_path / 'core.bin'}: left out: binary data, not text" in run.err
    row = dict(zip(*(line.split(",") for line in run.out.splitlines()), strict=True))
    assert (row["tag"], row["pool"], row["allocs"], row["outstanding"], row["bytes"]) == (
        "Abcd", "nonpaged", "120", "100", "6400")
