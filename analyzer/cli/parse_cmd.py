"""``poolscope parse``: the normalized snapshots of any input, as JSON, CSV or a summary."""

from __future__ import annotations

import sys

import click

from analyzer.cli.options import InputOptions, input_options, load, output_format_option, owners_for
from analyzer.render.dataset import write_parquet
from analyzer.render.parse_output import iter_csv, iter_json, to_table


@click.command("parse")
@click.argument("paths", nargs=-1, required=True, metavar="FILE...")
@output_format_option("table", "json", "csv", "parquet", default="table")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output (needed for parquet on a terminal).")
@input_options
def parse_command(paths: tuple[str, ...], output_format: str, output: str | None, inputs: InputOptions) -> None:
    """Print the snapshots read from FILE..., to check what poolscope understood.

    FILE is any mix of files, folders, globs, .gz/.zip archives and `-` for stdin.
    `--format json` prints the stable data contract (docs/json-contract.md): every snapshot
    with its source, time, scope, header totals and rows, the warnings, and each tag's
    candidate owners with their provenance. `--format csv`
    prints one line per row. `--format parquet` writes the fleet dataset's row schema
    (docs/fleet.md; needs the optional fleet extra). The default table is one line per snapshot.
    """
    if output_format == "parquet" and output is None and sys.stdout.isatty():
        raise click.UsageError("--format parquet writes binary data: give -o FILE or redirect standard output")
    result = load(paths, inputs)
    with click.open_file(output or "-", "wb" if output_format == "parquet" else "w", encoding=None
                         if output_format == "parquet" else "utf-8", atomic=output is not None) as out:
        if output_format == "table":
            out.write(to_table(result))
            return
        owners = owners_for(result.snapshots, inputs)
        if output_format == "parquet":
            write_parquet(result, out, owners)
            return
        # The resolver is the rows' owner callable, and in JSON also gives the top-level candidates.
        pieces = iter_json(result, owners) if output_format == "json" else iter_csv(result, owners.best)
        for piece in pieces:
            out.write(piece)
