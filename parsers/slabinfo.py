"""Linux slab caches: ``/proc/slabinfo`` (1.1, 2.0, 2.1, vendor columns) and ``slabtop -o`` output.

Linux has no pool tags, but a slab cache plays the same part: a named allocator
whose live object count only grows when something leaks.  Each cache becomes a
row whose tag is the full cache name (not padded to 4), in the nonpaged pool
(slab memory is never paged out), with ``outstanding`` = active objects and
``bytes`` = active objects x object size; slabinfo has no cumulative allocation
counters, so allocs/frees stay unknown.  ``/proc/meminfo`` ``Slab:`` and
``SUnreclaim:`` lines in the same text become the snapshot totals.

Columns are read by the names the header gives (``<active_objs>`` ...), so vendor
kernels with extra columns and the 2.0 header typo ``<limit <sharedfactor>`` read
like 2.1.  Version 1.1 has no column header; its layout is known from the version
line's ``(SMP)`` and ``(statistics)`` flags.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyparsing as pp

from .errors import Diagnostics, InputError
from .formats import InputFormat, ParseOptions
from .model import NONPAGED, OUT_OF_RANGE, RowTable, Snapshot, TimeOrigin, fits_int64
from .pasted import unmail
from .textio import TextSource

FORMAT_NAME = "slabinfo"

_VERSION_RE = re.compile(r"^\s*slabinfo\s*-\s*version:\s*(\d+)\.(\d+)(.*)$", re.IGNORECASE)
_HEADER_RE = re.compile(r"^\s*#\s*name\b(.*)$", re.IGNORECASE)
_SLABTOP_SUMMARY_RE = re.compile(r"^\s*Active\s*/\s*Total\s+(Objects|Slabs|Caches|Size)\b", re.IGNORECASE)
_SLABTOP_MINMAX_RE = re.compile(r"^\s*Minimum\s*/\s*Average\s*/\s*Maximum\s+Object", re.IGNORECASE)
_SLABTOP_HEADER_RE = re.compile(
    r"^\s*OBJS\s+ACTIVE\s+USE\s+OBJ\s*SIZE\s+SLABS\s+OBJ/SLAB\s+CACHE\s*SIZE\s+NAME\s*$", re.IGNORECASE
)
_SLABTOP_ROW_RE = re.compile(
    r"^\s*(?P<objs>\d+)\s+(?P<active>\d+)\s+(?P<use>\d+)%\s+(?P<objsize>\d+(?:\.\d+)?)K"
    r"\s+(?P<slabs>\d+)\s+(?P<perslab>\d+)\s+(?P<cachesize>\d+)K\s+(?P<name>\S.*?)\s*$"
)
_MEMINFO_RE = re.compile(r"^\s*(?P<key>[A-Za-z_][\w()]*):\s+(?P<value>\d+)(?:\s*(?P<unit>kB))?\s*$")
#: meminfo key -> snapshot totals key (KB).  Slab memory is all "nonpaged" in the model.
_MEMINFO_TOTALS = {
    "Slab": "nonpaged_kb",
    "SUnreclaim": "slab_unreclaimable_kb",
    "SReclaimable": "slab_reclaimable_kb",
    "MemTotal": "memory_kb",
    "MemAvailable": "avail_kb",
    "Committed_AS": "commit_kb",
    "CommitLimit": "commit_limit_kb",
}
_ISO_RE = re.compile(
    r"^\s*(?:[#=>\-\s]*)(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)(?:[\s=<\-]*)$"
)
_DATE_RE = re.compile(
    r"^\s*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})"
    r"\s+(?:([A-Z]{2,5})\s+)?(\d{4})\s*$"
)
#: Anything that may be a header, summary, meminfo or time-marker line rather than a cache row.
_SPECIAL_RE = re.compile(
    r"\s*(?:slabinfo|#|Active|Minimum|OBJS|[A-Za-z_][\w()]*:\s|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s"
    r"|[#=>\-\s]*\d{4}-\d\d-\d\d)",
    re.IGNORECASE,
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


# -- layouts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Column names of a slabinfo row: the numbers before the first colon, then labelled sections."""

    lead: tuple[str, ...]
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()


