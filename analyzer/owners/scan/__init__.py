"""Which driver binary uses a pool tag: evidence read from PE files.

``scan_paths(paths, tags)`` reports, per file and tag, the strongest evidence:

- ``call-site``: the tag is the tag argument of a call to an imported pool routine
  (see :mod:`.routines`), read from the code before the call;
- ``immediate``: a 32-bit immediate operand in executable code equals the tag;
- ``data``: the tag argument of such a call is loaded from a static address in writable
  data (a global or a field of a global structure) whose initial bytes are the tag;
- ``string``: the tag's bytes appear somewhere in the file (what ``findstr /m /l`` finds).

Without ``tags`` every tag with call-site or data evidence is listed: the localtag.txt of
that driver.  A tag ``'Abcd'`` is the little-endian dword 0x64636241 (bytes ``Abcd``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capstone import CS_ARCH_X86, CS_MODE_32, CS_MODE_64, Cs

from analyzer.owners.scan.arm64 import Arm64Scanner
from analyzer.owners.scan.arm64 import immediate_address as arm64_immediate
from analyzer.owners.scan.callsites import CallSite, Scanner
from analyzer.owners.scan.image import Image, NotPE, load_image
from analyzer.owners.scan.routines import ROUTINES, Routine
from parsers.errors import Diagnostics, InputError
from parsers.pooltag import format_localtag, pad_tag

__all__ = [
    "EVIDENCE_LEVELS",
    "PE_SUFFIXES",
    "ROUTINES",
    "FileScan",
    "Routine",
    "ScanFinding",
    "localtag_text",
    "scan_bytes",
    "scan_files",
    "scan_paths",
    "tag_bytes",
    "tag_from_value",
]

#: Strongest first.
EVIDENCE_LEVELS: tuple[str, ...] = ("call-site", "immediate", "data", "string")
PE_SUFFIXES = frozenset({".sys", ".dll", ".exe"})


@dataclass(frozen=True)
class ScanFinding:
    """The strongest evidence that ``file`` uses ``tag``."""

    file: str
    tag: str
    evidence: str
    routines: tuple[str, ...] = ()
    sites: int = 0
    address: int | None = None  # first call site or immediate operand (virtual address)
    arch: str = ""
    data_address: int | None = None  # ``data`` evidence: where the tag argument was loaded from

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "tag": self.tag,
            "evidence": self.evidence,
            "routines": list(self.routines),
            "sites": self.sites,
            "address": self.address,
            "arch": self.arch,
            "data_address": self.data_address,
        }


@dataclass
class FileScan:
    """Everything learned from one binary."""

    file: str
    arch: str
    call_sites: list[CallSite] = field(default_factory=list)
    findings: list[ScanFinding] = field(default_factory=list)
    #: False when only the call sites near given tags were analysed (``scan --tag``)
    complete: bool = True

    @property
    def unresolved(self) -> list[CallSite]:
        """Calls whose tag argument the scan could not prove (a parameter, a variable, ...)."""
        return [s for s in self.call_sites if s.tag_value is None]

    def to_dict(self) -> dict[str, Any]:
        """How much of the file the scan could account for (JSON ``files`` rows)."""
        return {
            "file": self.file,
            "arch": self.arch or None,
            "call_sites": len(self.call_sites) if self.complete else None,
            "unresolved": [{"address": s.address, "routine": s.routine.name} for s in self.unresolved]
            if self.complete else None,
        }


def tag_from_value(value: int) -> str | None:
    """The tag text of a dword, or None when it is not a printable tag (0, pointers, flags)."""
    value &= 0xFFFFFFFF
    if value & 0x80000000 and value & 0x7FFFFFFF:
        value &= 0x7FFFFFFF  # PROTECTED_POOL, set by old ExFreePoolWithTag callers
    raw = value.to_bytes(4, "little").rstrip(b"\0")
    if not raw.strip() or any(b < 0x20 or b > 0x7E for b in raw):
        return None
    return pad_tag(raw.decode("ascii"))


def tag_bytes(tag: str) -> list[bytes]:
    """Byte patterns of a tag in a binary: padded with spaces, or with NULs as C writes 'cbA'."""
    if not tag or len(tag) > 4:
        raise ValueError(f"a pool tag has 1 to 4 characters, not {tag!r}")
    try:
        padded = pad_tag(tag).encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"a pool tag is ASCII, not {tag!r}") from None
    stripped = padded.rstrip(b" ")
    variants = [padded]
    if stripped and len(stripped) < 4:
        variants.append(stripped.ljust(4, b"\0"))
    return variants


def _has_immediate(image: Image, patterns: list[bytes]) -> int | None:
    """Address of an instruction whose immediate operand is one of ``patterns``, if any."""
    if image.arch == "arm64":
        for pattern in patterns:
            found = arm64_immediate(image, int.from_bytes(pattern, "little"))
            if found is not None:
                return found
        return None
    md = Cs(CS_ARCH_X86, CS_MODE_64 if image.arch == "x64" else CS_MODE_32)
    for sec in image.sections:
        if not sec.executable:
            continue
        for pattern in patterns:
            value = int.from_bytes(pattern, "little")
            pos = sec.data.find(pattern)
            while pos != -1:
                for start in range(max(0, pos - 11), pos):
                    got = list(md.disasm_lite(sec.data[start : pos + 8], sec.va + start, 1))
                    if not got or start + got[0][1] < pos + 4:
                        continue
                    last = got[0][3].split(", ")[-1]
                    if "[" in last:
                        continue
                    try:
                        imm = int(last, 0)
                    except ValueError:
                        continue
                    if value in (imm & 0xFFFFFFFF, (imm >> 32) & 0xFFFFFFFF):
                        return got[0][0]
                pos = sec.data.find(pattern, pos + 1)
    return None


def _is_arm64(data: bytes) -> bool:
    """The PE header's machine field says ARM64 (read without parsing the file)."""
    at = int.from_bytes(data[0x3C:0x40], "little")
    return data[at : at + 4] == b"PE\0\0" and data[at + 4 : at + 6] == b"\x64\xaa"


