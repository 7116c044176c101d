"""Fleet analysis: the ``trend`` verdicts of every host of a Parquet dataset, then fleet-wide counts.

The unit of work is one host: its rows are read back into snapshots and given to
:func:`analyzer.analysis.trend.analyze`, exactly as ``poolscope trend`` would on that host's
files.  Hosts run in parallel on a local process pool, or on a Dask cluster when a scheduler
address is given (its workers must see the dataset at the same path).  The per-host verdicts
come back as one Arrow table, and DuckDB SQL turns them into one row per tag (or owner, or
driver version): how many hosts leak, the distribution of their rates, and when it was first
seen.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from analyzer.analysis.trend import TrendOptions, analyze
from parsers.dataset import check_schema, require, snapshots_from_table
from parsers.errors import InputError, PoolscopeError

#: Columns of the per-host verdict table, in order.
HOST_VERDICT_COLUMNS: tuple[str, ...] = (
    "host", "tag", "pool", "verdict", "rate_bytes_per_hour", "first_seen", "bytes_last", "n_points",
    "owner", "binary", "driver_version", "os",
)

#: Groupings of the fleet table: name -> the columns that make a row.
GROUPINGS: dict[str, tuple[str, ...]] = {
    "tag": ("tag", "pool", "owner", "binary", "driver_version"),
    "owner": ("owner", "binary"),
    "driver": ("binary", "driver_version"),
}


@dataclass(frozen=True)
class FleetRow:
    """One tag (or owner, or driver version) across the fleet; key fields outside the grouping are None."""

    tag: str | None
    pool: str | None
    owner: str | None
    binary: str | None
    driver_version: str | None
    hosts_leak: int
    hosts_suspect: int
    hosts_seen: int
    tags: int
    rate_min: float | None
    rate_median: float | None
    rate_p90: float | None
    rate_max: float | None
    first_seen: datetime | None

    @property
    def share(self) -> float:
        """Hosts with a leak verdict among the hosts where this key was seen."""
        return self.hosts_leak / self.hosts_seen if self.hosts_seen else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "pool": self.pool,
            "owner": self.owner,
            "binary": self.binary,
            "driver_version": self.driver_version,
            "hosts_leak": self.hosts_leak,
            "hosts_suspect": self.hosts_suspect,
            "hosts_seen": self.hosts_seen,
            "share": round(self.share, 6),
            "tags": self.tags,
            "rate_min": self.rate_min,
            "rate_median": self.rate_median,
            "rate_p90": self.rate_p90,
            "rate_max": self.rate_max,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
        }


@dataclass(frozen=True)
class HostFailure:
    host: str
    message: str

    def __str__(self) -> str:
        return f"{self.host}: {self.message}"


@dataclass
class FleetResult:
    """Fleet-wide rows, the grouping that made them, and what was analysed."""

    rows: list[FleetRow]
    by: str
    hosts: int
    series: int
    verdicts: dict[str, int]
    failures: list[HostFailure] = field(default_factory=list)
    #: The per-host verdict table (pyarrow.Table, HOST_VERDICT_COLUMNS), for scripts and checks.
    host_verdicts: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": {"hosts": self.hosts, "series": self.series, "by": self.by, "verdicts": self.verdicts,
                        "failures": [{"host": f.host, "message": f.message} for f in self.failures]},
            "rows": [r.to_dict() for r in self.rows],
        }


# -- the units of work ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HostUnit:
    """Parquet files holding one host's rows (``host`` None: files that may hold several hosts)."""

    host: str | None
    files: tuple[str, ...]


def dataset_units(paths: Sequence[str | os.PathLike[str]]) -> list[HostUnit]:
    """One unit per ``host=`` folder of a dataset; a loose .parquet file is a unit of its own."""
    units: list[HostUnit] = []
    for item in paths:
        path = Path(item)
        if path.is_file():
            units.append(HostUnit(None, (str(path),)))
            continue
        if not path.is_dir():
            raise InputError(str(item), "no such dataset folder or Parquet file")
        hosts = sorted(p for p in path.iterdir() if p.is_dir() and p.name.startswith("host="))
        for folder in hosts:
            files = tuple(sorted(str(f) for f in folder.rglob("*.parquet")))
            if files:
                units.append(HostUnit(urllib.parse.unquote(folder.name[5:]), files))
        loose = sorted(str(f) for f in path.glob("*.parquet"))
        units.extend(HostUnit(None, (f,)) for f in loose)
    if not units:
        raise InputError(", ".join(map(str, paths)), "no Parquet files found (expected a `fleet ingest` dataset)")
    return units


def _read_unit(unit: HostUnit) -> Any:
    pa = require("pyarrow")
    pq = require("pyarrow.parquet")
    tables = []
    for f in unit.files:
        try:
            table = pq.read_table(f)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(f, f"not a readable Parquet file: {exc}") from None
        check_schema(table.schema, f)
        tables.append(table)
    return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]


def _empty_verdicts() -> dict[str, list[Any]]:
    return {name: [] for name in HOST_VERDICT_COLUMNS}


