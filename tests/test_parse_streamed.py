"""`parse --format csv|json|parquet -o FILE` on one large log writes snapshots as they are read.

The file must be byte for byte what the whole parse writes, whether the streamed write holds
(snapshots in time order) or has to be redone (out of order, dates found day-first late,
owner evidence in the rows, --interval spacing that needs the snapshot count).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import invoke
from poolmon_helpers import SCREEN

from parsers import parse, parse_streamed, textio

pytest.importorskip("pyarrow")

MARKED = "".join(f"===== 2026-11-21 14:{m:02d}:00 =====\n" + SCREEN.replace("      461   147520",
                                                                          f"{461 + m:>9} {(461 + m) * 320:>8}")
                 for m in range(24))
LOGS = {
    "in order": MARKED,
    "no markers": SCREEN * 12,
    "out of order": MARKED + "===== 2026-11-21 13:00:00 =====\n" + SCREEN,
    "day-first date at the end": "".join(f"===== 11/12/2026 14:{m:02d}:00 =====\n" + SCREEN for m in range(12))
    + "===== 21/12/2026 14:00:00 =====\n" + SCREEN,
    "cut off mid-row": MARKED + "===== 2026-11-21 15:00:00 =====\n" + SCREEN[: SCREEN.index("Qrst") + 12],
    "mapped driver late": MARKED + "===== 2026-11-21 15:00:00 =====\n"
    + SCREEN.replace("(   640)    320\n", "(   640)    320 [abc.sys - Widget buffers]\n"),
}


def _outputs(tmp: Path, log: Path, stream: bool, monkeypatch: pytest.MonkeyPatch, *extra: str) -> dict[str, bytes]:
    # Small streaming thresholds stand in for a file of hundreds of megabytes.
    monkeypatch.setattr(textio, "STREAM_BYTES", 1024 if stream else 1 << 40)
    monkeypatch.setattr(textio, "CHUNK_CHARS", 700)
    out = {}
    for fmt in ("csv", "json", "parquet"):
        target = tmp / f"{log.stem}.{'streamed' if stream else 'whole'}.{fmt}"
        run = invoke(tmp, "parse", "--format", fmt, str(log), "-o", str(target), *extra)
        assert run.code == 0, run.err
        out[fmt] = target.read_bytes()
        out[fmt + " stderr"] = run.err.encode()
    return out


@pytest.mark.parametrize("name", LOGS)
def test_streamed_output_is_the_whole_parse_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   name: str) -> None:
    log = tmp_path / "poolmon.log"
    log.write_text(LOGS[name])
    extra = ("--interval", "1m") if name == "no markers" else ()
    whole = _outputs(tmp_path, log, False, monkeypatch, *extra)
    streamed = _outputs(tmp_path, log, True, monkeypatch, *extra)
    assert streamed == whole
    assert whole["csv"].count(b"\n") > 40 and whole["parquet"].startswith(b"PAR1")


def test_streamed_parse_says_when_it_differs_from_the_whole_parse(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textio, "STREAM_BYTES", 1024)
    monkeypatch.setattr(textio, "CHUNK_CHARS", 700)
    for name, interval, exact in [("in order", None, True), ("no markers", None, True),
                                  ("no markers", timedelta(minutes=1), False), ("out of order", None, False),
                                  ("day-first date at the end", None, False), ("cut off mid-row", None, True)]:
        log = tmp_path / "poolmon.log"
        log.write_text(LOGS[name])
        whole = parse([log], interval=interval)
        stream = parse_streamed([log], interval=interval)
        assert stream.streaming
        snaps = list(stream.snapshots)
        assert stream.exact is exact, name
        assert stream.warnings == whole.warnings
        assert [s.index for s in snaps] == sorted(s.index for s in whole.snapshots)
        if exact:
            assert [(s.index, s.timestamp, s.line, s.rows.tags) for s in snaps] == [
                (s.index, s.timestamp, s.line, s.rows.tags) for s in whole.snapshots]
    # Several inputs, or a small file read whole: the ordinary parse, handed over as it is.
    small = parse_streamed([tmp_path / "poolmon.log", tmp_path / "poolmon.log"])
    assert not small.streaming and small.exact and len(list(small.snapshots)) == 2 * len(whole.snapshots)
