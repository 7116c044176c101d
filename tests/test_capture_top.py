"""``top``'s live provider, and the PoolMon-like view following it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from capture_helpers import slabinfo_readable
from click.testing import CliRunner

from analyzer.cli import cli
from analyzer.live.capture.live import LiveProvider, live_app
from analyzer.render.tui import SnapshotProvider
from parsers import PoolscopeError, Row, RowTable, Snapshot, parse

T0 = datetime(2026, 11, 21, 14, 0, tzinfo=timezone.utc)


class Machine:
    """A pretend machine whose Abcd tag grows by 640 bytes per snapshot."""

    def __init__(self) -> None:
        self.n = 0
        self.now = 0.0
        self.fail = False

    def take(self) -> Snapshot:
        if self.fail:
            raise PoolscopeError("NtQuerySystemInformation(class 22) returned 0xC0000022: access denied")
        i = self.n
        self.n += 1
        rows = RowTable.from_rows([
            Row("Abcd", "nonpaged", allocs=100 + i, frees=90, outstanding=10 + i, bytes=6400 + 640 * i),
            Row("Io  ", "paged", allocs=50, frees=40, outstanding=10, bytes=1280),
        ])
        return Snapshot("live:pretend", 0, "capture", rows, timestamp=T0 + timedelta(seconds=i),
                        extra={"host": "pretend"})

    def clock(self) -> float:
        return self.now


def test_provider_takes_a_snapshot_when_due() -> None:
    m = Machine()
    p = LiveProvider(2.0, take=m.take, clock=m.clock)
    assert isinstance(p, SnapshotProvider)
    assert p.count() == 1  # the first one is taken up front
    m.now = 1.9
    assert p.poll() is False
    m.now = 2.0
    assert p.poll() is True
    assert p.count() == 2
    assert [p.get(i).index for i in range(2)] == [0, 1]
    m.now = 9.5  # a long stall: one snapshot, not a burst of missed ones
    assert p.poll() is True
    assert p.poll() is False
    assert p.count() == 3


def test_provider_keeps_a_bounded_window() -> None:
    m = Machine()
    p = LiveProvider(1.0, take=m.take, clock=m.clock, keep=3)
    for t in range(1, 6):
        m.now = float(t)
        p.poll()
    assert p.count() == 3
    assert p.taken == 6
    assert [p.get(i).index for i in range(3)] == [3, 4, 5]


def test_provider_survives_a_failing_refresh() -> None:
    m = Machine()
    p = LiveProvider(1.0, take=m.take, clock=m.clock)
    m.fail = True
    m.now = 1.0
    assert p.poll() is False
    assert p.last_error is not None and "access denied" in p.last_error
    m.fail = False
    m.now = 2.0
    assert p.poll() is True
    assert p.last_error is None


def test_provider_fails_before_the_screen_when_capture_cannot_work() -> None:
    m = Machine()
    m.fail = True
    with pytest.raises(PoolscopeError, match="access denied"):
        LiveProvider(1.0, take=m.take, clock=m.clock)


def test_provider_can_record_while_watching(tmp_path: Path) -> None:
    m = Machine()
    log = tmp_path / "top.pslog"
    p = LiveProvider(1.0, take=m.take, clock=m.clock, output=log)
    m.now = 1.0
    p.poll()
    p.close()
    snaps = parse([log]).snapshots
    assert [s.rows.get("Abcd", "nonpaged").bytes for s in snaps] == [6400, 7040]


def test_view_follows_the_newest_live_snapshot() -> None:
    m = Machine()

    async def scenario() -> None:
        app = live_app(0.05, take=m.take)
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause(0.6)
            n = app.provider.count()
            assert n >= 3
            assert app.position == n - 1
            row = next(r for r in app.displayed if r.tag == "Abcd")
            assert row.bytes == app.provider.get(n - 1).rows.get("Abcd", "nonpaged").bytes
            assert row.changed
            await pilot.press("left")  # look back: the view stops following
            pos = app.position
            await pilot.pause(0.3)
            assert app.position == pos
            await pilot.press("q")
        app.provider.close()

    asyncio.run(scenario())


def test_top_needs_a_terminal() -> None:
    res = CliRunner().invoke(cli, ["top"])
    assert res.exit_code == 2
    assert "top is interactive and needs a terminal" in res.output


readable, why = slabinfo_readable()


@pytest.mark.linux_kernel
@pytest.mark.skipif(not readable, reason=why)
def test_view_over_this_machine() -> None:
    async def scenario() -> None:
        app = live_app(0.2)
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause(0.5)
            assert app.provider.count() >= 2
            assert len(app.displayed) > 20
            assert any(r.tag == "kmem_cache" for r in app.displayed)
            await pilot.press("q")
        app.provider.close()

    asyncio.run(scenario())


def test_view_says_why_it_stopped_moving() -> None:
    m = Machine()

    async def scenario() -> None:
        app = live_app(0.05, take=m.take)
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause(0.3)
            m.fail = True
            await pilot.pause(0.3)
            status = str(app.query_one("#status").render())
            assert "refresh failed: NtQuerySystemInformation(class 22) returned 0xC0000022: access denied" in status
            m.fail = False
            await pilot.pause(0.3)
            assert "refresh failed" not in str(app.query_one("#status").render())
            await pilot.press("q")
        app.provider.close()

    asyncio.run(scenario())
