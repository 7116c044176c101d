"""``!poolfind`` and ``!pool``: individual allocations by tag, and the owner notes ``!pool`` prints."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .common import parse_hex

_ADDR = r"[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?"

# new !poolfind: "ffff8a0c12345000 : tag Abcd, size     0x140, Nonpaged pool"
_NEW = re.compile(
    rf"^\s*(?P<mark>\*)?(?P<addr>{_ADDR})\s*:\s*tag\s(?P<tag>.{{1,4}}?),\s*size\s+(?P<size>(?:0x)?[0-9a-fA-F]+)"
    r"\s*,\s*(?P<pool>[A-Za-z ]*?)\s*pool\b",
    re.IGNORECASE,
)
# old !poolfind and !pool rows:
#   "8a2f1130 size:   c0 previous size:   40  (Allocated) Abcd"
#   "*ffff8a0c12345000 size:  130 previous size:    0  (Allocated) *Abcd"
#   " ffff8a0c12345130 size:   40 previous size:  130  (Free )       Abcd"
_OLD = re.compile(
    rf"^\s*(?P<mark>\*)?(?P<addr>{_ADDR})\s+size:\s*(?P<size>[0-9a-fA-F]+)\s+previous size:\s*[0-9a-fA-F]+\s+"
    r"\((?P<state>[A-Za-z ]+?)\s*\)\s*(?P<tagmark>\*)?(?P<tag>\S.{0,3})?(?P<rest>.*)$"
)
# "Pool page ffff... region is Nonpaged pool" (or "... region is Unknown": no pool can be named)
_REGION = re.compile(r"^\s*Pool page\s+(?P<addr>\S+)\s+region is\s+(?P<pool>.+?)\s*(?:pool\b.*)?$", re.IGNORECASE)
# "*ffffb30c5a200000 : large page allocation, tag is Lkq7, size is 0x2000 bytes"
_LARGE = re.compile(
    rf"^\s*(?P<mark>\*)?(?P<addr>{_ADDR})\s*:\s*large page allocation,\s*tag\s+is\s+(?P<tag>.{{1,4}}?),"
    r"\s*size\s+is\s+(?P<size>(?:0x)?[0-9a-fA-F]+)",
    re.IGNORECASE,
)
_SEARCHING = re.compile(r"Searching\s+(?P<pool>.+?)\s+pool\b", re.IGNORECASE)
_OWNER = re.compile(r"^\s*Pooltag\s+(?P<tag>.{1,4}?)\s*:\s*(?P<desc>.*?)(?:,\s*Binary\s*:\s*(?P<binary>\S+))?\s*$")
_OWNING = re.compile(r"^\s*Owning component\s*:\s*(?P<what>.+?)\s*$")


def _pool_name(text: str | None) -> str | None:
    if not text:
        return None
    t = text.lower().replace(" ", "")
    if "session" in t:
        return "session"
    if "nonpaged" in t:
        return "nonpaged"
    if "paged" in t:
        return "paged"
    return None


@dataclass(frozen=True)
class PoolAllocation:
    """One pool block as ``!poolfind``/``!pool`` printed it; ``size`` in bytes."""

    address: int
    tag: str | None
    size: int
    pool: str | None = None  # nonpaged, paged, session, or None when the output does not say
    state: str = "allocated"  # allocated, free, or the text printed
    current: bool = False  # the '*' marker: the block holding the address asked about
    protected: bool = False
    command: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "address": f"{self.address:#x}",
            "tag": self.tag,
            "size": self.size,
            "pool": self.pool,
            "state": self.state,
            "current": self.current,
            "protected": self.protected,
            "command": self.command,
        }


@dataclass(frozen=True)
class OwnerNote:
    """``Pooltag Abcd : description, Binary : abc.sys`` printed by ``!pool``."""

    tag: str
    description: str | None
    binary: str | None

    def to_dict(self) -> dict[str, object]:
        return {"tag": self.tag, "description": self.description, "binary": self.binary}


@dataclass
class PoolReport:
    allocations: list[PoolAllocation] = field(default_factory=list)
    owners: list[OwnerNote] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)  # 1-based lines that looked like rows but were not


def read_pool(lines: Sequence[str], command: str | None = None, first_line: int = 1) -> PoolReport:
    """Allocations and owner notes in ``!poolfind`` or ``!pool`` output."""
    report = PoolReport()
    region: str | None = None
    for offset, line in enumerate(lines):
        m = _REGION.match(line)
        if m:
            region = _pool_name(m.group("pool"))
            continue
        m = _LARGE.match(line)
        if m:
            report.allocations.append(
                PoolAllocation(
                    address=parse_hex(m.group("addr")) or 0,
                    tag=m.group("tag").ljust(4),
                    size=parse_hex(m.group("size")) or 0,
                    pool=region,
                    current=bool(m.group("mark")) or (command or "").lower().startswith("!pool "),
                    command=command,
                )
            )
            continue
        m = _SEARCHING.search(line)
        if m:
            region = _pool_name(m.group("pool"))
            continue
        m = _NEW.match(line)
        if m:
            size = parse_hex(m.group("size"))
            report.allocations.append(
                PoolAllocation(
                    address=parse_hex(m.group("addr")) or 0,
                    tag=m.group("tag").ljust(4),
                    size=size or 0,
                    pool=_pool_name(m.group("pool")) or region,
                    current=bool(m.group("mark")),
                    command=command,
                )
            )
            continue
        m = _OLD.match(line)
        if m:
            state_text = " ".join(m.group("state").split()).lower()
            rest = m.group("rest") or ""
            tag = m.group("tag")
            report.allocations.append(
                PoolAllocation(
                    address=parse_hex(m.group("addr")) or 0,
                    tag=tag.ljust(4) if tag else None,
                    size=parse_hex(m.group("size")) or 0,
                    pool=region,
                    state="free" if state_text.startswith("free") else state_text,
                    current=bool(m.group("mark") or m.group("tagmark")),
                    protected="protected" in rest.lower(),
                    command=command,
                )
            )
            continue
        m = _OWNER.match(line)
        if m:
            desc = m.group("desc").strip() or None
            report.owners.append(OwnerNote(m.group("tag").ljust(4), desc, m.group("binary")))
            continue
        m = _OWNING.match(line)
        if m and report.allocations:
            current = next((a for a in report.allocations if a.current), report.allocations[-1])
            if current.tag and "unknown" not in m.group("what").lower():
                report.owners.append(OwnerNote(current.tag, m.group("what"), None))
            continue
        if re.match(rf"^\s*\*?{_ADDR}\s+size:", line):
            report.unreadable.append(first_line + offset)
    return report
