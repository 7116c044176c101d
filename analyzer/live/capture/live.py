"""A live snapshot provider for the PoolMon-like view (``poolscope top``).

The view calls :meth:`LiveProvider.poll` on a timer; when a snapshot is due the
provider takes one (a few milliseconds on both backends, so on the UI thread)
and says so.  Only the newest ``keep`` snapshots stay in memory, so ``top`` can
run for days; ``-o`` also writes each one to a capture log.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.live.capture.backends import backend_name, host_meta, snapshot
from analyzer.live.capture.capturelog import CaptureWriter
from parsers.errors import PoolscopeError
from parsers.model import Snapshot

if TYPE_CHECKING:
    from analyzer.render.tui import PoolMonApp


class LiveProvider:
    """Snapshots of this machine, one every ``interval`` seconds, newest last."""

    def __init__(
        self,
        interval: float,
        *,
        source: str = "auto",
        session: str | None = None,
        keep: int = 720,
        output: str | Path | None = None,
        take: Callable[[], Snapshot] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:

        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self._take = take or (lambda: snapshot(source, session))
        self._clock = clock
        self._snaps: deque[Snapshot] = deque(maxlen=keep)
        self._taken = 0
        self.last_error: str | None = None
        self._writer = (
            CaptureWriter(output, host_meta(backend_name(source) or source)) if output is not None else None
        )
        # The first snapshot is taken now, so a capture that cannot work fails before any screen is drawn.
        self._shot()
        self._due = self._clock() + interval

    def _shot(self) -> None:
        snap = self._take()
        snap.index = self._taken
        self._taken += 1
        if self._writer is not None:
            self._writer.append(snap)
        self._snaps.append(snap)

    # -- SnapshotProvider ----------------------------------------------------------------
    def count(self) -> int:
        return len(self._snaps)

    def get(self, index: int) -> Snapshot:
        return self._snaps[index]

    def poll(self) -> bool:
        """Take a snapshot if one is due; True when the list changed."""
        now = self._clock()
        if now < self._due:
            return False
        # Missed slots (a suspended laptop, a busy UI) are skipped, not replayed in a burst.
        while self._due <= now:
            self._due += self.interval
        try:
            self._shot()
        except PoolscopeError as exc:
            # Keep showing the last good snapshot; the status line can say why it is not moving.
            self.last_error = str(exc)
            return False
        self.last_error = None
        return True

    @property
    def taken(self) -> int:
        return self._taken

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def live_app(
    interval: float,
    *,
    source: str = "auto",
    session: str | None = None,
    output: str | Path | None = None,
    tag_files: tuple[str, ...] = (),
    take: Callable[[], Snapshot] | None = None,
) -> PoolMonApp:
    """The ``top`` view: :class:`~analyzer.tui.PoolMonApp` over a :class:`LiveProvider` of this machine."""
    from analyzer.owners import build_resolver
    from analyzer.render.tui import PoolMonApp

    class LiveApp(PoolMonApp):
        """The replay view, plus a status line saying why the picture stopped moving."""

        def _poll(self) -> None:
            super()._poll()
            err = provider.last_error
            snap = self.snapshot
            if err and snap is not None:
                from textual.widgets import Static

                self.query_one("#status", Static).update(f"{self._status_text(snap)}\nrefresh failed: {err}")

    provider = LiveProvider(interval, source=source, session=session, output=output, take=take)
    owners = build_resolver(tag_files, [provider.get(0)])
    host = provider.get(0).extra.get("host", "this machine")
    # Poll a few times per interval so a refresh lands close to when it is due.
    return LiveApp(provider, owner=owners.best, poll_seconds=min(interval, 1.0) / 2,
                   title=f"poolscope top {host} every {interval:g}s")
