"""PoolMonX's saved CSV: one row per tag, both pools side by side, owner from its pooltag.txt.

``Tag,Value,Paged Allocs,Paged Frees,Paged Diff,Paged Usage,Non Paged Allocs,...,Source,Description``

The tool writes numbers as the Windows locale formats them, so ``1,234,567`` may sit unquoted
inside the comma-joined record and a row splits into more cells than columns.  The cells are
put back together by PoolMon's identities: the only grouping in which Diff = Allocs - Frees
holds for both pools (and Usage is zero exactly when Diff is) is the row as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .errors import Diagnostics, InputError
from .formats import InputFormat, ParseOptions
from .model import NONPAGED, PAGED, RowTable, Snapshot, TimeOrigin
from .tabular import mapped_driver_cell, split_csv_line
from .textio import TextSource

FORMAT_NAME = "poolmonx"

_HEADER = re.compile(r"^\W*tag\W*,.*paged\s*allocs.*non\s*-?\s*paged\s*allocs", re.IGNORECASE)
_ROW = re.compile(r"^\s*\"?(?P<tag>[^,\"]{1,4})\"?\s*,\s*\"?(?P<value>0x[0-9a-fA-F]{1,8})\"?\s*,")
_NUMERIC_CELL = re.compile(r"^\s*\d[\d\s\u00a0\u202f.']*(?:\s*(?P<unit>[KMG]?B))?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def _tag_from_value(value: str) -> str | None:
    """The tag a hex value spells (little-endian ASCII), when every byte is printable."""
    try:
        raw = int(value, 16).to_bytes(4, "little")
    except (ValueError, OverflowError):
        return None
    if all(32 <= b < 127 for b in raw):
        return raw.decode("ascii")
    return None


def _groupings(cells: list[str], count: int) -> Iterator[list[int]]:
    """Every way to read ``cells`` as ``count`` numbers (a head cell plus 3-digit group cells each)
    for which Diff = Allocs - Frees holds in each pool (Allocs Frees Diff Usage, twice).

    The identity is checked as soon as a pool's Diff is formed, which prunes the search from
    every composition of the cells down to a handful.
    """
    digits = [re.sub(r"\D", "", c) for c in cells]

    def walk(start: int, prefix: list[int]) -> Iterator[list[int]]:
        left = count - len(prefix)
        if left == 0:
            if start == len(cells):
                yield list(prefix)
            return
        end_max = len(cells) - (left - 1)
        for end in range(start + 1, end_max + 1):
            head, rest = digits[start], digits[start + 1 : end]
            if rest and (not 1 <= len(head) <= 3 or (head.startswith("0") and len(head) > 1)
                         or any(len(g) != 3 for g in rest)):
                break
            value = int(head + "".join(rest)) if head else 0
            prefix.append(value)
            k = len(prefix)
            if not (k % 4 == 3 and prefix[k - 3] - prefix[k - 2] != prefix[k - 1]):
                yield from walk(end, prefix)
            prefix.pop()

    yield from walk(0, [])


def _plausible(numbers: list[int]) -> tuple[bool, bool]:
    """(identities hold, usage agrees with diff) for Paged (A F D U) then Non Paged (A F D U)."""
    identities = usage = True
    for i in (0, 4):
        a, f, d, u = numbers[i : i + 4]
        identities &= a - f == d
        usage &= (u == 0) == (d == 0)
    return identities, usage


def read_numbers(cells: list[str]) -> tuple[list[int] | None, int]:
    """The eight numbers of a row from its numeric cells, and how many readings fit (0 = none)."""
    units = []
    for c in cells:
        m = _NUMERIC_CELL.match(c)
        units.append(_UNITS[(m.group("unit") or "b").lower()] if m else 1)
    fits = [n for n in _groupings(cells, 8) if _plausible(n)[0]]
    best = [n for n in fits if _plausible(n)[1]] or fits
    if not best:
        return None, 0
    chosen = best[0]
    if len(cells) == 8 and any(u != 1 for u in units):
        chosen = [v * u for v, u in zip(chosen, units, strict=True)]
    return chosen, len(best)


def _parse(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    tags: list[str] = []
    pools: list[str] = []
    mapped: list[str | None] = []
    cols: dict[str, list[int | None]] = {"allocs": [], "frees": [], "outstanding": [], "bytes": []}
    seen: set[str] = set()
    first_line = None
    for lineno, raw in enumerate(source.text.split("\n"), start=1):
        line = raw.strip()
        if not line or _HEADER.match(line):
            continue
        m = _ROW.match(line)
        if not m:
            diag.skip(source.name, lineno, "not a PoolMonX row", line)
            continue
        cells = split_csv_line(line)[2:]
        split_at = next((i for i, c in enumerate(cells) if not _NUMERIC_CELL.match(c)), len(cells))
        numbers, readings = read_numbers(cells[:split_at])
        if numbers is None:
            diag.skip(source.name, lineno, "numbers do not fit Diff = Allocs - Frees in any grouping", line)
            continue
        if readings > 1:
            diag.note(source.name, lineno, f"digit grouping ambiguous ({readings} readings fit the identities); "
                      "the first is kept", strict=False)
        tag = _tag_from_value(m.group("value")) or m.group("tag").ljust(4)
        if tag in seen:
            diag.note(source.name, lineno, f"tag {tag!r} listed twice; first kept", strict=False)
            continue
        seen.add(tag)
        first_line = first_line or lineno
        rest = cells[split_at:]
        owner = mapped_driver_cell(rest[0] if rest else None, ",".join(rest[1:]) if len(rest) > 1 else None)
        for pool, part in ((NONPAGED, numbers[4:]), (PAGED, numbers[:4])):
            allocs, frees, _diff, used = part
            if not (allocs or frees or used):
                continue
            tags.append(tag)
            pools.append(pool)
            mapped.append(owner)
            for name, value in zip(("allocs", "frees", "outstanding", "bytes"), part, strict=True):
                cols[name].append(value)
    if not seen:
        raise InputError(source.name, "no PoolMonX rows found (expected Tag,Value,Paged Allocs,... records)")
    snap = Snapshot(
        source=source.name, index=0, format=FORMAT_NAME,
        rows=RowTable.from_columns(tags, pools, mapped if any(mapped) else None, **cols),
        timestamp=None, time_origin=TimeOrigin.UNKNOWN, line=first_line, extra={"mtime": source.mtime},
    )
    return [snap]


def sniff(head: str) -> float:
    lines = [x for x in head.split("\n")[:40] if x.strip()]
    if lines and _HEADER.match(lines[0].strip()):
        return 0.95
    rows = sum(1 for x in lines if _ROW.match(x))
    return 0.75 if lines and rows * 4 >= len(lines) * 3 else 0.0


FORMAT = InputFormat(
    name=FORMAT_NAME,
    description="PoolMonX saved CSV (tag, hex value, paged and non-paged counters, source, description)",
    sniff=sniff,
    parse=_parse,
)
