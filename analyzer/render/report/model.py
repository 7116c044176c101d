"""The report as data: what was read, the verdict, suspects, pool totals, the diff, next steps.

Every renderer (terminal, Markdown, HTML, JSON) reads this one model, so the four
outputs always say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analyzer.analysis.diff import DiffRow
from analyzer.analysis.trend import TrendRow
from analyzer.analysis.verdict import Verdict
from parsers.errors import ParseWarning


@dataclass(frozen=True)
class InputRead:
    """One source as read: its name, detected format, text encoding and snapshot count."""

    name: str
    format: str
    encoding: str
    snapshots: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "encoding": self.encoding, "snapshots": self.snapshots}


@dataclass(frozen=True)
class Series:
    """Values over the snapshots: ``times`` are datetimes when known, else snapshot numbers."""

    times: list[datetime | int]
    values: list[float | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "times": [t.isoformat() if isinstance(t, datetime) else t for t in self.times],
            "values": self.values,
        }

    def known(self) -> list[float]:
        return [v for v in self.values if v is not None]


@dataclass(frozen=True)
class Suspect:
    """A tag the trend analysis calls a leak or a suspect, with what a reader needs to act on it."""

    tag: str
    pool: str
    owner: str | None
    verdict: Verdict
    reason: str
    rate_bytes_per_hour: float | None
    rate_low: float | None
    rate_high: float | None
    bytes_first: int | None
    bytes_last: int | None
    start: datetime | None  # interval the rate was measured over
    end: datetime | None
    n_points: int
    onset: datetime | None = None
    exhaustion: dict[str, Any] | None = None
    allocs_per_hour: float | None = None
    freed_ratio: float | None = None
    series: Series = field(default_factory=lambda: Series([], []))
    #: Every candidate owner with its provenance (OwnerCandidate.to_dict()), most trusted first.
    owner_candidates: list[dict[str, Any]] = field(default_factory=list, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "pool": self.pool,
            "owner": self.owner,
            "owner_candidates": list(self.owner_candidates),
            "verdict": Verdict(self.verdict).value,
            "reason": self.reason,
            "rate_bytes_per_hour": self.rate_bytes_per_hour,
            "rate_low": self.rate_low,
            "rate_high": self.rate_high,
            "bytes_first": self.bytes_first,
            "bytes_last": self.bytes_last,
            "interval": {
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None,
            },
            "n_points": self.n_points,
            "onset": self.onset.isoformat() if self.onset else None,
            "exhaustion": self.exhaustion,
            "allocs_per_hour": self.allocs_per_hour,
            "freed_ratio": self.freed_ratio,
            "series": self.series.to_dict(),
        }


@dataclass(frozen=True)
class PoolTotal:
    """One pool's size over time, in KB; ``basis`` says where the figures come from."""

    pool: str
    basis: str  # "header" (PoolMon's Pool N:/P: figures) or "sum of tags"
    series: Series

    @property
    def first_kb(self) -> float | None:
        known = self.series.known()
        return known[0] if known else None

    @property
    def last_kb(self) -> float | None:
        known = self.series.known()
        return known[-1] if known else None

    @property
    def peak_kb(self) -> float | None:
        known = self.series.known()
        return max(known) if known else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "basis": self.basis,
            "first_kb": self.first_kb,
            "last_kb": self.last_kb,
            "peak_kb": self.peak_kb,
            "series": self.series.to_dict(),
        }


@dataclass
class LargestTag:
    """One of the biggest tags of the last snapshot, whatever its verdict."""

    tag: str
    pool: str
    bytes: int | None
    outstanding: int | None
    owner: str | None = None
    #: Every candidate owner with its provenance (OwnerCandidate.to_dict()), most trusted first.
    owner_candidates: list[dict[str, Any]] = field(default_factory=list, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "pool": self.pool, "bytes": self.bytes, "outstanding": self.outstanding,
                "owner": self.owner, "owner_candidates": list(self.owner_candidates)}


@dataclass(frozen=True)
class NextStep:
    """Something to do that would settle the question, with the exact command when there is one."""

    text: str
    command: str | None = None
    where: str | None = None  # "poolscope", "windbg", "windows" or "linux": where the command runs

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "command": self.command, "where": self.where}


@dataclass
class Report:
    """Everything ``poolscope report`` says about a set of inputs."""

    inputs: list[InputRead]
    snapshot_count: int
    start: datetime | None
    end: datetime | None
    timed: bool
    warnings: list[ParseWarning]
    level: str  # "leak", "suspect", "clean", "insufficient-data", "triage" (a debugger log explains the case)
    verdict: str  # one sentence
    suspects: list[Suspect]
    trend_rows: list[TrendRow]  # every row, most suspicious first
    totals: list[PoolTotal]
    diff_rows: list[DiffRow]  # first vs last snapshot, largest change first
    diff_before: str | None
    diff_after: str | None
    next_steps: list[NextStep]
    owners: dict[tuple[str, str], str | None] = field(default_factory=dict)
    #: The biggest tags of the last snapshot (the text formats show them; not in JSON).
    largest: list[LargestTag] = field(default_factory=list)
    #: What the reader should know about what was read (scopes left out, ...).
    notes: list[str] = field(default_factory=list)
    #: Figures not yet given a typed field: ``pool_totals`` (trend's per-pool rows), ``triage``.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def span_seconds(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_version": 1,
            "verdict": self.verdict,
            "level": self.level,
            "read": {
                "inputs": [i.to_dict() for i in self.inputs],
                "snapshots": self.snapshot_count,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None,
                "span_seconds": self.span_seconds,
                "timed": self.timed,
                "notes": list(self.notes),
                "warnings": [w.to_dict() for w in self.warnings],
            },
            "suspects": [s.to_dict() for s in self.suspects],
            "totals": [t.to_dict() for t in self.totals],
            "diff": {
                "before": self.diff_before,
                "after": self.diff_after,
                "rows": [r.to_dict() for r in self.diff_rows],
            },
            "trend": [r.to_dict() for r in self.trend_rows],
            "next_steps": [n.to_dict() for n in self.next_steps],
        }
