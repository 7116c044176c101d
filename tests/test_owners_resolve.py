"""Owner resolution: PoolMon's matching rules, source precedence with provenance, input evidence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analyzer.owners import OwnerCandidate, OwnerResolver, add_user_tag_file, build_resolver
from analyzer.owners.evidence import parse_description, parse_mapped_driver
from analyzer.owners.sources import debugger_pooltag_paths, default_tag_files, user_data_dir, user_tags_dir
from parsers import parse
from parsers.errors import InputError
from parsers.model import NONPAGED, PAGED, Row, RowTable, Snapshot

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "pooltag_sample.txt"


@pytest.fixture(autouse=True)
def no_user_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test gets an empty user folder and no POOLSCOPE_TAGS."""
    data = tmp_path / "data"
    monkeypatch.setenv("POOLSCOPE_DATA_DIR", str(data))
    monkeypatch.delenv("POOLSCOPE_TAGS", raising=False)
    return data


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def owners(resolver: OwnerResolver, tag: str) -> list[tuple[str, str | None, str]]:
    return [(c.pattern, c.binary, c.source) for c in resolver.candidates(tag)]


# -- matching rules ---------------------------------------------------------------------


def test_exact_before_wildcard_and_duplicates_kept(tmp_path: Path) -> None:
    r = build_resolver([str(SAMPLE)], use_defaults=False)
    src = f"--tags: {SAMPLE}"
    assert owners(r, "Abcd") == [
        ("Abcd", "abcfilt.sys", src),
        ("Abcd", "abcmon.sys", src),
        ("Abc*", "abcfilt.sys", src),
    ]
    assert r.best("Abcd") == "abcfilt.sys - Abc filter request buffers"
    assert [c.line for c in r.candidates("Abcd")] == [6, 7, 5]


def test_star_is_any_suffix_and_question_mark_one_character() -> None:
    r = build_resolver([str(SAMPLE)], use_defaults=False)
    assert r.best("Abc ") == "abcfilt.sys - Abc filter, any tag starting with Abc"
    assert r.best("Abc") == "abcfilt.sys - Abc filter, any tag starting with Abc"
    assert r.best("Wxyz") == "nt!wx - wildcard: ? stands for one character"
    assert r.best("Wx") == "nt!wx - wildcard: ? stands for one character"  # padded: "Wx  "
    assert r.best("Wxyzz") is None
    assert r.best("Wyyz") is None


def test_case_sensitive() -> None:
    r = build_resolver([str(SAMPLE)], use_defaults=False)
    assert r.best("abcD") == "abclow.sys - lower-case twin of Abcd: tags are case-sensitive"
    assert r.best("ABCD") is None
    assert r.best("abcd") is None


def test_short_tags_are_padded_both_ways() -> None:
    r = build_resolver([str(SAMPLE)], use_defaults=False)
    assert r.best("Zq") == r.best("Zq  ") == "zqbus.sys - short tag, PoolMon pads it to four characters"
    assert r.best("Dh 1") == "<unknown> - tag with a space inside"


def test_every_oddity_resolves() -> None:
    r = build_resolver([str(SAMPLE)], use_defaults=False)
    assert r.best("Efgh") == "efgnet.sys - packet buffers - receive side - per queue"
    assert r.best("Ijkl") == "Ijkl objects without any binary named"
    assert r.best("Mnop") == "mnopvol.sys - dash glued to the text on both sides"
    assert r.best("Qrst") == "qrstio.sys - double spaces after the dashes"
    assert r.best("Uvwx") == (
        "uvwx.sys - work items for the Uvwx service queued at DISPATCH_LEVEL, freed by the worker "
        "(indented lines continue the entry above)"
    )
    assert r.best("@Mgr") == "mgrport.sys - tag starting with @"
    assert r.best("_Ptr") == "ptrsvc.sys - tag starting with an underscore"
    assert r.best("Tyop") is None  # the 5-character typo is reported, never matched
    assert [str(w) for w in r.warnings] == [
        f"{SAMPLE}:19: 2 lines skipped; first at {SAMPLE}:19: a binary with no tag before it"
    ]


