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
    "add_user_tag_file",
    "annotate_rows",
    "build_resolver",
    "user_data_dir",
    "user_tags_dir",
]


class _Annotatable(Protocol):
    tag: str
    owner: str | None
    owner_candidates: list[dict[str, Any]]


T = TypeVar("T", bound=_Annotatable)


class OwnerResolver:
    """Answers "who owns this tag"; callable as ``resolver(tag) -> best owner`` for ``to_dict(owners)``."""

    def __init__(self, database: OwnerDatabase | None = None, warnings: Sequence[ParseWarning] = (),
                 sources: Sequence[str] = ()) -> None:
        self._db = database or OwnerDatabase()
        self.warnings: list[ParseWarning] = list(warnings)
        #: Provenance of every tag file read, in precedence order.
        self.sources: list[str] = list(sources)

    @classmethod
    def empty(cls) -> OwnerResolver:
        """A resolver that knows no owners (``best`` is always None)."""
        return cls()

    def __len__(self) -> int:
        return len(self._db)

    def __call__(self, tag: str) -> str | None:
        return self.best(tag)

    def candidates(self, tag: str) -> list[OwnerCandidate]:
        """Every candidate owner of ``tag``, most trusted first."""
        return self._db.candidates(tag)

    def best(self, tag: str) -> str | None:
        """The owner text of the most trusted candidate that names somebody."""
        return self.ownership(tag).owner

    def ownership(self, tag: str) -> Ownership:
        """The best owner of ``tag``, its provenance and every candidate: what a row carries."""
        candidates = self._db.candidates(tag)
        for candidate in candidates:
            if not candidate.informative:
                continue
            if candidate.binary in PLACEHOLDERS and not candidate.description:
                continue
            owner = candidate.owner
            if owner:
                return Ownership(owner, candidate.source, tuple(c.to_dict() for c in candidates))
        return Ownership(None, None, tuple(c.to_dict() for c in candidates))

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
    read: list[str] = []
    for ref in refs:
        if _read_ref(ref, db, named if ref.required else configured):
            read.append(ref.provenance)
    for candidate in input_candidates(snapshots):
        db.add(candidate)
    return OwnerResolver(db, named.warnings() + configured.warnings(), read)


def add_user_tag_file(path: str | os.PathLike[str]) -> Path:
    """Copy a tag file into the per-user folder, after checking it reads as one."""
    src = Path(path)
    diag = Diagnostics()
    table = read_pooltag_file(src, diag)
    if not len(table):
        raise InputError(str(src), "no pool tag entries found; not a pooltag.txt/localtag.txt file")
    folder = user_tags_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / src.name
    shutil.copyfile(src, dest)
    return dest


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
