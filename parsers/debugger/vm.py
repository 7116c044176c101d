"""``!vm``: pool usage and maxima, commit, available memory, with underflowed figures flagged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# "NonPagedPool Usage:    123456 (   493824 Kb)" and the old "NonPagedPool Usage:  1525 (  6100Kb)"
_PAIR = re.compile(r"^\s*(?P<label>[A-Za-z][\w /]*?)\s*:\s*(?P<pages>\d+)\s*\(\s*(?P<kb>\d+)\s*Kb\s*\)",
                   re.IGNORECASE)
# Old builds sometimes print only KB: "PagedPool Max:      98304Kb"
_KB_ONLY = re.compile(r"^\s*(?P<label>[A-Za-z][\w /]*?)\s*:\s*(?P<kb>\d+)\s*Kb\b", re.IGNORECASE)
_WARNING = re.compile(r"^\s*\*+\s*(?P<text>\w.*?)\s*\*+\s*$")
_NODE = re.compile(r"^(?P<pool>NonPagedPoolNx|NonPagedPool|PagedPool)\s+(?P<node>\d+)(?:\s+Usage)?$", re.IGNORECASE)
#: Page file lines ("Current:   4194304 Kb  Free Space: ...") describe the page file, not memory use.
_PAGEFILE_LABELS = {"current", "minimum", "maximum", "free space"}

#: A value this large is an unsigned underflow (18446744073...), not a size.
UNDERFLOW_LIMIT = 1 << 60

_LABELS = {
    "nonpagedpool usage": "nonpaged_usage_kb",
    "nonpagedpoolnx usage": "nonpaged_nx_usage_kb",
    "nonpagedpool max": "nonpaged_max_kb",
    "nonpagedpool maximum": "nonpaged_max_kb",
    "pagedpool usage": "paged_usage_kb",
    "pagedpool max": "paged_max_kb",
    "pagedpool maximum": "paged_max_kb",
    "pagedpool commit": "paged_commit_kb",
    "physical memory": "memory_kb",
    "available pages": "avail_kb",
    "committed pages": "commit_kb",
    "commit": "commit_kb",
    "commit limit": "commit_limit_kb",
    "commit peak": "commit_peak_kb",
    "session commit": "session_commit_kb",
    "free system ptes": "free_system_ptes_kb",
}


@dataclass
class VmInfo:
    """The figures of one ``!vm`` output, in KB; ``untrusted`` names figures that underflowed."""

    line: int
    figures: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, list[int]] = field(default_factory=dict)  # per-NUMA-node pool usage, KB
    untrusted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Why each untrusted figure is not believed: "underflowed" or "above its maximum".
    reasons: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> int | None:
        """A trusted figure, or None when absent or underflowed."""
        if key in self.untrusted:
            return None
        return self.figures.get(key)

    @property
    def nonpaged_kb(self) -> int | None:
        if "nonpaged_usage_kb" in self.untrusted or "nonpaged_nx_usage_kb" in self.untrusted:
            return None  # half of a sum is not the pool's usage
        base = self.get("nonpaged_usage_kb")
        nx = self.get("nonpaged_nx_usage_kb")
        if base is None and nx is None:
            return None
        # Since Windows 8 the NX pool is a second nonpaged pool; !vm lists the two separately.
        return (base or 0) + (nx or 0)

    @property
    def paged_kb(self) -> int | None:
        return self.get("paged_usage_kb")

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "figures": dict(self.figures),
            "nodes": {k: list(v) for k, v in self.nodes.items()},
            "untrusted": list(self.untrusted),
            "reasons": dict(self.reasons),
            "warnings": list(self.warnings),
        }

    def totals(self) -> dict[str, int]:
        """Snapshot totals this output can vouch for (contract keys only, trusted values)."""
        out: dict[str, int] = {}
        for key, value in (
            ("nonpaged_kb", self.nonpaged_kb),
            ("paged_kb", self.paged_kb),
            ("memory_kb", self.get("memory_kb")),
            ("avail_kb", self.get("avail_kb")),
            ("commit_kb", self.get("commit_kb")),
            ("commit_limit_kb", self.get("commit_limit_kb")),
            ("commit_peak_kb", self.get("commit_peak_kb")),
        ):
            if value is not None:
                out[key] = value
        return out


def read_vm(lines: Sequence[str], first_line: int = 1) -> VmInfo:
    info = VmInfo(line=first_line)
    for line in lines:
        line = line.replace("\\*", "*")  # pasted through markdown: \*\*\* Excessive ... \*\*\*
        m = _PAIR.match(line)
        pages = None
        if m:
            pages = int(m.group("pages"))
        else:
            m = _KB_ONLY.match(line)
        if m:
            label = " ".join(m.group("label").split())
            if label.lower() in _PAGEFILE_LABELS:
                continue
            kb = int(m.group("kb"))
            node = _NODE.match(label)
            if node:
                info.nodes.setdefault(node.group("pool").lower(), []).append(kb)
                continue
            key = _LABELS.get(label.lower())
            if key is None:
                key = re.sub(r"\W+", "_", label.lower()).strip("_") + "_kb"
            if key in info.figures:
                continue  # first wins: later sections repeat some labels per session
            info.figures[key] = kb
            if kb >= UNDERFLOW_LIMIT or (pages is not None and pages >= UNDERFLOW_LIMIT):
                info.untrusted.append(key)
                info.reasons[key] = "underflowed"
            continue
        w = _WARNING.match(line)
        if w and "virtual memory usage" not in w.group("text").lower():
            info.warnings.append(w.group("text"))
    for usage, maximum in (("nonpaged_usage_kb", "nonpaged_max_kb"), ("paged_usage_kb", "paged_max_kb")):
        u, mx = info.figures.get(usage), info.figures.get(maximum)
        if u is not None and mx is not None and u > mx and usage not in info.untrusted:
            info.untrusted.append(usage)  # more in use than the maximum: one of the two is garbage
            info.reasons[usage] = "above its maximum"
    return info
