"""Open a crash dump with cdb/kd, run the pool commands, and read what they print.

Each command is preceded by ``.echo POOLSCOPE-CMD N``; only the text between those
markers (and the final ``POOLSCOPE-END``) is kept, so banners, symbol noise and the
debugger's echo of its own command line never reach the parser.  The kept text is
rebuilt as an ordinary transcript (``kd> command`` + output) and read by
:mod:`parsers.transcript`.

The debugger itself runs only on Windows; everything around the subprocess call is
tested here with a stand-in ``cdb`` on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parsers.errors import InputError, UnsupportedPlatform
from parsers.transcript import Transcript, read_text

MARK = "POOLSCOPE-CMD"
END = "POOLSCOPE-END"

#: What triage needs from a dump, in the order it is run.
DUMP_COMMANDS: tuple[str, ...] = (".time", "!analyze -v", "!vm", "!poolused 2", "!poolused 4", "lm")

DEFAULT_SYMBOLS = "srv*https://msdl.microsoft.com/download/symbols"
_KIT_ROOTS = (r"C:\Program Files (x86)\Windows Kits\10\Debuggers", r"C:\Program Files\Windows Kits\10\Debuggers")
_MARK_LINE = re.compile(rf"^\s*{MARK} (\d+)\s*$")

_HOW_TO = (
    "install the Debugging Tools for Windows (Windows SDK installer, feature 'Debugging Tools for "
    "Windows') and pass --debugger PATH\\cdb.exe, or open the dump in WinDbg, run "
    "'!py <helper> snapshot --out FILE' (see 'poolscope windbg-script') or log !analyze -v, !vm and "
    "!poolused 2 with .logopen, and give poolscope that file"
)


@dataclass(frozen=True)
class CdbRun:
    """The command line built for one dump and the commands it runs, by marker index."""

    argv: list[str]
    commands: tuple[str, ...]


def find_debugger(explicit: str | None = None) -> str:
    """cdb/kd to use: ``--debugger``, then PATH, then the Windows Kits folders."""
    if explicit:
        found = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
        if not found:
            raise InputError(explicit, "--debugger: no such debugger executable")
        return found
    for name in ("cdb", "cdb.exe", "kd", "kd.exe"):
        found = shutil.which(name)
        if found:
            return found
    if sys.platform == "win32":
        arch = "arm64" if "ARM" in os.environ.get("PROCESSOR_ARCHITECTURE", "").upper() else "x64"
        for root in _KIT_ROOTS:
            for exe in ("cdb.exe", "kd.exe"):
                candidate = Path(root) / arch / exe
                if candidate.is_file():
                    return str(candidate)
    raise UnsupportedPlatform(_no_debugger_message())


def _no_debugger_message() -> str:
    if sys.platform != "win32":
        return ("opening a crash dump needs cdb, which runs only on Windows: on a Windows machine "
                + _HOW_TO)
    return "no cdb.exe or kd.exe found: " + _HOW_TO


def build_command_line(debugger: str, dump: str, symbols: str | None = None,
                       commands: Sequence[str] = DUMP_COMMANDS) -> CdbRun:
    """``cdb -z DUMP -y SYMBOLS -c ".echo MARK 0; cmd0; ...; .echo END; q"``."""
    if symbols is None:
        symbols = os.environ.get("_NT_SYMBOL_PATH") or DEFAULT_SYMBOLS
    steps = []
    for i, cmd in enumerate(commands):
        if ";" in cmd or '"' in cmd:
            raise ValueError(f"debugger command cannot carry ';' or '\"' inside -c: {cmd!r}")
        steps.append(f".echo {MARK} {i}; {cmd}")
    script = "; ".join([*steps, f".echo {END}", "q"])
    return CdbRun([debugger, "-z", dump, "-y", symbols, "-c", script], tuple(commands))


def extract(output: str, commands: Sequence[str], prompt: str = "kd> ") -> str:
    """Keep only what lies between the markers, as a transcript with one prompt line per command."""
    parts: list[str] = []
    current: int | None = None
    body: list[str] = []

    def flush() -> None:
        if current is not None:
            parts.append(prompt + commands[current])
            parts.extend(line for line in body if not _is_prompt_echo(line))

    for line in output.replace("\r\n", "\n").split("\n"):
        m = _MARK_LINE.match(line)
        if m and int(m.group(1)) < len(commands):
            flush()
            current, body = int(m.group(1)), []
            continue
        if line.strip() == END:
            flush()
            current, body = None, []
            break
        if current is not None:
            body.append(line)
    else:
        flush()
    return "\n".join(parts) + "\n" if parts else ""


def _is_prompt_echo(line: str) -> bool:
    # cdb echoes the whole -c string after its prompt; that line belongs to no command's output.
    return MARK in line or END in line


def run_dump(dump: str, *, symbols: str | None = None, debugger: str | None = None,
             timeout: float = 3600.0, commands: Sequence[str] = DUMP_COMMANDS) -> Transcript:
    """Open ``dump`` in cdb/kd, run ``commands``, and read the result as a transcript."""
    if not Path(dump).is_file():
        raise InputError(dump, "no such file")
    exe = find_debugger(debugger)
    run = build_command_line(exe, dump, symbols, commands)
    try:
        proc = subprocess.run(run.argv, capture_output=True, text=True, errors="replace", timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise InputError(dump, f"{Path(exe).name} did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise InputError(dump, f"cannot run {exe}: {exc.strerror or exc}") from None
    text = extract(proc.stdout, run.commands)
    if not text:
        why = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        raise InputError(dump, f"{Path(exe).name} printed none of the expected output "
                               f"(exit status {proc.returncode}): {why}")
    return read_text(text, dump)
