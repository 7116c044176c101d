"""``s -a`` / ``s -b`` (alone or under ``!for_each_module``): the addresses where a pool tag appears."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from .common import parse_hex

# "fffff801`1b2034a0  41 62 63 64 00 00 00 00-10 00 00 00 00 00 00 00  Abcd............"
_HIT = re.compile(
    r"^\s*(?P<addr>[0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?|[0-9a-fA-F]{16})\s{1,3}"
    r"(?P<bytes>[0-9a-fA-F]{2}(?:[ -][0-9a-fA-F]{2}){0,15})(?:\s\s(?P<ascii>.{0,16}))?\s*$"
)


@dataclass
class SearchResult:
    """One memory search: the pattern it looked for and every hit's address."""

    command: str
    pattern: bytes | None
    kind: str  # "ascii" (s -a) or "bytes" (s -b)
    per_module: bool  # run under !for_each_module
    addresses: list[int] = field(default_factory=list)
    line: int = 0

    @property
    def tag(self) -> str | None:
        """The pattern as a 4-character pool tag, when it is one."""
        if self.pattern is None or not 1 <= len(self.pattern) <= 4:
            return None
        try:
            return self.pattern.decode("ascii").ljust(4)
        except UnicodeDecodeError:
            return None

    def to_dict(self) -> dict[str, object]:
        return {
            "command": self.command,
            "tag": self.tag,
            "kind": self.kind,
            "per_module": self.per_module,
            "addresses": [f"{a:#x}" for a in self.addresses],
        }


def parse_search_command(command: str) -> tuple[str, bytes | None, bool] | None:
    """``s -a START END "Abcd"`` / ``s -b START END 41 62 63 64`` -> (kind, pattern, per_module)."""
    text = command.strip()
    per_module = False
    m = re.match(r"^!for_each_module\s+(?P<inner>.+)$", text, re.IGNORECASE)
    if m:
        per_module = True
        text = m.group("inner").strip()
        if len(text) > 1 and text[0] == '"' and text[-1] == '"':
            text = text[1:-1]  # the whole command quoted: !for_each_module "s -a @#Base @#End Abcd"
    m = re.match(r"^s\s+-(?P<kind>[ab])\s+(?P<args>.+)$", text, re.IGNORECASE)
    if not m:
        return None
    kind = "ascii" if m.group("kind").lower() == "a" else "bytes"
    args = m.group("args")
    if kind == "ascii":
        q = re.search(r'\\?"(?P<s>[^"\\]*)\\?"', args)
        if q:
            return kind, q.group("s").encode("latin-1", "replace"), per_module
        try:
            parts = shlex.split(args)
        except ValueError:
            parts = args.split()
        return kind, (parts[-1].encode("latin-1", "replace") if len(parts) >= 3 else None), per_module
    parts = args.split()
    # s -b START END b0 b1 ...  (or START L?LEN b0 ...): the pattern is the trailing run of byte values
    values: list[int] = []
    for tok in reversed(parts[2:] if len(parts) > 2 else []):
        v = parse_hex(tok)
        if v is None or v > 0xFF or tok.startswith("@") or tok.lower().startswith("l"):
            break
        values.append(v)
    return kind, (bytes(reversed(values)) or None), per_module


def read_hits(lines: Sequence[str]) -> list[int]:
    """Addresses of every hit line (address, up to 16 hex bytes with a dash after the 8th, ASCII)."""
    out = []
    for line in lines:
        m = _HIT.match(line)
        if m:
            addr = parse_hex(m.group("addr"))
            if addr is not None:
                out.append(addr)
    return out


def read_search(command: str, lines: Sequence[str], line: int = 0) -> SearchResult | None:
    parsed = parse_search_command(command)
    if parsed is None:
        return None
    kind, pattern, per_module = parsed
    return SearchResult(command, pattern, kind, per_module, read_hits(lines), line)
