"""Options shared by every command that reads inputs, in one decorator (sqlite-utils style)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any

import click

from analyzer.units import parse_duration, parse_size
from parsers import ParseResult, format_names, parse
from parsers.errors import ErrorLevel, ParseWarning, repair_summary, split_repairs

if TYPE_CHECKING:
    from analyzer.owners import OwnerResolver
    from parsers.model import Snapshot


_BARE_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


class DurationType(click.ParamType):
    name = "duration"

    def __init__(self, allow_zero: bool = False) -> None:
        self.allow_zero = allow_zero

    def convert(self, value: Any, param: Any, ctx: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        text = str(value).strip()
        if _BARE_NUMBER.match(text) and float(text) != 0:
            # `--interval 30` is as likely to mean minutes as seconds: ask rather than guess.
            self.fail(f"{text!r} has no unit: write {text}s, {text}m or {text}h", param, ctx)
        try:
            return parse_duration(str(value), allow_zero=self.allow_zero)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class SizeType(click.ParamType):
    name = "size"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = DurationType()
SIZE = SizeType()


@dataclass(frozen=True)
class InputOptions:
    input_format: str | None
    strict: bool
    interval: timedelta | None
    tags: tuple[str, ...]
    verbose: bool = False

    @property
    def errors(self) -> ErrorLevel:
        return ErrorLevel.RAISE if self.strict else ErrorLevel.WARN


def tag_files_option(name: str = "tags") -> Callable[..., Any]:
    """--tags FILE (repeatable), the same words in every command that names owners."""
    return click.option(
        "--tags",
        name,
        multiple=True,
        type=click.Path(dir_okay=False),
        help="A pooltag.txt / localtag.txt naming tag owners (repeatable; the first file given wins).",
    )


def input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --input-format, --strict, --interval and --tags; pass them on as ``inputs``."""

    @click.option(
        "--input-format",
        type=click.Choice(format_names()),
        default=None,
        help="Read every input as this format instead of detecting it from the content.",
    )
    @click.option(
        "--strict",
        is_flag=True,
        help="Stop (exit 2) at the first line that cannot be read instead of skipping it with a warning.",
    )
    @click.option(
        "--interval",
        type=DURATION,
        default=None,
        help="Time between snapshots that carry no time of their own (30s, 30m, 1h30m); they are taken "
        "to be in file order.",
    )
    @tag_files_option()
    @click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="List every exact repair of the input (numbers that ran together) instead of one summary note.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, input_format: str | None, strict: bool, interval: timedelta | None,
                tags: tuple[str, ...], verbose: bool, **kwargs: Any) -> Any:
        return func(*args, inputs=InputOptions(input_format, strict, interval, tags, verbose), **kwargs)

    return wrapper


def snapshot_spec(ctx: click.Context, param: click.Parameter, value: str) -> str | int:
    """Click callback for a snapshot position (first|last|N|TIME), as ``show`` and ``replay`` take it."""
    from analyzer.analysis.selection import parse_spec

    try:
        return parse_spec(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def output_format_option(*choices: str, default: str = "table") -> Callable[..., Any]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help="Output format.",
    )


def owners_for(snapshots: Sequence[Snapshot], inputs: InputOptions) -> OwnerResolver:
    """Owners from --tags, the default tag files and the inputs' own evidence; tag-file warnings to stderr."""
    from analyzer.owners import build_resolver

    resolver = build_resolver(inputs.tags, snapshots, errors=inputs.errors)
    for warning in resolver.warnings:
        click.echo(f"warning: {warning}", err=True)
    return resolver


def load(paths: tuple[str, ...] | list[str], inputs: InputOptions) -> ParseResult:
    """Parse the inputs and report their warnings on stderr (the library never prints)."""
    result = parse(list(paths), input_format=inputs.input_format, errors=inputs.errors, interval=inputs.interval)
    echo_warnings(result.warnings, verbose=inputs.verbose)
    return result


def echo_warnings(warnings: Sequence[ParseWarning], *, verbose: bool = False) -> None:
    """Warnings (something lost or doubtful) one by one; exact repairs as one note, or each with -v."""
    lost, repairs = split_repairs(list(warnings))
    for warning in lost:
        click.echo(f"warning: {warning}", err=True)
    if verbose:
        for repair in repairs:
            click.echo(f"note: {repair}", err=True)
    else:
        summary = repair_summary(repairs)
        if summary:
            click.echo(f"note: {summary}; -v lists them", err=True)


@contextlib.contextmanager
def atomic_output(path: str, binary: bool) -> Iterator[IO[Any]]:
    """A file written under a temporary name beside ``path`` and renamed over it only on success.

    On an error the temporary file is removed and whatever ``path`` held stays as it was
    (click's own ``atomic=True`` renames the half-written file into place even on an error).
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".poolscope-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as out:
            yield out
        if os.path.exists(path):
            shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
