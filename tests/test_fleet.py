"""``poolscope fleet``: a small simulated fleet through ingest, per-host trend, DuckDB counts, and Dask."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from capture_helpers import socket_churn
from cli_helpers import SAMPLES, clean_env, invoke, poolscope

from bench.fleet_sim import FleetConfig, expected_hosts, host_name, write_fleet

pa = pytest.importorskip("pyarrow", reason="fleet needs the optional fleet extra")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("duckdb", reason="fleet needs the optional fleet extra")

from analyzer.analysis.fleet import HOST_VERDICT_COLUMNS, analyze_fleet  # noqa: E402
from analyzer.analysis.trend import analyze  # noqa: E402
from parsers import parse  # noqa: E402
from parsers.dataset import COLUMNS, snapshots_from_table  # noqa: E402

CFG = FleetConfig(hosts=8, snapshots=12, tags=24, tags_per_driver=1, seed=5)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fleet")
    write_fleet(root / "in", CFG)
    run = poolscope("fleet", "ingest", str(root / "in"), "-o", str(root / "ds"), "--jobs", "2")
    assert run.code == 0, run.err
    assert run.out == f"{root / 'ds'}: 8 hosts, 96 snapshots, 2304 rows written\n"
    return root / "in", root / "ds"


def test_dataset_is_partitioned_by_host_and_day(fleet):
    _, ds = fleet
    hosts = sorted(p.name for p in ds.iterdir())
    assert hosts == [f"host={host_name(h)}" for h in range(CFG.hosts)]
    # 12 snapshots every 30 minutes from noon: one day.
    assert [p.name for p in (ds / "host=host0000").iterdir()] == ["day=2026-11-21"]
    table = pq.read_table(next((ds / "host=host0003").rglob("*.parquet")))
    assert table.schema.names == list(COLUMNS)
    row = table.slice(3, 1).to_pylist()[0]
    assert (row["host"], row["tag"], row["binary"], row["os"]) == ("host0003", "X003", "drv03.sys",
                                                                   "Windows Server 2022 (simulated)")
    versions = json.loads((fleet[0] / "host0003" / "host.json").read_text())["drivers"]
    assert row["driver_version"] == versions["drv03.sys"]
    assert row["owner"] == "drv03.sys - Simulated driver 3 buffers"


def test_each_host_gets_the_trend_verdicts_of_its_own_files(fleet):
    inputs, ds = fleet
    result = analyze_fleet([ds], jobs=2, include_all=True)
    assert result.hosts == CFG.hosts and result.series == CFG.hosts * CFG.tags and not result.failures
    table = result.host_verdicts
    assert table.schema.names == list(HOST_VERDICT_COLUMNS)
    for h in (0, 5):
        direct = analyze(parse([str(inputs / host_name(h) / "poolmon.log")]).snapshots)
        mine = [r for r in table.to_pylist() if r["host"] == host_name(h)]
        assert {(r["tag"], r["pool"]): (r["verdict"], r["rate_bytes_per_hour"]) for r in mine} == {
            (r.tag, r.pool): (r.verdict, r.rate_bytes_per_hour) for r in direct.rows}


def test_planted_leaks_are_counted_on_exactly_their_hosts(fleet):
    result = analyze_fleet([fleet[1]], jobs=1)
    found = {(r.tag, r.binary, r.driver_version): r.hosts_leak for r in result.rows if r.hosts_leak}
    expected = {k: n for k, n in expected_hosts(CFG).items() if n}
    assert expected and found == expected
    # The same leaks by driver version, and rates only from leaking hosts.
    by_driver = {(r.binary, r.driver_version): r for r in analyze_fleet([fleet[1]], by="driver", jobs=1).rows}
    for (_tag, driver, version), n in expected.items():
        assert by_driver[(driver, version)].hosts_leak >= n
        assert by_driver[(driver, version)].rate_median > 0


def test_dask_local_cluster_gives_the_process_pool_rows(fleet):
    distributed = pytest.importorskip("distributed")
    ds = fleet[1]
    local = analyze_fleet([ds], jobs=2, include_all=True)
    with socket_churn(), distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                   host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = analyze_fleet([ds], scheduler=client, include_all=True)
        by_address = analyze_fleet([ds], scheduler=cluster.scheduler_address, by="owner")
    assert remote.rows == local.rows
    assert by_address.rows == analyze_fleet([ds], jobs=1, by="owner").rows
    key = ["host", "tag", "pool"]
    assert remote.host_verdicts.sort_by([(k, "ascending") for k in key]).to_pylist() == \
        local.host_verdicts.sort_by([(k, "ascending") for k in key]).to_pylist()


def test_output_formats(fleet, tmp_path):
    ds = str(fleet[1])

    def poolscope(*args: str):  # in-process: five runs of the command cost no interpreter start-up
        return invoke(tmp_path, *args)

    data = json.loads(poolscope("fleet", "analyze", ds, "--format", "json", "--jobs", "1").out)
    assert data["summary"]["hosts"] == CFG.hosts
    assert {"tag", "hosts_leak", "hosts_seen", "rate_median", "first_seen"} <= set(data["rows"][0])
    table = poolscope("fleet", "analyze", ds, "--jobs", "1").out
    assert table.startswith(f"{CFG.hosts} hosts, {CFG.hosts * CFG.tags} series")
    assert "Leak hosts" in table and "X003" in table
    md = poolscope("fleet", "analyze", ds, "--format", "markdown", "--by", "driver", "--jobs", "1").out
    assert "| Driver | Version |" in md
    html = poolscope("fleet", "analyze", ds, "--format", "html", "--jobs", "1").out
    assert html.startswith("<!DOCTYPE html>") and "default-src &#x27;none&#x27;" in html and "<script" not in html
    csv_text = poolscope("fleet", "analyze", ds, "--format", "csv", "--jobs", "1").out
    assert csv_text.splitlines()[0].startswith("tag,pool,owner,binary,driver_version,hosts_leak")


def test_untrusted_owner_text_is_escaped(tmp_path):
    log = (SAMPLES / "leak_appended.log").read_text(encoding="utf-8")
    evil = log.replace("[nt!cm - Configuration Manager (registry)]", "[<img src=x onerror=alert(1)>.sys - <b>x</b>]")
    host = tmp_path / "in" / "web<1>"
    host.mkdir(parents=True)
    (host / "poolmon.log").write_text(evil, encoding="utf-8")
    assert poolscope("fleet", "ingest", str(tmp_path / "in"), "-o", str(tmp_path / "ds")).code == 0
    html = poolscope("fleet", "analyze", str(tmp_path / "ds"), "--format", "html", "--all", "--by", "owner").out
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.sys" in html
    assert (tmp_path / "ds" / "host=web%3C1%3E").is_dir()


def test_parse_parquet_reads_back_as_the_same_snapshots(tmp_path):
    # banners_cp1252.log has screens of headings only; perfmon_pool.csv snapshots are totals only.
    for sample in ("leak_appended.log", "capture_linux.pslog", "banners_cp1252.log", "perfmon_pool.csv"):
        out = tmp_path / f"{sample}.parquet"
        run = poolscope("parse", "--format", "parquet", "-o", str(out), str(SAMPLES / sample))
        assert run.code == 0, run.err
        back = list(snapshots_from_table(pq.read_table(out)))
        parsed = parse([str(SAMPLES / sample)]).snapshots
        assert len(back) == len(parsed) and sum(not len(s.rows) for s in back) == sum(not len(s.rows) for s in parsed)
        for a, b in zip(back, parsed, strict=True):
            assert a.source.endswith(sample) and a == b.__class__(**{**b.__dict__, "source": a.source})
            assert a.timestamp == b.timestamp and a.totals == b.totals


def test_bad_inputs_are_one_line_errors(tmp_path, fleet):
    run = poolscope("fleet", "analyze", str(tmp_path))
    assert run.code == 2 and len(run.err_lines) == 1 and "no Parquet files found" in run.err
    (tmp_path / "junk.parquet").write_text("not parquet")
    run = poolscope("fleet", "analyze", str(tmp_path / "junk.parquet"))  # nothing readable: an error, said once
    assert run.code == 2 and len(run.err_lines) == 1
    assert run.err.startswith(f"Error: {tmp_path / 'junk.parquet'}: not a readable Parquet file: ")
    run = poolscope("fleet", "analyze", str(fleet[1]), str(tmp_path / "junk.parquet"), "--jobs", "1")
    assert run.code == 0 and run.err.startswith(f"warning: {tmp_path / 'junk.parquet'}: not a readable Parquet file")
    run = poolscope("fleet", "ingest", str(fleet[0]), "-o", str(fleet[1]))
    assert run.code == 2 and "folder is not empty (add --append" in run.err and "Traceback" not in run.err
    bad = tmp_path / "in" / "h1"
    bad.mkdir(parents=True)
    (bad / "poolmon.log").write_text((SAMPLES / "leak_appended.log").read_text(encoding="utf-8"))
    (bad / "host.json").write_text('{"os": "x",\n "drivers": [1, }')
    run = poolscope("fleet", "ingest", str(tmp_path / "in"), "-o", str(tmp_path / "ds"))
    assert run.code == 0 and f"failed: h1: {bad / 'host.json'}:2: not JSON" in run.out
    run = poolscope("fleet", "analyze", str(fleet[1]), "--scheduler", "tcp://127.0.0.1:9")
    assert run.code == 2 and len(run.err_lines) == 1 and "cannot reach the Dask scheduler" in run.err


def test_missing_extra_is_named_in_one_line(fleet):
    code = ("import sys; sys.modules['pyarrow'] = None; from analyzer.cli import main; "
            f"main(['fleet', 'analyze', {str(fleet[1])!r}])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "Error: pyarrow is not installed; it comes with the optional 'fleet' extra: pip install 'poolscope[fleet]'"]


def test_a_host_whose_snapshots_have_no_rows_is_kept(tmp_path):
    # Performance-counter snapshots carry pool totals but no tag rows: their times and totals stay.
    host = tmp_path / "in" / "db07"
    host.mkdir(parents=True)
    (host / "perfmon_pool.csv").write_bytes((SAMPLES / "perfmon_pool.csv").read_bytes())
    run = poolscope("fleet", "ingest", str(tmp_path / "in"), "-o", str(tmp_path / "ds"))
    assert run.code == 0, run.err
    parsed = parse([str(SAMPLES / "perfmon_pool.csv")]).snapshots
    back = list(snapshots_from_table(pq.read_table(tmp_path / "ds", partitioning=None)))
    assert [(s.timestamp, s.totals, len(s.rows)) for s in back] == [(s.timestamp, s.totals, 0) for s in parsed]
    assert {s.extra["host"] for s in back} == {"db07"}
    result = analyze_fleet([tmp_path / "ds"], jobs=1, include_all=True)
    assert result.failures == [] and result.rows == []