def test_more_specific_wildcard_first(tmp_path: Path) -> None:
    path = write(tmp_path / "w.txt", "A*   - any.sys - broad\nAb?d - abd.sys - narrow\nAb*  - ab.sys - middle\n")
    r = build_resolver([path], use_defaults=False)
    assert [c.pattern for c in r.candidates("Abcd")] == ["Ab?d", "Ab*", "A*"]


def test_empty_resolver() -> None:
    r = OwnerResolver.empty()
    assert r.best("Abcd") is None
    assert r.candidates("Abcd") == []
    assert r.annotate("Abcd") == {"owner": None, "owner_candidates": []}
    assert len(r) == 0


# -- sources and precedence ---------------------------------------------------------------


def test_tags_files_in_the_order_given(tmp_path: Path) -> None:
    first = write(tmp_path / "first.txt", "Abcd - first.sys - from the first file\n")
    second = write(tmp_path / "second.txt", "Abcd - second.sys - from the second file\n")
    r = build_resolver([first, second], use_defaults=False)
    assert owners(r, "Abcd") == [
        ("Abcd", "first.sys", f"--tags: {first}"),
        ("Abcd", "second.sys", f"--tags: {second}"),
    ]
    assert r.sources == [f"--tags: {first}", f"--tags: {second}"]


def test_precedence_tags_env_user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         no_user_sources: Path) -> None:
    cli = write(tmp_path / "cli.txt", "Abcd - cli.sys - given with --tags\n")
    env1 = write(tmp_path / "env1.txt", "Abcd - env1.sys - POOLSCOPE_TAGS first\n")
    env2 = write(tmp_path / "env2.txt", "Abcd - env2.sys - POOLSCOPE_TAGS second\n")
    monkeypatch.setenv("POOLSCOPE_TAGS", os.pathsep.join([env1, env2]))
    user = no_user_sources / "tags"
    user.mkdir(parents=True)
    (user / "mine.txt").write_text("Abcd - user.sys - my own file\n")
    r = build_resolver([cli])
    assert owners(r, "Abcd") == [
        ("Abcd", "cli.sys", f"--tags: {cli}"),
        ("Abcd", "env1.sys", f"POOLSCOPE_TAGS: {env1}"),
        ("Abcd", "env2.sys", f"POOLSCOPE_TAGS: {env2}"),
        ("Abcd", "user.sys", f"user data: {user / 'mine.txt'}"),
    ]
    assert r.best("Abcd") == "cli.sys - given with --tags"
    # use_defaults=False leaves out everything but --tags
    assert owners(build_resolver([cli], use_defaults=False), "Abcd") == [("Abcd", "cli.sys", f"--tags: {cli}")]


def test_exact_from_a_later_source_beats_an_earlier_wildcard(tmp_path: Path) -> None:
    wild = write(tmp_path / "wild.txt", "Ab*  - wild.sys - family\n")
    exact = write(tmp_path / "exact.txt", "Abcd - exact.sys - the tag itself\n")
    r = build_resolver([wild, exact], use_defaults=False)
    assert r.best("Abcd") == "exact.sys - the tag itself"


def test_missing_tags_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        build_resolver([str(tmp_path / "nope.txt")])
    assert str(info.value) == f"{tmp_path / 'nope.txt'}: no such file"


def test_strict_applies_to_named_files_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parsers.errors import ParseError

    odd = write(tmp_path / "odd.txt", "Abcd - a.sys - fine\nTyop5 - t.sys - typo\n")
    with pytest.raises(ParseError, match=r"odd\.txt:2: tag 'Tyop5' has 5 characters"):
        build_resolver([odd], errors="raise")
    monkeypatch.setenv("POOLSCOPE_TAGS", odd)
    r = build_resolver([], errors="raise")
    assert r.best("Abcd") == "a.sys - fine"
    assert [w.line for w in r.warnings] == [2]


