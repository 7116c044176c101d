"""``poolscope triage FILE``: the case in a debugger log or crash dump."""

from __future__ import annotations

import click

from analyzer.cli.options import output_format_option, tag_files_option


@click.command("triage")
@click.argument("file", type=click.Path(dir_okay=False))
@output_format_option("table", "json", "markdown")
@click.option("--symbols", metavar="PATH", default=None,
              help="Symbol path for the debugger when FILE is a dump (default: _NT_SYMBOL_PATH or the MS server).")
@click.option("--debugger", metavar="PATH", default=None,
              help="cdb.exe or kd.exe to open a dump with (default: found on PATH or in the Windows Kits).")
@tag_files_option("tag_files")
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 100),
              help="How many of the largest tags to list per pool.")
def triage_command(file: str, output_format: str, symbols: str | None, debugger: str | None,
                   tag_files: tuple[str, ...], top: int) -> None:
    """Say what a crash or debugger log means for the pools: bug check, exhausted pool, top tags, next steps.

    FILE is a WinDbg/kd/cdb log (.logopen file or copied console) or, on Windows with the
    Debugging Tools installed, a crash dump (.dmp), which is opened with cdb.
    """
    import poolscope
    from analyzer.render.tables import render_json
    from analyzer.render.triage_text import render_markdown, render_text

    report = poolscope.triage(file, tag_files=tag_files, symbols=symbols, debugger=debugger, top=top)
    if output_format == "json":
        click.echo(render_json(report.to_dict()), nl=False)
    elif output_format == "markdown":
        click.echo(render_markdown(report), nl=False)
    else:
        click.echo(render_text(report), nl=False)
