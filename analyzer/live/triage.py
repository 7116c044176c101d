"""Triage from a file: a debugger log, or a crash dump opened with cdb, with owners resolved.

The analysis itself is :func:`analyzer.analysis.triage.triage_transcript`; this module
gathers its inputs (the transcript, the debugger run, the tag files).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from analyzer.analysis.triage import DUMP_SUFFIXES, TriageReport, triage_transcript
from analyzer.owners import build_resolver
from parsers.transcript import Transcript, read_transcript


def triage_source(
    source: Transcript | str | os.PathLike[str],
    *,
    tag_files: Sequence[str | os.PathLike[str]] = (),
    use_default_tags: bool = True,
    symbols: str | None = None,
    debugger: str | None = None,
    top: int = 5,
) -> TriageReport:
    """Triage a debugger log (path or :class:`Transcript`) or, through cdb, a crash dump."""
    if isinstance(source, Transcript):
        transcript = source
    elif os.fspath(source).lower().endswith(DUMP_SUFFIXES):
        from analyzer.live.windbg.cdb import run_dump

        transcript = run_dump(os.fspath(source), symbols=symbols, debugger=debugger)
    else:
        transcript = read_transcript(source)
    resolver = build_resolver(tag_files, transcript.snapshots, use_defaults=use_default_tags)
    return triage_transcript(transcript, owners=resolver.ownership, top=top)