def _host_rows(host: str, table: Any, options: TrendOptions, out: dict[str, list[Any]]) -> None:
    snaps = sorted(snapshots_from_table(table),
                   key=lambda s: (s.timestamp is None, s.timestamp.timestamp() if s.timestamp else 0.0,
                                  s.source, s.index))
    # Owner facts are per tag on one host: first value seen.
    meta: dict[str, tuple[Any, Any, Any]] = {}
    for t, o, b, v in zip(table["tag"].to_pylist(), table["owner"].to_pylist(), table["binary"].to_pylist(),
                          table["driver_version"].to_pylist(), strict=True):
        if t not in meta:
            meta[t] = (o, b, v)
    os_values = table["os"].drop_null().unique().to_pylist()
    os_name = os_values[0] if os_values else None
    result = analyze(snaps, options)
    start = snaps[0].timestamp if snaps else None
    for row in result.rows:
        owner, binary, version = meta.get(row.tag, (None, None, None))
        first = row.onset or (start.replace(tzinfo=None) if start else None)
        if first is not None and first.tzinfo is not None:
            first = first.replace(tzinfo=None)
        values = (host, row.tag, row.pool, row.verdict, row.rate_bytes_per_hour, first, row.bytes_last,
                  row.n_points, owner, binary, version, os_name)
        for name, value in zip(HOST_VERDICT_COLUMNS, values, strict=True):
            out[name].append(value)


def analyze_unit(unit: HostUnit, options: TrendOptions) -> tuple[Any, list[HostFailure]]:
    """Trend verdicts of the hosts in one unit: (Arrow table of HOST_VERDICT_COLUMNS, failures)."""
    pa = require("pyarrow")
    pc = require("pyarrow.compute")
    out = _empty_verdicts()
    failures: list[HostFailure] = []
    try:
        table = _read_unit(unit)
    except PoolscopeError as exc:
        where = unit.host or unit.files[0]
        # A loose file's failure is named by the file already: say it once.
        message = exc.message if isinstance(exc, InputError) and exc.source == where else str(exc)
        return _verdict_table(out), [HostFailure(where, message)]
    if unit.host is not None:
        parts = [(unit.host, table)]
    else:
        hosts = table["host"].unique().to_pylist()
        parts = [(h if h is not None else "(unknown)",
                  table.filter(pc.is_null(table["host"]) if h is None else pc.equal(table["host"], h)))
                 for h in sorted(hosts, key=lambda h: (h is None, h or ""))]
    for host, part in parts:
        try:
            _host_rows(host, part, options, out)
        except (PoolscopeError, ValueError, pa.ArrowInvalid) as exc:
            failures.append(HostFailure(host, str(exc)))
    return _verdict_table(out), failures


def analyze_units(units: Sequence[HostUnit], options: TrendOptions) -> tuple[Any, list[HostFailure]]:
    """Several units one after the other: what one task of a pool or a Dask worker runs."""
    pa = require("pyarrow")
    tables, failures = [], []
    for unit in units:
        table, failed = analyze_unit(unit, options)
        tables.append(table)
        failures.extend(failed)
    return (pa.concat_tables(tables) if tables else _verdict_table(_empty_verdicts())), failures


def _verdict_table(out: dict[str, list[Any]]) -> Any:
    pa = require("pyarrow")
    types = {
        "rate_bytes_per_hour": pa.float64(), "first_seen": pa.timestamp("us"), "bytes_last": pa.int64(),
        "n_points": pa.int32(),
    }
    return pa.table({name: pa.array(out[name], type=types.get(name, pa.string())) for name in HOST_VERDICT_COLUMNS})


# -- executors --------------------------------------------------------------------------------------

Progress = Callable[[int, int], None]


