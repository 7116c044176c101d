"""``poolscope top``: this machine's pools live, in the PoolMon-like view of ``replay``."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from analyzer.cli import require_extra
from analyzer.cli.options import DURATION, tag_files_option
from analyzer.live import capture


@click.command("top")
@click.option("--interval", type=DURATION, default="2s", show_default=True, help="Time between refreshes (1s, 5s).")
@click.option("--source", type=click.Choice(capture.SOURCES), default="auto", show_default=True,
              help="windows: NtQuerySystemInformation; poolmon: poolmon.exe -n; slabinfo: Linux /proc/slabinfo.")
@click.option("--session", default=None, metavar="N|all",
              help="Windows session pool of session N, or all sessions, instead of the system pools.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also append every snapshot to this capture log.")
@tag_files_option("tag_files")
def top_command(interval: timedelta, source: str, session: str | None, output: Path | None,
                tag_files: tuple[str, ...]) -> None:
    """Watch this machine's pool tags (Windows) or slab caches (Linux) live, PoolMon style.

    Same keys as `poolscope replay`: p pool, b bytes, m per alloc, t tag, a allocs,
    f frees, d diff, ( sort by change, e totals, l highlighting, / filter, left/right
    previous/next snapshot, Home/End first/last, ? help, q or Ctrl+C quit.
    Rows that changed since the previous refresh are highlighted.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.UsageError("top is interactive and needs a terminal; use `poolscope capture` to record instead")
    try:
        import textual  # noqa: F401 - the view needs it; say so before touching the machine
    except ModuleNotFoundError as exc:
        raise require_extra(exc, "top") from None
    from analyzer.live.capture.live import live_app

    app = live_app(interval.total_seconds(), source=source, session=session, output=output,
                               tag_files=tag_files)
    try:
        app.run()
    finally:
        app.provider.close()  # type: ignore[attr-defined]
