"""``poolscope parse``: the normalized snapshots of any input, as JSON, CSV or a summary."""

from __future__ import annotations

import sys
from typing import Any

import click

from analyzer.cli.options import (
    InputOptions,
    atomic_output,
    echo_warnings,
    input_options,
    load,
    output_format_option,
    owners_for,
)
from analyzer.render.dataset import write_parquet
from analyzer.render.parse_output import iter_csv, iter_csv_bytes, iter_json, to_table, write_streamed
from parsers import ParseResult, parse_streamed


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
    if output is not None and output != "-":
        # A file, written under a temporary name and renamed at the end: no half file on failure.
        # CSV goes to it as bytes (Arrow's buffers as they are, no decode and re-encode).
        with atomic_output(output, binary=output_format in ("parquet", "csv")) as out:
            if output_format != "table" and _write_streamed(paths, output_format, inputs, out):
                return
            _write(load(paths, inputs), output_format, inputs, out)
        return
    result = load(paths, inputs)
    if output_format == "parquet":
        # Binary: past the command line's text layer (analyzer.render.safe), straight to the descriptor.
        _write(result, output_format, inputs, sys.__stdout__.buffer)
        return
    _write(result, output_format, inputs, None)


def _write_streamed(paths: tuple[str, ...], output_format: str, inputs: InputOptions, out: Any) -> bool:
    """One large log written as it is read, so memory stays flat (parsers.parse_streamed).

    False (the file emptied again) when the input does not qualify or turned out to need the
    whole parse (snapshots out of time order, owner evidence in the rows...): the caller
    then writes it the usual way, so the file is always what the whole path writes.
    """
    stream = parse_streamed(list(paths), input_format=inputs.input_format, errors=inputs.errors,
                            interval=inputs.interval)
    if not stream.streaming:
        return False
    from analyzer.owners import build_resolver

    owners = build_resolver(inputs.tags, (), errors=inputs.errors)  # the inputs' evidence: checked as read
    if write_streamed(stream, output_format, out, owners):
        # In the order the whole path prints them; on a rewrite that path prints them itself.
        echo_warnings(stream.warnings, verbose=inputs.verbose)
        for warning in owners.warnings:
            click.echo(f"warning: {warning}", err=True)
        return True
    out.seek(0)
    out.truncate()
    return False


def _write(result: ParseResult, output_format: str, inputs: InputOptions, out: Any) -> None:
    """Write to ``out``, or echo to standard output (``None``) so terminal escaping applies."""

    def emit(text: str) -> None:
        if out is None:
            click.echo(text, nl=False)
        else:
            out.write(text)

    if output_format == "table":
        emit(to_table(result))
        return
    owners = owners_for(result.snapshots, inputs)
    if output_format == "parquet":
        write_parquet(result, out, owners)
        return
    if output_format == "csv" and out is not None:
        for data in iter_csv_bytes(result, owners.best):
            out.write(data)
        return
    # The resolver is the rows' owner callable, and in JSON also gives the top-level candidates.
    pieces = iter_json(result, owners) if output_format == "json" else iter_csv(result, owners.best)
    for piece in pieces:
        emit(piece)
