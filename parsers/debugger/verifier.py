"""``!verifier`` pool tracking: per-driver current/peak pool counts (hex) and tracked allocations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .common import parse_hex

_MODULE = re.compile(r"^\s*MODULE:\s*(?P<name>\S+)(?:\s*\(load:\s*(?P<load>\d+)\s*/\s*unload:\s*(?P<unload>\d+)\))?",
                     re.IGNORECASE)
_VALUE = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*:?\s+(?P<a>0x[0-9a-fA-F]+)(?:\s+(?P<b>0x[0-9a-fA-F]+))?\s*$")
_ALLOC = re.compile(
    r"^\s*(?P<addr>[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?)\s+(?P<size>(?:0x)?[0-9a-fA-F]+)\s+(?P<tag>\S.{0,3}?)"
    r"\s+(?P<caller>[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?)(?:\s+(?P<symbol>\S+))?\s*$"
)
# Newer builds: "Current Pool Allocations: ( 0x00000152 / 0x0000006f )", order given by a
# "Pool Allocation Statistics: ( NonPagedPool / PagedPool )" line.
_SLASHED = re.compile(
    r"^\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s*\(\s*(?P<a>0x[0-9a-fA-F]+)\s*/\s*(?P<b>0x[0-9a-fA-F]+)\s*\)"
)
_ORDER = re.compile(r"Pool Allocation Statistics:\s*\(\s*(?P<first>\w+)\s*/", re.IGNORECASE)
# Global summary: "Current nonpaged pool allocations      0x152 for 0003B4C0 bytes" (bytes in hex, no 0x)
_FOR_BYTES = re.compile(
    r"^\s*(?P<key>(?:Current|Peak)\s+(?:non)?paged pool allocations)\s+(?P<count>0x[0-9a-fA-F]+)\s+for\s+"
    r"(?P<bytes>[0-9a-fA-F]+)\s+bytes",
    re.IGNORECASE,
)
# Two-column lines pair paged then nonpaged: "Current Pool Allocations: 0x0000006f    0x00000152"
_PAIRED = {
    "current pool allocations": ("current_paged_allocations", "current_nonpaged_allocations"),
    "current pool bytes": ("current_paged_bytes", "current_nonpaged_bytes"),
    "peak pool allocations": ("peak_paged_allocations", "peak_nonpaged_allocations"),
    "peak pool bytes": ("peak_paged_bytes", "peak_nonpaged_bytes"),
}
_SINGLE = {
    "currentpagedpoolallocations": "current_paged_allocations",
    "currentnonpagedpoolallocations": "current_nonpaged_allocations",
    "peakpagedpoolallocations": "peak_paged_allocations",
    "peaknonpagedpoolallocations": "peak_nonpaged_allocations",
    "pagedpoolusageinbytes": "current_paged_bytes",
    "nonpagedpoolusageinbytes": "current_nonpaged_bytes",
    "peakpagedpoolusageinbytes": "peak_paged_bytes",
    "peaknonpagedpoolusageinbytes": "peak_nonpaged_bytes",
}


@dataclass(frozen=True)
class TrackedAllocation:
    address: int
    size: int
    tag: str
    caller: int
    symbol: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"address": f"{self.address:#x}", "size": self.size, "tag": self.tag,
                "caller": f"{self.caller:#x}", "symbol": self.symbol}


@dataclass
class VerifiedDriver:
    """One driver under Driver Verifier with its pool tracking figures."""

    name: str
    loads: int | None = None
    unloads: int | None = None
    counters: dict[str, int] = field(default_factory=dict)
    allocations: list[TrackedAllocation] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "loads": self.loads,
            "unloads": self.unloads,
            "counters": dict(self.counters),
            "allocations": [a.to_dict() for a in self.allocations],
        }


@dataclass
class VerifierReport:
    flags: int | None = None
    global_counters: dict[str, int] = field(default_factory=dict)
    drivers: list[VerifiedDriver] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "flags": None if self.flags is None else f"{self.flags:#x}",
            "global_counters": dict(self.global_counters),
            "drivers": [d.to_dict() for d in self.drivers],
        }


def read_verifier(lines: Sequence[str]) -> VerifierReport:
    report = VerifierReport()
    cur: VerifiedDriver | None = None
    nonpaged_first = False
    for line in lines:
        m = _ORDER.search(line)
        if m:
            nonpaged_first = m.group("first").lower().startswith("non")
            continue
        m = _FOR_BYTES.match(line)
        if m:
            words = m.group("key").lower().split()
            stem = f"{words[0]}_{words[1]}"
            target = cur.counters if cur is not None else report.global_counters
            target[f"{stem}_allocations"] = int(m.group("count"), 16)
            target[f"{stem}_bytes"] = int(m.group("bytes"), 16)
            continue
        m = _SLASHED.match(line)
        if m:
            key = " ".join(m.group("key").split()).lower()
            names = _PAIRED.get(key)
            if names is not None:
                paged_name, nonpaged_name = names
                first, second = int(m.group("a"), 16), int(m.group("b"), 16)
                target = cur.counters if cur is not None else report.global_counters
                target[nonpaged_name], target[paged_name] = (first, second) if nonpaged_first else (second, first)
            continue
        m = re.match(r"^\s*Verify (?:Flags )?Level\s+(?P<flags>(?:0x)?[0-9a-fA-F]+)", line, re.IGNORECASE)
        if m:
            report.flags = parse_hex(m.group("flags"))
            continue
        m = _MODULE.match(line)
        if m:
            cur = VerifiedDriver(
                m.group("name"),
                int(m.group("load")) if m.group("load") else None,
                int(m.group("unload")) if m.group("unload") else None,
            )
            report.drivers.append(cur)
            continue
        m = _VALUE.match(line)
        if m:
            key = " ".join(m.group("key").split()).lower()
            a = int(m.group("a"), 16)
            b = int(m.group("b"), 16) if m.group("b") else None
            target = cur.counters if cur is not None else report.global_counters
            if key in _PAIRED and b is not None:
                target[_PAIRED[key][0]] = a
                target[_PAIRED[key][1]] = b
            else:
                name = _SINGLE.get(key.replace(" ", ""), re.sub(r"\W+", "_", key))
                target.setdefault(name, a)
            continue
        m = _ALLOC.match(line)
        if m and cur is not None:
            size = parse_hex(m.group("size"))
            addr, caller = parse_hex(m.group("addr")), parse_hex(m.group("caller"))
            if size is not None and addr is not None and caller is not None:
                cur.allocations.append(TrackedAllocation(addr, size, m.group("tag").ljust(4), caller,
                                                         m.group("symbol")))
    return report