LAYOUT_2X = Layout(
    ("active_objs", "num_objs", "objsize", "objperslab", "pagesperslab"),
    (
        ("tunables", ("limit", "batchcount", "sharedfactor")),
        ("slabdata", ("active_slabs", "num_slabs", "sharedavail")),
    ),
)

_LAYOUT_11_BASE = ("active_objs", "num_objs", "objsize", "active_slabs", "num_slabs", "pagesperslab")
_LAYOUT_11_STATS = ("high_water", "allocs", "grown", "reaped", "errors")


def layout_for_version(major: int, minor: int, flags: str) -> Layout:
    """The layout a version line implies (used when no ``# name`` header follows)."""
    if major >= 2:
        return LAYOUT_2X
    flags = flags.lower()
    lead = _LAYOUT_11_BASE + (_LAYOUT_11_STATS if "statistics" in flags else ())
    sections: list[tuple[str, tuple[str, ...]]] = []
    if "smp" in flags:
        sections.append(("", ("limit", "batchcount")))
        if "statistics" in flags:
            sections.append(("", ("allochit", "allocmiss", "freehit", "freemiss")))
    return Layout(lead, tuple(sections))


_NAME_TOKEN_RE = re.compile(r"<\s*([A-Za-z_][\w]*)")


def layout_from_header(text: str) -> Layout | None:
    """Read ``<name>`` tokens per colon-separated section; tolerates ``<limit <sharedfactor>``-style typos."""
    parts = text.split(":")
    lead = tuple(_NAME_TOKEN_RE.findall(parts[0]))
    if not lead:
        return None
    sections = []
    for part in parts[1:]:
        label_match = re.match(r"\s*([A-Za-z_]\w*)", part)
        label = label_match.group(1) if label_match else ""
        sections.append((label, tuple(_NAME_TOKEN_RE.findall(part))))
    return Layout(lead, tuple(sections))


# -- one row: grammar and fast path -------------------------------------------------------

Split = tuple[str, tuple[int, ...], tuple[tuple[str, tuple[int, ...]], ...]]
_LABEL_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@functools.cache
def row_grammar() -> pp.ParserElement:
    """``NAME N N ... [: [label] N N ...]...``; the name is everything before the first run of numbers."""
    integer = pp.Word(pp.nums).set_parse_action(lambda t: int(t[0]))
    name = pp.Regex(r"[^:\s](?:[^:]*?[^:\s])??(?=(?:[ \t]+\d+)+[ \t]*(?::|$))")
    label = pp.Word(pp.alphas, pp.alphanums + "_")
    section = pp.Group(
        pp.Suppress(":") + pp.Optional(label, default="")("label") + pp.Group(pp.OneOrMore(integer))("values")
    )
    return (
        name("name")
        + pp.Group(pp.OneOrMore(integer))("lead")
        + pp.Group(pp.ZeroOrMore(section))("sections")
        + pp.StringEnd()
    )


def split_row_grammar(line: str) -> Split | None:
    """Split a slabinfo row with the pyparsing grammar; None when it is not a row."""
    try:
        res = row_grammar().parse_string(line.strip(), parse_all=True)
    except pp.ParseException:
        return None
    sections = tuple((str(s["label"]), tuple(int(v) for v in s["values"])) for s in res["sections"])
    return " ".join(str(res["name"]).split()), tuple(int(v) for v in res["lead"]), sections


def split_row_fast(line: str) -> Split | None:
    """The same split as :func:`split_row_grammar` with ``str`` methods (about 25 times faster)."""
    if not line.isascii():
        return split_row_grammar(line)  # non-ASCII digits and spaces: let the grammar decide
    parts = line.split(":")
    head = parts[0].split()
    n = len(head)
    if n < 2 or not head[-1].isdigit():
        return None
    i = n - 1
    while i > 0 and head[i - 1].isdigit():
        i -= 1
    if i == 0:
        i = 1
    sections = []
    for part in parts[1:]:
        toks = part.split()
        label = ""
        if toks and not toks[0].isdigit():
            if not _LABEL_RE.fullmatch(toks[0]):
                return None
            label, toks = toks[0], toks[1:]
        if not toks or not "".join(toks).isdigit():
            return None
        sections.append((label, tuple(map(int, toks))))
    return " ".join(head[:i]), tuple(map(int, head[i:])), tuple(sections)


