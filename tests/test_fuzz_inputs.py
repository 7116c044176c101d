"""Seeded mutation fuzzing: no reader or command ends in a traceback, a hang or a silent loss.

A short run (a few hundred inputs per command, spread over the xdist workers); the long one
is ``python bench/fuzz.py`` (10,000 inputs per command, figures in docs/robustness.md).
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from fuzz_helpers import COMMANDS, SAMPLES, fuzz, mutate, seeds

from parsers import InputError, format_names, parse_sources
from parsers.textio import text_source

#: Inputs per command in the suite; every command sees the same inputs.
SUITE_INPUTS = 60


@pytest.mark.parametrize("command", list(COMMANDS))
def test_commands_survive_mutated_inputs(command: str) -> None:
    tally = fuzz([command], seed=2026, count=SUITE_INPUTS, limit=30.0)
    assert tally.runs[command] == SUITE_INPUTS
    assert tally.bad() == 0, dict(tally.examples)


def test_every_reader_survives_mutated_text() -> None:
    """Each reader forced onto mutated text of every family: rows, warnings or an InputError only."""
    rng = random.Random(7)
    outcomes: Counter[str] = Counter()
    pool = seeds()
    texts = [d for d in pool.values() if d[:2] != b"\x1f\x8b" and d[:4] != b"PK\x03\x04"]
    for i in range(150):
        data = mutate(rng, rng.choice(texts), texts)
        if data[:2] == b"\x1f\x8b" or data[:4] == b"PK\x03\x04":
            continue
        text = data.decode("utf-8", "replace")
        for name in format_names():
            try:
                result = parse_sources([text_source(text, f"in{i}.log")], input_format=name)
            except InputError as exc:
                assert "\n" not in str(exc)  # one line
                outcomes["refused"] += 1
                continue
            for snap in result.snapshots:
                assert len(snap.rows.tags) == len(snap.rows.column("bytes"))
            outcomes["read" if result.snapshots else "empty"] += 1
    # Anything but rows, warnings or an InputError would have failed above; both outcomes occur.
    assert outcomes["read"] > 0 and outcomes["refused"] > 0, outcomes


def test_tag_file_reader_survives_mutated_text() -> None:
    """pooltag.txt / localtag.txt are inputs too: entries and warnings, never an exception."""
    from parsers.pooltag import parse_pooltag_string

    rng = random.Random(11)
    base = (SAMPLES / "pooltag_sample.txt").read_bytes()
    texts = [base, *(d for d in seeds().values() if d[:2] != b"\x1f\x8b" and d[:4] != b"PK\x03\x04")]
    entries = 0
    for _i in range(300):
        data = mutate(rng, base, texts)
        try:
            text = data.decode("utf-8", "replace")
        except UnicodeDecodeError:  # pragma: no cover - "replace" never raises
            continue
        try:
            found = parse_pooltag_string(text, "pooltag.txt")
        except InputError as exc:
            assert "\n" not in str(exc)
            continue
        entries += len(found.entries)
    assert entries > 0


def test_times_at_the_ends_of_the_calendar_make_a_report(tmp_path) -> None:
    """Found by the long fuzz run: a marker in year 9999 next to one in year 1 broke the HTML charts."""
    from pathlib import Path

    from fuzz_helpers import run_one

    head = " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n\n"
    log = (f"===== 9999-12-31 23:59:59 =====\n{head}"
           " Abcd Nonp     1520331 (  12)    1519870 (  10)      461   147520 (   640)    320\n"
           f"===== 0001-01-01 00:00:00 =====\n{head}"
           " Abcd Nonp     1520931 (  12)    1519870 (  10)     1061   339520 (   640)    320\n").encode()
    for command in ("report-html", "report", "trend", "diff"):
        outcome, _seconds, detail = run_one(command, log, Path(tmp_path), 60.0)
        assert outcome == "ok", detail
    # The charts' data block is there and reads as JSON (the page draws the charts from it).
    import json
    import re

    page = (Path(tmp_path) / "r.html").read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert block is not None and json.loads(block.group(1))["rows"]
