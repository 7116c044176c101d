"""Turn what users hand over (paths, folders, globs, stdin, .gz/.zip attachments) into text.

Decoding follows what Windows tools actually write: a BOM wins (PowerShell's
``>`` writes UTF-16LE with one); BOM-less UTF-16 is recognised by its NUL bytes;
then UTF-8; then cp1252 (Notepad's "ANSI").  Line ends are normalised to ``\\n``.
"""

from __future__ import annotations

import codecs
import dataclasses
import glob
import io
import lzma
import os
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import InputError, ResourceLimit

#: Plain files larger than this are decoded as they are read (StreamedSource).
STREAM_BYTES = 32 * 1024 * 1024
#: Piece size for bulk parsers reading a source in chunks (small enough that a few pieces in
#: flight, with their working arrays, stay well below the size of what a big log parses into).
CHUNK_CHARS = 4 * 1024 * 1024

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
    #: Partial-input warnings found while reading (a damaged archive member, cut-off gzip data).
    notes: tuple[str, ...] = ()

    @property
    def basename(self) -> str:
        return self.name.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]

    def head(self, n: int) -> str:
        """The first ``n`` characters, without reading a streamed file whole."""
        return self.text[:n]

    def iter_chunks(self, size: int | None = None) -> Iterator[str]:
        """The text in pieces of about ``size`` characters, each ending at a line end but the last.

        Bulk parsers use this so that a large file is never held whole (see StreamedSource).
        """
        size = size or CHUNK_CHARS
        text = self.text
        pos, n = 0, len(text)
        while pos < n:
            end = text.find("\n", min(pos + size, n) - 1)
            end = n if end < 0 else end + 1
            yield text[pos:end]
            pos = end

    def iter_raw_chunks(self, size: int | None = None) -> Iterator[bytes] | None:
        """Undecoded pieces ending at line ends, when the file allows reading bytes directly.

        Only a StreamedSource in an ASCII-compatible encoding with LF or CRLF line ends
        offers them; bulk parsers then skip decoding what they read as numbers.
        """
        return None


class StreamedSource(TextSource):
    """A large plain file, decoded piece by piece as it is read.

    Appended PoolMon logs run to hundreds of megabytes; holding their bytes and
    decoded text at once would cost more than the parsed rows.  ``iter_chunks``
    reads and decodes incrementally; ``text`` still works (it reads the whole file).
    """

    def __init__(
        self, name: str, path: Path, encoding: str, mtime: datetime | None, head: str, skip: int, raw_ok: bool = False
    ) -> None:
        object.__setattr__(self, "_raw_ok", raw_ok)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "encoding", encoding)
        object.__setattr__(self, "mtime", mtime)
        object.__setattr__(self, "_head", head)
        object.__setattr__(self, "_skip", skip)

    def __repr__(self) -> str:
        return f"StreamedSource(name={self.name!r}, encoding={self.encoding!r})"

    @property  # type: ignore[override]
    def text(self) -> str:
        cached = self.__dict__.get("_text")
        if cached is None:
            cached = "".join(self.iter_chunks())
            object.__setattr__(self, "_text", cached)
        return cached

    def head(self, n: int) -> str:
        """At most the first 128 KiB, whole lines only: enough to detect a format."""
        return self._head[:n]

    def iter_raw_chunks(self, size: int | None = None) -> Iterator[bytes] | None:
        if not self._raw_ok:
            return None
        return self._raw_chunks(size or CHUNK_CHARS)

    def _raw_chunks(self, size: int) -> Iterator[bytes]:
        carry = b""
        with open(self.path, "rb") as fh:  # type: ignore[arg-type]
            fh.seek(self._skip)
            while True:
                raw = fh.read(size)
                if not raw:
                    if carry:
                        yield carry
                    return
                piece = carry + raw if carry else raw
                cut = piece.rfind(b"\n") + 1
                if cut == 0:
                    carry = piece
                    continue
                carry = piece[cut:]
                yield piece[:cut]

    def iter_chunks(self, size: int | None = None) -> Iterator[str]:
        size = size or CHUNK_CHARS
        codec = self.encoding.removesuffix("-sig")
        decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        carry = ""
        with open(self.path, "rb") as fh:  # type: ignore[arg-type]
            fh.seek(self._skip)
            while True:
                raw = fh.read(size)
                final = not raw
                piece = carry + decoder.decode(raw, final=final)
                if not final and piece.endswith("\r"):
                    # Keep a CR that may pair with an LF in the next block.
                    carry, piece = "\r", piece[:-1]
                else:
                    carry = ""
                piece = _normalise(piece)
                if not final:
                    cut = piece.rfind("\n") + 1
                    if cut == 0:
                        carry = piece + carry
                        continue
                    carry = piece[cut:] + carry
                    piece = piece[:cut]
                if piece:
                    yield piece
                if final:
                    return


