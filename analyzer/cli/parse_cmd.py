"""``poolscope parse``: the normalized snapshots of any input, as JSON, CSV or a summary."""

from __future__ import annotations

import click

from analyzer.cli.options import InputOptions, input_options, load, output_format_option, owners_for
from analyzer.render.parse_output import iter_csv, iter_json, to_table


@click.command("parse")
@click.argument("paths", nargs=-1, required=True, metavar="FILE...")
@output_format_option("table", "json", "csv", default="table")
@input_options
def parse_command(paths: tuple[str, ...], output_format: str, inputs: InputOptions) -> None:
    """Print the snapshots read from FILE..., to check what poolscope understood.

    FILE is any mix of files, folders, globs, .gz/.zip archives and `-` for stdin.
    `--format json` prints the stable data contract (docs/json-contract.md): every snapshot
    with its source, time, scope, header totals and rows, the warnings, and each tag's
    candidate owners with their provenance. `--format csv`
    prints one line per row. The default table is one line per snapshot.
    """
    result = load(paths, inputs)
    if output_format == "table":
        click.echo(to_table(result), nl=False)
        return
    owners = owners_for(result.snapshots, inputs)
    # The resolver is the rows' owner callable, and in JSON also gives the top-level candidates.
    pieces = iter_json(result, owners) if output_format == "json" else iter_csv(result, owners.best)
    for piece in pieces:
        click.echo(piece, nl=False)
