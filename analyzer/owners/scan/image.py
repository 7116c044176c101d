"""A PE file reduced to what the scan needs: sections, pool-routine IAT slots, function extents."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pefile

from analyzer.owners.scan.routines import ROUTINES, WDF_TABLE, Routine

_SCN_CNT_CODE = 0x00000020
_SCN_MEM_EXECUTE = 0x20000000
_SCN_MEM_WRITE = 0x80000000
_MACHINE_I386 = 0x014C
_MACHINE_AMD64 = 0x8664
_MACHINE_ARM64 = 0xAA64
_ARCHES = {_MACHINE_I386: "x86", _MACHINE_AMD64: "x64", _MACHINE_ARM64: "arm64"}
#: How KMDF's WDF_BIND_INFO names the framework it binds to (UTF-16, NUL-terminated).
_KMDF_COMPONENT = "KmdfLibrary\0".encode("utf-16-le")


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
    arch: str  # "x64", "x86" or "arm64"
    image_base: int
    sections: list[Section]
    #: absolute VA of an IAT slot -> the pool routine it imports
    slots: dict[int, Routine]
    #: x64 only: sorted function begin / end VAs from the exception directory (.pdata)
    func_begin: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    func_end: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: KMDF: VA of the ``WdfFunctions_XXXXX`` pointer that WdfVersionBind fills, and the version
    wdf_table: int | None = None
    wdf_version: tuple[int, int] | None = None
    #: CFG: VA of ``__guard_dispatch_icall_fptr`` (x64 calls through it with the target in rax)
    guard_dispatch: int | None = None

    @property
    def pointer_size(self) -> int:
        return 4 if self.arch == "x86" else 8

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

    def read_data(self, va: int, size: int = 4) -> int | None:
        """The initial little-endian value at ``va`` in a writable data section, or None."""
        s = self.section_at(va)
        if s is None or not s.writable or s.executable or va + size > s.end:
            return None
        off = va - s.va
        return int.from_bytes(s.data[off : off + size], "little")

    def wdf_routine(self, index: int) -> Routine | None:
        """The pool routine at ``index`` of the KMDF function table, when this image binds to KMDF."""
        return WDF_TABLE.get(index) if self.wdf_table is not None and index >= 0 else None

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
    arch = _ARCHES.get(machine)
    if arch is None:
        raise NotPE(f"unsupported machine type 0x{machine:04x} (x86, x64 and ARM64 are scanned)")
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
    binds_kmdf = False
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", ()):
        for imp in entry.imports:
            if imp.name is None:
                continue
            name = imp.name.decode("latin-1")
            binds_kmdf = binds_kmdf or name == "WdfVersionBind"
            routine = ROUTINES.get(name)
            if routine is not None and imp.address:
                slots[int(imp.address)] = routine
    image = Image(arch, base, sections, slots)
    if arch == "x64":
        _load_pdata(pe, image)
    if binds_kmdf:
        _find_wdf_table(image)
    image.guard_dispatch = _guard_dispatch(pe, image)
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


def _find_wdf_table(image: Image) -> None:
    """Locate ``WdfFunctions_XXXXX`` through the driver's WDF_BIND_INFO.

    The KMDF stub library links a WDF_BIND_INFO into the driver: ``{ULONG Size; PWCHAR
    Component = L"KmdfLibrary"; WDF_VERSION {Major, Minor, Build}; ULONG FuncCount;
    PWDFFUNC *FuncTable; ...}``.  WdfVersionBind stores the framework's function table
    through ``FuncTable``; calls then read ``WdfFunctions_XXXXX[index]``.
    """
    ptr = image.pointer_size
    strings = [s.va + s.data.find(_KMDF_COMPONENT) for s in image.sections
               if not s.executable and _KMDF_COMPONENT in s.data]
    # Offsets of Component, Version and FuncTable within WDF_BIND_INFO.
    component_at, version_at, table_at = (8, 16, 32) if ptr == 8 else (4, 8, 24)
    for string in strings:
        needle = string.to_bytes(ptr, "little")
        for sec in image.sections:
            if sec.executable:
                continue
            pos = sec.data.find(needle)
            while pos != -1:
                info = sec.va + pos - component_at
                table = image.read_data(info + table_at, ptr) or image.read_const(info + table_at, ptr)
                holder = image.section_at(table) if table else None
                if table and holder is not None and holder.writable and not holder.executable:
                    major = image.read_data(info + version_at) or image.read_const(info + version_at) or 0
                    minor = image.read_data(info + version_at + 4) or image.read_const(info + version_at + 4) or 0
                    image.wdf_table = table
                    image.wdf_version = (major, minor)
                    return
                pos = sec.data.find(needle, pos + 1)


def _guard_dispatch(pe: pefile.PE, image: Image) -> int | None:
    """VA of the CFG dispatch pointer named by the load configuration, if the image has one."""
    dirs = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    index = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG"]
    if len(dirs) <= index or not dirs[index].VirtualAddress:
        return None
    try:
        pe.parse_data_directories(directories=[index])
    except pefile.PEFormatError:
        return None
    config = getattr(pe, "DIRECTORY_ENTRY_LOAD_CONFIG", None)
    value = getattr(getattr(config, "struct", None), "GuardCFDispatchFunctionPointer", 0) or 0
    return int(value) or None
