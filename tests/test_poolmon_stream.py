"""Large files are read in chunks (streamed from disk); results match reading them whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from poolmon_helpers import SCREEN, messages

from parsers import parse, textio
from parsers.model import NUMERIC_COLUMNS
from parsers.textio import StreamedSource, read_inputs

MARKED = "".join(
    f"===== 2026-11-21 14:{m:02d}:00 =====\n"
    + SCREEN.replace("1520331 (  12)", f"{1520331 + m} (  12)").replace(
        "      461   147520", f"{461 + m:>9} {(461 + m) * 320:>8}"
    )
    for m in range(40)
)


def _same(a: list, b: list) -> None:  # type: ignore[type-arg]
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.index, x.timestamp, x.totals, x.scope, x.line, x.format) == (
            y.index,
            y.timestamp,
            y.totals,
            y.scope,
            y.line,
            y.format,
        )
        assert x.rows.tags == y.rows.tags
        for name in NUMERIC_COLUMNS:
            assert x.rows.column(name).tolist() == y.rows.column(name).tolist()


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("utf-8", "\n"), ("utf-8", "\r\n"), ("utf-8-sig", "\r\n"), ("utf-16", "\r\n"), ("cp1252", "\n")],
)
def test_streamed_file_in_small_chunks_matches_whole_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, newline: str
) -> None:
    path = tmp_path / "poolmon.log"
    path.write_bytes(MARKED.replace("\n", newline).encode(encoding))
    whole = parse([path])
    assert len(whole.snapshots) == 40
    monkeypatch.setattr(textio, "STREAM_BYTES", 1024)
    monkeypatch.setattr(textio, "CHUNK_CHARS", 700)  # frames straddle chunk ends
    source = next(iter(read_inputs([path])))
    assert isinstance(source, StreamedSource)
    streamed = parse([path])
    _same(streamed.snapshots, whole.snapshots)
    assert streamed.warnings == whole.warnings == []
    assert streamed.snapshots[3].rows.get("Abcd", "nonpaged").allocs == 1520334  # type: ignore[union-attr]


def test_streamed_head_does_not_read_the_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "poolmon.log"
    path.write_text(MARKED * 20)
    monkeypatch.setattr(textio, "STREAM_BYTES", 1024)
    source = next(iter(read_inputs([path])))
    assert isinstance(source, StreamedSource)
    assert source.head(100) == MARKED[:100]
    assert "_text" not in source.__dict__
    assert source.text == MARKED * 20


def test_streamed_log_cut_off_mid_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cut.log"
    text = MARKED + "===== 2026-11-21 15:00:00 =====\n" + SCREEN[: SCREEN.index("Qrst") + 12]
    path.write_text(text)
    monkeypatch.setattr(textio, "STREAM_BYTES", 1024)
    monkeypatch.setattr(textio, "CHUNK_CHARS", 500)
    result = parse([path])
    assert len(result.snapshots) == 40
    line = text.count("\n") + 1
    assert messages(result) == [
        f"{path}:{line}: input cut off mid-row at line {line}; its last snapshot (3 rows read) was dropped"
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_non_ascii_tags_and_drivers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str) -> None:
    text = MARKED.replace(" Io   Nonp", " Iö   Nonp").replace(
        "(   640)    320\n", "(   640)    320 [grafik.sys - Puffer für Überlagerung]\n"
    )
    path = tmp_path / "poolmon.log"
    path.write_bytes(text.encode(encoding))
    whole = parse([path])
    monkeypatch.setattr(textio, "STREAM_BYTES", 1024)
    monkeypatch.setattr(textio, "CHUNK_CHARS", 900)
    streamed = parse([path])
    _same(streamed.snapshots, whole.snapshots)
    snap = streamed.snapshots[5]
    assert snap.rows.get("Iö  ", "nonpaged") is not None
    assert snap.rows.get("Abcd", "nonpaged").mapped_driver == "[grafik.sys - Puffer für Überlagerung]"  # type: ignore[union-attr]
    assert streamed.warnings == []
