"""Performance-counter logs as CSV (``typeperf -o``, ``relog -f csv``, PerfMon's "save as CSV").

::

    "(PDH-CSV 4.0) (W. Europe Standard Time)(-60)","\\\\SRV01\\Memory\\Pool Nonpaged Bytes",...
    "11/21/2026 14:03:07.123","412340224","693092352"

Each line is one moment with the machine's pool totals and no per-tag rows: enough for
``trend`` and ``report`` to say whether a pool grows before anyone captured tag data.
``\\Memory\\Available Bytes`` (or MBytes/KBytes), ``Committed Bytes`` and ``Commit Limit``
become the other totals.  A blank cell (the first sample of a rate counter, a gap in the
log) leaves that total unknown for that moment.
"""

from __future__ import annotations

import re

from .errors import Diagnostics, InputError
from .formats import InputFormat, ParseOptions
from .model import RowTable, Snapshot, TimeOrigin
from .tabular import read_times, split_csv_line
from .textio import TextSource

FORMAT_NAME = "perfcounter"

_PDH = re.compile(r"\(PDH-(?:CSV|TSV)\s+[\d.]+\)", re.IGNORECASE)
#: counter (lower case, after ``\Memory\``) -> (total key, bytes per unit of the counter)
_COUNTERS = {
    "pool nonpaged bytes": ("nonpaged_kb", 1),
    "pool paged bytes": ("paged_kb", 1),
    "available bytes": ("avail_kb", 1),
    "available kbytes": ("avail_kb", 1024),
    "available mbytes": ("avail_kb", 1024 * 1024),
    "committed bytes": ("commit_kb", 1),
    "commit limit": ("commit_limit_kb", 1),
}
_COUNTER_PATH = re.compile(r"^(?:\\\\(?P<machine>[^\\]+))?\\Memory\\(?P<counter>.+)$", re.IGNORECASE)


def _delimiter(line: str) -> str:
    return "\t" if line.count("\t") > line.count(",") else ","


def _number(text: str) -> float | None:
    t = text.strip().strip('"').strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        # A locale with a decimal comma inside a quoted cell: "412340224,000000".
        try:
            return float(t.replace(".", "").replace(",", "."))
        except ValueError:
            return None


def _parse(source: TextSource, diag: Diagnostics, options: ParseOptions) -> list[Snapshot]:
    lines = source.text.split("\n")
    header_at = next((i for i, x in enumerate(lines) if x.strip()), None)
    if header_at is None:
        raise InputError(source.name, "empty input: no text to read")
    sep = _delimiter(lines[header_at])
    header = split_csv_line(lines[header_at].strip(), sep)
    wanted: dict[int, tuple[str, int]] = {}
    machines: set[str] = set()
    for i, name in enumerate(header[1:], start=1):
        m = _COUNTER_PATH.match(name.strip())
        if not m:
            continue
        key = _COUNTERS.get(" ".join(m.group("counter").lower().split()))
        if key is None:
            continue
        machine = (m.group("machine") or "").lower()
        if machines and machine not in machines:
            diag.note(source.name, header_at + 1, f"counters of more than one machine; only "
                      f"{sorted(machines)[0]!r} is read, {name.strip()!r} is not", strict=False)
            continue
        machines.add(machine)
        if key[0] in {k for k, _ in wanted.values()}:
            continue
        wanted[i] = key
    if not any(k in ("nonpaged_kb", "paged_kb") for k, _ in wanted.values()):
        raise InputError(source.name, "performance-counter log without \\Memory\\Pool Nonpaged Bytes or "
                         "\\Memory\\Pool Paged Bytes columns", header_at + 1)
    records: list[tuple[int, list[str]]] = []
    for lineno, raw in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not raw.strip():
            continue
        cells = split_csv_line(raw.strip(), sep)
        if len(cells) < 2:
            diag.skip(source.name, lineno, "counter sample with no values", raw)
            continue
        records.append((lineno, cells))
    times = read_times([cells[0] for _, cells in records])
    snaps: list[Snapshot] = []
    for (lineno, cells), when in zip(records, times, strict=True):
        if when is None:
            diag.skip(source.name, lineno, f"sample time {cells[0]!r} is not a date and time", cells[0])
            continue
        totals: dict[str, int] = {}
        for i, (key, unit) in wanted.items():
            value = _number(cells[i]) if i < len(cells) else None
            if value is not None and value >= 0:
                totals[key] = int(value * unit) // 1024
        if not totals:
            continue  # a sample where every wanted counter is blank
        snaps.append(Snapshot(
            source=source.name, index=len(snaps), format=FORMAT_NAME, rows=RowTable.empty(),
            timestamp=when, time_origin=TimeOrigin.SOURCE, totals=totals, line=lineno,
            extra={"mtime": source.mtime, "totals_only": True},
        ))
    if not snaps:
        raise InputError(source.name, "performance-counter log holds no sample with pool figures")
    diag.note(source.name, header_at + 1, f"performance counters: pool totals only ({len(snaps)} samples), "
              "no per-tag rows", strict=False)
    return snaps


def sniff(head: str) -> float:
    first = next((x for x in head.split("\n") if x.strip()), "")
    has_pool = re.search(r"\\Memory\\Pool (?:Nonpaged|Paged) Bytes", first, re.IGNORECASE)
    if not has_pool:
        return 0.0
    return 0.98 if _PDH.search(first) else 0.85


FORMAT = InputFormat(
    name=FORMAT_NAME,
    description="performance-counter CSV/TSV (typeperf, relog, PerfMon) with \\Memory\\Pool ... Bytes columns",
    sniff=sniff,
    parse=_parse,
)
