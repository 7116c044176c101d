"""Seeded mutation fuzzing of every reader and command (the suite's short run and bench/fuzz.py).

Inputs are the samples (and a few hostile seeds) after 1-3 mutations: truncation, byte flips,
line edits, numbers beyond int64 or not integers at all, odd Unicode and control characters,
re-encoding part of the text, impossible or zone-mixed time markers, splices from another
seed, and wrapping in gzip/zip (nested).  Each run is classified:

- ``ok``: exit status 0, 1 or 2, and an exit-2 error is one line on stderr;
- ``traceback``: an exception escaped the command, or the exit-3 "internal error" guard fired;
- ``slow``: the run used more than the time limit of CPU time (user + system: on a shared,
  busy machine wall time measures the neighbours); an alarm on CPU time stops it;
- ``silent_loss``: a PoolMon row line (tag, Nonp/Paged and numbers) is missing from the parse
  and no warning was written (only checked for ``parse``).
"""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import signal
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"

#: Seed inputs are cut to this many bytes so that one run stays in milliseconds.
SEED_BYTES = 6000

HOSTILE_SEEDS: dict[str, bytes] = {
    "big_numbers.log": (
        b" Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n\n"
        b" Abcd Nonp     18446744073709551616 (  12)    1519870 (  10)      461   147520 (   640)    320\n"
        b" Efgh Paged    1520331 (  12)    1519870 (  10)      461   99999999999999999999999 (   640)    320\n"
        b" Ijkl Nonp     1520331 (  12)    1519870 (  10)      461   147520 (   640)    320\n"
    ),
    "zones.log": (
        b"===== 2026-11-21 14:03:07 =====\n"
        b" Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n\n"
        b" Abcd Nonp     1520331 (  12)    1519870 (  10)      461   147520 (   640)    320\n"
        b"2026.11.21-16:03:07 W. Europe Standard Time\n"
        b" Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n\n"
        b" Abcd Nonp     1520931 (  12)    1519870 (  10)     1061   339520 (   640)    320\n"
        b"===== 2026-11-21T18:03:07+02:00 =====\n"
        b" Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n\n"
        b" Abcd Nonp     1521931 (  12)    1519870 (  10)     2061   659520 (   640)    320\n"
    ),
}

_NUMBERS = [b"18446744073709551616", b"9223372036854775808", b"-9223372036854775809", b"9223372036854775807",
            b"-9223372036854775808", b"1" * 40, b"1e308", b"-0", b"NaN", b"inf", b"1.5", b"0x7fffffffffffffff",
            "\u0663\u0663".encode(), b"00000000000000000000000000001", b"-1", b"4294967296"]
_ODD = ["\u202e", "\ufeff", "\x00", "\x1b]0;x\x07", "\x1b[2J", "\u0301", "\U0001f4a9", "\ud800", "\x85", "\u2028",
        "\r", "\t", "\x0c", "\u00a0", "\u3000", "[bold]x[/]", "\\", "`", "|", "#", "0\u0660"]
_MARKERS = ["===== 2026-13-45 25:61:99 =====", "Sat 02/30/2026 14:03:07.12", "31.02.2026 24:00:00,00",
            "Saturday, November 31, 2026 13:03:07 PM", "2026.11.21-14:03:07 Mars Standard Time",
            "===== 2026-11-21T14:03:07+02:00 =====", "===== 2026-11-21T14:03:07Z =====",
            "===== 0001-01-01 00:00:00 =====", "===== 9999-12-31 23:59:59 =====", "Sat 11/21/2026 99:99:99.99",
            "===== 2026-11-21 14:03:07+25:00 =====", "===== 2026-11-21 14:03:60 ====="]


