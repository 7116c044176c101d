"""Build the replay view for a parsed log: the library call behind ``poolscope replay``."""

from __future__ import annotations

from collections.abc import Sequence

from parsers import ParseResult

from .app import PoolMonApp
from .provider import ListProvider


def start_index(text: str, n: int) -> int:
    """``first``, ``last`` or a 1-based snapshot number, as a 0-based index."""
    t = text.strip().lower()
    if t == "first":
        return 0
    if t == "last":
        return n - 1
    if t.isdigit() and 1 <= int(t) <= n:
        return int(t) - 1
    raise ValueError(f"{text!r}: use first, last or a number from 1 to {n}")


def replay_app(
    result: ParseResult,
    *,
    start: str = "first",
    tag_files: Sequence[str] = (),
    use_default_tags: bool = True,
    title: str | None = None,
) -> PoolMonApp:
    """A :class:`PoolMonApp` over every snapshot of ``result``, owners resolved from tag files and the inputs."""
    from ..owners import build_resolver

    if not result.snapshots:
        raise ValueError("no snapshots to replay")
    owners = build_resolver(tag_files, result.snapshots, use_defaults=use_default_tags)
    return PoolMonApp(
        ListProvider(result.snapshots),
        owner=owners.best,
        start=start_index(start, len(result.snapshots)),
        title=title,
    )
