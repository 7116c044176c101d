"""Where the PoolMon-like view gets its snapshots: a saved log (replay) or a live source (top)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from parsers.model import Snapshot


@runtime_checkable
class SnapshotProvider(Protocol):
    """Snapshots by position, oldest first.

    A live source may also define ``poll() -> bool``: the view calls it on a timer
    and, when it returns True (new snapshots arrived), re-reads ``count()``.
    """

    def count(self) -> int: ...

    def get(self, index: int) -> Snapshot: ...


class ListProvider:
    """A fixed list of snapshots, e.g. a parsed log for ``poolscope replay``."""

    def __init__(self, snapshots: Sequence[Snapshot]) -> None:
        self._snapshots = list(snapshots)

    def count(self) -> int:
        return len(self._snapshots)

    def get(self, index: int) -> Snapshot:
        return self._snapshots[index]


class GrowingProvider(ListProvider):
    """A list that a producer appends to; ``poll`` says whether it grew since the last call.

    Live capture can feed this from its sampling thread; ``append`` is the only
    call the producer needs (list append is atomic under the GIL).
    """

    def __init__(self, snapshots: Sequence[Snapshot] = ()) -> None:
        super().__init__(snapshots)
        self._seen = len(self._snapshots)

    def append(self, snapshot: Snapshot) -> None:
        self._snapshots.append(snapshot)

    def poll(self) -> bool:
        n = len(self._snapshots)
        grew = n != self._seen
        self._seen = n
        return grew
