"""The PoolMon-like replay view driven through textual's pilot."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from report_helpers import leak_snapshots

from analyzer.render.tui import GrowingProvider, ListProvider, PoolMonApp, PoolView, TagPredicate
from analyzer.render.tui.app import GROW_STYLE, NEW_STYLE, row_style


def run(coro):
    return asyncio.run(coro)


def tags(app: PoolMonApp) -> list[tuple[str, str]]:
    return [(r.tag, r.pool) for r in app.displayed]


def table_tags(app: PoolMonApp) -> list[str]:
    from analyzer.render.tui.table import PoolTable

    return [r.tag for r, _ in app.query_one(PoolTable).visible()]


def test_keys_change_sort_pool_and_snapshot() -> None:
    async def scenario() -> None:
        app = PoolMonApp(ListProvider(leak_snapshots()), start=-1)
        async with app.run_test(size=(120, 40)) as pilot:
            assert app.position == 5
            # Default: bytes, largest first.
            assert tags(app)[0] == ("Abcd", "nonpaged")
            assert table_tags(app) == [t for t, _ in tags(app)]
            await pilot.press("t")
            assert [t for t, _ in tags(app)] == ["Abcd", "CM  ", "Io  ", "Late", "Qrst"]
            await pilot.press("t")  # same key again reverses, as in PoolMon
            assert [t for t, _ in tags(app)] == ["Qrst", "Late", "Io  ", "CM  ", "Abcd"]
            await pilot.press("a")
            assert tags(app)[0] == ("Io  ", "nonpaged")
            await pilot.press("f")
            assert tags(app)[0] == ("Io  ", "nonpaged")
            await pilot.press("d")
            assert tags(app)[0] == ("Abcd", "nonpaged")
            await pilot.press("m")
            assert tags(app)[0] == ("CM  ", "paged")
            await pilot.press("p")
            assert {p for _, p in tags(app)} == {"nonpaged"}
            await pilot.press("p")
            assert {p for _, p in tags(app)} == {"paged"}
            await pilot.press("p")
            assert {p for _, p in tags(app)} == {"nonpaged", "paged"}
            # ( sorts by the change column: between snapshots 5 and 6 Qrst shrank most, Abcd grew most.
            await pilot.press("b", "left_parenthesis")
            assert app.view.sort_column == "bytes_change"
            assert tags(app)[0] == ("Abcd", "nonpaged")
            assert tags(app)[-1] == ("Qrst", "paged")
            await pilot.press("left")
            assert app.position == 4
            await pilot.press("left", "left", "left", "left", "left")
            assert app.position == 0
            assert ("Late", "paged") not in tags(app)
            await pilot.press("right", "right")
            assert app.position == 2
            assert ("Late", "paged") in tags(app)
            await pilot.press("end")
            assert app.position == 5

    run(scenario())


def test_changed_rows_are_highlighted() -> None:
    async def scenario() -> None:
        app = PoolMonApp(ListProvider(leak_snapshots()), start=2)
        async with app.run_test(size=(120, 40)):
            by_key = {(r.tag, r.pool): r for r in app.displayed}
            assert by_key[("Late", "paged")].new
            assert by_key[("Abcd", "nonpaged")].bytes_change == 500 * 640
            assert by_key[("Io  ", "nonpaged")].bytes_change == 0
            assert by_key[("Io  ", "nonpaged")].changed  # allocs moved, bytes did not
            from analyzer.render.tui.table import PoolTable

            styles = {r.tag: style for r, style in app.query_one(PoolTable).visible()}
            assert styles["Abcd"] == GROW_STYLE
            assert styles["Late"] == NEW_STYLE
            status = str(app.query_one("#status").render())
            assert "snapshot #2 (3/6)" in status
            assert "changed: 5" in status

    run(scenario())


def test_filter_box_uses_poolmon_wildcards() -> None:
    async def scenario() -> None:
        app = PoolMonApp(ListProvider(leak_snapshots()), start=-1)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("slash")
            # Letters typed into the open box are text, not sort keys.
            await pilot.press(*"A?cd Q*", "enter")
            assert sorted(t for t, _ in tags(app)) == ["Abcd", "Qrst"]
            assert app.view.sort == "bytes"
            await pilot.press("slash", *["backspace"] * 7, *"/xA*", "enter")
            assert sorted(t for t, _ in tags(app)) == ["CM  ", "Io  ", "Late", "Qrst"]
            # Case-sensitive, like PoolMon.
            await pilot.press("slash", *["backspace"] * 4, *"abcd", "enter")
            assert tags(app) == []
            await pilot.press("slash", *["backspace"] * 4, "enter")
            assert len(tags(app)) == 5

    run(scenario())


def test_totals_and_quit() -> None:
    async def scenario() -> None:
        app = PoolMonApp(ListProvider(leak_snapshots()), start=-1)
        async with app.run_test(size=(120, 40)) as pilot:
            totals = app.query_one("#totals")
            assert not totals.display or "open" not in totals.classes
            await pilot.press("e")
            assert "open" in totals.classes
            text = str(totals.render())
            assert "Total Nonp" in text and "Total Paged" in text
            np_bytes = sum(r.bytes for r in app.displayed if r.pool == "nonpaged")
            assert f"bytes {np_bytes} " in text
            await pilot.press("q")
            await pilot.pause()
        assert app.return_code == 0 or app.return_code is None
        assert not app.is_running

    run(scenario())


def test_owner_column_and_live_provider_poll() -> None:
    snaps = leak_snapshots()
    provider = GrowingProvider(snaps[:2])

    async def scenario() -> None:
        app = PoolMonApp(
            provider, start=-1, owner=lambda tag: "abc.sys - requests" if tag == "Abcd" else None, poll_seconds=0.05
        )
        async with app.run_test(size=(120, 40)) as pilot:
            assert app.position == 1
            row = next(r for r in app.displayed if r.tag == "Abcd")
            assert row.owner == "abc.sys - requests"
            provider.append(snaps[2])
            await pilot.pause(0.3)
            assert app.position == 2  # following the newest snapshot
            assert ("Late", "paged") in tags(app)

    run(scenario())


def test_tag_predicate_and_view_without_textual() -> None:
    pred = TagPredicate("Ab* /xAbcz !Q?st")
    assert pred("Abcd") and not pred("Abcz") and not pred("Qrst") and not pred("Io  ")
    assert TagPredicate("CM")("CM  ")
    assert TagPredicate("[x]")("[x]  ") and not TagPredicate("[x]")("x   ")
    view = PoolView()
    snaps = leak_snapshots()
    rows = view.rows(snaps[1])  # no previous: the source's own change columns (none here)
    assert all(r.bytes_change is None for r in rows)
    rows = view.rows(snaps[1], snaps[0])
    assert {r.tag for r in rows if r.new} == set()


def test_replay_of_the_sample_log() -> None:
    from pathlib import Path

    from analyzer.render.tui.replay import replay_app
    from parsers import parse

    sample = Path(__file__).resolve().parent.parent / "samples" / "leak_appended.log"
    app = replay_app(parse([sample]), start="last", use_default_tags=False)

    async def scenario() -> None:
        async with app.run_test(size=(140, 50)) as pilot:
            assert app.position == 13
            await pilot.press("left_parenthesis")  # sort by the byte change since the previous frame
            changes = [r.bytes_change for r in app.displayed if r.bytes_change is not None]
            assert changes == sorted(changes, reverse=True) and changes[0] > 0
            wdrq = next(r for r in app.displayed if (r.tag, r.pool) == ("Wdrq", "nonpaged"))
            assert wdrq.bytes_change > 0 and row_style(wdrq) == GROW_STYLE
            assert wdrq.owner == "wdrfilt.sys - Widget filter request queue"  # from the log's Mapped_Driver column
            await pilot.press("home")
            assert app.position == 0
            assert not any(r.changed for r in app.displayed if r.bytes_change is None and not r.new)
            await pilot.press("q")

    run(scenario())


def test_replay_command_needs_a_terminal_and_checks_start() -> None:
    from click.testing import CliRunner

    from analyzer.cli import cli

    result = CliRunner().invoke(cli, ["replay", "samples/leak_appended.log"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: replay is interactive and needs a terminal; use `poolscope show` or `poolscope report` for a pipe "
        "or file"
    )
    bad = CliRunner().invoke(cli, ["replay", "--start", "x", "samples/leak_appended.log"])
    assert bad.exit_code == 2
    assert bad.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--start': not a snapshot: 'x' "
        "(use first, last, a number counted from 0, a time such as 2026-11-21T15:00, or a date (its first snapshot))"
    )


def test_replay_start_counts_like_show_and_the_json_index() -> None:
    import json
    from datetime import datetime

    import pytest
    from click.testing import CliRunner

    from analyzer.cli import cli
    from analyzer.render.tui.replay import start_index
    from parsers import parse
    from parsers.errors import InputError

    result = parse(["samples/leak_appended.log"])
    specs = ("first", "last", "LAST", "0", "1", 13, "-1", "-14")
    assert [start_index(result, s) for s in specs] == [0, 13, 13, 0, 1, 13, 13, 0]
    # the frame `show --snapshot 3` prints is the one replay --start 3 opens, and its JSON index is 3
    shown = CliRunner().invoke(cli, ["show", "--snapshot", "3", "--format", "json", "samples/leak_appended.log"])
    assert json.loads(shown.stdout)["index"] == 3 == start_index(result, "3")
    third = result.snapshots[3].timestamp
    assert start_index(result, datetime.fromisoformat(third.isoformat())) == 3
    for bad in ("14", "-15"):
        with pytest.raises(InputError, match=r"has 14 snapshots \(0\.\.13\); there is no snapshot #"):
            start_index(result, bad)

def test_table_draws_only_what_fits_and_scrolls() -> None:
    from analyzer.render.tui.table import PoolTable

    snaps = leak_snapshots(3)
    # Many tags: the window shows the top of the sorted list, PoolMon-style.
    from parsers.model import Row, RowTable

    many = [Row(f"T{i:03d}", "paged", allocs=i + 1, frees=0, outstanding=i + 1, bytes=(i + 1) * 64) for i in range(300)]
    snaps[-1].rows = RowTable.from_rows(list(snaps[-1].rows) + many)

    async def scenario() -> None:
        app = PoolMonApp(ListProvider(snaps), start=-1)
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.query_one(PoolTable)
            page = table.page_size()
            assert 10 < page < 30
            assert len(table.visible()) == page and len(app.displayed) == 305
            first = [r.tag for r, _ in table.visible()]
            assert first == [r.tag for r in app.displayed[:page]]
            await pilot.press("pagedown")
            assert [r.tag for r, _ in table.visible()] == [r.tag for r in app.displayed[page : 2 * page]]
            await pilot.press("up")
            assert table.first_row == page - 1
            await pilot.press(*["pagedown"] * 30)
            assert table.visible()[-1][0] is app.displayed[-1]  # stops at the last row

    run(scenario())


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.sampled_from(["t", "a", "f", "d", "b", "m", "(", "p"]), max_size=8),
    data=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 1), st.integers(0, 10_000), st.integers(0, 500)),
        min_size=1,
        max_size=40,
    ),
)
def test_view_sorts_and_filters_consistently(keys: list[str], data: list[tuple[int, int, int, int]]) -> None:
    """Any key sequence gives a permutation of the pool's rows, ordered by the chosen column."""
    from parsers.model import POOLS, Row, RowTable, Snapshot

    rows = {}
    for n, pool, nbytes, outstanding in data:
        rows[(f"T{n:03d}", POOLS[pool])] = Row(
            f"T{n:03d}", POOLS[pool], allocs=outstanding + 7, frees=7, outstanding=outstanding, bytes=nbytes
        )
    snap = Snapshot("s", 1, "poolmon", RowTable.from_rows(rows.values()))
    before = Snapshot("s", 0, "poolmon", RowTable.from_rows(list(rows.values())[::2]))
    view = PoolView()
    for k in keys:
        if k == "p":
            view.cycle_pool()
        elif k == "(":
            view.toggle_change_sort()
        else:
            view.press_sort(k)
    shown = view.rows(snap, before)
    expected = {key for key in rows if view.pool == "both" or key[1] == view.pool}
    assert sorted((r.tag, r.pool) for r in shown) == sorted(expected)
    col = view.sort_column
    if col == "tag":
        order = [(r.tag, r.pool) for r in shown]
        assert order == sorted(order, reverse=view.descending)
    else:
        values = [getattr(r, col) for r in shown if getattr(r, col) is not None]
        assert values == sorted(values, reverse=view.descending)
        # Unknown values (none here but per-alloc of empty rows) sort last.
        known = [getattr(r, col) is not None for r in shown]
        assert known == sorted(known, reverse=True)


