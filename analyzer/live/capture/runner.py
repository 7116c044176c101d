"""Periodic capture into a log, and capture around a command (before, during, after a test run)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from analyzer.live.capture.backends import backend_name, host_meta, snapshot
from analyzer.live.capture.capturelog import CaptureWriter
from parsers.errors import PoolscopeError
from parsers.model import Snapshot

#: Called after each record is durable: (number of records written so far, the snapshot).
OnRecord = Callable[[int, Snapshot], None]


@dataclass
class CaptureSummary:
    records: int
    path: Path | None
    backend: str | None
    snapshots: list[Snapshot] = field(default_factory=list)
    appended_to: int = 0  # complete records already in the log before this run


@dataclass
class AroundResult:
    """What ``capture --run`` saw: the snapshots (first = before, last = after) and the command's exit."""

    snapshots: list[Snapshot]
    returncode: int
    command: str | Sequence[str]
    log: CaptureSummary

    @property
    def before(self) -> Snapshot:
        return self.snapshots[0]

    @property
    def after(self) -> Snapshot:
        return self.snapshots[-1]

    def analyze(self, min_change: int = 0) -> RunAnalysis:
        """The before/after diff (changed rows only) and the trend verdicts over the whole run."""
        from analyzer.analysis.diff import diff_snapshots
        from analyzer.analysis.trend import TrendOptions, analyze

        full = diff_snapshots(self.before, self.after)
        shown = diff_snapshots(self.before, self.after, min_change=min_change)
        # Unchanged caches or tags are most of a machine: the table lists what moved.
        shown.rows = [r for r in shown.rows if r.status not in ("same", "churn")]
        # The run is the whole observation window, however short: what is still held after the
        # settle time is what the command left behind, so trend's minimum span for "leak" is waived.
        trend = analyze(self.snapshots, TrendOptions(min_span_hours=0))
        return RunAnalysis(shown, full, trend)


@dataclass
class RunAnalysis:
    diff: Any  # analyzer.analysis.diff.DiffResult, changed rows only (and above min_change)
    full_diff: Any  # every row: what the --fail-on gates look at
    trend: Any  # analyzer.analysis.trend.TrendResult


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class _Recorder:
    """Takes snapshots, numbers them, writes them durably, keeps them when asked."""

    def __init__(
        self,
        output: str | Path | None,
        source: str,
        session: str | None,
        take: Callable[[], Snapshot] | None,
        on_record: OnRecord | None,
        on_warning: Callable[[str], None] | None,
        keep: bool,
    ) -> None:

        self.backend = backend_name(source) if take is None else source
        self.take = take or (lambda: snapshot(source, session))
        self.output = output
        self.meta = host_meta(self.backend or source)
        self.on_warning = on_warning
        # Opened with the first snapshot: a capture that cannot start leaves no empty log behind.
        self.writer: CaptureWriter | None = None
        self.on_record = on_record
        self.keep = keep
        self.snapshots: list[Snapshot] = []
        self.count = 0

    def shot(self) -> Snapshot:
        snap = self.take()
        snap.index = self.count
        if self.output is not None:
            if self.writer is None:
                self.writer = CaptureWriter(self.output, self.meta, warn=self.on_warning)
            self.writer.append(snap)
        self.count += 1
        if self.keep:
            self.snapshots.append(snap)
        if self.on_record is not None:
            self.on_record(self.count, snap)
        return snap

    def summary(self) -> CaptureSummary:
        return CaptureSummary(
            records=self.count,
            path=self.writer.path if self.writer else (Path(self.output) if self.output is not None else None),
            backend=self.backend,
            snapshots=self.snapshots,
            appended_to=self.writer.existing if self.writer else 0,
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def run_capture(
    output: str | Path | None,
    *,
    interval: timedelta | float,
    count: int | None = None,
    duration: timedelta | float | None = None,
    source: str = "auto",
    session: str | None = None,
    on_record: OnRecord | None = None,
    on_warning: Callable[[str], None] | None = None,
    keep: bool = False,
    take: Callable[[], Snapshot] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CaptureSummary:
    """Snapshot every ``interval`` until ``count`` snapshots or ``duration`` (both None: until Ctrl-C).

    Snapshots are due at start + k * interval; a slow snapshot skips the missed
    slots instead of bursting to catch up.
    """
    step = _seconds(interval)
    if step <= 0:
        raise ValueError("interval must be positive")
    limit = None if duration is None else _seconds(duration)
    rec = _Recorder(output, source, session, take, on_record, on_warning, keep)
    try:
        start = clock()
        k = 0
        while True:
            rec.shot()
            if count is not None and rec.count >= count:
                break
            k += 1
            now = clock()
            k = max(k, int((now - start) // step) + 1)
            due = start + k * step
            if limit is not None and due - start > limit + 1e-9:
                break
            sleep(max(0.0, due - clock()))
    finally:
        rec.close()
    return rec.summary()


def capture_around(
    command: str | Sequence[str],
    *,
    output: str | Path | None = None,
    interval: timedelta | float = 5.0,
    settle: timedelta | float = 10.0,
    source: str = "auto",
    session: str | None = None,
    on_record: OnRecord | None = None,
    on_warning: Callable[[str], None] | None = None,
    take: Callable[[], Snapshot] | None = None,
    stdout: int | None = None,
) -> AroundResult:
    """Snapshot before ``command``, every ``interval`` while it runs and through ``settle`` after, then once more.

    The settle time lets deferred frees (RCU, lookaside lists, delayed work) land,
    so what remains in the last snapshot is what the command really left behind.
    ``stdout`` redirects the command's output (e.g. to stderr when ours must stay JSON).
    """
    step = _seconds(interval)
    settle_s = _seconds(settle)
    rec = _Recorder(output, source, session, take, on_record, on_warning, keep=True)
    try:
        rec.shot()
        try:
            proc = subprocess.Popen(command, shell=isinstance(command, str), stdout=stdout)
        except OSError as exc:
            raise PoolscopeError(f"cannot run {command!r}: {exc.strerror or exc}") from exc
        due = time.monotonic() + step
        try:
            while True:
                try:
                    proc.wait(timeout=max(0.0, due - time.monotonic()))
                    break
                except subprocess.TimeoutExpired:
                    rec.shot()
                    due = max(due + step, time.monotonic() + step / 2)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        end = time.monotonic() + settle_s
        due = max(due, time.monotonic() + step)
        while due < end:
            time.sleep(max(0.0, due - time.monotonic()))
            rec.shot()
            due += step
        time.sleep(max(0.0, end - time.monotonic()))
        rec.shot()
    finally:
        rec.close()
    return AroundResult(rec.snapshots, proc.returncode, command, rec.summary())
