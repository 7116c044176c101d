"""Tag -> owner candidates with PoolMon's matching rules.

PoolMon looks up an exact tag before any wildcard entry; ``?`` stands for one
character and ``*`` for any suffix; matching is case-sensitive and tags shorter
than four characters are padded with spaces.  Unlike PoolMon we keep every match:
duplicates across files (or inside one file) are several candidates, each with the
place it came from, because the disagreement is itself worth showing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from analyzer.analysis.filters import pattern_regex
from parsers.pooltag import pad_tag

#: Binaries that say "nobody knows" rather than naming an owner.
PLACEHOLDERS = frozenset({"<unknown>", "<multiple>"})


@dataclass(frozen=True)
class OwnerCandidate:
    """One possible owner of a tag and where that claim comes from (``source``: provenance)."""

    pattern: str
    binary: str | None
    description: str
    source: str
    line: int | None = field(default=None, compare=False)
    #: False for evidence that only says the tag is unknown (`!poolused`'s UNKNOWN pooltag).
    informative: bool = field(default=True, compare=False)

    @property
    def is_wildcard(self) -> bool:
        return "*" in self.pattern or "?" in self.pattern

    @property
    def owner(self) -> str | None:
        """Short owner text: ``"abc.sys - Abc request buffers"``."""
        parts = [p for p in (self.binary, self.description) if p]
        return " - ".join(parts) if parts else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "binary": self.binary,
            "description": self.description,
            "source": self.source,
            "line": self.line,
        }


def _specificity(pattern: str) -> int:
    """Literal characters a wildcard pattern fixes; more specific patterns are listed first."""
    return sum(1 for ch in pattern if ch not in "*?")


class OwnerDatabase:
    """Candidates from several sources, kept in precedence order (first added wins ties)."""

    def __init__(self) -> None:
        self._exact: dict[str, list[tuple[int, OwnerCandidate]]] = {}
        self._wild: list[tuple[int, re.Pattern[str], OwnerCandidate]] = []
        self._order = 0
        self._cache: dict[str, list[OwnerCandidate]] = {}

    def __len__(self) -> int:
        return self._order

    def copy(self) -> OwnerDatabase:
        """An independent database with the same candidates (one host's evidence added to shared files)."""
        other = OwnerDatabase()
        other._exact = {k: list(v) for k, v in self._exact.items()}
        other._wild = list(self._wild)
        other._order = self._order
        return other

    def add(self, candidate: OwnerCandidate) -> None:
        self._cache.clear()
        self._order += 1
        if candidate.is_wildcard:
            self._wild.append((self._order, pattern_regex(candidate.pattern), candidate))
        else:
            self._exact.setdefault(candidate.pattern, []).append((self._order, candidate))

    def candidates(self, tag: str) -> list[OwnerCandidate]:
        """Every candidate for ``tag``: exact matches first, then wildcards, most specific first."""
        key = pad_tag(tag)
        hit = self._cache.get(key)
        if hit is not None:
            return list(hit)
        exact = [c for _, c in self._exact.get(key, ())]
        wild = sorted(
            ((order, c) for order, rx, c in self._wild if rx.fullmatch(key)),
            key=lambda item: (-_specificity(item[1].pattern), item[0]),
        )
        out = _dedupe(exact + [c for _, c in wild])
        self._cache[key] = out
        return list(out)


def _dedupe(candidates: list[OwnerCandidate]) -> list[OwnerCandidate]:
    """Drop repeats of the same claim from the same source (a file listed twice)."""
    seen: set[tuple[str, str | None, str, str, int | None]] = set()
    out = []
    for c in candidates:
        key = (c.pattern, c.binary, c.description, c.source, c.line)
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
    return out
