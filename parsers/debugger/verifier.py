"""``!verifier`` pool tracking: per-driver current/peak pool counts (hex) and tracked allocations.

Two-number lines (``Current Pool Allocations: 0x00000152    0x0000006f`` or
``( 0x00000152 / 0x0000006f )``) list nonpaged first, as the ``NonPagedPool  PagedPool``
column heads above them say; a header naming the pools the other way round flips that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .common import parse_hex

_ADDR = r"[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?"
_NUMBER = r"(?:0x[0-9a-fA-F]+|\d+)"
_MODULE = re.compile(r"^\s*MODULE:\s*(?P<name>\S+)(?:\s*\(load:\s*(?P<load>\d+)\s*/\s*unload:\s*(?P<unload>\d+)\))?",
                     re.IGNORECASE)
# "fffffa8002e1b860 Loaded           0               0       Null.sys" under "Entry State NonPagedPool PagedPool Module"
_ENTRY = re.compile(
    rf"^\s*(?P<entry>{_ADDR})\s+(?P<state>[A-Za-z]+)\s+(?P<a>{_NUMBER})\s+(?P<b>{_NUMBER})\s+(?P<name>\S+)\s*$"
)
_PAIR = re.compile(
    r"^\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s*\(?\s*(?P<a>0x[0-9a-fA-F]+)\s*/?\s*(?P<b>0x[0-9a-fA-F]+)\s*\)?\s*$"
)
_VALUE = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*:?\s+(?P<a>0x[0-9a-fA-F]+)\s*$")
# Global summary: "Current nonpaged pool allocations      0x152 for 0003B4C0 bytes" (bytes in hex, no 0x)
_FOR_BYTES = re.compile(
    r"^\s*(?P<key>(?:Current|Peak)\s+(?:non)?paged pool allocations)\s+(?P<count>0x[0-9a-fA-F]+)\s+for\s+"
    r"(?P<bytes>[0-9a-fA-F]+)\s+bytes",
    re.IGNORECASE,
)
_ALLOC = re.compile(
    rf"^\s*(?:0x)?(?P<addr>{_ADDR})\s+(?P<size>(?:0x)?[0-9a-fA-F]+)\s+(?P<tag>\S.{{0,3}}?)"
    rf"\s+(?:0x)?(?P<caller>{_ADDR})(?:\s+(?P<symbol>\S+))?\s*$"
)
# Per-driver block of current builds: "nt!_VF_TARGET_DRIVER 0xffffc30a1b2c3d40: abcfilt.sys (Loaded and Unloaded)"
_TARGET = re.compile(
    r"^\s*(?:\w+!)?_VF_TARGET_DRIVER\s+(?:0x)?[0-9a-fA-F`]+\s*:\s*(?P<name>\S+)(?:\s*\((?P<state>[^)]*)\))?",
    re.IGNORECASE,
)
_ORDER = re.compile(r"(?P<first>NonPagedPool|PagedPool)\b.*?\b(?P<second>NonPagedPool|PagedPool)\b", re.IGNORECASE)
_PAIRED = {
    "current pool allocations": "current_{}_allocations",
    "current pool bytes": "current_{}_bytes",
    "peak pool allocations": "peak_{}_allocations",
    "peak pool bytes": "peak_{}_bytes",
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


def _num(text: str) -> int:
    return int(text, 16) if text.lower().startswith("0x") else int(text)


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
    state: str | None = None  # "Loaded" / "Unloaded" in the driver table form
    counters: dict[str, int] = field(default_factory=dict)
    allocations: list[TrackedAllocation] = field(default_factory=list)

    @property
    def unloaded(self) -> bool:
        # "Unloaded", or "Loaded and Unloaded" (loaded once, gone now) in the per-driver block.
        return bool(self.unloads) or "unloaded" in (self.state or "").lower()

    @property
    def holds_pool(self) -> bool:
        return any(v for k, v in self.counters.items() if k.startswith("current_")) or bool(self.allocations)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "loads": self.loads,
            "unloads": self.unloads,
            "state": self.state,
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
    nonpaged_first = True
    by_name: dict[str, VerifiedDriver] = {}

    def driver(name: str) -> VerifiedDriver:
        key = name.lower()
        if key not in by_name:
            by_name[key] = VerifiedDriver(name)
            report.drivers.append(by_name[key])
        return by_name[key]

    for line in lines:
        m = re.match(r"^\s*Verify (?:Flags )?Level\s+(?P<flags>(?:0x)?[0-9a-fA-F]+)", line, re.IGNORECASE)
        if m:
            report.flags = parse_hex(m.group("flags"))
            continue
        m = _ORDER.search(line)
        if m and m.group("first").lower() != m.group("second").lower():
            nonpaged_first = m.group("first").lower().startswith("non")
            continue
        m = _TARGET.match(line)
        if m:
            cur = driver(m.group("name"))
            if m.group("state"):
                cur.state = " ".join(m.group("state").split())
            continue
        m = _MODULE.match(line)
        if m:
            cur = driver(m.group("name"))
            if m.group("load"):
                cur.loads, cur.unloads = int(m.group("load")), int(m.group("unload"))
            continue
        m = _ENTRY.match(line)
        if m and "." in m.group("name"):
            cur = driver(m.group("name"))
            cur.state = m.group("state")
            a, b = _num(m.group("a")), _num(m.group("b"))
            np_, p_ = (a, b) if nonpaged_first else (b, a)
            cur.counters["current_nonpaged_allocations"] = np_
            cur.counters["current_paged_allocations"] = p_
            continue
        target = cur.counters if cur is not None else report.global_counters
        m = _FOR_BYTES.match(line)
        if m:
            words = m.group("key").lower().split()
            stem = f"{words[0]}_{words[1]}"
            target[f"{stem}_allocations"] = int(m.group("count"), 16)
            target[f"{stem}_bytes"] = int(m.group("bytes"), 16)
            continue
        m = _PAIR.match(line)
        if m:
            key = " ".join(m.group("key").split()).lower()
            pattern = _PAIRED.get(key)
            if pattern is not None:
                a, b = int(m.group("a"), 16), int(m.group("b"), 16)
                np_, p_ = (a, b) if nonpaged_first else (b, a)
                target[pattern.format("nonpaged")] = np_
                target[pattern.format("paged")] = p_
            continue
        m = _VALUE.match(line)
        if m:
            key = " ".join(m.group("key").split()).lower()
            name = _SINGLE.get(key.replace(" ", ""), re.sub(r"\W+", "_", key))
            target.setdefault(name, int(m.group("a"), 16))
            continue
        m = _ALLOC.match(line)
        if m and cur is not None:
            size = parse_hex(m.group("size"))
            addr, caller = parse_hex(m.group("addr")), parse_hex(m.group("caller"))
            if size is not None and addr is not None and caller is not None:
                cur.allocations.append(TrackedAllocation(addr, size, m.group("tag").ljust(4), caller,
                                                         m.group("symbol")))
    return report
