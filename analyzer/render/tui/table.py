"""A PoolMon-style table that draws only the rows that fit on the screen.

PoolMon shows the top of the sorted list and nothing else; drawing just that window
keeps every key press fast on logs with thousands of tags (a full ``DataTable`` measures
every cell of every row on each refresh).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from analyzer.render.tui.view import ViewRow


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
        columns: Sequence[tuple[str, bool]],
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

    # -- data ---------------------------------------------------------------------------
    def set_rows(self, rows: list[ViewRow]) -> None:
        self.rows = rows
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
        return [(r, self._style(r)) for r in self.rows[self.first_row : self.first_row + self.page_size()]]

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
        table = Table(box=None, pad_edge=False, show_edge=False, expand=True, header_style="bold", padding=(0, 1))
        for label, numeric in self.columns:
            table.add_column(label, justify="right" if numeric else "left", no_wrap=True, overflow="ellipsis")
        for row, style in self.visible():
            table.add_row(*(Text(c) for c in self._cells(row)), style=style)
        return table