def _batches(units: Sequence[HostUnit], workers: int) -> list[list[HostUnit]]:
    # A few batches per worker: the per-task overhead is amortised and a slow host cannot hold up the end.
    size = max(1, len(units) // (max(1, workers) * 4))
    return [list(units[i: i + size]) for i in range(0, len(units), size)]


def run_process_pool(units: Sequence[HostUnit], options: TrendOptions, jobs: int | None = None,
                     progress: Progress | None = None) -> tuple[Any, list[HostFailure]]:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    jobs = max(1, jobs or os.cpu_count() or 1)
    batches = _batches(units, jobs)
    if jobs == 1 or len(batches) == 1:
        return _collect([analyze_units(b, options) for b in batches], len(batches), progress)
    results = []
    with ProcessPoolExecutor(jobs) as pool:
        futures = {pool.submit(analyze_units, b, options): i for i, b in enumerate(batches)}
        for done, future in enumerate(as_completed(futures), 1):
            results.append((futures[future], future.result()))
            if progress:
                progress(done, len(batches))
    return _collect([r for _, r in sorted(results, key=lambda item: item[0])], len(batches), None)


def run_dask(units: Sequence[HostUnit], options: TrendOptions, scheduler: str | Any,
             progress: Progress | None = None) -> tuple[Any, list[HostFailure]]:
    """The same batches on a Dask distributed cluster (``scheduler``: an address or a Client)."""
    distributed = require("distributed")
    own = not isinstance(scheduler, distributed.Client)
    client: Any = scheduler
    if own:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise PoolscopeError(f"--scheduler {scheduler}: cannot reach the Dask scheduler: {exc}") from None
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        batches = _batches(units, workers)
        futures = client.map(analyze_units, batches, options=options, pure=False)
        results = client.gather(futures)
    finally:
        if own:
            client.close()
    return _collect(results, len(batches), progress)


def _collect(results: Sequence[tuple[Any, list[HostFailure]]], n: int, progress: Progress | None) -> tuple[
        Any, list[HostFailure]]:
    pa = require("pyarrow")
    if progress:
        progress(n, n)
    tables = [t for t, _ in results]
    failures = [f for _, fs in results for f in fs]
    return (pa.concat_tables(tables) if tables else _verdict_table(_empty_verdicts())), failures


# -- the fleet-wide aggregation ---------------------------------------------------------------------


def aggregate(verdicts: Any, by: str = "tag", include_all: bool = False) -> list[FleetRow]:
    """DuckDB SQL over the per-host verdict table: one row per key of ``GROUPINGS[by]``.

    Rows where no host leaks or is suspect are left out unless ``include_all``.
    """
    duckdb = require("duckdb")
    if by not in GROUPINGS:
        raise PoolscopeError(f"unknown grouping {by!r}; expected one of {', '.join(GROUPINGS)}")
    keys = GROUPINGS[by]
    key_sql = ", ".join(f'"{k}"' for k in keys)
    having = "" if include_all else "HAVING hosts_leak + hosts_suspect > 0"
    order = ", ".join(f'"{k}" NULLS LAST' for k in keys)
    sql = f"""
        SELECT {key_sql},
               count(DISTINCT host) FILTER (WHERE verdict = 'leak') AS hosts_leak,
               count(DISTINCT host) FILTER (WHERE verdict = 'suspect') AS hosts_suspect,
               count(DISTINCT host) AS hosts_seen,
               count(DISTINCT tag || '/' || pool) AS tags,
               min(rate_bytes_per_hour) FILTER (WHERE verdict = 'leak') AS rate_min,
               quantile_cont(rate_bytes_per_hour, 0.5) FILTER (WHERE verdict = 'leak') AS rate_median,
               quantile_cont(rate_bytes_per_hour, 0.9) FILTER (WHERE verdict = 'leak') AS rate_p90,
               max(rate_bytes_per_hour) FILTER (WHERE verdict = 'leak') AS rate_max,
               min(first_seen) FILTER (WHERE verdict IN ('leak', 'suspect')) AS first_seen
        FROM verdicts
        GROUP BY {key_sql}
        {having}
        ORDER BY hosts_leak DESC, hosts_suspect DESC, {order}
    """
    con = duckdb.connect(":memory:")
    try:
        con.register("verdicts", verdicts)
        records = con.execute(sql).fetchall()
        names = [d[0] for d in con.description]
    finally:
        con.close()
    rows = []
    for rec in records:
        values = dict(zip(names, rec, strict=True))
        rows.append(FleetRow(
            tag=values.get("tag"), pool=values.get("pool"), owner=values.get("owner"), binary=values.get("binary"),
            driver_version=values.get("driver_version"), hosts_leak=int(values["hosts_leak"]),
            hosts_suspect=int(values["hosts_suspect"]), hosts_seen=int(values["hosts_seen"]),
            tags=int(values["tags"]), rate_min=_float(values["rate_min"]), rate_median=_float(values["rate_median"]),
            rate_p90=_float(values["rate_p90"]), rate_max=_float(values["rate_max"]), first_seen=values["first_seen"],
        ))
    return rows


def _float(value: Any) -> float | None:
    return None if value is None else float(f"{float(value):.6g}")


def analyze_fleet(paths: Sequence[str | os.PathLike[str]], *, by: str = "tag", options: TrendOptions | None = None,
                  scheduler: str | Any | None = None, jobs: int | None = None, include_all: bool = False,
                  progress: Progress | None = None) -> FleetResult:
    """``poolscope fleet analyze``: per-host verdicts in parallel, then the fleet-wide table."""
    require("pyarrow")
    require("duckdb")
    if by not in GROUPINGS:
        raise PoolscopeError(f"unknown grouping {by!r}; expected one of {', '.join(GROUPINGS)}")
    opts = options or TrendOptions()
    units = dataset_units(paths)
    if scheduler is not None:
        table, failures = run_dask(units, opts, scheduler, progress)
    else:
        table, failures = run_process_pool(units, opts, jobs, progress)
    if failures and not table.num_rows and len({f.host for f in failures}) >= len(units):
        # Nothing could be read: an error naming the first input, not an empty fleet table.
        first = failures[0]
        raise InputError(first.host, first.message if len(failures) == 1
                         else f"no host could be read ({len(failures)} failed); first: {first.message}")
    verdicts = table["verdict"].value_counts().to_pylist() if table.num_rows else []
    counts = {v["values"]: int(v["counts"]) for v in verdicts}
    hosts = len(table["host"].unique()) if table.num_rows else 0
    return FleetResult(aggregate(table, by, include_all), by, hosts, table.num_rows, dict(sorted(counts.items())),
                       failures, table)
