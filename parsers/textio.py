"""Turn what users hand over (paths, folders, globs, stdin, .gz/.zip attachments) into text.

Decoding follows what Windows tools actually write: a BOM wins (PowerShell's
``>`` writes UTF-16LE with one); BOM-less UTF-16 is recognised by its NUL bytes;
then UTF-8; then cp1252 (Notepad's "ANSI").  Line ends are normalised to ``\\n``.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import InputError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


@dataclass(frozen=True)
class TextSource:
    """Decoded text of one input, with where it came from."""

    name: str  # what messages call it: the path as given, "<stdin>", or "archive.zip!member.log"
    text: str
    encoding: str
    mtime: datetime | None = None
    path: Path | None = None

    @property
    def basename(self) -> str:
        return self.name.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode raw bytes to text with normalised line ends; returns (text, encoding)."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(enc, errors="replace")
            return _normalise(text), enc + "-sig"
    sample = data[:4096]
    if sample and sample.count(0) > len(sample) // 4:
        # BOM-less UTF-16: NULs sit at odd offsets for LE text, even for BE.
        odd = sample[1::2].count(0)
        even = sample[0::2].count(0)
        enc = "utf-16-le" if odd >= even else "utf-16-be"
        try:
            return _normalise(data.decode(enc)), enc
        except UnicodeDecodeError as exc:
            raise InputError(name, "binary data, not text") from exc
    try:
        text = data.decode("utf-8")
        enc = "utf-8"
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        enc = "cp1252"
    if _looks_binary(text):
        raise InputError(name, "binary data, not text")
    return _normalise(text), enc


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n\f\v\x1a\x1b") or ch == "\ufffd")
    return control > max(8, len(sample) // 50)


def _normalise(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _unpack(data: bytes, name: str, mtime: datetime | None, path: Path | None) -> Iterator[TextSource]:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(name, f"damaged gzip data: {exc}") from exc
        inner = name[:-3] if name.endswith(".gz") else name
        yield from _unpack(data, inner, mtime, path)
        return
    if data[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise InputError(name, f"damaged zip archive: {exc}") from exc
        members = sorted((i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename)
        if not members:
            raise InputError(name, "zip archive holds no files")
        for info in members:
            member_time = datetime(*info.date_time) if info.date_time[0] >= 1980 else mtime
            yield from _unpack(archive.read(info), f"{name}!{info.filename}", member_time, path)
        return
    text, encoding = decode_bytes(data, name)
    yield TextSource(name=name, text=text, encoding=encoding, mtime=mtime, path=path)


def read_path(path: Path, name: str | None = None) -> Iterator[TextSource]:
    """Sources inside one file (several for a zip archive)."""
    shown = name or str(path)
    try:
        data = path.read_bytes()
        mtime = datetime.fromtimestamp(path.stat().st_mtime)
    except FileNotFoundError as exc:
        raise InputError(shown, "no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(shown, "is a directory") from exc
    except PermissionError as exc:
        raise InputError(shown, "permission denied") from exc
    except OSError as exc:
        raise InputError(shown, exc.strerror or str(exc)) from exc
    yield from _unpack(data, shown, mtime, path)


def read_stdin() -> Iterator[TextSource]:
    data = sys.stdin.buffer.read()
    yield from _unpack(data, "<stdin>", None, None)


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[str | Path]:
    """Expand folders (recursively, sorted) and globs; keep ``-`` for stdin; keep order given."""
    out: list[str | Path] = []
    for item in inputs:
        text = os.fspath(item)
        if text == "-":
            out.append("-")
            continue
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not files:
                raise InputError(text, "folder holds no files")
            out.extend(files)
        elif not path.exists() and glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                raise InputError(text, "pattern matches no files")
            out.extend(files)
        else:
            out.append(path)
    return out


def read_inputs(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[TextSource]:
    """Every decoded source behind the given paths, folders, globs and ``-``, in order."""
    for item in expand_inputs(inputs):
        if item == "-":
            yield from read_stdin()
        else:
            yield from read_path(Path(item), str(item))


def text_source(text: str, name: str = "<text>") -> TextSource:
    """Wrap an in-memory string (tests, library callers) as a source."""
    return TextSource(name=name, text=_normalise(text), encoding="str")