def test_status_shows_the_row_window() -> None:
    from parsers.model import Row, RowTable

    snaps = leak_snapshots(2)
    many = [Row(f"T{i:03d}", "paged", allocs=i + 1, frees=0, outstanding=i + 1, bytes=(i + 1) * 64) for i in range(100)]
    snaps[-1].rows = RowTable.from_rows(list(snaps[-1].rows) + many)

    async def scenario() -> None:
        app = PoolMonApp(ListProvider(snaps), start=-1)
        async with app.run_test(size=(120, 30)) as pilot:
            from analyzer.render.tui.table import PoolTable

            page = app.query_one(PoolTable).page_size()
            await pilot.pause()
            assert f"rows 1-{page} of 104" in str(app.query_one("#status").render())
            await pilot.press("pagedown")
            await pilot.pause()
            assert f"rows {page + 1}-{2 * page} of 104" in str(app.query_one("#status").render())

    run(scenario())


def screen_lines(app: PoolMonApp) -> list[str]:
    """The table as drawn at the widget's width, as plain text lines."""
    import io

    from rich.console import Console

    from analyzer.render.tui.table import PoolTable

    table = app.query_one(PoolTable)
    console = Console(file=io.StringIO(), width=table.size.width, color_system=None, legacy_windows=False)
    console.print(table.render())
    return console.file.getvalue().splitlines()