#: Magic numbers of the pictures read by parsers.screenshot (PNG, JPEG).
IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
#: What an ImageSource's text reads as, so that detection routes it by content like any other source.
IMAGE_TEXT = "\x00picture:"


class ImageSource(TextSource):
    """A picture (a screenshot of the PoolMon console): its bytes, no text of its own."""

    def __init__(self, name: str, data: bytes, kind: str, mtime: datetime | None, path: Path | None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "text", f"{IMAGE_TEXT}{kind}\n")
        object.__setattr__(self, "encoding", kind)
        object.__setattr__(self, "mtime", mtime)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "data", data)

    def __repr__(self) -> str:
        return f"ImageSource(name={self.name!r}, kind={self.encoding!r})"


def image_kind(data: bytes) -> str | None:
    for magic, kind in IMAGE_MAGIC:
        if data.startswith(magic):
            return kind
    return None


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


#: Limits on what archives may unpack to: attachments are untrusted, and a few kilobytes of
#: zip can claim gigabytes.  Each refusal is one InputError naming the archive.
MAX_INFLATED_BYTES = 1024 * 1024 * 1024  # all members of one input together
MAX_RATIO = 200  # inflated / compressed; PoolMon logs compress 10-30 times
RATIO_GRACE_BYTES = 16 * 1024 * 1024  # small members may compress better than that
MAX_MEMBERS = 10_000
MAX_NESTING = 3  # archive in archive in archive
_INFLATE_PIECE = 1024 * 1024


