"""The pyparsing grammar, the per-line patterns and the bulk numpy path read rows identically."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from parsers import poolmon_fast
from parsers.model import MISSING
from parsers.poolmon_fast import read_chunk
from parsers.poolmon_grammar import RowFields, parse_row
from parsers.poolmon_rows import read_row

_TAG_CHARS = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ._-+*@#!?$%&/\\[]{}~'")


@st.composite
def tags(draw: st.DrawFn) -> str:
    tag = "".join(draw(st.lists(_TAG_CHARS, min_size=4, max_size=4)))
    if not tag.strip():
        tag = "A" + tag[1:]
    return tag


@st.composite
def rows(draw: st.DrawFn) -> tuple[RowFields, str]:
    """A row and its text in one of PoolMon's layouts."""
    tag = draw(tags())
    pool = draw(st.sampled_from(["nonpaged", "paged"]))
    allocs = draw(st.integers(0, 10**12))
    frees = draw(st.integers(0, allocs))
    diff = allocs - frees
    size = draw(st.integers(1, 70000))
    nbytes = diff * size
    per = nbytes // diff if diff else 0
    layout = draw(st.sampled_from(["screen", "narrow", "wide"]))
    lead = draw(st.booleans())
    driver = draw(
        st.sampled_from([None, None, "[ntfs.sys  -  Some subsystem]", "[abc][abc.sys - q]", "Unknown Driver"])
    )
    typ = "Nonp " if pool == "nonpaged" else "Paged"
    prefix = (" " if lead else "") + f"{tag} {typ}"
    if layout == "screen":
        changes = tuple(draw(st.integers(-(10**6), 10**6)) for _ in range(3))
        widths = [draw(st.integers(1, 12)) for _ in range(5)]
        touch = [draw(st.booleans()) for _ in range(3)]

        def num(v: int, w: int) -> str:
            return " " + str(v).rjust(w)

        def chg(v: int, t: bool) -> str:
            return ("" if t else " ") + f"({v:>4})"

        text = (
            prefix
            + num(allocs, widths[0])
            + chg(changes[0], touch[0])
            + num(frees, widths[1])
            + chg(changes[1], touch[1])
            + num(diff, widths[2])
            + num(nbytes, widths[3])
            + chg(changes[2], touch[2])
            + num(per, widths[4])
        )
        fields = RowFields(tag, pool, allocs, frees, diff, nbytes, per, *changes, mapped_driver=driver)
    else:
        w = (9, 9, 7, 9, 6) if layout == "narrow" else (18, 18, 17, 14, 16)
        values = (allocs, frees, diff, nbytes, per)
        text = prefix + "".join(" " + str(v).rjust(width) for v, width in zip(values, w, strict=True))
        fields = RowFields(tag, pool, allocs, frees, diff, nbytes, per, mapped_driver=driver)
    if driver:
        text += " " * draw(st.integers(1, 8)) + driver
    return fields, text


def _bulk(lines: list[str]) -> list[RowFields]:
    ids: dict[str, int] = {}
    names: list[str] = []

    def tag_id(tag: str) -> int:
        if tag not in ids:
            ids[tag] = len(names)
            names.append(tag)
        return ids[tag]

    bulk = read_chunk(("\n".join(lines) + "\n").encode("ascii"), 1, tag_id)
    assert bulk is not None
    assert bulk.other_lines == []

    def opt(v: int) -> int | None:
        return None if v == MISSING else int(v)

    c = bulk.columns
    out = []
    for i in range(len(bulk.tag_ids)):
        out.append(
            RowFields(
                names[int(bulk.tag_ids[i])],
                "paged" if bulk.pools[i] else "nonpaged",
                int(c["allocs"][i]),
                int(c["frees"][i]),
                int(c["outstanding"][i]),
                int(c["bytes"][i]),
                int(bulk.per_alloc[i]),
                opt(c["allocs_change"][i]),
                opt(c["frees_change"][i]),
                opt(c["bytes_change"][i]),
                bulk.drivers[i] if bulk.drivers is not None else None,
            )
        )
    assert np.array_equal(bulk.lines, np.arange(1, len(lines) + 1))
    return out


@given(st.lists(rows(), min_size=1, max_size=40))
def test_grammar_patterns_and_bulk_path_agree(generated: list[tuple[RowFields, str]]) -> None:
    expected = [f for f, _ in generated]
    lines = [t for _, t in generated]
    assert [parse_row(t) for t in lines] == expected
    assert [read_row(t)[0] for t in lines] == expected
    assert _bulk(lines) == expected


