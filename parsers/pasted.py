"""Undo what people's tools did to PoolMon text before it reached us.

Forum posts, mail, markdown and chat turn a screen into something close to it:
quoting (``> ``), quoted-printable leftovers (``=20``, soft breaks), code fences,
headings, indents and escapes, tabs, hard wraps at ~72 columns, prompt lines,
and sometimes a whole screen flattened onto one line.  :func:`clean` restores
lines a PoolMon reader understands and remembers which original line each came
from, so that warnings still point into the user's file.

What cannot be undone here is left to the row reader: collapsed spaces (the tag
is read up to the Type word and padded back to four characters) and numbers that
ran together (split again with PoolMon's identities).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from .poolmon_rows import read_row
from .timestamps import parse_marker

_TYPE = r"(?:Nonp|Paged)"
_QUOTE = re.compile(r"^[ ]{0,3}(?:>[ ]?)+")
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_HEADING = re.compile(r"^[ ]{0,3}#{1,6}[ ]+")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~=])")
_PROMPT = re.compile(r"^\s*(?:PS\s+)?(?:[A-Za-z]:\\[^<>|\n]*>|[A-Za-z]:>|[\w.-]+@[\w.-]+:[^$#\n]*[$#])(?:\s.*)?$")
_MD_HEADING_LINE = re.compile(r"(?m)^[ ]{0,3}#{1,6} ")
_PROMPT_LINE = re.compile(r"(?m)^[ \t]*(?:PS[ \t]+)?(?:[A-Za-z]:[\\>]|[\w.-]+@[\w.-]+:)")
_QP_HEX = re.compile(r"=([0-9A-F]{2})")
_CONTINUATION = re.compile(r"^\s*(?:\(\s*)?-?\d")
# The tail of a wrapped header line: "Krnl:14212K P:251880K", "N:268440K P:512300K", "Per Alloc".
_HEADER_TAIL = re.compile(r"^\s*(?:[A-Za-z]+:\s*\d+\s*K?\b|Per Alloc\b|Alloc\b|Mapped_Driver\b)")
_HEADER_HEAD = re.compile(r"\b(?:Memory|Commit):|\bTag\s+Type\s+Allocs\b")
_TYPE_WORD = re.compile(rf"(?<![^ ]){_TYPE}(?= )")
_HEADER_BREAKS = re.compile(
    r"(?=(?:Memory:|Commit:|(?:System|All sessions|Session \d+) pool information|Tag +Type +Allocs))"
)
_HEADER_END = re.compile(r"Per Alloc(?: +Mapped_Driver)?|Mapped_Driver")
_CHG = r"[ ]*\([ ]*-?\d+[ ]*\)"
_NUMS_SCREEN = re.compile(rf"[ ]+\d+{_CHG}[ ]*\d+{_CHG}[ ]*-?\d+[ ]+\d+{_CHG}[ ]*\d+")
_NUMS_SNAP = re.compile(r"[ ]+\d+[ ]+\d+[ ]+-?\d+[ ]+\d+[ ]+\d+")


@dataclass
class Cleaned:
    """Lines after repair, each with the 1-based number of the original line it came from."""

    lines: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    def numbered_lines(self) -> list[tuple[int, str]]:
        return list(zip(self.numbers, self.lines, strict=True))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def looks_pasted(text: str) -> bool:
    """Cheap test: does the text carry any sign of a trip through mail, markdown or a browser?"""
    # Only the head is examined: pasted text is small, and scanning a big log for
    # multi-character needles would cost more than parsing it.
    head = text[:65536]
    if "\t" in head or "=20" in head or "```" in head or "~~~" in head or re.search(r"\\[*_#]", head):
        return True
    if head.startswith((">", "#")) or "\n>" in head or "\n >" in head or "\n#" in head:
        return True
    if re.search(r"(?m)[^=\n]=$", head) or re.search(r"(?m)^\s*(?:\.{3}|…|\[\s*(?:snip|\.\.\.)\s*\])\s*$", head):
        return True
    if re.search(r"(?m)^ {4,}\S", head):
        return True
    # A whole output flattened onto one line: several rows on one line.
    for line in head.split("\n", 50)[:50]:
        if line.count("Nonp") + line.count("Paged") >= 2 and len(_TYPE_WORD.findall(line)) >= 2:
            return True
    # Hard-wrapped rows: a row that does not read, followed by a line that starts with a number.

    lines = head.split("\n", 200)[:200]
    for line, following in itertools.pairwise(lines):
        if _TYPE_WORD.search(line) and _CONTINUATION.match(following) and read_row(line)[0] is None:
            return True
    return False


def mail_signs(text: str) -> tuple[bool, bool]:
    """(quoted, quoted-printable): whether mail quoting or QP leftovers show in ``text``."""
    qp = "=20" in text or "=3D" in text or text.count("=\n") - text.count("==\n") >= 2
    quoted = text.lstrip(" ").startswith(">") or any(f"\n{pad}>" in text for pad in ("", " ", "  ", "   "))
    return quoted, qp


def unmail(text: str, *, quoted: bool | None = None, qp: bool | None = None) -> Cleaned:
    """Undo mail quoting (``> ``, ``>> ``) and quoted-printable (``=20``, soft breaks ``=`` at a line end).

    A soft break joins two physical lines; the joined line keeps the first one's number, so
    warnings still point into the user's file.  Any format's reader can call this first.
    """
    found_quoted, found_qp = mail_signs(text)
    quoted = found_quoted if quoted is None else quoted
    qp = found_qp if qp is None else qp
    raw = text.split("\n")
    lines: list[str] = []
    numbers: list[int] = []
    repairs: list[str] = []
    if not (quoted or qp):
        return Cleaned(raw, list(range(1, len(raw) + 1)), repairs)
    pending: str | None = None
    pending_no = 0
    for i, line in enumerate(raw, start=1):
        if quoted and _QUOTE.match(line):
            line = _QUOTE.sub("", line, count=1)
        if qp:
            line = _QP_HEX.sub(lambda m: chr(int(m.group(1), 16)), line.replace("=20", " "))
        if pending is not None:
            line = pending + line
            i = pending_no
            pending = None
        if qp and line.endswith("=") and not line.endswith("=="):
            pending, pending_no = line[:-1], i
            continue
        lines.append(line)
        numbers.append(i)
    if pending is not None:
        lines.append(pending)
        numbers.append(pending_no)
    if qp:
        repairs.append("quoted-printable")
    if quoted:
        repairs.append("quoting")
    return Cleaned(lines, numbers, repairs)


def clean(text: str) -> Cleaned:
    """Restore PoolMon lines from pasted text (see the module docstring for what is undone).

    Repairs are exact and therefore silent (``Cleaned.repairs`` lists them); what they
    cannot restore is reported by the row reader, with the original line numbers.
    """
    repairs: list[str] = []
    quoted, qp = mail_signs(text)
    # Substring tests first: a pattern that finds nothing scans the whole text, slowly.
    markdown = (
        "```" in text
        or "~~~" in text
        or (("\n#" in text or text.startswith("#") or "\n #" in text) and bool(_MD_HEADING_LINE.search(text)))
    )
    escapes = "\\" in text and bool(re.search(r"\\[*_#\[\]()\\`]", text))
    prompts = (":\\" in text or ":>" in text or "@" in text) and bool(_PROMPT_LINE.search(text))
    if "\t" in text:
        text = text.replace("\t", " ")
    raw = text.split("\n")
    # Each step below runs only when the text shows its sign: big logs pass through quickly.

    # 1. Quoting and quoted-printable soft breaks, which split and prefix physical lines.
    if quoted or qp:
        undone = unmail(text, quoted=quoted, qp=qp)
        lines, numbers = undone.lines, undone.numbers
        repairs.extend(undone.repairs)
    else:
        lines = raw
        numbers = list(range(1, len(raw) + 1))

    # 2. Markdown, prompts and trailing spaces, one line at a time.
    if markdown or escapes or prompts:
        out_lines: list[str] = []
        out_numbers: list[int] = []
        for line, no in zip(lines, numbers, strict=True):
            if markdown and _FENCE.match(line):
                continue
            if markdown:
                line = _HEADING.sub("", line)
            if escapes:
                line = _MD_ESCAPE.sub(r"\1", line)
            if prompts and _PROMPT.match(line) and not _has_type_word(line):
                continue
            out_lines.append(line.rstrip())
            out_numbers.append(no)
        lines, numbers = out_lines, out_numbers

    # 3. Indented code blocks: PoolMon's own lines carry at most one leading space.
    indents = [] if re.search(r"(?m)^ {0,3}\S", text) else [len(x) - len(x.lstrip(" ")) for x in lines if x.strip()]
    if indents and min(indents) >= 4:
        cut = min(indents) - 1 if min(indents) >= 5 else 4
        lines = [line[cut:] if line[:cut].strip() == "" else line.lstrip(" ") for line in lines]
        repairs.append("indent")

    # 4. Whole outputs flattened onto one line.
    flat_lines: list[str] = []
    flat_numbers: list[int] = []
    for line, no in zip(lines, numbers, strict=True):
        if line.count("Nonp") + line.count("Paged") >= 2 and len(_TYPE_WORD.findall(line)) >= 2:
            parts = unflatten(line)
            flat_lines.extend(parts)
            flat_numbers.extend([no] * len(parts))
            repairs.append("flattened")
        else:
            flat_lines.append(line)
            flat_numbers.append(no)
    lines, numbers = flat_lines, flat_numbers

    # 5. Hard wraps: a continuation that starts with a number belongs to the row above;
    #    "Krnl:..." or "Per Alloc" after a header line belongs to that header.
    lines, numbers = _join_header_wraps(lines, numbers, repairs)
    lines, numbers = _join_wraps(lines, numbers, repairs)
    return Cleaned(lines, numbers, repairs)


def _has_type_word(line: str) -> bool:
    # The substring tests reject most lines before the (slower) word-boundary pattern runs.
    return ("Nonp" in line or "Paged" in line) and _TYPE_WORD.search(line) is not None


def _join_wraps(lines: list[str], numbers: list[int], repairs: list[str]) -> tuple[list[str], list[int]]:

    out: list[str] = []
    out_no: list[int] = []
    for line, no in zip(lines, numbers, strict=True):
        if out and "]" in line and _open_bracket(out[-1]) and not _has_type_word(line) and _has_type_word(out[-1]):
            # A Mapped_Driver wrapped inside its brackets: "[ntfs.sys - Some" / "subsystem]".
            out[-1] = out[-1].rstrip() + " " + line.strip()
            repairs.append("wrap")
            continue
        if (
            out
            and _CONTINUATION.match(line)
            and not _has_type_word(line)
            and _has_type_word(out[-1])
            and parse_marker(line) is None
        ):
            prev = out[-1]
            if read_row(prev)[0] is None or _lacks_columns(prev):
                joined = prev + " " + line.strip()
                if read_row(joined)[0] is not None:
                    out[-1] = joined
                    repairs.append("wrap")
                    continue
        out.append(line)
        out_no.append(no)
    return out, out_no


def _join_header_wraps(lines: list[str], numbers: list[int], repairs: list[str]) -> tuple[list[str], list[int]]:
    out: list[str] = []
    out_no: list[int] = []
    for line, no in zip(lines, numbers, strict=True):
        if (
            out
            and _HEADER_TAIL.match(line)
            and _HEADER_HEAD.search(out[-1])
            and not _HEADER_HEAD.search(line)
            and not _has_type_word(line)
        ):
            out[-1] = out[-1].rstrip() + " " + line.strip()
            repairs.append("header wrap")
            continue
        out.append(line)
        out_no.append(no)
    return out, out_no


def _open_bracket(line: str) -> bool:
    return line.rfind("[") > line.rfind("]")


def _lacks_columns(line: str) -> bool:
    """A screen row cut after its Diff: it parses as nothing useful without its tail."""
    return "(" in line and line.count("(") < 3


def unflatten(line: str) -> list[str]:
    """Split one line that holds a whole PoolMon output back into its lines."""
    # Headers first: break before each known header label.
    pieces = [p for p in _HEADER_BREAKS.split(line) if p.strip()]
    out: list[str] = []
    for piece in pieces:
        out.extend(_split_rows(piece))
    return [" " + p.strip() if _TYPE_WORD.search(p) else p.strip() for p in out if p.strip()]


def _split_rows(text: str) -> list[str]:
    matches = list(_TYPE_WORD.finditer(text))
    if not matches:
        return [text]
    starts: list[int] = []
    prev_end = 0
    hm = None
    for hm in _HEADER_END.finditer(text):
        if hm.end() <= matches[0].start():
            prev_end = hm.end()
    for m in matches:
        seg = text[prev_end : m.start()]
        starts.append(prev_end + _tag_start(seg))
        nums = _NUMS_SCREEN.match(text, m.end()) or _NUMS_SNAP.match(text, m.end())
        prev_end = nums.end() if nums else m.end()
    pieces = []
    if starts[0] > 0:
        pieces.append(text[: starts[0]])
    bounds = [*starts, len(text)]
    for a, b in itertools.pairwise(bounds):
        pieces.append(text[a:b])
    return pieces


def _tag_start(seg: str) -> int:
    """Where the tag begins in the text between the previous row's numbers and a Type word."""
    body = seg.rstrip(" ")
    if "]" in body:
        # A Mapped_Driver in brackets ends the previous row.
        return body.rindex("]") + 1
    tokens = list(re.finditer(r"\S+", body))
    if not tokens:
        return len(body)
    last = tokens[-1]
    if len(tokens) >= 2:
        prev = tokens[-2]
        combined = body[prev.start() : last.end()]
        if len(combined) <= 4 and not body[: prev.start()].rstrip().endswith("Driver"):
            return prev.start()
    return last.start()
