"""Progress on stderr for inputs that take more than a moment (rich, only on a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from parsers import ProgressCallback


@contextmanager
def terminal_progress(enabled: bool, stream: Any = None) -> Iterator[ProgressCallback | None]:
    """Yield a callback for ``ReportOptions.progress`` that draws bars on ``stream`` (stderr), or None when off.

    The bars are transient: once the report is ready they are erased, so what stays on
    the terminal is the report itself.
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    # The caller decided this stream is a terminal (stderr.isatty()); say so to rich.
    console = Console(file=stream or sys.stderr, force_terminal=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def callback(phase: str, done: float, total: float | None, label: str | None = None) -> None:
        task = tasks.get(phase)
        if task is None:
            task = tasks[phase] = progress.add_task(label or phase, total=total)
        progress.update(task, completed=done, total=total, description=label or phase)

    progress.start()
    try:
        yield callback
    finally:
        progress.stop()
