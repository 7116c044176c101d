"""A `!poolused` table reads the same alone and inside a whole debugger log among other commands."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import parse_text

WIDTHS = (9, 12, 10, 12)
HEADER = "               NonPaged                  Paged\n Tag     Allocs         Used     Allocs         Used\n\n"
OTHER_BLOCKS = [
    "0: kd> !vm\nNonPagedPool Usage:        4120 (      16480 Kb)\nCommit limit:  2457600 (  9830400 Kb)\n",
    "0: kd> lm\nstart             end                 module name\n"
    "fffff801`1b200000 fffff801`1b21c000   abcfilt    (deferred)\n",
    "0: kd> k\n # Child-SP          RetAddr           Call Site\n00 fffff801`2a4f7a08 nt!KeBugCheckEx\n",
    "0: kd> !analyze -v\nBUGCHECK_CODE:  19\nBUGCHECK_P1: 20\n",
]

tags = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), min_size=4,
               max_size=4)
rows = st.lists(
    st.tuples(tags, st.tuples(*(st.integers(0, 10 ** (w - 1) - 1) for w in WIDTHS)), st.booleans()),
    min_size=1, max_size=12, unique_by=lambda r: r[0],
)


def _table(flags: int, body: list[tuple[str, tuple[int, ...], bool]]) -> str:
    lines = [f"0: kd> !poolused {flags}", " Sorting by Tag", "", HEADER.rstrip("\n")]
    for tag, nums, described in body:
        line = " " + tag + "".join(" " + str(x).rjust(w) for x, w in zip(nums, WIDTHS, strict=True))
        if described:
            line += f"\tOwner of {tag} , Binary: {tag.lower()}.sys"
        lines.append(line)
    total = [sum(r[1][i] for r in body) for i in range(4)]
    lines.append(" TOTAL" + "".join(" " + str(x).rjust(w) for x, w in zip(total, WIDTHS, strict=True))[1:])
    return "\n".join(lines) + "\n"


@settings(max_examples=60)
@given(rows, st.lists(st.sampled_from(OTHER_BLOCKS), max_size=4), st.integers(0, 4))
def test_table_reads_the_same_in_a_log(body: list, others: list[str], where: int) -> None:  # type: ignore[type-arg]
    table = _table(2, body)
    alone = parse_text(table, "t.txt", input_format="poolused").snapshots
    blocks = list(others)
    blocks.insert(min(where, len(blocks)), table)
    log = "".join(blocks)
    inside = parse_text(log, "t.txt", input_format="transcript").snapshots
    assert len(alone) == len(inside) == 1
    assert alone[0].rows == inside[0].rows
    assert alone[0].extra["descriptions"] == inside[0].extra["descriptions"]
    assert alone[0].totals["nonpaged_kb"] == inside[0].totals["nonpaged_kb"]