@given(st.lists(rows(), min_size=2, max_size=20), st.data())
def test_bulk_hands_unreadable_lines_back_in_order(generated: list[tuple[RowFields, str]], data: st.DataObject) -> None:
    lines = [t for _, t in generated]
    where = data.draw(st.integers(0, len(lines) - 1))
    lines.insert(where, " Memory: 8388020K Avail: 3125332K")
    bulk = read_chunk(("\n".join(lines) + "\n").encode("ascii"), 10, lambda tag: 0)
    assert bulk is not None
    assert bulk.other_lines == [10 + where]
    assert len(bulk.tag_ids) == len(generated)


@st.composite
def uniform_blocks(draw: st.DrawFn) -> tuple[list[RowFields], list[str]]:
    """Rows sharing one column layout, as one PoolMon build writes a whole log."""
    screen = draw(st.booleans())
    lead = draw(st.booleans())
    crlf = draw(st.booleans())
    n = draw(st.integers(1, 30))
    expected: list[RowFields] = []
    lines: list[str] = []
    for _ in range(n):
        tag = draw(tags())
        pool = draw(st.sampled_from(["nonpaged", "paged"]))
        allocs = draw(st.integers(0, 10**9))
        frees = draw(st.integers(0, allocs))
        diff = allocs - frees
        nbytes = diff * draw(st.integers(1, 4096))
        per = nbytes // diff if diff else 0
        typ = "Nonp " if pool == "nonpaged" else "Paged"
        prefix = (" " if lead else "") + f"{tag} {typ}"
        if screen:
            ch = [draw(st.integers(-999, 9999)) for _ in range(3)]
            text = (
                f"{prefix} {allocs:>10} ({ch[0]:>4}) {frees:>10} ({ch[1]:>4}) "
                f"{diff:>10} {nbytes:>13} ({ch[2]:>6}) {per:>6}"
            )
            expected.append(RowFields(tag, pool, allocs, frees, diff, nbytes, per, *ch))
        else:
            text = f"{prefix} {allocs:>18} {frees:>18} {diff:>17} {nbytes:>14} {per:>16}"
            expected.append(RowFields(tag, pool, allocs, frees, diff, nbytes, per))
        lines.append(text + ("\r" if crlf else ""))
    return expected, lines


@given(uniform_blocks())
def test_fixed_width_reading_of_uniform_blocks(block: tuple[list[RowFields], list[str]]) -> None:
    expected, lines = block

    def no_general(*args: object, **kwargs: object) -> None:
        raise AssertionError("a uniform block must be read as fixed-width fields")

    original = poolmon_fast._general_numbers
    poolmon_fast._general_numbers = no_general  # type: ignore[assignment]
    try:
        assert _bulk(lines) == expected
    finally:
        poolmon_fast._general_numbers = original
    assert [read_row(t.rstrip("\r"))[0] for t in lines] == expected


def test_fixed_width_rejects_a_space_inside_a_number_in_every_row() -> None:
    good = " Abcd Nonp          12 (   1)         10 (   0)          2         64 (     0)     32"
    bad = " Efgh Nonp   1 2345678 (   1)         10 (   0)          2         64 (     0)     32"
    assert len(good) == len(bad)
    bulk = read_chunk((good + "\n" + bad + "\n" + good.replace("Abcd", "Ijkl") + "\n").encode(), 1, lambda t: 0)
    assert bulk is not None
    assert bulk.other_lines == [2]
    assert read_row(bad)[0] is None or read_row(bad)[0].allocs != 12345678  # type: ignore[union-attr]


def test_fixed_width_accepts_minus_only_right_before_the_digits() -> None:
    rows = [
        " Abcd Nonp          12 (  -1)         10 (   0)          2         64 (   -64)     32",
        " Efgh Nonp          12 ( - 1)         10 (   0)          2         64 (     0)     32",
    ]
    bulk = read_chunk(("\n".join(rows) + "\n").encode(), 1, lambda t: 0)
    assert bulk is not None
    assert bulk.other_lines == [2]
    assert bulk.columns["allocs_change"].tolist() == [-1]
    assert bulk.columns["bytes_change"].tolist() == [-64]


def test_many_mapped_driver_rows_read_like_the_line_reader() -> None:
    # Over 4,096 rows with driver text: the blanking of driver cells is vectorised past that size.
    rng = np.random.default_rng(3)
    drivers = ["[ntfs.sys  -  Some subsystem 12]", "[abc][abc.sys - q]", "Unknown Driver", "[nt!ps - 7 x]"]
    lines = []
    for i in range(5000):
        allocs = int(rng.integers(1000, 10**9))
        diff = int(rng.integers(0, 1000))
        size = int(rng.integers(1, 4096))
        per = size if diff else 0
        typ = "Paged" if i % 3 else "Nonp "
        lines.append(f" T{i % 997:03d} {typ} {allocs:>10} {allocs - diff:>16} {diff:>15} {diff * size:>10} "
                     f"{per:>15}  {drivers[i % 4]}")
    assert _bulk(lines) == [read_row(t)[0] for t in lines]
