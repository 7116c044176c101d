"""Pieces every debugger-output reader shares: prompts, hex numbers, session time."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

#: A debugger prompt: ``kd>``, ``0: kd>``, ``1: kd:x86>``, ``lkd>``, ``0:000>`` (user mode, cdb),
#: with or without leading space.  The command is what follows on the same line.
PROMPT_RE = re.compile(
    r"^[ \t]*(?P<prompt>(?:(?P<proc>\d+):\s?)?(?:l?kd(?::x86)?|\d+:\d+(?::x86)?)>)[ \t]?(?P<command>.*)$"
)

_QUOTE = re.compile(r"^(?:>[ ]?)+")


def unquote(lines: Sequence[str]) -> list[str]:
    """Strip mail quoting (``> ``, ``>> ``) when most non-empty lines carry it; line count is kept."""
    seq = list(lines)
    text_lines = [x for x in seq if x.strip()]
    if not text_lines:
        return seq
    quoted = sum(1 for x in text_lines if x.startswith(">") and not PROMPT_RE.match(x))
    if quoted * 5 < len(text_lines) * 4:
        return seq
    return [_QUOTE.sub("", x, count=1) for x in seq]


_HEX_TICK = re.compile(r"^(?:0x)?([0-9a-fA-F]{1,8})`([0-9a-fA-F]{8})$")


def parse_hex(text: str) -> int | None:
    """A debugger hex number: ``fffff801`23450000``, ``0x41``, ``8a2f1130``; None if not hex."""
    t = text.strip()
    m = _HEX_TICK.match(t)
    if m:
        return int(m.group(1) + m.group(2), 16)
    if t.lower().startswith("0x"):
        t = t[2:]
    if not t or len(t) > 16 or not all(c in "0123456789abcdefABCDEF" for c in t):
        return None
    return int(t, 16)


# "Debug session time: Sat Nov 21 14:03:07.123 2026 (UTC + 1:00)"
_SESSION_TIME = re.compile(
    r"Debug session time:\s+\w{3}\s+(?P<mon>\w{3})\s+(?P<day>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})(?:\.\d+)?\s+(?P<year>\d{4})"
)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


def session_time(line: str) -> datetime | None:
    """The time a dump was written or a live session was sampled, from ``Debug session time:``."""
    m = _SESSION_TIME.search(line)
    if not m:
        return None
    month = _MONTHS.get(m.group("mon").lower())
    if month is None:
        return None
    try:
        return datetime(int(m.group("year")), month, int(m.group("day")),
                        int(m.group("h")), int(m.group("m")), int(m.group("s")))
    except ValueError:
        return None
