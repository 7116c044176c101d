"""The slabinfo row grammar and its fast path split every row the same way."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsers.slabinfo import LAYOUT_2X, fit_row, split_row_fast, split_row_grammar

name_chars = st.sampled_from(list("abcxyz_-()0123456789 "))
names = st.text(name_chars, min_size=1, max_size=20).filter(lambda s: s.strip() != "")
numbers = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=8)
labels = st.sampled_from(["", "tunables", "slabdata", "globalstat", "cpustat", "x1_y"])
sections = st.lists(st.tuples(labels, numbers), max_size=4)
spaces = st.sampled_from([" ", "  ", "\t", "   "])


@st.composite
def rows(draw: st.DrawFn) -> str:
    sep = draw(spaces)
    text = draw(names) + sep + sep.join(map(str, draw(numbers)))
    for label, values in draw(sections):
        text += f"{draw(spaces)}:{draw(spaces)}" + (label + " " if label else "") + " ".join(map(str, values))
    return text


@given(rows())
def test_fast_path_agrees_with_grammar_on_rows(line: str) -> None:
    assert split_row_fast(line) == split_row_grammar(line)


@given(st.text(st.sampled_from(list("ab1 :_9x\t")), max_size=40))
def test_fast_path_agrees_with_grammar_on_noise(line: str) -> None:
    assert split_row_fast(line) == split_row_grammar(line)


def test_a_real_row_splits_into_name_lead_and_sections() -> None:
    line = "file lock cache    38   42   92   1    1 : tunables  120   60    8 : slabdata  1  1  0"
    expected = ("file lock cache", (38, 42, 92, 1, 1), (("tunables", (120, 60, 8)), ("slabdata", (1, 1, 0))))
    assert split_row_fast(line) == expected
    assert split_row_grammar(line) == expected
    name, fields, note = fit_row(expected, LAYOUT_2X)
    assert (name, fields["active_objs"], fields["objsize"], fields["batchcount"], note) == (
        "file lock cache", 38, 92, 60, None)
