"""What a new user hits in the first hour: units, snapshot choice, tags commands, gates, labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import cli

REPO = Path(__file__).resolve().parent.parent
LOG = "samples/leak_appended.log"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``poolscope ARGS`` in-process, from the repository root, with an empty user data folder."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("POOLSCOPE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("POOLSCOPE_TAGS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_interval_without_a_unit_is_refused(run) -> None:
    bad = run("trend", "samples/screens_numbered", "--interval", "30")
    assert bad.exit_code == 2
    assert "'30' has no unit: write 30s, 30m or 30h" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert run("trend", "samples/screens_numbered", "--interval", "30m").exit_code == 0


def test_snapshot_far_from_the_log_warns(run) -> None:
    far = run("show", LOG, "--snapshot", "2030-01-01T00:00", "--top", "1", "--format", "json")
    assert far.exit_code == 0
    assert json.loads(far.stdout)["position"] == 13
    assert "warning: no snapshot near 2030-01-01 00:00: using the nearest, 2026-11-21 19:29" in far.stderr
    assert "the input covers 2026-11-21 14:03 to 2026-11-21 19:29" in far.stderr
    near = run("show", LOG, "--snapshot", "2026-11-21T15:00", "--top", "1")
    assert near.exit_code == 0 and "warning" not in near.stderr


def test_a_date_alone_picks_that_days_first_snapshot(run) -> None:
    day = run("show", LOG, "--snapshot", "2026-11-21", "--top", "1", "--format", "json")
    assert day.exit_code == 0, day.stderr
    assert json.loads(day.stdout)["position"] == 0 and "warning" not in day.stderr
    other = run("diff", f"{LOG}#2026-11-20", f"{LOG}#last", "--format", "json")
    assert other.exit_code == 0
    assert "no snapshot near 2026-11-20 00:00" in other.stderr


def test_file_hash_suffix_that_is_no_snapshot_is_explained(run) -> None:
    bad = run("diff", f"{LOG}#foo", LOG)
    assert bad.exit_code == 2
    line = bad.stderr.strip().splitlines()[-1]
    assert "not a snapshot: 'foo'" in line and "use first, last" in line and LOG in line
    assert "no such file" not in bad.stderr


def test_tags_add_list_remove(run, tmp_path: Path) -> None:
    one = tmp_path / "a" / "localtag.txt"
    two = tmp_path / "b" / "localtag.txt"
    one.parent.mkdir()
    two.parent.mkdir()
    one.write_text("Qwer - qwer.sys - first machine\nthis line is no entry\n")
    two.write_text("Qwer - qwer2.sys - second machine\n")
    added = run("tags", "add", str(one))
    assert added.exit_code == 0
    # The unreadable line is reported once, when the file is added ...
    assert "1 line skipped" in added.stderr
    # ... not again on every command that reads it.
    looked = run("tags", "lookup", "Qwer")
    assert looked.exit_code == 0 and looked.stderr == "" and "qwer.sys" in looked.stdout
    # A different file of the same name is not silently put in its place.
    again = run("tags", "add", str(two))
    assert again.exit_code == 2
    assert "a different localtag.txt was added before" in again.stderr and "--replace" in again.stderr
    assert run("tags", "add", str(one)).exit_code == 0  # the same file again is fine
    listed = json.loads(run("tags", "list", "--format", "json").stdout)
    assert [(f["name"], f["entries"], f["skipped"]) for f in listed["files"]] == [("localtag.txt", 1, 1)]
    assert run("tags", "add", str(two), "--replace").exit_code == 0
    assert "qwer2.sys" in run("tags", "lookup", "Qwer").stdout
    table = run("tags", "list").stdout
    assert "localtag.txt" in table and "Order of precedence" in table
    missing = run("tags", "remove", "other.txt")
    assert missing.exit_code == 2 and "no such added tag file (added: localtag.txt)" in missing.stderr
    assert run("tags", "remove", "localtag.txt").exit_code == 0
    assert "no tag files added" in run("tags", "list").stdout


def test_exact_repairs_are_one_note_and_listed_with_verbose(run) -> None:
    quiet = run("show", LOG, "--top", "1")
    assert quiet.exit_code == 0
    assert quiet.stderr.splitlines() == [
        "note: 14 rows in 1 file repaired exactly (numbers that ran together, split with PoolMon's identities; "
        "first at samples/leak_appended.log:31); -v lists them"
    ]
    loud = run("show", LOG, "--top", "1", "-v")
    assert loud.stderr.startswith("note: samples/leak_appended.log:31: 14 rows whose numbers ran together")
    # Folders: still one line for the whole run, not one per file.
    folder = run("trend", "samples/poolsnap")
    assert sum(line.startswith("note:") for line in folder.stderr.splitlines()) <= 1
    # The report says it once, among what was read, and keeps warnings for real loss.
    report = json.loads(run("report", LOG, "--format", "json").stdout)
    assert report["read"]["warnings"] == []
    assert any("repaired exactly" in n for n in report["read"]["notes"])


@pytest.mark.parametrize("args", [["--help"], ["diff", f"{LOG}#0", f"{LOG}#last"], ["show", LOG, "--top", "3"],
                                  ["parse", LOG]])
def test_light_commands_do_not_import_the_statistics(args: list[str]) -> None:
    """scipy costs about a second of start-up: only trend, report and triage may load it."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom analyzer.cli import cli\n"
        f"r = CliRunner().invoke(cli, {args!r})\nassert r.exit_code == 0, r.output\n"
        "heavy = sorted(m for m in ('scipy', 'matplotlib', 'textual', 'pefile', 'capstone') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_show_fits_80_columns_and_takes_poolmon_sort_letters(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    shown = run("show", LOG, "--sort", "b", "--top", "8")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    table = [line for line in lines if line.startswith(" MmSt ")]
    assert table and table[0].split()[:6] == ["MmSt", "Paged", "457282", "437002", "20280", "20117760"]
    by_letter = {}
    for letter, word in (("t", "tag"), ("a", "allocs"), ("f", "frees"), ("d", "diff"), ("b", "bytes"),
                         ("m", "per-alloc")):
        rows = [json.loads(run("show", LOG, "--sort", key, "--format", "json").stdout)["rows"]
                for key in (letter, word)]
        by_letter[letter] = rows[0] == rows[1]
    assert all(by_letter.values()), by_letter