# -- fitting a split row to a layout --------------------------------------------------------


class RowMismatch(ValueError):
    """A row's numbers do not fit the layout and no repair is unambiguous."""


def _fields(lead: tuple[int, ...], sections: tuple[tuple[str, tuple[int, ...]], ...],
            layout: Layout) -> dict[str, int]:
    out = dict(zip(layout.lead, lead, strict=False))
    for i, (label, values) in enumerate(sections):
        names: tuple[str, ...] = ()
        for lab, nms in layout.sections:
            if label and lab == label:
                names = nms
                break
        else:
            if i < len(layout.sections):
                names = layout.sections[i][1]
        for n, v in zip(names, values, strict=False):
            out.setdefault(n, v)
    return out


def _consistent(f: dict[str, int]) -> bool:
    """The identities a slabinfo row obeys, used to split numbers that touch."""
    active, total, size = f.get("active_objs"), f.get("num_objs"), f.get("objsize")
    if active is None or total is None or not size:
        return False
    if active > total:
        return False
    per, slabs = f.get("objperslab"), f.get("num_slabs")
    if per and slabs is not None and total != per * slabs:
        return False
    a_slabs = f.get("active_slabs")
    return not (a_slabs is not None and slabs is not None and a_slabs > slabs)


def fit_row(split: Split, layout: Layout) -> tuple[str, dict[str, int], str | None]:
    """Map a split row onto the layout's names; returns (name, fields, repair note or None)."""
    name, lead, sections = split
    want = len(layout.lead)
    if len(lead) > want:
        # A cache name ending in a number word: the surplus leading numbers are part of the name.
        extra = len(lead) - want
        name = " ".join([name, *map(str, lead[:extra])])
        lead = lead[extra:]
    if len(lead) == want:
        return name, _fields(lead, sections, layout), None
    if len(lead) == want - 1:
        candidates: list[tuple[str, tuple[int, ...]]] = []
        tokens = [str(v) for v in lead]
        for i, tok in enumerate(tokens):
            for cut in range(1, len(tok)):
                if tok[cut] == "0" and cut < len(tok) - 1:
                    continue  # printf never writes a leading zero
                new = [*tokens[:i], tok[:cut], tok[cut:], *tokens[i + 1 :]]
                candidates.append((name, tuple(int(t) for t in new)))
        m = re.search(r"(\d+)$", name)
        if m and m.start() > 0:
            digits = m.group(1)
            for cut in range(len(digits)):
                if digits[cut] == "0" and cut < len(digits) - 1:
                    continue
                candidates.append((name[: m.start()] + digits[:cut], (int(digits[cut:]), *lead)))
        good = [(n, ld) for n, ld in candidates if _consistent(_fields(ld, sections, layout))]
        if len(good) == 1:
            n, ld = good[0]
            return n, _fields(ld, sections, layout), "numbers ran together; split where the counts add up"
        raise RowMismatch(f"{len(lead)} numbers before ':' where the header names {want}; cannot split them safely")
    raise RowMismatch(f"{len(lead)} numbers before ':' where the header names {want}")


# -- frames ---------------------------------------------------------------------------------


@dataclass
class _Frame:
    line: int
    kind: str  # "slabinfo" or "slabtop"
    layout: Layout = LAYOUT_2X
    version: str | None = None
    names: list[str] = field(default_factory=list)
    active: list[int] = field(default_factory=list)
    nbytes: list[int] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    timestamp: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _marker_time(line: str) -> datetime | None:
    m = _ISO_RE.match(line)
    if m:
        text = m.group(1).replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = text[:-2] + ":" + text[-2:]
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    m = _DATE_RE.match(line)
    if m and m.group(1) in _MONTHS:
        mon, day, hh, mm, ss, zone, year = m.groups()
        try:
            stamp = datetime(int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss))
        except ValueError:
            return None
        return stamp.replace(tzinfo=timezone.utc) if zone in ("UTC", "GMT") else stamp
    return None


