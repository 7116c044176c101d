"""``lm`` (and ``lm a``, ``lm m``, ``lmv``, ``lm n``) module ranges, loaded and unloaded; end is exclusive."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .common import parse_hex

_ADDR = r"(?:0x)?[0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?|(?:0x)?[0-9a-fA-F]{9,16}"
_ROW = re.compile(
    rf"^\s*(?P<start>{_ADDR})\s+(?P<end>{_ADDR})\s+(?P<name>[^\s(]+)(?:\s+(?P<rest>.*?))?\s*$"
)
_STATUS = re.compile(r"^\((?P<status>[^)]*)\)\s*(?P<tail>.*)$")
_IMAGE_PATH = re.compile(r"^\s*Image path:\s*(?P<path>.+?)\s*$", re.IGNORECASE)
_IMAGE_NAME = re.compile(r"^\s*Image name:\s*(?P<name>.+?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Module:
    """One loaded (or unloaded) image: [start, end) in kernel address space."""

    name: str
    start: int
    end: int
    image: str | None = None  # image name or path when the output shows it
    symbols: str | None = None  # "deferred", "pdb symbols", ...
    unloaded: bool = False

    def contains(self, address: int) -> bool:
        return self.start <= address < self.end

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "start": f"{self.start:#x}",
            "end": f"{self.end:#x}",
            "image": self.image,
            "symbols": self.symbols,
            "unloaded": self.unloaded,
        }


def read_modules(lines: Sequence[str]) -> list[Module]:
    """Modules in ``lm`` output; rows after ``Unloaded modules:`` are marked unloaded."""
    out: list[Module] = []
    unloaded = False
    for line in lines:
        if line.strip().lower().startswith("unloaded modules"):
            unloaded = True
            continue
        m = _IMAGE_PATH.match(line) or _IMAGE_NAME.match(line)
        if m and out:
            value = m.groupdict().get("path") or m.groupdict().get("name")
            last = out[-1]
            if last.image is None or "path" in m.groupdict():
                out[-1] = Module(last.name, last.start, last.end, value, last.symbols, last.unloaded)
            continue
        m = _ROW.match(line)
        if not m:
            continue
        start, end = parse_hex(m.group("start")), parse_hex(m.group("end"))
        if start is None or end is None or end <= start:
            continue
        name = m.group("name")
        rest = m.group("rest") or ""
        symbols = None
        s = _STATUS.match(rest)
        if s:
            symbols = s.group("status").strip()
            rest = s.group("tail")
        image = None
        tail = rest.split()
        if tail and "." in tail[-1] and not tail[-1].lower().endswith(".pdb"):
            image = tail[-1]  # `lm n` / `lm f` show the image name or path after the module name
        if unloaded and "." in name:
            image = image or name
            name = name.rsplit(".", 1)[0]
        out.append(Module(name, start, end, image, symbols, unloaded))
    return out


class ModuleMap:
    """Address -> loaded module, by binary search over sorted, non-overlapping ranges."""

    def __init__(self, modules: Iterable[Module]) -> None:
        seen: dict[tuple[int, int], Module] = {}
        for mod in modules:
            if not mod.unloaded:
                seen.setdefault((mod.start, mod.end), mod)
        self._mods = sorted(seen.values(), key=lambda m: m.start)
        self._starts = [m.start for m in self._mods]

    def __len__(self) -> int:
        return len(self._mods)

    def find(self, address: int) -> Module | None:
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and self._mods[i].contains(address):
            return self._mods[i]
        return None
