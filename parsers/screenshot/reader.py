"""Read the cell grid of a PoolMon console picture back into text, with the doubts it has.

Tesseract reads the picture once; its words are placed on the cell grid (the pitch is
fixed, so a word of n characters spans n cells) and give each cell a first reading.
Then the picture is read a second way, by the glyphs themselves: a console draws one
character the same way everywhere, so the cells of the number columns fall into a few
look-alike groups (one per digit, parentheses, minus sign).  Each group takes the
reading most of its cells got from Tesseract; groups that the row identities (Diff =
Allocs − Frees, Per Alloc = floor(Bytes / Diff)) show to be misnamed are renamed until
the most rows agree.  Every cell then reads as its group, a row that still disagrees
is repaired when changing one digit makes it agree, and cells that look like no group
or like two are reported.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .fonts import FontGlyphs, font_glyphs
from .letters import leader_clusters, settle_tags, settle_text
from .picture import CELL_SHAPE, Grid, cell_vectors, glyph_distances

#: Upscale so that a text line is about this tall before Tesseract reads it.
TESSERACT_LINE_PX = 40
#: A cell whose strongest ink is below this is blank.
BLANK_INK = 0.35
#: Largest (normalised) distance at which two cells count as the same glyph.
SAME_GLYPH = 0.24
#: Closer than this to a known glyph (a confirmed digit, a letter of PoolMon's own words), a tag cell is that glyph.
LETTER_MATCH = 0.16
#: A cell at least this far from every group is doubtful.
FAR = 0.30
#: ... and so is one that a second group almost equally fits.
MARGIN = 0.06

#: Tesseract's word confidence below which a tag is reported as uncertain.
TAG_CONFIDENCE = 50.0
#: Words PoolMon itself prints: where Tesseract reads one exactly, its letters are known glyphs.
KNOWN_WORDS = frozenset(
    (
        "Tag", "Type", "Allocs", "Frees", "Diff", "Bytes", "Per", "Alloc", "Mapped_Driver", "Memory:", "Avail:",
        "PageFlts:", "InRam", "Krnl:", "Commit:", "Limit:", "Peak:", "Pool", "N:", "P:", "System", "pool",
        "information", "Nonp", "Paged", "Unknown", "Driver", "All", "sessions", "Session",
    )
)

#: The character a tag character is most often mistaken for, both ways.
_CONFUSED_WITH = {"0": "O", "O": "0", "1": "l", "l": "1", "I": "l", "5": "S", "S": "5", "2": "Z", "Z": "2",
                  "8": "B", "B": "8", "g": "q", "q": "g", "6": "G", "G": "6", "3": "J", "u": "U", "U": "u",
                  "w": "W", "W": "w", "v": "V", "V": "v", "z": "Z", "x": "X", "X": "x"}  # fmt: skip

NUMERIC_SYMBOLS = "0123456789()-"
_DIGIT_LOOKALIKES = {
    "O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "i": "1", "|": "1", "S": "5", "s": "5",
    "B": "8", "Z": "2", "z": "2", "g": "9", "q": "9", "G": "6", "b": "6", "T": "7", "A": "4", "@": "0",
    "a": "0", "¢": "(", "{": "(", "[": "(", "}": ")", "]": ")", "~": "-", "—": "-", "_": "-",
}  # fmt: skip


@dataclass
class CellNote:
    """A cell read with doubt or repaired: where, what was read, what was kept."""

    line: int  # 1-based line of the screen text
    column: str  # field name (Allocs, Frees, ..., Tag, Type) or "col N"
    read: str
    kept: str
    why: str
    positions: tuple[int, ...] = ()  # 0-based characters of a Tag that are in doubt


@dataclass
class ScreenText:
    """The picture as PoolMon text, line by line, with the cells that needed a decision."""

    lines: list[str]
    notes: list[CellNote] = field(default_factory=list)
    doubtful_lines: set[int] = field(default_factory=set)  # 1-based
    seconds: float = 0.0
    font: FontGlyphs | None = None  # the installed font that draws this picture, when one does


def _tesseract():
    try:
        import pytesseract
    except ModuleNotFoundError as exc:
        raise InputError("picture", "reading pictures needs the ocr extra: pip install 'poolscope[ocr]'") from exc
    return pytesseract


def tesseract_available() -> bool:
    try:
        _tesseract().get_tesseract_version()
    except Exception:
        return False
    return True


def tesseract_words(
    grid: Grid,
    name: str,
    confidence: dict[tuple[int, int], float] | None = None,
    words: list[tuple[int, int, str]] | None = None,
    blank: np.ndarray | None = None,
) -> dict[tuple[int, int], str]:
    """Tesseract's reading of each cell it covered with a word of the right width."""
    from PIL import Image

    pytesseract = _tesseract()
    scale = max(1.0, TESSERACT_LINE_PX / grid.line_pitch)
    dark_on_light = (255 * (1 - grid.ink)).astype(np.uint8)
    img = Image.fromarray(dark_on_light)
    if scale > 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    # One thread: Tesseract's own threading only contends on small machines.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        data = pytesseract.image_to_data(
            img, config="--psm 6 -c preserve_interword_spaces=1", output_type=pytesseract.Output.DICT
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise InputError(
            name, "reading pictures needs Tesseract (Debian: apt install tesseract-ocr tesseract-ocr-eng)"
        ) from exc
    votes: dict[tuple[int, int], str] = {}
    for text, left, top, width, height, conf in zip(
        data["text"], data["left"], data["top"], data["width"], data["height"], data["conf"], strict=True
    ):
        text = (text or "").strip()
        if not text:
            continue
        x0, x1 = left / scale, (left + width) / scale
        yc = (top + height / 2) / scale
        line = int((yc - grid.line_phase) // grid.line_pitch)
        c0 = int((x0 + 0.5 - grid.col_phase) // grid.col_pitch)
        c1 = int((x1 - 1.0 - grid.col_phase) // grid.col_pitch)
        if c1 - c0 + 1 != len(text) and blank is not None and 0 <= line < blank.shape[0]:
            # A word box a little too wide or narrow: its characters are still its inked cells, in order.
            inked = [j for j in range(max(0, c0 - 1), min(blank.shape[1], c1 + 2)) if not blank[line, j]]
            if len(inked) == len(text) and inked[-1] - inked[0] + 1 == len(text):
                c0, c1 = inked[0], inked[-1]
        if c1 - c0 + 1 == len(text):
            if words is not None:
                words.append((line, c0, text))
            for k, ch in enumerate(text):
                votes[(line, c0 + k)] = ch
                if confidence is not None:
                    confidence[(line, c0 + k)] = float(conf)
    return votes


def reread_segments(
    grid: Grid, segments: list[tuple[int, int, int]], blank: np.ndarray, name: str
) -> dict[tuple[int, int], str]:
    """Tesseract's reading of a few (line, first column, last column) pieces of the screen, each alone.

    The pieces are laid on a sheet one below the other with a blank line between, so no
    neighbouring text suggests anything; their words are put back on the grid as usual.
    """
    from PIL import Image

    pytesseract = _tesseract()
    cw, ch = int(np.ceil(grid.col_pitch)), int(np.ceil(grid.line_pitch))
    width = max(c1 - c0 + 1 for _, c0, c1 in segments) + 4
    sheet = np.zeros((ch * (2 * len(segments) + 1), cw * width), dtype=np.float32)
    for k, (line, c0, c1) in enumerate(segments):
        r0, r1 = grid.line_span(line)
        x0, _ = grid.col_span(c0)
        _, x1 = grid.col_span(c1)
        patch = grid.ink[r0:r1, x0:x1][:ch, : cw * (width - 4)]
        y = ch * (2 * k + 1)
        sheet[y : y + patch.shape[0], 2 * cw : 2 * cw + patch.shape[1]] = patch
    scale = max(1.0, TESSERACT_LINE_PX / grid.line_pitch)
    img = Image.fromarray((255 * (1 - sheet)).astype(np.uint8))
    if scale > 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    try:
        data = pytesseract.image_to_data(img, config="--psm 6", output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as exc:
        raise InputError(name, "reading pictures needs Tesseract (apt install tesseract-ocr)") from exc
    out: dict[tuple[int, int], str] = {}
    boxes = zip(data["text"], data["left"], data["top"], data["width"], data["height"], strict=True)
    for text, left, top, w, h in boxes:
        text = (text or "").strip()
        if not text:
            continue
        k = int(((top + h / 2) / scale) // ch - 1) // 2
        if not 0 <= k < len(segments):
            continue
        line, c0, c1 = segments[k]
        a = int((left / scale + 0.5) // cw) - 2 + c0
        b = int(((left + w) / scale - 1.0) // cw) - 2 + c0
        inked = [j for j in range(max(c0, a - 1), min(c1, b + 1) + 1) if not blank[line, j]]
        if b - a + 1 != len(text) and len(inked) == len(text) and inked[-1] - inked[0] + 1 == len(text):
            a, b = inked[0], inked[-1]
        if b - a + 1 == len(text):
            for n, chr_ in enumerate(text):
                if c0 <= a + n <= c1:
                    out[(line, a + n)] = chr_
    return out


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-6)


@dataclass
class Glyphs:
    """Look-alike groups of cells: centroids (unit vectors) and the symbol each stands for."""

    centroids: np.ndarray
    labels: list[str]

    def distance_to(self, vec: np.ndarray, symbol: str) -> float:
        """Distance from one cell to the nearest group standing for ``symbol``."""
        ks = [k for k, lab in enumerate(self.labels) if lab == symbol]
        if not ks:
            return 9.0
        return float(glyph_distances(vec[None, :], self.centroids[ks]).min())

    def nearest(self, vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(best group, its distance, distance of the nearest group with another symbol)."""
        if len(self.labels) == 0:
            n = len(vecs)
            return np.zeros(n, int), np.full(n, 9.0), np.full(n, 9.0)
        d = glyph_distances(vecs, self.centroids)
        best = d.argmin(axis=1)
        lab = np.array(self.labels)
        other = np.where(lab[None, :] == lab[best][:, None], 9.0, d).min(axis=1)
        return best, d[np.arange(len(vecs)), best], other


def group_cells(vecs: np.ndarray, votes: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Leader clustering then two k-means passes: (group of each cell, centroids)."""
    assign = leader_clusters(vecs, SAME_GLYPH)
    cents = np.stack([vecs[np.argmax(assign == k)] for k in range(assign.max() + 1)]) if len(vecs) \
        else np.zeros((0, vecs.shape[1]))
    for _ in range(2):
        for k in range(len(cents)):
            members = vecs[assign == k]
            if len(members):
                cents[k] = _normalise(members.mean(axis=0))
        assign = glyph_distances(vecs, cents).argmin(axis=1)
    return assign, cents


_ROW_NUMBERS = re.compile(r"^ *(\d+) *\( *(-?\d+)\) *(\d+) *\( *(-?\d+)\) *(\d+) +(\d+) *\( *(-?\d+)\) *(\d+) *$")
#: Field names of the eight numbers of a screen row, in order.
FIELDS = ("Allocs", "Allocs change", "Frees", "Frees change", "Diff", "Bytes", "Bytes change", "Per Alloc")
_CHECKED = (0, 2, 4, 5, 7)  # fields the identities check


@dataclass
class RowCells:
    """The number region of one row line: the columns of its non-blank cells and the header cut."""

    line: int  # grid line
    cols: list[int]  # columns of the region, left to right (blank ones included)
    split_after: int  # index in cols after which Diff ends (Diff and Bytes can touch)


def parse_numbers(chars: list[str], split_after: int) -> tuple[list[int], list[list[int]]] | None:
    """The eight numbers of a row's number region and, for each, the indexes of its characters."""
    text = "".join(chars)
    if 0 <= split_after < len(text) - 1 and text[split_after].isdigit() and text[split_after + 1].isdigit():
        text = text[: split_after + 1] + " " + text[split_after + 1 :]
        shift = split_after + 1
    else:
        shift = None
    m = _ROW_NUMBERS.match(text)
    if m is None:
        return None
    values, positions = [], []
    for g in range(1, 9):
        s, e = m.span(g)
        idx = [k if shift is None or k < shift else k - 1 for k in range(s, e)]
        values.append(int(m.group(g)))
        positions.append(idx)
    return values, positions


def identities_hold(values: list[int]) -> bool:
    allocs, _, frees, _, diff, nbytes, _, per_alloc = values
    if allocs - frees != diff:
        return False
    return per_alloc == (nbytes // diff if diff > 0 else 0)


def _row_ok(chars: list[str], split_after: int) -> bool:
    parsed = parse_numbers(chars, split_after)
    return parsed is not None and identities_hold(parsed[0])


def _vote_line(votes: dict[tuple[int, int], str], line: int, n_cols: int) -> str:
    return "".join(votes.get((line, j), " ") for j in range(n_cols))


def read_screen(data: bytes, name: str) -> ScreenText:
    """The PoolMon text shown in one picture."""
    import time

    from .picture import build_grid

    started = time.perf_counter()
    grid = build_grid(data, name)
    raw = cell_vectors(grid)
    cw, ch = CELL_SHAPE
    # Ink that spilled over from a neighbour (a descender, a wide letter) sits at the cell's
    # edges; a glyph, even a minus sign, has ink in the middle.
    centre = raw.reshape(raw.shape[0], raw.shape[1], ch, cw)[..., cw // 4 : cw - cw // 4]
    middle = centre.sum(axis=(2, 3))
    # JPEG ringing beside a glyph is faint; every glyph has some full-strength ink in its middle half.
    blank = (raw.max(axis=2) < BLANK_INK) | (centre.max(axis=(2, 3)) < 0.5)
    if (~blank).any():
        blank |= middle < 0.12 * np.median(middle[~blank])
    # Glyphs are compared without the cell's outermost sample columns, where a wide neighbour
    # (M, W) spills over.
    edge = np.ones((ch, cw), dtype=np.float32)
    edge[:, [0, -1]] = 0.0
    vecs = _normalise(raw * edge.ravel())
    confidence: dict[tuple[int, int], float] = {}
    words: list[tuple[int, int, str]] = []
    votes = tesseract_words(grid, name, confidence, words, blank)
    n_lines, n_cols = blank.shape

    header = _find_header(votes, n_lines, n_cols)
    if header is None:
        raise InputError(name, "no PoolMon column header (Tag  Type  Allocs ...) found in the picture")
    head_line, c0, _ = header
    diff_end = c0 + _HEADER.index("Diff") + 3
    alloc_end = c0 + _HEADER.index("Alloc", 60) + 4

    # Row lines: a Type word where the header says, numbers after it.
    rows: list[RowCells] = []
    for i in range(head_line + 1, n_lines):
        if c0 + 12 >= n_cols or blank[i, c0 + 5 : c0 + 9].any() is False:
            continue
        if not (~blank[i, c0 + 5 : c0 + 9]).all() or (~blank[i, c0 + 10 : min(n_cols, alloc_end + 1)]).sum() < 8:
            continue
        end = n_cols
        for k in range(alloc_end + 1, n_cols):
            if not blank[i, k] and blank[i, k - 1] and k >= alloc_end + 2:
                end = k
                break
        cols = list(range(c0 + 10, end))
        rows.append(RowCells(i, cols, diff_end - (c0 + 10)))

    # Glyph groups of the number regions.
    num_cells = [(r.line, j) for r in rows for j in r.cols if not blank[r.line, j]]
    num_vecs = vecs[tuple(np.array(num_cells).T)] if num_cells else np.zeros((0, vecs.shape[2]))
    num_votes = [_as_numeric(votes.get(c)) for c in num_cells]
    assign, cents = group_cells(num_vecs, num_votes)
    labels = []
    for k in range(len(cents)):
        counted = Counter(v for v, a in zip(num_votes, assign, strict=True) if a == k and v is not None)
        labels.append(counted.most_common(1)[0][0] if counted else "?")

    def row_chars(r: RowCells, cell_label: dict[tuple[int, int], str]) -> list[str]:
        return [" " if blank[r.line, j] else cell_label[(r.line, j)] for j in r.cols]

    def score(lab: list[str]) -> int:
        cell_label = {c: lab[a] for c, a in zip(num_cells, assign, strict=True)}
        return sum(_row_ok(row_chars(r, cell_label), r.split_after) for r in rows)

    # Rename groups while that makes more rows agree with the identities.
    best = score(labels)
    sizes = np.bincount(assign, minlength=len(labels)) if len(labels) else np.zeros(0, int)
    improved = True
    while improved and best < len(rows):
        improved = False
        for k in np.argsort(-sizes):
            for sym in "0123456789()-":
                if sym == labels[k]:
                    continue
                trial = list(labels)
                trial[k] = sym
                s = score(trial)
                if s > best:
                    best, labels, improved = s, trial, True
    glyphs = Glyphs(cents, labels)
    near, d1, d2 = glyphs.nearest(num_vecs)
    cell_label = {c: labels[a] for c, a in zip(num_cells, near, strict=True)}
    doubt = {c for c, a, b in zip(num_cells, d1, d2, strict=True) if a > FAR or b - a < MARGIN}
    cell_dist = dict(zip(num_cells, d1, strict=True))

    out = ScreenText(lines=[])
    # Glyphs of certain identity in this picture (templates): the digit groups the identities
    # confirmed, in rows that agree; the Type word of every row; the letters of PoolMon's own
    # words (column header, header labels) wherever Tesseract read such a word exactly.
    row_lines = {r.line for r in rows}
    templates: dict[str, list[tuple[int, int]]] = {}
    for r in rows:
        if _row_ok(row_chars(r, cell_label), r.split_after):
            for j in r.cols:
                lab = cell_label.get((r.line, j))
                if lab is not None and lab.isdigit() and (r.line, j) not in doubt:
                    templates.setdefault(lab, []).append((r.line, j))
        pool = "Nonp" if blank[r.line, c0 + 9] else "Paged"
        for k, ch in enumerate(pool):
            if not blank[r.line, c0 + 5 + k]:
                templates.setdefault(ch, []).append((r.line, c0 + 5 + k))
    for line, start, text in words:
        if line in row_lines:
            continue
        # A known word, or one glued to its figure ("Memory:20052264K"): its letters are known.
        known_part = next((w for w in KNOWN_WORDS if text == w or (w.endswith(":") and text.startswith(w))), None)
        if known_part is not None:
            for k, ch in enumerate(known_part):
                cell = (line, start + k)
                if 0 <= cell[0] < n_lines and 0 <= cell[1] < n_cols and not blank[cell] and ch not in "0123456789":
                    templates.setdefault(ch, []).append(cell)
    proven = {ch: raw[tuple(np.array(cs[:40]).T)] for ch, cs in templates.items()}
    font = font_glyphs(proven, grid.col_pitch, grid.line_pitch, edge.ravel())
    # How alike two cells of one glyph are in this picture (sharp PNG: nearly identical; JPEG: less):
    # a cell must be that close to a template to be read as it.
    big = np.isin(near, np.flatnonzero(sizes >= 3)) if len(near) else np.zeros(0, bool)
    spread = float(np.percentile(d1[big], 99)) if big.any() else LETTER_MATCH
    letter_match = min(LETTER_MATCH, max(0.05, 2.0 * spread + 0.03))

    tag_cells = [(r.line, j) for r in rows for j in range(c0, c0 + 4) if not blank[r.line, j]]
    unread = sorted({i for i, j in tag_cells if (i, j) not in votes})
    if unread:
        # Tesseract gave no word of the right width there: read those tags once more, alone.
        for cell, ch in reread_segments(grid, [(i, c0, c0 + 3) for i in unread], blank, name).items():
            votes.setdefault(cell, ch)
    settled = settle_tags(grid, vecs, raw, blank, tag_cells, votes, templates, letter_match, MARGIN, font)

    # Other cells (header lines, driver text): a template they match, else Tesseract's reading.
    other_cells = [
        (i, j)
        for i in range(n_lines)
        for j in range(n_cols)
        if not blank[i, j] and (i, j) not in cell_label and (i, j) not in settled
    ]
    other_label: dict[tuple[int, int], str] = {c: s.char for c, s in settled.items()}
    other_label.update(settle_text(vecs, raw, other_cells, votes, templates, letter_match, MARGIN, font))

    row_by_line = {r.line: r for r in rows}
    for i in range(n_lines):
        chars = [" " if blank[i, j] else other_label.get((i, j), cell_label.get((i, j), "?")) for j in range(n_cols)]
        r = row_by_line.get(i)
        if r is not None:
            line_no = i + 1
            chars[c0 + 4] = " "
            typed = "".join(chars[c0 + 5 : c0 + 10])
            pool = "Nonp " if blank[i, c0 + 9] else "Paged"
            if typed != pool:
                out.notes.append(CellNote(line_no, "Type", typed.strip(), pool.strip(), "snapped to a Type word"))
            chars[c0 + 5 : c0 + 10] = list(pool)
            _repair_row(r, chars, cell_label, cell_dist, doubt, glyphs, num_cells, num_vecs, out, line_no)
            unsure = {j - c0 + 1: settled[(i, j)].doubt for j in range(c0, c0 + 4) if (i, j) in settled
                      and settled[(i, j)].doubt}  # fmt: skip
            if unsure:
                tag = "".join(chars[c0 : c0 + 4])
                votes_read = "".join(votes.get((i, j), "?") if not blank[i, j] else " " for j in range(c0, c0 + 4))
                why = "; ".join(f"character {k}: {w}" for k, w in unsure.items())
                out.notes.append(CellNote(line_no, "Tag", votes_read, tag, why, tuple(k - 1 for k in unsure)))
                out.doubtful_lines.add(line_no)
        out.lines.append(("".join(chars[max(0, c0 - 1) :])).rstrip())
    out.seconds = time.perf_counter() - started
    out.font = font
    return out


#: PoolMon's column header from the first letter of "Tag": numbers end under the ends of these words.
_HEADER = "Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc"
_ANCHORS = ("Type", "Allocs", "Frees", "Diff", "Bytes", "Per", "Alloc")


def _find_header(votes: dict[tuple[int, int], str], n_lines: int, n_cols: int) -> tuple[int, int, str] | None:
    """(line, column of the T of "Tag", text) of the column header: the line most header words agree on."""
    best = None
    for i in range(n_lines):
        text = _vote_line(votes, i, n_cols)
        starts = Counter()
        for word in _ANCHORS:
            for m in re.finditer(rf"(?<![A-Za-z]){word}(?![a-rt-z])", text):
                starts[m.start() - _HEADER.index(word, 60 if word == "Alloc" else 0)] += 1
        if starts:
            c0, n = starts.most_common(1)[0]
            if n >= 3 and c0 >= 0 and (best is None or n > best[0]):
                best = (n, i, c0, text)
    return None if best is None else best[1:]


def _as_numeric(v: str | None) -> str | None:
    if v is None:
        return None
    if v in NUMERIC_SYMBOLS:
        return v
    return _DIGIT_LOOKALIKES.get(v)


def _word_end(text: str, word: str, default: int, last: bool = False) -> int:
    k = text.rfind(word) if last else text.find(word)
    return k + len(word) - 1 if k >= 0 else default


def _repair_row(
    r: RowCells,
    chars: list[str],
    cell_label: dict[tuple[int, int], str],
    cell_dist: dict[tuple[int, int], float],
    doubt: set[tuple[int, int]],
    glyphs: Glyphs,
    num_cells: list[tuple[int, int]],
    num_vecs: np.ndarray,
    out: ScreenText,
    line_no: int,
) -> None:
    """Check a row's numbers against the identities; fix one wrong digit when only one fix fits."""
    region = [chars[j] for j in r.cols]
    parsed = parse_numbers(region, r.split_after)
    if parsed is not None and identities_hold(parsed[0]):
        values, positions = parsed
        for f in (1, 3, 6):  # change columns: nothing checks them but the glyphs themselves
            for k in positions[f]:
                if (r.line, r.cols[k]) in doubt:
                    out.notes.append(CellNote(line_no, FIELDS[f], str(values[f]), str(values[f]),
                                              "a character looks like two glyphs; not checkable"))
                    out.doubtful_lines.add(line_no)
                    break
        return
    fixes = []
    if parsed is not None:
        values, positions = parsed
        for f in _CHECKED:
            for k in positions[f]:
                old = region[k]
                for d in "0123456789":
                    if d == old:
                        continue
                    region[k] = d
                    again = parse_numbers(region, r.split_after)
                    if again is not None and identities_hold(again[0]):
                        fixes.append((f, k, d, again[0]))
                region[k] = old
    if len(fixes) == 1:
        f, k, d, new_values = fixes[0]
        out.notes.append(CellNote(line_no, FIELDS[f], str(parsed[0][f]), str(new_values[f]),  # type: ignore[index]
                                  "one digit repaired by the identities"))
        chars[r.cols[k]] = d
        return
    shown = "".join(region).strip()
    why = "several one-digit repairs fit" if fixes else "numbers disagree with the identities"
    out.notes.append(CellNote(line_no, "row", re.sub(r" +", " ", shown), "as read", why))
    out.doubtful_lines.add(line_no)
