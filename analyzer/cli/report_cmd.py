"""``poolscope report INPUT...``: the one summary to read or attach (terminal, Markdown, HTML, JSON)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

import poolscope
from analyzer.analysis.trend import TrendOptions
from analyzer.cli.options import InputOptions, input_options
from analyzer.render.report import FORMATS, SUFFIXES, ReportOptions, render
from analyzer.render.report.progress import terminal_progress


@click.command("report")
@click.argument("paths", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the report to this file; .html, .md and .json choose the format.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(list(FORMATS)),
    default=None,
    help="Output format (default: from the -o suffix, else table).",
)
@click.option(
    "--max-suspects",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="List at most this many leak suspects.",
)
@click.option(
    "--min-points",
    type=click.IntRange(min=3),
    default=TrendOptions.min_points,
    show_default=True,
    help="A tag seen in fewer snapshots than this gets the verdict insufficient-data.",
)
@input_options
def report_command(
    paths: tuple[str, ...],
    output: str | None,
    output_format: str | None,
    max_suspects: int,
    min_points: int,
    inputs: InputOptions,
) -> None:
    """Read INPUT... and say whether the pools leak, who owns the suspects, and what to do next.

    INPUT is any mix of PoolMon logs and screens, poolsnap folders, WinDbg transcripts,
    slabinfo and capture logs (.zip/.gz too).  The report covers what was read, the
    verdict, leak suspects with owner, rate and exhaustion estimate, pool totals over
    time, the first-to-last diff and the next steps.  Examples:

    \b
        poolscope report samples/leak_appended.log
        poolscope report logs/ -o report.html
    """
    fmt = _choose_format(output, output_format)
    with terminal_progress(enabled=sys.stderr.isatty()) as progress:
        report = poolscope.report(
            list(paths),
            ReportOptions(
                tag_files=inputs.tags,
                input_format=inputs.input_format,
                errors=inputs.errors,
                interval=inputs.interval,
                trend_options=TrendOptions(min_points=min_points),
                max_suspects=max_suspects,
                progress=progress,
            ),
        )
        text = None if output is None and fmt == "table" else render(report, fmt, width=_width())
    if text is None:
        # The report lists the warnings itself.
        if sys.stdout.isatty():
            from analyzer.render.report.terminal import render_terminal
            from analyzer.render.tables import make_console

            render_terminal(report, make_console(width=None))
        else:
            click.echo(render(report, "table", width=_width()), nl=False)
        return
    if output is not None:
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.FileError(output, exc.strerror) from exc
    click.echo(f"{report.verdict}\nreport written to {output}", err=True)


def _choose_format(output: str | None, output_format: str | None) -> str:
    if output_format:
        return output_format
    if output is None:
        return "table"
    fmt = SUFFIXES.get(Path(output).suffix.lower())
    if fmt is None:
        raise click.UsageError(f"cannot tell the format from {output!r}: use a .html, .md or .json name, or --format")
    return fmt


def _width() -> int:
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() and int(cols) >= 40 else 80
