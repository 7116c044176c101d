"""Gates for test pipelines: ``--fail-on-growth``, ``--fail-on-total`` and ``--fail-on``.

Each returns the violation as one line, or None; the command line turns a violation into exit 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.analysis.diff import DiffResult
from analyzer.units import format_size

if TYPE_CHECKING:  # the trend module pulls in the statistics; `diff` should not pay for them
    from analyzer.analysis.trend import TrendResult


def diff_gate(result: DiffResult, fail_on_growth: int | None, fail_on_total: int | None) -> str | None:
    """What a requested growth limit found exceeded, as one line; None when every gate holds."""
    problems = []
    if fail_on_growth is not None:
        over = [r for r in result.rows if r.bytes_change is not None and r.bytes_change > fail_on_growth]
        if over:
            shown = ", ".join(f"{r.tag.rstrip()} {r.pool} {format_size(r.bytes_change, signed=True)}" for r in over[:5])
            more = f" and {len(over) - 5} more" if len(over) > 5 else ""
            noun = "tag" if len(over) == 1 else "tags"
            problems.append(f"{len(over)} {noun} grew more than {format_size(fail_on_growth)}: {shown}{more}")
    if fail_on_total is not None:
        total = sum(t.bytes_change for t in result.totals.values())
        if total > fail_on_total:
            problems.append(f"pools grew {format_size(total, signed=True)} in total, "
                            f"more than {format_size(fail_on_total)}")
    return "gate tripped: " + "; ".join(problems) if problems else None


def trend_gate(result: TrendResult, fail_on: str | None) -> str | None:
    """``--fail-on leak`` trips on any leak; ``--fail-on suspect`` on any leak or suspect."""
    if not fail_on:
        return None
    if not any(r.verdict != "insufficient-data" for r in result.rows):
        # A pipeline that captured one snapshot by mistake must not pass for want of evidence.
        n = result.summary.get("snapshots", 0)
        return (f"gate not checked: {n} snapshot{'s' if n != 1 else ''} gave no series enough points for a "
                f"verdict; failing rather than passing without evidence")
    wanted = ("leak",) if fail_on == "leak" else ("leak", "suspect")
    hits = [r for r in result.rows if r.verdict in wanted]
    if hits:
        names = ", ".join(f"{r.tag.rstrip()} {r.pool}" for r in hits[:5])
        more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
        return (f"gate tripped: {len(hits)} {' or '.join(wanted)} verdict"
                f"{'s' if len(hits) > 1 else ''}: {names}{more}")
    return None
