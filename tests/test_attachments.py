"""Attachments as they come: stray notes in a folder or zip, two outputs pasted into one file."""

from __future__ import annotations

import pytest
from cli_helpers import SAMPLES

from parsers import InputError, parse


def test_zip_with_stray_notes_reads_the_rest_and_warns():
    result = parse([SAMPLES / "attachment_with_notes.zip"])
    assert [s.source.rsplit("!", 1)[1] for s in result.snapshots] == ["screen_0915.txt"]
    left_out = sorted(w.source.rsplit("!", 1)[1] for w in result.warnings if "left out" in w.message)
    assert left_out == ["notes.txt", "readme.txt"]


def test_folder_with_only_stray_files_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to see\n", encoding="utf-8")
    (tmp_path / "empty.log").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="nothing usable in 2 files"):
        parse([tmp_path])


def test_a_single_non_pool_file_keeps_its_own_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("nothing to see\n", encoding="utf-8")
    with pytest.raises(InputError, match="not pool data"):
        parse([path])


def test_two_formats_in_one_file_are_both_read():
    result = parse([SAMPLES / "poolmon_then_poolused.txt"])
    assert [s.format for s in result.snapshots] == ["poolmon", "poolused"]
    clean_screen = parse([SAMPLES / "console_session1.txt"]).snapshots[0]
    clean_table = parse([SAMPLES / "windbg_poolused_modern.txt"]).snapshots[0]
    assert result.snapshots[0].rows == clean_screen.rows
    assert result.snapshots[1].rows == clean_table.rows
    second = [w for w in result.warnings if "second format" in w.message]
    assert len(second) == 1 and second[0].line == 37 and "poolused" in second[0].message


def test_mapped_driver_cut_by_the_console_keeps_no_bracket():
    from analyzer.owners.evidence import parse_mapped_driver

    assert parse_mapped_driver("[ntfs.sys  -  General Allo") == [("ntfs.sys", "General Allo")]
    assert parse_mapped_driver("[abc][abc.sys - que") == [("abc.sys", "que"), ("abc", "")]


def test_tab_inside_a_tag_and_rows_indented_unlike_their_table():
    from parsers import parse_text

    text = (" Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n\n"
            " Abcd Nonp     1520331 (  12)    1519870 (  10)      461   147520 (   640)    320\n"
            "Io\tNonp       88120 (   0)      87993 (   0)      127    40640 (     0)    320\n"
            "   Efgh Paged        731 (   0)        700 (   0)       31     9920 (     0)    320\n")
    [snap] = parse_text(text).snapshots
    assert snap.rows.keys() == [("Abcd", "nonpaged"), ("Io  ", "nonpaged"), ("Efgh", "paged")]
    assert snap.rows.get("Io  ", "nonpaged").outstanding == 127
