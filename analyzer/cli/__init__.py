"""The ``poolscope`` command line: a thin layer over library calls.

Each command lives in its own module under :mod:`analyzer.cli` and is imported
only when used, so ``poolscope parse`` never pays for the TUI or the disassembler.
Library errors (:class:`parsers.PoolscopeError`) become one line on stderr and exit 2.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from analyzer import __version__
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
}


class InputFailure(click.ClickException):
    """A usage or input error: one line, exit status 2 (docs/cli.md)."""

    exit_code = 2


class GateTripped(click.ClickException):
    """A requested ``--fail-on-...`` gate tripped: exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


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
        try:
            return super().invoke(ctx)
        except PoolscopeError as exc:
            raise InputFailure(str(exc)) from exc


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
