"""Owner evidence carried by the inputs themselves.

`!poolused` prints the debugger's own pooltag.txt reading beside each tag
(``Some subsystem , Binary: nt!xyz`` or ``UNKNOWN pooltag 'Xyz ', please update
pooltag.txt``), and PoolMon ``/g`` / ``/c`` prints a Mapped_Driver column
(``[ntfs.sys  -  Some subsystem]``, ``[abc][abc.sys - queue]``, ``Unknown Driver``).
Both name owners on the machine the data came from, which may know drivers our
files do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from analyzer.owners.database import OwnerCandidate
from parsers.model import Snapshot
from parsers.pooltag import is_binary, pad_tag, split_entry

_BINARY_FIELD = re.compile(r"\s*,?\s*Binary\s*:\s*(?P<binary>\S.*?)\s*$", re.IGNORECASE)
_UNKNOWN = re.compile(r"UNKNOWN pooltag|Owning component\s*:\s*Unknown", re.IGNORECASE)
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_CSI, _CSI_MASK = "\x1b[", "\x1b\ufffe"


def parse_description(text: str) -> tuple[str | None, str, bool] | None:
    """(binary, description, informative) from a `!poolused`/`!pool` description, None if empty."""
    text = text.strip()
    if not text:
        return None
    if _UNKNOWN.search(text):
        return ("<unknown>", "not in the debugger's pooltag.txt", False)
    m = _BINARY_FIELD.search(text)
    if m:
        description = text[: m.start()].strip().rstrip(",").strip()
        return (m.group("binary"), description, True)
    return (None, text, True)


def parse_mapped_driver(text: str) -> list[tuple[str | None, str]]:
    """(binary, description) claims in a PoolMon Mapped_Driver cell, most informative first.

    ``/g`` with ``/c`` prints ``[abc][abc.sys - queue]``: the bare driver name ``/c`` found
    the tag in, then the pooltag.txt line.  The bracket naming a binary *and* what the
    memory is for says more, so it comes first and becomes the best owner; the bare name
    stays a candidate.  None for `Unknown Driver`.
    """
    text = text.strip()
    if not text or text.lower() == "unknown driver":
        return []
    if _CSI in text:
        # A terminal escape's bracket (ESC [) is part of the claim's text, not a claim of its own.
        return [(binary and binary.replace(_CSI_MASK, _CSI), description.replace(_CSI_MASK, _CSI))
                for binary, description in parse_mapped_driver(text.replace(_CSI, _CSI_MASK))]
    groups = _BRACKETS.findall(text)
    tail = text.rsplit("]", 1)[-1]
    if "[" in tail:
        # Cut by the console width: the last bracket never closes; its text is still a claim.
        groups.append(tail.split("[", 1)[1])
    groups = groups or [text]
    out: list[tuple[str | None, str]] = []
    for group in groups:
        group = group.strip()
        if not group:
            continue
        fields = split_entry("x - " + group)
        if fields is not None and fields.binary is not None:
            out.append((fields.binary, fields.description.strip()))
        elif " " not in group and (is_binary(group) or group.isidentifier()):
            # `/c` prints the bare driver name it found the tag in.
            out.append((group, ""))
        else:
            out.append((None, group))
    # Stable: claims that say as much keep the order PoolMon printed them in.
    out.sort(key=lambda claim: -(bool(claim[0]) + bool(claim[1])))
    return out


def input_candidates(snapshots: Sequence[Snapshot]) -> Iterator[OwnerCandidate]:
    """Candidates from `!poolused` descriptions and Mapped_Driver columns, one per distinct claim."""
    seen: set[tuple[str, str | None, str]] = set()
    cells_read: set[tuple[str, str]] = set()
    for snap in snapshots:
        descriptions = snap.extra.get("descriptions") or {}
        for tag, text in descriptions.items():
            parsed = parse_description(str(text))
            if parsed is None:
                continue
            binary, description, informative = parsed
            key = (pad_tag(tag), binary, description)
            if key in seen:
                continue
            seen.add(key)
            yield OwnerCandidate(
                key[0], binary, description, f"input evidence: {snap.source} (!poolused)", snap.line, informative
            )
        mapped = snap.rows.mapped_driver
        if mapped is None:
            continue
        for tag, cell in zip(snap.rows.tags, mapped, strict=True):
            # A log repeats the same cell for a tag in every snapshot: read each pair once.
            if not cell or (tag, cell) in cells_read:
                continue
            cells_read.add((tag, cell))
            for binary, description in parse_mapped_driver(cell):
                key = (pad_tag(tag), binary, description)
                if key in seen:
                    continue
                seen.add(key)
                yield OwnerCandidate(
                    key[0], binary, description, f"input evidence: {snap.source} (Mapped_Driver)", snap.line
                )
