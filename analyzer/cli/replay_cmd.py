"""``poolscope replay LOG...``: step through a saved log in a PoolMon-like view."""

from __future__ import annotations

import sys

import click

from analyzer.analysis.selection import distance_note
from analyzer.cli import require_extra
from analyzer.cli.options import InputOptions, input_options, load, snapshot_spec


@click.command("replay")
@click.argument("paths", nargs=-1, required=True, metavar="LOG...")
@click.option(
    "--start",
    default="first",
    show_default=True,
    callback=snapshot_spec,
    metavar="first|last|N|TIME",
    help="Snapshot to open at, as in `show --snapshot`: first, last, its position counted from 0 "
    "(negative from the end), or the one nearest a time such as 2026-11-21T15:00.",
)
@input_options
def replay_command(paths: tuple[str, ...], start: str | int, inputs: InputOptions) -> None:
    """Step through the snapshots of LOG... in a PoolMon-like view (needs a terminal).

    Keys: p pool (nonpaged/paged/both), b bytes, m per alloc, t tag, a allocs, f frees,
    d diff (pressing a sort key again reverses it), ( sort by change, e totals,
    l highlighting on/off, / filter (Abc* Ntf? /xAb?d), left/right previous/next snapshot,
    Home/End first/last, ? help, q or Ctrl+C quit.  Rows that changed since the previous
    snapshot are highlighted.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.UsageError(
            "replay is interactive and needs a terminal; use `poolscope show` or `poolscope report` for a pipe or file"
        )
    try:
        from analyzer.render.tui.replay import replay_app
    except ModuleNotFoundError as exc:
        raise require_extra(exc, "the replay view") from None

    result = load(paths, inputs)
    try:
        app = replay_app(result, start=start, tag_files=inputs.tags, title=f"poolscope replay {' '.join(paths)}")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    note = distance_note(result.snapshots, start, app.snapshot) if app.snapshot is not None else None
    if note:
        app.notice = note
    app.run()
