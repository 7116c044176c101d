"""Build the replay view for a parsed log: the library call behind ``poolscope replay``."""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.analysis.selection import SnapshotSpec, select_snapshot
from analyzer.render.tui.app import PoolMonApp
from analyzer.render.tui.provider import ListProvider
from parsers import ParseResult


def start_index(result: ParseResult, spec: SnapshotSpec = "first") -> int:
    """The position of the snapshot ``spec`` names, with the rules of ``show --snapshot`` and ``FILE#N``.

    One rule for every command (first, last, N from 0, negative from the end, or a time) so a
    number read off ``show`` or the JSON ``index`` opens the same frame here; InputError otherwise.
    """
    chosen = select_snapshot(result, spec)
    return next(i for i, snap in enumerate(result.snapshots) if snap is chosen)


def replay_app(
    result: ParseResult,
    *,
    start: SnapshotSpec = "first",
    tag_files: Sequence[str] = (),
    use_default_tags: bool = True,
    title: str | None = None,
) -> PoolMonApp:
    """A :class:`PoolMonApp` over every snapshot of ``result``, owners resolved from tag files and the inputs."""
    from analyzer.owners import build_resolver

    if not result.snapshots:
        raise ValueError("no snapshots to replay")
    owners = build_resolver(tag_files, result.snapshots, use_defaults=use_default_tags)
    return PoolMonApp(
        ListProvider(result.snapshots),
        owner=owners.best,
        start=start_index(result, start),
        title=title,
    )
