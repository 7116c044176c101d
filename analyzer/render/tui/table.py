"""A PoolMon-style table that draws only the rows that fit on the screen.

PoolMon shows the top of the sorted list and nothing else; drawing just that window
keeps every key press fast on logs with thousands of tags (a full ``DataTable`` measures
every cell of every row on each refresh).

Column widths are fixed by :func:`fit_columns`: every kept column is as wide as its widest
cell in the whole list (not just the rows on screen), widths only grow while the view is
open so ``top`` does not jitter between refreshes, and when the terminal is narrow the
owner column yields its width first, then the change columns are dropped one by one.  A tag
or a number is never cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from analyzer.render.tui.view import ViewRow

#: One space between columns.
GAP = 1
#: Narrowest useful owner column; below this it is left out rather than shown as "a…".
MIN_OWNER = 8


@dataclass(frozen=True)
class ColumnSpec:
    """A column of the view: heading, right-aligned or not, and whether it may be dropped when narrow."""

    label: str
    numeric: bool
    drop_order: int | None = None  # None: always shown; lower numbers are dropped first
    flexible: bool = False  # takes what width is left (the owner column)


def fit_columns(columns: Sequence[ColumnSpec], needed: Sequence[int], width: int) -> list[tuple[int, int]]:
    """(column index, width) of the columns to draw in ``width`` characters.

    Fixed columns get exactly ``needed``; the flexible one (owner) gets what is left, at least
    :data:`MIN_OWNER`; droppable columns (the flexible one among them) go in ``drop_order``
    until the rest fits.  Columns that are never dropped are kept even if they overflow.
    """
    kept = list(range(len(columns)))
    droppable = sorted((i for i in kept if columns[i].drop_order is not None), key=lambda i: columns[i].drop_order)

    def room(indices: list[int]) -> int:
        fixed = sum(needed[i] for i in indices if not columns[i].flexible)
        return width - fixed - GAP * max(0, len(indices) - 1)

    while droppable:
        left = room(kept)
        has_flex = any(columns[i].flexible for i in kept)
        if left >= (MIN_OWNER if has_flex else 0):
            break
        kept.remove(droppable.pop(0))
    left = room(kept)
    return [(i, max(MIN_OWNER, min(needed[i], left)) if columns[i].flexible else needed[i]) for i in kept]


class PoolTable(Widget, can_focus=True):
    """Rows from ``first_row`` down to the bottom of the widget; up/down/page keys scroll."""

    DEFAULT_CSS = """
    PoolTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_rows(-1)", "up", show=False),
        Binding("down", "scroll_rows(1)", "down", show=False),
        Binding("pageup", "scroll_page(-1)", "page up", show=False),
        Binding("pagedown", "scroll_page(1)", "page down", show=False),
    ]

    class Scrolled(Message):
        """The window moved: whoever shows "rows a-b of n" should update."""

    def __init__(
        self,
        columns: Sequence[ColumnSpec],
        cells: Callable[[ViewRow], list[str]],
        style: Callable[[ViewRow], str],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self._cells = cells
        self._style = style
        self.rows: list[ViewRow] = []
        self.first_row = 0
        self.highlight = True
        # Widest cell seen per column since the view opened: widths never shrink, so nothing jumps.
        self.needed = [len(c.label) for c in self.columns]

    # -- data ---------------------------------------------------------------------------
    def set_rows(self, rows: list[ViewRow]) -> None:
        self.rows = rows
        for row in rows:
            for i, text in enumerate(self._cells(row)):
                if len(text) > self.needed[i]:
                    self.needed[i] = len(text)
        self.first_row = max(0, min(self.first_row, len(rows) - self.page_size()))
        self.refresh()

    def page_size(self) -> int:
        """Rows that fit under the header line (a sensible default before the first layout)."""
        height = self.size.height or 25
        return max(1, height - 1)

    def window(self) -> tuple[int, int]:
        """1-based first and last row on screen (0, 0 when empty)."""
        if not self.rows:
            return (0, 0)
        return (self.first_row + 1, min(len(self.rows), self.first_row + self.page_size()))

    def visible(self) -> list[tuple[ViewRow, str]]:
        """The rows on screen with the style each is drawn in."""
        rows = self.rows[self.first_row : self.first_row + self.page_size()]
        return [(r, self._style(r) if self.highlight else "") for r in rows]

    def layout(self) -> list[tuple[int, int]]:
        """(column index, width) of what is drawn at the widget's current width."""
        return fit_columns(self.columns, self.needed, self.size.width or 80)

    # -- scrolling ------------------------------------------------------------------------
    def action_scroll_rows(self, delta: int) -> None:
        self._scroll_to(self.first_row + delta)

    def action_scroll_page(self, delta: int) -> None:
        self._scroll_to(self.first_row + delta * self.page_size())

    def _scroll_to(self, offset: int) -> None:
        new = max(0, min(offset, len(self.rows) - self.page_size()))
        if new != self.first_row:
            self.first_row = new
            self.refresh()
            self.post_message(self.Scrolled())

    # -- drawing --------------------------------------------------------------------------
    def render(self) -> Table:
        table = Table(box=None, pad_edge=False, show_edge=False, expand=False, header_style="bold",
                      padding=(0, 0, 0, 0), collapse_padding=True)
        layout = self.layout()
        for n, (i, width) in enumerate(layout):
            col = self.columns[i]
            label = col.label if n == 0 or col.numeric else " " * GAP + col.label
            table.add_column(label, justify="right" if col.numeric else "left", no_wrap=True,
                             overflow="ellipsis" if col.flexible else "crop", width=width + (GAP if n else 0),
                             min_width=width + (GAP if n else 0))
        for row, style in self.visible():
            cells = self._cells(row)
            out = []
            for n, (i, _) in enumerate(layout):
                text = cells[i]
                if n and not self.columns[i].numeric:
                    text = " " * GAP + text
                out.append(Text(text))
            table.add_row(*out, style=style)
        return table