def test_poolmon_include_switch_gets_a_suggestion(run) -> None:
    bad = run("show", "/iWd*", LOG)
    assert bad.exit_code == 2
    assert bad.stderr.strip() == "Error: /iWd*: no such file; PoolMon's /iWd* is `-i 'Wd*'` here"


def test_diff_counts_agree_with_rows_and_zero_byte_rows_are_churn(run) -> None:
    doc = json.loads(run("diff", f"{LOG}#0", f"{LOG}#last", "--format", "json").stdout)
    assert all(r["bytes_change"] != 0 for r in doc["rows"] if r["status"] == "changed")
    assert doc["counts"]["churn"] == sum(r["status"] == "churn" for r in doc["rows"]) > 0
    assert all(r["bytes_change"] == 0 for r in doc["rows"] if r["status"] == "churn")
    cut = run("diff", f"{LOG}#0", f"{LOG}#last", "--min-change", "100K")
    shown = json.loads(run("diff", f"{LOG}#0", f"{LOG}#last", "--min-change", "100K", "--format", "json").stdout)
    total = sum(shown["counts"].values())
    assert f"rows: {len(shown['rows'])} shown, {total - len(shown['rows'])} below --min-change 100.0 KB" in cut.stdout
    assert shown["hidden"] == total - len(shown["rows"])


def test_trend_sorts_a_zero_rate_above_negative_ones(run) -> None:
    rows = json.loads(run("trend", "samples/poolsnap", "--all", "--format", "json").stdout)["rows"]
    stable = [r["rate_bytes_per_hour"] for r in rows
              if r["verdict"] == "stable" and r["rate_bytes_per_hour"] is not None]
    assert stable == sorted(stable, reverse=True)


def test_trend_gate_on_a_single_snapshot_fails(run) -> None:
    one = run("trend", "samples/console_session1.txt", "--fail-on", "leak")
    assert one.exit_code == 1
    assert one.stderr.strip().splitlines()[-1].startswith("gate not checked: 1 snapshot gave no series")


def test_next_steps_name_the_classic_commands(run) -> None:
    steps = json.loads(run("report", LOG, "--format", "json").stdout)["next_steps"]
    commands = [s["command"] or "" for s in steps]
    assert "ed nt!PoolHitTag 0x71726457" in commands  # "Wdrq" as the kernel stores it, little-endian
    assert any(c.startswith("xperf -on PROC_THREAD+LOADER+POOL -stackwalk PoolAlloc+PoolFree -PoolTag Wdrq")
               for c in commands)
    no_owner = json.loads(run("report", "samples/poolsnap", "--format", "json").stdout)["next_steps"]
    assert any((s["command"] or "").startswith("findstr /m /l ") and s["command"].endswith(
        "%SystemRoot%\\System32\\drivers\\*.sys") for s in no_owner)


