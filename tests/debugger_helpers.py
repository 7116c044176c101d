"""Golden-file comparison and sample paths for the debugger-side tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from analyzer.render.tables import json_default

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
GOLDEN = Path(__file__).resolve().parent / "golden" / "debugger"

#: Set POOLSCOPE_UPDATE_GOLDEN=1 to rewrite golden files after a deliberate change (then review the diff).
UPDATE = os.environ.get("POOLSCOPE_UPDATE_GOLDEN") == "1"


def sample(name: str) -> Path:
    return SAMPLES / name


def check_golden(name: str, actual: str) -> None:
    """Compare ``actual`` with tests/golden/debugger/NAME exactly."""
    path = GOLDEN / name
    if UPDATE or not path.exists():
        if not UPDATE:
            raise AssertionError(f"golden file {path} missing; run with POOLSCOPE_UPDATE_GOLDEN=1 and review it")
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path}"


def snapshot_record(snap: Any) -> dict[str, Any]:
    """The JSON contract of a snapshot plus its debugger evidence (extra), for golden files."""
    out = snap.to_dict()
    out["source"] = Path(out["source"]).name
    out["extra"] = {k: v for k, v in sorted(snap.extra.items())}
    return out


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=json_default, ensure_ascii=False, sort_keys=False) + "\n"


class ReplaySession:
    """Stands in for WinDbg: answers each command with its recorded output, and remembers what was asked."""

    def __init__(self, recording: Path) -> None:
        from parsers.debugger.blocks import split_commands

        self.outputs: dict[str, str] = {}
        for block in split_commands(recording.read_text(encoding="utf-8").split("\n")):
            if block.command is not None:
                self.outputs[block.command] = "\n".join(block.output)
        self.asked: list[str] = []

    def command(self, text: str) -> str:
        self.asked.append(text)
        if text not in self.outputs:
            raise KeyError(f"no recorded output for {text!r}")
        return self.outputs[text]
