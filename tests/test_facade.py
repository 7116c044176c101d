"""``import poolscope`` is the public API: what it lists, what it costs to import, that it is typed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import poolscope

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

#: The documented surface (docs/library.md); adding a name is fine, removing one breaks users.
PROMISED = {
    "parse", "parse_text", "diff", "trend", "show", "triage", "report", "capture", "owners", "annotate",
    "PoolscopeError", "InputError", "ParseError", "UnsupportedPlatform", "ErrorLevel", "ParseWarning",
    "Snapshot", "Row", "ParseResult", "DiffResult", "DiffRow", "TrendResult", "TrendRow", "TrendOptions",
    "ShowResult", "ShowRow", "ShowOptions", "TriageReport", "Report", "ReportOptions", "OwnerResolver",
    "Verdict", "__version__", "stacks", "StacksOptions", "StacksResult",
    "fleet_ingest", "fleet_analyze", "IngestResult", "FleetResult", "FleetRow",
}


def test_all_is_the_promised_surface_and_every_name_resolves() -> None:
    assert set(poolscope.__all__) == PROMISED
    for name in poolscope.__all__:
        assert getattr(poolscope, name) is not None, name


def test_help_lists_the_public_api() -> None:
    run = subprocess.run([sys.executable, "-c", "import poolscope; help(poolscope)"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env={"PAGER": "cat", "TERM": "dumb"})
    assert run.returncode == 0, run.stderr
    for name in ("parse(", "trend(", "diff(", "triage(", "report(", "class Verdict", "class TrendResult"):
        assert name in run.stdout, name


def test_import_is_light() -> None:
    code = ("import sys, poolscope; heavy = [m for m in ('scipy', 'textual', 'matplotlib', 'capstone', 'pefile') "
            "if m in sys.modules]; print(heavy)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_verdict_enum_compares_with_row_text() -> None:
    result = poolscope.parse(SAMPLES / "leak_appended.log")
    rows = poolscope.trend(result.snapshots).rows
    leaks = [r for r in rows if r.verdict == poolscope.Verdict.LEAK]
    assert [(r.tag, r.pool) for r in leaks] == [("Wdrq", "nonpaged")]
    assert f"{poolscope.Verdict.LEAK}" == "leak" and str(poolscope.Verdict.STABLE) == "stable"


def test_diff_and_owners_through_the_facade() -> None:
    result = poolscope.parse(SAMPLES / "leak_appended.log")
    resolver = poolscope.owners(snapshots=result.snapshots, use_defaults=False)
    change = poolscope.diff(result.snapshots[0], result.snapshots[-1], resolver=resolver)
    top = change.rows[0]
    assert (top.tag, top.pool) == ("Wdrq", "nonpaged")
    assert top.owner is not None and "wdrfilt.sys" in top.owner


def test_triage_through_the_facade() -> None:
    report = poolscope.triage(SAMPLES / "windbg_0x41.txt", use_default_tags=False)
    assert report.bugcheck is not None and report.bugcheck.code == 0x41


def test_fleet_through_the_facade(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="fleet needs the optional fleet extra")
    pytest.importorskip("duckdb", reason="fleet needs the optional fleet extra")
    for host in ("web01", "web02"):
        (tmp_path / "in" / host).mkdir(parents=True)
        (tmp_path / "in" / host / "poolmon.log").write_bytes((SAMPLES / "leak_appended.log").read_bytes())
    ingested = poolscope.fleet_ingest(tmp_path / "in", tmp_path / "ds", use_defaults=False, jobs=1)
    assert isinstance(ingested, poolscope.IngestResult)
    assert [h.host for h in ingested.hosts] == ["web01", "web02"] and not ingested.failed
    assert ingested.to_dict()["hosts"][0]["rows"] == ingested.hosts[0].rows > 0
    result = poolscope.fleet_analyze(tmp_path / "ds", jobs=1)
    assert isinstance(result, poolscope.FleetResult) and result.hosts == 2
    top = result.rows[0]
    assert isinstance(top, poolscope.FleetRow)
    assert (top.tag, top.pool, top.hosts_leak, top.hosts_seen) == ("Wdrq", "nonpaged", 2, 2)


def test_bad_input_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(poolscope.InputError):
        poolscope.parse(tmp_path / "missing.log")


def test_docs_example_script_prints_the_leak_with_its_owner() -> None:
    script = ROOT / "docs" / "examples" / "verdicts.py"
    assert len(script.read_text().strip().splitlines()) <= 12
    run = subprocess.run([sys.executable, str(script), str(SAMPLES / "leak_appended.log")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[:4] == ["Wdrq", "nonpaged", "leak", "wdrfilt.sys"]


#: The facade and the records it returns; mypy checks them with zero errors.
TYPED = ["poolscope", "analyzer/analysis/verdict.py", "analyzer/analysis/diff.py", "analyzer/analysis/trend.py",
         "analyzer/analysis/show.py", "analyzer/analysis/triage.py", "parsers/model.py",
         "analyzer/analysis/align.py", "analyzer/analysis/ownership.py", "analyzer/owners/__init__.py",
         "analyzer/render/report/model.py", "parsers/progress.py", "analyzer/analysis/fleet.py",
         "analyzer/render/dataset.py"]


def test_facade_and_records_type_check() -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed (it comes with the test extra)")
    run = subprocess.run([mypy, "--follow-imports=silent", "--ignore-missing-imports", "--no-incremental", *TYPED],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
