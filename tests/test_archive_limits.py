"""Attachments are untrusted: archives unpack under limits, and damage is reported, not fatal.

The bombs here are small (64 MiB of spaces) so the suite stays cheap; bench/archive_bombs.py
runs the 2 GiB ones and measures time and memory.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest
from cli_helpers import poolscope

from parsers import parse
from parsers.errors import InputError, ResourceLimit
from parsers.textio import read_inputs

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SCREEN = (SAMPLES / "screens_numbered" / "screen1.txt").read_bytes()
MiB = 1024 * 1024


def _spaces_gzip(mib: int) -> bytes:
    """``mib`` MiB of spaces as gzip members of 16 MiB each (gzip allows members in a row)."""
    member = gzip.compress(b" " * (16 * MiB), 9)
    return member * (mib // 16)


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_gzip_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    bomb = tmp_path / "spaces.log.gz"
    bomb.write_bytes(_spaces_gzip(64))
    with pytest.raises(ResourceLimit, match="inflates more than 200 times"):
        list(read_inputs([bomb]))
    run = poolscope("parse", str(bomb))
    assert run.code == 2
    assert run.err_lines == [f"Error: {bomb}: archive member inflates more than 200 times its size "
                             "(an archive bomb?); refused"]


def test_zip_bomb_is_refused_by_ratio(tmp_path: Path) -> None:
    bomb = tmp_path / "spaces.zip"
    bomb.write_bytes(_zip({"spaces.log": b" " * (64 * MiB)}))
    with pytest.raises(ResourceLimit, match=r"spaces\.zip!spaces\.log: archive member inflates"):
        list(read_inputs([bomb]))


def test_total_size_member_count_and_nesting_have_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parsers import textio

    many = tmp_path / "many.zip"
    many.write_bytes(_zip({f"m{i}.log": SCREEN for i in range(12)}))
    monkeypatch.setattr(textio, "MAX_MEMBERS", 10)
    with pytest.raises(ResourceLimit, match="holds 12 entries, more than 10"):
        list(read_inputs([many]))
    monkeypatch.setattr(textio, "MAX_MEMBERS", 10_000)
    monkeypatch.setattr(textio, "MAX_INFLATED_BYTES", len(SCREEN) * 3)
    with pytest.raises(ResourceLimit, match="unpacks to more than"):
        list(read_inputs([many]))
    monkeypatch.setattr(textio, "MAX_INFLATED_BYTES", 1024 * MiB)
    nested = SCREEN
    for level in range(4):
        nested = _zip({f"level{level}.zip": nested}) if level % 2 else gzip.compress(nested)
    deep = tmp_path / "deep.bin"
    deep.write_bytes(nested)
    with pytest.raises(ResourceLimit, match="nested more than 3 deep"):
        list(read_inputs([deep]))
    deep.write_bytes(_zip({"inner.zip": _zip({"screen.txt": SCREEN})}))
    assert [s.name for s in read_inputs([deep])] == [f"{deep}!inner.zip!screen.txt"]


def _corrupt_member(data: bytes, name: str) -> bytes:
    """Flip bytes in the middle of one member's compressed data (its CRC no longer matches)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    raw = bytearray(data)
    for i in range(middle, middle + 8):
        raw[i] ^= 0x5A
    return bytes(raw)


def test_a_damaged_member_is_a_warning_naming_it(tmp_path: Path) -> None:
    good = SCREEN
    data = _zip({"a.txt": good, "b.txt": good * 3, "c.txt": good})
    damaged = tmp_path / "attach.zip"
    damaged.write_bytes(_corrupt_member(data, "b.txt"))
    result = parse([damaged])
    assert [s.name for s in result.sources] == [f"{damaged}!a.txt", f"{damaged}!c.txt"]
    messages = [str(w) for w in result.warnings]
    assert any("damaged zip member 'b.txt' left out" in m for m in messages), messages
    run = poolscope("parse", str(damaged), "--strict")
    assert run.code == 2 and len(run.err_lines) == 1 and "b.txt" in run.err


def test_every_member_damaged_is_an_input_error(tmp_path: Path) -> None:
    damaged = tmp_path / "attach.zip"
    damaged.write_bytes(_corrupt_member(_zip({"only.txt": SCREEN * 4}), "only.txt"))
    with pytest.raises(InputError, match=r"attach\.zip!only\.txt: damaged zip member"):
        list(read_inputs([damaged]))


def test_cut_off_gzip_keeps_what_came_before_with_a_warning(tmp_path: Path) -> None:
    text = SCREEN * 50
    data = gzip.compress(text)
    cut = tmp_path / "screen.txt.gz"
    cut.write_bytes(data[: len(data) * 3 // 4])
    result = parse([cut])
    assert result.snapshots
    assert any("gzip data cut off" in str(w) for w in result.warnings)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04" + b"\x00" * 40, "damaged zip archive"),
        (b"\x1f\x8b\x08\x00" + b"\xff" * 40, "damaged gzip data"),
        (gzip.compress(b"", mtime=0)[:12], "damaged gzip data"),
    ],
    ids=["zip-header-only", "gzip-garbage", "gzip-cut-in-header"],
)
def test_broken_archive_headers_are_one_line_errors(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "broken.bin"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        list(read_inputs([path]))


def test_unsupported_zip_compression_is_a_clean_error(tmp_path: Path) -> None:
    data = bytearray(_zip({"x.txt": SCREEN}))
    # Method 9 (deflate64) in both headers: zipfile cannot inflate it.
    data[8:10] = (9).to_bytes(2, "little")
    central = data.find(b"PK\x01\x02")
    data[central + 10 : central + 12] = (9).to_bytes(2, "little")
    path = tmp_path / "d64.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"d64\.zip!x\.txt: damaged zip member"):
        list(read_inputs([path]))