def test_narrow_terminals_keep_whole_tags_and_numbers() -> None:
    """At 80, 100 and 120 columns every tag, type and number is drawn in full; the owner yields first."""
    from pathlib import Path

    from analyzer.render.tui.replay import replay_app
    from parsers import parse

    sample = Path(__file__).resolve().parent.parent / "samples" / "leak_appended.log"
    result = parse([sample])
    for width in (80, 100, 120):
        app = replay_app(result, start="last", use_default_tags=False)

        async def scenario(app: PoolMonApp = app, width: int = width) -> None:
            async with app.run_test(size=(width, 40)) as pilot:
                await pilot.pause()
                lines = screen_lines(app)
                assert all(len(line) <= width for line in lines), width
                head = lines[0].split()
                assert head[:3] == ["Tag", "Type", "Allocs"], (width, lines[0])
                assert "Bytes" in head and "Diff" in head
                drawn = lines[1:]
                for row, line in zip((r for r, _ in app.query_one("PoolTable").visible()), drawn, strict=False):
                    assert line.startswith(row.tag + " "), (width, line)
                    words = line[5:].split()
                    assert words[0] == {"nonpaged": "Nonp", "paged": "Paged"}[row.pool]
                    for value in (row.allocs, row.frees, row.diff, row.bytes):
                        assert str(value) in words, (width, value, line)
                    assert "…" not in line[:40]
                if width == 120:
                    # Room for the owner (shortened if need be) and the change columns.
                    assert "Owner" in lines[0] and lines[0].count("(+)") >= 2
                    assert any(line.rstrip().endswith("ntfs.sys - FCB_DATA") for line in drawn)
                if width == 80:
                    # The owner yields its width and the first change columns go; the numbers stay whole.
                    assert lines[0].count("(+)") < 4
                    assert any("…" in line for line in drawn)

        run(scenario())


