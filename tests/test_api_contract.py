"""The public surface is what README.md and docs/ promise: names, commands, links, the library example."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import parsers
from analyzer.cli import COMMANDS, LazyGroup

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def test_parsers_exports_every_name_in_all() -> None:
    for name in parsers.__all__:
        assert hasattr(parsers, name), name


def test_parse_signature_is_the_documented_one() -> None:
    params = inspect.signature(parsers.parse).parameters
    assert list(params) == ["inputs", "input_format", "errors", "interval", "progress"]
    assert all(params[p].kind is inspect.Parameter.KEYWORD_ONLY
               for p in ("input_format", "errors", "interval", "progress"))


def test_every_registered_command_loads() -> None:
    for name in COMMANDS:
        assert LazyGroup._load(name) is not None, f"command {name} does not import"


def test_readme_starts_with_the_two_fresh_machine_commands() -> None:
    shell = _blocks(README, "sh")
    assert "poolscope report samples/" in shell[0]
    assert "pytest" in shell[1] and "'.[test]'" in shell[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "block == 2" in ci  # .ci/run takes its test command from that second block


def test_readme_commands_and_samples_exist() -> None:
    for block in _blocks(README, "sh"):
        for line in block.splitlines():
            for match in re.finditer(r"poolscope ([a-z-]+)", line):
                assert match.group(1) in COMMANDS, line
            for sample in re.findall(r"samples/[\w./-]+", line):
                assert (ROOT / sample.rstrip(".")).exists(), sample


def test_docs_index_links_resolve() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([\w.-]+\.md)\)", index)
    assert len(links) >= 8
    for link in links:
        assert (ROOT / "docs" / link).is_file(), link


def test_readme_library_example_runs_and_names_the_leak() -> None:
    (code,) = _blocks(README, "python")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    first = run.stdout.splitlines()[0].split()
    assert first[:3] == ["Wdrq", "nonpaged", "leak"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_listed_in_top_level_help(name: str) -> None:
    from click.testing import CliRunner

    from analyzer.cli import cli

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert re.search(rf"^\s+{re.escape(name)}\s", result.output, flags=re.M), name
