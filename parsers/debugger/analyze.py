"""``!analyze -v``: the bug check code, its four parameters and the probable cause, in both styles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .common import parse_hex

_KEY = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]+):\s*(?P<value>.*?)\s*$")
_HEADLINE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]{3,})\s+\((?P<code>[0-9a-fA-F]{1,8})\)\s*$")
_ARG = re.compile(r"^Arg(?P<n>[1-4]):\s*(?P<value>[0-9a-fA-F`]+)\s*(?:,\s*(?P<desc>.*?))?\s*$")
_BUGCHECK = re.compile(r"BugCheck\s+(?P<code>[0-9a-fA-F]+),\s*\{(?P<args>[^}]*)\}", re.IGNORECASE)
_CAUSE = re.compile(r"^Probably caused by\s*:\s*(?P<cause>.+?)\s*$", re.IGNORECASE)
# kd's own notice when the target stops: "*** Fatal System Error: 0x00000019" with "(a,b,c,d)" after it
# on the same line or the next one.
_FATAL = re.compile(r"Fatal System Error:\s*(?:0x)?(?P<code>[0-9a-fA-F]+)\s*(?:\((?P<args>[^)]*)\))?", re.IGNORECASE)
_ARGS_LINE = re.compile(r"^\s*\((?P<args>[^)]*)\)\s*$")


@dataclass
class BugCheck:
    """What ``!analyze -v`` says about the crash."""

    code: int
    params: list[int] = field(default_factory=list)
    name: str | None = None
    param_notes: list[str | None] = field(default_factory=list)
    module: str | None = None  # MODULE_NAME
    image: str | None = None  # IMAGE_NAME
    probably_caused_by: str | None = None
    process: str | None = None
    bucket: str | None = None
    line: int = 0

    @property
    def code_text(self) -> str:
        return f"0x{self.code:X}"

    def param(self, n: int) -> int | None:
        """Parameter 1..4, or None when not printed."""
        return self.params[n - 1] if 0 < n <= len(self.params) else None

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code_text,
            "name": self.name,
            "params": [f"{p:#x}" for p in self.params],
            "module": self.module,
            "image": self.image,
            "probably_caused_by": self.probably_caused_by,
            "process": self.process,
            "bucket": self.bucket,
        }


def read_fatal(lines: Sequence[str], first_line: int = 1) -> BugCheck | None:
    """The bug check kd announces when the target stops (``*** Fatal System Error: 0x...``), or None."""
    if not any("Fatal System Error" in x for x in lines):
        return None
    return read_analyze([x for i, x in enumerate(lines) if "Fatal System Error" in x
                         or (i and "Fatal System Error" in lines[i - 1])], first_line)


def read_analyze(lines: Sequence[str], first_line: int = 1) -> BugCheck | None:
    """The bug check in ``!analyze`` output (either style), or None when there is none."""
    code: int | None = None
    name = None
    params: dict[int, int] = {}
    notes: dict[int, str | None] = {}
    keys: dict[str, str] = {}
    cause = None
    for i, line in enumerate(lines):
        s = line.strip()
        m = _FATAL.search(s)
        if m and code is None:
            code = int(m.group("code"), 16)
            args = m.group("args")
            if args is None and i + 1 < len(lines):
                nxt = _ARGS_LINE.match(lines[i + 1])
                args = nxt.group("args") if nxt else None
            for n, tok in enumerate((args or "").split(","), start=1):
                v = parse_hex(tok)
                if v is not None and n <= 4:
                    params.setdefault(n, v)
            continue
        m = _HEADLINE.match(s)
        if m and name is None and not s.startswith(("BUGCHECK", "ARG")):
            name, code = m.group("name"), code if code is not None else int(m.group("code"), 16)
            continue
        m = _ARG.match(s)
        if m:
            v = parse_hex(m.group("value"))
            if v is not None:
                params.setdefault(int(m.group("n")), v)
                notes.setdefault(int(m.group("n")), m.group("desc"))
            continue
        m = _BUGCHECK.search(s)
        if m and code is None:
            code = int(m.group("code"), 16)
            for i, tok in enumerate(m.group("args").split(","), start=1):
                v = parse_hex(tok)
                if v is not None:
                    params.setdefault(i, v)
            continue
        m = _CAUSE.match(s)
        if m:
            cause = m.group("cause")
            continue
        m = _KEY.match(s)
        if m:
            keys.setdefault(m.group("key"), m.group("value"))
    if "BUGCHECK_CODE" in keys:
        code = parse_hex(keys["BUGCHECK_CODE"])
        for i in range(1, 5):
            v = parse_hex(keys.get(f"BUGCHECK_P{i}", ""))
            if v is not None:
                params[i] = v
    if code is None:
        return None
    n = max(params) if params else 0
    return BugCheck(
        code=code,
        params=[params.get(i, 0) for i in range(1, n + 1)],
        name=name,
        param_notes=[notes.get(i) for i in range(1, n + 1)],
        module=keys.get("MODULE_NAME"),
        image=keys.get("IMAGE_NAME"),
        probably_caused_by=cause,
        process=keys.get("PROCESS_NAME"),
        bucket=keys.get("FAILURE_BUCKET_ID"),
        line=first_line,
    )
