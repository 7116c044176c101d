"""PNG and JPEG pictures of the PoolMon console: read back into the same snapshots as text.

The picture is turned into PoolMon screen text (:mod:`.reader`, on the cell grid of
:mod:`.picture`), which the PoolMon text reader then parses, so header totals, scope,
Mapped_Driver text and the identity checks are exactly those of text input.  Every cell
the reader repaired or doubts becomes a warning naming the screen line, the column,
what was read and what was kept.  The picture's time comes from its metadata (EXIF
DateTimeOriginal/DateTime, PNG tIME) when it has one; otherwise the file name, the
archive member time or file order with ``--interval`` date it, as for text.

Needs the ``ocr`` extra (pytesseract, Pillow) and the Tesseract program.
"""

from __future__ import annotations

import dataclasses
import struct
from datetime import datetime

from ..errors import Diagnostics, InputError
from ..formats import InputFormat, ParseOptions
from ..model import RowTable, Snapshot, TimeOrigin
from ..textio import IMAGE_TEXT, ImageSource, TextSource

FORMAT_NAME = "screenshot"


def sniff(head: str) -> float:
    return 1.0 if head.startswith(IMAGE_TEXT) else 0.0


def picture_time(data: bytes) -> datetime | None:
    """When the picture was taken, from EXIF (JPEG) or the PNG tIME chunk; None if it does not say."""
    if data.startswith(b"\x89PNG"):
        return _png_time(data)
    try:
        import io

        from PIL import Image
    except ModuleNotFoundError:  # pragma: no cover - depends on the extra
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            sub = exif.get_ifd(0x8769)
            raw = sub.get(36867) or sub.get(36868) or exif.get(306)
    except Exception:
        return None
    if not isinstance(raw, str):
        return None
    try:
        return datetime.strptime(raw.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _png_time(data: bytes) -> datetime | None:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"tIME" and length == 7:
            year, month, day, hour, minute, second = struct.unpack(">HBBBBB", data[pos + 8 : pos + 15])
            try:
                return datetime(year, month, day, hour, minute, min(second, 59))
            except ValueError:
                return None
        if kind in (b"IDAT", b"IEND"):
            return None  # tIME may follow IDAT, but screenshot tools write it before
        pos += 12 + length
    return None


def parse(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    if not isinstance(source, ImageSource):
        raise InputError(source.name, "not a picture: the screenshot reader reads PNG and JPEG files")
    from ..poolmon import parse_source
    from .reader import read_screen

    screen = read_screen(source.data, source.name)
    text = "\n".join(screen.lines) + "\n"
    as_text = TextSource(name=source.name, text=text, encoding=source.encoding, mtime=source.mtime, path=source.path)
    for note in screen.notes:
        read = note.read.replace("\n", " ")
        if note.read == note.kept:
            message = f"picture: {note.column} {read!r} is uncertain ({note.why})"
        else:
            message = f"picture: {note.column} read {read!r}, kept {note.kept!r} ({note.why})"
        diag.note(source.name, note.line, message, strict=False)
    snapshots = parse_source(as_text, diag, options)
    taken = picture_time(source.data)
    doubtful_tags = {note.kept: list(note.positions) for note in screen.notes if note.column == "Tag"}
    for snap in snapshots:
        snap.format = FORMAT_NAME
        snap.extra["doubtful_tags"] = doubtful_tags
        snap.extra["ocr_seconds"] = round(screen.seconds, 3)
        snap.extra["doubtful_lines"] = sorted(screen.doubtful_lines)
        if snap.timestamp is None and taken is not None:
            snap.timestamp = taken
            snap.time_origin = TimeOrigin.SOURCE
    if not snapshots:
        diag.note(source.name, None, "picture: no PoolMon rows could be read", strict=False)
    return snapshots


def settle_across_pictures(snapshots: list[Snapshot], diag: Diagnostics) -> None:
    """A tag one picture doubts, settled by the other pictures of the same machine.

    Screenshots of one machine show mostly the same tags.  A doubtful tag that no other picture
    shows is compared with the tags other pictures show (same pool, absent from this picture):
    one that agrees with it wherever either reading is sure is the same tag, and each doubtful
    character is taken from the picture that read it without doubt.  One such tag only, or
    nothing is changed; the warning names the picture that settled it.
    """
    pictures = [s for s in snapshots if s.format == FORMAT_NAME]
    if len(pictures) < 2:
        return
    readings: dict[str, dict[str, tuple[set[int], str]]] = {}  # pool -> tag -> (doubtful positions, source)
    shown: dict[tuple[str, str], int] = {}
    for snap in pictures:
        doubtful = snap.extra.get("doubtful_tags", {})
        for row in snap.rows:
            shown[row.key] = shown.get(row.key, 0) + 1
            unsure = set(doubtful.get(row.tag, ()))
            known = readings.setdefault(row.pool, {}).get(row.tag)
            if known is None or len(unsure) < len(known[0]):
                readings[row.pool][row.tag] = (unsure, snap.source)
    for snap in pictures:
        doubtful = snap.extra.get("doubtful_tags", {})
        keys = {row.key for row in snap.rows}
        renamed: dict[tuple[str, str], tuple[str, str]] = {}
        for row in snap.rows:
            if row.tag not in doubtful or shown.get(row.key, 0) > 1:
                continue
            mine = set(doubtful[row.tag])
            merged: dict[str, str] = {}
            for tag, (theirs, where) in readings.get(row.pool, {}).items():
                if len(tag) != len(row.tag) or (tag, row.pool) in keys:
                    continue
                pairs = list(enumerate(zip(row.tag, tag, strict=True)))
                if all(a == b for k, (a, b) in pairs if k not in mine and k not in theirs):
                    settled = "".join(b if k in mine and k not in theirs else a for k, (a, b) in pairs)
                    if settled != row.tag:
                        merged[settled] = where
            if len(merged) == 1:
                new, where = next(iter(merged.items()))
                if (new, row.pool) not in keys:
                    renamed[row.key] = (new, where)
        for (old, _), (new, where) in renamed.items():
            diag.note(snap.source, None, f"picture: Tag {old!r} settled as {new!r}, as {where} reads it", strict=False)
        if renamed:
            snap.rows = RowTable.from_rows(
                dataclasses.replace(row, tag=renamed[row.key][0]) if row.key in renamed else row for row in snap.rows
            )


FORMAT = InputFormat(
    name=FORMAT_NAME,
    description="PNG and JPEG pictures of the PoolMon console, read with Tesseract (the ocr extra)",
    sniff=sniff,
    parse=parse,
)
