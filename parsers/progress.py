"""Reading with a progress callback: how far through the inputs the parser has got, in bytes.

``parse(..., progress=callback)`` reads through :func:`counted_sources`; a caller with a
progress bar (``poolscope report``) needs nothing but that call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .textio import StreamedSource, TextSource, _expanded, read_item

#: ``progress(phase, done, total, label)``: phase "read" (bytes) or "analyse" (steps);
#: total None when unknown (the bar pulses); label names what is being worked on.
ProgressCallback = Callable[[str, float, "float | None", "str | None"], None]


class CountedSource(StreamedSource):
    """A streamed file that reports how many bytes the parser has pulled from it so far."""

    _tick: Callable[[float], None]

    def __init__(self, inner: StreamedSource, tick: Callable[[float], None]) -> None:
        for key, value in inner.__dict__.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_tick", tick)

    def _counted(self, pieces: Iterator[Any], scale: float) -> Iterator[Any]:
        seen = 0.0
        for piece in pieces:
            yield piece
            seen += len(piece) * scale
            self._tick(seen)

    def iter_raw_chunks(self, size: int | None = None) -> Iterator[bytes] | None:
        pieces = super().iter_raw_chunks(size)
        return None if pieces is None else self._counted(pieces, 1.0)

    def iter_chunks(self, size: int | None = None) -> Iterator[str]:
        # Characters, not bytes: close enough for a bar (UTF-16 files take two bytes each).
        return self._counted(super().iter_chunks(size), 2.0 if "utf-16" in self.encoding else 1.0)


def _size(item: str | Path) -> int:
    try:
        return 0 if item == "-" else Path(item).stat().st_size
    except OSError:
        return 0  # read_path raises the proper InputError for it when it is read


def _ticker(progress: ProgressCallback, base: float, size: int, total: float | None,
            label: str) -> Callable[[float], None]:
    """Bytes pulled from one file, reported as bytes through all the inputs."""

    def tick(pulled: float) -> None:
        progress("read", base + min(pulled, size), total, label)

    return tick


def counted_sources(inputs: Iterable[str | os.PathLike[str]], progress: ProgressCallback) -> Iterator[TextSource]:
    """:func:`parsers.textio.read_inputs` that reports bytes read: per source, and within a large streamed file."""
    expanded = list(_expanded(inputs))
    items = [item for item, _ in expanded]
    sizes = [_size(item) for item in items]
    total = float(sum(sizes)) or None
    done = 0.0
    for (item, found), size in zip(expanded, sizes, strict=True):
        label = f"reading {Path(item).name}" if item != "-" else "reading standard input"
        for source in read_item(item, found):
            if isinstance(source, StreamedSource):
                # A big file reports as the parser pulls its pieces.
                progress("read", done, total, label)
                source = CountedSource(source, _ticker(progress, done, size, total, label))
            else:
                # Read whole and parsed in one go: a pulsing bar when it is the only input.
                progress("read", done, total if len(items) > 1 else None, label)
            yield source
        # The generator resumes only once the consumer has parsed what it yielded.
        done += size
    progress("read", done, done or 1.0, "read")
