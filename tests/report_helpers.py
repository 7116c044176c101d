"""Snapshots built in code for the report and replay tests (no parser needed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from parsers.model import Row, RowTable, Snapshot, TimeOrigin

START = datetime(2026, 11, 21, 14, 0, 0)


def qrst(i: int) -> int:
    """Outstanding allocations of a tag that fills up, then gives everything back."""
    return 200 * min(i, 3) - 200 * min(max(0, i - 2), 3)


def leak_snapshots(
    n: int = 6, step: timedelta = timedelta(minutes=30), source: str = "leak.log", leak_tag: str = "Abcd"
) -> list[Snapshot]:
    """A steady leak in ``leak_tag`` (nonpaged), a stable tag, one that recovers, one that appears later."""
    snaps = []
    for i in range(n):
        rows = [
            Row(
                leak_tag,
                "nonpaged",
                allocs=1000 + 900 * i,
                frees=1000 + 400 * i,
                outstanding=500 * i + 10,
                bytes=(500 * i + 10) * 640,
            ),
            Row("Io  ", "nonpaged", allocs=8000 + 50 * i, frees=7900 + 50 * i, outstanding=100, bytes=32000),
            Row(
                "CM  ",
                "paged",
                allocs=500 + 10 * i,
                frees=400 + 10 * i + (5 if i == n - 1 else 0),
                outstanding=100 - (5 if i == n - 1 else 0),
                bytes=(100 - (5 if i == n - 1 else 0)) * 1024,
            ),
            Row(
                "Qrst",
                "paged",
                allocs=300 + 200 * min(i, 3),
                frees=300 + 200 * min(max(0, i - 2), 3),
                outstanding=qrst(i),
                bytes=qrst(i) * 128,
            ),
        ]
        if i >= 2:
            rows.append(Row("Late", "paged", allocs=10 * i, frees=0, outstanding=10 * i, bytes=4096 * i))
        table = RowTable.from_rows(rows)
        np_kb = sum(r.bytes for r in rows if r.pool == "nonpaged") // 1024 + 200000
        p_kb = sum(r.bytes for r in rows if r.pool == "paged") // 1024 + 300000
        snaps.append(
            Snapshot(
                source,
                i,
                "poolmon",
                table,
                START + step * i,
                TimeOrigin.MARKER,
                totals={"nonpaged_kb": np_kb, "paged_kb": p_kb},
                line=1 + 20 * i,
            )
        )
    return snaps


def poolmon_log(snaps: list[Snapshot]) -> str:
    """Render snapshots as a PoolMon ``/b`` log with ``=====`` time banners."""
    out = []
    for s in snaps:
        out.append(f"===== {s.timestamp:%Y-%m-%d %H:%M:%S} =====")
        out.append(" Memory: 8388020K Avail: 3125332K  PageFlts:   412   InRam Krnl: 5124K P:61312K")
        out.append(
            f" Commit:4411208K Limit:9830400K Peak:5120332K            "
            f"Pool N:{s.totals['nonpaged_kb']}K P:{s.totals['paged_kb']}K"
        )
        out.append(" System pool information")
        out.append(" Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc")
        out.append("")
        for r in s.rows:
            typ = "Nonp " if r.pool == "nonpaged" else "Paged"
            per = r.bytes // r.outstanding if r.outstanding else 0
            out.append(
                f" {r.tag:4} {typ} {r.allocs:11d} (   0) {r.frees:11d} (   0) {r.outstanding:8d} "
                f"{r.bytes:9d} (     0) {per:6d}"
            )
        out.append("")
    return "\n".join(out) + "\n"


HOSTILE_TAG = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=window.__pwned=1>'
HOSTILE_FILE = 'run<b onmouseover="x()">1</b>.log'


def leak_result(n: int = 10):
    """A ParseResult over :func:`leak_snapshots`, as if read from one PoolMon log."""
    from parsers import ParseResult, SourceInfo

    snaps = leak_snapshots(n)
    return ParseResult(snaps, [], [SourceInfo("leak.log", "poolmon", "utf-8", len(snaps))])


def hostile_result(tmp_path):
    """Snapshots whose tags, file name, warning and pooltag descriptions carry markup; and the tag file."""
    from parsers import ParseResult, SourceInfo
    from parsers.errors import ParseWarning

    snaps = leak_snapshots(10, source=HOSTILE_FILE, leak_tag=HOSTILE_TAG)
    for s in snaps:
        s.extra["descriptions"] = {HOSTILE_TAG: HOSTILE_ATTR}
    tag_file = tmp_path / "pooltag.txt"
    tag_file.write_text(
        f"Late - evil{HOSTILE_ATTR}.sys - {HOSTILE_TAG} [x](javascript:alert(1)) *bold* | pipe @someone #12\n",
        encoding="utf-8",
    )
    warning = ParseWarning(HOSTILE_FILE, 3, f"could not read {HOSTILE_TAG}")
    return ParseResult(snaps, [warning], [SourceInfo(HOSTILE_FILE, "poolmon", "utf-8", len(snaps))]), tag_file
