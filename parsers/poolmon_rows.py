"""Reading one PoolMon row line: the fast patterns, the grammar, then repair by the identities.

Kept apart from :mod:`parsers.poolmon` (frames and logs) so that :mod:`parsers.pasted`
can read rows without importing the log reader that uses it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from .poolmon_grammar import RowFields, parse_row

_CHG = r"[ ]*\([ ]*(-?\d+)[ ]*\)"
_SCREEN_NUMS = rf"[ ]+(\d+){_CHG}[ ]*(\d+){_CHG}[ ]*(-?\d+)[ ]+(\d+){_CHG}[ ]*(\d+)"
_SNAP_NUMS = r"[ ]+(\d+)[ ]+(\d+)[ ]+(-?\d+)[ ]+(\d+)[ ]+(\d+)"
_DRIVER = r"(?:[ ]+(\S.*?))?[ ]*$"
_EXACT_TAG = r"^ ?(.{4}) (Nonp|Paged)"
_SHORT_TAG = r"^[ ]*([^ ].{0,3}?)[ ]+(Nonp|Paged)"

#: Compiled row patterns, most common first: (pattern, has change columns, tag may be short).
ROW_PATTERNS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(_EXACT_TAG + _SCREEN_NUMS + _DRIVER), True),
    (re.compile(_EXACT_TAG + _SNAP_NUMS + _DRIVER), False),
    (re.compile(_SHORT_TAG + _SCREEN_NUMS + _DRIVER), True),
    (re.compile(_SHORT_TAG + _SNAP_NUMS + _DRIVER), False),
)


def _fields_from_match(m: re.Match[str], screen: bool) -> RowFields:
    g = m.groups()
    tag = g[0].ljust(4)
    pool = "nonpaged" if g[1] == "Nonp" else "paged"
    if screen:
        return RowFields(
            tag, pool, int(g[2]), int(g[4]), int(g[6]), int(g[7]), int(g[9]),
            int(g[3]), int(g[5]), int(g[8]), g[10],
        )  # fmt: skip
    return RowFields(tag, pool, int(g[2]), int(g[3]), int(g[4]), int(g[5]), int(g[6]), mapped_driver=g[7])


def read_row(line: str) -> tuple[RowFields | None, bool]:
    """One row line by pattern, grammar, then repair; returns (row, repaired)."""
    for pattern, screen in ROW_PATTERNS:
        m = pattern.match(line)
        if m:
            return _fields_from_match(m, screen), False
    fields = parse_row(line)
    if fields is not None:
        return fields, False
    fields = repair_row(line)
    return fields, fields is not None


TAG_TYPE = re.compile(r"^ ?(.{4}) (Nonp|Paged)(?= |$)|^[ ]*([^ ].{0,3}?)[ ]+(Nonp|Paged)(?= |$)")
_BRACKETED = re.compile(r"\([ ]*(-?\d+)[ ]*\)")
_NUMBER = re.compile(r"-?\d+")


def repair_row(line: str) -> RowFields | None:
    """Split numbers that ran together (overflowing columns) using the identities.

    Only a unique split is accepted: Diff = Allocs − Frees, Bytes = 0 when Diff = 0,
    and Per Alloc = floor(Bytes / Diff) leave almost no freedom, and an ambiguous row
    is better reported than guessed.
    """
    m = TAG_TYPE.match(line)
    if not m:
        return None
    tag = (m.group(1) if m.group(1) is not None else m.group(3)).ljust(4)
    pool = "nonpaged" if (m.group(2) or m.group(4)) == "Nonp" else "paged"
    rest = line[m.end() :]
    driver = None
    dm = re.search(r"[\[A-Za-z]", rest)
    if dm:
        driver = rest[dm.start() :].strip() or None
        rest = rest[: dm.start()]
    changes = [int(x) for x in _BRACKETED.findall(rest)]
    rest = _BRACKETED.sub(" ", rest)
    if rest.strip(" 0123456789-"):
        return None
    tokens = _NUMBER.findall(rest)
    splits = split_numbers(tokens, 5)
    if len(splits) != 1:
        return None
    a, f, d, b, p = splits[0]
    if len(changes) == 3:
        return RowFields(tag, pool, a, f, d, b, p, changes[0], changes[1], changes[2], driver)
    return RowFields(tag, pool, a, f, d, b, p, mapped_driver=driver)


_INT64 = (-(1 << 63) + 1, (1 << 63) - 1)


def fits_int64(f: RowFields) -> bool:
    values = (f.allocs, f.frees, f.diff, f.bytes, f.per_alloc, f.allocs_change, f.frees_change, f.bytes_change)
    return all(v is None or _INT64[0] <= v <= _INT64[1] for v in values)


def _identities_hold(a: int, f: int, d: int, b: int, p: int) -> bool:
    if a - f != d and (a - f - d) % (1 << 32) != 0:
        return False
    if d > 0:
        return b // d == p
    return b == 0 and p == 0


def split_numbers(tokens: Sequence[str], want: int) -> list[tuple[int, ...]]:
    """Every way to cut ``tokens`` into ``want`` numbers that satisfies the identities."""
    if len(tokens) > want or not tokens or sum(len(t) for t in tokens) > 48:
        return []  # beyond any real counters; also keeps the search small
    extra = want - len(tokens)
    out: list[tuple[int, ...]] = []
    for counts in _compositions(extra, len(tokens)):
        pieces_per_token: list[list[list[str]]] = []
        ok = True
        for tok, k in zip(tokens, counts, strict=True):
            digits = tok.lstrip("-")
            if k and (tok.startswith("-") or len(digits) < k + 1):
                ok = False
                break
            pieces_per_token.append(list(_cuts(tok, k)))
        if not ok:
            continue
        for combo in itertools.product(*pieces_per_token):
            nums = [piece for parts in combo for piece in parts]
            if any(len(x) > 1 and x[0] == "0" for x in nums):
                continue  # PoolMon never pads with zeros
            vals = tuple(int(x) for x in nums)
            if _identities_hold(*vals):
                out.append(vals)
    return out


def _compositions(total: int, parts: int) -> Iterable[tuple[int, ...]]:
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


def _cuts(token: str, k: int) -> Iterable[list[str]]:
    """Cut a digit string into k + 1 non-empty pieces."""
    if k == 0:
        yield [token]
        return
    for positions in itertools.combinations(range(1, len(token)), k):
        bounds = (0, *positions, len(token))
        yield [token[bounds[i] : bounds[i + 1]] for i in range(k + 1)]
