"""The PoolMon row grammar: the readable reference for what a row is.

The bulk parsers in :mod:`parsers.poolmon` use compiled regular expressions and
numpy for speed; a hypothesis test proves they read generated rows exactly as
this grammar does.  The grammar is also the per-line fallback for rows whose
spacing the bulk patterns do not expect (``( 12 )``, tabs, collapsed spaces).

A row is ``Tag Type Allocs [(chg)] Frees [(chg)] Diff Bytes [(chg)] PerAlloc [Mapped_Driver]``:
the tag is the (up to) four characters before the Type word, so it may hold
spaces; change columns are present on console screens and absent in
``poolmon /n`` snapshot files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pyparsing as pp

#: The two Type words PoolMon prints.
TYPE_WORDS = ("Nonp", "Paged")


@dataclass(frozen=True)
class RowFields:
    """One row exactly as written; change columns are None on snapshot-file rows."""

    tag: str
    pool: str  # "nonpaged" or "paged"
    allocs: int
    frees: int
    diff: int
    bytes: int
    per_alloc: int
    allocs_change: int | None = None
    frees_change: int | None = None
    bytes_change: int | None = None
    mapped_driver: str | None = None

    @property
    def has_changes(self) -> bool:
        return self.allocs_change is not None


def _pad_tag(tokens: pp.ParseResults) -> str:
    # A tag that lost its trailing spaces (collapsed or trimmed text) is still a 4-character tag.
    return (tokens.get("exact") or tokens.get("short") or "").ljust(4)


@functools.lru_cache(maxsize=1)
def row_grammar() -> pp.ParserElement:
    """Build (once) the grammar for one PoolMon row line."""
    type_ahead = r"(?= +(?:Nonp|Paged)(?![^ ]))"
    # Exact layout first (tag in its 4 columns after an optional leading space), then a
    # collapsed tag that lost its padding.
    tag = pp.Regex(rf"^ ?(?P<exact>.{{4}}){type_ahead}|^[ ]*(?P<short>[^ ].{{0,3}}?){type_ahead}")
    tag = tag.leave_whitespace().set_parse_action(_pad_tag).set_name("tag")
    pool = (pp.Keyword("Nonp").set_parse_action(pp.replace_with("nonpaged"))) | (
        pp.Keyword("Paged").set_parse_action(pp.replace_with("paged"))
    )
    integer = pp.Regex(r"-?\d+").set_parse_action(lambda t: int(t[0])).set_name("integer")
    count = pp.Regex(r"\d+").set_parse_action(lambda t: int(t[0])).set_name("count")
    change = pp.Regex(r"\(\s*(?P<value>-?\d+)\s*\)").set_parse_action(lambda t: int(t["value"]))
    change = change.set_name("(change)")
    driver = pp.Regex(r"\S.*").set_parse_action(lambda t: t[0].rstrip()).set_name("mapped driver")

    screen = (
        count("allocs")
        + change("allocs_change")
        + count("frees")
        + change("frees_change")
        + integer("diff")
        + count("bytes")
        + change("bytes_change")
        + count("per_alloc")
    )
    snapshot = count("allocs") + count("frees") + integer("diff") + count("bytes") + count("per_alloc")
    row = tag("tag") + pool("pool") + (screen | snapshot) + pp.Opt(driver("mapped_driver")) + pp.StringEnd()
    # The tag's leading space is significant: only the row itself must not skip it.
    row.leave_whitespace(recursive=False)
    return row.streamline()


def parse_row(line: str) -> RowFields | None:
    """Read one line with the grammar; None when it is not a well-formed row."""
    if "Nonp" not in line and "Paged" not in line:
        return None
    try:
        res = row_grammar().parse_string(line.rstrip("\n"), parse_all=True)
    except pp.ParseBaseException:
        return None
    get = res.get
    return RowFields(
        tag=res["tag"],
        pool=res["pool"],
        allocs=res["allocs"],
        frees=res["frees"],
        diff=res["diff"],
        bytes=res["bytes"],
        per_alloc=res["per_alloc"],
        allocs_change=get("allocs_change"),
        frees_change=get("frees_change"),
        bytes_change=get("bytes_change"),
        mapped_driver=get("mapped_driver"),
    )