def parse_text(source: TextSource, diag: Diagnostics) -> list[Snapshot]:
    """All slabinfo / slabtop frames in one text, with meminfo totals and time markers attached."""
    frames: list[_Frame] = []
    frame: _Frame | None = None
    pending_totals: dict[str, int] = {}
    pending_time: datetime | None = None
    in_rows = False
    # Slab data sent by mail: quoting and quoted-printable undone first, line numbers kept.
    undone = unmail(source.text)
    lines, numbers = undone.lines, undone.numbers
    position = 0

    def start(kind: str, lineno: int) -> _Frame:
        nonlocal pending_totals, pending_time
        new = _Frame(line=lineno, kind=kind)
        new.totals = dict(pending_totals)
        new.timestamp = pending_time
        pending_totals, pending_time = {}, None
        frames.append(new)
        return new

    while position < len(lines):
        line = lines[position].rstrip()
        lineno = numbers[position]
        position += 1
        if not line.strip():
            continue
        if in_rows and frame is not None and _ELISION_RE.match(line):
            frame.extra["partial"] = True
            diag.note(source.name, lineno, f"elision {line.strip()!r}: cache rows were cut out here; "
                      "this snapshot is partial", strict=False)
            continue
        if in_rows and frame is not None and frame.kind == "slabinfo" and not _SPECIAL_RE.match(line):
            # The common case, a cache row: skip the chain of header / meminfo / marker checks.
            line, position = _join_wrapped(line, lines, position, frame, diag, source.name, lineno)
            _slabinfo_row(line, lineno, frame, source, diag)
            continue
        m = _VERSION_RE.match(line)
        if m:
            frame = start("slabinfo", lineno)
            frame.version = f"{m.group(1)}.{m.group(2)}"
            frame.layout = layout_for_version(int(m.group(1)), int(m.group(2)), m.group(3))
            in_rows = True
            continue
        m = _HEADER_RE.match(line)
        if m and frame is not None and frame.kind == "slabinfo":
            header = m.group(1)
            # A mailer may have wrapped the long header: its tail starts with "<", ":" or a section word.
            while position < len(lines) and re.match(r"^\s*(?:<|:|(?:tunables|slabdata)\b)", lines[position]):
                header += " " + lines[position].strip()
                position += 1
            layout = layout_from_header(header)
            if layout is None or "active_objs" not in layout.lead or "objsize" not in layout.lead:
                diag.note(source.name, lineno, "slabinfo header names no <active_objs>/<objsize>; "
                          "reading columns in the 2.1 order", strict=False)
            else:
                frame.layout = layout
            continue
        if _SLABTOP_SUMMARY_RE.match(line) or _SLABTOP_MINMAX_RE.match(line):
            if frame is None or frame.kind != "slabtop" or frame.names:
                frame = start("slabtop", lineno)
                in_rows = False
            _slabtop_summary(line, frame)
            continue
        if _SLABTOP_HEADER_RE.match(line):
            if frame is None or frame.kind != "slabtop" or frame.names:
                frame = start("slabtop", lineno)
            in_rows = True
            continue
        m = _MEMINFO_RE.match(line)
        if m:
            key = _MEMINFO_TOTALS.get(m.group("key"))
            if key is not None:
                # meminfo read after a frame belongs to it; a second reading starts the next frame's.
                if frame is not None and key not in frame.totals:
                    frame.totals[key] = int(m.group("value"))
                else:
                    pending_totals[key] = int(m.group("value"))
            in_rows = False
            continue
        stamp = _marker_time(line)
        if stamp is not None:
            if frame is not None and frame.timestamp is None and not frame.names:
                frame.timestamp = stamp
            else:
                pending_time = stamp
            in_rows = False
            continue
        if frame is None or not in_rows:
            if _numeric(line) and frame is not None:
                diag.skip(source.name, lineno, "not a slabinfo row", line.strip())
            continue
        if frame.kind == "slabtop" and not _numeric(line):
            in_rows = False  # prose after the table (mail text, a caption): the screen has ended
            continue
        if frame.kind == "slabtop":
            if not _SLABTOP_ROW_RE.match(line) and position < len(lines):
                # A mailer wrapped the row before its cache name (or inside the numbers).
                joined = line + " " + lines[position].strip()
                if _SLABTOP_ROW_RE.match(joined):
                    line, position = joined, position + 1
                    _note_wrap(frame, diag, source.name, lineno)
            _slabtop_row(line, lineno, frame, source, diag)
        else:
            line, position = _join_wrapped(line, lines, position, frame, diag, source.name, lineno)
            _slabinfo_row(line, lineno, frame, source, diag)

    if not frames:
        raise InputError(source.name, "no slabinfo or slabtop output found (expected 'slabinfo - version:')")
    if not any(f.names for f in frames) and not any(f.totals for f in frames):
        first = next((w for w in diag.skipped if w.source == source.name), None)
        where = f"; first unreadable line {first.line}: {first.message}" if first else ""
        raise InputError(source.name, f"slab output with no cache row that could be read{where}")
    return [_snapshot(f, i, source, diag) for i, f in enumerate(frames)]