def test_heavy_libraries_are_optional_extras_with_a_clear_message(tmp_path: Path) -> None:
    """`pip install .` stays light; `tags scan` without pefile says which extra to install."""
    import subprocess
    import sys

    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    for heavy in ("textual", "pefile", "capstone", "matplotlib"):
        assert heavy not in core
    extras = project["optional-dependencies"]
    assert extras["tui"] == ["textual>=0.80"] and {d.split(">")[0] for d in extras["scan"]} == {"pefile", "capstone"}
    assert any("tui" in d and "scan" in d for d in extras["test"])  # the tests need everything
    (tmp_path / "x.sys").write_bytes(b"MZ")
    code = (
        "import sys\nsys.modules['pefile'] = None\n"
        "from analyzer.cli import main\nmain(['tags', 'scan', sys.argv[1]])\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.sys")], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("Error: tags scan needs pefile, which is not installed: "
                                   "pip install 'poolscope[scan]'")


_SECTION = re.compile(r"^#{2,3} `poolscope ([a-z-]+(?: [a-z]+)?)", re.M)
_IN_TEXT = re.compile(r"`(--[a-z][a-z-]*)[^`]*`[^|`]{0,60}?[(,]\s?default (?:is )?`?([^),;`\s]+)`?")
_IN_TABLE = re.compile(r"^\| `(--[a-z][a-z-]*)[^`]*` \|[^\n]*?\(default (?:is )?`?([^),;`]+)`?", re.M)


def _documented_defaults() -> list[tuple[str, str, str, str]]:
    """(doc, command, option, default) for every "`--opt ...` (default X)" under a `poolscope CMD` heading."""
    out = []
    for doc in sorted((REPO / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        marks = [(m.start(), m.group(1)) for m in _SECTION.finditer(text)]
        for i, (pos, command) in enumerate(marks):
            body = text[pos : marks[i + 1][0] if i + 1 < len(marks) else len(text)]
            for option, value in sorted(set(_IN_TEXT.findall(body)) | set(_IN_TABLE.findall(body))):
                out.append((doc.name, command, option, value))
    return out


def test_documented_defaults_match_the_help() -> None:
    import click

    from analyzer.units import parse_duration, parse_size

    def same(doc_value: str, default: object) -> bool:
        text = str(default)
        if doc_value == text:
            return True
        for parse in (parse_size, parse_duration):
            try:
                return parse(doc_value) == parse(text)
            except (ValueError, TypeError):
                continue
        return False

    found = _documented_defaults()
    assert len(found) >= 5  # the pattern still finds what the docs say
    ctx = click.Context(cli)
    for doc, command, option, value in found:
        cmd = cli.get_command(ctx, command.split()[0])
        for part in command.split()[1:]:
            cmd = cmd.get_command(ctx, part)
        params = {max(p.opts, key=len): p for p in cmd.params if isinstance(p, click.Option)}
        assert option in params, f"{doc}: {command} has no option {option}"
        if params[option].default is None:
            continue  # no literal default to compare: the docs describe the behaviour in words
        assert same(value, params[option].default), (
            f"{doc} says {command} {option} defaults to {value}; --help says {params[option].default}")


def test_bundled_common_tags_come_last(run, tmp_path: Path) -> None:
    """Common kernel tags have an owner with no pooltag.txt installed; any other source wins over ours."""
    rows = json.loads(run("tags", "lookup", "Thre", "CM31", "--format", "json").stdout)["tags"]
    assert [r["owner"] for r in rows] == ["nt!ps - thread objects",
                                          "nt!cm - configuration manager: registry hives, keys and their caches"]
    assert all(r["owner_candidates"][0]["source"].startswith("poolscope common tags") for r in rows)
    mine = tmp_path / "mine.txt"
    mine.write_text("Th* - mydrv.sys - my wildcard\n")
    rows = json.loads(run("tags", "lookup", "Thre", "--tags", str(mine), "--format", "json").stdout)["tags"]
    # Even a wildcard of the user's outranks our exact entry.
    assert rows[0]["owner"] == "mydrv.sys - my wildcard"
    assert [c["source"].split(":")[0] for c in rows[0]["owner_candidates"]] == ["--tags", "poolscope common tags"]
    none = json.loads(run("tags", "lookup", "Thre", "--no-defaults", "--format", "json").stdout)["tags"]
    assert none[0]["owner"] is None