class _Budget:
    """What one input may still inflate to, shared by its nested archives."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.left = MAX_INFLATED_BYTES

    def take(self, n: int, where: str) -> None:
        self.left -= n
        if self.left < 0:
            raise ResourceLimit(where, f"archive unpacks to more than {MAX_INFLATED_BYTES // 2**20} MiB; refused")


def _check_ratio(inflated: int, compressed: int, where: str) -> None:
    if inflated > RATIO_GRACE_BYTES and inflated > MAX_RATIO * max(compressed, 1):
        raise ResourceLimit(where, f"archive member inflates more than {MAX_RATIO} times its size "
                                "(an archive bomb?); refused")


def _gunzip(data: bytes, name: str, budget: _Budget) -> tuple[bytes, str | None]:
    """Inflate gzip data piece by piece under the limits; returns (data, damage note or None)."""
    out: list[bytes] = []
    total = 0
    consumed = 0
    pending = data
    note = None
    while pending:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = pending
        try:
            while True:
                piece = inflater.decompress(chunk, _INFLATE_PIECE)
                chunk = inflater.unconsumed_tail
                total += len(piece)
                budget.take(len(piece), name)
                _check_ratio(total, consumed + len(pending) - len(chunk), name)
                out.append(piece)
                if inflater.eof or (not chunk and not piece):
                    break
            piece = inflater.flush()
            budget.take(len(piece), name)
            out.append(piece)
        except zlib.error as exc:
            if not out or total == 0:
                raise InputError(name, f"damaged gzip data: {exc}") from exc
            note = f"damaged gzip data after {total} bytes ({exc}); read what came before"
            break
        if not inflater.eof:
            if total == 0:
                raise InputError(name, "damaged gzip data: cut off before any text")
            note = f"gzip data cut off after {total} bytes; read what came before"
            break
        consumed += len(pending) - len(inflater.unused_data)
        pending = inflater.unused_data  # gzip allows members one after another
        if pending and pending[:2] != b"\x1f\x8b":
            break  # trailing junk after the last member, as some tools append
    return b"".join(out), note


def _unzip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, budget: _Budget) -> bytes:
    out: list[bytes] = []
    total = 0
    with archive.open(info) as fh:
        while True:
            piece = fh.read(_INFLATE_PIECE)
            if not piece:
                break
            total += len(piece)
            budget.take(len(piece), where)
            _check_ratio(total, info.compress_size, where)
            out.append(piece)
    return b"".join(out)


#: What a damaged zip member raises, from zipfile and the codecs behind it.
_ZIP_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, EOFError,
                      OSError, lzma.LZMAError, struct.error, IndexError, KeyError)


def _unpack(data: bytes, name: str, mtime: datetime | None, path: Path | None,
            budget: _Budget | None = None, depth: int = 0) -> Iterator[TextSource]:
    budget = budget or _Budget(name)
    if (data[:2] == b"\x1f\x8b" or data[:4] == b"PK\x03\x04") and depth >= MAX_NESTING:
        raise ResourceLimit(name, f"archives nested more than {MAX_NESTING} deep; refused")
    if data[:2] == b"\x1f\x8b":
        data, note = _gunzip(data, name, budget)
        inner = name[:-3] if name.endswith(".gz") else name
        sources = list(_unpack(data, inner, mtime, path, budget, depth + 1))
        if note and sources:
            sources[-1] = dataclasses.replace(sources[-1], notes=(*sources[-1].notes, note))
        yield from sources
        return
    if data[:4] == b"PK\x03\x04":
        yield from _unpack_zip(data, name, mtime, path, budget, depth)
        return
    kind = image_kind(data)
    if kind is not None:
        yield ImageSource(name, data, kind, mtime, path)
        return
    from .binary import BinarySource, signature_format

    binary_format = signature_format(data[:4096])
    if binary_format is not None:
        yield BinarySource(name, data, binary_format, mtime, path)
        return
    text, encoding = decode_bytes(data, name)
    yield TextSource(name=name, text=text, encoding=encoding, mtime=mtime, path=path)


def _unpack_zip(data: bytes, name: str, mtime: datetime | None, path: Path | None,
                budget: _Budget, depth: int) -> Iterator[TextSource]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, struct.error, EOFError,
            NotImplementedError, IndexError, KeyError) as exc:
        raise InputError(name, f"damaged zip archive: {exc}") from exc
    if len(infos) > MAX_MEMBERS:
        raise ResourceLimit(name, f"zip archive holds {len(infos)} entries, more than {MAX_MEMBERS}; refused")
    members = sorted((i for i in infos if not i.is_dir()), key=lambda i: i.filename)
    if not members:
        raise InputError(name, "zip archive holds no files")
    sources: list[TextSource] = []
    damaged: list[str] = []
    first_error: InputError | None = None
    for info in members:
        where = f"{name}!{info.filename}"
        if info.file_size > budget.left:
            raise ResourceLimit(where, f"archive unpacks to more than {MAX_INFLATED_BYTES // 2**20} MiB; refused")
        try:
            member = _unzip_member(archive, info, where, budget)
        except ResourceLimit:
            raise
        except _ZIP_MEMBER_ERRORS as exc:
            damaged.append(f"damaged zip member {info.filename!r} left out: {exc}")
            first_error = first_error or InputError(where, f"damaged zip member: {exc}")
            continue
        try:
            date = datetime(*info.date_time) if info.date_time[0] >= 1980 else mtime
        except ValueError:
            date = mtime  # an impossible date in the member header
        try:
            sources.extend(_unpack(member, where, date, path, budget, depth + 1))
        except ResourceLimit:
            raise
        except InputError as exc:
            damaged.append(f"zip member {info.filename!r} left out: {exc.message}")
            first_error = first_error or exc
    if not sources:
        assert first_error is not None
        raise first_error
    if damaged:
        sources[0] = dataclasses.replace(sources[0], notes=(*sources[0].notes, *damaged))
    yield from sources


def read_path(path: Path, name: str | None = None) -> Iterator[TextSource]:
    """Sources inside one file (several for a zip archive)."""
    shown = name or str(path)
    try:
        stat = path.stat()
        mtime = datetime.fromtimestamp(stat.st_mtime)
        if stat.st_size > STREAM_BYTES and path.is_file():
            mapped = _mapped_binary(path, shown, mtime)
            if mapped is not None:
                yield mapped
                return
            streamed = _streamed(path, shown, mtime)
            if streamed is not None:
                yield streamed
                return
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(shown, "no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(shown, "is a directory") from exc
    except PermissionError as exc:
        raise InputError(shown, "permission denied") from exc
    except OSError as exc:
        raise InputError(shown, exc.strerror or str(exc)) from exc
    yield from _unpack(data, shown, mtime, path)


def _mapped_binary(path: Path, name: str, mtime: datetime | None) -> TextSource | None:
    """A large binary input (an event trace) as a read-only memory map instead of bytes in memory."""
    import mmap

    from .binary import BinarySource, signature_format

    with open(path, "rb") as fh:
        binary_format = signature_format(fh.read(4096))
        if binary_format is None:
            return None
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    return BinarySource(name, data, binary_format, mtime, path)


def _streamed(path: Path, name: str, mtime: datetime | None) -> StreamedSource | None:
    """A StreamedSource for a large plain text file; None for archives (read whole)."""
    with open(path, "rb") as fh:
        head = fh.read(131072)
    if head[:2] == b"\x1f\x8b" or head[:4] == b"PK\x03\x04" or image_kind(head):
        return None
    skip = 0
    for bom, enc in _BOMS:
        if head.startswith(bom):
            skip = len(bom)
            encoding = enc + "-sig"
            break
    else:
        sample = head[:4096]
        if sample.count(0) > len(sample) // 4:
            encoding = "utf-16-le" if sample[1::2].count(0) >= sample[0::2].count(0) else "utf-16-be"
        else:
            try:
                codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
                encoding = "utf-8"
            except UnicodeDecodeError:
                encoding = "cp1252"
    codec = encoding.removesuffix("-sig")
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(head[skip:], final=False)
    if _looks_binary(text):
        raise InputError(name, "binary data, not text")
    text = _normalise(text)
    # Bytes can be read directly when ASCII stays ASCII and lines end in LF or CRLF (not bare CR).
    raw_ok = encoding in ("utf-8", "utf-8-sig", "cp1252") and (b"\r" not in head or b"\r\n" in head)
    return StreamedSource(name, path, encoding, mtime, text[: text.rfind("\n") + 1] or text, skip, raw_ok)


def read_stdin() -> Iterator[TextSource]:
    data = sys.stdin.buffer.read()
    yield from _unpack(data, "<stdin>", None, None)


class UnreadableSource(TextSource):
    """A file met inside a folder or through a pattern that could not be read (a program, a binary dump).

    A bug report's folder holds such strays beside the logs: the parse leaves them out with a
    warning, as it does an archive's stray members, instead of giving up on the whole folder.
    """

    def __init__(self, error: InputError) -> None:
        super().__init__(name=error.source, text="", encoding="")
        self.error = error


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[str | Path]:
    """Expand folders (recursively, sorted) and globs; keep ``-`` for stdin; keep order given."""
    return [item for item, _ in _expanded(inputs)]


def _expanded(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str | Path, bool]]:
    """Each input with whether it was found (inside a folder, by a pattern) rather than named."""
    for item in inputs:
        text = os.fspath(item)
        if text == "-":
            yield "-", False
            continue
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not files:
                raise InputError(text, "folder holds no files")
            yield from ((f, True) for f in files)
        elif not path.exists() and glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                raise InputError(text, "pattern matches no files")
            yield from ((f, True) for f in files)
        else:
            yield path, False


def read_item(item: str | Path, found: bool) -> Iterator[TextSource]:
    """The sources of one expanded input; a found file that cannot be read becomes an UnreadableSource."""
    if item == "-":
        yield from read_stdin()
        return
    try:
        yield from read_path(Path(item), str(item))
    except ResourceLimit:
        raise
    except InputError as exc:
        if not found:
            raise
        yield UnreadableSource(exc)


def read_inputs(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[TextSource]:
    """Every decoded source behind the given paths, folders, globs and ``-``, in order."""
    for item, found in list(_expanded(inputs)):
        yield from read_item(item, found)


def text_source(text: str, name: str = "<text>") -> TextSource:
    """Wrap an in-memory string (tests, library callers) as a source."""
    return TextSource(name=name, text=_normalise(text), encoding="str")
