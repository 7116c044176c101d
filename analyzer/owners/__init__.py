"""Who owns a pool tag: the public API every table with an owner column calls.

>>> resolver = build_resolver(["pooltag.txt"], snapshots)   # doctest: +SKIP
>>> resolver.best("Abcd")                                  # doctest: +SKIP
'abc.sys - Abc request buffers'

Candidates come from tag files (``--tags``, ``POOLSCOPE_TAGS``, the Debugging Tools'
pooltag.txt on Windows, the per-user folder) and from evidence in the inputs, in that
order of precedence; each carries its provenance.  Exact tags are listed before
wildcard entries (PoolMon's rule), so an exact claim from a later source outranks a
wildcard from an earlier one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

from analyzer.analysis.ownership import NO_OWNER, Ownership
from analyzer.owners.database import PLACEHOLDERS, OwnerCandidate, OwnerDatabase
from analyzer.owners.evidence import input_candidates
from analyzer.owners.sources import ENV_DATA_DIR, ENV_TAGS, TagFileRef, default_tag_files, user_data_dir, user_tags_dir
from parsers.errors import Diagnostics, ErrorLevel, InputError, ParseWarning
from parsers.model import Snapshot
from parsers.pooltag import pad_tag, read_pooltag_file

__all__ = [
    "ENV_DATA_DIR",
    "ENV_TAGS",
    "OwnerCandidate",
    "OwnerResolver",
    "Ownership",
    "UserTagFile",
    "add_user_tag_file",
    "annotate_rows",
    "build_resolver",
    "list_user_tag_files",
    "remove_user_tag_file",
    "user_data_dir",
    "user_tags_dir",
]


class _Annotatable(Protocol):
    tag: str
    owner: str | None
    owner_candidates: list[dict[str, Any]]


T = TypeVar("T", bound=_Annotatable)


#: poolscope's own list of common kernel tags (analyzer/owners/common_tags.txt), read last.
BUNDLED_TAGS = "common_tags.txt"
BUNDLED_ORIGIN = "poolscope common tags: common_tags.txt"


class OwnerResolver:
    """Answers "who owns this tag"; callable as ``resolver(tag) -> best owner`` for ``to_dict(owners)``."""

    def __init__(self, database: OwnerDatabase | None = None, warnings: Sequence[ParseWarning] = (),
                 sources: Sequence[str] = (), fallback: OwnerDatabase | None = None) -> None:
        self._db = database or OwnerDatabase()
        #: Consulted after every candidate of ``database``, wildcards included (the bundled list).
        self._fallback = fallback or OwnerDatabase()
        self.warnings: list[ParseWarning] = list(warnings)
        #: Provenance of every tag file read, in precedence order.
        self.sources: list[str] = list(sources)

    @classmethod
    def empty(cls) -> OwnerResolver:
        """A resolver that knows no owners (``best`` is always None)."""
        return cls()

    def __len__(self) -> int:
        return len(self._db) + len(self._fallback)

    def __call__(self, tag: str) -> str | None:
        return self.best(tag)

    def candidates(self, tag: str) -> list[OwnerCandidate]:
        """Every candidate owner of ``tag``, most trusted first."""
        return self._db.candidates(tag) + self._fallback.candidates(tag)

    def best(self, tag: str) -> str | None:
        """The owner text of the most trusted candidate that names somebody."""
        return self.ownership(tag).owner

    def ownership(self, tag: str) -> Ownership:
        """The best owner of ``tag``, its provenance and every candidate: what a row carries."""
        candidates = self.candidates(tag)
        for candidate in candidates:
            if not candidate.informative:
                continue
            if candidate.binary in PLACEHOLDERS and not candidate.description:
                continue
            owner = candidate.owner
            if owner:
                return Ownership(owner, candidate.source, tuple(c.to_dict() for c in candidates))
        return Ownership(None, None, tuple(c.to_dict() for c in candidates))

    def with_inputs(self, snapshots: Sequence[Snapshot]) -> OwnerResolver:
        """This resolver's tag files plus the owner evidence of ``snapshots`` (read once, used per host)."""
        db = self._db.copy()
        for candidate in input_candidates(snapshots):
            db.add(candidate)
        return OwnerResolver(db, self.warnings, self.sources)

    def binary(self, tag: str) -> str | None:
        """The driver binary of the most trusted candidate that names one (``abc.sys``, ``nt!ps``)."""
        for candidate in self._db.candidates(tag):
            if candidate.informative and candidate.binary and candidate.binary not in PLACEHOLDERS:
                return candidate.binary
        return None

    def annotate(self, tag: str) -> dict[str, Any]:
        """The JSON fields a row carries: ``owner`` and ``owner_candidates`` with provenance."""
        return self.ownership(tag).to_dict()


def _read_ref(ref: TagFileRef, db: OwnerDatabase, diag: Diagnostics) -> bool:
    try:
        table = read_pooltag_file(ref.path, diag, name=str(ref.path))
    except InputError as exc:
        if ref.required:
            raise
        diag.note(str(ref.path), None, f"tag file from {ref.origin} not read: {exc.message}", strict=False)
        return False
    for entry in table:
        db.add(OwnerCandidate(entry.pattern, entry.binary, entry.description, ref.provenance, entry.line))
    return True


