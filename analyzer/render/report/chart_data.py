"""The numbers behind the HTML report's interactive charts, packed to fit a size budget.

The report embeds one JSON document (``<script type="application/json">``, never executed)
that its own script draws from:

- ``t``: the time of every snapshot (milliseconds since the epoch, or snapshot numbers);
- ``detail``: the suspects, the top movers and the pool totals at full resolution, exact;
- ``rows``: every (tag, pool) with its verdict, owner and figures, and its series
  *downsampled* to at most ``points`` buckets (the largest value in each bucket, so a spike or
  a peak is never smoothed away) and quantised to 16 bits between the series' own minimum and
  maximum (base64): within 1/65535 of its range, plenty for a chart and a hover read-out.

The point count is chosen from :data:`SERIES_BUDGET`, so a log of 3,000 tags × 1,440
snapshots stays within the report's stated size (docs/reports.md; bench/report_bench.py).
Text from the inputs goes in as JSON strings and is escaped for a ``<script>`` element;
the page's script only ever puts it into the document as text.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime
from itertools import pairwise
from typing import Any

import numpy as np

from analyzer.render.report.model import Report

#: Bytes of downsampled series the whole table may take (16-bit values in base64).
SERIES_BUDGET = 1_600_000
#: Most and fewest buckets per downsampled series.
MAX_POINTS = 240
MIN_POINTS = 48
#: Series drawn at full resolution as small multiples besides the suspects.
TOP_MOVERS = 12


def _time_axis(times: list[Any]) -> tuple[list[float], bool]:
    """Milliseconds for the page, the wall-clock time as written taken as UTC (the page reads UTC
    fields back), so a zone-less PoolMon time shows exactly as in the log; else snapshot numbers."""
    from calendar import timegm

    if times and all(isinstance(t, datetime) for t in times):
        return [timegm(t.timetuple()) * 1000 + t.microsecond / 1000 for t in times], True
    return [float(i) for i in range(1, len(times) + 1)], False


def _exact(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else (int(v) if float(v).is_integer() else round(float(v), 3))
            for v in values.tolist()]


def _buckets(n: int, points: int) -> list[tuple[int, int]]:
    if n <= points:
        return [(i, i + 1) for i in range(n)]
    edges = np.linspace(0, n, points + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in pairwise(edges.tolist()) if b > a]


def _downsample(matrix: np.ndarray, buckets: list[tuple[int, int]]) -> np.ndarray:
    """(T, K) -> (B, K): the largest known value in each bucket, NaN where a bucket has none."""
    out = np.full((len(buckets), matrix.shape[1]), np.nan)
    with np.errstate(all="ignore"):
        for b, (lo, hi) in enumerate(buckets):
            chunk = matrix[lo:hi]
            known = np.isfinite(chunk).any(axis=0)
            if known.any():
                out[b, known] = np.nanmax(chunk[:, known], axis=0)
    return out


def _quantise(column: np.ndarray) -> tuple[str, float, float]:
    """Base64 of 16-bit levels between the column's min and max; 65535 stands for "no value"."""
    finite = column[np.isfinite(column)]
    lo = float(finite.min()) if len(finite) else 0.0
    hi = float(finite.max()) if len(finite) else 0.0
    span = hi - lo
    levels = np.full(len(column), 65535, dtype="<u2")
    ok = np.isfinite(column)
    if span > 0:
        levels[ok] = np.round((column[ok] - lo) / span * 65534).astype("<u2")
    else:
        levels[ok] = 0
    return base64.b64encode(levels.tobytes()).decode("ascii"), lo, hi


def _owner_group(owner: str | None) -> str:
    """The binary an owner text names (``abc.sys - queue`` -> ``abc.sys``), or the whole text."""
    if not owner:
        return "owner unknown"
    return owner.split(" - ", 1)[0].strip() or owner


def chart_document(report: Report) -> dict[str, Any]:
    """Everything the page's charts and the full table need, as plain JSON-able data."""
    data = report.extra.get("series_set")
    rows = report.trend_rows
    if data is not None and len(data):
        times = list(data.timestamps) if data.timed else list(range(1, len(data.times) + 1))
        matrix = np.asarray(data.values["bytes"], dtype=float)
        index = {key: i for i, key in enumerate(data.keys)}
    else:
        times = []
        matrix = np.zeros((0, 0))
        index = {}
    axis, timed = _time_axis(times)
    n_series = max(1, len(rows))
    points = int(min(MAX_POINTS, max(MIN_POINTS, SERIES_BUDGET / (n_series * 2 * 4 / 3))))
    buckets = _buckets(len(axis), points)
    sampled = _downsample(matrix, buckets) if matrix.size else matrix
    bucket_t = [axis[lo] if hi - lo == 1 else (axis[lo] + axis[hi - 1]) / 2 for lo, hi in buckets]

    first_last: dict[tuple[str, str], int | None] = {}
    out_rows = []
    for r in rows:
        i = index.get((r.tag, r.pool))
        change = None if r.bytes_first is None or r.bytes_last is None else r.bytes_last - r.bytes_first
        first_last[(r.tag, r.pool)] = change
        entry: dict[str, Any] = {
            "tag": r.tag,
            "pool": r.pool,
            "verdict": r.verdict,
            "rate": None if r.rate_bytes_per_hour is None or not math.isfinite(r.rate_bytes_per_hour)
            else round(r.rate_bytes_per_hour, 1),
            "last": r.bytes_last,
            "change": change,
            "owner": report.owners.get((r.tag, r.pool)) or r.owner,
            "group": _owner_group(report.owners.get((r.tag, r.pool)) or r.owner),
            "reason": r.reason,
        }
        if i is not None and sampled.size:
            entry["q"], entry["lo"], entry["hi"] = _quantise(sampled[:, i])
        out_rows.append(entry)

    suspects = [(s.tag, s.pool) for s in report.suspects]
    movers = sorted((k for k, c in first_last.items() if c and k not in suspects),
                    key=lambda k: (-abs(first_last[k] or 0), k))[:TOP_MOVERS]
    detail = {}
    for tag, pool in suspects + movers:
        i = index.get((tag, pool))
        if i is not None:
            detail[f"{tag}\u0000{pool}"] = _exact(matrix[:, i])
    totals = [{"pool": p.pool, "basis": p.basis,
               "v": [None if v is None else round(v * 1024) for v in p.series.values]} for p in report.totals]
    return {
        "timed": timed,
        "t": [round(x) if timed else x for x in axis],
        "bt": [round(x) if timed else x for x in bucket_t],
        "rows": out_rows,
        "suspects": [f"{t}\u0000{p}" for t, p in suspects],
        "movers": [f"{t}\u0000{p}" for t, p in movers],
        "detail": detail,
        "totals": totals,
        "downsampled": len(buckets) < len(axis),
    }


def script_json(doc: dict[str, Any]) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` characters."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace(
        "\u2028", "\\u2028").replace("\u2029", "\\u2029")