def scan_bytes(data: bytes, name: str, tags: Sequence[str] | None = None) -> FileScan:
    """Scan one binary held in memory; raises NotPE when it is not one."""
    if tags is not None and data[:2] == b"MZ" and len(data) >= 0x40 and not _is_arm64(data):
        # Every kind of evidence needs the tag's bytes somewhere in the file (on x86 and x64,
        # where a tag is a 32-bit immediate or constant; ARM64 builds it in 16-bit halves).
        wanted = [p for tag in tags for p in tag_bytes(tag)]
        if not any(p in data for p in wanted):
            return FileScan(name, "", complete=False)
    image = load_image(data, name)
    wanted = None if tags is None else [p for tag in tags for p in tag_bytes(tag)]
    scanner = Arm64Scanner(image) if image.arch == "arm64" else Scanner(image)
    sites = scanner.call_sites(near=wanted)
    result = FileScan(name, image.arch, sites, complete=tags is None)
    by_tag: dict[str, list[CallSite]] = {}
    by_data: dict[str, list[CallSite]] = {}
    for site in sites:
        if site.tag_value is not None:
            tag = tag_from_value(site.tag_value)
            if tag is not None:
                by_tag.setdefault(tag, []).append(site)
        elif site.data is not None:
            tag = tag_from_value(site.data.value)
            if tag is not None:
                by_data.setdefault(tag, []).append(site)

    def call_finding(tag: str, found: list[CallSite], evidence: str = "call-site") -> ScanFinding:
        routines = tuple(sorted({s.routine.name for s in found}))
        data_at = found[0].data.address if found[0].data is not None else None
        return ScanFinding(name, tag, evidence, routines, len(found), found[0].address, image.arch, data_at)

    if tags is None:
        listed = {tag: call_finding(tag, found) for tag, found in by_tag.items()}
        for tag, found in by_data.items():
            listed.setdefault(tag, call_finding(tag, found, "data"))
        result.findings = [listed[tag] for tag in sorted(listed)]
        return result
    for tag in tags:
        key = pad_tag(tag)
        if key in by_tag:
            result.findings.append(call_finding(key, by_tag[key]))
            continue
        patterns = tag_bytes(tag)
        address = _has_immediate(image, patterns)
        if address is not None:
            result.findings.append(ScanFinding(name, key, "immediate", (), 0, address, image.arch))
        elif key in by_data:
            result.findings.append(call_finding(key, by_data[key], "data"))
        elif any(p in data for p in patterns):
            result.findings.append(ScanFinding(name, key, "string", (), 0, None, image.arch))
    return result


def _expand(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            out.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PE_SUFFIXES)
            )
        elif path.is_file():
            out.append(path)
        elif not path.exists():
            raise InputError(str(item), "no such file or folder")
        else:
            raise InputError(str(item), "not a regular file")
    # A file named twice (or inside a folder also named) is scanned once.
    seen: set[Path] = set()
    unique = []
    for path in out:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _scan_file(path: Path, tags: Sequence[str] | None) -> tuple[FileScan | None, str | None]:
    """The scan of one file, or the reason it was skipped (runs in worker processes too)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    try:
        return scan_bytes(data, str(path), tags), None
    except NotPE as exc:
        return None, f"{exc}; skipped"


def default_jobs(files: int) -> int:
    """Worker processes worth starting: starting one costs about as much as scanning 5 files."""
    if files < 16:
        return 1
    return max(1, min(os.cpu_count() or 1, 8, files // 8))


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    tags: Sequence[str] | None = None,
    *,
    diag: Diagnostics | None = None,
    jobs: int | None = None,
) -> list[ScanFinding]:
    """Findings for every PE file under ``paths``; see :func:`scan_files` for the details."""
    return [f for scan in scan_files(paths, tags, diag=diag, jobs=jobs) for f in scan.findings]


def scan_files(
    paths: Iterable[str | os.PathLike[str]],
    tags: Sequence[str] | None = None,
    *,
    diag: Diagnostics | None = None,
    jobs: int | None = None,
) -> list[FileScan]:
    """The scan of every PE file under ``paths`` (folders recursively: .sys, .dll, .exe).

    Files that are not PE images are skipped with a warning in ``diag``.  ``jobs`` worker
    processes share the files (default: one per core for big folders); results keep
    file order either way.
    """
    diag = diag if diag is not None else Diagnostics()
    if tags is not None:
        for tag in tags:
            tag_bytes(tag)  # reject malformed tags before reading anything
    files = _expand(paths)
    jobs = default_jobs(len(files)) if jobs is None else max(1, jobs)
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_scan_file, files, [tags] * len(files), chunksize=4))
    else:
        results = [_scan_file(path, tags) for path in files]
    scans: list[FileScan] = []
    for path, (scan, problem) in zip(files, results, strict=True):
        if problem is not None:
            diag.note(str(path), None, problem, strict=False)
        if scan is not None:
            scans.append(scan)
    return scans


def localtag_text(findings: Sequence[ScanFinding]) -> str:
    """PoolMon's localtag.txt lines (``Tag - binary - description``) for the findings."""
    rows = []
    for f in findings:
        what = f.evidence + (": " + ", ".join(f.routines) if f.routines else "")
        rows.append((f.tag, Path(f.file).name, f"{what} (poolscope tags scan)"))
    return format_localtag(rows)
