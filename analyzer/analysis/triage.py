"""Crash-dump and debugger-log triage: what the bug check means for pool, who holds it, what to run next.

The input is a :class:`parsers.transcript.Transcript` (a debugger log, or what the
cdb runner got from a dump).  The answer is a :class:`TriageReport` of typed rows;
renderers turn it into a table, JSON or Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analyzer.analysis.ownership import NO_OWNER, OwnerLookup
from analyzer.analysis.verdict import TextEnum
from parsers.debugger.analyze import BugCheck
from parsers.model import NONPAGED, PAGED, Snapshot
from parsers.poolused import split_description
from parsers.transcript import Transcript

#: Dump files go to the cdb runner; everything else is read as a debugger log.
DUMP_SUFFIXES = (".dmp", ".mdmp", ".hdmp")

class Category(TextEnum):
    """What kind of pool case a log shows; a ``str``, so JSON and ``category == "exhaustion"`` keep working."""

    EXHAUSTION = "exhaustion"
    CORRUPTION = "corruption"
    UNLOAD_LEAK = "leak-at-unload"
    SESSION_LEAK = "session-leak"
    OTHER = "not-pool"
    NONE = "no-bug-check"


EXHAUSTION = Category.EXHAUSTION
CORRUPTION = Category.CORRUPTION
UNLOAD_LEAK = Category.UNLOAD_LEAK
SESSION_LEAK = Category.SESSION_LEAK
OTHER = Category.OTHER
NONE = Category.NONE


@dataclass(frozen=True)
class BugCheckInfo:
    """What a bug check code means for pool."""

    name: str
    category: Category
    meaning: str


BUGCHECKS: dict[int, BugCheckInfo] = {
    0x41: BugCheckInfo("MUST_SUCCEED_POOL_EMPTY", EXHAUSTION,
                       "nonpaged pool ran out: an allocation that had to succeed could not be satisfied"),
    0x19: BugCheckInfo("BAD_POOL_HEADER", CORRUPTION, "a pool block header is damaged"),
    0xC2: BugCheckInfo("BAD_POOL_CALLER", CORRUPTION,
                       "a driver made a bad pool request (double free, wrong IRQL, bad address)"),
    0xC5: BugCheckInfo("DRIVER_CORRUPTED_EXPOOL", CORRUPTION, "a driver wrote over pool at a raised IRQL"),
    0xD0: BugCheckInfo("DRIVER_CORRUPTED_MMPOOL", CORRUPTION, "a driver corrupted the memory manager's pool"),
    0xC1: BugCheckInfo("SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION", CORRUPTION,
                       "Special Pool caught a driver writing outside its allocation"),
    0xDE: BugCheckInfo("POOL_CORRUPTION_IN_FILE_AREA", CORRUPTION, "a driver corrupted pool used for file data"),
    0x13A: BugCheckInfo("KERNEL_MODE_HEAP_CORRUPTION", CORRUPTION,
                        "the kernel pool (segment heap) detected corruption"),
    0xC4: BugCheckInfo("DRIVER_VERIFIER_DETECTED_VIOLATION", OTHER, "Driver Verifier caught a driver breaking a rule"),
    0xAB: BugCheckInfo("SESSION_HAS_VALID_POOL_ON_EXIT", SESSION_LEAK,
                       "a session unloaded while still holding session pool: a session-space driver leaked it"),
    0x3F: BugCheckInfo("NO_MORE_SYSTEM_PTES", OTHER,
                       "system page table entries ran out (often a leak of mappings, not pool)"),
    0x1A: BugCheckInfo("MEMORY_MANAGEMENT", OTHER, "the memory manager found an inconsistency"),
    0xCE: BugCheckInfo("DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS", OTHER,
                       "a driver unloaded with work still pending"),
}

#: Driver Verifier's "unloaded without freeing its pool" parameters of 0xC4.
_UNLOAD_LEAK_P1 = (0x60, 0x62)


@dataclass
class PoolState:
    """How full one pool was, and where that figure comes from."""

    pool: str
    usage_kb: int | None
    max_kb: int | None
    source: str
    #: False when the maximum is only the address-space limit (x64 dynamic pools): no real bound.
    max_is_bound: bool = True

    @property
    def percent(self) -> float | None:
        if self.usage_kb is None or not self.max_kb or not self.max_is_bound:
            return None
        return round(100.0 * self.usage_kb / self.max_kb, 1)

    def to_dict(self) -> dict[str, Any]:
        return {"pool": self.pool, "usage_kb": self.usage_kb, "max_kb": self.max_kb, "percent": self.percent,
                "max_is_bound": self.max_is_bound, "source": self.source}


@dataclass
class Consumer:
    """One of the biggest tags in a pool, with every piece of owner evidence found."""

    rank: int
    tag: str
    pool: str
    bytes: int
    outstanding: int | None
    share: float | None  # percent of the pool total
    owner: str | None
    owner_source: str | None = None  # provenance of the owner text (tag file, input evidence)
    evidence: list[str] = field(default_factory=list)
    #: Every candidate owner with its provenance (OwnerCandidate.to_dict()), most trusted first.
    owner_candidates: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "tag": self.tag, "pool": self.pool, "bytes": self.bytes,
            "outstanding": self.outstanding, "share": self.share, "owner": self.owner,
            "owner_source": self.owner_source, "owner_candidates": list(self.owner_candidates),
            "evidence": list(self.evidence),
        }


@dataclass
class TriageReport:
    source: str
    category: Category
    summary: str
    bugcheck: BugCheck | None = None
    bugcheck_name: str | None = None
    meaning: str | None = None
    exhausted_pool: str | None = None
    pools: list[PoolState] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    next_commands: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def top(self, pool: str | None = None) -> Consumer | None:
        for c in self.consumers:
            if pool is None or c.pool == pool:
                return c
        return None

    def to_dict(self) -> dict[str, Any]:
        bug = None
        if self.bugcheck is not None:
            bug = self.bugcheck.to_dict()
            bug["name"] = self.bugcheck_name
            bug["meaning"] = self.meaning
        return {
            "source": self.source,
            "category": Category(self.category).value,
            "summary": self.summary,
            "bugcheck": bug,
            "exhausted_pool": self.exhausted_pool,
            "pools": [p.to_dict() for p in self.pools],
            "consumers": [c.to_dict() for c in self.consumers],
            "suspects": list(self.suspects),
            "findings": list(self.findings),
            "next_commands": list(self.next_commands),
            "warnings": list(self.warnings),
        }


def _add_suspect(report: TriageReport, name: str | None) -> None:
    """A suspect driver, when the evidence names one."""
    if name:
        report.suspects.append(name)


def _fmt_kb(kb: int | None) -> str:
    return "?" if kb is None else f"{kb:,} KB"


def _pool_word(pool: str) -> str:
    return "nonpaged" if pool == NONPAGED else "paged"


def _main_snapshot(transcript: Transcript) -> Snapshot | None:
    """The last complete system-pool table (a filtered/top-N table only when nothing else exists)."""
    snaps = transcript.snapshots
    for wanted in (lambda s: s.scope == "system" and not s.extra.get("partial"), lambda s: True):
        found = [s for s in snaps if wanted(s)]
        if found:
            return found[-1]
    return None


def _pool_states(transcript: Transcript, snap: Snapshot | None) -> list[PoolState]:
    """Usage and maximum per pool: ``!vm`` first; a ``!poolused`` TOTAL where ``!vm`` has no usable usage."""
    vm = transcript.latest_vm()
    out = []
    for pool, usage_attr, max_key in ((NONPAGED, "nonpaged_kb", "nonpaged_max_kb"),
                                      (PAGED, "paged_kb", "paged_max_kb")):
        usage = getattr(vm, usage_attr) if vm is not None else None
        mx = vm.get(max_key) if vm is not None else None
        mem = vm.get("memory_kb") if vm is not None else None
        source = "!vm"
        if usage is None and snap is not None and f"{pool}_kb" in snap.totals:
            usage = snap.totals[f"{pool}_kb"]
            source = "!poolused TOTAL" + (", max from !vm" if mx is not None else "")
        if usage is None and mx is None:
            continue
        out.append(PoolState(pool, usage, mx, source, not (mx and mem and mx > 4 * mem)))
    return out


def _evidence(transcript: Transcript, tag: str, description: str | None) -> list[str]:
    ev: list[str] = []
    if description:
        ev.append(f"!poolused: {description}")
    for note in transcript.owner_notes:
        if note.tag == tag:
            ev.append(f"!pool: {note.description or ''}{', Binary: ' + note.binary if note.binary else ''}")
    hits = transcript.tag_hits().get(tag)
    if hits:
        ev.append("tag found in " + ", ".join(f"{m} ({n} hit{'s' if n != 1 else ''})" for m, n in hits.items()))
    callers = sorted({a.symbol for v in transcript.verifier for d in v.drivers for a in d.allocations
                      if a.tag == tag and a.symbol})
    if callers:
        ev.append("allocated by " + ", ".join(callers) + " (!verifier)")
    found = transcript.allocations_by_tag().get(tag, [])
    if found:
        sizes = sorted({a.size for a in found})
        shown = ", ".join(f"{s:#x}" for s in sizes[:4]) + (", ..." if len(sizes) > 4 else "")
        ev.append(f"{len(found)} block{'s' if len(found) != 1 else ''} listed by !poolfind/!pool (sizes {shown})")
    return ev


def _consumers(transcript: Transcript, snap: Snapshot | None, owners: OwnerLookup | None,
               per_pool: int) -> list[Consumer]:
    if snap is None:
        return []
    descriptions: dict[str, str] = snap.extra.get("descriptions", {})
    first = next((s for s in transcript.snapshots if s.scope == snap.scope and not s.extra.get("partial")), None)
    out: list[Consumer] = []
    for pool in (NONPAGED, PAGED):
        rows = [r for r in snap.rows if r.pool == pool and r.bytes]
        rows.sort(key=lambda r: (-(r.bytes or 0), r.tag))
        total_bytes = (snap.extra.get("table_total") or {}).get(f"{pool}_bytes") or sum(r.bytes or 0 for r in rows)
        for rank, row in enumerate(rows[:per_pool], start=1):
            desc = descriptions.get(row.tag)
            found = owners(row.tag) if owners is not None else NO_OWNER
            owner, source = found.owner, found.source
            if owner is None and desc:
                text, binary = split_description(desc)
                owner = " - ".join(p for p in (binary, text) if p) or None
                source = f"input evidence: {snap.source} (!poolused)" if owner else None
            share = round(100.0 * (row.bytes or 0) / total_bytes, 1) if total_bytes else None
            candidates = [dict(c) for c in found.candidates]
            out.append(Consumer(rank, row.tag, pool, row.bytes or 0, row.outstanding, share, owner, source,
                                _evidence(transcript, row.tag, desc), candidates))
            if first is not None and first is not snap:
                before = first.rows.get(row.tag, pool)
                change = (row.bytes or 0) - ((before.bytes or 0) if before else 0)
                out[-1].evidence.insert(0, f"{change:+,} bytes since the !poolused at line {first.line}")
    return out


def _binary_of(owner: str | None) -> str | None:
    if not owner:
        return None
    first = owner.split(" - ", 1)[0].strip()
    return first if "." in first or "!" in first else None


def _exhausted_pool(transcript: Transcript, bug: BugCheck | None, pools: Sequence[PoolState]) -> str | None:
    if bug is not None and bug.code == 0x41:
        return NONPAGED
    if transcript.events:
        return transcript.events[-1].pool
    vm = transcript.latest_vm()
    if vm is not None:
        for warning in vm.warnings:
            w = warning.lower()
            pool = NONPAGED if "nonpaged" in w else PAGED if "paged" in w else None
            if "excessive" not in w or pool is None or _vm_usage_untrusted(vm, pool):
                continue  # !vm computed its warning from the figure it printed: no better than that figure
            return pool
    for state in pools:
        if state.percent is not None and state.percent >= 90.0:
            return state.pool
    return None


def _vm_usage_untrusted(vm: Any, pool: str) -> bool:
    keys = ("nonpaged_usage_kb", "nonpaged_nx_usage_kb") if pool == NONPAGED else ("paged_usage_kb",)
    return any(k in vm.untrusted for k in keys)


def _unloaded_holding_pool(transcript: Transcript) -> list[Any]:
    """Drivers ``!verifier`` shows as unloaded that still hold pool allocations."""
    return [d for v in transcript.verifier for d in v.drivers if d.unloaded and d.holds_pool]


def _ran(transcript: Transcript, kind: str) -> bool:
    return any(c.kind == kind for c in transcript.commands)


def _pool_evidence(report: TriageReport, transcript: Transcript) -> None:
    """What !poolfind, !pool and the memory searches showed, for tags no !poolused table ranked."""
    ranked = {c.tag for c in report.consumers}
    by_tag = transcript.allocations_by_tag()
    hits = transcript.tag_hits()
    notes: dict[str, list[str]] = {}
    for note in transcript.owner_notes:
        notes.setdefault(note.tag, []).append(" - ".join(p for p in (note.binary, note.description) if p))
    for tag in sorted(set(by_tag) | set(hits) | set(notes)):
        if tag in ranked:
            continue
        parts = []
        found = by_tag.get(tag, [])
        if found:
            total = sum(a.size for a in found)
            parts.append(f"{len(found)} allocated block{'s' if len(found) != 1 else ''} "
                         f"({total:,} bytes) listed by !poolfind/!pool")
        if tag in notes:
            parts.append("!pool names " + "; ".join(x for x in notes[tag] if x))
        if tag in hits:
            parts.append("tag found in " + ", ".join(f"{m} ({n} hit{'s' if n != 1 else ''})"
                                                     for m, n in hits[tag].items()))
        if parts:
            report.findings.append(f"evidence for tag {tag.rstrip()!r}: " + "; ".join(parts))


def triage_transcript(transcript: Transcript, *, owners: OwnerLookup | None = None, top: int = 5) -> TriageReport:
    """Read the case in one debugger log.

    ``owners`` (an :meth:`analyzer.owners.OwnerResolver.ownership`) names the owners of the
    top tags; the summary and the suspects are worded around them.
    """
    bug = transcript.bugcheck
    info = BUGCHECKS.get(bug.code) if bug is not None else None
    snap = _main_snapshot(transcript)
    pools = _pool_states(transcript, snap)
    consumers = _consumers(transcript, snap, owners, top)
    report = TriageReport(source=transcript.source, category=NONE, summary="", bugcheck=bug,
                          pools=pools, consumers=consumers,
                          warnings=[str(w) for w in transcript.warnings])
    if bug is not None:
        report.bugcheck_name = bug.name or (info.name if info else None)
        report.meaning = info.meaning if info else "not a pool bug check"
        report.category = info.category if info else OTHER
        if bug.code == 0xC4 and bug.param(1) in _UNLOAD_LEAK_P1:
            report.category = UNLOAD_LEAK
            report.meaning = "a driver was unloaded without freeing its pool allocations (Driver Verifier check)"
    exhausted = _exhausted_pool(transcript, bug, pools)
    if exhausted is not None and report.category in (NONE, OTHER, EXHAUSTION):
        report.category = EXHAUSTION
        report.exhausted_pool = exhausted
    if report.category in (NONE, OTHER) and _unloaded_holding_pool(transcript):
        # No crash needed: !verifier already shows a driver gone with its pool still allocated.
        report.category = UNLOAD_LEAK
        report.meaning = report.meaning or "a driver was unloaded without freeing its pool allocations"
    if not snap:
        report.findings.append("no !poolused output in this log: top consumers unknown")
    {
        EXHAUSTION: _exhaustion,
        CORRUPTION: _corruption,
        UNLOAD_LEAK: _unload_leak,
        SESSION_LEAK: _session_leak,
    }.get(report.category, _other)(report, transcript)
    _pool_evidence(report, transcript)
    vm = transcript.latest_vm()
    if vm is not None and report.category != EXHAUSTION:
        ignored = [w for w in vm.warnings if "excessive" in w.lower()]
        if ignored and vm.untrusted:
            report.findings.append(f"!vm says {ignored[0]!r}, but from a figure that is not believable: ignored")
    if _ran(transcript, "analyze"):
        # The log already holds the analysis: do not send the reader to run it again.
        report.next_commands = [c for c in report.next_commands if not c.startswith("!analyze")]
    report.suspects = list(dict.fromkeys(s for s in report.suspects if s))
    return report


def _bug_text(report: TriageReport) -> str:
    bug = report.bugcheck
    if bug is None:
        return "no bug check"
    name = f" {report.bugcheck_name}" if report.bugcheck_name else ""
    return f"bug check {bug.code_text}{name}"


def _exhaustion(report: TriageReport, transcript: Transcript) -> None:
    pool = report.exhausted_pool or NONPAGED
    word = _pool_word(pool)
    state = next((p for p in report.pools if p.pool == pool), None)
    bug = report.bugcheck
    how_full = ""
    if state is not None and state.percent is not None:
        how_full = f", {state.percent}% of its maximum ({_fmt_kb(state.usage_kb)} of {_fmt_kb(state.max_kb)})"
    elif state is not None and state.usage_kb is not None:
        how_full = f", {_fmt_kb(state.usage_kb)} in use (maximum not known)"
    top = report.top(pool)
    who = ""
    if top is not None:
        owner = f" ({top.owner})" if top.owner else " (owner unknown)"
        share = f", {top.share}% of the pool" if top.share is not None else ""
        who = f"; top tag {top.tag}{owner} holds {top.bytes:,} bytes{share}"
    report.summary = f"{word} pool exhausted{how_full}{who}"
    if bug is not None and bug.code == 0x41:
        pages = bug.param(2)
        if pages is not None:
            report.findings.append(f"bug check parameter 2: {pages:,} pages of nonpaged pool in use "
                                   f"({pages * 4:,} KB with 4 KB pages); parameter 4: {bug.param(4)} pages available")
    for event in transcript.events:
        report.findings.append(f"event {event.event_id} (line {event.line}): the server could not allocate "
                               f"{event.pool} pool")
    vm = transcript.latest_vm()
    if vm is not None:
        report.findings.extend(f"!vm warns: {w}" for w in vm.warnings)
        if vm.untrusted:
            report.findings.append("!vm figures not trusted: " + ", ".join(
                f"{key} ({vm.reasons.get(key, 'nonsense')})" for key in vm.untrusted))
        mem = vm.get("memory_kb")
        if state is not None and not state.max_is_bound:
            report.findings.append(f"the {word} pool maximum is the address-space limit; physical memory "
                                   f"({_fmt_kb(mem)}) and the commit limit are the real bound")
    if top is not None:
        _add_suspect(report, _binary_of(top.owner))
        report.findings.append("exhaustion is the end of a leak: capture PoolMon or poolscope snapshots over "
                               "time on the live machine and run `poolscope trend` to see which tag grows")
    if bug is not None:
        _add_suspect(report, bug.image)
    report.next_commands = _exhaustion_commands(pool, top.tag if top else None)


def _exhaustion_commands(pool: str, tag: str | None) -> list[str]:
    sort_flag = "2" if pool == NONPAGED else "4"
    cmds = ["!vm 1", f"!poolused {sort_flag}"]
    if tag:
        cmds += [
            f"!poolfind {tag} {'0' if pool == NONPAGED else '1'}",
            f'!for_each_module s -a @#Base @#End "{tag}"',
            f"!py <poolscope_pykd.py> findtag {tag}   (poolscope windbg-script shows the path)",
        ]
    return cmds


def _corruption(report: TriageReport, transcript: Transcript) -> None:
    bug = report.bugcheck
    assert bug is not None
    suspect = bug.image or (bug.probably_caused_by.split()[0] if bug.probably_caused_by else None)
    _add_suspect(report, suspect)
    report.summary = (f"pool corruption ({_bug_text(report)}): a driver wrote where it should not; "
                      "trend analysis will not help")
    report.findings.append("corruption is not growth: pool usage trends and leak verdicts say nothing about it")
    report.findings.append("the driver named by !analyze is often the victim, not the culprit: catch the writer "
                           "in the act with Special Pool / Driver Verifier")
    shown = [a for a in transcript.allocations
             if a.current and a.command and a.command.split()[0].lower() == "!pool"]
    # 0x19/0xC2 name the damaged block's address in parameter 2: the !pool row at that address is it.
    damaged = next((a for a in shown if bug.param(2) is not None and a.address == bug.param(2)),
                   shown[0] if shown else None)
    tag = damaged.tag if damaged is not None else None
    if damaged is not None and tag:
        owner = next((c.owner for c in report.consumers if c.tag == tag and c.owner), None)
        after = ("; the header of the block after it is damaged (parameter 1 = 0x20)"
                 if bug.code == 0x19 and bug.param(1) == 0x20 else "")
        report.findings.append(f"!pool: the block at {damaged.address:#x} ({damaged.size:#x} bytes) is tagged "
                               f"{tag.rstrip()!r} ({owner or 'owner unknown'}){after}")
        _add_suspect(report, _binary_of(owner))
    target = suspect or "SUSPECT.sys"
    report.next_commands = [
        "!analyze -v",
        *([] if damaged is not None and damaged.address == bug.param(2) else
          [f"!pool {bug.param(2):#x}" if bug.code == 0x19 and bug.param(2) else "!pool <address from the bug check>"]),
        f"verifier /flags 0x1 /driver {target}   (Special Pool, then reboot and reproduce)",
        f"verifier /standard /driver {target}   (Driver Verifier standard checks)",
    ]
    if damaged is not None and damaged.state == "free" and tag:
        report.findings.append(f"the damaged block is free: tag {tag.rstrip()!r} is whatever was there last, "
                               "so Special Pool for that tag would catch nothing")
        tag = None
    if tag:
        value = int.from_bytes(tag.encode("latin-1"), "little")
        report.next_commands += [
            f"!py <poolscope_pykd.py> findtag {tag.rstrip()}   (which driver uses the tag)",
            'reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Memory Management" '
            f"/v PoolTag /t REG_DWORD /d {value:#010x}   (Special Pool for tag {tag.rstrip()!r} only, then reboot)",
        ]
    report.next_commands.append("verifier /reset   (when done)")


def _unload_leak(report: TriageReport, transcript: Transcript) -> None:
    bug = report.bugcheck
    leaking = _unloaded_holding_pool(transcript)
    driver = (bug.image if bug is not None else None) or (leaking[0].name if leaking else None)
    _add_suspect(report, driver)
    report.suspects.extend(d.name for d in leaking)
    count = bug.param(4) if bug is not None else None
    if count is None and leaking:
        c = leaking[0].counters
        count = (c.get("current_nonpaged_allocations", 0) + c.get("current_paged_allocations", 0)) or None
    left = f": {count:#x} ({count}) allocations not freed" if count else ""
    report.summary = f"{driver or 'a driver'} was unloaded without freeing its pool{left}"
    for d in leaking:
        c = d.counters
        report.findings.append(
            f"!verifier: {d.name} still holds {c.get('current_nonpaged_allocations', 0)} nonpaged "
            f"({c.get('current_nonpaged_bytes', 0):,} bytes) and {c.get('current_paged_allocations', 0)} paged "
            f"({c.get('current_paged_bytes', 0):,} bytes) allocations after "
            + (f"{d.unloads} unload(s)" if d.unloads else "unloading")
        )
        tags = sorted({a.tag for a in d.allocations})
        if tags:
            report.findings.append(f"leaked tags: {', '.join(tags)}")
    for mod in transcript.unloaded_modules:
        report.findings.append(f"unloaded module: {mod.image or mod.name}")
    listed = any(d.allocations for d in leaking)
    report.next_commands = [
        *([] if listed else
          [f"!verifier 3 {driver or '<driver.sys>'}   (lists the leaked allocations with their callers)"]),
        *([f"dt nt!_UNICODE_STRING {bug.param(2):#x}   (the driver's name)"] if bug is not None and bug.param(2)
          else []),
        *([] if transcript.unloaded_modules else ["lm   (see Unloaded modules)"]),
        "fix the driver's unload routine to free what it allocated",
    ]


def _session_leak(report: TriageReport, transcript: Transcript) -> None:
    report.summary = f"session pool leaked at session exit ({_bug_text(report)})"
    report.findings.append("a session-space driver (win32k, display or printer driver) kept session pool")
    report.next_commands = ["!poolused 8", "!session", "!analyze -v"]


def _other(report: TriageReport, transcript: Transcript) -> None:
    if report.bugcheck is not None:
        report.summary = f"{_bug_text(report)}: {report.meaning}; pool does not look exhausted"
    else:
        report.summary = "no bug check and no sign of pool exhaustion in this log"
    if report.bugcheck is not None and report.bugcheck.image:
        _add_suspect(report, report.bugcheck.image)
    report.next_commands = ["!analyze -v", "!vm", "!poolused 2", "!poolused 4"]
