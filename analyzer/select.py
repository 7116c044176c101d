"""Pick one snapshot out of a parse result: ``first``, ``last`` or a position, and ``FILE#N`` specs.

Positions count from 0 in time order (the order of ``ParseResult.snapshots``), which for a
single file is the ``index`` the JSON contract prints; negative positions count from the end
(``-1`` is the last), as Python users expect.
"""

from __future__ import annotations

import re
from pathlib import Path

from parsers import ParseResult, Snapshot
from parsers.errors import InputError

#: What may follow ``#`` in ``FILE#SPEC``.
_SPEC = re.compile(r"^(?:first|last|-?\d+)$", re.IGNORECASE)

SnapshotSpec = str | int


def parse_spec(spec: SnapshotSpec) -> str | int:
    """Normalise a spec to ``"first"``, ``"last"`` or an int; ValueError when it is neither."""
    if isinstance(spec, int):
        return spec
    text = str(spec).strip()
    if not _SPEC.match(text):
        raise ValueError(f"not a snapshot: {spec!r} (use first, last or a number counted from 0)")
    low = text.lower()
    if low in ("first", "last"):
        return low
    return int(text)


def split_file_spec(text: str) -> tuple[str, str | int | None]:
    """Split ``"x.log#3"`` into ``("x.log", 3)``; ``"x.log"`` gives ``("x.log", None)``.

    The suffix must look like a spec (``first``, ``last``, a number); otherwise, or when the
    whole text names an existing file, the ``#`` belongs to the path (``C#/notes.log``).
    """
    head, sep, tail = text.rpartition("#")
    if not sep or not head or not _SPEC.match(tail.strip()):
        return text, None
    if Path(text).exists() and not Path(head).exists():
        return text, None
    return head, parse_spec(tail)


def select_snapshot(result: ParseResult, spec: SnapshotSpec = "last", *, name: str | None = None) -> Snapshot:
    """The snapshot ``spec`` designates; InputError naming the input when there is none."""
    where = name or (result.sources[0].name if len(result.sources) == 1 else "input")
    snaps = result.snapshots
    if not snaps:
        raise InputError(where, "holds no snapshots")
    try:
        pos = parse_spec(spec)
    except ValueError as exc:
        raise InputError(where, str(exc)) from None
    if pos == "first":
        return snaps[0]
    if pos == "last":
        return snaps[-1]
    assert isinstance(pos, int)
    if -len(snaps) <= pos < len(snaps):
        return snaps[pos]
    noun = "snapshot" if len(snaps) == 1 else "snapshots"
    raise InputError(where, f"has {len(snaps)} {noun} (0..{len(snaps) - 1}); there is no snapshot #{pos}")
