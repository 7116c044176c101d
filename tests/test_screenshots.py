"""Pictures of the PoolMon console read exactly as the same screens as text.

The pictures are drawn here (tests/ocr_screens.py) in several fonts, sizes, colour
schemes and file types; the OCR tests need Tesseract and skip with a reason without it.
The accuracy over hundreds of screens is measured by bench/ocr_bench.py, not here: this
suite reads only a handful of pictures.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from cli_helpers import poolscope

from parsers import parse, parse_sources
from parsers.textio import ImageSource, read_path

PIL = pytest.importorskip("PIL", reason="the ocr extra (Pillow) is not installed")
from ocr_screens import FONT_FILES, Screen, ScreenRow, draw_screen, later_screen, random_screen  # noqa: E402


def _tesseract_ok() -> bool:
    try:
        from parsers.screenshot.reader import tesseract_available
    except ModuleNotFoundError:
        return False
    return tesseract_available()


needs_tesseract = pytest.mark.skipif(
    not _tesseract_ok(), reason="Tesseract (apt install tesseract-ocr tesseract-ocr-eng) or pytesseract is missing"
)


def _numbers(row) -> tuple:
    return (row.allocs, row.frees, row.outstanding, row.bytes, row.allocs_change, row.frees_change, row.bytes_change)


def _truth_numbers(r: ScreenRow) -> tuple:
    return (r.allocs, r.frees, r.diff, r.bytes, r.allocs_change, r.frees_change, r.bytes_change)


def _check_against(screen: Screen, path: Path) -> None:
    """Every number exact; every tag either right or named in a warning on its screen line."""
    result = parse([path])
    assert len(result.snapshots) == 1
    snap = result.snapshots[0]
    assert snap.format == "screenshot"
    rows = list(snap.rows)
    assert len(rows) == len(screen.rows)
    warned = [w.message for w in result.warnings if w.message.startswith("picture: ")]
    for k, (got, want) in enumerate(zip(rows, screen.rows, strict=True)):
        assert _numbers(got) == _truth_numbers(want), (k, got, want)
        assert got.pool == ("nonpaged" if want.pool == "Nonp" else "paged")
        if got.tag != want.tag:
            assert any(m.startswith("picture: Tag") and repr(got.tag) in m for m in warned), (
                f"tag {want.tag!r} read as {got.tag!r} silently"
            )


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pictures")


@needs_tesseract
def test_png_white_on_black_80_columns(pictures: Path) -> None:
    screen = random_screen(11, n_rows=14)
    path = pictures / "cmd.png"
    draw_screen(screen, "dejavu", 14, "cmd").save(path)
    _check_against(screen, path)


@needs_tesseract
def test_jpeg_bitmap_font_dark_on_light_in_a_window_132_columns_with_mapped_driver(pictures: Path) -> None:
    screen = random_screen(12, n_rows=10, width=132, mapped_driver=True)
    path = pictures / "terminus.jpg"
    draw_screen(screen, "terminus", 16, "light", frame=True).save(path, quality=60)
    _check_against(screen, path)
    snap = parse([path]).snapshots[0]
    drivers = [row.mapped_driver for row in snap.rows]
    # Mapped_Driver text is free text read by Tesseract alone: most of it must come through.
    assert sum(d == r.driver for d, r in zip(drivers, screen.rows, strict=True)) >= len(screen.rows) // 2


@needs_tesseract
def test_before_and_after_pictures_give_the_same_diff_as_text(tmp_path: Path) -> None:
    before = random_screen(21, n_rows=12)
    after = later_screen(before, 22)
    for k, (name, screen) in enumerate((("before", before), ("after", after))):
        (tmp_path / f"{name}.txt").write_text(screen.text(), encoding="ascii")
        draw_screen(screen, "dejavu", 16, "blue").save(tmp_path / f"{name}.png")
        taken = datetime(2026, 11, 21, 9, 0).timestamp() + k * 8.5 * 3600
        for suffix in (".txt", ".png"):
            os.utime(tmp_path / f"{name}{suffix}", (taken, taken))
    pic = poolscope("diff", "before.png", "after.png", "--format", "json", cwd=tmp_path)
    txt = poolscope("diff", "before.txt", "after.txt", "--format", "json", cwd=tmp_path)
    assert pic.code == 0, pic.err
    assert txt.code == 0, txt.err
    pic_doc = json.loads(pic.out.replace("before.png", "before.txt").replace("after.png", "after.txt"))
    txt_doc = json.loads(txt.out)
    for doc in (pic_doc, txt_doc):
        doc.pop("warnings", None)
        for side in ("before", "after"):
            if isinstance(doc.get(side), dict):
                doc[side].pop("format", None)
    assert pic_doc["rows"] == txt_doc["rows"]
    assert pic_doc == txt_doc


#: Tags made of letters PoolMon's own words never show, so the picture has no template for them.
_UNSHOWN_TAGS = ("JQVw", "YUOj", "XZhq", "GHWb", "EQOx", "uzVY", "jJUW", "Oq0Q")


def _unshown_letter_screen(seed: int) -> Screen:
    rows = random_screen(seed, n_rows=len(_UNSHOWN_TAGS)).rows
    return Screen([dataclasses.replace(r, tag=t) for r, t in zip(rows, _UNSHOWN_TAGS, strict=True)])


needs_fonts = pytest.mark.skipif(
    shutil.which("fc-list") is None or not Path(FONT_FILES["dejavu"]).exists(),
    reason="fontconfig (fc-list) or DejaVu Sans Mono is not installed",
)


@needs_tesseract
@needs_fonts
def test_letters_poolmon_never_shows_are_read_by_the_installed_font_that_draws_the_picture(pictures: Path) -> None:
    from parsers.screenshot.reader import read_screen

    screen = _unshown_letter_screen(31)
    path = pictures / "dejavu12.jpg"
    # 12 px at JPEG quality 50: Tesseract alone leaves two of these tags unread.
    draw_screen(screen, "dejavu", 12, "cmd").save(path, quality=50)
    read = read_screen(path.read_bytes(), "dejavu12.jpg")
    assert read.font is not None and read.font.choice.path.endswith("DejaVuSansMono.ttf")
    assert read.font.choice.size == 12
    snap = parse([path]).snapshots[0]
    assert [row.tag for row in snap.rows] == list(_UNSHOWN_TAGS)
    assert [_numbers(row) for row in snap.rows] == [_truth_numbers(r) for r in screen.rows]


@needs_tesseract
def test_a_font_not_installed_reads_no_letter_from_fonts_and_reports_what_it_cannot_settle(
    pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parsers.screenshot.fonts import EXCLUDE_ENV
    from parsers.screenshot.reader import read_screen

    monkeypatch.setenv(EXCLUDE_ENV, "ter-")  # as if Terminus were not on this machine
    screen = _unshown_letter_screen(32)
    path = pictures / "terminus-unknown.jpg"
    draw_screen(screen, "terminus", 14, "cmd").save(path, quality=70)
    assert read_screen(path.read_bytes(), "terminus-unknown.jpg").font is None
    _check_against(screen, path)


@needs_tesseract
@needs_fonts
def test_digits_and_letters_in_mapped_driver_text_follow_the_glyphs(pictures: Path) -> None:
    rows = random_screen(33, n_rows=6, width=132, mapped_driver=True).rows
    rows = [dataclasses.replace(r, driver="[nt!io - general IO allocations]") for r in rows]
    screen = Screen(rows, 132, True)
    path = pictures / "driver.jpg"
    draw_screen(screen, "dejavu", 12, "cmd").save(path, quality=50)
    snap = parse([path]).snapshots[0]
    drivers = [row.mapped_driver for row in snap.rows]
    assert all("IO allocations" in (d or "") for d in drivers), drivers


@needs_tesseract
def test_a_picture_without_a_console_is_a_clean_input_error(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (300, 200), (40, 90, 160)).save(tmp_path / "holiday.png")
    run = poolscope("parse", "holiday.png", cwd=tmp_path)
    assert run.code == 2
    assert len(run.err_lines) == 1
    assert run.err_lines[0].startswith("error: holiday.png") or "holiday.png" in run.err_lines[0]
    assert "Traceback" not in run.err


# -- no Tesseract needed ------------------------------------------------------------------------


def test_a_damaged_picture_is_one_line_without_python_internals(tmp_path: Path) -> None:
    (tmp_path / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    run = poolscope("parse", "shot.png", cwd=tmp_path)
    assert (run.code, run.err) == (2, "Error: shot.png: damaged picture: the image data cannot be decoded\n")


def _png_with_time(when: datetime) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG")
    data = buf.getvalue()
    body = struct.pack(">HBBBBB", when.year, when.month, when.day, when.hour, when.minute, when.second)
    chunk = struct.pack(">I", 7) + b"tIME" + body + struct.pack(">I", zlib.crc32(b"tIME" + body))
    return data[:33] + chunk + data[33:]  # after IHDR (8-byte signature + 25-byte IHDR chunk)


def test_picture_time_from_png_time_chunk_and_exif() -> None:
    from PIL import Image

    from parsers.screenshot import picture_time

    assert picture_time(_png_with_time(datetime(2026, 11, 21, 14, 3, 7))) == datetime(2026, 11, 21, 14, 3, 7)
    exif = Image.Exif()
    exif[306] = "2026:11:21 15:30:00"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="JPEG", exif=exif)
    assert picture_time(buf.getvalue()) == datetime(2026, 11, 21, 15, 30, 0)
    plain = io.BytesIO()
    Image.new("RGB", (8, 8)).save(plain, format="PNG")
    assert picture_time(plain.getvalue()) is None


def test_pictures_inside_a_zip_are_routed_by_content(tmp_path: Path) -> None:
    archive = tmp_path / "shots.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a/first", _png_with_time(datetime(2026, 11, 21, 14, 0, 0)))
        z.writestr("notes.txt", "not pool data")
    sources = list(read_path(archive))
    assert isinstance(sources[0], ImageSource)
    assert sources[0].encoding == "image/png"
    from parsers.formats import detect

    assert detect(sources[0]).name == "screenshot"
    assert not isinstance(sources[1], ImageSource)


def test_screenshot_format_rejects_text_forced_as_a_picture() -> None:
    from parsers import InputError, text_source

    with pytest.raises(InputError, match="not a picture"):
        parse_sources([text_source(" Tag  Type\n", "x.txt")], input_format="screenshot")


def _picture(source: str, tags: list[str], doubtful: dict[str, list[int]]):
    from parsers import Row, RowTable, Snapshot

    rows = RowTable.from_rows(Row(tag, "paged", 10, 4, 6, 600) for tag in tags)
    return Snapshot(source=source, index=0, format="screenshot", rows=rows, extra={"doubtful_tags": doubtful})


def test_a_doubtful_tag_is_settled_by_the_picture_that_reads_it_without_doubt() -> None:
    from parsers import settle_pictures

    before = _picture("before.png", ["ImSI", "Abcd", "OJ  "], {"ImSI": [0, 1, 2], "OJ  ": [0]})
    after = _picture("after.png", ["JmSI", "Abcd", "0J  "], {"JmSI": [1, 2], "0J  ": [0]})
    warnings = settle_pictures([before, after])
    # Character 1 is sure in the after picture: both read JmSI now, and the warning says where from.
    assert [row.tag for row in before.rows] == ["JmSI", "Abcd", "OJ  "]
    assert [str(w) for w in warnings] == ["before.png: picture: Tag 'ImSI' settled as 'JmSI', as after.png reads it"]
    # Doubtful in both at the same character: nothing to settle it by, both stay as read (and reported).
    assert [row.tag for row in after.rows] == ["JmSI", "Abcd", "0J  "]


def test_a_tag_both_pictures_show_is_never_renamed() -> None:
    from parsers import settle_pictures

    before = _picture("before.png", ["Abc1", "Abcl"], {"Abc1": [3]})
    after = _picture("after.png", ["Abc1", "Abcl"], {})
    assert settle_pictures([before, after]) == []
    assert [row.tag for row in before.rows] == ["Abc1", "Abcl"]
