"""The pykd helper, driven by a session that replays recorded debugger output (WinDbg cannot run here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from debugger_helpers import ROOT, ReplaySession, sample

from analyzer.live.windbg import HELPER_PATH
from analyzer.live.windbg import poolscope_pykd as helper
from parsers import parse

RECORDING = sample("windbg_pykd_recording.txt")


def _run(argv: list[str], session: ReplaySession) -> tuple[int, str]:
    out: list[str] = []
    code = helper.main(argv, session=session, out=out.append)
    return code, "".join(out)


def test_findtag_maps_hits_to_modules_with_image_paths() -> None:
    session = ReplaySession(RECORDING)
    code, text = _run(["findtag", "Abcd", "Qrst", "Zq9x"], session)
    assert code == 0
    assert text == (
        "Tag    Module            Hits  Image path\n"
        "Abcd   abcfilt              3  \\SystemRoot\\System32\\drivers\\abcfilt.sys\n"
        "Abcd   nt                   1  ntkrnlmp.exe\n"
        "Abcd   <no module>          1  hits outside every loaded image\n"
        "Qrst   qrstdrv              1  qrstdrv.sys\n"
        "Zq9x   -                    0  not found in any loaded image\n"
        "\n"
        "A driver whose image holds the tag is a candidate owner; the tag text also occurs by chance.\n"
    )
    assert session.asked == [
        "lm",
        '!for_each_module s -a @#Base @#End "Abcd"',
        "!for_each_module s -b @#Base @#End 0x41 0x62 0x63 0x64",
        "lmv m abcfilt",
        "lmv m nt",
        '!for_each_module s -a @#Base @#End "Qrst"',
        "!for_each_module s -b @#Base @#End 0x51 0x72 0x73 0x74",
        "lmv m qrstdrv",
        '!for_each_module s -a @#Base @#End "Zq9x"',
        "!for_each_module s -b @#Base @#End 0x5a 0x71 0x39 0x78",
    ]


def test_hits_found_by_both_searches_count_once() -> None:
    results = helper.find_tags(ReplaySession(RECORDING), ["Abcd"])
    assert results[0]["modules"][0] == {
        "module": "abcfilt", "image": "\\SystemRoot\\System32\\drivers\\abcfilt.sys", "hits": 3
    }


def test_findtag_rejects_a_tag_that_would_break_the_command() -> None:
    code, text = _run(["findtag", 'Ab"d'], ReplaySession(RECORDING))
    assert code == 2
    assert text == "poolscope_pykd: not a pool tag: 'Ab\"d' (1 to 4 printable characters, no quotes)\n"


def test_module_ranges_from_lm_are_end_exclusive_and_skip_unloaded() -> None:
    mods = helper.parse_lm(RECORDING.read_text().split("lkd> lm\n", 1)[1].split("lkd>", 1)[0])
    assert [(m.name, hex(m.start), hex(m.end)) for m in mods] == [
        ("abcfilt", "0xfffff8011b200000", "0xfffff8011b21c000"),
        ("Ntfs", "0xfffff8011c400000", "0xfffff8011c6e4000"),
        ("qrstdrv", "0xfffff8011d000000", "0xfffff8011d030000"),
        ("nt", "0xfffff80123400000", "0xfffff80124446000"),
    ]
    session = ReplaySession(RECORDING)
    at_end = helper.Module("abcfilt", 0x1000, 0x2000)
    session.outputs['!for_each_module s -a @#Base @#End "Abcd"'] = "00002000  41 62 63 64  Abcd"
    session.outputs["!for_each_module s -b @#Base @#End 0x41 0x62 0x63 0x64"] = ""
    res = helper.find_tags(session, ["Abcd"], modules=[at_end])
    assert res[0]["modules"] == [] and res[0]["outside_modules"] == 1


def test_snapshot_writes_a_transcript_poolscope_reads(tmp_path: Path) -> None:
    session = ReplaySession(RECORDING)
    out_file = tmp_path / "snap.txt"
    code, text = _run(["snapshot", "--out", str(out_file)], session)
    assert code == 0
    assert text == f"poolscope_pykd: snapshot written to {out_file}; run: poolscope report {out_file}\n"
    assert session.asked == [".time", "!session", "!vm", "!poolused 2", "!poolused 4", "!poolused 8"]
    result = parse([str(out_file)])
    assert [(s.format, s.scope) for s in result.snapshots] == [("poolused", "system"), ("poolused", "all-sessions")]
    system = result.snapshots[0]
    assert system.timestamp is not None and system.timestamp.isoformat() == "2026-11-21T16:40:12"
    assert system.rows.get("Abcd", "nonpaged").bytes == 385411520
    assert system.totals["avail_kb"] == 3125332
    assert result.warnings == []


def test_snapshot_without_session_pools_skips_poolused_8() -> None:
    session = ReplaySession(RECORDING)
    session.outputs["!session"] = "Sessions on machine: 0\n"
    code, text = _run(["snapshot"], session)
    assert code == 0 and "!poolused 8" not in session.asked
    assert text.startswith("poolscope snapshot (poolscope_pykd.py)\nkd> .time\nDebug session time:")


def test_module_imports_without_pykd_and_fails_clearly_when_used() -> None:
    assert "pykd" not in sys.modules
    with pytest.raises(SystemExit, match="pykd is not available"):
        helper.PykdSession()


def test_runs_as_a_script_through_a_stand_in_pykd(tmp_path: Path) -> None:
    """`!py poolscope_pykd.py findtag ...` end to end: the real file, a pykd stand-in replaying the recording."""
    fake = tmp_path / "pykd.py"
    fake.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from pathlib import Path\n"
        "from debugger_helpers import ReplaySession\n"
        f"_S = ReplaySession(Path({str(RECORDING)!r}))\n"
        "def dbgCommand(text):\n    return _S.command(text)\n"
    )
    script = tmp_path / "poolscope_pykd.py"
    shutil.copyfile(HELPER_PATH, script)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([sys.executable, str(script), "findtag", "Qrst"], capture_output=True, text=True,
                          env=env, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1] == "Qrst   qrstdrv              1  qrstdrv.sys"


def test_helper_is_python_3_8_compatible(tmp_path: Path) -> None:
    vermin = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    if not Path(vermin).exists():
        pytest.skip("vermin is not installed (pip install -e '.[test]')")

    def check(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([vermin, "-t=3.8-", "--no-tips", "--violations", str(path)],
                              capture_output=True, text=True, check=False)

    proc = check(HELPER_PATH)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The check has teeth: a 3.9-only call in a copy of the helper fails it.
    spoiled = tmp_path / "spoiled.py"
    spoiled.write_text(HELPER_PATH.read_text() + '\nNAME = "x.sys".removesuffix(".sys")\n')
    assert check(spoiled).returncode != 0


def test_helper_uses_only_the_standard_library_and_pykd() -> None:
    import ast

    tree = ast.parse(HELPER_PATH.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "argparse", "bisect", "re", "sys", "time", "pykd"}


def test_windbg_script_command_prints_the_installed_path_and_usage() -> None:
    from click.testing import CliRunner

    from analyzer.cli import cli

    result = CliRunner().invoke(cli, ["windbg-script"])
    assert result.exit_code == 0
    path = str(HELPER_PATH)
    assert result.output == (
        f"{path}\n"
        "\n"
        "In WinDbg or kd (live kernel session or dump), with pykd installed:\n"
        "  .load pykd\n"
        f"  !py {path} findtag Abcd\n"
        "      which loaded drivers contain the tag: module, image path, hits\n"
        f"  !py {path} snapshot --out C:\\cases\\pool.txt\n"
        "      !poolused 2 and 4 (8 with session pools) and !vm, written as a transcript\n"
        f"  !py {path} snapshot --count 6 --every 600 --out C:\\cases\\pool_hour.txt\n"
        "      on a live target (lkd): one sample every 10 minutes for an hour\n"
        "Then, anywhere: poolscope report FILE, poolscope trend FILE or poolscope triage FILE\n"
    )
    assert Path(path).is_file()
    only = CliRunner().invoke(cli, ["windbg-script", "--path-only"])
    assert only.output == path + "\n"


def test_a_failing_debugger_command_does_not_stop_the_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    session = ReplaySession(RECORDING)

    def dbg_command(text: str) -> str:
        if text == "!session":
            raise RuntimeError("Unable to read session list")
        return session.command(text)

    monkeypatch.setitem(sys.modules, "pykd", types.SimpleNamespace(dbgCommand=dbg_command))
    text = helper.snapshot_transcript(helper.PykdSession())
    assert "kd> !session\npoolscope_pykd: '!session' failed: Unable to read session list\nkd> !vm" in text
    assert "!poolused 8" not in text


class _Clock(ReplaySession):
    """A live target: `.time` moves on by the seconds the helper waited."""

    def __init__(self, recording: Path) -> None:
        super().__init__(recording)
        self.seconds = 0.0

    def pause(self, seconds: float) -> None:
        self.seconds += seconds

    def command(self, text: str) -> str:
        if text == ".time":
            self.asked.append(text)
            minute = int(self.seconds // 60)
            return f"Debug session time: Sat Nov 21 {16 + minute // 60}:{minute % 60:02d}:12.005 2026 (UTC + 1:00)\n"
        return super().command(text)


def test_snapshot_samples_a_live_target_repeatedly(tmp_path: Path) -> None:
    session = _Clock(RECORDING)
    out_file = tmp_path / "hour.txt"
    out: list[str] = []
    code = helper.main(["snapshot", "--count", "3", "--every", "600", "--out", str(out_file)],
                       session=session, out=out.append, pause=session.pause)
    assert code == 0
    assert out == [f"poolscope_pykd: 3 snapshots written to {out_file}; run: poolscope report {out_file}\n"]
    assert session.seconds == 1200
    result = parse([str(out_file)])
    system = [s for s in result.snapshots if s.scope == "system"]
    assert [s.timestamp.strftime("%H:%M") for s in system] == ["16:00", "16:10", "16:20"]
    assert len(result.snapshots) == 6  # each sample: the system table (2 and 4 merged) and the session table


def test_snapshot_rejects_a_count_below_one() -> None:
    code, text = _run(["snapshot", "--count", "0"], ReplaySession(RECORDING))
    assert (code, text) == (2, "poolscope_pykd: --count must be at least 1 and --every not negative\n")
