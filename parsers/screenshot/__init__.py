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

import struct
from datetime import datetime

from ..errors import Diagnostics, InputError
from ..formats import InputFormat, ParseOptions
from ..model import Snapshot, TimeOrigin
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
    for snap in snapshots:
        snap.format = FORMAT_NAME
        snap.extra["ocr_seconds"] = round(screen.seconds, 3)
        snap.extra["doubtful_lines"] = sorted(screen.doubtful_lines)
        if snap.timestamp is None and taken is not None:
            snap.timestamp = taken
            snap.time_origin = TimeOrigin.SOURCE
    if not snapshots:
        diag.note(source.name, None, "picture: no PoolMon rows could be read", strict=False)
    return snapshots


FORMAT = InputFormat(
    name=FORMAT_NAME,
    description="PNG and JPEG pictures of the PoolMon console, read with Tesseract (the ocr extra)",
    sniff=sniff,
    parse=parse,
)