def build_resolver(
    tag_files: Sequence[str | os.PathLike[str]] = (),
    snapshots: Sequence[Snapshot] = (),
    *,
    use_defaults: bool = True,
    errors: ErrorLevel | str = ErrorLevel.WARN,
) -> OwnerResolver:
    """A resolver over ``tag_files`` (a missing one is an InputError), the defaults and the inputs.

    ``use_defaults=False`` leaves out ``POOLSCOPE_TAGS``, the Debugging Tools and the user
    folder (tests, reproducible reports); evidence from ``snapshots`` is always used.
    Unreadable lines in tag files become ``resolver.warnings``; with ``errors="raise"`` the
    first one in a ``tag_files`` file raises ParseError (configured files only warn).
    """
    level = ErrorLevel(errors)
    # --strict applies to files the user named; the installed pooltag.txt has quirks of its own
    # and must not fail a command that never mentioned it.
    named = Diagnostics(level)
    configured = Diagnostics(ErrorLevel.IGNORE if level is ErrorLevel.IGNORE else ErrorLevel.WARN)
    db = OwnerDatabase()
    refs = [TagFileRef(Path(p), "--tags", required=True) for p in tag_files]
    if use_defaults:
        refs.extend(default_tag_files())
    # Files `tags add` copied had their unreadable lines reported when they were added.
    added = Diagnostics(ErrorLevel.IGNORE)
    read: list[str] = []
    for ref in refs:
        diag = named if ref.required else (added if ref.origin == "user data" else configured)
        if _read_ref(ref, db, diag):
            read.append(ref.provenance)
    for candidate in input_candidates(snapshots):
        db.add(candidate)
    fallback = OwnerDatabase()
    if use_defaults:
        # Our own short list of the kernel's common tags: consulted only after every other source,
        # so even a wildcard in the user's file outranks an exact tag of ours.
        bundled = resources.files("analyzer.owners") / BUNDLED_TAGS
        with resources.as_file(bundled) as path:
            table = read_pooltag_file(path, Diagnostics(ErrorLevel.IGNORE), name=BUNDLED_TAGS)
        for entry in table:
            fallback.add(OwnerCandidate(entry.pattern, entry.binary, entry.description, BUNDLED_ORIGIN, entry.line))
        read.append(BUNDLED_ORIGIN)
    return OwnerResolver(db, named.warnings() + configured.warnings(), read, fallback)


@dataclass(frozen=True)
class UserTagFile:
    """A tag file in the per-user folder: what ``poolscope tags list`` prints."""

    name: str
    path: Path
    entries: int
    skipped: int  # lines that did not read as tag entries (reported once, by `tags add`)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "entries": self.entries, "skipped": self.skipped}


def add_user_tag_file(path: str | os.PathLike[str], *, replace: bool = False,
                      diag: Diagnostics | None = None) -> Path:
    """Copy a tag file into the per-user folder, after checking it reads as one.

    A file of the same name already there is an InputError unless ``replace``: two
    localtag.txt files from two machines must not silently become one.  Lines that do
    not read are collected in ``diag`` so the caller can report them once, here, rather
    than on every later command.
    """
    src = Path(path)
    diag = diag if diag is not None else Diagnostics()
    table = read_pooltag_file(src, diag)
    if not len(table):
        raise InputError(str(src), "no pool tag entries found; not a pooltag.txt/localtag.txt file")
    folder = user_tags_dir()
    dest = folder / src.name
    if dest.exists() and not replace:
        if dest.read_bytes() == src.read_bytes():
            return dest
        raise InputError(str(src), f"a different {src.name} was added before ({dest}); add it with --replace to "
                                   "replace it, or copy it under another name to keep both")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def list_user_tag_files() -> list[UserTagFile]:
    """The tag files ``tags add`` put in the per-user folder, in the order they are read."""
    out = []
    for ref in default_tag_files():
        if ref.origin != "user data":
            continue
        diag = Diagnostics(ErrorLevel.WARN)
        try:
            entries = len(read_pooltag_file(ref.path, diag, name=str(ref.path)))
        except InputError:
            entries = 0
        out.append(UserTagFile(ref.path.name, ref.path, entries, len(diag.skipped)))
    return out


def remove_user_tag_file(name: str) -> Path:
    """Delete a file ``tags add`` copied (by its name, as ``tags list`` shows it); InputError if there is none."""
    folder = user_tags_dir()
    target = folder / Path(name).name
    if Path(name).name != name or not target.is_file():
        known = ", ".join(f.name for f in list_user_tag_files()) or "none"
        raise InputError(name, f"no such added tag file (added: {known})")
    target.unlink()
    return target


def annotate_rows(resolver: OwnerResolver | None, rows: Iterable[T]) -> list[T]:
    """Set ``owner`` and ``owner_candidates`` (and ``owner_source`` where a row has one) on each row.

    The one owner-annotation step of every result table (diff, trend, show, triage, report),
    one lookup per tag; no resolver leaves every row with nobody named.  Returns the rows.
    """
    cache: dict[str, Ownership] = {}
    out = list(rows)
    for row in out:
        found = cache.get(row.tag)
        if found is None:
            found = cache[row.tag] = resolver.ownership(pad_tag(row.tag)) if resolver is not None else NO_OWNER
        row.owner = found.owner
        # Each row gets its own list: a caller editing one row must not change its other pool's row.
        row.owner_candidates = [dict(c) for c in found.candidates]
        if hasattr(row, "owner_source"):
            row.owner_source = found.source
    return out
