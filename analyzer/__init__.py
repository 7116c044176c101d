"""poolscope analyzer: series and diffs across snapshots, leak verdicts, owners, reports, live capture."""

from __future__ import annotations

__version__ = "0.1.0"
