"""pooltag.txt and localtag.txt: the owner database of pool tags (FORMATS.md §7).

A line reads ``TAG - BINARY - DESCRIPTION``, but real files are hand-edited: the
binary may be missing, descriptions contain `` - ``, dashes lose their spaces,
sub-description lines are indented under their entry, tags repeat with other
owners.  Every entry is kept (duplicates become several candidates); what cannot be
read is reported with its file and line, never raised unless the caller asks.

Two readers share the field rules: a compiled-regex fast path (:func:`split_entry`)
that the database uses, and a pyparsing grammar (:func:`entry_grammar`) kept as the
readable reference; a hypothesis test checks that both agree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyparsing as pp

from .errors import Diagnostics, ErrorLevel, InputError
from .textio import TextSource, read_path, text_source

#: A tag is four bytes; PoolMon shows shorter tags padded on the right with spaces.
TAG_LENGTH = 4

# A binary is a file name (or a short list of them), a debugger component `nt!xyz`,
# or one of the placeholders the Debugging Tools use.
_FILE = r"[\w$.\-]+\.[A-Za-z][A-Za-z0-9]{1,3}"
_BINARY = rf"<unknown>|<multiple>|[\w$.\-]+![\w$.\-]+|{_FILE}(?:[ \t]*[,/][ \t]*{_FILE})*"
_BINARY_RE = re.compile(_BINARY, re.IGNORECASE)
# The separator between fields: a dash after whitespace; the space after it is optional
# because real entries read `Abcd -Description`.
_SEP_RE = re.compile(r"[ \t]+-[ \t]*")
_REM_RE = re.compile(r"rem(?:\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class PoolTagEntry:
    """One owner entry. ``pattern`` is padded to four characters unless it holds ``*``."""

    pattern: str
    binary: str | None
    description: str
    source: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def is_wildcard(self) -> bool:
        return "*" in self.pattern or "?" in self.pattern


@dataclass(frozen=True)
class EntryFields:
    """The raw fields of one entry line, before tag checks and padding."""

    tag: str
    binary: str | None
    description: str


def pad_tag(tag: str) -> str:
    """PoolMon's form of a tag: right-padded with spaces to four characters."""
    return tag if "*" in tag or len(tag) >= TAG_LENGTH else tag.ljust(TAG_LENGTH)


def is_binary(text: str) -> bool:
    """True when ``text`` names a binary rather than starting a description."""
    return _BINARY_RE.fullmatch(text) is not None


def split_entry(text: str) -> EntryFields | None:
    """Fast path: the fields of an entry line (already stripped), or None when it has no ``TAG -``."""
    sep = _SEP_RE.search(text, 1)
    if sep is None:
        return None
    tag = text[: sep.start()]
    rest = text[sep.end() :].rstrip()
    binary: str | None = None
    description = rest
    nxt = _SEP_RE.search(rest)
    first = rest if nxt is None else rest[: nxt.start()]
    if first and is_binary(first):
        binary = first
        description = "" if nxt is None else rest[nxt.end() :]
    return EntryFields(tag, binary, description)


@functools.lru_cache(maxsize=1)
def entry_grammar() -> pp.ParserElement:
    """Reference grammar of one entry line, with results ``tag``, ``binary`` and ``description``."""
    sep = pp.Regex(r"[ \t]+-[ \t]*").suppress()
    tag = pp.Regex(r"\S(?:(?![ \t]+-).){0,}")("tag")
    binary = pp.Regex(rf"(?:{_BINARY})(?=[ \t]+-|[ \t]*$)", re.IGNORECASE)("binary")
    description = pp.Regex(r".+")("description")
    entry = tag + sep + pp.Optional(binary + pp.Optional(sep)) + pp.Optional(description) + pp.StringEnd()
    for element in (sep, tag, binary, description, entry):
        element.leave_whitespace()
    return entry.leave_whitespace().parse_with_tabs()


