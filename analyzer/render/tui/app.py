"""A PoolMon-like textual view over any :class:`SnapshotProvider` (``replay`` and ``top``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from analyzer.render.safe import terminal_document, terminal_text
from analyzer.render.tui.provider import SnapshotProvider
from analyzer.render.tui.table import ColumnSpec, PoolTable
from analyzer.render.tui.view import PoolView, Totals, ViewRow
from analyzer.units import format_size
from parsers.model import Snapshot

_TYPE = {"nonpaged": "Nonp", "paged": "Paged"}

#: PoolMon's columns; on a narrow terminal the change columns of allocs, frees and diff go first,
#: then the owner (which until then only yields width), so tags and numbers are never cut.
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("Tag", False),
    ColumnSpec("Type", False),
    ColumnSpec("Allocs", True),
    ColumnSpec("(+)", True, drop_order=1),
    ColumnSpec("Frees", True),
    ColumnSpec("(+)", True, drop_order=2),
    ColumnSpec("Diff", True),
    ColumnSpec("(+)", True, drop_order=3),
    ColumnSpec("Bytes", True),
    ColumnSpec("(+)", True, drop_order=5),
    ColumnSpec("Per Alloc", True, drop_order=6),
    ColumnSpec("Owner", False, drop_order=4, flexible=True),
)

HELP_TEXT = """\
[b]Keys[/b] (PoolMon's where it has one; a sort key pressed again reverses the order)
  [b]b[/b] bytes  [b]m[/b] per alloc  [b]t[/b] tag  [b]a[/b] allocs  [b]f[/b] frees  [b]d[/b] diff
  [b]([/b] sort by the change column   [b]p[/b] pool: both, nonpaged, paged   [b]e[/b] totals
  [b]l[/b] highlighting on/off   [b]/[/b] filter: Abc* Ntf? /xAb?d (Enter applies, Esc closes)
  [b]←/→[/b] previous/next snapshot   [b]Home/End[/b] first/last   [b]↑/↓ PgUp/PgDn[/b] scroll
  [b]?[/b] this help   [b]q[/b] or [b]Ctrl+C[/b] quit
[b]Colours[/b]: red grew, green shrank, yellow counters moved, magenta new.
Narrow terminal: the owner column shrinks, then the (+) columns are left out."""

#: Row styles for highlighting what moved since the previous snapshot.
GROW_STYLE = "bold red"
SHRINK_STYLE = "green"
CHANGE_STYLE = "yellow"
NEW_STYLE = "bold magenta"


def row_style(row: ViewRow) -> str:
    if row.new:
        return NEW_STYLE
    if row.bytes_change and row.bytes_change > 0:
        return GROW_STYLE
    if row.bytes_change and row.bytes_change < 0:
        return SHRINK_STYLE
    return CHANGE_STYLE if row.changed else ""


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def _chg(value: int | None) -> str:
    return "" if value is None else f"({value})"


def row_cells(row: ViewRow) -> list[str]:
    return [
        terminal_text(row.tag),
        _TYPE[row.pool],
        _num(row.allocs),
        _chg(row.allocs_change),
        _num(row.frees),
        _chg(row.frees_change),
        _num(row.diff),
        _chg(row.diff_change),
        _num(row.bytes),
        _chg(row.bytes_change),
        _num(row.per_alloc),
        terminal_text(row.owner or ""),
    ]


class PoolMonApp(App[None]):
    """Step through snapshots with PoolMon's keys; rows that changed are highlighted."""

    TITLE = "poolscope"
    CSS = """
    #status { height: auto; padding: 0 1; background: $boost; }
    #filter { display: none; }
    #filter.open { display: block; }
    #totals { height: auto; padding: 0 1; display: none; }
    #totals.open { display: block; }
    #help { height: auto; padding: 0 1; display: none; background: $panel; }
    #help.open { display: block; }
    """
    # The footer shows the few keys a newcomer needs at 80 columns; `?` lists the rest.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "toggle_help", "help"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("p", "cycle_pool", "pool"),
        Binding("b", "sort('b')", "bytes", show=False),
        Binding("m", "sort('m')", "per alloc", show=False),
        Binding("t", "sort('t')", "tag", show=False),
        Binding("a", "sort('a')", "allocs", show=False),
        Binding("f", "sort('f')", "frees", show=False),
        Binding("d", "sort('d')", "diff", show=False),
        Binding("left_parenthesis", "change_sort", "by change", show=False),
        Binding("e", "totals", "totals"),
        Binding("l", "toggle_highlight", "highlight", show=False),
        Binding("slash", "open_filter", "filter"),
        # Priority so that they step snapshots whatever has focus (the filter box hands them back).
        Binding("left", "step(-1)", "prev", priority=True),
        Binding("right", "step(1)", "next", priority=True),
        Binding("home", "go_first", "first", show=False, priority=True),
        Binding("end", "go_last", "last", show=False, priority=True),
        Binding("escape", "close_filter", "close filter", show=False),
    ]

    def __init__(
        self,
        provider: SnapshotProvider,
        *,
        owner: Callable[[str], str | None] | None = None,
        start: int = 0,
        poll_seconds: float = 1.0,
        title: str | None = None,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.owner = owner
        self.view = PoolView()
        self.poll_seconds = poll_seconds
        n = provider.count()
        self.position = (start % n) if n else 0
        self._known = n
        self.displayed: list[ViewRow] = []
        self.totals: list[Totals] = []
        #: One line shown under the status until the view moves (e.g. "no snapshot near ...").
        self.notice: str | None = None
        if title:
            self.title = title

    # -- layout ---------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Input(placeholder="tags: Abc* Ntf? /xAb?d  (Enter applies, Esc closes)", id="filter")
        yield PoolTable(COLUMNS, row_cells, row_style, id="table")
        yield Static(id="totals")
        yield Static(HELP_TEXT, id="help")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(PoolTable)
        if callable(getattr(self.provider, "poll", None)):
            self.set_interval(self.poll_seconds, self._poll)
        self.refresh_view()
        table.focus()

    # -- data -----------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot | None:
        return self.provider.get(self.position) if self.provider.count() else None

    def refresh_view(self) -> None:
        table = self.query_one(PoolTable)
        snap = self.snapshot
        if snap is None:
            self.displayed = []
            table.set_rows([])
            self.query_one("#status", Static).update("waiting for the first snapshot ...")
            return
        previous = self.provider.get(self.position - 1) if self.position > 0 else None
        self.displayed = self.view.rows(snap, previous, self.owner)
        table.set_rows(self.displayed)
        self.totals = self.view.totals(self.displayed)
        # Text, not a str: a str would be read as Textual markup, and the source name is input.
        self.query_one("#status", Static).update(Text(terminal_document(self._status_text(snap))))
        self.query_one("#totals", Static).update(Text(self._totals_text()))

    def _status_text(self, snap: Snapshot) -> str:
        when = snap.timestamp.isoformat(sep=" ", timespec="seconds") if snap.timestamp else "time unknown"
        pools = []
        for key, label in (("nonpaged_kb", "Pool N"), ("paged_kb", "P")):
            if key in snap.totals:
                pools.append(f"{label}:{snap.totals[key]}K")
        changed = sum(1 for r in self.displayed if r.changed)
        # "#N" is the position --start, show --snapshot and FILE#N take; "(n/total)" how far along the log.
        head = f"snapshot #{self.position} ({self.position + 1}/{self.provider.count()})  {when}  {snap.source}"
        if pools:
            head += "  " + " ".join(pools)
        first, last = self.query_one(PoolTable).window()
        shown = f"rows {first}-{last} of {len(self.displayed)}" if self.displayed else "no rows"
        text = f"{head}\n{self.view.describe()}  {shown}  changed: {changed}  ? help"
        return f"{text}\nnote: {self.notice}" if self.notice else text

    def _totals_text(self) -> str:
        lines = [
            f"Total {_TYPE[t.pool]:5} allocs {t.allocs}  frees {t.frees}  diff {t.diff}  "
            f"bytes {t.bytes} ({format_size(t.bytes)}, {format_size(t.bytes_change, signed=True)})"
            for t in self.totals
        ]
        return "\n".join(lines) or "no rows"

    def _poll(self) -> None:
        poll = getattr(self.provider, "poll", None)
        if poll is None:
            return
        # Follow the newest snapshot only if the user was looking at the newest one.
        following = self.position >= self._known - 1
        if poll():
            self._known = self.provider.count()
            if following:
                self.position = max(0, self.provider.count() - 1)
            self.refresh_view()

    # -- actions (PoolMon's keys) ---------------------------------------------------
    def on_pool_table_scrolled(self, event: PoolTable.Scrolled) -> None:
        snap = self.snapshot
        if snap is not None:
            self.query_one("#status", Static).update(Text(terminal_document(self._status_text(snap))))

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_view)

    def action_cycle_pool(self) -> None:
        self.view.cycle_pool()
        self.refresh_view()

    def action_sort(self, letter: str) -> None:
        self.view.press_sort(letter)
        self.refresh_view()

    def action_change_sort(self) -> None:
        self.view.toggle_change_sort()
        self.refresh_view()

    def action_toggle_help(self) -> None:
        self.query_one("#help", Static).toggle_class("open")

    def action_toggle_highlight(self) -> None:
        """PoolMon's ``l``: highlighting of changed rows on or off."""
        table = self.query_one(PoolTable)
        table.highlight = not table.highlight
        table.refresh()

    def action_totals(self) -> None:
        self.view.toggle_totals()
        self.query_one("#totals", Static).set_class(self.view.show_totals, "open")

    def action_step(self, delta: int) -> None:
        flt = self.query_one("#filter", Input)
        if flt.has_focus:
            # The arrows belong to the text box while it is being edited.
            (flt.action_cursor_left if delta < 0 else flt.action_cursor_right)()
            return
        self.action_go(self.position + delta)

    def action_go(self, index: int) -> None:
        n = self.provider.count()
        if not n:
            return
        index = max(0, min(n - 1, index))
        if index != self.position:
            self.position = index
            self.notice = None
            self.refresh_view()

    def action_go_first(self) -> None:
        flt = self.query_one("#filter", Input)
        if flt.has_focus:
            flt.action_home()
        else:
            self.action_go(0)

    def action_go_last(self) -> None:
        flt = self.query_one("#filter", Input)
        if flt.has_focus:
            flt.action_end()
        else:
            self.action_go(self.provider.count() - 1)

    def action_open_filter(self) -> None:
        flt = self.query_one("#filter", Input)
        flt.add_class("open")
        flt.focus()

    def action_close_filter(self) -> None:
        flt = self.query_one("#filter", Input)
        flt.remove_class("open")
        self.query_one(PoolTable).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.view.set_filter(event.value)
        self.action_close_filter()
        self.refresh_view()
