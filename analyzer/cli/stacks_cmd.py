"""``poolscope stacks TRACE``: the call stacks behind allocations never freed in a pool trace."""

from __future__ import annotations

import click

import poolscope
from analyzer.cli.options import output_format_option
from analyzer.render.stacks_output import render_stacks_csv, render_stacks_json, render_stacks_text


@click.command("stacks")
@click.argument("path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--tag", "tags", multiple=True, metavar="PATTERN",
              help="Only tags matching this PoolMon pattern (repeatable; case-sensitive, * and ?).")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Stacks shown per tag.")
@click.option("--max-tags", type=click.IntRange(min=1), default=20, show_default=True,
              help="Tags shown, largest outstanding bytes first.")
@click.option("--frames", type=click.IntRange(min=0), default=12, show_default=True,
              help="Frames printed per stack in the table (0: all); JSON and CSV keep every frame.")
@click.option("--points", type=click.IntRange(min=2, max=1000), default=24, show_default=True,
              help="Samples of each stack's outstanding bytes over the trace.")
@click.option("--strict", is_flag=True, help="Stop (exit 2) at the first unreadable part instead of warning.")
@output_format_option("table", "json", "csv", default="table")
def stacks_command(path: str, tags: tuple[str, ...], top: int, max_tags: int, frames: int, points: int,
                   strict: bool, output_format: str) -> None:
    """Top leaking call stacks per tag in a pool trace (ETW .etl or WPA CSV export).

    TRACE is an uncompressed .etl recorded with pool events and stacks, e.g.
    `xperf -on PROC_THREAD+LOADER+POOL -stackwalk PoolAlloc+PoolFree+PoolAllocSession+PoolFreeSession`,
    or a CSV exported from WPA's pool tables. Allocations never freed by the end of the
    trace are grouped by (tag, pool, stack) with their exact bytes, count and bytes over time.
    """
    options = poolscope.StacksOptions(top=top, max_tags=max_tags, tags=tags, points=points)
    result = poolscope.stacks(path, options, errors="raise" if strict else "warn")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        click.echo(render_stacks_json(result))
    elif output_format == "csv":
        click.echo(render_stacks_csv(result), nl=False)
    else:
        click.echo(render_stacks_text(result, frames=frames), nl=False)
