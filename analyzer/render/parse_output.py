"""What ``poolscope parse`` prints: the JSON contract, one CSV line per row, or a summary table.

Kept apart from the click command so scripts can produce the same output from a
:class:`parsers.ParseResult` they already hold.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from analyzer.render.safe import csv_text
from analyzer.render.tables import Column, json_default, render_table
from analyzer.units import format_size
from parsers import Candidates, ParseResult, ParseWarning, Snapshot, StreamedParse, owner_map
from parsers.model import MISSING, NUMERIC_COLUMNS, RowTable

Owners = Callable[[str], str | None]

#: CSV columns: where the row came from, then the row in contract order.
CSV_COLUMNS: tuple[str, ...] = (
    "source",
    "index",
    "timestamp",
    "time_origin",
    "scope",
    "format",
    "tag",
    "pool",
    *NUMERIC_COLUMNS,
    "per_alloc",
    "mapped_driver",
    "owner",
)


def to_json(result: ParseResult, owners: Owners | None = None, candidates: Candidates | None = None) -> str:
    """The contract as text: equal to ``json.dumps(result.to_dict(owners, candidates))`` once loaded."""
    return "".join(iter_json(result, owners, candidates))


def iter_json(result: ParseResult, owners: Owners | None = None,
              candidates: Candidates | None = None) -> Iterator[str]:
    """:func:`to_json` in pieces, one snapshot at a time, so a large log never sits in memory twice.

    Rows are written one per line with the C encoder's compact separators: indenting every
    row field by field costs ten times the parse on a large log and helps no reader.  Pass an
    owner resolver as ``owners`` and the top-level ``owners`` object lists each tag's
    candidates (``candidates`` defaults to ``owners.candidates``), one tag per line.
    """
    if candidates is None:
        candidates = getattr(owners, "candidates", None)
    # tag -> (tag as JSON, owner as JSON): a log repeats the same tags in every snapshot.
    seen: dict[str, tuple[str, str]] = {}
    yield '{\n  "snapshots": ['
    first = True
    for chunk in snapshot_chunks(result.snapshots):
        rows_text = _arrow_json_rows(chunk, owners, seen) if _arrow() is not None else None
        parts = []
        for j, snap in enumerate(chunk):
            rows = rows_text[j] if rows_text is not None else None
            parts.append(("\n" if first else ",\n") + "    " + _snapshot_json(snap, owners, seen, rows))
            first = False
        yield "".join(parts)
    yield "]" if first else "\n  ]"
    warnings = [json.dumps(w.to_dict(), ensure_ascii=False) for w in result.warnings]
    yield ',\n  "warnings": ' + _json_list(warnings, "    ", "  ")
    # `seen` holds every tag written, so no second pass over the rows.
    found = owner_map(seen, candidates)
    entries = [f"{json.dumps(t, ensure_ascii=False)}: {json.dumps(c, ensure_ascii=False)}" for t, c in found.items()]
    yield ',\n  "owners": ' + (("{\n" + ",\n".join("    " + e for e in entries) + "\n  }") if entries else "{}")
    yield "\n}\n"


def _json_list(items: list[str], inner: str, outer: str) -> str:
    if not items:
        return "[]"
    return "[\n" + ",\n".join(inner + item for item in items) + "\n" + outer + "]"


def _snapshot_json(snap: Snapshot, owners: Owners | None, seen: dict[str, tuple[str, str]],
                   rows_text: str | None = None) -> str:
    # The header fields come from the model's own to_dict, so the contract has one definition.
    head = dataclasses.replace(snap, rows=RowTable.empty()).to_dict()
    text = json.dumps(head, indent=2, ensure_ascii=False, default=json_default)
    tail = '"rows": []\n}'
    assert text.endswith(tail)
    text = text[: -len(tail)].replace("\n", "\n    ")
    if rows_text is None:
        rows_json = _json_list(_row_lines(snap, owners, seen), "        ", "      ")
    else:
        rows_json = "[\n" + rows_text + "\n      ]" if rows_text else "[]"
    return text + '"rows": ' + rows_json + "\n    }"


def _numbers(col: np.ndarray, missing: str = "null") -> list[str]:
    unknown = np.flatnonzero(col == MISSING)
    if len(unknown) == len(col):
        return [missing] * len(col)  # a column the format never carries
    out = list(map(str, col.tolist()))
    for i in unknown.tolist():
        out[i] = missing
    return out


def _row_lines(snap: Snapshot, owners: Owners | None, seen: dict[str, tuple[str, str]]) -> list[str]:
    rows = snap.rows
    if not len(rows):
        return []
    for tag in set(rows.tags).difference(seen):
        owner = owners(tag) if owners is not None else None
        seen[tag] = (json.dumps(tag, ensure_ascii=False), json.dumps(owner, ensure_ascii=False))
    pool_json = ['"nonpaged"', '"paged"']
    return [
        f'{{"tag": {seen[t][0]}, "pool": {pool_json[p]}, "allocs": {a}, "frees": {f}, '
        f'"outstanding": {o}, "bytes": {b}, "owner": {seen[t][1]}}}'
        for t, p, a, f, o, b in zip(
            rows.tags,
            rows.pool_codes.tolist(),
            _numbers(rows.column("allocs")),
            _numbers(rows.column("frees")),
            _numbers(rows.column("outstanding")),
            _numbers(rows.column("bytes")),
            strict=True,
        )
    ]


def to_csv(result: ParseResult, owners: Owners | None = None) -> str:
    """One line per row of every snapshot; empty cells where the source is silent."""
    return "".join(iter_csv(result, owners))


def iter_csv(result: ParseResult, owners: Owners | None = None) -> Iterator[str]:
    """:func:`to_csv` in pieces, one snapshot at a time.

    Lines are assembled from per-column strings (text fields quoted once per distinct value,
    as csv's QUOTE_MINIMAL would): the csv writer's per-cell cost dominates on large logs.
    """
    if _arrow() is not None:
        for piece in iter_csv_bytes(result, owners):
            yield str(piece, "utf-8")
        return
    yield ",".join(CSV_COLUMNS) + "\n"
    quoted: dict[str | None, str] = {None: ""}
    owner_cells: dict[str, str] = {}
    for snap in result.snapshots:
        lines = _csv_lines(snap, owners, quoted, owner_cells)
        if lines:
            yield "\n".join(lines) + "\n"


def iter_csv_bytes(result: ParseResult, owners: Owners | None = None) -> Iterator[bytes | memoryview]:
    """:func:`iter_csv` as UTF-8 bytes: a file gets Arrow's buffers without a round trip through str."""
    if _arrow() is None:
        for piece in iter_csv(result, owners):
            yield piece.encode("utf-8")
        return
    yield (",".join(CSV_COLUMNS) + "\n").encode("utf-8")
    cells = _TagCells(owners)
    quoted: dict[str | None, str] = {None: ""}
    for chunk in snapshot_chunks(result.snapshots):
        data = _arrow_csv_lines(chunk, cells, quoted)
        if len(data):
            yield data


class _Watched:
    """The snapshots of a streamed parse, noting any that a whole parse would treat differently.

    The owner resolver of a whole parse also reads the inputs' own owner evidence (Mapped_Driver
    cells, ``!poolused`` descriptions) and the Parquet writer their host metadata; a streamed
    write starts before all snapshots are read, so it holds only for inputs without either.
    """

    def __init__(self, stream: StreamedParse) -> None:
        self.stream = stream
        self.plain = True

    @property
    def snapshots(self) -> Iterator[Snapshot]:
        for snap in self.stream.snapshots:
            extra = snap.extra
            if snap.rows.mapped_driver is not None or any(k in extra for k in _EVIDENCE_KEYS):
                self.plain = False
            yield snap

    @property
    def warnings(self) -> list[ParseWarning]:
        return self.stream.warnings  # complete once the snapshots have been read


#: Snapshot extras that feed owners (``descriptions``) or the Parquet host fields.
_EVIDENCE_KEYS = ("descriptions", "host", "os", "drivers")


def write_streamed(stream: StreamedParse, output_format: str, out: Any, owners: Any) -> bool:
    """Write ``csv`` (bytes), ``json`` (text) or ``parquet`` from a streamed parse to the file ``out``.

    ``owners`` is the resolver built without the inputs' evidence.  Returns False when the file
    is not what the whole path writes (the stream was not exact, or an input carried owner
    evidence or host metadata): the caller then writes it again from :func:`parsers.parse`.
    """
    watched = _Watched(stream)
    if output_format == "csv":
        for data in iter_csv_bytes(watched, owners.best):  # type: ignore[arg-type]
            out.write(data)
    elif output_format == "json":
        for piece in iter_json(watched, owners):  # type: ignore[arg-type]
            out.write(piece)
    else:
        from analyzer.render.dataset import HostInfo, write_parquet_rows

        write_parquet_rows(watched.snapshots, out, owners, HostInfo())
    return stream.exact and watched.plain


def _csv_text(value: str) -> str:
    return csv_text(value)  # formula guard and quoting: analyzer.render.safe


def _csv_lines(snap: Snapshot, owners: Owners | None, quoted: dict[str | None, str],
               owner_cells: dict[str, str]) -> list[str]:
    rows = snap.rows
    if not len(rows):
        return []
    for tag in set(rows.tags).difference(owner_cells):
        owner = owners(tag) if owners is not None else None
        owner_cells[tag] = _csv_text(owner) if owner else ""
    for text in set(rows.tags).difference(quoted):
        quoted[text] = _csv_text(text)
    out = rows.column("outstanding")
    nbytes = rows.column("bytes")
    defined = (out != MISSING) & (out != 0) & (nbytes != MISSING)
    per = np.where(defined, nbytes // np.where(defined, out, 1), MISSING)
    head = _csv_head(snap)
    if rows.mapped_driver is not None:
        for text in set(rows.mapped_driver).difference(quoted):
            quoted[text] = _csv_text(text)  # type: ignore[arg-type]
        drivers = [quoted[d] for d in rows.mapped_driver]
    else:
        drivers = [""] * len(rows)
    numbers = [_numbers(rows.column(name), "") for name in (
        "allocs", "frees", "outstanding", "bytes", "allocs_change", "frees_change", "bytes_change")]
    pools = ["nonpaged", "paged"]
    return [
        f"{head},{quoted[t]},{pools[p]},{a},{f},{o},{b},{ac},{fc},{bc},{pa},{d},{owner_cells[t]}"
        for t, p, a, f, o, b, ac, fc, bc, pa, d in zip(
            rows.tags, rows.pool_codes.tolist(), *numbers, _numbers(per, ""), drivers, strict=True)
    ]


def _csv_head(snap: Snapshot) -> str:
    return ",".join(_csv_text(str(v)) for v in (
        snap.source, snap.index, snap.timestamp.isoformat() if snap.timestamp else "",
        snap.time_origin.value, snap.scope, snap.format))


# -- the columnar writers ---------------------------------------------------------------------
# With pyarrow installed (the `fleet` extra), rows are formatted a chunk of snapshots at a time
# by Arrow's vectorised kernels: numbers cast to text, text cells quoted once per distinct
# value, cells joined element-wise, and the joined lines taken straight from the result's
# data buffer.  The output is byte for byte what the per-row code above writes (a test checks
# it on every sample); memory is bounded by the chunk, not the log.

#: Rows formatted per Arrow call: large enough to amortise the calls, small enough to stay cache-friendly.
CHUNK_ROWS = 1 << 16

_ARROW: list[Any] = []


def _arrow() -> Any:
    """pyarrow.compute when it can be imported (cached), else None."""
    if not _ARROW:
        try:
            import pyarrow.compute as pc
        except ImportError:  # the plain writers above do the same job, slower
            pc = None
        _ARROW.append(pc)
    return _ARROW[0]


def snapshot_chunks(snapshots: Iterable[Snapshot], rows: int | None = None) -> Iterator[list[Snapshot]]:
    """Consecutive snapshots grouped until a group holds ``rows`` rows (default CHUNK_ROWS): bounded memory."""
    rows = rows or CHUNK_ROWS
    chunk: list[Snapshot] = []
    count = 0
    for snap in snapshots:
        chunk.append(snap)
        count += len(snap.rows)
        if count >= rows:
            yield chunk
            chunk, count = [], 0
    if chunk:
        yield chunk


def _concat(chunk: list[Snapshot], name: str) -> np.ndarray:
    return np.concatenate([s.rows.column(name) for s in chunk]) if chunk else np.zeros(0, np.int64)


def _number_text(col: np.ndarray, missing: str) -> Any:
    import pyarrow as pa

    unknown = col == MISSING
    return pa.array(col, mask=unknown if unknown.any() else None).cast(pa.string()).fill_null(missing)


def _lookup(values: list[Any], cells: dict[Any, str], make: Callable[[Any], str]) -> Any:
    """Arrow strings of ``make(value)`` for each value, computed once per distinct value."""
    import pyarrow as pa

    encoded = pa.array(values, type=pa.string()).dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    for value in distinct:
        if value not in cells:
            cells[value] = make(value)
    texts = pa.array([cells[v] for v in distinct], type=pa.string())
    indices = encoded.indices
    if indices.null_count:
        texts = pa.concat_arrays([texts, pa.array([cells[None]], type=pa.string())])
        indices = indices.fill_null(len(distinct))
    return texts.take(indices)


def _repeat(texts: list[str], counts: list[int]) -> Any:
    import pyarrow as pa

    return pa.array(texts, type=pa.string()).take(pa.array(np.repeat(np.arange(len(texts)), counts)))


def _buffer_bytes(lines: Any) -> tuple[memoryview, np.ndarray]:
    """The concatenated UTF-8 of a string array (no copy), and each element's end offset in it."""
    buffers = lines.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[lines.offset: lines.offset + len(lines) + 1]
    start = int(offsets[0])
    return memoryview(buffers[2])[start: int(offsets[-1])], offsets[1:] - start


def _tags_and_drivers(chunk: list[Snapshot]) -> tuple[list[str], list[str | None]]:
    tags: list[str] = []
    drivers: list[str | None] = []
    for snap in chunk:
        tags.extend(snap.rows.tags)
        mapped = snap.rows.mapped_driver
        drivers.extend(mapped if mapped is not None else [None] * len(snap.rows))
    return tags, drivers


class _TagCells:
    """Per-tag CSV cells for a whole run: each tag's id, its quoted tag cell and its owner cell.

    Tags map to ids through one dict lookup per row, and the cells are Arrow arrays taken by
    id, so a tag's text is quoted and its owner resolved once per run, not once per chunk.
    The owner cell carries the line end; a second form of it starts with the empty
    Mapped_Driver cell, for the (usual) chunks that have no driver text at all.
    """

    def __init__(self, owners: Owners | None) -> None:
        self.owners = owners
        self.ids: dict[str, int] = {}
        self.cells: tuple[list[str], list[str], list[str]] = ([], [], [])
        self.arrays: tuple[Any, Any, Any] | None = None

    def _add(self, tags: Iterable[str]) -> None:
        tag_cells, owner_cells, no_driver_cells = self.cells
        for tag in tags:
            self.ids[tag] = len(tag_cells)
            owner = self.owners(tag) if self.owners is not None else None
            owner_cell = (_csv_text(owner) if owner else "") + "\n"
            tag_cells.append(_csv_text(tag))
            owner_cells.append(owner_cell)
            no_driver_cells.append("," + owner_cell)
        self.arrays = None

    def take(self, tags: list[str]) -> tuple[Any, Any, Any]:
        """(tag cells, owner cells, empty driver + owner cells) of ``tags``, row by row."""
        import pyarrow as pa

        try:
            ids = np.fromiter(map(self.ids.__getitem__, tags), dtype=np.int32, count=len(tags))
        except KeyError:
            self._add(set(tags).difference(self.ids))
            ids = np.fromiter(map(self.ids.__getitem__, tags), dtype=np.int32, count=len(tags))
        if self.arrays is None:
            self.arrays = tuple(pa.array(c, type=pa.string()) for c in self.cells)  # type: ignore[assignment]
        assert self.arrays is not None
        index = pa.array(ids)
        return tuple(a.take(index) for a in self.arrays)  # type: ignore[return-value]


def _arrow_csv_lines(chunk: list[Snapshot], cells: _TagCells, quoted: dict[str | None, str]) -> memoryview:
    """The CSV lines of a chunk's rows as UTF-8 (a view of Arrow's buffer, no copy)."""
    import pyarrow as pa

    pc = _arrow()
    counts = [len(s.rows) for s in chunk]
    if not sum(counts):
        return memoryview(b"")
    tags, drivers = _tags_and_drivers(chunk)
    tag_cells, owner_cells, no_driver_cells = cells.take(tags)
    out = _concat(chunk, "outstanding")
    nbytes = _concat(chunk, "bytes")
    defined = (out != MISSING) & (out != 0) & (nbytes != MISSING)
    per = np.where(defined, nbytes // np.where(defined, out, 1), MISSING)
    pools = pa.array(["nonpaged", "paged"]).take(pa.array(np.concatenate([s.rows.pool_codes for s in chunk])))
    columns = [
        _repeat([_csv_head(s) for s in chunk], counts),
        tag_cells,
        pools,
        *(_number_text(_concat(chunk, name), "") for name in (
            "allocs", "frees", "outstanding", "bytes", "allocs_change", "frees_change", "bytes_change")),
        _number_text(per, ""),
    ]
    if any(s.rows.mapped_driver is not None for s in chunk):
        columns += [_lookup(drivers, quoted, _csv_text), owner_cells]
    else:
        columns.append(no_driver_cells)
    # One join: the owner cell already ends the line.
    return _buffer_bytes(pc.binary_join_element_wise(*columns, ","))[0]


def _arrow_json_rows(chunk: list[Snapshot], owners: Owners | None,
                     seen: dict[str, tuple[str, str]]) -> list[str]:
    """Each snapshot's rows as the contract writes them (one per line, indented), or "" for none."""
    pc = _arrow()
    counts = [len(s.rows) for s in chunk]
    if not sum(counts):
        return [""] * len(chunk)
    tags, _ = _tags_and_drivers(chunk)
    for tag in set(tags).difference(seen):
        owner = owners(tag) if owners is not None else None
        seen[tag] = (json.dumps(tag, ensure_ascii=False), json.dumps(owner, ensure_ascii=False))
    tag_json = {t: v[0] for t, v in seen.items()}
    owner_json = {t: v[1] for t, v in seen.items()}
    import pyarrow as pa

    pools = pa.array(['"nonpaged"', '"paged"']).take(pa.array(np.concatenate([s.rows.pool_codes for s in chunk])))
    pieces = [
        '        {"tag": ', _lookup(tags, tag_json, tag_json.__getitem__),  # type: ignore[arg-type]
        ', "pool": ', pools,
        ', "allocs": ', _number_text(_concat(chunk, "allocs"), "null"),
        ', "frees": ', _number_text(_concat(chunk, "frees"), "null"),
        ', "outstanding": ', _number_text(_concat(chunk, "outstanding"), "null"),
        ', "bytes": ', _number_text(_concat(chunk, "bytes"), "null"),
        ', "owner": ', _lookup(tags, owner_json, owner_json.__getitem__),  # type: ignore[arg-type]
        "},\n",
    ]
    data, ends = _buffer_bytes(pc.binary_join_element_wise(*pieces, ""))
    out = []
    start = 0
    pos = 0
    for n in counts:
        if not n:
            out.append("")
            continue
        pos += n
        end = int(ends[pos - 1])
        out.append(str(data[start: end - 2], "utf-8"))  # without the last row's ",\n"
        start = end
    return out


SUMMARY_COLUMNS = (
    Column("index", "#", numeric=True),
    Column("source", "Source"),
    Column("timestamp", "Timestamp"),
    Column("time_origin", "From"),
    Column("scope", "Scope"),
    Column("format", "Format"),
    Column("rows", "Rows", numeric=True),
    Column("nonpaged", "Nonpaged", numeric=True, fmt=format_size),
    Column("paged", "Paged", numeric=True, fmt=format_size),
)


def summary_rows(result: ParseResult) -> list[dict[str, Any]]:
    """One line per snapshot: where it came from, when, and how much each pool holds in its rows."""
    out = []
    for pos, snap in enumerate(result.snapshots):
        nbytes = snap.rows.column("bytes")
        known = nbytes != MISSING
        pools = snap.rows.pool_codes
        out.append(
            {
                "index": pos,
                "source": snap.label if len(result.sources) > 1 else snap.source,
                "timestamp": f"{snap.timestamp:%Y-%m-%d %H:%M:%S}" if snap.timestamp else "-",
                "time_origin": snap.time_origin.value,
                "scope": snap.scope,
                "format": snap.format,
                "rows": len(snap.rows),
                # A totals-only snapshot (performance counters) shows its header figures instead.
                "nonpaged": int(nbytes[known & (pools == 0)].sum()) if len(snap.rows)
                else snap.totals.get("nonpaged_kb", 0) * 1024,
                "paged": int(nbytes[known & (pools == 1)].sum()) if len(snap.rows)
                else snap.totals.get("paged_kb", 0) * 1024,
            }
        )
    return out


def to_table(result: ParseResult, width: int | None = None) -> str:
    """A readable summary: one line per snapshot, then the sources and their formats."""
    n = len(result.snapshots)
    m = len(result.sources)
    title = f"{n} snapshot{'s' if n != 1 else ''} from {m} source{'s' if m != 1 else ''}"
    # Wide enough that rich never shortens a file name; lines are right-trimmed anyway.
    text = render_table(summary_rows(result), SUMMARY_COLUMNS, title=title, width=width or 1000)
    lines = [text.rstrip("\n"), ""]
    for info in result.sources:
        lines.append(f"{info.name}: {info.format}, {info.encoding}, {info.snapshots} snapshot"
                     f"{'s' if info.snapshots != 1 else ''}")
    return "\n".join(lines) + "\n"
