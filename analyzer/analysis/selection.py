"""Pick one snapshot out of a parse result: ``first``, ``last``, a position or a time, and ``FILE#N`` specs.

Positions count from 0 in time order (the order of ``ParseResult.snapshots``), which for a
single file is the ``index`` the JSON contract prints; negative positions count from the end
(``-1`` is the last), as Python users expect.  A time (``2026-11-21T15:00``) picks the snapshot
nearest to it, so a long log can be read at "about three o'clock" without counting frames.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from parsers import ParseResult, Snapshot
from parsers.errors import InputError

#: What may follow ``#`` in ``FILE#SPEC``.
_SPEC = re.compile(r"^(?:first|last|-?\d+|\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?)$", re.IGNORECASE)
_DATE_ONLY = re.compile(r"^\d{4}-\d\d-\d\d$")

SnapshotSpec = str | int | datetime | date

_HELP = "use first, last, a number counted from 0, a time such as 2026-11-21T15:00, or a date (its first snapshot)"


def parse_spec(spec: SnapshotSpec) -> str | int | datetime | date:
    """Normalise a spec to ``"first"``, ``"last"``, an int, a datetime or a date; ValueError otherwise."""
    if isinstance(spec, (int, date)):
        return spec
    text = str(spec).strip()
    if not _SPEC.match(text):
        raise ValueError(f"not a snapshot: {spec!r} ({_HELP})")
    low = text.lower()
    if low in ("first", "last"):
        return low
    if _DATE_ONLY.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a snapshot: {spec!r} ({_HELP})") from None
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


def _first_on(snaps: list[Snapshot], day: date, where: str) -> Snapshot:
    """The first snapshot taken on ``day``; the nearest to its midnight when none was."""
    for snap in snaps:
        if snap.timestamp is not None and snap.timestamp.date() == day:
            return snap
    return _nearest(snaps, datetime.combine(day, datetime.min.time()), where)


def distance_note(snaps: list[Snapshot], spec: SnapshotSpec, chosen: Snapshot) -> str | None:
    """A warning when ``spec`` asked for a time and ``chosen`` is far from it, else None.

    Far means further than the usual gap between snapshots (at least a minute): "the snapshot
    nearest 2030-01-01" in a log of 2026 is a real snapshot, but not what the user had in mind.
    """
    try:
        pos = parse_spec(spec)
    except ValueError:
        return None
    if not isinstance(pos, date) or chosen.timestamp is None:
        return None
    if isinstance(pos, datetime):
        target = _wall_clock(pos)
    elif chosen.timestamp.date() == pos:
        return None
    else:
        target = datetime.combine(pos, datetime.min.time())
    times = sorted(_wall_clock(s.timestamp) for s in snaps if s.timestamp is not None)
    gaps = sorted(b - a for a, b in pairwise(times))
    usual = gaps[len(gaps) // 2] if gaps else timedelta(0)
    got = _wall_clock(chosen.timestamp)
    off = got - target
    if abs(off) <= max(usual, timedelta(minutes=1)):
        return None
    from analyzer.units import format_duration

    side = "later" if off > timedelta(0) else "earlier"
    fmt = "%Y-%m-%d %H:%M"
    return (f"no snapshot near {target:{fmt}}: using the nearest, {got:{fmt}} ({format_duration(abs(off))} "
            f"{side}); the input covers {times[0]:{fmt}} to {times[-1]:{fmt}}")


def split_file_spec(text: str) -> tuple[str, str | int | datetime | date | None]:
    """Split ``"x.log#3"`` into ``("x.log", 3)``; ``"x.log"`` gives ``("x.log", None)``.

    The suffix must look like a spec (``first``, ``last``, a number, a time); otherwise, or when the
    whole text names an existing file, the ``#`` belongs to the path (``C#/notes.log``).  When
    only the part before ``#`` exists (``x.log#foo``), the suffix is returned as is so that
    :func:`select_snapshot` explains what may follow ``#`` instead of "no such file".
    """
    head, sep, tail = text.rpartition("#")
    if not sep or not head:
        return text, None
    if not _SPEC.match(tail.strip()):
        if not Path(text).exists() and Path(head).is_file():
            return head, tail
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
    if isinstance(pos, date):
        return _first_on(snaps, pos, where)
    assert isinstance(pos, int)
    if -len(snaps) <= pos < len(snaps):
        return snaps[pos]
    noun = "snapshot" if len(snaps) == 1 else "snapshots"
    raise InputError(where, f"has {len(snaps)} {noun} (0..{len(snaps) - 1}); there is no snapshot #{pos}")