def test_missing_env_file_is_only_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POOLSCOPE_TAGS", str(tmp_path / "gone.txt"))
    r = build_resolver()
    assert [str(w) for w in r.warnings] == [
        f"{tmp_path / 'gone.txt'}: tag file from POOLSCOPE_TAGS not read: no such file"
    ]


def test_user_data_dir_conventions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert user_data_dir() == Path(os.environ["POOLSCOPE_DATA_DIR"])
    monkeypatch.delenv("POOLSCOPE_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if os.name != "nt":
        assert user_data_dir() == tmp_path / "xdg" / "poolscope"
        assert user_tags_dir() == tmp_path / "xdg" / "poolscope" / "tags"
        monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
        assert user_data_dir() == Path.home() / ".local" / "share" / "poolscope"


def test_debugger_install_paths_on_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"ProgramFiles(x86)": str(tmp_path / "pf86"), "ProgramFiles": str(tmp_path / "pf")}
    paths = debugger_pooltag_paths(env)
    expected = tmp_path / "pf86" / "Windows Kits" / "10" / "Debuggers" / "x64" / "triage" / "pooltag.txt"
    assert paths[0] == expected
    assert tmp_path / "pf" / "Debugging Tools for Windows (x64)" / "triage" / "pooltag.txt" in paths
    # Only consulted on Windows; simulate one with a kit installed under the fake Program Files.
    x86 = tmp_path / "pf86" / "Windows Kits" / "10" / "Debuggers" / "x86" / "triage" / "pooltag.txt"
    x86.parent.mkdir(parents=True)
    x86.write_text("Abcd - kit.sys - from the kit\n")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    refs = default_tag_files(platform="win32")
    assert [(r.origin, r.path) for r in refs] == [("debugging tools", x86)]
    assert default_tag_files(platform="linux") == []


def test_add_user_tag_file(tmp_path: Path, no_user_sources: Path) -> None:
    src = write(tmp_path / "localtag.txt", "Qwer - qwer.sys - from poolmon /c\n")
    dest = add_user_tag_file(src)
    assert dest == no_user_sources / "tags" / "localtag.txt"
    assert dest.read_text() == "Qwer - qwer.sys - from poolmon /c\n"
    assert build_resolver().best("Qwer") == "qwer.sys - from poolmon /c"


def test_add_rejects_a_file_without_entries(tmp_path: Path) -> None:
    src = write(tmp_path / "notes.txt", "this is not\na tag file\n")
    with pytest.raises(InputError, match="no pool tag entries found"):
        add_user_tag_file(src)


# -- evidence from the inputs ---------------------------------------------------------


def test_poolused_description_forms() -> None:
    assert parse_description("Some subsystem , Binary: nt!xyz") == ("nt!xyz", "Some subsystem", True)
    assert parse_description("UNKNOWN pooltag 'Xyz ', please update pooltag.txt") == (
        "<unknown>", "not in the debugger's pooltag.txt", False)
    assert parse_description("File objects") == (None, "File objects", True)
    assert parse_description("Pooltag Abcd : Abc buffers, Binary : abc.sys") == (
        "abc.sys", "Pooltag Abcd : Abc buffers", True)
    assert parse_description("   ") is None


def test_mapped_driver_forms() -> None:
    assert parse_mapped_driver("[ntfs.sys  -  Some subsystem]") == [("ntfs.sys", "Some subsystem")]
    # The bracket with a binary and a description comes before /c's bare driver name.
    assert parse_mapped_driver("[abc][abc.sys - queue]") == [("abc.sys", "queue"), ("abc", "")]
    assert parse_mapped_driver("[abc][Font stuff]") == [("abc", ""), (None, "Font stuff")]
    assert parse_mapped_driver("[nt!ps - Thread objects]") == [("nt!ps", "Thread objects")]
    assert parse_mapped_driver("[Font related stuff]") == [(None, "Font related stuff")]
    assert parse_mapped_driver("Unknown Driver") == []


