"""Benchmark: a simulated fleet through ``poolscope fleet ingest`` and ``fleet analyze``, local and on Dask.

    .venv/bin/python bench/fleet_bench.py [--hosts 2000] [--snapshots 48] [--tags 300] [--jobs 2]

Writes ``bench/out/fleet_<hosts>x<snapshots>x<tags>/in`` (one folder per host: an appended
PoolMon log with a Mapped_Driver column and a host.json with driver versions; see
bench/fleet_sim.py) unless it is already there, then in the same run:

* ``poolscope fleet ingest in -o dataset`` (process pool, --jobs workers);
* ``poolscope fleet analyze dataset --format json`` on the local process pool;
* the same analyze with ``--scheduler`` pointing at a Dask LocalCluster on 127.0.0.1 with
  --jobs single-threaded worker processes, started by this script;

timing each (wall), sampling the summed RSS of this script's whole process tree (the CLI, its
pool workers and the Dask scheduler and workers) every 0.1 s for the peak, and checking every
planted leak: its row (tag, driver, version) must count exactly the hosts running that version,
and no other row may have a leaking host.  Dask and process-pool outputs must be identical.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fleet_sim import FleetConfig, expected_hosts, write_fleet  # noqa: E402


class TreeRss:
    """Peak of the summed RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, period: float = 0.1) -> None:
        self.period = period
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker that just exited
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.period)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _poolscope(*args: str) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds of the CLI and its pool workers, peak tree RSS, stdout) of one CLI run."""
    cpu = _children_cpu()
    with TreeRss() as rss:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True, text=True,
                             cwd=ROOT)
        wall = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"poolscope {' '.join(args)} failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return wall, _children_cpu() - cpu, rss.peak, run.stdout


def _cpu_of(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0


def _generate(root: Path, cfg: FleetConfig, jobs: int) -> None:
    hosts = list(range(cfg.hosts))
    parts = [hosts[i::jobs] for i in range(jobs)]
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(write_fleet, [root] * jobs, [cfg] * jobs, parts))


def check(rows: list[dict], cfg: FleetConfig) -> dict[str, object]:
    """Planted leaks found with exact host counts, and leak rows that were not planted."""
    expected = expected_hosts(cfg)
    found = {(r["tag"], r["binary"], r["driver_version"]): r for r in rows}
    planted = []
    for (tag, driver, version), hosts in expected.items():
        row = found.get((tag, driver, version))
        got = row["hosts_leak"] if row else 0
        planted.append({"tag": tag, "driver": driver, "version": version, "expected_hosts": hosts,
                        "hosts_leak": got, "hosts_suspect": row["hosts_suspect"] if row else 0,
                        "exact": got == hosts})
    planted_keys = set(expected)
    stray = [r for r in rows if r["hosts_leak"] and (r["tag"], r["binary"], r["driver_version"]) not in planted_keys]
    return {"planted": planted, "all_exact": all(p["exact"] for p in planted),
            "unplanted_leak_rows": len(stray), "unplanted_leak_hosts": sum(r["hosts_leak"] for r in stray),
            "unplanted": [{k: r[k] for k in ("tag", "pool", "binary", "driver_version", "hosts_leak", "hosts_seen",
                                              "rate_median")} for r in stray],
            "suspect_rows": sum(1 for r in rows if r["hosts_suspect"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=2000)
    ap.add_argument("--snapshots", type=int, default=48)
    ap.add_argument("--tags", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args()
    cfg = FleetConfig(hosts=args.hosts, snapshots=args.snapshots, tags=args.tags)
    base = ROOT / "bench" / "out" / f"fleet_{cfg.hosts}x{cfg.snapshots}x{cfg.tags}"
    inputs, dataset = base / "in", base / "dataset"
    stamp = base / "generated.ok"
    if not stamp.exists() or not inputs.is_dir():  # the logs may have been removed to save disk
        shutil.rmtree(base, ignore_errors=True)
        t = time.perf_counter()
        _generate(inputs, cfg, args.jobs)
        stamp.write_text("ok\n")
        print(f"generated {cfg.hosts} hosts in {time.perf_counter() - t:.0f} s")
    size = sum(f.stat().st_size for f in inputs.rglob("*") if f.is_file())
    shutil.rmtree(dataset, ignore_errors=True)
    out: dict[str, object] = {"hosts": cfg.hosts, "snapshots": cfg.snapshots, "tags": cfg.tags,
                              "rows": cfg.hosts * cfg.snapshots * cfg.tags, "input_mb": round(size / 1e6, 1),
                              "cores": os.cpu_count(), "load_before": os.getloadavg()[0]}

    wall, cpu, peak, text = _poolscope("fleet", "ingest", str(inputs), "-o", str(dataset), "--jobs", str(args.jobs))
    out["ingest"] = {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "peak_rss_mb": round(peak / 1e6),
                     "summary": text.strip(),
                     "dataset_mb": round(sum(f.stat().st_size for f in dataset.rglob("*.parquet")) / 1e6, 1)}
    print(f"ingest   {wall:7.1f} s  {cpu:7.1f} s CPU  peak RSS {peak / 1e6:6.0f} MB  {text.strip()}")

    wall, cpu, peak, text = _poolscope("fleet", "analyze", str(dataset), "--format", "json", "--jobs", str(args.jobs))
    local = json.loads(text)
    out["analyze_process_pool"] = {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                                   "peak_rss_mb": round(peak / 1e6),
                                   "summary": local["summary"], "check": check(local["rows"], cfg)}
    print(f"analyze  {wall:7.1f} s  {cpu:7.1f} s CPU  peak RSS {peak / 1e6:6.0f} MB  "
          f"(process pool, {args.jobs} workers)")

    if not args.skip_dask:
        from distributed import LocalCluster

        with TreeRss() as rss, LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None, memory_limit=None) as cluster:
            workers = psutil.Process().children(recursive=True)
            before = sum(_cpu_of(p) for p in workers)
            wall, cpu, _peak, text = _poolscope("fleet", "analyze", str(dataset), "--format", "json",
                                                "--scheduler", cluster.scheduler_address)
            cpu += sum(_cpu_of(p) for p in workers) - before
        dask = json.loads(text)
        out["analyze_dask"] = {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                               "peak_rss_mb": round(rss.peak / 1e6),
                               "identical_to_process_pool": dask == local, "check": check(dask["rows"], cfg)}
        print(f"dask     {wall:7.1f} s  {cpu:7.1f} s CPU  peak RSS {rss.peak / 1e6:6.0f} MB  "
              f"(LocalCluster, {args.jobs} workers, "
              f"identical output: {dask == local})")

    result = out["analyze_process_pool"]["check"]  # type: ignore[index]
    for p in result["planted"]:
        print(f"planted  {p['tag']} {p['driver']} {p['version']}: expected {p['expected_hosts']} hosts, "
              f"found {p['hosts_leak']} leak + {p['hosts_suspect']} suspect  {'exact' if p['exact'] else 'MISMATCH'}")
    print(f"other rows with a leaking host: {result['unplanted_leak_rows']} "
          f"({result['unplanted_leak_hosts']} host verdicts); rows with suspects: {result['suspect_rows']}")
    out["load_after"] = os.getloadavg()[0]
    (base / "results.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"results in {base / 'results.json'}")


if __name__ == "__main__":
    main()
