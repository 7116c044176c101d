"""Snapshots built from plain arrays, for the trend, stats and diff tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from parsers.model import RowTable, Snapshot, TimeOrigin

START = datetime(2026, 11, 21, 8, 0, 0)


def snapshots_from(
    series: Mapping[tuple[str, str], Sequence[float]],
    *,
    allocs: Mapping[tuple[str, str], Sequence[float]] | None = None,
    frees: Mapping[tuple[str, str], Sequence[float]] | None = None,
    interval: timedelta | None = timedelta(minutes=1),
    totals: Sequence[dict[str, int]] | None = None,
    source: str = "test.log",
) -> list[Snapshot]:
    """One snapshot per position; NaN in a bytes series leaves that row out of that snapshot."""
    n = len(next(iter(series.values())))
    snaps = []
    for t in range(n):
        keys = [k for k, v in series.items() if not np.isnan(v[t])]
        cols: dict[str, list[int | None]] = {"bytes": [int(series[k][t]) for k in keys]}
        if allocs is not None:
            cols["allocs"] = [int(allocs[k][t]) if k in allocs else None for k in keys]
        if frees is not None:
            cols["frees"] = [int(frees[k][t]) if k in frees else None for k in keys]
        if allocs is not None and frees is not None:
            cols["outstanding"] = [
                None if a is None or f is None else a - f for a, f in zip(cols["allocs"], cols["frees"], strict=True)
            ]
        table = RowTable.from_columns([k[0] for k in keys], [k[1] for k in keys], **cols)
        stamp = START + t * interval if interval is not None else None
        snaps.append(
            Snapshot(source, t, "poolmon", table, timestamp=stamp,
                     time_origin=TimeOrigin.MARKER if stamp else TimeOrigin.UNKNOWN,
                     totals=dict(totals[t]) if totals is not None else {})
        )
    return snaps


def noisy(rng: np.random.Generator, n: int, level: float, sd: float) -> np.ndarray:
    return np.round(level + rng.normal(0, sd, n))