def parse_entry_grammar(text: str) -> EntryFields | None:
    """The grammar's reading of an entry line; errors are wrapped here, at the module edge."""
    try:
        result = entry_grammar().parse_string(text, parse_all=True)
    except pp.ParseBaseException:
        return None
    binary = result.get("binary")
    description = (result.get("description") or "").rstrip()
    return EntryFields(result["tag"], binary, description)


@dataclass
class PoolTagFile:
    """Entries read from one file, in file order."""

    source: str
    entries: list[PoolTagEntry]

    def __iter__(self) -> Iterator[PoolTagEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _check_tag(tag: str) -> str | None:
    """Why a tag field cannot be a pool tag, or None when it can."""
    if len(tag) > TAG_LENGTH:
        if "*" in tag[:TAG_LENGTH]:
            return None
        return f"tag {tag!r} has {len(tag)} characters; pool tags have at most 4"
    return None


def parse_pooltag_text(source: TextSource, diag: Diagnostics | None = None) -> PoolTagFile:
    """Read every owner entry of one pooltag.txt/localtag.txt text."""
    diag = diag if diag is not None else Diagnostics()
    entries: list[PoolTagEntry] = []
    for number, raw in enumerate(source.text.split("\n"), start=1):
        line = raw.rstrip()
        text = line.strip()
        if not text or text.startswith("//"):
            continue
        fields = split_entry(text)
        if _REM_RE.match(text) and (fields is None or fields.binary is None or _check_tag(fields.tag)):
            continue  # `rem` comments; a real tag `Rem ` with a binary is still an entry
        if fields is None and text.lower() in ("<unknown>", "<multiple>"):
            # Real files hold stray binary placeholders, indented or not: never a description.
            diag.skip(source.name, number, "a binary with no tag before it", text)
            continue
        indented = line[0] in " \t"
        if indented and entries and (fields is None or fields.binary is None or _check_tag(fields.tag)):
            # A sub-description line under the entry above it.
            prev = entries[-1]
            joined = f"{prev.description} {text}".strip()
            entries[-1] = PoolTagEntry(prev.pattern, prev.binary, joined, prev.source, prev.line)
            continue
        if fields is None:
            diag.skip(source.name, number, "not a `TAG - BINARY - DESCRIPTION` entry", text)
            continue
        problem = _check_tag(fields.tag)
        if problem:
            diag.skip(source.name, number, problem, text)
            continue
        entries.append(
            PoolTagEntry(pad_tag(fields.tag), fields.binary, fields.description.strip(), source.name, number)
        )
    if not entries and source.text.strip():
        diag.note(source.name, None, "no pool tag entries found", strict=False)
    return PoolTagFile(source.name, entries)


def read_pooltag_file(path: str | Path, diag: Diagnostics | None = None, name: str | None = None) -> PoolTagFile:
    """Read a pooltag file from disk (any encoding textio knows); InputError when unreadable."""
    shown = name or str(path)
    sources = list(read_path(Path(path), shown))
    if not sources:
        raise InputError(shown, "no text to read")
    entries: list[PoolTagEntry] = []
    for src in sources:
        entries.extend(parse_pooltag_text(src, diag).entries)
    return PoolTagFile(shown, entries)


def parse_pooltag_string(text: str, name: str = "<text>", errors: ErrorLevel = ErrorLevel.WARN) -> PoolTagFile:
    """Convenience for tests and library callers holding the text in memory."""
    return parse_pooltag_text(text_source(text, name), Diagnostics(errors))


def format_localtag(entries: list[tuple[str, str | None, str]]) -> str:
    """Write (tag, binary, description) triples the way PoolMon's localtag.txt reads them."""
    lines = []
    for tag, binary, description in entries:
        parts = [pad_tag(tag), binary or "<unknown>"]
        if description:
            parts.append(description)
        lines.append(" - ".join(parts))
    return "\n".join(lines) + ("\n" if lines else "")
