"""Who owns a tag, as the analysis records it: the answer an owner resolver gives for one tag.

Defined here, below :mod:`analyzer.owners`, so result rows (and triage, which words its
summary around the owner) can carry it without importing the resolver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Ownership:
    """The best owner text of one tag, where it came from, and every candidate with provenance."""

    owner: str | None = None
    #: Provenance of ``owner`` (a tag file, input evidence); None when nobody is named.
    source: str | None = None
    #: Every candidate, most trusted first, in the JSON shape (OwnerCandidate.to_dict()).
    candidates: tuple[dict[str, Any], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The two fields every JSON row with an owner carries."""
        return {"owner": self.owner, "owner_candidates": [dict(c) for c in self.candidates]}


#: Nobody is named: what a row carries when no resolver was asked.
NO_OWNER = Ownership()

#: Tag -> ownership; :meth:`analyzer.owners.OwnerResolver.ownership` is the one implementation.
OwnerLookup = Callable[[str], Ownership]
