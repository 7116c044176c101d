"""A PE file reduced to what the scan needs: sections, pool-routine IAT slots, function extents."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pefile

from analyzer.owners.scan.routines import ROUTINES, Routine

_SCN_CNT_CODE = 0x00000020
_SCN_MEM_EXECUTE = 0x20000000
_SCN_MEM_WRITE = 0x80000000
_MACHINE_I386 = 0x014C
_MACHINE_AMD64 = 0x8664


class NotPE(Exception):
    """The bytes are not a PE image the scan can read (message says why)."""


@dataclass
class Section:
    name: str
    va: int  # absolute virtual address (image base + RVA)
    data: bytes  # raw bytes, padded with zeros up to the virtual size
    executable: bool
    writable: bool

    @property
    def end(self) -> int:
        return self.va + len(self.data)


@dataclass
class Image:
    arch: str  # "x64" or "x86"
    image_base: int
    sections: list[Section]
    #: absolute VA of an IAT slot -> the pool routine it imports
    slots: dict[int, Routine]
    #: x64 only: sorted function begin / end VAs from the exception directory (.pdata)
    func_begin: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    func_end: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def section_at(self, va: int) -> Section | None:
        for s in self.sections:
            if s.va <= va < s.end:
                return s
        return None

    def read_const(self, va: int, size: int = 4) -> int | None:
        """A little-endian integer from a read-only section (a constant), or None."""
        s = self.section_at(va)
        if s is None or s.writable or s.executable or va + size > s.end:
            return None
        off = va - s.va
        return int.from_bytes(s.data[off : off + size], "little")

    def function_of(self, va: int) -> tuple[int, int] | None:
        """(begin, end) of the function holding ``va`` according to .pdata, if any."""
        if not len(self.func_begin):
            return None
        i = int(np.searchsorted(self.func_begin, va, side="right")) - 1
        if i < 0 or va >= self.func_end[i]:
            return None
        return int(self.func_begin[i]), int(self.func_end[i])


def load_image(data: bytes, name: str = "") -> Image:
    """Parse headers, sections and imports; raises NotPE for anything else."""
    if data[:2] != b"MZ":
        raise NotPE("not a PE file (no MZ header)")
    if len(data) < 0x40:
        raise NotPE("not a PE file (too short)")
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError as exc:
        raise NotPE(f"not a PE file ({exc.value})") from exc
    machine = pe.FILE_HEADER.Machine
    if machine == _MACHINE_AMD64:
        arch = "x64"
    elif machine == _MACHINE_I386:
        arch = "x86"
    else:
        raise NotPE(f"unsupported machine type 0x{machine:04x} (only x86 and x64 are scanned)")
    base = pe.OPTIONAL_HEADER.ImageBase
    sections = []
    for s in pe.sections:
        raw = s.get_data()
        vsize = max(s.Misc_VirtualSize, 0)
        if vsize > len(raw):
            # Bounded so a corrupt header cannot make us allocate gigabytes.
            raw = raw + b"\0" * min(vsize - len(raw), 1 << 26)
        elif vsize:
            raw = raw[:vsize]
        flags = s.Characteristics
        sections.append(
            Section(
                name=s.Name.rstrip(b"\0").decode("latin-1"),
                va=base + s.VirtualAddress,
                data=raw,
                executable=bool(flags & (_SCN_MEM_EXECUTE | _SCN_CNT_CODE)),
                writable=bool(flags & _SCN_MEM_WRITE),
            )
        )
    slots: dict[int, Routine] = {}
    try:
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
    except pefile.PEFormatError as exc:
        raise NotPE(f"damaged import table ({exc.value})") from exc
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", ()):
        for imp in entry.imports:
            if imp.name is None:
                continue
            routine = ROUTINES.get(imp.name.decode("latin-1"))
            if routine is not None and imp.address:
                slots[int(imp.address)] = routine
    image = Image(arch, base, sections, slots)
    if arch == "x64":
        _load_pdata(pe, image)
    # No pe.close(): for in-memory data it only runs gc.collect(), 20+ ms per file.
    return image


def _load_pdata(pe: pefile.PE, image: Image) -> None:
    """Function extents from RUNTIME_FUNCTION records, read in bulk (pefile's parser is slow)."""
    dirs = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    if len(dirs) <= 3:
        return
    rva, size = dirs[3].VirtualAddress, dirs[3].Size
    if not rva or size < 12:
        return
    try:
        raw = pe.get_data(rva, size - size % 12)
    except pefile.PEFormatError:
        return
    table = np.frombuffer(raw[: len(raw) - len(raw) % 12], dtype="<u4").reshape(-1, 3).astype(np.int64)
    table = table[(table[:, 0] < table[:, 1]) & (table[:, 0] > 0)]
    order = np.argsort(table[:, 0], kind="stable")
    image.func_begin = table[order, 0] + image.image_base
    image.func_end = table[order, 1] + image.image_base
