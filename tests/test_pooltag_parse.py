"""pooltag.txt / localtag.txt: every oddity of FORMATS.md §7, and grammar/fast-path agreement."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.errors import Diagnostics, ErrorLevel, ParseError
from parsers.pooltag import (
    EntryFields,
    format_localtag,
    is_binary,
    pad_tag,
    parse_entry_grammar,
    parse_pooltag_string,
    read_pooltag_file,
    split_entry,
)

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "pooltag_sample.txt"


def entries_of(text: str) -> list[tuple[str, str | None, str, int | None]]:
    return [(e.pattern, e.binary, e.description, e.line) for e in parse_pooltag_string(text, "t.txt")]


def test_sample_reads_every_entry_in_order() -> None:
    diag = Diagnostics()
    table = read_pooltag_file(SAMPLE, diag)
    got = [(e.pattern, e.binary, e.description, e.line) for e in table]
    assert got == [
        ("Abc*", "abcfilt.sys", "Abc filter, any tag starting with Abc", 5),
        ("Abcd", "abcfilt.sys", "Abc filter request buffers", 6),
        ("Abcd", "abcmon.sys", "Abc monitor context (the same tag claimed by a second driver)", 7),
        ("abcD", "abclow.sys", "lower-case twin of Abcd: tags are case-sensitive", 8),
        ("Dh 1", "<unknown>", "tag with a space inside", 9),
        ("Wx??", "nt!wx", "wildcard: ? stands for one character", 10),
        ("Zq  ", "zqbus.sys", "short tag, PoolMon pads it to four characters", 11),
        ("Efgh", "efgnet.sys", "packet buffers - receive side - per queue", 12),
        ("Ijkl", None, "Ijkl objects without any binary named", 13),
        ("Mnop", "mnopvol.sys", "dash glued to the text on both sides", 14),
        ("Qrst", "qrstio.sys", "double spaces after the dashes", 15),
        (
            "Uvwx",
            "uvwx.sys",
            "work items for the Uvwx service queued at DISPATCH_LEVEL, freed by the worker "
            "(indented lines continue the entry above)",
            16,
        ),
        ("@Mgr", "mgrport.sys", "tag starting with @", 21),
        ("_Ptr", "ptrsvc.sys", "tag starting with an underscore", 22),
        ("Wdrq", "wdrfilt.sys", "Widget filter request queue (the leaking tag of leak_appended.log)", 23),
        ("Cfgb", "cfgmgr.sys", "configuration blocks (the leaking tag of the poolsnap folder)", 24),
        ("Ntfx", "<multiple>", "shared by several file-system drivers", 25),
        ("MmCa", "nt!mm", "Mm control areas", 26),
    ]
    skipped = [(w.line, w.message) for w in diag.skipped]
    assert skipped == [
        (19, "a binary with no tag before it"),
        (20, "tag 'Tyop5' has 5 characters; pool tags have at most 4"),
    ]
    assert [str(w) for w in diag.warnings()] == [
        f"{SAMPLE}:19: 2 lines skipped; first at {SAMPLE}:19: a binary with no tag before it"
    ]


def test_comments_rem_and_slashes() -> None:
    text = "rem a comment\nREM upper case too\n// newer style\nrem\nAbcd - a.sys - x\n"
    assert entries_of(text) == [("Abcd", "a.sys", "x", 5)]


def test_a_real_tag_named_rem_is_an_entry() -> None:
    assert entries_of("Rem  - remote.sys - remote buffers\nrem not this one\n") == [
        ("Rem ", "remote.sys", "remote buffers", 1)
    ]


def test_description_with_dashes_and_no_binary() -> None:
    assert entries_of("Efgh - Some thing - with - dashes\n") == [("Efgh", None, "Some thing - with - dashes", 1)]


def test_binary_forms() -> None:
    text = "\n".join(
        [
            "Aa01 - abc.sys - file name",
            "Aa02 - nt!io - debugger component",
            "Aa03 - <unknown> - unknown",
            "Aa04 - <multiple> - several",
            "Aa05 - abc.sys, def.sys - a list",
            "Aa06 - win32k.sys",
            "Aa07 - HAL.DLL - upper case",
        ]
    )
    assert [(p, b) for p, b, _, _ in entries_of(text)] == [
        ("Aa01", "abc.sys"),
        ("Aa02", "nt!io"),
        ("Aa03", "<unknown>"),
        ("Aa04", "<multiple>"),
        ("Aa05", "abc.sys, def.sys"),
        ("Aa06", "win32k.sys"),
        ("Aa07", "HAL.DLL"),
    ]


def test_tabs_and_irregular_spacing() -> None:
    assert entries_of("Abcd\t-\tabc.sys\t-\tTabbed\nEf  -   ef.sys      -     spaced   \n") == [
        ("Abcd", "abc.sys", "Tabbed", 1),
        ("Ef  ", "ef.sys", "spaced", 2),
    ]


def test_indented_line_without_previous_entry_is_read_as_entry() -> None:
    assert entries_of("   Abcd - abc.sys - indented first line\n") == [("Abcd", "abc.sys", "indented first line", 1)]


def test_indented_full_entry_after_an_entry_stays_an_entry() -> None:
    text = "Abcd - abc.sys - first\n  Efgh - efg.sys - indented entry\n  more words for Efgh\n"
    assert entries_of(text) == [
        ("Abcd", "abc.sys", "first", 1),
        ("Efgh", "efg.sys", "indented entry more words for Efgh", 2),
    ]


def test_indented_unknown_alone_is_skipped_not_a_continuation() -> None:
    diag = Diagnostics()
    from parsers.pooltag import parse_pooltag_text
    from parsers.textio import text_source

    table = parse_pooltag_text(text_source("FtV  - <unknown>    - Fault tolerance driver\n       <unknown>\n", "p.txt"),
                               diag)
    assert [(e.pattern, e.description) for e in table] == [("FtV ", "Fault tolerance driver")]
    assert [str(w) for w in diag.skipped] == ["p.txt:2: a binary with no tag before it"]


def test_tag_with_space_and_wildcard() -> None:
    assert entries_of("Gh ? - win32k.sys   -     Gdi handle manager object types\n") == [
        ("Gh ?", "win32k.sys", "Gdi handle manager object types", 1)
    ]


def test_tag_starting_with_a_dash() -> None:
    assert entries_of("-Xyz - xyz.sys - punctuation first\n") == [("-Xyz", "xyz.sys", "punctuation first", 1)]


def test_unreadable_lines_are_reported_with_file_and_line() -> None:
    diag = Diagnostics()
    from parsers.pooltag import parse_pooltag_text
    from parsers.textio import text_source

    table = parse_pooltag_text(text_source("Abcd - a.sys - ok\njust some words\nAbcdef - b.sys - long\n", "f.txt"),
                               diag)
    assert len(table) == 1
    assert [str(w) for w in diag.skipped] == [
        "f.txt:2: not a `TAG - BINARY - DESCRIPTION` entry",
        "f.txt:3: tag 'Abcdef' has 6 characters; pool tags have at most 4",
    ]


def test_strict_raises_on_first_bad_line() -> None:
    with pytest.raises(ParseError) as info:
        parse_pooltag_string("Abcd - a.sys - ok\nTyop5 - t.sys - typo\n", "s.txt", ErrorLevel.RAISE)
    assert str(info.value) == "s.txt:2: tag 'Tyop5' has 5 characters; pool tags have at most 4 >>Tyop5 - t.sys - typo<<"


def test_file_with_no_entries_notes_it() -> None:
    diag = Diagnostics()
    from parsers.pooltag import parse_pooltag_text
    from parsers.textio import text_source

    parse_pooltag_text(text_source("hello\nworld\n", "x.txt"), diag)
    assert "x.txt: no pool tag entries found" in [str(w) for w in diag.warnings()]


def test_utf16_file_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "localtag.txt"
    path.write_bytes("Abcd - abc.sys - from a UTF-16 file\r\n".encode("utf-16"))
    assert [(e.pattern, e.binary) for e in read_pooltag_file(path)] == [("Abcd", "abc.sys")]


def test_pad_tag() -> None:
    assert pad_tag("Zq") == "Zq  "
    assert pad_tag("Abcd") == "Abcd"
    assert pad_tag("Ab*") == "Ab*"
    assert pad_tag("W?") == "W?  "


def test_localtag_round_trip() -> None:
    text = format_localtag([("Abcd", "abc.sys", "call-site"), ("Zq", None, ""), ("Ef-g", "e.sys", "a - b")])
    assert text == "Abcd - abc.sys - call-site\nZq   - <unknown>\nEf-g - e.sys - a - b\n"
    assert entries_of(text) == [
        ("Abcd", "abc.sys", "call-site", 1),
        ("Zq  ", "<unknown>", "", 2),
        ("Ef-g", "e.sys", "a - b", 3),
    ]


def test_is_binary() -> None:
    assert is_binary("abc.sys") and is_binary("nt!io") and is_binary("<unknown>")
    assert not is_binary("Some description") and not is_binary("e.g. this")


# -- the grammar and the fast path agree ---------------------------------------------

_TAG_CHARS = "AbcdXyz019 @_-.*?!"
_tags = st.text(alphabet=_TAG_CHARS, min_size=1, max_size=5).filter(lambda t: not t[0].isspace())
_seps = st.sampled_from([" - ", "  -  ", " -", "\t-\t", " -  ", "   - "])
_binaries = st.sampled_from(
    ["abc.sys", "nt!io", "<unknown>", "<multiple>", "win32k.sys", "a.sys, b.sys", "HAL.DLL", "x-y.sys", ""]
)
_words = st.text(alphabet="abc XYZ-.,!:()'019", max_size=30)


@st.composite
def entry_lines(draw: st.DrawFn) -> str:
    line = draw(_tags) + draw(_seps)
    binary = draw(_binaries)
    if binary:
        line += binary
        if draw(st.booleans()):
            line += draw(_seps) + draw(_words)
    else:
        line += draw(_words)
    return line.strip()


@given(entry_lines())
def test_grammar_and_fast_path_agree_on_entries(line: str) -> None:
    assert split_entry(line) == parse_entry_grammar(line)


@given(st.text(alphabet="Ab -.!<>\t", min_size=1, max_size=25).map(str.strip).filter(bool))
def test_grammar_and_fast_path_agree_on_noise(line: str) -> None:
    assert split_entry(line) == parse_entry_grammar(line)


def test_grammar_reads_named_fields() -> None:
    assert parse_entry_grammar("Abcd - abc.sys - Abc - buffers") == EntryFields("Abcd", "abc.sys", "Abc - buffers")
    assert parse_entry_grammar("no dash here") is None
