"""``poolscope fleet ingest`` and ``fleet analyze``: many hosts' pool data, on one laptop or a Dask cluster."""

from __future__ import annotations

from datetime import timedelta

import click

import poolscope
from analyzer.analysis.fleet import GROUPINGS
from analyzer.analysis.trend import TrendOptions
from analyzer.cli.options import DURATION, SIZE, DurationType, output_format_option
from analyzer.render.fleet_output import render_fleet, render_ingest


@click.group("fleet")
def fleet_group() -> None:
    """Fleet scale: many hosts' logs into one Parquet dataset, then which tags leak on how many hosts.

    Needs the optional extra: pip install 'poolscope[fleet]' (pyarrow, duckdb, dask).
    """


@fleet_group.command("ingest")
@click.argument("dirs", nargs=-1, required=True, metavar="DIR...")
@click.option("-o", "--output", "dataset", required=True, type=click.Path(file_okay=False),
              help="Dataset folder to write (Parquet, partitioned by host and day).")
@click.option("--host-from", default=None, metavar="REGEX",
              help="Regular expression searched in each file's path under DIR; its group `host` (or first "
                   "group) names the host. Default: each sub-folder is a host, a loose file is a host by its name.")
@click.option("--tags", "tags", multiple=True, type=click.Path(dir_okay=False),
              help="A pooltag.txt / localtag.txt naming tag owners (repeatable; the first file given wins).")
@click.option("--interval", type=DURATION, default=None,
              help="Time between snapshots that carry no time of their own (30s, 30m, 1h30m).")
@click.option("--strict", is_flag=True, help="A host with a line that cannot be read fails instead of warning.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per core).")
@click.option("--append", is_flag=True, help="Add to an existing dataset instead of refusing a non-empty folder.")
def ingest_command(dirs: tuple[str, ...], dataset: str, host_from: str | None, tags: tuple[str, ...],
                   interval: timedelta | None, strict: bool, jobs: int | None, append: bool) -> None:
    """Parse every host's inputs under DIR... into one Parquet dataset.

    Driver binaries come from Mapped_Driver columns, tag files and other owner evidence;
    versions from a host.json in the host's folder ({"os": ..., "drivers": {"abc.sys": "2.4.1"}})
    or from capture-log metadata.
    """
    result = poolscope.fleet_ingest(dirs, dataset, host_from=host_from, tag_files=tags, interval=interval,
                                    strict=strict, jobs=jobs, append=append)
    for host in result.hosts:
        for warning in host.warnings:
            click.echo(f"warning: {host.host}: {warning}", err=True)
    click.echo(render_ingest(result), nl=False)


@fleet_group.command("analyze")
@click.argument("datasets", nargs=-1, required=True, metavar="DATASET...")
@click.option("--by", type=click.Choice(list(GROUPINGS)), default="tag", show_default=True,
              help="One row per tag (with its driver version), per owner, or per driver version.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run the per-host work on this Dask distributed scheduler (its workers must see DATASET at "
                   "the same path) instead of local processes.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: one per core).")
@click.option("--all", "show_all", is_flag=True, help="Also rows where no host leaks or is suspect.")
@click.option("--min-points", type=click.IntRange(min=3), default=TrendOptions.min_points, show_default=True,
              help="A tag seen in fewer snapshots than this gets the verdict insufficient-data.")
@click.option("--min-growth", type=SIZE, default=TrendOptions.min_growth, show_default=True,
              help="Growth over the window below which a series is never a leak or suspect (4096, 64K, 1.5MB).")
@click.option("--min-span", type=DurationType(allow_zero=True), default="10m", show_default=True,
              help="A time window shorter than this gives at most suspect, never leak.")
@output_format_option("table", "json", "csv", "markdown", "html", default="table")
def analyze_command(datasets: tuple[str, ...], by: str, scheduler: str | None, jobs: int | None, show_all: bool,
                    min_points: int, min_growth: int, min_span: timedelta, output_format: str) -> None:
    """Give every host of DATASET the `trend` verdicts, then count per tag how many hosts leak.

    Each row: hosts with a leak verdict, with suspect, hosts where the key was seen at all,
    the median and 90th percentile of the leaking hosts' rates, and the earliest onset.
    """
    options = TrendOptions(min_points=min_points, min_growth=min_growth,
                           min_span_hours=min_span.total_seconds() / 3600)
    result = poolscope.fleet_analyze(datasets, by=by, options=options, scheduler=scheduler, jobs=jobs,
                                     include_all=show_all)
    for failure in result.failures:
        click.echo(f"warning: {failure}", err=True)
    click.echo(render_fleet(result, output_format), nl=False)
