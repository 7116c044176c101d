"""The PoolMon-like interactive view shared by ``poolscope replay`` (saved logs) and ``top`` (live).

``PoolMonApp(provider)`` takes any :class:`SnapshotProvider`: ``count()``, ``get(i)``
and, for live sources, ``poll()``.  Textual is imported only when this package is.
"""

from __future__ import annotations

from analyzer.render.tui.app import PoolMonApp
from analyzer.render.tui.provider import GrowingProvider, ListProvider, SnapshotProvider
from analyzer.render.tui.view import PoolView, TagPredicate, ViewRow

__all__ = ["GrowingProvider", "ListProvider", "PoolMonApp", "PoolView", "SnapshotProvider", "TagPredicate", "ViewRow"]
