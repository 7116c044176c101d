"""``poolscope show``'s screen: a :class:`ShowResult` laid out the way PoolMon draws it.

Header figures, a title with the scope and time, then ``Tag Type Allocs ( ) Frees ( ) Diff
Bytes ( ) Per Alloc`` and the owner.
"""

from __future__ import annotations

from analyzer.analysis.show import ShowResult, ShowRow
from analyzer.render.safe import terminal_text
from parsers.model import Snapshot

#: PoolMon's header figures, in its order: label on screen, totals key (KB).
_HEADER_FIGURES = (
    ("Memory", "memory_kb"),
    ("Avail", "avail_kb"),
    ("Commit", "commit_kb"),
    ("Limit", "commit_limit_kb"),
    ("Peak", "commit_peak_kb"),
    ("Pool N", "nonpaged_kb"),
    ("P", "paged_kb"),
)


# -- text layout ----------------------------------------------------------------------------------


def _num(v: int | None) -> str:
    return "-" if v is None else str(v)


def _chg(v: int | None) -> str:
    return "(-)" if v is None else f"({v})"


def header_line(snap: Snapshot) -> str | None:
    """PoolMon's header figures that the source carried, on one line (KB)."""
    parts = [f"{label}: {snap.totals[key]}K" for label, key in _HEADER_FIGURES if key in snap.totals]
    return "  ".join(parts) if parts else None


def scope_title(scope: str) -> str:
    if scope == "system":
        return "System pool information"
    if scope == "all-sessions":
        return "All sessions pool information"
    if scope.startswith("session:"):
        return f"Session {scope.split(':', 1)[1]} pool information"
    return f"{scope} pool information"


def title_line(res: ShowResult) -> str:
    snap = res.snapshot
    when = (
        f"{snap.timestamp.isoformat(sep=' ', timespec='seconds')} ({snap.time_origin.value})"
        if snap.timestamp
        else "time unknown"
    )
    return f"{scope_title(snap.scope)} - {when} - {snap.label}, snapshot {res.position + 1} of {res.count}"


def _layout(res: ShowResult) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, cell texts and right-alignment flags of the table."""
    change = res.has_change
    heads = ["Tag", "Type", "Allocs"]
    right = [False, False, True]
    if change:
        heads.append("( )")
        right.append(True)
    heads.append("Frees")
    right.append(True)
    if change:
        heads.append("( )")
        right.append(True)
    heads += ["Diff", "Bytes"]
    right += [True, True]
    if change:
        heads.append("( )")
        right.append(True)
    heads.append("Per Alloc")
    right.append(True)
    with_owner = any(r.owner for r in res.rows)
    if with_owner:
        heads.append("Owner")
        right.append(False)
    cells = []
    for r in res.rows:
        line = [terminal_text(r.tag), r.type, _num(r.allocs)]
        if change:
            line.append(_chg(r.allocs_change))
        line.append(_num(r.frees))
        if change:
            line.append(_chg(r.frees_change))
        line += [_num(r.diff), _num(r.bytes)]
        if change:
            line.append(_chg(r.bytes_change))
        line.append(_num(r.per_alloc))
        if with_owner:
            line.append(terminal_text(r.owner or ""))
        cells.append(line)
    return heads, cells, right


#: Narrowest owner column worth showing; below it the owner is left out.
_MIN_OWNER = 12


def _fit(heads: list[str], body: list[list[str]], right: list[bool], width: int | None = None) -> list[str]:
    """Aligned lines; with ``width``, the owner shortens and change columns go until a line fits.

    Tags and numbers are never cut: the ``( )`` columns of allocs, then frees, go first, then
    the owner shrinks (to an ellipsis) and finally goes, then the bytes change.
    """
    widths = [max([len(h)] + [len(row[i]) for row in body]) for i, h in enumerate(heads)]
    keep = list(range(len(heads)))
    owner = len(heads) - 1 if heads and heads[-1] == "Owner" else None
    changes = [i for i, h in enumerate(heads) if h == "( )"]
    # Drop order: allocs ( ), frees ( ), the owner, bytes ( ).
    drop = changes[:2] + ([owner] if owner is not None else []) + changes[2:]

    def used(cols: list[int]) -> int:
        return 1 + sum(widths[i] for i in cols) + 2 * (len(cols) - 1)

    if width is not None:
        while drop:
            over = used(keep) - width
            if over <= 0:
                break
            if owner in keep and widths[owner] - over >= _MIN_OWNER and drop[0] == owner:
                widths[owner] -= over
                break
            keep.remove(drop.pop(0))

    def cut(text: str, w: int) -> str:
        return text if len(text) <= w else text[: max(0, w - 1)] + "…"

    def line(cells: list[str]) -> str:
        parts = []
        for i in keep:
            c = cut(cells[i], widths[i]) if i == owner else cells[i]
            parts.append(c.rjust(widths[i]) if right[i] else c.ljust(widths[i]))
        return (" " + "  ".join(parts)).rstrip()

    return [line(heads), *(line(c) for c in body)]


def _row_colour(row: ShowRow) -> str | None:
    """PoolMon highlights rows that changed since the last refresh; growth is what leaks look like."""
    change = row.bytes_change
    if change is None:
        change = row.allocs_change - row.frees_change if None not in (row.allocs_change, row.frees_change) else None
    if not change:
        return None
    return "red" if change > 0 else "green"


def _wrap(text: str, width: int | None, sep: str = "  ") -> list[str]:
    """Header text on as few lines as ``width`` allows, broken between its ``sep``-separated parts."""
    if width is None or len(text) + 1 <= width:
        return [" " + text]
    lines: list[str] = []
    current = ""
    for part in text.split(sep):
        candidate = f"{current}{sep}{part}" if current else part
        if current and len(candidate) + 1 > width:
            lines.append(" " + current)
            current = part
        else:
            current = candidate
    lines.append(" " + current)
    return lines


def render_show(res: ShowResult, totals: bool = False, color: bool = False, width: int | None = None) -> str:
    """PoolMon-like text: header figures, title, table, optional per-pool totals and a footer.

    With ``color`` (a terminal without NO_COLOR), rows whose bytes grew since the previous
    refresh are red and rows that shrank are green, like PoolMon's highlighted changes.
    With ``width`` every line fits: header figures wrap, and the table sheds change columns
    and shortens the owner (tags and numbers are never cut).
    """
    out = []
    header = header_line(res.snapshot)
    if header:
        out.extend(_wrap(header, width))
    out.extend(_wrap(terminal_text(title_line(res)), width, " - "))
    heads, cells, right = _layout(res)
    table = _fit(heads, cells, right, width)
    out.append(table[0])
    out.append("")
    if color:
        import click

        for line, row in zip(table[1:], res.rows, strict=True):
            colour = _row_colour(row)
            out.append(click.style(line, fg=colour) if colour else line)
    else:
        out.extend(table[1:])
    if totals:
        out.append("")
        tot_rows = [
            [t.pool.capitalize(), str(t.rows), _num(t.allocs), _num(t.frees), _num(t.diff), _num(t.bytes)]
            for t in res.totals
        ]
        out.extend(_fit(["Totals", "Rows", "Allocs", "Frees", "Diff", "Bytes"], tot_rows,
                        [False, True, True, True, True, True]))
    shown = len(res.rows)
    note = f"{shown} of {res.matched} rows" if shown != res.matched else f"{shown} rows"
    if res.change_origin and res.change_origin != "source":
        note += f"; changes since {res.change_origin}"
    out.append("")
    out.append(f" {note}")
    return "\n".join(out) + "\n"
