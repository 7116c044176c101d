"""Every command answers --help, and the help names every option it takes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from analyzer import __version__
from analyzer.cli import COMMANDS, LazyGroup, cli


def _walk(cmd: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], click.Command]]:
    out = [(path, cmd)]
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None:
                out.extend(_walk(sub, (*path, name)))
    return out


def _commands() -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    for name in COMMANDS:
        cmd = LazyGroup._load(name)
        if cmd is not None:
            out.extend(_walk(cmd, (name,)))
    return out


ALL = _commands()


def test_registry_commands_load():
    # parse and show are part of every build; the rest appear as their modules land.
    names = {name for name in COMMANDS if LazyGroup._load(name) is not None}
    assert {"parse", "show"} <= names
    ctx = click.Context(cli)
    assert set(cli.list_commands(ctx)) == names


@pytest.mark.parametrize(("path", "cmd"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_mentions_every_option(path, cmd):
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="poolscope", terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: poolscope {' '.join(path)}")
    assert (cmd.help or cmd.short_help or "").strip(), f"{' '.join(path)} has no help text"
    for param in cmd.params:
        if isinstance(param, click.Option) and not param.hidden:
            longest = max(param.opts, key=len)
            assert longest in result.output, f"{longest} missing from `{' '.join(path)} --help`"


def test_top_level_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for path, _ in ALL:
        if len(path) == 1:
            assert f"  {path[0]} " in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"poolscope, version {__version__}\n"


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output


def test_installed_entry_point():
    exe = Path(sys.executable).with_name("poolscope")
    if not exe.exists():
        pytest.skip("poolscope console script not installed next to this Python")
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"poolscope, version {__version__}\n", "")


@pytest.mark.parametrize("name", ["parse", "show"])
def test_cli_doc_covers_every_option(name):
    doc = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    cmd = LazyGroup._load(name)
    assert cmd is not None
    assert f"`poolscope {name} FILE..." in doc
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert f"`{max(param.opts, key=len)}" in doc, f"{param.opts} of {name} missing from docs/cli.md"


def test_command_list_shows_each_summary_whole():
    # The command list takes each help's first sentence; "FILE..." must not end it early.
    for name in COMMANDS:
        cmd = LazyGroup._load(name)
        if cmd is None:
            continue
        first = " ".join((cmd.help or "").split("\n\n")[0].split())
        assert cmd.get_short_help_str(limit=1000) == first, name


def test_shared_options_read_the_same_everywhere():
    tags_help = {" ".join(p) for p, cmd in ALL for o in cmd.params if "--tags" in getattr(o, "opts", ())
                 if "the first file given wins" not in (o.help or "")}
    assert tags_help == set(), f"--tags help without the precedence rule: {tags_help}"
    # One rule for picking a snapshot, worded once, wherever a snapshot is picked.
    rule = "its position counted from 0 (negative from the end)"
    picks = {"show": "--snapshot", "replay": "--start"}
    for name, opt in picks.items():
        cmd = LazyGroup._load(name)
        if cmd is None:
            continue
        option = next(p for p in cmd.params if opt in getattr(p, "opts", ()))
        assert rule in " ".join(option.help.split()), name
    diff = LazyGroup._load("diff")
    if diff is not None:
        assert "a position counted from 0 (negative from the end)" in " ".join(diff.help.split())


def test_docs_name_every_input_format_the_registry_has():
    """--input-format's list in docs/cli.md and the format table of the JSON contract follow parsers/formats.py."""
    import re

    from parsers.formats import format_names

    docs = Path(__file__).resolve().parent.parent / "docs"
    line = next(ln for ln in (docs / "cli.md").read_text(encoding="utf-8").splitlines()
                if ln.startswith("| `--input-format NAME`"))
    assert re.findall(r"`([a-z][a-z-]*)`", line.split("|")[2]) == format_names()
    section = (docs / "json-contract.md").read_text(encoding="utf-8").split("\n## Formats\n")[1].split("\n## ")[0]
    section = section.split("| --- | --- |\n")[1]  # the rows, not the header
    table = re.findall(r"^\| `([a-z][a-z-]*)` \|", section, re.M)
    assert sorted(table) == sorted(format_names())
