"""WinDbg ``!poolused`` output: every flag combination, modern and legacy layouts, pasted copies.

One ``!poolused`` table row carries both pools, so it becomes two normalized rows
(nonpaged, paged).  In non-verbose output "Allocs" counts *outstanding* allocations,
so ``outstanding`` and ``bytes`` are set and the cumulative allocs/frees stay unknown;
verbose output (flag 1) has all four per pool.  The description column
(``text , Binary: module`` or ``UNKNOWN pooltag ...``) is owner evidence and is kept
in ``Snapshot.extra["descriptions"]`` / ``extra["binaries"]``.

Rows are read by slicing the fixed columns the header line lays out (the only way
to separate a legacy description glued onto the last number when it starts with a
digit), then by a regex for pasted copies whose spaces were collapsed.  The
pyparsing grammar in :func:`row_grammar` is the reference both are tested against.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pyparsing as pp

from .debugger.common import PROMPT_RE, session_time, unquote
from .errors import Diagnostics, ParseError
from .formats import InputFormat, ParseOptions
from .model import NONPAGED, OUT_OF_RANGE, PAGED, RowTable, Snapshot, TimeOrigin, fits_int64
from .textio import TextSource

FORMAT_NAME = "poolused"

FLAG_VERBOSE = 1
FLAG_SORT_NONPAGED = 2
FLAG_SORT_PAGED = 4
FLAG_SESSION = 8

#: The two column layouts: Allocs Used per pool, or (flag 1) Allocs Frees Diff Used per pool.
_LAYOUTS = (("Allocs", "Used") * 2, ("Allocs", "Frees", "Diff", "Used") * 2)
_HEADER_RE = re.compile(r"^(?P<lead>[ \t>]*)Tag(?P<cols>(?:[ \t]+(?:Allocs|Frees|Diff|Used)){4,8})[ \t]*$")
_POOLS_LINE_RE = re.compile(r"^\s*NonPaged\s+Paged\s*$", re.IGNORECASE)
_TOTAL_RE = re.compile(r"^\s*TOTAL\s*(?P<nums>\d+(?:\s+\d+){3,7})\s*$")
_SORT_RE = re.compile(r"^\s*Sorting\s+by\s+(?P<key>.+?)\s*$")
_SESSION_RE = re.compile(r"^\s*(?:Session\s*(?:Id)?\s*[:=]?\s*(?P<id>\d+)\b|(?P<all>All\s+sessions)\b)", re.I)
_BINARY_RE = re.compile(r"^(?P<text>.*?)\s*,?\s*Binary\s*:\s*(?P<binary>\S+)\s*$")
_UNKNOWN_RE = re.compile(r"UNKNOWN pooltag", re.IGNORECASE)
#: Where a person cut rows out of a pasted table: `` ...``, ``...``, ``[snip]``, ``[...]``, ``<snip>``.
ELISION_RE = re.compile(r"^[ \t>]*(?:\.{3,5}|…|\[\s*(?:snip|\.\.\.|…)\s*\]|<\s*snip\s*>)[ \t]*$", re.IGNORECASE)
#: ``!session -s N`` makes session N current for the session-pool commands that follow.
SESSION_COMMAND_RE = re.compile(r"^\s*!session\s+-s\s+(?:0x)?(?P<id>[0-9a-fA-F]+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PoolusedCommand:
    """The arguments of one ``!poolused`` command line."""

    text: str = "!poolused"
    flags: int = 0
    tag_filter: str | None = None
    top: int | None = None

    @property
    def verbose(self) -> bool:
        return bool(self.flags & FLAG_VERBOSE)

    @property
    def session(self) -> bool:
        return bool(self.flags & FLAG_SESSION)

    @property
    def complete(self) -> bool:
        """Whether the table lists every tag (its TOTAL is then the pool total)."""
        return self.tag_filter is None and self.top is None


def parse_command(text: str) -> PoolusedCommand | None:
    """``!poolused [/t N] [flags [tag]]`` -> its arguments; None when ``text`` is not a ``!poolused``."""
    m = re.match(r"^\s*!(?:\w+\.)?poolused\b(?P<args>.*)$", text, re.IGNORECASE)
    if not m:
        return None
    tokens = m.group("args").split()
    flags = 0
    tag = None
    top = None
    positional = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.lower() == "/t" and i + 1 < len(tokens) and tokens[i + 1].isdigit():
            top = int(tokens[i + 1])
            i += 2
            continue
        if tok.lower().startswith("/t") and tok[2:].isdigit():
            top = int(tok[2:])
        elif positional == 0 and re.fullmatch(r"(?:0x)?[0-9a-fA-F]+", tok) and len(tok) <= 4:
            # The debugger's default radix is 16; single-digit flags read the same either way.
            flags = int(tok, 16)
            positional = 1
        else:
            tag = tok.strip('"')
            positional = 2
        i += 1
    return PoolusedCommand(text=text.strip(), flags=flags, tag_filter=tag, top=top)


@dataclass(frozen=True)
class PoolusedRow:
    """One ``!poolused`` table row as printed: both pools' numbers side by side."""

    tag: str
    numbers: tuple[int, ...]  # 4 (Allocs Used, NonPaged then Paged) or 8 (Allocs Frees Diff Used x2)
    description: str | None = None


