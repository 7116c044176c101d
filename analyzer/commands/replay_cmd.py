"""``poolscope replay LOG...``: step through a saved log in a PoolMon-like view."""

from __future__ import annotations

import sys

import click

from ..options import InputOptions, input_options, load


@click.command("replay")
@click.argument("paths", nargs=-1, required=True, metavar="LOG...")
@click.option(
    "--start", default="first", show_default=True, help="Snapshot to open at: first, last or a number (1 = first)."
)
@input_options
def replay_command(paths: tuple[str, ...], start: str, inputs: InputOptions) -> None:
    """Replay LOG... snapshot by snapshot with PoolMon's keys.

    Keys: p pool (nonpaged/paged/both), b bytes, m per alloc, t tag, a allocs, f frees,
    d diff (pressing a sort key again reverses it), ( sort by change, e totals,
    / filter (Abc* Ntf? /xAb?d), left/right previous/next snapshot, q quit.  Rows
    that changed since the previous snapshot are highlighted.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.UsageError(
            "replay is interactive and needs a terminal; use `poolscope show` or `report` for output to a pipe or file"
        )
    result = load(paths, inputs)
    if not result.snapshots:
        raise click.UsageError("no snapshots to replay")
    from ..owners import build_resolver
    from ..tui import ListProvider, PoolMonApp

    index = _start_index(start, len(result.snapshots))
    owners = build_resolver(inputs.tags, result.snapshots)
    PoolMonApp(
        ListProvider(result.snapshots), owner=owners.best, start=index, title=f"poolscope replay {' '.join(paths)}"
    ).run()


def _start_index(text: str, n: int) -> int:
    t = text.strip().lower()
    if t == "first":
        return 0
    if t == "last":
        return n - 1
    if t.isdigit() and 1 <= int(t) <= n:
        return int(t) - 1
    raise click.BadParameter(f"{text!r}: use first, last or a number from 1 to {n}", param_hint="--start")
