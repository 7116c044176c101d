"""The ``poolscope`` command line: a thin layer over library calls.

Each command lives in its own module under :mod:`analyzer.cli` and is imported
only when used, so ``poolscope parse`` never pays for the TUI or the disassembler.
Library errors (:class:`parsers.PoolscopeError`) become one line on stderr and exit 2;
anything else that escapes a command is a bug: one line asking for a report, exit 3.
Everything written to stdout and stderr passes :class:`analyzer.render.safe.EscapingStream`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import click

from analyzer import __version__
from analyzer.render.safe import EscapingStream, terminal_text
from parsers.errors import PoolscopeError

#: command name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "report": "analyzer.cli.report_cmd:report_command",
    "parse": "analyzer.cli.parse_cmd:parse_command",
    "show": "analyzer.cli.show_cmd:show_command",
    "diff": "analyzer.cli.diff_cmd:diff_command",
    "trend": "analyzer.cli.trend_cmd:trend_command",
    "replay": "analyzer.cli.replay_cmd:replay_command",
    "triage": "analyzer.cli.triage_cmd:triage_command",
    "windbg-script": "analyzer.cli.windbg_cmd:windbg_script_command",
    "tags": "analyzer.cli.tags_cmd:tags_group",
    "capture": "analyzer.cli.capture_cmd:capture_command",
    "top": "analyzer.cli.top_cmd:top_command",
    "fleet": "analyzer.cli.fleet_cmd:fleet_group",
    "stacks": "analyzer.cli.stacks_cmd:stacks_command",
}


class InputFailure(click.ClickException):
    """A usage or input error: one line, exit status 2 (docs/cli.md)."""

    exit_code = 2


class InternalError(click.ClickException):
    """An exception no code path expected: a bug. One line asking for a report, exit status 3."""

    exit_code = 3

    def __init__(self, exc: BaseException) -> None:
        detail = terminal_text(str(exc))[:200]
        super().__init__(
            f"internal error ({type(exc).__name__}: {detail}); this is a bug in poolscope, please report it "
            "with the command line and, if you can share it, the input"
        )


class GateTripped(click.ClickException):
    """A requested ``--fail-on-...`` gate tripped: exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


#: Optional extras: the module a command needs -> the extra that installs it.
EXTRAS: dict[str, str] = {"textual": "tui", "pefile": "scan", "capstone": "scan"}


def require_extra(exc: ModuleNotFoundError, what: str) -> InputFailure:
    """One line naming the extra to install when an optional library is missing (re-raises anything else)."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        raise exc
    return InputFailure(f"{what} needs {top}, which is not installed: pip install 'poolscope[{extra}]'")


def fail_if_tripped(violation: str | None) -> None:
    """A gate's violation (see :mod:`analyzer.analysis.gates`) becomes exit status 1."""
    if violation:
        raise GateTripped(violation)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # command not part of this build
            raise
        return getattr(module, attr)

    def invoke(self, ctx: click.Context) -> Any:
        with escaped_output():
            try:
                return super().invoke(ctx)
            except PoolscopeError as exc:
                raise InputFailure(terminal_text(str(exc))) from exc
            except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort,
                    BrokenPipeError):
                raise
            except OSError as exc:
                # The environment refused (disk full, device gone): not input, not a bug.
                where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
                raise InputFailure(terminal_text(f"{where}{exc.strerror or exc}")) from exc
            except (Exception, RecursionError) as exc:
                raise InternalError(exc) from exc


@contextmanager
def escaped_output() -> Iterator[None]:
    """stdout and stderr through EscapingStream while a command runs (see analyzer.render.safe)."""
    saved = sys.stdout, sys.stderr
    if isinstance(sys.stdout, EscapingStream):
        yield
        return
    sys.stdout = EscapingStream(saved[0], allow_own=_isatty(saved[0]))  # type: ignore[assignment]
    sys.stderr = EscapingStream(saved[1], allow_own=_isatty(saved[1]))  # type: ignore[assignment]
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        sys.stdout, sys.stderr = saved


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="poolscope")
def cli() -> None:
    """Find Windows kernel pool leaks in PoolMon output, !poolused dumps and live captures.

    Start with `poolscope report FILE...` on whatever you have: PoolMon logs or
    screens, poolsnap folders, WinDbg transcripts, slabinfo, capture logs.
    """


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="poolscope")
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error worth a traceback.
        sys.stderr.close()
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
