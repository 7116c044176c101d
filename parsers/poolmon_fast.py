"""The bulk path for clean PoolMon rows: numpy over the bytes of a whole chunk.

An appended log is millions of rows in PoolMon's own layout.  Reading them one by
one in Python costs microseconds a row; here a chunk of a few megabytes is
handled with a dozen array operations: find the line starts, recognise rows by
the Type word at its fixed place, blank the tag and type, check per line that
only numbers and brackets remain in the expected count, and let numpy's C number
reader turn the rest into integers.

Everything this path does not recognise (headers, time markers, rows in odd
layouts, rows whose numbers ran together) is handed back, with its line number,
to the line-by-line reader in :mod:`parsers.poolmon`, which agrees with this path
on every row both can read (a hypothesis test checks it).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .model import MISSING

_SP, _NL, _LP, _RP, _MINUS = 32, 10, 40, 41, 45
_INT64_MAX = np.iinfo(np.int64).max
# Encodings in which every byte is one character, so a 4-byte tag is always a 4-character tag.
_SINGLE_BYTE = {"ascii", "cp1252", "latin-1", "iso-8859-1", "windows-1252"}
_INT64_MIN = np.iinfo(np.int64).min
_NO_PARENS = bytes.maketrans(b"()", b"  ")
# CR (of CRLF line ends) reads as a space; every byte a number cannot hold reads 0x01.
_CLEAN = bytes(c if c in b"\n ()-0123456789" else (32 if c == 13 else 1) for c in range(256))

# Bytes a row may hold once its tag and Type word are blanked (Mapped_Driver text aside).
_ALLOWED = np.zeros(256, dtype=bool)
_ALLOWED[[_SP, _NL, _LP, _RP, _MINUS]] = True
_ALLOWED[48:58] = True
_NUMCHAR = np.zeros(256, dtype=bool)
_NUMCHAR[48:58] = True
_NUMCHAR[_MINUS] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[48:58] = True
_FIELD_OK = _DIGIT.copy()
_FIELD_OK[[_SP, _MINUS]] = True
_FIXED_OK = np.zeros(256, dtype=bool)
_FIXED_OK[[_SP, _LP, _RP, 13]] = True

#: Token offsets of each value in a screen row (8 numbers) and a snapshot-file row (5).
_SCREEN = {"allocs": 0, "allocs_change": 1, "frees": 2, "frees_change": 3, "outstanding": 4, "bytes": 5,
           "bytes_change": 6, "per_alloc": 7}  # fmt: skip
_SNAP = {"allocs": 0, "frees": 1, "outstanding": 2, "bytes": 3, "per_alloc": 4}


_Extracted = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]  # columns, per alloc, has changes


@dataclass
class BulkResult:
    """Rows read in bulk, and the lines left for the line-by-line reader (in order).

    ``tag_ids`` index ``tag_keys`` (a tag's four bytes as one uint32) until
    :func:`resolve_tags` maps them to the caller's ids; ``read_chunk`` does that itself
    when given ``tag_id`` (then ``tag_keys`` is None).
    """

    tag_keys: np.ndarray | None
    encoding: str
    tag_ids: np.ndarray
    pools: np.ndarray
    columns: dict[str, np.ndarray]
    per_alloc: np.ndarray
    lines: np.ndarray  # 1-based line numbers of the rows
    has_changes: np.ndarray
    drivers: list[str | None] | None
    other_lines: list[int]
    other_texts: list[str]


class TagTable:
    """Tag bytes -> the caller's tag ids, as sorted arrays: a chunk's 2,500 tags map in one search.

    Only tags never seen before are decoded and handed to ``tag_id``.  Not thread-safe: the
    caller resolves chunks on one thread, in order.
    """

    def __init__(self, tag_id: Callable[[str], int]) -> None:
        self.tag_id = tag_id
        self.keys = np.zeros(0, dtype=np.uint32)
        self.ids = np.zeros(0, dtype=np.int64)

    def lookup(self, keys: np.ndarray, encoding: str) -> np.ndarray:
        pos = np.searchsorted(self.keys, keys)
        found = pos < len(self.keys)
        found[found] = self.keys[pos[found]] == keys[found]
        if not found.all():
            new = keys[~found]
            new_ids = np.array([self.tag_id(k.tobytes().decode(encoding, "replace")) for k in new], dtype=np.int64)
            all_keys = np.concatenate([self.keys, new])
            order = np.argsort(all_keys, kind="stable")
            self.keys = all_keys[order]
            self.ids = np.concatenate([self.ids, new_ids])[order]
            pos = np.searchsorted(self.keys, keys)
        return self.ids[pos]


def resolve_tags(bulk: BulkResult, table: TagTable) -> None:
    """Map chunk-local tag indices to the caller's ids."""
    if bulk.tag_keys is not None:
        if len(bulk.tag_keys):
            bulk.tag_ids = table.lookup(bulk.tag_keys, bulk.encoding)[bulk.tag_ids]
        bulk.tag_keys = None


def _word_value(word: bytes, offset: int) -> np.uint64:
    """``word`` placed at byte ``offset`` of a little-endian 8-byte window."""
    return np.uint64(int.from_bytes(bytes(offset) + word + bytes(8 - offset - len(word)), "little"))


# _WORD_MASKS[offset, length] keeps ``length`` bytes from ``offset``; _WORDS[word][offset] is the
# separator-Type-separator run " Nonp " / " Paged " as it reads with (offset 1) or without
# (offset 0) PoolMon's leading space, in the window of bytes 4..11 of a line.
_WORD_MASKS = np.zeros((2, 8), dtype=np.uint64)
for _off in (0, 1):
    for _len in (6, 7):
        _WORD_MASKS[_off, _len] = _word_value(b"\xff" * _len, _off)
_WORDS = {w: (_word_value(w, 0), _word_value(w, 1)) for w in (b" Nonp ", b" Paged ")}


def _blank_lines(work: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    if len(starts) < 4096:
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            work[s:e] = _SP
        return
    cover = np.zeros(len(work) + 1, dtype=np.int32)
    np.add.at(cover, starts, 1)
    np.add.at(cover, ends, -1)
    work[np.cumsum(cover[:-1]) > 0] = _SP


def _uniform_numbers(buf: bytearray, work: np.ndarray, nrow: int) -> tuple[np.ndarray, int] | None:
    """The common case, checked in a few passes: every row has the same shape (all screen or all file)."""
    n_lp = buf.count(b"(")
    if n_lp not in (0, 3 * nrow) or buf.count(b")") != n_lp:
        return None
    minus = np.flatnonzero(work == _MINUS)
    if len(minus) and (~_DIGIT[work[minus + 1]] | ((work[minus - 1] != _SP) & (work[minus - 1] != _LP))).any():
        return None
    per = 8 if n_lp else 5
    values = np.fromstring(bytes(buf).translate(_NO_PARENS), dtype=np.int64, sep=" ")
    if len(values) != per * nrow:
        return None
    return values, per


def _per_line_numbers(
    work: np.ndarray, starts: np.ndarray, ends: np.ndarray, is_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Count numbers and brackets line by line; rows of any other shape go to the line reader."""
    is_lp = work == _LP
    is_rp = work == _RP
    lp = np.add.reduceat(is_lp, starts, dtype=np.int32)
    rp = np.add.reduceat(is_rp, starts, dtype=np.int32)
    work[is_lp | is_rp] = _SP
    num = _NUMCHAR[work]
    tok = num.copy()
    tok[1:] &= ~num[:-1]
    counts = np.add.reduceat(tok, starts, dtype=np.int32)
    screen = (lp == 3) & (rp == 3) & (counts == 8)
    snap = (lp == 0) & (rp == 0) & (counts == 5)
    demote = is_row & ~(screen | snap)
    # A minus sign belongs right before a digit and after a space; anything else is not a number.
    minus = np.flatnonzero(work == _MINUS)
    if len(minus):
        wrong = minus[~_DIGIT[work[minus + 1]] | (work[minus - 1] != _SP)]
        if len(wrong):
            demote[np.searchsorted(starts, wrong, side="right") - 1] = True
    is_row = is_row & ~demote
    if demote.any():
        gone = np.flatnonzero(demote)
        _blank_lines(work, starts[gone], ends[gone])
        counts = np.where(demote, 0, counts)
    values = np.fromstring(work.tobytes(), dtype=np.int64, sep=" ")
    if len(values) != int(counts.sum()):
        return None
    return values, counts, screen & is_row, is_row


def _extract(
    values: np.ndarray, counts: np.ndarray, row_idx: np.ndarray, screen: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    first_tok = (np.cumsum(counts) - counts)[row_idx]
    has_changes = screen[row_idx]
    columns: dict[str, np.ndarray] = {}
    all_screen = bool(has_changes.all())
    for name in ("allocs", "frees", "outstanding", "bytes", "allocs_change", "frees_change", "bytes_change"):
        screen_off = _SCREEN[name]
        snap_off = _SNAP.get(name)
        if all_screen:
            columns[name] = values[first_tok + screen_off]
        elif snap_off is None:
            col = np.full(len(row_idx), MISSING, dtype=np.int64)
            col[has_changes] = values[first_tok[has_changes] + screen_off]
            columns[name] = col
        else:
            columns[name] = values[first_tok + np.where(has_changes, screen_off, snap_off)]
    per_alloc = values[first_tok + np.where(has_changes, _SCREEN["per_alloc"], _SNAP["per_alloc"])]
    return columns, per_alloc, has_changes


def _misaligned(extracted: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]) -> bool:
    """Rows read with a shifted number fail PoolMon's identities."""
    c, per_alloc, _ = extracted
    diff = c["outstanding"]
    delta = c["allocs"] - c["frees"]
    bad = (delta != diff) & ((delta - diff) % (1 << 32) != 0)
    positive = diff > 0
    bad |= positive & (c["bytes"] // np.where(positive, diff, 1) != per_alloc)
    return bool(bad.any())


_TEMPLATE_TOKEN = re.compile(rb"\(|\)|-?\d+")
_SCREEN_SHAPE = b"N(N)N(N)NN(N)N"
_SNAP_SHAPE = b"NNNNN"
_POW10 = 10 ** np.arange(18, -1, -1, dtype=np.int64)  # 10**18 ... 10**0


def _column_matrix(arr: np.ndarray, rstart: np.ndarray, width: int, c0: int) -> np.ndarray:
    """The rows' bytes from column ``c0`` on, one matrix row per text column: shape (width - c0, n).

    Rows of one frame follow each other at a fixed stride, so each run is a
    reshaped view of the chunk; the runs are copied once into column order, where
    every per-column step below works on contiguous memory.
    """
    stride = width + 1
    breaks = np.flatnonzero(np.diff(rstart) != stride) + 1
    bounds = [0, *breaks.tolist(), len(rstart)]
    out = np.empty((width - c0, len(rstart)), dtype=np.uint8)
    for lo, hi in itertools.pairwise(bounds):
        s0 = int(rstart[lo])
        view = arr[s0 : s0 + (hi - lo) * stride]
        if len(view) < (hi - lo) * stride:
            out[:, lo:hi] = arr[rstart[lo:hi, None] + np.arange(c0, width)].T  # last row, no line end
        else:
            out[:, lo:hi] = view.reshape(hi - lo, stride)[:, c0:width].T
    return out


def _fixed_width(arr: np.ndarray, rstart: np.ndarray, rend: np.ndarray, lead: np.ndarray) -> _Extracted | None:
    """Read rows that all share one column layout as a matrix of fixed-width fields.

    This is the shape of nearly every appended log (one PoolMon build, no column
    overflow).  The first row gives the layout; every other row must match it
    exactly (brackets and gaps at the same columns, each field spaces then an
    optional minus then digits, number fields separated by a space), else None and
    the general path reads the chunk.
    """
    lengths = rend - rstart
    width = int(lengths[0])
    if not (lengths == width).all():
        return None
    if lead.all():
        c0 = 11
    elif not lead.any():
        c0 = 10
    else:
        return None
    if width <= c0 + 5:
        return None
    template = arr[int(rstart[0]) + c0 : int(rstart[0]) + width].tobytes()
    shape = bytearray()
    fields: list[tuple[int, int, bool]] = []  # (start, end, follows a number)
    fixed = np.zeros(len(template), dtype=bool)
    pos = 0
    prev_number = False
    for m in _TEMPLATE_TOKEN.finditer(template):
        tok = m.group()
        if tok in (b"(", b")"):
            fixed[pos : m.end()] = True  # gap spaces before a bracket, and the bracket
            shape += tok
            prev_number = False
        else:
            fields.append((pos, m.end(), prev_number))
            shape += b"N"
            prev_number = True
        pos = m.end()
    fixed[pos:] = True  # trailing spaces or the CR of CRLF
    tpl = np.frombuffer(template, dtype=np.uint8)
    if bytes(shape) not in (_SCREEN_SHAPE, _SNAP_SHAPE) or template[0] != _SP or not _FIXED_OK[tpl[fixed]].all():
        return None  # other shapes, or text between or after the numbers (Mapped_Driver)

    mat = _column_matrix(arr, rstart, width, c0)
    mat -= np.uint8(48)  # digits become 0..9; a space reads 240, a minus sign 253
    tpl = tpl - np.uint8(48)
    fixed_idx = np.flatnonzero(fixed)
    if not (mat[fixed_idx] == tpl[fixed_idx, None]).all():
        return None  # brackets and gaps where the template has them
    digit = mat < 10
    nonspace = mat != np.uint8((_SP - 48) % 256)
    first_after_number = [0]  # the Type word is followed by a space, as the line patterns require
    first_after_number += [a for a, _, after_number in fields if after_number]
    if nonspace[first_after_number].any():
        return None  # numbers that ran together: the line reader splits them
    mat *= digit.view(np.uint8)  # the digit values, 0 elsewhere
    used = digit.any(axis=1)
    n = len(rstart)
    values = []
    for a, e, _ in fields:
        # A field is valid exactly when it is what printf("%Nd") makes of its value: spaces,
        # an optional minus sign right before the first digit, and digits to the field's end.
        # Reading spaces as 0 digits, any space inside a number (or a leading zero) makes the
        # digit count disagree with the value's length, so counting checks the whole shape.
        # Columns before any row's first digit add nothing; from there on every column counts,
        # so that a space inside a number (in every row alike) still adds a digit.
        first = next((j for j in range(a, e) if used[j]), e)
        span = range(first, e)
        if len(span) > 18:
            return None  # beyond int64: leave it to the line reader
        if not span or not digit[e - 1].all():
            return None  # every number ends at its field's last column
        acc = np.zeros(n, dtype=np.int64)
        for j in span:
            acc *= 10
            acc += mat[j]
        ndig = np.ones(n, dtype=np.int64)
        for p in range(1, len(span)):
            ndig += acc >= _POW10[18 - p]
        digits_seen = digit[a:e].sum(axis=0, dtype=np.int64)
        others = nonspace[a:e].sum(axis=0, dtype=np.int64) - digits_seen
        if not (digits_seen == ndig).all():
            return None
        if others.any():
            if others.max() > 1:
                return None
            neg = np.flatnonzero(others)
            at = e - 1 - ndig[neg]
            if (at < a).any() or not (arr[rstart[neg] + c0 + at] == _MINUS).all():
                return None
            acc[neg] = -acc[neg]
        values.append(acc)
    screen = len(fields) == 8
    offsets = _SCREEN if screen else _SNAP
    n = len(rstart)
    columns = {
        name: values[offsets[name]] if name in offsets else np.full(n, MISSING, dtype=np.int64)
        for name in ("allocs", "frees", "outstanding", "bytes", "allocs_change", "frees_change", "bytes_change")
    }
    return columns, values[offsets["per_alloc"]], np.full(n, screen, dtype=bool)


def _general_numbers(
    data: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    is_row: np.ndarray,
    row_idx: np.ndarray,
    rstart: np.ndarray,
    num_start: np.ndarray,
    encoding: str,
) -> tuple[_Extracted, list[str | None] | None, np.ndarray, np.ndarray] | None:
    """Rows of mixed widths or with Mapped_Driver text: blank what is not a number, then read the rest."""
    nlines = len(starts)
    nrow = len(row_idx)
    # A writable copy in which every byte a number cannot hold reads 0x01.
    buf = bytearray(data.translate(_CLEAN))
    work = np.frombuffer(buf, dtype=np.uint8)
    # Blank tag and Type word of rows, and every other line entirely.
    offs = np.arange(12)
    idx = rstart[:, None] + offs
    work[idx[offs[None, :] < (num_start - rstart)[:, None]]] = _SP
    other = np.flatnonzero(~is_row)
    _blank_lines(work, starts[other], ends[other])

    # Text after the numbers (Mapped_Driver) starts at the first byte a number cannot hold.
    drivers: list[str | None] | None = None
    if buf.find(b"\x01") >= 0:
        # The first such byte of each line, found from a running count rather than by listing
        # every byte of driver text (a /g log is half text): count before the line start + 1.
        seen = np.cumsum(work == 1, dtype=np.int32)
        before = np.where(starts > 0, seen[np.maximum(starts - 1, 0)], 0)
        after = seen[np.maximum(ends - 1, 0)]
        bad_lines = np.flatnonzero((after > before) & (ends > starts))
        first = np.searchsorted(seen, before[bad_lines] + 1)
        bad_ends = ends[bad_lines]
        drivers = [None] * nlines
        texts: dict[bytes, str | None] = {}  # the same few hundred cells repeat in every snapshot
        for li, pos, end in zip(bad_lines.tolist(), first.tolist(), bad_ends.tolist(), strict=True):
            cell = data[pos:end]
            text = texts.get(cell, "")
            if text == "":
                text = texts[cell] = cell.decode(encoding, "replace").strip() or None
            drivers[li] = text
        _blank_lines(work, first, bad_ends)

    extracted = None
    uniform = _uniform_numbers(buf, work, nrow)
    if uniform is not None:
        values, per = uniform
        counts = np.where(is_row, per, 0)
        screen = is_row & (per == 8)
        extracted = _extract(values, counts, row_idx, screen)
        if _misaligned(extracted):
            extracted = None  # some row has a number too many or too few: read line by line below
    if extracted is None:
        detailed = _per_line_numbers(work, starts, ends, is_row)
        if detailed is None:
            return None
        values, counts, screen, is_row = detailed
        row_idx = np.flatnonzero(is_row)
        if not len(row_idx):
            return None
        extracted = _extract(values, counts, row_idx, screen)
    return extracted, drivers, is_row, row_idx


def read_chunk(
    data: bytes,
    first_line: int,
    tag_id: Callable[[str], int] | None = None,
    encoding: str = "ascii",
    line_numbers: np.ndarray | None = None,
) -> BulkResult | None:
    """Read the rows of an ASCII chunk (whole lines) in bulk; None when it is not worth it.

    ``encoding`` decodes the lines handed back to the line reader (CRs of CRLF are dropped).
    ``line_numbers`` gives each line's number in the source when lines were rejoined or
    dropped (pasted text); otherwise lines count on from ``first_line``.
    """
    if not data.endswith(b"\n"):
        data += b"\n"
    arr = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(arr == _NL)
    nlines = len(nl)
    starts = np.empty(nlines, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[:-1] + 1
    ends = nl.astype(np.int64)

    # Rows in PoolMon's layout: " TTTT Nonp " (leading space) or "TTTT Nonp " (none); the
    # leading-space reading wins, as in the row patterns of the line reader.  Only lines long
    # enough to hold a tag, a Type word and a number are looked at, so no index leaves its line.
    cand = np.flatnonzero((ends - starts) > 11)
    cs = starts[cand]
    # Bytes 4..11 of each line as one little-endian word, compared under masks.
    window = np.ascontiguousarray(arr[cs[:, None] + np.arange(4, 12)]).view(np.uint64).ravel()
    lead_c = (arr[cs] == _SP) & (
        ((window & _WORD_MASKS[1, 6]) == _WORDS[b" Nonp "][1]) | ((window & _WORD_MASKS[1, 7]) == _WORDS[b" Paged "][1])
    )
    nolead_c = ~lead_c & (
        ((window & _WORD_MASKS[0, 6]) == _WORDS[b" Nonp "][0]) | ((window & _WORD_MASKS[0, 7]) == _WORDS[b" Paged "][0])
    )
    lead = np.zeros(nlines, dtype=bool)
    lead[cand] = lead_c
    is_row = lead.copy()
    is_row[cand] |= nolead_c
    nrow = int(is_row.sum())
    if nrow == 0 or nrow * 2 < nlines:
        return None

    row_idx = first_rows = np.flatnonzero(is_row)
    rstart = starts[row_idx]
    tag_start = rstart + lead[row_idx]
    type_start = tag_start + 5
    paged = arr[type_start] == 80  # "P"
    num_start = type_start + np.where(paged, 5, 4)

    drivers: list[str | None] | None = None
    extracted = _fixed_width(arr, rstart, ends[row_idx], lead[row_idx])
    if extracted is None:
        general = _general_numbers(data, starts, ends, is_row, row_idx, rstart, num_start, encoding)
        if general is None:
            return None
        extracted, drivers, is_row, row_idx = general
    columns, per_alloc, has_changes = extracted

    # Tags: decode each distinct 4-byte tag once.  A tag that is not four characters in this
    # encoding (a multi-byte character) is left to the line reader, which counts characters.
    row_pos = np.flatnonzero(is_row[first_rows])  # rows kept, as positions among the first reading
    tag_bytes = arr[tag_start[row_pos][:, None] + np.arange(4)]
    keys = np.ascontiguousarray(tag_bytes).view(np.uint32).ravel()
    uniq, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.ravel()
    local = np.arange(len(uniq), dtype=np.int64)
    if encoding.replace("_", "-").lower() not in _SINGLE_BYTE:
        wide = np.flatnonzero((uniq.view(np.uint8).reshape(-1, 4) >= 0x80).any(axis=1))
        for i in wide.tolist():
            if len(uniq[i].tobytes().decode(encoding, "replace")) != 4:
                local[i] = -1
    tag_ids = local[inverse]

    # Allocs, Frees, Bytes and Per Alloc are never negative: such rows go to the line reader.
    drop = (columns["allocs"] < 0) | (columns["frees"] < 0) | (columns["bytes"] < 0) | (per_alloc < 0)
    # numpy's reader saturates numbers beyond int64; the line reader reports them instead.
    for col in (*columns.values(), per_alloc):
        drop |= (col == _INT64_MAX) | ((col == _INT64_MIN) & (col != MISSING))
    drop |= tag_ids < 0
    if drop.any():
        keep = ~drop
        is_row[row_idx[drop]] = False
        row_idx = row_idx[keep]
        has_changes = has_changes[keep]
        columns = {k: v[keep] for k, v in columns.items()}
        per_alloc = per_alloc[keep]
        tag_ids = tag_ids[keep]
        row_pos = row_pos[keep]

    other_idx = np.flatnonzero(~is_row & (ends > starts))
    numbering = line_numbers if line_numbers is not None else np.arange(nlines, dtype=np.int64) + first_line
    other_lines = numbering[other_idx].tolist()
    other_texts = [
        data[s:e].decode(encoding, "replace").rstrip("\r")
        for s, e in zip(starts[other_idx].tolist(), ends[other_idx].tolist(), strict=True)
    ]
    row_drivers = [drivers[i] for i in row_idx.tolist()] if drivers is not None else None
    if row_drivers is not None and not any(d is not None for d in row_drivers):
        row_drivers = None
    bulk = BulkResult(
        tag_keys=uniq,
        encoding=encoding,
        tag_ids=tag_ids,
        pools=paged[row_pos].astype(np.uint8),
        columns=columns,
        per_alloc=per_alloc,
        lines=numbering[row_idx].astype(np.int64),
        has_changes=has_changes,
        drivers=row_drivers,
        other_lines=other_lines,
        other_texts=other_texts,
    )
    if tag_id is not None:
        resolve_tags(bulk, TagTable(tag_id))
    return bulk