def snapshot_with_evidence() -> Snapshot:
    rows = RowTable.from_rows([
        Row("Wdrq", NONPAGED, 10, 5, 5, 640, mapped_driver="[wdrfilt.sys - Widget requests]"),
        Row("Zz  ", PAGED, 1, 0, 1, 64, mapped_driver="Unknown Driver"),
    ])
    return Snapshot("cap.log", 0, "poolmon", rows,
                    extra={"descriptions": {"Abcd": "UNKNOWN pooltag 'Abcd', please update pooltag.txt",
                                            "Efgh": "Some subsystem , Binary: nt!xyz"}})


def test_input_evidence_has_lowest_precedence_and_provenance(tmp_path: Path) -> None:
    snap = snapshot_with_evidence()
    r = build_resolver([], [snap], use_defaults=False)
    assert owners(r, "Wdrq") == [("Wdrq", "wdrfilt.sys", "input evidence: cap.log (Mapped_Driver)")]
    assert owners(r, "Efgh") == [("Efgh", "nt!xyz", "input evidence: cap.log (!poolused)")]
    assert r.best("Efgh") == "nt!xyz - Some subsystem"
    # UNKNOWN pooltag is kept as a candidate (the debugger did not know it) but never named owner.
    assert owners(r, "Abcd") == [("Abcd", "<unknown>", "input evidence: cap.log (!poolused)")]
    assert r.best("Abcd") is None
    assert r.candidates("Zz") == []
    file_owner = write(tmp_path / "t.txt", "Wdrq - other.sys - from a file\n")
    r2 = build_resolver([file_owner], [snap], use_defaults=False)
    assert r2.best("Wdrq") == "other.sys - from a file"
    assert [c.source for c in r2.candidates("Wdrq")] == [f"--tags: {file_owner}",
                                                         "input evidence: cap.log (Mapped_Driver)"]


def test_evidence_from_real_samples() -> None:
    snaps = parse([str(REPO / "samples" / "leak_appended.log"),
                   str(REPO / "samples" / "windbg_poolused_modern.txt")]).snapshots
    r = build_resolver([], snaps, use_defaults=False)
    assert r.best("Wdrq") == "wdrfilt.sys - Widget filter request queue"
    assert r.best("Io") == "nt!io - general IO allocations"
    assert r.best("Abcd") is None


def test_annotate_is_the_json_row_shape() -> None:
    r = build_resolver([str(SAMPLE)], use_defaults=False)
    assert r.annotate("Zq") == {
        "owner": "zqbus.sys - short tag, PoolMon pads it to four characters",
        "owner_candidates": [
            {"pattern": "Zq  ", "binary": "zqbus.sys", "description": "short tag, PoolMon pads it to four characters",
             "source": f"--tags: {SAMPLE}", "line": 11}
        ],
    }


def test_resolver_is_the_owners_callable_of_the_json_contract() -> None:
    result = parse([str(REPO / "samples" / "leak_appended.log")])
    r = build_resolver([str(SAMPLE)], result.snapshots, use_defaults=False)
    rows = result.to_dict(r)["snapshots"][0]["rows"]
    by_tag = {row["tag"]: row["owner"] for row in rows}
    assert by_tag["Wdrq"] == "wdrfilt.sys - Widget filter request queue (the leaking tag of leak_appended.log)"


def test_candidate_owner_text() -> None:
    assert OwnerCandidate("Abcd", "a.sys", "", "x").owner == "a.sys"
    assert OwnerCandidate("Abcd", None, "words", "x").owner == "words"
    assert OwnerCandidate("Abcd", None, "", "x").owner is None
