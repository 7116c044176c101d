"""Hostile text in inputs reaches no terminal, spreadsheet or Markdown renderer as live syntax.

Every check reads the bytes a command wrote, for each channel: terminal tables (piped),
stderr, CSV, Markdown; most run in-process for speed, one as a real ``poolscope`` process.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from cli_helpers import Run, poolscope

OSC_TITLE = "\x1b]0;owned\x07"
OSC_LINK = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
CSI = "\x1b[2J\x1b[31m"
C1_CSI = "\x9b1m"
BIDI = "\u202e"
MARKUP = ("[x](http://evil.example/) ![](http://evil.example/p.png) <img src=x onerror=alert(1)> "
          "www.evil.example a@evil.example")
HOSTILE_DRIVER = f"evil.sys - {OSC_TITLE}{OSC_LINK}{CSI}{C1_CSI}{BIDI} {MARKUP}"
FORMULAS = {"=cmd": "=1+cmd|' /C calc'!A0", "+Sum": "@SUM(1+1)*cmd|' /C calc'!A0", "-Xy ": "-2+3"}
#: Every byte that starts a terminal control sequence (ESC, BEL, C1 CSI/OSC, bidi override).
LIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HEADER = (" Tag  Type     Allocs            Frees               Diff            Bytes"
          "                 Per Alloc       Mapped_Driver\n\n")


def _frame(stamp: str, k: int) -> str:
    rows = [("Evil", "Nonp", 1000 + k * 100, 900, f"[{HOSTILE_DRIVER}]")]
    rows += [(tag, "Paged", 500, 400, f"[{text}]") for tag, text in FORMULAS.items()]
    out = f"===== {stamp} =====\n System pool information\n{HEADER}"
    for tag, kind, allocs, frees, driver in rows:
        diff = allocs - frees
        out += f" {tag} {kind:5} {allocs:18} {frees:18} {diff:17} {diff * 64:14} {64:16}        {driver}\n"
    return out


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    log = root / f"evil{OSC_TITLE}name.log"
    log.write_text("\n".join(_frame(f"2026-11-21 {h:02}:00:00", k) for k, h in enumerate((10, 12, 14, 16))),
                   encoding="utf-8")
    tags = root / "pooltag.txt"
    tags.write_text(f"Evil - evil.sys - {OSC_TITLE}{OSC_LINK}{CSI}{BIDI} {MARKUP}\n"
                    + "".join(f"{tag.strip()} - {text} - {text}\n" for tag, text in FORMULAS.items()),
                    encoding="utf-8")
    return root


def _log(root: Path) -> str:
    return str(next(root.glob("evil*.log")))


def _args(root: Path, command: str = "") -> list[str]:
    log = _log(root)
    files = [f"{log}#0", f"{log}#3"] if command == "diff" else [log]
    return [*files, "--tags", str(root / "pooltag.txt")]


def _run(*args: str) -> Run:
    """In-process, with the bytes written decoded strictly (a stray byte fails the test too)."""
    from click.testing import CliRunner

    from analyzer.cli import cli

    env = {"POOLSCOPE_TAGS": "", "NO_COLOR": "1", "COLUMNS": "120", "POOLSCOPE_DATA_DIR": "/nonexistent"}
    result = CliRunner().invoke(cli, list(args), env=env, prog_name="poolscope")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout_bytes.decode("utf-8"), result.stderr_bytes.decode("utf-8"))


def _assert_inert(text: str) -> None:
    assert not LIVE.search(text), repr(LIVE.search(text))
    assert "\\u001b]0;owned\\u0007" in text or "\\u001b" in text  # shown, not dropped


@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["show", "--format", "table", "--snapshot", "first"],
        ["report"],
        ["trend", "--all", "--min-span", "1m"],
        ["diff"],
        ["parse"],
        ["parse", "--format", "csv"],
        ["show", "--format", "csv"],
    ],
    ids=lambda c: "-".join(c),
)
def test_terminal_output_shows_control_characters_as_escapes(hostile: Path, command: list[str]) -> None:
    run = _run(*command, *_args(hostile, command[0]))
    assert run.code in (0, 1), run.err
    _assert_inert(run.out)
    assert not LIVE.search(run.err)


def test_tags_lookup_escapes_owner_text(hostile: Path) -> None:
    run = _run("tags", "lookup", "Evil", "--no-defaults", "--tags", str(hostile / "pooltag.txt"))
    assert run.code == 0, run.err
    _assert_inert(run.out)
    assert "\\u202e" in run.out


def test_a_real_process_writes_inert_bytes(hostile: Path) -> None:
    run = poolscope("show", *_args(hostile))
    assert run.code == 0, run.err
    _assert_inert(run.out)
    assert not LIVE.search(run.err)


def test_errors_and_warnings_on_stderr_are_inert(tmp_path: Path) -> None:
    bad = tmp_path / f"x{OSC_TITLE}{CSI}.log"
    bad.write_text(f"not pool data {OSC_LINK}\n", encoding="utf-8")
    run = poolscope("parse", str(bad))
    assert run.code == 2
    assert len(run.err_lines) == 1
    assert not LIVE.search(run.err)
    assert "\\u001b]0;owned\\u0007" in run.err


@pytest.mark.parametrize("command", [["parse", "--format", "csv"], ["show", "--format", "csv"],
                                     ["diff", "--format", "csv"], ["trend", "--format", "csv", "--all",
                                                                   "--min-span", "1m"]],
                         ids=lambda c: c[0])
def test_csv_cells_cannot_start_a_formula(hostile: Path, command: list[str]) -> None:
    run = _run(*command, *_args(hostile, command[0]))
    assert run.code in (0, 1), run.err
    rows = list(csv.reader(io.StringIO(run.out)))
    header, body = rows[0], rows[1:]
    assert body
    text_cells = [cell for row in body for key, cell in zip(header, row, strict=True)
                  if key in ("tag", "mapped_driver", "owner", "source")]
    assert any(cell.startswith("'=") for cell in text_cells)
    for cell in text_cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    numbers = [row[header.index(key)] for row in body for key in header if key.endswith("change")]
    assert all(not n or re.fullmatch(r"-?\d+(\.\d+)?", n) for n in numbers)  # numbers stay numbers


@pytest.mark.parametrize("command", [["report", "--format", "markdown"], ["diff", "--format", "markdown"],
                                     ["trend", "--format", "markdown", "--all", "--min-span", "1m"]],
                         ids=lambda c: c[0])
def test_markdown_renders_input_as_plain_text(hostile: Path, command: list[str]) -> None:
    cmarkgfm = pytest.importorskip("cmarkgfm")
    from cmarkgfm.cmark import Options

    run = _run(*command, *_args(hostile, command[0]))
    assert run.code in (0, 1), run.err
    assert not LIVE.search(run.out)
    html = cmarkgfm.github_flavored_markdown_to_html(run.out, options=Options.CMARK_OPT_UNSAFE)
    assert "evil.example" in html  # the text is there ...
    assert "<a " not in html and "<img" not in html  # ... but links, autolinks and images are not
    assert "<script" not in html and "onerror=" not in html.replace("onerror=alert", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_triage_text_and_markdown_are_inert(tmp_path: Path) -> None:
    cmarkgfm = pytest.importorskip("cmarkgfm")
    from cmarkgfm.cmark import Options

    src = (Path(__file__).parent.parent / "samples" / "windbg_0x41.txt").read_text(encoding="utf-8")
    src = src.replace("Abc request buffers", f"Abc {OSC_TITLE}{CSI} {MARKUP}")
    path = tmp_path / "triage.txt"
    path.write_text(src, encoding="utf-8")
    text = _run("triage", str(path))
    assert text.code == 0, text.err
    assert not LIVE.search(text.out)
    md = _run("triage", str(path), "--format", "markdown")
    assert md.code == 0, md.err
    assert not LIVE.search(md.out)
    html = cmarkgfm.github_flavored_markdown_to_html(md.out, options=Options.CMARK_OPT_UNSAFE)
    assert "<a " not in html and "<img" not in html


def test_tui_cells_and_status_are_escaped() -> None:
    from rich.text import Text

    from analyzer.render.tui.app import row_cells
    from analyzer.render.tui.view import ViewRow

    row = ViewRow("E\x1b[2", "nonpaged", *([None] * 9), owner=HOSTILE_DRIVER)
    cells = row_cells(row)
    assert not any(LIVE.search(c) for c in cells)
    assert isinstance(Text(cells[0]), Text) and cells[0] == "E\\u001b[2"


def test_escaping_stream_passes_own_colour_and_escapes_input() -> None:
    from analyzer.render.safe import EscapingStream

    buf = io.StringIO()
    EscapingStream(buf, allow_own=True).write(f"\x1b[31mred\x1b[0m {OSC_TITLE} {C1_CSI}{BIDI}\n")
    assert buf.getvalue() == "\x1b[31mred\x1b[0m \\u001b]0;owned\\u0007 \\u009b1m\\u202e\n"
    buf = io.StringIO()
    EscapingStream(buf, allow_own=False).write("\x1b[31mred\x1b[0m\r\n")
    assert buf.getvalue() == "\\u001b[31mred\\u001b[0m\\u000d\n"
