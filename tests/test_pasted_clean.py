"""Text pasted from mail, forums, markdown and chat (FORMATS.md §4)."""

from __future__ import annotations

import pytest
from poolmon_helpers import SCREEN, SCREEN_ROWS, messages, parse_str, rows_of

from parsers.pasted import clean, looks_pasted, unflatten

ROWS = SCREEN.split("\n")


def test_clean_screen_is_not_treated_as_pasted() -> None:
    assert not looks_pasted(SCREEN)


def test_collapsed_spaces_keep_tags_and_numbers() -> None:
    text = "\n".join(" ".join(line.split()) for line in ROWS)
    result = parse_str(text)
    assert rows_of(result) == SCREEN_ROWS
    assert result.snapshots[0].totals["paged_kb"] == 402116


def test_tabs_mixed_in() -> None:
    text = SCREEN.replace(" Io   Nonp    ", " Io\tNonp\t").replace("   1519870 ", "\t1519870\t")
    assert rows_of(parse_str(text)) == SCREEN_ROWS


def test_markdown_fence_heading_indent_escapes_and_trailing_spaces() -> None:
    body = "\n".join("    " + line + "  " for line in ROWS[4:])
    text = (
        "## Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n"
        "Here is what poolmon showed \\*after\\* the update:\n\n" + body
    )
    result = parse_str(text, "post.md")
    assert rows_of(result) == SCREEN_ROWS
    fenced = "```\n" + SCREEN + "```\n"
    assert rows_of(parse_str(fenced)) == SCREEN_ROWS


def test_markdown_escaped_tag_characters() -> None:
    text = SCREEN.replace(" Qrst Paged", " Q\\_r\\* Paged").replace("```", "")
    result = parse_str(text)
    assert rows_of(result)[3][0] == "Q_r*"


@pytest.mark.parametrize("prefix", ["> ", ">> ", "> > ", ">"])
def test_mail_quoting(prefix: str) -> None:
    text = "\n".join(prefix + line for line in ROWS)
    assert rows_of(parse_str(text)) == SCREEN_ROWS


def test_hard_wrapped_rows_are_joined() -> None:
    wrapped = []
    for line in ROWS:
        if "Nonp" in line or "Paged" in line:
            cut = line.rindex(" ", 0, 60)  # mail clients wrap at a space near column 72
            wrapped.append("> " + line[:cut].rstrip())
            wrapped.append("> " + line[cut:].lstrip())
        else:
            wrapped.append("> " + line)
    result = parse_str("\n".join(wrapped), "mail.txt")
    assert rows_of(result) == SCREEN_ROWS
    assert result.warnings == []


def test_quoted_printable_leftovers() -> None:
    lines = []
    for line in ROWS:
        if len(line) > 60:
            lines.append(line[:60].replace(" ", "=20", 2) + "=")
            lines.append(line[60:])
        else:
            lines.append(line)
    result = parse_str("\n".join(lines))
    assert rows_of(result) == SCREEN_ROWS


def test_elisions_and_prompt_lines() -> None:
    text = "C:\\tools> poolmon.exe -b\n" + "\n".join(ROWS[:6]) + "\n[snip]\n" + "\n".join(ROWS[7:]) + "\n"
    result = parse_str(text, "forum.txt")
    assert [r[0] for r in rows_of(result)] == ["Abcd", "Dh 2", "Qrst"]
    assert result.snapshots[0].extra["partial"] is True
    assert messages(result) == ["forum.txt:8: rows were left out here ('...' or [snip]); the snapshot is partial"]


def test_whole_output_flattened_onto_one_line() -> None:
    text = " ".join(" ".join(line.split()) for line in ROWS)
    result = parse_str(text, "chat.txt")
    assert rows_of(result) == SCREEN_ROWS
    assert result.snapshots[0].totals["nonpaged_kb"] == 310228
    assert result.snapshots[0].scope == "system"


def test_flattened_with_mapped_drivers() -> None:
    line = (
        "Tag Type Allocs Frees Diff Bytes Per Alloc Mapped_Driver "
        "Abcd Nonp 5 (0) 3 (0) 2 64 (0) 32 [abc.sys - queue] "
        "Dh 2 Paged 5 (0) 3 (0) 2 64 (0) 32 Unknown Driver "
        "Io Paged 5 (0) 3 (0) 2 64 (0) 32"
    )
    parts = unflatten(line)
    assert parts[1:] == [
        " Abcd Nonp 5 (0) 3 (0) 2 64 (0) 32 [abc.sys - queue]",
        " Dh 2 Paged 5 (0) 3 (0) 2 64 (0) 32 Unknown Driver",
        " Io Paged 5 (0) 3 (0) 2 64 (0) 32",
    ]


def test_lost_trailing_spaces_in_tags_are_padded_back() -> None:
    text = SCREEN.replace(" Io   Nonp  ", " Io Nonp    ")
    assert rows_of(parse_str(text))[1][0] == "Io  "


def test_dropped_delta_columns() -> None:
    text = "\n".join(_drop_changes(line) for line in ROWS)
    result = parse_str(text)
    assert rows_of(result) == SCREEN_ROWS
    assert result.snapshots[0].rows.get("Abcd", "nonpaged").allocs_change is None  # type: ignore[union-attr]


def _drop_changes(line: str) -> str:
    import re

    return re.sub(r"\s*\(\s*-?\d+\)", "", line)


def test_clean_keeps_original_line_numbers() -> None:
    text = "```\n> hello\n" + ROWS[5] + "=\n" + "\n```"
    cleaned = clean(text)
    assert cleaned.numbers[-1] >= 3


def test_mapped_driver_wrapped_inside_its_brackets() -> None:
    text = (
        "> " + ROWS[3] + "  Mapped_Driver\n"
        "> " + ROWS[5] + " [ntfs.sys  -  Some\n"
        "> subsystem]\n"
        "> " + ROWS[6] + " [nt!io - general]\n"
    )
    snap = parse_str(text, "mail.txt").snapshots[0]
    assert snap.rows.mapped_driver == ["[ntfs.sys  -  Some subsystem]", "[nt!io - general]"]