_ELISION_RE = re.compile(r"^\s*(?:\.{3,}|…|\[\s*(?:snip|\.\.\.|…)\s*\]|<\s*snip\s*>)\s*$", re.IGNORECASE)
_CONTINUES_RE = re.compile(r"^\s*(?:\d|:|(?:tunables|slabdata|globalstat|cpustat)\b)")


def _numeric(line: str) -> bool:
    """A line with three or more numbers: data, not prose, when it cannot be read."""
    return sum(tok.rstrip("%K").replace(".", "", 1).isdigit() for tok in line.split()) >= 3


def _row_complete(line: str, layout: Layout) -> bool:
    """Whether a slabinfo row carries every number its layout names (a mailer may have cut it)."""
    split = split_row_fast(line)
    if split is None:
        return False
    _, lead, sections = split
    if len(lead) < len(layout.lead):
        return False
    if len(sections) < len(layout.sections):
        return False
    return all(len(values) >= len(names) for (_, values), (_, names) in zip(sections, layout.sections,
                                                                            strict=False))


def _join_wrapped(line: str, lines: list[str], position: int, frame: _Frame, diag: Diagnostics,
                  source: str, lineno: int) -> tuple[str, int]:
    """Join the continuation lines a mailer's hard wrap split off this row; returns (row, next position)."""
    layout = frame.layout
    joined = line
    pos = position
    for _ in range(3):
        if _row_complete(joined, layout) or pos >= len(lines) or not _CONTINUES_RE.match(lines[pos]):
            break
        joined = joined.rstrip() + " " + lines[pos].strip()
        pos += 1
    if pos == position or not _row_complete(joined, layout):
        return line, position
    _note_wrap(frame, diag, source, lineno)
    return joined, pos


def _note_wrap(frame: _Frame, diag: Diagnostics, source: str, lineno: int) -> None:
    if not frame.extra.get("_wrapped"):
        frame.extra["_wrapped"] = True
        diag.note(source, lineno, "rows wrapped onto the next line (mail) were joined back", strict=False)


def _slabinfo_row(line: str, lineno: int, frame: _Frame, source: TextSource, diag: Diagnostics) -> None:
    split = split_row_fast(line)
    if split is None:
        split = split_row_grammar(line)
    if split is None:
        if any(ch.isdigit() for ch in line):
            diag.skip(source.name, lineno, "not a slabinfo row", line.strip())
        return
    try:
        name, fields, repair = fit_row(split, frame.layout)
    except RowMismatch as exc:
        diag.skip(source.name, lineno, str(exc), line.strip())
        return
    active, size = fields.get("active_objs"), fields.get("objsize")
    if active is None or size is None:
        diag.skip(source.name, lineno, "row has no active object count or object size", line.strip())
        return
    if not fits_int64((active, active * size)):
        diag.skip(source.name, lineno, OUT_OF_RANGE, line.strip())
        return
    if repair:
        diag.note(source.name, lineno, f"cache {name!r}: {repair}")
    _add(frame, name, active, active * size)


def _slabtop_summary(line: str, frame: _Frame) -> None:
    m = re.search(r":\s*([\d.]+)K?\s*/\s*([\d.]+)K?", line)
    if m:
        key = re.sub(r"\W+", "_", line.split(":", 1)[0].strip().lower()).strip("_")
        frame.extra[key] = (m.group(1), m.group(2))


