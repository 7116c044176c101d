"""``poolscope capture``: snapshot this machine into a durable log, or around a test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import click

from analyzer.analysis.gates import diff_gate
from analyzer.cli import fail_if_tripped
from analyzer.cli.options import DURATION, SIZE, InputOptions, owners_for
from analyzer.live import capture
from parsers.model import Snapshot


class _SettleType(type(DURATION)):  # type: ignore[misc]
    """A duration that may also be zero (no settle time)."""

    def convert(self, value: object, param: object, ctx: object) -> timedelta:
        if isinstance(value, str) and value.strip().rstrip("s").strip() in ("0", "0.0"):
            return timedelta(0)
        return super().convert(value, param, ctx)


SETTLE = _SettleType()


def _progress(quiet: bool, path: Path | None) -> Callable[[int, Snapshot], None]:
    def report(n: int, snap: Snapshot) -> None:
        if quiet:
            return
        where = f" -> {path}" if path else ""
        stamp = snap.timestamp.isoformat(timespec="seconds") if snap.timestamp else "?"
        # One line per durable record: a wrapper (or the crash test) can count what is safe on disk.
        click.echo(f"record {n}{where} ({len(snap.rows)} rows, {stamp})", err=True)

    return report


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced by an in-memory stream
        return subprocess.DEVNULL


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@click.command("capture")
@click.option("--interval", type=DURATION, default="5s", show_default=True,
              help="Time between snapshots (0.5s, 5s, 1m).")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after N snapshots.")
@click.option("--duration", type=DURATION, default=None, help="Stop after this long (30m, 2h).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default=None,
              help="Capture log to write (- for stdout); an existing log is appended to.  Required without --run.")
@click.option("--source", type=click.Choice(capture.SOURCES), default="auto", show_default=True,
              help="windows: NtQuerySystemInformation; poolmon: poolmon.exe -n; slabinfo: Linux /proc/slabinfo.")
@click.option("--session", default=None, metavar="N|all",
              help="Windows session pool of session N, or all sessions, instead of the system pools.")
@click.option("--run", "run_command", default=None, metavar="COMMAND",
              help="Snapshot before, during and after COMMAND, then show the diff and trend verdicts.")
@click.option("--settle", type=SETTLE, default="10s", show_default=True,
              help="With --run: wait this long after COMMAND ends before the last snapshot (0s: none).")
@click.option("--fail-on-growth", type=SIZE, default=None,
              help="With --run: exit 1 when any tag grew by more than this many bytes.")
@click.option("--fail-on-total", type=SIZE, default=None,
              help="With --run: exit 1 when the pools together grew by more than this many bytes.")
@click.option("--min-change", type=SIZE, default=0, show_default=True,
              help="With --run: hide diff rows whose bytes changed by less than this.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="With --run: output format of the diff and trend.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line per record on stderr.")
def capture_command(interval: timedelta, count: int | None, duration: timedelta | None, output: Path | None,
                    source: str, session: str | None, run_command: str | None, settle: timedelta,
                    fail_on_growth: int | None, fail_on_total: int | None, min_change: int,
                    output_format: str, quiet: bool) -> None:
    """Capture pool usage of this machine: Windows pool tags or Linux slab caches.

    Every snapshot is one fsync'd record in the log (-o), so a capture killed at any
    moment keeps every record it reported.  Without --count or --duration it runs
    until Ctrl-C.  With --run, the exit status is COMMAND's own unless a gate trips.
    """
    if session is not None and session != "all" and not session.isdigit():
        raise click.BadParameter("expected a session number or 'all'", param_hint="--session")
    if run_command is not None:
        _capture_around(run_command, interval, settle, output, source, session, fail_on_growth,
                        fail_on_total, min_change, output_format, quiet)
        return
    if output is None:
        raise click.UsageError("capture needs -o FILE to write the log to (or --run COMMAND)")
    try:
        summary = capture.run_capture(output, interval=interval, count=count, duration=duration, source=source,
                                      session=session, on_record=_progress(quiet, output), on_warning=_warn)
    except KeyboardInterrupt:
        click.echo(f"stopped; every record reported above is in {output}", err=True)
        return
    if not quiet:
        appended = f", appended after {summary.appended_to} earlier records" if summary.appended_to else ""
        click.echo(f"captured {summary.records} snapshots ({summary.backend}) into {output}{appended}", err=True)


def _capture_around(command: str, interval: timedelta, settle: timedelta, output: Path | None, source: str,
                    session: str | None, fail_on_growth: int | None, fail_on_total: int | None,
                    min_change: int, output_format: str, quiet: bool) -> None:
    import poolscope
    from analyzer.render.tables import render_json
    from analyzer.render.time_output import render_diff, render_trend

    result = capture.capture_around(command, output=output, interval=interval, settle=settle, source=source,
                                    session=session, on_record=_progress(quiet, output), on_warning=_warn,
                                    # JSON on stdout must stay parseable: the command talks on stderr.
                                    stdout=_stderr_fd() if output_format == "json" else None)
    found = result.analyze(min_change)
    diff, trend = found.diff, found.trend
    owners = owners_for(result.snapshots, InputOptions(None, False, None, ()))
    poolscope.annotate([*diff.rows, *trend.rows], owners)
    if output_format == "json":
        click.echo(render_json({
            "command": command,
            "exit_status": result.returncode,
            "snapshots": len(result.snapshots),
            "log": str(output) if output else None,
            "diff": diff.to_dict(),
            "trend": trend.to_dict(),
        }), nl=False)
    else:
        click.echo(f"command exited with status {result.returncode}; {len(result.snapshots)} snapshots"
                   + (f" in {output}" if output else ""))
        click.echo("\nbefore -> after\n")
        # Slab cache names are long; give the tables room even when not on a terminal.
        width = max(120, shutil.get_terminal_size((120, 24)).columns)
        click.echo(render_diff(diff, "table", width=width), nl=False)
        click.echo("\ntrend\n")
        click.echo(render_trend(trend, "table", width=width), nl=False)
    if result.returncode != 0:
        # A command killed by signal N reports -N; a shell would say 128 + N.
        sys.exit(result.returncode if result.returncode > 0 else 128 - result.returncode)
    fail_if_tripped(diff_gate(found.full_diff, fail_on_growth, fail_on_total))