def seeds() -> dict[str, bytes]:
    """Every sample input (cut to SEED_BYTES at a line end) plus the hostile seeds, by name."""
    out: dict[str, bytes] = {}
    for path in sorted(SAMPLES.rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".md") or path.name.startswith("pooltag"):
            continue
        data = path.read_bytes()
        if len(data) > SEED_BYTES and path.suffix not in (".gz", ".zip"):
            cut = data.rfind(b"\n", 0, SEED_BYTES)
            data = data[: cut + 1 if cut > 0 else SEED_BYTES]
        out[str(path.relative_to(SAMPLES))] = data
    out.update(HOSTILE_SEEDS)
    return out


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _truncate(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    return data[: rng.randrange(len(data) + 1)] if data else data


def _flip(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    if not data:
        return data
    raw = bytearray(data)
    for _i in range(rng.randint(1, 8)):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


def _line_edit(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    op = rng.randrange(4)
    if op == 0:
        del lines[i]
    elif op == 1:
        lines.insert(i, lines[i])
    elif op == 2:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[i] = b" ".join(lines[i : i + rng.randint(2, 6)])
        del lines[i + 1 : i + 6]
    return b"\n".join(lines)


def _number(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    runs = list(re.finditer(rb"\d+", data))
    if not runs:
        return data
    for _i in range(rng.randint(1, 3)):
        m = rng.choice(runs)
        data = data[: m.start()] + rng.choice(_NUMBERS) + data[m.end() :]
        runs = list(re.finditer(rb"\d+", data))
    return data


def _odd_text(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    pos = rng.randrange(len(data) + 1)
    odd = rng.choice(_ODD).encode("utf-8", "surrogatepass")
    return data[:pos] + odd + data[pos:]


def _reencode(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    text = data.decode("utf-8", "replace")
    a = rng.randrange(len(text) + 1)
    b = min(len(text), a + rng.randrange(1, 400))
    enc = rng.choice(["utf-16-le", "utf-16-be", "cp1252", "latin-1", "utf-16"])
    middle = text[a:b].encode(enc, "replace")
    return text[:a].encode() + middle + text[b:].encode()


def _marker(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    lines = _lines(data)
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(_MARKERS).encode())
    return b"\n".join(lines)


def _splice(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    other = _lines(rng.choice(pool))
    lines = _lines(data)
    a = rng.randrange(len(other))
    piece = other[a : a + rng.randint(1, 20)]
    at = rng.randrange(len(lines) + 1)
    return b"\n".join(lines[:at] + piece + lines[at:])


def _flatten(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    return data.replace(b"\n", rng.choice([b" ", b"\r", b"\r\r\n", b"\n\n", b"\x00"]))


MUTATORS: list[Callable[[random.Random, bytes, list[bytes]], bytes]] = [
    _truncate, _flip, _line_edit, _line_edit, _number, _number, _odd_text, _reencode, _marker, _splice, _flatten,
]


def _wrap(rng: random.Random, data: bytes) -> bytes:
    for _level in range(rng.choice([1, 1, 1, 2, 4])):
        if rng.random() < 0.5:
            data = gzip.compress(data)
        else:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])) as zf:
                zf.writestr(rng.choice(["a.log", "x/b.txt", "..\\evil\x1b.log"]), data)
                if rng.random() < 0.3:
                    zf.writestr("second.log", data[: len(data) // 2])
            data = buf.getvalue()
        if rng.random() < 0.3:
            data = _flip(rng, data, [])  # damage the archive itself
    return data


def mutate(rng: random.Random, seed: bytes, pool: list[bytes]) -> bytes:
    """One mutated input: 1-3 mutations of the text, sometimes wrapped in archives."""
    compressed = seed[:2] == b"\x1f\x8b" or seed[:4] == b"PK\x03\x04"
    data = seed
    if compressed and rng.random() < 0.5:
        return _flip(rng, data, pool) if rng.random() < 0.5 else _truncate(rng, data, pool)
    if compressed:
        from parsers.textio import read_path

        with tempfile.NamedTemporaryFile(suffix=".bin") as fh:
            fh.write(seed)
            fh.flush()
            data = "\n".join(s.text for s in read_path(Path(fh.name))).encode()
    for _i in range(rng.randint(1, 3)):
        data = rng.choice(MUTATORS)(rng, data, pool)
    if rng.random() < 0.12:
        data = _wrap(rng, data)
    return data


#: PoolMon row shape: a 4-character tag, the Type word, then numbers (what a reader must keep or warn about).
_POOLMON_ROW = re.compile(r"^ ?(\S[^\n]{3}) (Nonp|Paged) +\d+[ (]")


@dataclass
class Tally:
    runs: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    slowest: dict[str, float] = field(default_factory=dict)

    def add(self, command: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.runs[command] += 1
        self.outcomes[(command, outcome)] += 1
        self.slowest[command] = max(self.slowest.get(command, 0.0), seconds)
        if outcome != "ok":
            self.examples.setdefault((command, outcome), [])
            if len(self.examples[(command, outcome)]) < 5:
                self.examples[(command, outcome)].append(detail)

    def merge(self, other: Tally) -> None:
        self.runs.update(other.runs)
        self.outcomes.update(other.outcomes)
        for key, items in other.examples.items():
            self.examples.setdefault(key, []).extend(items[: 5 - len(self.examples.get(key, []))])
        for k, v in other.slowest.items():
            self.slowest[k] = max(self.slowest.get(k, 0.0), v)

    def bad(self) -> int:
        return sum(n for (_c, o), n in self.outcomes.items() if o != "ok")


COMMANDS: dict[str, Callable[[str, Path], list[str]]] = {
    "parse": lambda f, tmp: ["parse", f, "--format", "json"],
    "show": lambda f, tmp: ["show", f],
    "diff": lambda f, tmp: ["diff", f"{f}#0", f"{f}#-1"],
    "trend": lambda f, tmp: ["trend", f, "--all", "--min-span", "0"],
    "report": lambda f, tmp: ["report", f],
    "report-html": lambda f, tmp: ["report", f, "--format", "html", "-o", str(tmp / "r.html")],
    "triage": lambda f, tmp: ["triage", f],
}


class _Timeout(BaseException):
    """Raised by the alarm in the middle of a run that took too long (BaseException: no guard catches it)."""


def _alarm(_sig: int, _frame: object) -> None:
    raise _Timeout


def _silent_loss(data: bytes, stdout: str, stderr: str) -> str | None:
    """A PoolMon row line of the input that the parse neither kept nor warned about."""
    if "warning:" in stderr:
        return None
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None
    if doc.get("warnings") or any(s["format"] not in ("poolmon", "poolsnap") for s in doc["snapshots"]):
        return None  # warned, or read as another family (which has its own row shapes)
    from parsers.textio import decode_bytes

    try:
        text, _enc = decode_bytes(data, "x")
    except Exception:
        return None
    expected = sum(1 for line in text.split("\n") if _POOLMON_ROW.match(line))
    read = sum(len(s["rows"]) for s in doc["snapshots"] if s["format"] in ("poolmon", "poolsnap"))
    if read < expected:
        return f"{expected} PoolMon row lines, {read} rows read, no warning"
    return None


def run_one(command: str, data: bytes, tmp: Path, limit: float, name: str = "input.log") -> tuple[str, float, str]:
    """Run one command on one input in-process; returns (outcome, seconds, detail)."""
    from click.testing import CliRunner

    from analyzer.cli import cli

    path = tmp / name
    path.write_bytes(data)
    args = COMMANDS[command](str(path), tmp)
    env = {"NO_COLOR": "1", "COLUMNS": "100", "POOLSCOPE_TAGS": "", "POOLSCOPE_DATA_DIR": str(tmp / "no-data")}
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, limit)
    start = time.process_time()
    try:
        result = CliRunner().invoke(cli, args, env=env, prog_name="poolscope", catch_exceptions=True)
    except _Timeout:
        return "slow", time.process_time() - start, f"{command}: over {limit} s of CPU"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
    seconds = time.process_time() - start
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        return "traceback", seconds, f"{command}: {type(exc).__name__}: {exc}"[:300]
    if result.exit_code == 3:
        return "traceback", seconds, f"{command}: {err.strip()}"[:300]
    if result.exit_code not in (0, 1, 2):
        return "traceback", seconds, f"{command}: exit {result.exit_code}: {err.strip()}"[:300]
    if result.exit_code == 2:
        lines = [line for line in err.splitlines() if not line.startswith("warning:")]
        if len(lines) != 1 and not any("Usage:" in line for line in lines):
            return "traceback", seconds, f"{command}: exit 2 with {len(lines)} error lines: {err[:200]}"
    if seconds > limit:
        return "slow", seconds, f"{command}: {seconds:.1f} s"
    if command == "parse" and result.exit_code == 0:
        loss = _silent_loss(data, result.stdout, err)
        if loss:
            return "silent_loss", seconds, f"parse: {loss}"
    return "ok", seconds, ""


def inputs(seed: int, count: int) -> Iterator[tuple[str, bytes]]:
    """``count`` mutated inputs from a seeded generator: (seed name, bytes)."""
    rng = random.Random(seed)
    pool = seeds()
    names = sorted(pool)
    texts = [pool[n] for n in names if pool[n][:2] != b"\x1f\x8b" and pool[n][:4] != b"PK\x03\x04"]
    for _i in range(count):
        name = rng.choice(names)
        yield name, mutate(rng, pool[name], texts)


def fuzz(commands: list[str], seed: int, count: int, limit: float = 10.0,
         on_result: Callable[[str, str, float, str, str], None] | None = None) -> Tally:
    """Run every command on ``count`` mutated inputs (the same inputs for each command)."""
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        # One untimed run per command first: importing matplotlib or scipy is not the input's doing,
        # and an alarm in the middle of an import would leave a half-made module behind.
        warm = (SAMPLES / "leak_appended.log").read_bytes()
        for command in commands:
            run_one(command, warm, Path(tmp), 600.0, "warm.log")
        for i, (name, data) in enumerate(inputs(seed, count)):
            suffix = ".gz" if data[:2] == b"\x1f\x8b" else ".zip" if data[:4] == b"PK\x03\x04" else ".log"
            for command in commands:
                outcome, seconds, detail = run_one(command, data, Path(tmp), limit, f"in{i % 7}{suffix}")
                if detail:
                    detail = f"seed {seed} input {i} ({name}): {detail}"
                tally.add(command, outcome, seconds, detail)
                if on_result is not None:
                    on_result(command, outcome, seconds, detail, name)
    return tally