def _slabtop_row(line: str, lineno: int, frame: _Frame, source: TextSource, diag: Diagnostics) -> None:
    m = _SLABTOP_ROW_RE.match(line)
    if not m:
        diag.skip(source.name, lineno, "not a slabtop row", line.strip())
        return
    active = int(m.group("active"))
    # slabtop rounds the object size to 1/100 KB: bytes are as exact as slabtop lets them be.
    size = round(float(m.group("objsize")) * 1024)
    if not fits_int64((active, active * size)):
        diag.skip(source.name, lineno, OUT_OF_RANGE, line.strip())
        return
    _add(frame, m.group("name"), active, active * size)


def _add(frame: _Frame, name: str, active: int, nbytes: int) -> None:
    frame.names.append(name)
    frame.active.append(active)
    frame.nbytes.append(nbytes)


def _snapshot(frame: _Frame, index: int, source: TextSource, diag: Diagnostics) -> Snapshot:
    names, active, nbytes = frame.names, frame.active, frame.nbytes
    seen: dict[str, int] = {}
    dup = 0
    merged_names: list[str] = []
    merged_active: list[int] = []
    merged_bytes: list[int] = []
    for n, a, b in zip(names, active, nbytes, strict=True):
        j = seen.get(n)
        if j is None:
            seen[n] = len(merged_names)
            merged_names.append(n)
            merged_active.append(a)
            merged_bytes.append(b)
        else:
            dup += 1
            merged_active[j] += a
            merged_bytes[j] += b
    if dup:
        diag.note(source.name, frame.line, f"{dup} cache names appear twice; their counts were added up")
        for j in reversed(range(len(merged_names))):
            if not fits_int64((merged_active[j], merged_bytes[j])):
                diag.note(source.name, frame.line, f"cache {merged_names[j]!r}: {OUT_OF_RANGE}")
                del merged_names[j], merged_active[j], merged_bytes[j]
    if not merged_names:
        diag.note(source.name, frame.line, f"{frame.kind} output with no cache rows", strict=False)
    rows = RowTable.from_columns(
        merged_names, [NONPAGED] * len(merged_names), outstanding=merged_active, bytes=merged_bytes
    )
    extra: dict[str, Any] = {"tool": frame.kind}
    if frame.version:
        extra["slabinfo_version"] = frame.version
    if frame.extra:
        extra.update({k: v for k, v in frame.extra.items() if not k.startswith("_")})
    return Snapshot(
        source=source.name,
        index=index,
        format=FORMAT_NAME,
        rows=rows,
        timestamp=frame.timestamp,
        time_origin=TimeOrigin.MARKER if frame.timestamp else TimeOrigin.UNKNOWN,
        scope="system",
        totals=dict(frame.totals),
        line=frame.line,
        extra=extra | ({"mtime": source.mtime} if source.mtime else {}),
    )


def sniff(head: str) -> float:
    # Mail quoting (``> ``) may stand before any of these lines.
    if _VERSION_RE.search(head) or re.search(r"(?mi)^[\s>]*slabinfo\s*-\s*version:", head):
        return 0.95
    if re.search(r"(?m)^[\s>]*OBJS\s+ACTIVE\s+USE\s+OBJ\s*SIZE\s+SLABS", head):
        return 0.9
    if re.search(r"(?m)^[\s>]*Active\s*/\s*Total\s+Objects\s*\(% used\)", head):
        return 0.8
    return 0.0


def parse(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    return parse_text(source, diag)


def parse_live(slabinfo: str, meminfo: str = "", name: str = "/proc/slabinfo") -> tuple[list[Snapshot], Diagnostics]:
    """Parse freshly read ``/proc`` text (the Linux capture backend's entry point)."""
    diag = Diagnostics()
    text = slabinfo if not meminfo else slabinfo.rstrip("\n") + "\n" + meminfo
    return parse_text(TextSource(name, text, "utf-8"), diag), diag


FORMAT = InputFormat(
    name=FORMAT_NAME,
    description="Linux /proc/slabinfo (1.1, 2.0, 2.1, vendor columns) or slabtop -o output; caches as tags",
    sniff=sniff,
    parse=parse,
)

__all__ = [
    "FORMAT",
    "LAYOUT_2X",
    "Layout",
    "fit_row",
    "layout_for_version",
    "layout_from_header",
    "parse_live",
    "row_grammar",
    "split_row_fast",
    "split_row_grammar",
]
