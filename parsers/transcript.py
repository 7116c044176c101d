"""Whole debugger logs (``.logopen`` files, copied WinDbg/kd/cdb consoles).

The log is cut at every prompt (``kd>``, ``0: kd>``, ``lkd>``) and each command's
output goes to its reader: ``!poolused`` becomes a snapshot (format ``poolused``),
``!vm`` gives pool usage/maximum and commit, ``!poolfind``/``!pool`` allocations,
``lm`` module ranges, ``s -a``/``s -b`` hit addresses, ``!analyze -v`` the bug
check, ``!verifier`` pool tracking.  Commands nobody reads are kept as raw text.
Everything except the snapshots lands in a typed :class:`Transcript`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import poolused
from .debugger.analyze import BugCheck, read_analyze, read_fatal
from .debugger.blocks import CommandBlock, shape_of, split_commands
from .debugger.common import PROMPT_RE, session_time, unquote
from .debugger.modules import Module, ModuleMap, read_modules
from .debugger.pool import OwnerNote, PoolAllocation, read_pool
from .debugger.search import SearchResult, read_search
from .debugger.verifier import VerifierReport, read_verifier
from .debugger.vm import VmInfo, read_vm
from .errors import Diagnostics, ErrorLevel, InputError
from .formats import InputFormat, ParseOptions
from .model import Snapshot, TimeOrigin
from .textio import TextSource, read_inputs

FORMAT_NAME = "transcript"

# Event log entries of the server service: 2019 = nonpaged pool empty, 2020 = paged pool empty.
# Found by their literal first (fast on big logs), then confirmed by what precedes them.
_EVENT_NUMBER = re.compile(r"20(?:19|20)\b")
_EVENT_LABEL = re.compile(r"(?:Event\s*ID|\bID)\s*[:=]?\s*$", re.IGNORECASE)
_EVENT_TEXT = re.compile(r"unable to allocate from the system (nonpaged|paged) pool")


@dataclass(frozen=True)
class CommandRecord:
    """One command of the log and what it was read as; ``text`` holds the output of raw, search and analyze kinds."""

    command: str | None
    line: int
    kind: str  # poolused, vm, poolfind, pool, lm, search, analyze, verifier, raw
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"command": self.command, "line": self.line, "kind": self.kind}


@dataclass(frozen=True)
class PoolEvent:
    """A server event 2019/2020 quoted in the log: the named pool ran empty."""

    event_id: int
    pool: str
    line: int

    def to_dict(self) -> dict[str, object]:
        return {"event_id": self.event_id, "pool": self.pool, "line": self.line}


@dataclass
class Transcript:
    """Everything read from one debugger log."""

    source: str
    commands: list[CommandRecord] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    vm: list[VmInfo] = field(default_factory=list)
    allocations: list[PoolAllocation] = field(default_factory=list)
    owner_notes: list[OwnerNote] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    searches: list[SearchResult] = field(default_factory=list)
    bugcheck: BugCheck | None = None
    verifier: list[VerifierReport] = field(default_factory=list)
    events: list[PoolEvent] = field(default_factory=list)
    session_time: datetime | None = None
    warnings: list[Any] = field(default_factory=list)

    @property
    def raw(self) -> list[CommandRecord]:
        """Commands kept as text because no reader knows them."""
        return [c for c in self.commands if c.kind == "raw"]

    @property
    def loaded_modules(self) -> list[Module]:
        return [m for m in self.modules if not m.unloaded]

    @property
    def unloaded_modules(self) -> list[Module]:
        return [m for m in self.modules if m.unloaded]

    def module_map(self) -> ModuleMap:
        return ModuleMap(self.modules)

    def latest_vm(self) -> VmInfo | None:
        return self.vm[-1] if self.vm else None

    def descriptions(self) -> dict[str, str]:
        """Tag -> description from every ``!poolused`` table (later tables win)."""
        out: dict[str, str] = {}
        for snap in self.snapshots:
            out.update(snap.extra.get("descriptions", {}))
        return out

    def allocations_by_tag(self) -> dict[str, list[PoolAllocation]]:
        """Tag -> the blocks ``!poolfind``/``!pool`` listed as allocated (each address once)."""
        out: dict[str, list[PoolAllocation]] = {}
        seen: set[int] = set()
        for alloc in self.allocations:
            if alloc.tag is None or alloc.state != "allocated" or alloc.address in seen:
                continue
            seen.add(alloc.address)
            out.setdefault(alloc.tag, []).append(alloc)
        return out

    def tag_hits(self) -> dict[str, dict[str, int]]:
        """Tag -> {module name: hits} from the memory searches, through the ``lm`` module ranges."""
        mm = self.module_map()
        out: dict[str, dict[str, int]] = {}
        for search in self.searches:
            tag = search.tag
            if tag is None:
                continue
            per = out.setdefault(tag, {})
            for addr in search.addresses:
                mod = mm.find(addr)
                name = mod.name if mod else f"<no module> {addr:#x}"
                per[name] = per.get(name, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "session_time": self.session_time.isoformat() if self.session_time else None,
            "commands": [c.to_dict() for c in self.commands],
            "snapshots": [s.to_dict() for s in self.snapshots],
            "vm": [v.to_dict() for v in self.vm],
            "allocations": [a.to_dict() for a in self.allocations],
            "owner_notes": [o.to_dict() for o in self.owner_notes],
            "modules": [m.to_dict() for m in self.modules],
            "searches": [s.to_dict() for s in self.searches],
            "tag_hits": self.tag_hits(),
            "bugcheck": self.bugcheck.to_dict() if self.bugcheck else None,
            "verifier": [v.to_dict() for v in self.verifier],
            "events": [e.to_dict() for e in self.events],
        }


def _kind(block: CommandBlock) -> str:
    name = block.name
    cmd = (block.command or "").lower()
    if name.endswith("poolused"):
        return "poolused"
    if name == "!vm":
        return "vm"
    if name.endswith("poolfind"):
        return "poolfind"
    if name == "!pool":
        return "pool"
    if re.match(r"^lm[a-z]*$", name):
        return "lm"
    if name == "s" or (name == "!for_each_module" and re.search(r"\bs\s+-[ab]\b", cmd)):
        return "search"
    if name == "!analyze":
        return "analyze"
    if name == "!verifier":
        return "verifier"
    return "raw"


def read_text(text: str, name: str, diag: Diagnostics | None = None) -> Transcript:
    """Read a debugger log held in memory."""
    diag = diag if diag is not None else Diagnostics()
    lines = unquote(text.split("\n"))
    transcript = Transcript(source=name)
    session_hint: str | None = None
    for line in lines[:400]:
        stamp = session_time(line)
        if stamp:
            transcript.session_time = stamp
            break
    found: list[tuple[int, int, str]] = []  # (offset, event id, pool)
    for m in _EVENT_NUMBER.finditer(text):
        start = m.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in "._"):
            continue
        if _EVENT_LABEL.search(text, max(0, start - 24), start):
            event_id = int(m.group())
            found.append((start, event_id, "nonpaged" if event_id == 2019 else "paged"))
    low = text.lower()
    messages = _EVENT_TEXT.finditer(low) if len(low) == len(text) else re.finditer(_EVENT_TEXT.pattern, text, re.I)
    for m in messages:
        pool = m.group(1).lower()
        found.append((m.start(), 2019 if pool == "nonpaged" else 2020, pool))
    for offset, event_id, pool in sorted(found):
        i = text.count("\n", 0, offset) + 1
        if not transcript.events or transcript.events[-1].line < i - 3:
            transcript.events.append(PoolEvent(event_id, pool, i))

    blocks = split_commands(lines)
    vm_positions: list[tuple[int, VmInfo]] = []
    # A live session sampled repeatedly prints `.time` before each sample: each table takes the latest.
    current_time = transcript.session_time
    for block in blocks:
        if block.command is None:
            # Opening a dump prints a short analysis ("BugCheck 41, {...}", "Probably caused by").
            early = read_analyze(block.output, 1)
            if early is not None:
                transcript.bugcheck = early
            continue
        kind = _kind(block)
        sm = poolused.SESSION_COMMAND_RE.match(block.command)
        if sm:
            session_hint = f"session:{int(sm.group('id'), 16)}"
        first = block.first_output_line
        if kind == "poolused":
            command = poolused.parse_command(block.command)
            snaps = poolused.parse_lines(
                block.output, first, name, diag, command=command, index=len(transcript.snapshots),
                timestamp=current_time, session_hint=session_hint,
            )
            for snap in snaps:
                snap.line = block.line
            if not snaps and any(x.strip() for x in block.output):
                diag.note(name, block.line, f"{block.command!r} printed no table", strict=False)
            transcript.snapshots.extend(snaps)
        elif kind == "vm":
            info = read_vm(block.output, block.line)
            transcript.vm.append(info)
            vm_positions.append((block.line, info))
            for key in info.untrusted:
                why = info.reasons.get(key, "nonsense")
                diag.note(name, block.line, f"!vm figure {key} is not believable ({why}); ignored", strict=False)
        elif kind in ("poolfind", "pool"):
            report = read_pool(block.output, block.command, first)
            transcript.allocations.extend(report.allocations)
            transcript.owner_notes.extend(report.owners)
            for lineno in report.unreadable:
                diag.skip(name, lineno, f"unreadable {block.name} row")
        elif kind == "lm":
            _merge_modules(transcript.modules, read_modules(block.output))
        elif kind == "search":
            result = read_search(block.command, block.output, block.line)
            if result is None:
                kind = "raw"
            else:
                transcript.searches.append(result)
        elif kind == "analyze":
            bugcheck = read_analyze(block.output, block.line)
            if bugcheck is not None:
                transcript.bugcheck = _merge_bugcheck(transcript.bugcheck, bugcheck)
        elif kind == "verifier":
            transcript.verifier.append(read_verifier(block.output))
        # Raw text is kept where no reader took the output; the big tables live on as snapshots.
        text = block.text if kind in ("raw", "search", "analyze") else ""
        if kind == "raw":
            fatal = read_fatal(block.output, block.line)
            if fatal is not None and (transcript.bugcheck is None or transcript.bugcheck.code != fatal.code):
                transcript.bugcheck = _merge_bugcheck(transcript.bugcheck, fatal)
            for line in block.output[:20]:
                stamp = session_time(line)
                if stamp:
                    current_time = stamp
                    break
        transcript.commands.append(CommandRecord(block.command, block.line, kind, text))

    transcript.snapshots = poolused.merge_views(transcript.snapshots)
    _attach_vm(transcript.snapshots, vm_positions)
    for snap in transcript.snapshots:
        if snap.timestamp is not None:
            snap.time_origin = TimeOrigin.SOURCE
    transcript.warnings = diag.warnings()
    return transcript


def _merge_bugcheck(old: BugCheck | None, new: BugCheck) -> BugCheck:
    """The full ``!analyze -v`` wins; the short analysis fills what it left out."""
    if old is None or old.code != new.code:
        return new
    for name in ("name", "module", "image", "probably_caused_by", "process", "bucket"):
        if getattr(new, name) is None:
            setattr(new, name, getattr(old, name))
    if not new.params:
        new.params = old.params
    return new


def _merge_modules(known: list[Module], new: list[Module]) -> None:
    """Add modules, once per range: ``lm``, ``lm a`` and ``lmv m`` repeat rows, ``lmv`` adds the image path."""
    index = {(m.start, m.end, m.unloaded): i for i, m in enumerate(known)}
    for mod in new:
        key = (mod.start, mod.end, mod.unloaded)
        i = index.get(key)
        if i is None:
            index[key] = len(known)
            known.append(mod)
        elif mod.image and (known[i].image is None or "\\" in mod.image or "/" in mod.image):
            old = known[i]
            known[i] = Module(old.name, old.start, old.end, mod.image, old.symbols or mod.symbols, old.unloaded)


def _attach_vm(snapshots: list[Snapshot], vm_positions: list[tuple[int, VmInfo]]) -> None:
    """Give each snapshot the figures of the nearest ``!vm`` (same debugger session, so same moment)."""
    if not vm_positions:
        return
    for snap in snapshots:
        line = snap.line or 0
        _, info = min(vm_positions, key=lambda p: abs(p[0] - line))
        snap.extra["vm"] = info.to_dict()
        for key, value in info.totals().items():
            # A complete !poolused TOTAL is exact; !vm counts pages.  Keep the TOTAL where both exist.
            if snap.scope == "system" or key not in ("nonpaged_kb", "paged_kb"):
                snap.totals.setdefault(key, value)


def read_transcript(source: TextSource | str | os.PathLike[str], errors: ErrorLevel | str = "warn") -> Transcript:
    """Read a debugger log from a path or a :class:`TextSource` (``.gz``/``.zip`` and UTF-16 welcome)."""
    diag = Diagnostics(level=ErrorLevel(errors))
    if isinstance(source, TextSource):
        src = source
    else:
        sources = list(read_inputs([os.fspath(source)]))
        if not sources:
            raise InputError(str(source), "no input found")
        if len(sources) > 1:
            raise InputError(str(source), f"holds {len(sources)} files; name the one debugger log to read")
        src = sources[0]
    if not src.text.strip():
        raise InputError(src.name, "empty input: no text to read")
    return read_text(src.text, src.name, diag)


def _parse(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    try:
        transcript = read_text(source.text, source.name, diag)
    except InputError:
        raise
    except (ValueError, IndexError) as exc:  # a reader bug must still surface as one line, not a traceback
        raise InputError(source.name, f"cannot read debugger log: {exc}") from exc
    if not transcript.snapshots:
        diag.note(source.name, None, "debugger log holds no !poolused output: no pool snapshot in it",
                  strict=False)
    return transcript.snapshots


_KNOWN = re.compile(r"^(?:!\w*poolused|!vm|!\w*poolfind|!pool|lm\w*|s\s+-[ab]|!for_each_module|!analyze|!verifier)\b",
                    re.IGNORECASE)


def sniff(head: str) -> float:
    commands = []
    for line in head.split("\n"):
        m = PROMPT_RE.match(line)
        if m and m.group("command").strip():
            commands.append(m.group("command").strip())
    if not commands:
        # Output pasted without its prompt lines: recognised by the shapes only debugger commands print.
        shapes = {shape_of(line) for line in head.split("\n")[:4000]} - {None}
        if shapes - {"!poolused"}:
            return 0.92 if len(shapes) > 1 else 0.7
        if re.search(r"^BUGCHECK_CODE:|^\*+\s*Bugcheck Analysis|Fatal System Error:", head, re.MULTILINE):
            return 0.5
        return 0.0
    if any(not poolused.parse_command(c) for c in commands):
        return 0.95  # more than !poolused happened in this session (.time, !vm, lm, ...)
    return 0.85 if any(_KNOWN.match(c) for c in commands) else 0.4


FORMAT = InputFormat(
    name=FORMAT_NAME,
    description="WinDbg/kd/cdb session log with !poolused, !vm, !poolfind, lm, !analyze and more",
    sniff=sniff,
    parse=_parse,
)

