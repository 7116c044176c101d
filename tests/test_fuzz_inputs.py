"""Seeded mutation fuzzing: no reader or command ends in a traceback, a hang or a silent loss.

A short run (a few hundred inputs per command, spread over the xdist workers); the long one
is ``python bench/fuzz.py`` (10,000 inputs per command, figures in docs/robustness.md).
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from fuzz_helpers import COMMANDS, fuzz, mutate, seeds

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
