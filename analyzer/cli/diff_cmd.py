"""``poolscope diff BEFORE AFTER``: what changed between two snapshots, with gates for test pipelines."""

from __future__ import annotations

import click

import poolscope
from analyzer.analysis.gates import diff_gate
from analyzer.analysis.selection import distance_note, select_snapshot, split_file_spec
from analyzer.cli import fail_if_tripped
from analyzer.cli.options import (
    SIZE,
    InputOptions,
    echo_warnings,
    input_options,
    load,
    output_format_option,
    owners_for,
)
from analyzer.render.time_output import render_diff
from parsers import ParseResult, Snapshot, settle_pictures


def _load_pair(before: str, after: str, inputs: InputOptions) -> tuple[Snapshot, Snapshot]:
    """The two snapshots; a file named on both sides (``log#0`` vs ``log#last``) is read once."""
    loaded: dict[str, ParseResult] = {}
    picked = []
    for text in (before, after):
        path, spec = split_file_spec(text)
        if path not in loaded:
            loaded[path] = load([path], inputs)
        chosen = select_snapshot(loaded[path], "last" if spec is None else spec, name=path)
        note = None if spec is None else distance_note(loaded[path].snapshots, spec, chosen)
        if note:
            click.echo(f"warning: {path}: {note}", err=True)
        picked.append(chosen)
    # Two screenshots: a tag one of them doubts is settled by the other, as when read together.
    echo_warnings(settle_pictures(picked), verbose=inputs.verbose)
    return picked[0], picked[1]


@click.command("diff")
@click.argument("before", metavar="BEFORE")
@click.argument("after", metavar="AFTER")
@click.option("--min-change", type=SIZE, default=0, show_default=True,
              help="Hide tags whose bytes changed by less than this (4096, 64K, 1.5MB).")
@click.option("--fail-on-growth", type=SIZE, default=None,
              help="Exit 1 when any tag grew by more than this many bytes.")
@click.option("--fail-on-total", type=SIZE, default=None,
              help="Exit 1 when the pools together grew by more than this many bytes.")
@output_format_option("table", "json", "csv", "markdown", default="table")
@input_options
def diff_command(before: str, after: str, min_change: int, fail_on_growth: int | None,
                 fail_on_total: int | None, output_format: str, inputs: InputOptions) -> None:
    """Compare two snapshots: BEFORE and AFTER are files, or FILE#SPEC to pick one snapshot.

    SPEC is first, last, a position counted from 0 (negative from the end) or a time such as
    2026-11-21T15:00, as in `show --snapshot`.  Without #SPEC the last snapshot of each file
    is used.  Rows are (tag, pool), largest byte growth first, with new and vanished tags
    and per-pool totals.
    """
    snap_a, snap_b = _load_pair(before, after, inputs)
    result = poolscope.diff(snap_a, snap_b, min_change=min_change, resolver=owners_for([snap_a, snap_b], inputs))
    click.echo(render_diff(result, output_format), nl=False)
    fail_if_tripped(diff_gate(poolscope.diff(snap_a, snap_b) if min_change else result, fail_on_growth, fail_on_total))
