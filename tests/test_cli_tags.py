"""``poolscope tags lookup / add / scan`` as a user runs them: exact output, exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from cli_helpers import REPO, poolscope
from scan_helpers import Built, drivers, pick  # noqa: F401

SAMPLE = "samples/pooltag_sample.txt"
SKIPPED = (f"warning: {SAMPLE}:19: 2 lines skipped; first at {SAMPLE}:19: a binary with no tag before it")


def test_lookup_table() -> None:
    run = poolscope("tags", "lookup", "Abcd", "Zq", "Wxyz", "Nope", "--tags", SAMPLE, "--no-defaults")
    assert run.code == 0
    assert run.out == (
        "Tag    Pattern   Binary        Description                                                     Source\n"
        + "─" * 132 + "\n"
        "Abcd   Abcd      abcfilt.sys   Abc filter request buffers                                      "
        "--tags: samples/pooltag_sample.txt:6\n"
        "Abcd   Abcd      abcmon.sys    Abc monitor context (the same tag claimed by a second driver)   "
        "--tags: samples/pooltag_sample.txt:7\n"
        "Abcd   Abc*      abcfilt.sys   Abc filter, any tag starting with Abc                           "
        "--tags: samples/pooltag_sample.txt:5\n"
        "Zq     Zq        zqbus.sys     short tag, PoolMon pads it to four characters                   "
        "--tags: samples/pooltag_sample.txt:11\n"
        "Wxyz   Wx??      nt!wx         wildcard: ? stands for one character                            "
        "--tags: samples/pooltag_sample.txt:10\n"
        "Nope   -         -             no owner known                                                  -\n"
    )
    assert run.err_lines == [SKIPPED]


def test_lookup_csv() -> None:
    run = poolscope("tags", "lookup", "abcD", "Dh 1", "--tags", SAMPLE, "--no-defaults", "--format", "csv")
    assert run.code == 0
    assert run.out == (
        "tag,pattern,binary,description,source\n"
        "abcD,abcD,abclow.sys,lower-case twin of Abcd: tags are case-sensitive,'--tags: samples/pooltag_sample.txt:8\n"
        "Dh 1,Dh 1,<unknown>,tag with a space inside,'--tags: samples/pooltag_sample.txt:9\n"
    )


def test_lookup_json() -> None:
    run = poolscope("tags", "lookup", "Zq", "--tags", SAMPLE, "--no-defaults", "--format", "json")
    assert run.code == 0
    assert json.loads(run.out) == {
        "tags": [
            {
                "tag": "Zq  ",
                "owner": "zqbus.sys - short tag, PoolMon pads it to four characters",
                "owner_candidates": [
                    {
                        "pattern": "Zq  ",
                        "binary": "zqbus.sys",
                        "description": "short tag, PoolMon pads it to four characters",
                        "source": "--tags: samples/pooltag_sample.txt",
                        "line": 11,
                    }
                ],
            }
        ],
        "sources": ["--tags: samples/pooltag_sample.txt"],
        "warnings": [
            {
                "source": SAMPLE,
                "line": 19,
                "message": f"2 lines skipped; first at {SAMPLE}:19: a binary with no tag before it",
            }
        ],
    }


def test_lookup_with_evidence_from_inputs() -> None:
    run = poolscope("tags", "lookup", "Efgh", "Abcd", "--from", "samples/windbg_poolused_modern.txt", "--no-defaults",
                    "--format", "csv")
    assert run.code == 0, run.err
    assert run.out == (
        "tag,pattern,binary,description,source\n"
        "Efgh,Efgh,nt!xyz,Some subsystem,input evidence: samples/windbg_poolused_modern.txt (!poolused)\n"
        "Abcd,Abcd,<unknown>,not in the debugger's pooltag.txt,"
        "input evidence: samples/windbg_poolused_modern.txt (!poolused)\n"
    )


def test_lookup_missing_tags_file_is_one_line_exit_2() -> None:
    run = poolscope("tags", "lookup", "Abcd", "--tags", "no/such/pooltag.txt")
    assert (run.code, run.out, run.err_lines) == (2, "", ["Error: no/such/pooltag.txt: no such file"])


def test_lookup_rejects_a_five_character_tag() -> None:
    run = poolscope("tags", "lookup", "Abcde")
    assert (run.code, run.err_lines) == (2, ["Error: TAG: a pool tag has 1 to 4 characters, not 'Abcde'"])


def test_add_then_lookup_uses_the_user_folder(tmp_path: Path) -> None:
    src = tmp_path / "localtag.txt"
    src.write_text("Qwer - qwer.sys - written by poolmon /c\n")
    run = poolscope("tags", "add", str(src), tmp=tmp_path / "data")
    dest = tmp_path / "data" / "tags" / "localtag.txt"
    assert (run.code, run.out, run.err) == (0, f"added {src} as {dest}\n", "")
    run = poolscope("tags", "lookup", "Qwer", "--format", "csv", tmp=tmp_path / "data")
    assert run.out == (
        "tag,pattern,binary,description,source\n"
        f"Qwer,Qwer,qwer.sys,written by poolmon /c,user data: {dest}:1\n"
    )


def test_add_missing_file(tmp_path: Path) -> None:
    run = poolscope("tags", "add", str(tmp_path / "gone.txt"), tmp=tmp_path / "data")
    assert (run.code, run.err_lines) == (2, [f"Error: {tmp_path / 'gone.txt'}: no such file"])


def _mask(text: str) -> str:
    """Hide address digits (they follow the compiler's code layout) but keep their width."""
    return re.sub(r"0x[0-9a-f]+", lambda m: "0x" + "#" * (len(m.group()) - 2), text)


def test_scan_table(drivers: list[Built], tmp_path: Path) -> None:  # noqa: F811
    shutil.copy(pick(drivers, "tagdrv", "x64", "-O2"), tmp_path / "tagdrv.sys")
    shutil.copy(pick(drivers, "thunkdrv", "x86", "-O0"), tmp_path / "thunkdrv.sys")
    run = poolscope("tags", "scan", "tagdrv.sys", "thunkdrv.sys", "--tag", "PsLk", "--tag", "PsWr",
                    "--tag", "PsSg", "--tag", "ThLt", cwd=tmp_path)
    assert run.code == 0, run.err
    assert _mask(run.out) == (
        "File           Tag    Evidence    Routines                          Sites       Address\n"
        + "─" * 87 + "\n"
        "tagdrv.sys     PsLk   call-site   ExInitializeNPagedLookasideList       1   0x#########\n"
        "tagdrv.sys     PsWr   immediate   -                                     0   0x#########\n"
        "tagdrv.sys     PsSg   string      -                                     0             -\n"
        "thunkdrv.sys   ThLt   call-site   ExAllocatePoolWithTag                 1       0x#####\n"
    )
    assert run.err == ""


def test_scan_lists_call_site_tags_and_writes_localtag(drivers: list[Built], tmp_path: Path) -> None:  # noqa: F811
    shutil.copy(pick(drivers, "thunkdrv", "x64", "-O0"), tmp_path / "thunk.sys")
    run = poolscope("tags", "scan", ".", "--localtag", "localtag.txt", "--format", "csv", cwd=tmp_path)
    assert run.code == 0
    assert re.fullmatch(
        r"file,tag,evidence,routines,sites,address\n"
        r"thunk\.sys,ThFr,call-site,ExFreePoolWithTag,1,\d+\n"
        r"thunk\.sys,ThLt,call-site,ExAllocatePoolWithTag,1,\d+\n"
        r"thunk\.sys,ThP2,call-site,ExAllocatePool2 ExFreePoolWithTag,2,\d+\n",
        run.out,
    ), run.out
    assert run.err_lines == ["wrote 3 entries to localtag.txt"]
    assert (tmp_path / "localtag.txt").read_text() == (
        "ThFr - thunk.sys - call-site: ExFreePoolWithTag (poolscope tags scan)\n"
        "ThLt - thunk.sys - call-site: ExAllocatePoolWithTag (poolscope tags scan)\n"
        "ThP2 - thunk.sys - call-site: ExAllocatePool2, ExFreePoolWithTag (poolscope tags scan)\n"
    )
    # The written file is a tag file poolscope reads back.
    run = poolscope("tags", "lookup", "ThP2", "--tags", "localtag.txt", "--no-defaults", "--format", "csv",
                    cwd=tmp_path)
    assert run.out.splitlines()[1] == (
        "ThP2,ThP2,thunk.sys,\"call-site: ExAllocatePool2, ExFreePoolWithTag (poolscope tags scan)\","
        "'--tags: localtag.txt:3"
    )


def test_scan_non_pe_warns_and_finds_nothing(tmp_path: Path) -> None:
    (tmp_path / "fake.sys").write_text("Abcd in a text file named like a driver\n")
    run = poolscope("tags", "scan", "fake.sys", "--tag", "Abcd", cwd=tmp_path)
    assert (run.code, run.out) == (0, "")
    assert run.err_lines == ["warning: fake.sys: not a PE file (no MZ header); skipped", "no evidence found"]


def test_scan_missing_path_is_exit_2(tmp_path: Path) -> None:
    run = poolscope("tags", "scan", "nowhere", cwd=tmp_path)
    assert (run.code, run.err_lines) == (2, ["Error: nowhere: no such file or folder"])


def test_scan_json_shape(drivers: list[Built], tmp_path: Path) -> None:  # noqa: F811
    shutil.copy(pick(drivers, "tagdrv", "x86", "-O2"), tmp_path / "d.sys")
    run = poolscope("tags", "scan", "d.sys", "--format", "json", cwd=tmp_path)
    doc = json.loads(run.out)
    assert doc["warnings"] == []
    (scanned,) = doc["files"]
    assert (scanned["file"], scanned["arch"]) == ("d.sys", "x86")
    assert scanned["call_sites"] > 20
    # DrvAlloc's parameter, and the allocations and frees that read writable globals: no provable tag
    assert sorted(u["routine"] for u in scanned["unresolved"]) == [
        "ExAllocatePoolWithTag", "ExAllocatePoolWithTag", "ExAllocatePoolWithTag",
        "ExFreePoolWithTag", "ExFreePoolWithTag"]
    assert len(doc["findings"]) == 19
    data = {f["tag"]: f for f in doc["findings"] if f["evidence"] == "data"}
    assert sorted(data) == ["PsCf", "PsGl"]
    assert all(isinstance(f["data_address"], int) for f in data.values())

    run = poolscope("tags", "scan", "d.sys", "--tag", "PsFr", "--format", "json", cwd=tmp_path)
    doc = json.loads(run.out)
    # With --tag only the code near the tag is analysed: no claim about the whole file.
    assert doc["files"] == [{"file": "d.sys", "arch": "x86", "call_sites": None, "unresolved": None}]
    (finding,) = doc["findings"]
    assert isinstance(finding.pop("address"), int)
    assert finding == {"file": "d.sys", "tag": "PsFr", "evidence": "call-site",
                       "routines": ["ExFreePoolWithTag"], "sites": 1, "arch": "x86", "data_address": None}


def test_help_names_the_subcommands() -> None:
    run = poolscope("tags", "--help")
    assert run.code == 0
    for name in ("lookup", "add", "scan"):
        assert re.search(rf"^\s+{name}\s", run.out, re.M), run.out
    assert (REPO / SAMPLE).exists()


def test_scan_localtag_unwritable_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "fake.sys").write_bytes(b"not a driver")
    run = poolscope("tags", "scan", "fake.sys", "--localtag", "no/such/dir/localtag.txt", cwd=tmp_path)
    assert run.code == 2
    assert run.err_lines[-1] == "Error: no/such/dir/localtag.txt: cannot write: No such file or directory"


def test_scan_rejects_a_long_tag(tmp_path: Path) -> None:
    run = poolscope("tags", "scan", ".", "--tag", "Abcdef", cwd=tmp_path)
    assert (run.code, run.err_lines) == (2, ["Error: TAG: a pool tag has 1 to 4 characters, not 'Abcdef'"])