@dataclass(frozen=True)
class Layout:
    """Where the columns of one table sit, learned from its header line."""

    tag_at: int
    ends: tuple[int, ...]

    @property
    def width(self) -> int:
        return len(self.ends)


def header_layout(line: str) -> Layout | None:
    """The column layout of a ``Tag  Allocs  Used ...`` header line, or None."""
    m = _HEADER_RE.match(line)
    if not m:
        return None
    tag_at = m.start("cols") - 3
    words = list(re.finditer(r"\w+", m.group("cols")))
    if tuple(w.group() for w in words) not in _LAYOUTS:
        return None  # e.g. a single-pool header of very old builds: not a layout read here
    ends = tuple(w.end() + m.start("cols") for w in words)
    return Layout(tag_at=tag_at, ends=ends)


def _pad_tag(tag: str) -> str:
    return tag[:4].ljust(4)


def _clean_description(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


# -- the reference grammar ---------------------------------------------------------------------
@functools.cache
def row_grammar(width: int) -> pp.ParserElement:
    """Reference grammar of one table row with ``width`` numbers (4, or 8 for verbose output)."""
    tag4 = pp.Regex(r"[^\s][^\t\n]{3}(?=[ \t])")
    short = pp.Regex(r"[^\s]{1,3}(?=[ \t])")
    tag = (tag4 | short)("tag").leave_whitespace()
    lead = pp.Opt(pp.Regex(r"[ >]?")).leave_whitespace().suppress()
    number = pp.Word(pp.nums).set_parse_action(lambda t: int(t[0]))
    numbers = pp.Group(number * width)("numbers")
    description = pp.Opt(pp.Regex(r"[^\n]+")("description"))
    return (pp.LineStart() + lead + tag + numbers + description + pp.StringEnd()).set_name("!poolused row")


def parse_row_grammar(line: str, width: int) -> PoolusedRow | None:
    """Read a row with the reference grammar (slow, exact on aligned rows)."""
    try:
        res = row_grammar(width).parse_string(line, parse_all=True)
    except pp.ParseBaseException:
        return None
    desc = res.get("description")
    return PoolusedRow(_pad_tag(res["tag"]), tuple(res["numbers"]), _clean_description(desc))


# -- the fast path -----------------------------------------------------------------------------
def _row_fixed(line: str, layout: Layout) -> PoolusedRow | None:
    """Slice the header's columns; right-aligned numbers must end exactly at each header word's end."""
    ends = layout.ends
    if len(line) < ends[-1]:
        return None
    t = layout.tag_at
    tag = line[t : t + 4]
    if not tag or tag[0].isspace() or (t and line[:t].strip(" >")):
        return None
    start = t + 4
    last = len(ends) - 1
    numbers = []
    for i, end in enumerate(ends):
        cell = line[start:end]
        digits = cell.lstrip(" ")
        if not digits.isdigit() or (i == 0 and len(digits) == len(cell)):
            return None
        if i < last and line[end] != " " and line[end] != "\t":
            return None  # this number overflowed into the next column: the layout does not hold
        numbers.append(int(digits))
        start = end
    desc = line[start:].strip()
    return PoolusedRow(_pad_tag(tag), tuple(numbers), desc or None)


_ROW_TAIL = {w: re.compile(rf"[ \t]+(?P<nums>\d+(?:[ \t]+\d+){{{w - 1}}})(?P<rest>.*)$") for w in (4, 8)}
_TAG_CANDIDATES = re.compile(r"^[ >]?(?=\S)")


def _row_regex(line: str, width: int) -> PoolusedRow | None:
    """Rows whose alignment is lost (pasted, spaces collapsed): try each plausible tag length.

    A tag may hold spaces (``Dh 2``), so the short tag is tried first and the longer
    one only when the short reading leaves a number over or breaks Diff = Allocs - Frees.
    """
    m = _TAG_CANDIDATES.match(line)
    if not m:
        return None
    body = line[m.end() :]
    first = body.split(None, 1)[0] if body.strip() else ""
    candidates = []
    if 0 < len(first) <= 4:
        candidates.append(len(first))
    for n in (4, 3):
        if n not in candidates and len(body) > n and not body[n - 1].isspace() and " " in body[:n]:
            candidates.append(n)
    fallback = None
    for n in candidates:
        tail = _ROW_TAIL[width].match(body, n)
        if not tail:
            continue
        numbers = tuple(int(x) for x in tail.group("nums").split())
        rest = tail.group("rest")
        row = PoolusedRow(_pad_tag(body[:n]), numbers, _clean_description(rest))
        clean = not rest.strip()[:1].isdigit()
        if width == 8:
            clean = clean and numbers[0] - numbers[1] == numbers[2] and numbers[4] - numbers[5] == numbers[6]
        if clean:
            return row
        fallback = fallback or row
    return fallback


def read_row(line: str, width: int, layout: Layout | None = None) -> PoolusedRow | None:
    """One table row: fixed columns when the header's layout holds, else the regex."""
    if layout is not None and layout.width == width:
        row = _row_fixed(line, layout)
        if row is not None:
            return row
    return _row_regex(line, width)


def split_description(text: str | None) -> tuple[str | None, str | None]:
    """``Some subsystem , Binary: nt!xyz`` -> ("Some subsystem", "nt!xyz"); UNKNOWN -> (None, None)."""
    if not text or _UNKNOWN_RE.search(text):
        return None, None
    m = _BINARY_RE.match(text)
    if m:
        return (m.group("text").strip(" ,") or None), m.group("binary")
    return text, None


# -- tables ------------------------------------------------------------------------------------
@dataclass
class _Table:
    line: int
    command: PoolusedCommand
    layout: Layout | None = None
    width: int = 4
    sort: str | None = None
    scope: str | None = None
    rows: list[PoolusedRow] = field(default_factory=list)
    session_hint: str | None = None
    total: tuple[int, ...] | None = None
    pool_used_title: bool = False
    wrapped: bool = False
    elided: bool = False


def _scope_for(command: PoolusedCommand, seen: str | None, hint: str | None) -> str:
    if seen:
        return seen
    if command.session:
        return hint or "all-sessions"
    return "system"


def read_tables(
    lines: Sequence[str],
    first_line: int,
    source: str,
    diag: Diagnostics,
    command: PoolusedCommand | None = None,
    session_hint: str | None = None,
) -> list[_Table]:
    """The ``!poolused`` tables in ``lines`` (one command's output, or a file of them)."""
    tables: list[_Table] = []
    cmd = command or PoolusedCommand()
    pending_sort: str | None = None
    pending_scope: str | None = None
    pending_title = False
    cur: _Table | None = None
    commanded = command is not None
    for offset, raw in enumerate(lines):
        lineno = first_line + offset
        line = raw.rstrip("\n")
        stripped = line.strip()
        if not stripped:
            continue
        if cur is not None:
            # Inside a table nearly every line is a row: try that first.
            row = read_row(line, cur.width, cur.layout)
            if row is not None:
                if not fits_int64(row.numbers):
                    diag.skip(source, lineno, OUT_OF_RANGE, line)
                else:
                    cur.rows.append(row)
                continue
        pm = PROMPT_RE.match(line)
        if pm:
            parsed = parse_command(pm.group("command"))
            if parsed is not None:
                cmd = parsed
                commanded = True
                cur = None
            sm = SESSION_COMMAND_RE.match(pm.group("command"))
            if sm:
                session_hint = f"session:{int(sm.group('id'), 16)}"
            continue
        layout = header_layout(line)
        if layout is not None:
            cur = _Table(
                lineno, cmd, layout, layout.width, pending_sort, pending_scope,
                pool_used_title=pending_title, session_hint=session_hint,
            )
            tables.append(cur)
            pending_sort = pending_scope = None
            pending_title = False
            continue
        m = _SORT_RE.match(line)
        if m:
            pending_sort = " ".join(m.group("key").split())
            if cur is not None and cur.rows:
                cur = None
            continue
        m = _SESSION_RE.match(line)
        if m and not _TOTAL_RE.match(line):
            pending_scope = f"session:{int(m.group('id'))}" if m.group("id") else "all-sessions"
            if cur is not None and cur.rows:
                cur = None
            continue
        if stripped.rstrip(":").lower() == "pool used":
            pending_title = True
            continue
        if _POOLS_LINE_RE.match(line):
            continue
        m = _TOTAL_RE.match(line)
        if m:
            nums = tuple(int(x) for x in m.group("nums").split())
            if not fits_int64(nums):
                diag.skip(source, lineno, OUT_OF_RANGE, line)
                cur = None
                continue
            if cur is None:
                diag.skip(source, lineno, "TOTAL row without a !poolused table above it", line)
                continue
            if len(nums) != cur.width:
                diag.skip(source, lineno, f"TOTAL row has {len(nums)} numbers, the table {cur.width}", line)
            else:
                cur.total = nums
            cur = None
            continue
        if cur is None:
            # Rows pasted without their header: accept them after a !poolused command or sort line.
            if (commanded or pending_sort is not None) and (
                row := read_row(line, 8 if cmd.verbose else 4)
            ):
                cur = _Table(
                    lineno, cmd, None, 8 if cmd.verbose else 4, pending_sort, pending_scope,
                    session_hint=session_hint,
                )
                tables.append(cur)
                pending_sort = pending_scope = None
                diag.note(source, lineno, "!poolused rows without a column header; columns assumed", strict=False)
                if fits_int64(row.numbers):
                    cur.rows.append(row)
                else:
                    diag.skip(source, lineno, OUT_OF_RANGE, line)
            continue  # noise before the table: progress dots, cache messages
        if ELISION_RE.match(line):
            # Not a wrapped description: rows were cut out here, so the table is not the whole pool.
            cur.elided = True
            diag.note(source, lineno, f"elision {stripped!r} in the !poolused table: rows were cut out; "
                      "the table is partial", strict=False)
            continue
        wrapped_above = offset > 0 and len(lines[offset - 1]) >= 60  # mail wraps at about 72 columns
        if cur.rows and cur.rows[-1].description and wrapped_above and _is_wrapped_text(line):
            # Mail wraps long lines: a line of words under a described row continues its description.
            last = cur.rows[-1]
            cur.rows[-1] = PoolusedRow(last.tag, last.numbers, f"{last.description} {stripped}")
            if not cur.wrapped:
                diag.note(source, lineno, "wrapped description line joined to the row above", strict=False)
                cur.wrapped = True
            continue
        diag.skip(source, lineno, "unreadable !poolused row", line)
    return tables


def _is_wrapped_text(line: str) -> bool:
    """Words with at most one number among them: prose, not a table row cut short."""
    words = line.split()
    return bool(words) and sum(w.isdigit() for w in words) <= 1 and not words[0].isdigit()


def table_snapshot(
    table: _Table,
    source: str,
    index: int,
    diag: Diagnostics,
    timestamp: datetime | None = None,
    session_hint: str | None = None,
) -> Snapshot:
    """Normalize one table: each printed row -> (tag, nonpaged) and (tag, paged)."""
    verbose = table.width == 8
    tags: list[str] = []
    pools: list[str] = []
    outstanding: list[int] = []
    used: list[int] = []
    allocs: list[int | None] = []
    frees: list[int | None] = []
    descriptions: dict[str, str] = {}
    binaries: dict[str, str] = {}
    seen: set[str] = set()
    for row in table.rows:
        if row.tag in seen:
            diag.note(source, table.line, f"tag {row.tag!r} listed twice in one table; first kept", strict=False)
            continue
        seen.add(row.tag)
        n = row.numbers
        halves = ((NONPAGED, n[:4]), (PAGED, n[4:])) if verbose else ((NONPAGED, n[:2]), (PAGED, n[2:]))
        for pool, part in halves:
            tags.append(row.tag)
            pools.append(pool)
            if verbose:
                allocs.append(part[0])
                frees.append(part[1])
                outstanding.append(part[2])
                used.append(part[3])
            else:
                outstanding.append(part[0])
                used.append(part[1])
        if row.description:
            descriptions[row.tag] = row.description
            _, binary = split_description(row.description)
            if binary:
                binaries[row.tag] = binary
    columns: dict[str, list[int | None] | list[int]] = {"outstanding": outstanding, "bytes": used}
    if verbose:
        columns["allocs"] = allocs
        columns["frees"] = frees
    rows = RowTable.from_columns(tags, pools, **columns)
    totals: dict[str, int] = {}
    extra: dict[str, object] = {
        "command": table.command.text,
        "flags": table.command.flags,
        "descriptions": descriptions,
        "binaries": binaries,
    }
    if table.sort:
        extra["sort"] = table.sort
    if not table.command.complete or table.elided:
        extra["partial"] = True  # filtered, top-N or cut: tags missing here are not gone from the pool
    if table.elided:
        extra["elided"] = True
    if table.command.tag_filter:
        extra["tag_filter"] = table.command.tag_filter
    if table.command.top is not None:
        extra["top"] = table.command.top
    if table.total is not None:
        t = table.total
        np_used, p_used = (t[3], t[7]) if verbose else (t[1], t[3])
        extra["table_total"] = {"nonpaged_bytes": np_used, "paged_bytes": p_used}
        if table.command.complete:
            totals["nonpaged_kb"] = np_used // 1024
            totals["paged_kb"] = p_used // 1024
            listed_np = sum(u for u, p in zip(used, pools, strict=True) if p == NONPAGED)
            listed_p = sum(u for u, p in zip(used, pools, strict=True) if p == PAGED)
            if (listed_np < np_used or listed_p < p_used) and not table.elided:
                diag.note(
                    source,
                    table.line,
                    f"rows add up to {listed_np + listed_p} bytes but TOTAL says {np_used + p_used}: "
                    "rows are missing from this table",
                    strict=False,
                )
    elif table.rows and table.command.complete:
        diag.note(source, table.line, "!poolused table has no TOTAL row: output may be cut off", strict=False)
    return Snapshot(
        source=source,
        index=index,
        format=FORMAT_NAME,
        rows=rows,
        timestamp=timestamp,
        time_origin=TimeOrigin.SOURCE if timestamp else TimeOrigin.UNKNOWN,
        scope=_scope_for(table.command, table.scope, table.session_hint or session_hint),
        totals=totals,
        line=table.line,
        extra=extra,
    )


def parse_lines(
    lines: Sequence[str],
    first_line: int,
    source: str,
    diag: Diagnostics,
    *,
    command: PoolusedCommand | None = None,
    index: int = 0,
    timestamp: datetime | None = None,
    session_hint: str | None = None,
) -> list[Snapshot]:
    """Snapshots from the lines of one ``!poolused`` output (or several pasted together)."""
    tables = read_tables(unquote(lines), first_line, source, diag, command, session_hint)
    return [
        table_snapshot(t, source, index + i, diag, timestamp, session_hint) for i, t in enumerate(tables)
    ]


def merge_views(snapshots: list[Snapshot]) -> list[Snapshot]:
    """Tables of one moment printed twice (``!poolused 2`` then ``!poolused 4``, a ``/t N`` view, a cut copy)
    become one snapshot holding every row either printed.

    Two neighbouring tables are views of one moment when they share a scope and a time, and
    every row they both list has the same numbers (a live session's next sample differs).
    """
    out: list[Snapshot] = []
    for snap in snapshots:
        prev = out[-1] if out else None
        if prev is not None and _same_moment(prev, snap):
            out[-1] = _union(prev, snap)
            continue
        out.append(snap)
    for i, snap in enumerate(out):
        snap.index = i
    return out


def _same_moment(a: Snapshot, b: Snapshot) -> bool:
    if a.scope != b.scope or a.timestamp != b.timestamp or a.format != b.format:
        return False
    common = [r.key for r in b.rows if a.rows.index_of(r.tag, r.pool) is not None]
    if not common or len(common) < min(len(a.rows), len(b.rows)) // 2:
        return False
    return all(a.rows.get(*k) == b.rows.get(*k) for k in common)


def _union(a: Snapshot, b: Snapshot) -> Snapshot:
    extra_rows = [r for r in b.rows if a.rows.index_of(r.tag, r.pool) is None]
    rows = RowTable.from_rows([*a.rows, *extra_rows]) if extra_rows else a.rows
    extra = dict(a.extra)
    extra.setdefault("also_printed_by", []).append(b.extra.get("command"))
    extra["descriptions"] = {**b.extra.get("descriptions", {}), **a.extra.get("descriptions", {})}
    extra["binaries"] = {**b.extra.get("binaries", {}), **a.extra.get("binaries", {})}
    if not (a.extra.get("partial") and b.extra.get("partial")):
        extra.pop("partial", None)  # one complete view: the union is complete
    totals = dict(a.totals) or dict(b.totals)
    if "table_total" not in extra and "table_total" in b.extra:
        extra["table_total"] = b.extra["table_total"]
    return Snapshot(source=a.source, index=a.index, format=a.format, rows=rows, timestamp=a.timestamp,
                    time_origin=a.time_origin, scope=a.scope, totals=totals, line=a.line, extra=extra)


def _parse(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    lines = source.text.split("\n")
    stamp = None
    for line in lines[:200]:
        stamp = session_time(line)
        if stamp:
            break
    try:
        snaps = parse_lines(lines, 1, source.name, diag, timestamp=stamp)
    except ParseError:
        raise
    except (ValueError, IndexError) as exc:  # a bug here must still surface as one line, not a traceback
        raise ParseError(source.name, f"cannot read !poolused output: {exc}") from exc
    if not snaps:
        raise ParseError(source.name, "no !poolused table found (expected a 'Tag  Allocs  Used' header)")
    merged = merge_views(snaps)
    if len(merged) < len(snaps):
        diag.note(source.name, None, f"{len(snaps)} !poolused tables are {len(merged)} moment(s): views of the "
                  "same moment (other sort orders, top-N, cut copies) were merged", strict=False)
    return merged


def sniff(head: str) -> float:
    has_header = any(header_layout(line) for line in head.split("\n")[:400])
    if not has_header:
        return 0.3 if "!poolused" in head.lower() else 0.0
    if "!poolused" in head.lower() or "Sorting by" in head:
        return 0.9
    return 0.8


FORMAT = InputFormat(
    name=FORMAT_NAME,
    description="WinDbg !poolused output (any flags, modern or legacy layout)",
    sniff=sniff,
    parse=_parse,
)
