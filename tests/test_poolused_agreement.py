"""The fast path (fixed columns, then regex) and the pyparsing reference grammar agree on generated rows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsers.poolused import header_layout, parse_row_grammar, read_row

WIDTHS = {4: (9, 12, 10, 12), 8: (10, 10, 9, 13, 10, 10, 9, 13)}
WORDS = {4: ("Allocs", "Used") * 2, 8: ("Allocs", "Frees", "Diff", "Used") * 2}

_printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
tags = st.tuples(_printable, st.text(st.sampled_from("abcdXYZ019 .-_"), min_size=3, max_size=3)).map(
    lambda t: t[0] + t[1]
)
descriptions = st.one_of(
    st.none(),
    st.tuples(
        st.characters(min_codepoint=0x41, max_codepoint=0x7A),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    ).map(lambda t: (t[0] + t[1]).rstrip()),
)


def _header(width: int) -> str:
    return " Tag " + "".join(" " + w.rjust(n) for w, n in zip(WORDS[width], WIDTHS[width], strict=True))


@st.composite
def rows(draw: st.DrawFn, width: int) -> tuple[str, str, tuple[int, ...], str | None, bool]:
    tag = draw(tags)
    numbers = tuple(draw(st.integers(0, 10 ** (n - 1) - 1)) for n in WIDTHS[width])
    desc = draw(descriptions)
    glued = draw(st.booleans())
    line = " " + tag + "".join(" " + str(x).rjust(n) for x, n in zip(numbers, WIDTHS[width], strict=True))
    if desc:
        line += desc if glued else "\t" + desc
    return line, tag, numbers, desc or None, glued


@given(rows(4))
def test_fast_path_and_grammar_agree(case: tuple[str, str, tuple[int, ...], str | None, bool]) -> None:
    line, tag, numbers, desc, _ = case
    fast = read_row(line, 4, header_layout(_header(4)))
    ref = parse_row_grammar(line, 4)
    assert fast == ref
    assert fast is not None and (fast.tag, fast.numbers, fast.description) == (tag, numbers, desc)


@given(rows(8))
def test_verbose_fast_path_and_grammar_agree(case: tuple[str, str, tuple[int, ...], str | None, bool]) -> None:
    line, tag, numbers, desc, _ = case
    fast = read_row(line, 8, header_layout(_header(8)))
    ref = parse_row_grammar(line, 8)
    assert fast == ref
    assert fast is not None and (fast.tag, fast.numbers, fast.description) == (tag, numbers, desc)


@given(rows(4))
def test_regex_fallback_agrees_without_the_header(case: tuple[str, str, tuple[int, ...], str | None, bool]) -> None:
    line, tag, numbers, desc, _ = case
    if " " in tag.rstrip():
        return  # a spaced tag in unaligned text is ambiguous by nature; covered by example tests
    fast = read_row(line, 4, None)
    assert fast == parse_row_grammar(line, 4)
    assert fast is not None and (fast.numbers, fast.description) == (numbers, desc)
