"""Display columns of the analysis results: headers and how each value is written.

Analysis returns raw values (bytes, rates, ratios); these columns give the human formats
their units.  CSV and JSON take the raw values and ignore ``fmt``.
"""

from __future__ import annotations

from analyzer.render.tables import Column
from analyzer.units import format_size

# -- diff ------------------------------------------------------------------------------------------


def _signed(v: int | None) -> str:
    if v is None:
        return "-"
    return f"{v:+,d}" if v else "0"


def _size_change(v: int | None) -> str:
    return "-" if v is None else (format_size(v, signed=True) if v else "0")


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.0f}%"


DIFF_COLUMNS: list[Column] = [
    Column("tag", "Tag"),
    Column("pool", "Pool"),
    Column("status", "Status"),
    Column("bytes_before", "Before", True, lambda v: format_size(v)),
    Column("bytes_after", "After", True, lambda v: format_size(v)),
    Column("bytes_change", "Change", True, _size_change),
    Column("percent_change", "%", True, _pct),
    Column("outstanding_change", "Diff chg", True, _signed),
    Column("allocs_change", "Allocs chg", True, _signed),
    Column("frees_change", "Frees chg", True, _signed),
]


# -- trend -----------------------------------------------------------------------------------------


def _rate_text(v: float | None) -> str:
    return "-" if v is None else format_size(v, signed=True) + "/h"


def _ratio_pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


TREND_COLUMNS: list[Column] = [
    Column("tag", "Tag"),
    Column("pool", "Pool"),
    Column("verdict", "Verdict"),
    Column("rate_bytes_per_hour", "Rate", True, _rate_text),
    Column("rate_low", "Low", True, _rate_text),
    Column("rate_high", "High", True, _rate_text),
    Column("freed_ratio", "Freed", True, _ratio_pct),
    Column("bytes_last", "Bytes", True, lambda v: format_size(v)),
    Column("group", "Grp", True, lambda v: "-" if v is None else str(v)),
    Column("reason", "Reason"),
]


# -- show ------------------------------------------------------------------------------------------

SHOW_COLUMNS: tuple[Column, ...] = (
    Column("tag", "Tag"),
    Column("pool", "Pool"),
    Column("allocs", "Allocs", numeric=True),
    Column("frees", "Frees", numeric=True),
    Column("diff", "Diff", numeric=True),
    Column("bytes", "Bytes", numeric=True),
    Column("per_alloc", "Per Alloc", numeric=True),
    Column("allocs_change", "Allocs change", numeric=True),
    Column("frees_change", "Frees change", numeric=True),
    Column("bytes_change", "Bytes change", numeric=True),
    Column("owner", "Owner"),
)
