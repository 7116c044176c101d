"""``poolscope trend`` and ``poolscope diff`` on the small logs of tests/data/trend/.

Exact screens live in tests/golden/trend/ (regenerate with POOLSCOPE_UPDATE_GOLDEN=1 and review).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import cli

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "trend"
GOLDEN = HERE / "golden" / "trend"
UPDATE = os.environ.get("POOLSCOPE_UPDATE_GOLDEN") == "1"
LOG = "tests/data/trend/leak_run.log"
BEFORE = "tests/data/trend/before.log"
AFTER = "tests/data/trend/after.log"


@pytest.fixture(autouse=True)
def _fixed_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("POOLSCOPE_") and key != "POOLSCOPE_UPDATE_GOLDEN":
            monkeypatch.delenv(key)
    monkeypatch.setenv("POOLSCOPE_DATA_DIR", str(tmp_path / "no-user-data"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(HERE.parent)


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


SCREENS = {
    "trend_default": ["trend", LOG],
    "trend_all": ["trend", LOG, "--all"],
    "trend_markdown_top2": ["trend", LOG, "--format", "markdown", "--top", "2"],
    "diff_default": ["diff", BEFORE, AFTER],
    "diff_min_change": ["diff", BEFORE, AFTER, "--min-change", "64K"],
    "diff_same_log": ["diff", f"{LOG}#0", f"{LOG}#last", "--min-change", "100K"],
    "diff_markdown": ["diff", BEFORE, AFTER, "--format", "markdown"],
}


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_matches_golden(name):
    result = run(*SCREENS[name])
    assert result.exit_code == 0, result.output
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


def test_trend_json_rows():
    result = run("trend", LOG, "--format", "json", "--all")
    doc = json.loads(result.stdout)
    verdicts = {r["tag"]: r["verdict"] for r in doc["rows"]}
    assert verdicts["Wdrq"] == "leak" and verdicts["Fmfc"] == "leak"
    assert verdicts["MmCa"] == "recovers" and verdicts["Ntfx"] == "stable"
    assert doc["summary"]["snapshots"] == 48 and doc["summary"]["series"] == 8
    wdrq = next(r for r in doc["rows"] if r["tag"] == "Wdrq")
    assert wdrq["rate_low"] <= wdrq["rate_bytes_per_hour"] <= wdrq["rate_high"]
    assert wdrq["exhaustion"]["resource"] == "available memory"
    assert isinstance(wdrq["stats"]["p_value"], float)
    assert 0.0 <= wdrq["q_value"] <= 0.01 and wdrq["segment"] == 1


def test_trend_csv_has_a_header_and_one_line_per_row():
    lines = run("trend", LOG, "--format", "csv", "--all").stdout.splitlines()
    assert lines[0].startswith("tag,pool,verdict,rate_bytes_per_hour,rate_low,rate_high,")
    assert len(lines) == 9
    assert lines[1].startswith("Wdrq,nonpaged,leak,")


@pytest.mark.parametrize("gate, code", [("leak", 1), ("suspect", 1)])
def test_fail_on_leak_exits_1(gate, code):
    result = run("trend", LOG, "--fail-on", gate)
    assert result.exit_code == code
    assert result.stderr.splitlines()[-1] == ("gate tripped: 2 leak verdicts: Wdrq nonpaged, Fmfc paged"
                                              if gate == "leak" else
                                              "gate tripped: 2 leak or suspect verdicts: Wdrq nonpaged, Fmfc paged")


def test_fail_on_leak_with_too_few_snapshots_does_not_pass_silently():
    result = run("trend", BEFORE, AFTER, "--fail-on", "leak")
    assert result.exit_code == 1
    assert "2 snapshots" in result.stdout
    assert result.stderr.splitlines()[-1] == (
        "gate not checked: 2 snapshots gave no series enough points for a verdict; failing rather than passing "
        "without evidence")


def test_interval_spaces_untimed_snapshots(tmp_path):
    text = (DATA / "leak_run.log").read_text(encoding="ascii")
    untimed = "\n".join(line for line in text.splitlines() if not line.startswith("====="))
    path = tmp_path / "untimed.log"
    path.write_text(untimed, encoding="ascii")
    plain = json.loads(run("trend", str(path), "--format", "json").stdout)
    assert plain["summary"]["timed"] is False
    assert plain["rows"][0]["rate_bytes_per_hour"] is None
    spaced = json.loads(run("trend", str(path), "--interval", "5m", "--format", "json").stdout)
    assert spaced["summary"]["timed"] is True
    assert spaced["rows"][0]["tag"] == "Wdrq"
    assert spaced["rows"][0]["rate_bytes_per_hour"] == pytest.approx(
        next(r for r in json.loads(run("trend", LOG, "--format", "json").stdout)["rows"]
             if r["tag"] == "Wdrq")["rate_bytes_per_hour"])


def test_diff_gates():
    grew = run("diff", BEFORE, AFTER, "--fail-on-growth", "1MB")
    assert grew.exit_code == 1
    assert grew.stderr.splitlines()[-1] == "gate tripped: 1 tag grew more than 1.0 MB: Wdrq nonpaged +1.3 MB"
    assert run("diff", BEFORE, AFTER, "--fail-on-growth", "2MB").exit_code == 0
    # Nonpaged +1.4 MB, paged -506 KB: the pools together grew about 900 KB.
    assert run("diff", BEFORE, AFTER, "--fail-on-total", "1MB").exit_code == 0
    total = run("diff", BEFORE, AFTER, "--fail-on-total", "512K")
    assert total.exit_code == 1
    assert total.stderr.splitlines()[-1].startswith("gate tripped: pools grew +")
    # --min-change hides rows from the table, not from the gate.
    hidden = run("diff", BEFORE, AFTER, "--min-change", "2MB", "--fail-on-growth", "1MB")
    assert hidden.exit_code == 1 and "no tag changed enough to show" in hidden.stdout


def test_diff_json_rows():
    doc = json.loads(run("diff", BEFORE, AFTER, "--format", "json").stdout)
    rows = {r["tag"]: r for r in doc["rows"]}
    assert rows["Newt"]["status"] == "new" and rows["Newt"]["bytes_change"] == 122880
    assert rows["Gone"]["status"] == "vanished" and rows["Gone"]["bytes_after"] is None
    assert rows["Same"]["status"] == "same" and rows["Same"]["percent_change"] == 0.0
    assert rows["Wdrq"]["allocs_change"] == 4000 and rows["Wdrq"]["outstanding_change"] == 2600
    assert doc["totals"]["paged"]["bytes_change"] == 512000 - 1024000 - 6400
    assert doc["interval_seconds"] == 7200
    assert doc["rows"][0]["tag"] == "Wdrq"


@pytest.mark.parametrize("args, message", [
    (["diff", "tests/data/trend/missing.log", AFTER], "missing.log"),
    (["diff", f"{BEFORE}#3", AFTER], "has 1 snapshot (0..0); there is no snapshot #3"),
    (["trend", "notes.txt"], "notes.txt: not pool data"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("hello\nnothing to see\n", encoding="ascii")
    args = [str(tmp_path / a) if a == "notes.txt" else a for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.output


def test_bad_size_is_a_usage_error():
    result = CliRunner().invoke(cli, ["diff", BEFORE, AFTER, "--min-change", "12XB"])
    assert result.exit_code == 2
    assert "not a size" in result.stderr


def test_min_growth_raises_the_bar():
    doc = json.loads(run("trend", LOG, "--format", "json", "--all", "--min-growth", "600K").stdout)
    verdicts = {r["tag"]: r["verdict"] for r in doc["rows"]}
    # Wdrq grew about 700 KB over the log, Fmfc about 260 KB.
    assert verdicts["Wdrq"] == "leak" and verdicts["Fmfc"] == "stable"