def test_column_widths_do_not_jitter_between_refreshes() -> None:
    """A live view whose numbers shrink keeps its column widths (`top` must not jump)."""
    from analyzer.render.tui.table import PoolTable
    from parsers.model import Row, RowTable

    snaps = leak_snapshots(3)
    big = [Row("Huge", "nonpaged", allocs=9_876_543_210, frees=1, outstanding=9_876_543_209, bytes=98_765_432_100)]
    snaps[1].rows = RowTable.from_rows(list(snaps[1].rows) + big)
    provider = GrowingProvider(snaps[:2])

    async def scenario() -> None:
        app = PoolMonApp(provider, start=-1, poll_seconds=0.05)
        async with app.run_test(size=(120, 30)) as pilot:
            before = app.query_one(PoolTable).layout()
            header = screen_lines(app)[0]
            provider.append(snaps[2])  # "Huge" is gone: narrower numbers
            await pilot.pause(0.3)
            assert app.position == 2
            assert app.query_one(PoolTable).layout() == before
            assert screen_lines(app)[0] == header

    run(scenario())


def test_help_highlight_toggle_and_ctrl_c() -> None:
    async def scenario() -> None:
        from analyzer.render.tui.table import PoolTable

        app = PoolMonApp(ListProvider(leak_snapshots()), start=2)
        async with app.run_test(size=(80, 30)) as pilot:
            help_box = app.query_one("#help")
            assert "open" not in help_box.classes
            await pilot.press("question_mark")
            assert "open" in help_box.classes and help_box.display
            text = str(help_box.render())
            for key in ("highlighting", "Ctrl+C", "filter", "previous/next snapshot", "per alloc"):
                assert key in text
            await pilot.press("question_mark")
            assert "open" not in help_box.classes
            # PoolMon's l: highlighting off and on again.
            assert any(style for _, style in app.query_one(PoolTable).visible())
            await pilot.press("l")
            assert all(style == "" for _, style in app.query_one(PoolTable).visible())
            await pilot.press("l")
            assert any(style for _, style in app.query_one(PoolTable).visible())
            # The status speaks in column headings, not field names.
            await pilot.press("left_parenthesis")
            status = str(app.query_one("#status").render())
            assert "sort: Bytes change, largest first" in status and "bytes_change" not in status
            # The footer at 80 columns: the keys a newcomer needs, none of them cut.
            footer_keys = [k for k, b in app.active_bindings.items() if b.binding.show]
            assert "question_mark" in footer_keys and "q" in footer_keys and len(footer_keys) <= 8
            await pilot.press("ctrl+c")
            await pilot.pause()
        assert not app.is_running

    run(scenario())
