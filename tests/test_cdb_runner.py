"""The cdb runner end to end, with a stand-in `cdb` on PATH that prints recorded debugger output."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from debugger_helpers import GOLDEN, ROOT, sample

from analyzer.cli import cli
from analyzer.live.windbg.cdb import DUMP_COMMANDS, MARK, build_command_line, extract, find_debugger, run_dump
from parsers.errors import InputError, UnsupportedPlatform

# A stand-in for cdb.exe: checks its arguments like the real one would need them, echoes the -c
# string after a prompt (as cdb does), then answers each command from a recorded transcript.
STAND_IN = r'''#!{python}
import sys
sys.path.insert(0, {root!r})
from parsers.debugger.blocks import split_commands

args = sys.argv[1:]
assert args[0] == "-z" and args[2] == "-y" and args[4] == "-c", args
dump, symbols, script = args[1], args[3], args[5]
with open(dump, "rb") as fh:
    assert fh.read(8) == b"PAGEDU64", "not a dump"
with open({log!r}, "a") as fh:
    fh.write(repr(args) + "\n")
recorded = {{}}
text = open({recording!r}, encoding="utf-8").read()
for block in split_commands(text.split("\n")):
    if block.command:
        recorded[block.command] = "\n".join(block.output)
recorded[".time"] = "Debug session time: Sat Nov 21 14:03:07.123 2026 (UTC + 1:00)\nSystem Uptime: 6 days 2:11:45.906"
print("Microsoft (R) Windows Debugger Version 10.0.22621.2428 AMD64")
print("Loading Dump File [%s]" % dump)
print("Symbol search path is: %s" % symbols)
print("BugCheck C4, {{62, ffffc48b3a4e2f10, ffffc48b3b012c70, 152}}")
print("0: kd> " + script)
for step in script.split(";"):
    step = step.strip()
    if step.startswith(".echo "):
        print(step[6:])
    elif step == "q":
        print("quit:")
    else:
        print(recorded.get(step, "No export %s found" % step))
'''


POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="the stand-in cdb is a POSIX script with a #! line")


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if sys.platform == "win32":
        pytest.skip("the stand-in cdb is a POSIX script with a #! line")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "cdb"
    exe.write_text(STAND_IN.format(python=sys.executable, root=str(ROOT), log=str(tmp_path / "calls.log"),
                                   recording=str(sample("windbg_transcript_all.txt"))))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("_NT_SYMBOL_PATH", raising=False)
    monkeypatch.delenv("POOLSCOPE_TAGS", raising=False)
    monkeypatch.setenv("POOLSCOPE_DATA_DIR", str(tmp_path / "data"))
    return exe


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    path = tmp_path / "MEMORY.DMP"
    path.write_bytes(b"PAGEDU64" + bytes(4088))
    return path


def test_command_line_runs_each_command_after_a_marker() -> None:
    run = build_command_line("cdb", "C:\\dumps\\MEMORY.DMP", "srv*C:\\sym*https://msdl.microsoft.com/download/symbols",
                             ["!analyze -v", "!vm"])
    assert run.argv == [
        "cdb", "-z", "C:\\dumps\\MEMORY.DMP", "-y", "srv*C:\\sym*https://msdl.microsoft.com/download/symbols",
        "-c", ".echo POOLSCOPE-CMD 0; !analyze -v; .echo POOLSCOPE-CMD 1; !vm; .echo POOLSCOPE-END; q",
    ]


def test_symbol_path_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_NT_SYMBOL_PATH", "srv*D:\\symbols")
    assert build_command_line("cdb", "x.dmp").argv[4] == "srv*D:\\symbols"
    monkeypatch.delenv("_NT_SYMBOL_PATH")
    assert build_command_line("cdb", "x.dmp").argv[4] == "srv*https://msdl.microsoft.com/download/symbols"


def test_only_text_between_markers_is_kept() -> None:
    output = (
        "Loading Dump File [x.dmp]\nBugCheck 41, {1000, ff84, 0, 3}\n"
        f"0: kd> .echo {MARK} 0; !vm; .echo POOLSCOPE-END; q\n"
        f"{MARK} 0\nNonPagedPool Usage:  65412 ( 261648 Kb)\nPOOLSCOPE-END\nquit:\n"
    )
    assert extract(output, ["!vm"]) == "kd> !vm\nNonPagedPool Usage:  65412 ( 261648 Kb)\n"


def test_run_dump_end_to_end(stand_in: Path, dump: Path, tmp_path: Path) -> None:
    transcript = run_dump(str(dump))
    assert [c.command for c in transcript.commands] == list(DUMP_COMMANDS)
    assert transcript.bugcheck is not None and transcript.bugcheck.code == 0xC4
    assert transcript.session_time is not None
    assert len(transcript.snapshots) == 1 and transcript.snapshots[0].source == str(dump)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert len(calls) == 1 and "'-y', 'srv*https://msdl.microsoft.com/download/symbols'" in calls[0]


def test_triage_of_a_dump_matches_the_triage_of_the_same_log(stand_in: Path, dump: Path) -> None:
    result = CliRunner().invoke(cli, ["triage", str(dump), "--symbols", "srv*C:\\sym"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    expected = (GOLDEN / "triage_windbg_transcript_all.txt").read_text()
    # Same case; the dump run has no !poolfind/!pool/search/!verifier output, so less owner evidence.
    got = result.output.replace(str(dump), "samples/windbg_transcript_all.txt")
    assert got.splitlines()[:5] == expected.splitlines()[:5]
    assert "abcfilt.sys - Abc request buffers" in got


def test_explicit_debugger_path(stand_in: Path, dump: Path) -> None:
    assert run_dump(str(dump), debugger=str(stand_in)).bugcheck is not None


@pytest.mark.skipif(sys.platform == "win32", reason="a Windows machine may have the real Debugging Tools installed")
def test_no_debugger_is_one_line_exit_2(tmp_path: Path, dump: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(UnsupportedPlatform):
        find_debugger()
    result = CliRunner().invoke(cli, ["triage", str(dump)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    if sys.platform != "win32":
        assert lines[0].startswith("Error: opening a crash dump needs cdb, which runs only on Windows")
    assert "Debugging Tools for Windows" in lines[0] and "poolscope windbg-script" in lines[0]


def test_missing_debugger_path_is_an_input_error(dump: Path) -> None:
    result = CliRunner().invoke(cli, ["triage", str(dump), "--debugger", "/nonexistent/cdb.exe"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: /nonexistent/cdb.exe: --debugger: no such debugger executable"


@POSIX_ONLY
def test_debugger_that_prints_nothing_useful(tmp_path: Path, dump: Path) -> None:
    broken = tmp_path / "cdb"
    broken.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "sys.stderr.write('Could not open dump file, Win32 error 0n87\\n')\nsys.exit(1)\n"
    )
    broken.chmod(0o755)
    with pytest.raises(InputError, match=r"cdb printed none of the expected output \(exit status 1\): "
                                        r"Could not open dump file, Win32 error 0n87"):
        run_dump(str(dump), debugger=str(broken))
