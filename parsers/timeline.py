"""Put snapshots from many sources on one time line.

Precedence for a snapshot's time: what the source itself wrote (capture record,
time marker in a log) over a timestamp in the file name, over file order spaced by
the user's ``--interval``, over the file's modification time (only for a source
holding a single snapshot, where it is the moment the snapshot was written).

A log of many frames with no markers, given ``--interval``, is spaced from the
time in its file name, or else back from its modification time (the moment its
last frame was appended).  With neither (standard input), the moment of reading
stands in for the modification time, and a warning says the dates are estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from .errors import Diagnostics
from .formats import ParseOptions
from .model import Snapshot, TimeOrigin, local_wall_clock
from .timestamps import timestamp_from_filename


def order_snapshots(
    snapshots: list[Snapshot],
    sources: Sequence[object],
    options: ParseOptions,
    diag: Diagnostics,
) -> list[Snapshot]:
    """Fill in missing timestamps and return the snapshots in time order (stable)."""
    if not snapshots:
        return snapshots
    per_source: dict[str, list[Snapshot]] = {}
    for snap in snapshots:
        per_source.setdefault(snap.source, []).append(snap)

    for name, snaps in per_source.items():
        if all(s.timestamp is not None for s in snaps):
            continue
        stamp = timestamp_from_filename(name)
        if stamp is not None and len(snaps) == 1 and snaps[0].timestamp is None:
            snaps[0].timestamp = stamp
            snaps[0].time_origin = TimeOrigin.FILENAME
        elif options.interval is not None and len(snaps) > 1 and all(s.timestamp is None for s in snaps):
            # An appended log without markers: its frames are one interval apart, starting at
            # the time in its name, or ending when the file was last written.
            mtime = snaps[-1].extra.get("mtime")
            if stamp is not None:
                base = stamp
            elif isinstance(mtime, datetime):
                base = mtime - (len(snaps) - 1) * options.interval
            else:
                continue
            for i, snap in enumerate(snaps):
                snap.timestamp = base + i * options.interval
                snap.time_origin = TimeOrigin.INTERVAL

    missing = [s for s in snapshots if s.timestamp is None]
    if missing and options.interval is not None:
        base = _first_known(snapshots)
        if base is None:
            base = _anchor_at_reading(snapshots, options.interval, diag)
        if len(missing) == len(snapshots):
            for i, snap in enumerate(snapshots):
                snap.timestamp = base + i * options.interval
                snap.time_origin = TimeOrigin.INTERVAL
        else:
            # Known anchors exist: space the unknown ones after the previous known time.
            last: datetime | None = None
            for snap in snapshots:
                if snap.timestamp is not None and snap.time_origin is not TimeOrigin.INTERVAL:
                    last = snap.timestamp
                    continue
                last = (last or base) + options.interval
                snap.timestamp = last
                snap.time_origin = TimeOrigin.INTERVAL
        missing = []

    if missing:
        for snaps in per_source.values():
            if len(snaps) == 1 and snaps[0].timestamp is None and snaps[0].extra.get("mtime"):
                snaps[0].timestamp = snaps[0].extra["mtime"]
                snaps[0].time_origin = TimeOrigin.MTIME

    _one_time_basis(snapshots, diag)
    if all(s.timestamp is not None for s in snapshots):
        return sorted(snapshots, key=lambda s: s.timestamp)  # type: ignore[arg-type,return-value]
    return snapshots


def _one_time_basis(snapshots: Sequence[Snapshot], diag: Diagnostics) -> None:
    """Times with a zone (capture logs) mixed with wall-clock times: use this machine's local wall clock.

    Python cannot order or subtract the two kinds, and a wall-clock time without a
    zone (PoolMon markers, file times) is most likely local, so the zoned ones move.
    """
    zoned = [s for s in snapshots if s.timestamp is not None and s.timestamp.tzinfo is not None]
    if not zoned or len(zoned) == sum(1 for s in snapshots if s.timestamp is not None):
        return
    for snap in zoned:
        snap.timestamp = local_wall_clock(snap.timestamp)  # type: ignore[arg-type]
    sources = sorted({s.source for s in zoned})
    diag.note(
        sources[0],
        None,
        f"times with a time zone ({len(sources)} source{'s' if len(sources) > 1 else ''}) mixed with times "
        "without one: all read as this machine's local time",
        strict=False,
    )


def _first_known(snapshots: Sequence[Snapshot]) -> datetime | None:
    for snap in snapshots:
        if snap.timestamp is not None:
            return snap.timestamp
    return None


def _anchor_at_reading(snapshots: Sequence[Snapshot], interval: timedelta, diag: Diagnostics) -> datetime:
    """Where to start spacing snapshots that nothing dates: so the last one falls at the moment of reading.

    Input piped in was most likely written just before it was read, as a file's last frame
    was at its modification time; a fixed made-up date (1970) would pass for a real one in
    reports.  The warning keeps the estimate from passing for a recorded time either.
    """
    now = datetime.now().replace(microsecond=0)
    base = now - (len(snapshots) - 1) * interval
    diag.note(
        snapshots[0].source,
        None,
        f"no time in the input: snapshots placed {interval} apart, the last at the time of reading "
        f"({now.isoformat(sep=' ')}); these dates are estimates, not recorded times",
        strict=False,
    )
    return base
