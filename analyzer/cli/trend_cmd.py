"""``poolscope trend INPUT...``: leak verdicts over a log or a folder of snapshots."""

from __future__ import annotations

from datetime import timedelta

import click

import poolscope
from analyzer.analysis.gates import trend_gate
from analyzer.analysis.trend import TrendOptions
from analyzer.cli import fail_if_tripped
from analyzer.cli.options import SIZE, DurationType, InputOptions, input_options, load, output_format_option, owners_for
from analyzer.render.time_output import render_trend, select_rows


@click.command("trend")
@click.argument("paths", nargs=-1, required=True, metavar="INPUT...")
@click.option("--fail-on", type=click.Choice(["leak", "suspect"]), default=None,
              help="Exit 1 when any series gets this verdict (suspect also trips on leak).")
@click.option("--all", "show_all", is_flag=True, help="Show every series, stable ones included.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="Show at most this many rows (with --all: no limit unless given).")
@click.option("--min-points", type=click.IntRange(min=3), default=TrendOptions.min_points, show_default=True,
              help="A tag seen in fewer snapshots than this gets the verdict insufficient-data.")
@click.option("--min-growth", type=SIZE, default=TrendOptions.min_growth, show_default=True,
              help="Growth over the window below which a series is never a leak or suspect (4096, 64K, 1.5MB).")
@click.option("--min-span", type=DurationType(allow_zero=True), default="10m", show_default=True,
              help="A time window shorter than this gives at most suspect, never leak (0s for a short test run).")
@output_format_option("table", "json", "csv", "markdown", default="table")
@input_options
def trend_command(paths: tuple[str, ...], fail_on: str | None, show_all: bool, top: int, min_points: int,
                  min_growth: int, min_span: timedelta, output_format: str, inputs: InputOptions) -> None:
    """Give each (tag, pool) of INPUT... a verdict: leak, suspect, recovers, stable or insufficient-data.

    INPUT is any mix of files, folders, globs and capture logs; snapshots are put in time
    order (their timestamps, else file order spaced by --interval).  Each verdict comes
    with a reason you can check against the numbers.
    """
    result = load(paths, inputs)
    trend = poolscope.trend(result.snapshots, TrendOptions(min_points=min_points, min_growth=min_growth,
                                                           min_span_hours=min_span.total_seconds() / 3600))
    limit = None if show_all and click.get_current_context().get_parameter_source("top").name == "DEFAULT" else top
    # Owners for the rows shown only: a log of thousands of stable tags needs no lookups.
    poolscope.annotate(select_rows(trend, show_all, limit), owners_for(result.snapshots, inputs))
    click.echo(render_trend(trend, output_format, show_all=show_all, top=limit), nl=False)
    fail_if_tripped(trend_gate(trend, fail_on))
