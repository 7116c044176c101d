"""Pick one snapshot out of a parse result: ``first``, ``last``, a position or a time, and ``FILE#N`` specs.

Positions count from 0 in time order (the order of ``ParseResult.snapshots``), which for a
single file is the ``index`` the JSON contract prints; negative positions count from the end
(``-1`` is the last), as Python users expect.  A time (``2026-11-21T15:00``) picks the snapshot
nearest to it, so a long log can be read at "about three o'clock" without counting frames.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from parsers import ParseResult, Snapshot
from parsers.errors import InputError

#: What may follow ``#`` in ``FILE#SPEC``.
_SPEC = re.compile(r"^(?:first|last|-?\d+|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)$", re.IGNORECASE)

SnapshotSpec = str | int | datetime

_HELP = "use first, last, a number counted from 0, or a time such as 2026-11-21T15:00"


def parse_spec(spec: SnapshotSpec) -> str | int | datetime:
    """Normalise a spec to ``"first"``, ``"last"``, an int or a datetime; ValueError otherwise."""
    if isinstance(spec, (int, datetime)):
        return spec
    text = str(spec).strip()
    if not _SPEC.match(text):
        raise ValueError(f"not a snapshot: {spec!r} ({_HELP})")
    low = text.lower()
    if low in ("first", "last"):
        return low
    if ":" in text:
        try:
            return datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError:
            raise ValueError(f"not a snapshot: {spec!r} ({_HELP})") from None
    return int(text)


def _wall_clock(when: datetime) -> datetime:
    # Times are compared as written: PoolMon's are local and zone-less, a capture log's carry UTC.
    return when.replace(tzinfo=None)


def _nearest(snaps: list[Snapshot], target: datetime, where: str) -> Snapshot:
    timed = [s for s in snaps if s.timestamp is not None]
    if not timed:
        raise InputError(where, "no snapshot has a time; pick one by position (first, last, N)")
    goal = _wall_clock(target)
    return min(timed, key=lambda s: abs(_wall_clock(s.timestamp) - goal))  # type: ignore[arg-type]


def split_file_spec(text: str) -> tuple[str, str | int | datetime | None]:
    """Split ``"x.log#3"`` into ``("x.log", 3)``; ``"x.log"`` gives ``("x.log", None)``.

    The suffix must look like a spec (``first``, ``last``, a number, a time); otherwise, or when the
    whole text names an existing file, the ``#`` belongs to the path (``C#/notes.log``).
    """
    head, sep, tail = text.rpartition("#")
    if not sep or not head or not _SPEC.match(tail.strip()):
        return text, None
    if Path(text).exists() and not Path(head).exists():
        return text, None
    try:
        return head, parse_spec(tail)
    except ValueError:
        return head, tail.strip()  # looks like a time but is none: select_snapshot says so, naming the file


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
    if isinstance(pos, datetime):
        return _nearest(snaps, pos, where)
    assert isinstance(pos, int)
    if -len(snaps) <= pos < len(snaps):
        return snaps[pos]
    noun = "snapshot" if len(snaps) == 1 else "snapshots"
    raise InputError(where, f"has {len(snaps)} {noun} (0..{len(snaps) - 1}); there is no snapshot #{pos}")
