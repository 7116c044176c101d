"""``poolscope show``: one snapshot as a PoolMon-like table."""

from __future__ import annotations

import click

import poolscope
from analyzer.analysis.selection import distance_note
from analyzer.analysis.show import POOL_CHOICES, SORT_KEYS, ShowOptions
from analyzer.cli.options import InputOptions, input_options, load, output_format_option, owners_for, snapshot_spec
from analyzer.render.columns import SHOW_COLUMNS
from analyzer.render.show_screen import render_show
from analyzer.render.tables import render_csv, render_json, want_color
from parsers.errors import InputError

#: PoolMon's sort keys: tag, allocs, frees, diff, bytes, per alloc (``m``).
POOLMON_SORT_LETTERS = {"t": "tag", "a": "allocs", "f": "frees", "d": "diff", "b": "bytes", "m": "per-alloc"}


def check_poolmon_switches(paths: tuple[str, ...]) -> None:
    """``/iAbc*`` typed as PoolMon takes it lands here as a file name: say what poolscope wants instead."""
    import os
    import re

    for path in paths:
        m = re.match(r"^/([ixIX])(\S+)$", path)
        if m and not os.path.exists(path):
            option = "-i" if m.group(1).lower() == "i" else "-x"
            raise InputError(path, f"no such file; PoolMon's /{m.group(1)}{m.group(2)} is "
                                   f"`{option} '{m.group(2)}'` here")


def screen_width() -> int | None:
    """The terminal's width, else ``COLUMNS``, else None (a file gets every column)."""
    import os
    import shutil
    import sys

    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    env = os.environ.get("COLUMNS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


@click.command("show")
@click.argument("paths", nargs=-1, required=True, metavar="FILE...")
@click.option("--snapshot", "snapshot", default="last", show_default=True, callback=snapshot_spec,
              metavar="first|last|N|TIME",
              help="Which snapshot: first, last, its position counted from 0 (negative from the end), "
                   "or the one nearest a time such as 2026-11-21T15:00.")
@click.option("--sort", type=click.Choice([*SORT_KEYS, *POOLMON_SORT_LETTERS]), default="bytes", show_default=True,
              help="Sort key, or PoolMon's letter for it (t a f d b m); numbers sort largest first.")
@click.option("--by-change", is_flag=True,
              help="Sort by the change columns (PoolMon's `(`): the screen's own, or since the previous snapshot.")
@click.option("--pool", type=click.Choice(POOL_CHOICES), default="both", show_default=True,
              help="Show one pool only (PoolMon's p key).")
@click.option("-i", "--include", multiple=True, metavar="PATTERN",
              help="Show only tags matching PATTERN (PoolMon /i; case-sensitive, * and ?). Repeatable.")
@click.option("-x", "--exclude", multiple=True, metavar="PATTERN",
              help="Hide tags matching PATTERN (PoolMon /x; case-sensitive, * and ?). Repeatable.")
@click.option("--scope", default=None, metavar="SCOPE",
              help="Pick among the snapshots of this pool scope only (system, all-sessions or session:N); "
                   "--snapshot then counts among them.")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Show only the first N rows after sorting.")
@click.option("--totals", is_flag=True, help="Print per-pool totals under the table (PoolMon's e key).")
@output_format_option("table", "json", "csv", default="table")
@input_options
def show_command(paths: tuple[str, ...], snapshot: str | int, sort: str, by_change: bool, pool: str,
                 include: tuple[str, ...], exclude: tuple[str, ...], scope: str | None, top: int | None,
                 totals: bool,
                 output_format: str, inputs: InputOptions) -> None:
    """Print one snapshot of FILE... the way PoolMon shows it.

    The table has PoolMon's columns (Tag Type Allocs Frees Diff Bytes Per Alloc), the change
    columns when known, and the owner of each tag when a tag file or the input names one.
    """
    check_poolmon_switches(paths)
    result = load(paths, inputs)
    options = ShowOptions(snapshot=snapshot, sort=POOLMON_SORT_LETTERS.get(sort, sort), by_change=by_change, pool=pool,
                          include=include, exclude=exclude, top=top, scope=scope)
    shown = poolscope.show(result, options, resolver=owners_for(result.snapshots, inputs))
    note = distance_note(result.snapshots, snapshot, shown.snapshot)
    if note:
        click.echo(f"warning: {note}", err=True)
    if output_format == "json":
        click.echo(render_json(shown.to_dict()), nl=False)
    elif output_format == "csv":
        click.echo(render_csv(shown.rows, SHOW_COLUMNS), nl=False)
    else:
        click.echo(render_show(shown, totals=totals, color=want_color(), width=screen_width()), nl=False,
                   color=want_color())
