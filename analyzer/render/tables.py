"""Renderers: typed result rows in, text out (the volatility3 TreeGrid idea).

Analysis code returns dataclass rows and a list of :class:`Column`; these functions
format them as a rich table, CSV, JSON or GitHub Markdown.  Raw values go to CSV and
JSON; the ``fmt`` of a column only shapes the human formats.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from analyzer.render.safe import csv_cell, escaping_console, markdown_text, terminal_text


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    numeric: bool = False
    fmt: Callable[[Any], str] | None = None

    def text(self, value: Any) -> str:
        if self.fmt is not None:
            return terminal_text(self.fmt(value))
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.2f}"
        return terminal_text(value)


def record(row: Any) -> dict[str, Any]:
    """A row as a plain dict (dataclasses, mappings and objects with ``to_dict``)."""
    if isinstance(row, dict):
        return row
    if hasattr(row, "to_dict"):
        return row.to_dict()
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    raise TypeError(f"cannot render {type(row).__name__}")


def _value(row: Any, key: str) -> Any:
    if isinstance(row, dict):
        return row.get(key)
    return getattr(row, key, None)


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return record(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def render_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=json_default, ensure_ascii=False) + "\n"


def render_csv(rows: Iterable[Any], columns: Sequence[Column]) -> str:
    """CSV with text cells guarded against spreadsheet formulas (see analyzer.render.safe.csv_cell)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        values = []
        for c in columns:
            v = _value(row, c.key)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, Enum):
                v = v.value
            values.append("" if v is None else csv_cell(v))
        writer.writerow(values)
    return buf.getvalue()


def _md_escape(text: str) -> str:
    return markdown_text(text)


def render_markdown(rows: Iterable[Any], columns: Sequence[Column]) -> str:
    lines = [
        "| " + " | ".join(_md_escape(c.header) for c in columns) + " |",
        "| " + " | ".join("---:" if c.numeric else "---" for c in columns) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_md_escape(c.text(_value(row, c.key))) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def want_color(stream: Any = None) -> bool:
    """Colour only on a terminal and never with NO_COLOR set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def make_console(width: int | None = None, stream: Any = None, color: bool | None = None) -> Any:
    color = want_color(stream) if color is None else color
    env_width = os.environ.get("COLUMNS")
    if width is None and not color:
        width = int(env_width) if env_width and env_width.isdigit() else 100
    return escaping_console(
        file=stream or sys.stdout,
        width=width,
        color_system="auto" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        soft_wrap=False,
        emoji=False,
        markup=False,
    )


def rich_table(rows: Iterable[Any], columns: Sequence[Column], title: str | None = None,
               styles: Callable[[Any], str | None] | None = None) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    for c in columns:
        table.add_column(c.header, justify="right" if c.numeric else "left", no_wrap=True)
    for row in rows:
        style = styles(row) if styles else None
        table.add_row(*(c.text(_value(row, c.key)) for c in columns), style=style)
    return table


def render_table(rows: Iterable[Any], columns: Sequence[Column], title: str | None = None,
                 width: int | None = None) -> str:
    """A plain-text table (no colour), as the golden tests see it."""
    buf = io.StringIO()
    console = make_console(width=width or 100, stream=buf, color=False)
    console.print(rich_table(rows, columns, title))
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
