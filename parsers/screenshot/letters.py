"""Tag characters of a console picture, settled by the picture's own glyphs and by their height.

Numbers are checked by PoolMon's identities; a tag is four free characters with no spelling
to lean on, and Tesseract, reading one in context, mixes up look-alikes (``w``/``W``,
``O``/``0``, ``q``/``g``, ``Z``/``2``).  What the picture itself proves settles most of them:

* **templates** — glyphs whose identity is certain here: digit groups the identities
  confirmed, the ``Nonp``/``Paged`` of every row, letters of PoolMon's own words that
  Tesseract read exactly.  A tag cell that looks like a template is that glyph; one that
  clearly does not cannot be it (a cell read as ``0`` that is not this picture's zero is an O).
* **height** — ``c o s u v w x z`` differ from their capitals only in height: the ink top at
  the cap line (digits, capitals) or at the x-height line (``a e n o r ...``) decides.
* **a second reading** — glyphs with no template are read again by Tesseract on a sheet of
  isolated cells (no neighbouring letters to guess from), and every cell of one glyph must
  read alike; readings that still disagree make the cell doubtful, and the row is reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .fonts import FontGlyphs
from .picture import CELL_SHAPE, Grid, glyph_distances

#: Lower-case letters drawn as their capital, only smaller: height tells them apart.
SAME_SHAPE_CASE = frozenset("cosuvwxz")
#: Top of the ink at cap height: digits and capitals.
CAP_HEIGHT = frozenset("0123456789ABCDEFGHIJKLMNOPRSTUVWXYZ")
#: Top of the ink at x-height.
X_HEIGHT = frozenset("acemnorsuvwxz")
#: Characters a tag cell may be read as on the second reading.
TAG_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

#: Letters PoolMon's own words never show that Tesseract confuses with each other in console fonts:
#: a tag cell no template and no installed font settles is reported when read as one of them.
NO_TEMPLATE_LOOKALIKES = {"J": "Uj", "U": "J", "j": "J", "V": "Y", "Y": "V"}
#: What a character read by Tesseract most likely is when the cell is not this picture's glyph for it.
CONFUSED_WITH = {
    "0": "O", "O": "0", "o": "0", "Q": "O", "D": "O", "1": "l", "l": "1", "I": "l", "i": "l", "5": "S", "S": "5",
    "2": "Z", "Z": "2", "z": "2", "8": "B", "B": "8", "g": "q", "q": "g", "6": "G", "G": "6", "b": "6",
    "3": "J", "J": "3", "9": "g", "7": "T", "T": "7", "4": "A", "A": "4",
}  # fmt: skip


@dataclass
class Settled:
    """A tag cell's character and, when it is not certain, why."""

    char: str
    doubt: str | None = None


def cell_extent(grid: Grid, line: int, col: int) -> tuple[float, float]:
    """(top, bottom) of a cell's ink as fractions of the line pitch from the line's top."""
    r0, r1 = grid.line_span(line)
    c0, c1 = grid.col_span(col)
    prof = grid.ink[r0:r1, c0:c1].max(axis=1) if r1 > r0 and c1 > c0 else np.zeros(1)
    on = np.flatnonzero(prof > 0.5)
    if not on.size:
        return 0.5, 0.5
    k, m = int(on[0]), int(on[-1])
    # Sub-pixel edges: where the profile crosses 0.5 between the last dark and first inked row.
    top = k - (prof[k] - 0.5) / max(prof[k] - prof[k - 1], 1e-6) if k > 0 else float(k)
    bottom = m + 1 + ((prof[m] - 0.5) / max(prof[m] - prof[m + 1], 1e-6) if m + 1 < len(prof) else 0.0)
    origin = grid.line_phase + line * grid.line_pitch
    return (r0 + top - origin) / grid.line_pitch, (r0 + bottom - origin) / grid.line_pitch


@dataclass
class Heights:
    """Cap line and x-height line of the picture (fractions of the pitch from the line top)."""

    cap_top: float
    x_top: float

    def case_of(self, top: float) -> str | None:
        """'upper', 'lower', or None when the ink top sits between the two lines."""
        gap = self.x_top - self.cap_top
        if gap < 0.04:  # no usable difference (or no references)
            return None
        mid = (self.cap_top + self.x_top) / 2
        if top < mid - 0.2 * gap:
            return "upper"
        if top > mid + 0.2 * gap:
            return "lower"
        return None


def picture_heights(tops: dict[str, list[float]]) -> Heights | None:
    cap = [t for ch, ts in tops.items() if ch in CAP_HEIGHT for t in ts]
    low = [t for ch, ts in tops.items() if ch in X_HEIGHT for t in ts]
    if len(cap) < 3 or len(low) < 3:
        return None
    return Heights(float(np.median(cap)), float(np.median(low)))


def leader_clusters(vecs: np.ndarray, same: float) -> np.ndarray:
    """Leader clustering: group number of each vector."""
    leaders: list[np.ndarray] = []
    out = np.zeros(len(vecs), dtype=int)
    for n, v in enumerate(vecs):
        if leaders:
            d = glyph_distances(v[None, :], np.stack(leaders))[0]
            k = int(d.argmin())
            if d[k] < same:
                out[n] = k
                continue
        leaders.append(v)
        out[n] = len(leaders) - 1
    return out


def template_centres(
    vecs: np.ndarray, templates: dict[str, list[tuple[int, int]]], match: float
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The proven characters, each one's mean glyph here, and each one's own match radius.

    The radius is how far its cells lie from their mean here (JPEG spreads them), at most ``match``.
    """
    labels = sorted(templates)
    if not labels:
        return labels, np.zeros((0, vecs.shape[-1])), np.zeros(0)
    members = [np.stack([vecs[c] for c in templates[t][:40]]) for t in labels]
    cents = np.stack([_unit(m.mean(axis=0)) for m in members])
    thresholds = np.full(len(labels), match)
    for k, m in enumerate(members):
        if len(m) >= 5:
            radius = float(np.percentile(glyph_distances(m, cents[k : k + 1])[:, 0], 98))
            thresholds[k] = min(match, max(0.06, 1.3 * radius))
    return labels, cents, thresholds


def settle_text(
    vecs: np.ndarray,
    raw: np.ndarray,
    cells: list[tuple[int, int]],
    votes: dict[tuple[int, int], str],
    templates: dict[str, list[tuple[int, int]]],
    match: float,
    margin: float,
    font: FontGlyphs | None = None,
) -> dict[tuple[int, int], str]:
    """The characters of free text (header lines, Mapped_Driver text): nothing checks them, so a
    cell takes the glyph the picture proves it is, else Tesseract's reading.

    In order: the installed font's glyph that it clearly is; a template it lies within that
    template's own radius of; Tesseract's reading, except that a digit the cell does not look
    like (this picture's digits are all proven) is its look-alike letter (``I0`` is ``IO``).
    """
    if not cells:
        return {}
    labels, cents, thresholds = template_centres(vecs, templates, match)
    d = glyph_distances(np.stack([vecs[c] for c in cells]), cents) if labels else np.zeros((len(cells), 0))
    font_d = font.distances(np.stack([raw[c] for c in cells]), _side_mask(False, False)) if font is not None else None
    out: dict[tuple[int, int], str] = {}
    for n, c in enumerate(cells):
        vote = votes.get(c)
        if font is not None and font_d is not None:
            order = np.argsort(font_d[n])
            ch, f1, f2 = font.chars[order[0]], font_d[n, order[0]], font_d[n, order[1]]
            near = f1 <= FONT_RADIUS * font.radius
            margin_f = max(FONT_MARGIN, FONT_MARGIN_SHARE * font.radius)
            f_vote = font_d[n, font.chars.index(vote)] if vote in font.chars else None
            # The font's glyph when the cell clearly is that glyph, or when Tesseract read a glyph
            # the cell is clearly further from; where Tesseract gave no reading at all, the nearest
            # glyph when no other is close (small marks such as . and : are far from everything).
            if near and (f2 - f1 >= margin_f or (f_vote is not None and f_vote - f1 >= margin_f)):
                out[c] = ch
                continue
            if vote is None and f2 - f1 >= max(margin_f, 0.5 * f1):
                out[c] = ch
                continue
        if labels:
            ratio = d[n] / thresholds
            k = int(np.argmin(ratio))
            other = min((d[n, j] for j in range(len(labels)) if j != k), default=9.0)
            if ratio[k] < 1.0 and other - d[n, k] >= margin:
                out[c] = labels[k]
                continue
            if vote is not None and vote.isdigit() and vote in labels:
                t = thresholds[labels.index(vote)]
                looks = CONFUSED_WITH.get(vote)
                if d[n, labels.index(vote)] > max(1.6 * t, t + 0.08) and looks is not None and looks.isalpha():
                    out[c] = looks
                    continue
        out[c] = vote if vote is not None else "?"
    return out


def settle_tags(
    grid: Grid,
    vecs: np.ndarray,
    raw: np.ndarray,
    blank: np.ndarray,
    cells: list[tuple[int, int]],
    votes: dict[tuple[int, int], str],
    templates: dict[str, list[tuple[int, int]]],
    match: float,
    margin: float,
    font: FontGlyphs | None = None,
) -> dict[tuple[int, int], Settled]:
    """The character of each tag cell.

    ``templates`` maps a character to cells whose identity is certain; ``match`` is how close a
    cell must be to a template to be it (from how alike one glyph's cells are in this picture).
    ``vecs`` are the cells as compared elsewhere; ``raw`` the unscaled samples, from which a tag
    cell next to an inked cell is compared without the two sample columns on that side (where a
    wide neighbour spills over), the templates alike.  ``font``, when an installed font draws the
    picture, gives a glyph for every letter: a cell no template explains that is as close to one
    of its glyphs as the proven cells are to theirs, and clearly closer than to any other, is that
    letter.
    """
    if not cells:
        return {}
    labels, _, thresholds = template_centres(vecs, templates, match)
    tops: dict[str, list[float]] = {}
    bottoms: list[float] = []
    for t in labels:
        for c in templates[t][:12]:
            top, bottom = cell_extent(grid, *c)
            tops.setdefault(t, []).append(top)
            if t.isdigit():
                bottoms.append(bottom)
    heights = picture_heights(tops)
    baseline = float(np.median(bottoms)) if len(bottoms) >= 3 else None
    cell_vecs = np.stack([vecs[c] for c in cells])
    plain = _nearest_templates(raw, cells, templates, labels, thresholds, [(False, False)] * len(cells))
    sides = [_spill_sides(raw, blank, c) for c in cells]
    spilled = _nearest_templates(raw, cells, templates, labels, thresholds, sides)
    by_font = _font_readings(font, raw, cells, sides)
    out: dict[tuple[int, int], Settled] = {}
    free: list[int] = []  # cells that are no template glyph
    near_miss: dict[int, str] = {}
    for n, c in enumerate(cells):
        vote = _tag_vote(votes.get(c))
        best, d1, d2, t1 = plain[n]
        if d1 < t1 and d2 - d1 >= margin:
            out[c] = Settled(best)  # this picture's glyph
            continue
        s_best, s_d1, s_d2, s_t1 = spilled[n]
        if sides[n] != (False, False) and s_d1 < s_t1 and s_d2 - s_d1 >= margin and vote == s_best:
            out[c] = Settled(s_best)  # this glyph once a wide neighbour's spill is left out, as Tesseract read it
            continue
        if by_font.get(n) is not None:
            out[c] = Settled(by_font[n])  # the installed font that draws this picture draws this letter so
            continue
        free.append(n)
        if d1 < max(1.6 * t1, t1 + 0.08):
            near_miss[n] = best
        elif sides[n] != (False, False) and s_d1 < max(1.6 * s_t1, s_t1 + 0.08):
            near_miss[n] = s_best

    def settle_vote(vote: str | None, c: tuple[int, int], near: str | None) -> tuple[str | None, str | None]:
        """A reading made consistent with the templates and with the ink's height and depth."""
        if vote is None or not vote.isascii() or not vote.isalnum():
            return None, "unread"
        top, bottom = cell_extent(grid, *c)
        why = None
        if near is not None and (vote == near or vote in templates):
            # Almost this picture's glyph, and Tesseract read it so or read a glyph it is not.
            return near, f"read {vote!r}, looks almost like {near!r}"
        if vote in templates:  # not this picture's glyph for it (else it had matched)
            if vote.lower() in SAME_SHAPE_CASE and vote.swapcase() not in templates:
                vote = vote.swapcase()
            else:
                other = CONFUSED_WITH.get(vote)
                if other is None or other in templates:
                    return vote, f"does not look like this picture's {vote!r}"
                why = f"read {vote!r}, not this picture's {vote!r}"
                vote = other
        if vote.lower() in SAME_SHAPE_CASE and heights is not None:
            case = heights.case_of(top)
            if case is None:
                why = "; ".join(filter(None, (why, "capital or small letter?")))
            else:
                vote = vote.upper() if case == "upper" else vote.lower()
        partners = [p for p in NO_TEMPLATE_LOOKALIKES.get(vote, "") if p not in templates]
        if vote not in templates and partners:
            # No glyph of this picture tells these apart, and Tesseract mixes them up.
            why = "; ".join(filter(None, (why, f"{vote!r} or {' or '.join(map(repr, partners))}?")))
        if vote in ("V", "Y"):
            # Y's arms meet half-way down, V's strokes only near the baseline.
            meet = _arms_meet(raw[c])
            if meet is None or 0.55 <= meet <= 0.68:
                why = "; ".join(filter(None, (why, "V or Y?")))
            else:
                vote = "V" if meet > 0.68 else "Y"
        if vote in ("O", "Q") and baseline is not None and heights is not None:
            # Q's tail reaches below the baseline, O's ink does not.
            depth = (bottom - baseline) / max(heights.x_top - heights.cap_top, 0.05)
            if depth > 0.35:
                vote = "Q"
            elif depth < 0.15:
                vote = "O"
            else:
                why = "; ".join(filter(None, (why, "O or Q?")))
        return vote, why

    # The cells no template explains: look-alikes read alike, by the majority of their readings.
    if not free:
        return out
    groups = leader_clusters(cell_vecs[free], max(match, 0.12))
    group_label: dict[int, str] = {}
    for g in range(int(groups.max()) + 1):
        ms = [free[k] for k in np.flatnonzero(groups == g)]
        readings: Counter[str] = Counter()
        reasons: list[str] = [f"looks almost like {near_miss[n]!r}" for n in ms if n in near_miss]
        for n in ms:
            got, why = settle_vote(_tag_vote(votes.get(cells[n])), cells[n], near_miss.get(n))
            if got is not None:
                readings[got] += 1
            if why:
                reasons.append(why)
        if not readings:
            for n in ms:
                out[cells[n]] = Settled("?", "unread")
            continue
        best, count = readings.most_common(1)[0]
        if count < sum(readings.values()):
            reasons.append("cells alike read as " + " or ".join(repr(k) for k in readings))
        group_label[g] = best
        doubt = "; ".join(dict.fromkeys(reasons)) or None
        for n in ms:
            out[cells[n]] = Settled(best, doubt)
    # Two glyphs that look different cannot both be the same character.
    by_label: dict[str, list[int]] = {}
    for g, lab in group_label.items():
        by_label.setdefault(lab, []).append(g)
    for lab, gs in by_label.items():
        if len(gs) > 1:
            cent = [_unit(cell_vecs[[free[k] for k in np.flatnonzero(groups == g)]].mean(axis=0)) for g in gs]
            far = glyph_distances(np.stack(cent), np.stack(cent)).max()
            if far > 2.0 * max(match, 0.12):
                for g in gs:
                    for k in np.flatnonzero(groups == g):
                        c = cells[free[k]]
                        why = f"two different glyphs both read as {lab!r}"
                        out[c] = Settled(lab, "; ".join(filter(None, (out[c].doubt, why))))
    return out


#: A cell is the font's glyph when it lies within this factor of the font's radius (how far the proven
#: cells lie from their glyphs) ...
FONT_RADIUS = 1.15
#: ... and the next glyph is this much further (absolute, and as a share of the radius).
FONT_MARGIN = 0.03
FONT_MARGIN_SHARE = 0.25


def _font_readings(
    font: FontGlyphs | None, raw: np.ndarray, cells: list[tuple[int, int]], sides: list[tuple[bool, bool]]
) -> dict[int, str | None]:
    """The font's reading of each tag cell (index into ``cells``), None where it does not clearly settle it."""
    if font is None or not cells:
        return {}
    out: dict[int, str | None] = {}
    margin = max(FONT_MARGIN, FONT_MARGIN_SHARE * font.radius)
    for side in set(sides):
        idx = [n for n, sd in enumerate(sides) if sd == side]
        found = font.nearest(np.stack([raw[cells[n]] for n in idx]), _side_mask(*side), TAG_ALPHABET)
        for n, (ch, d1, d2) in zip(idx, found, strict=True):
            out[n] = ch if d1 <= FONT_RADIUS * font.radius and d2 - d1 >= margin else None
    return out


#: Symbols Tesseract gives for tag letters drawn in console fonts (a bitmap V comes back as a yen sign).
_TAG_LOOKALIKE = {"¥": "V", "@": "0", "§": "S", "$": "S", "€": "E", "£": "E", "|": "l"}


def _tag_vote(vote: str | None) -> str | None:
    return None if vote is None else _TAG_LOOKALIKE.get(vote, vote)


def _spill_sides(raw: np.ndarray, blank: np.ndarray, c: tuple[int, int]) -> tuple[bool, bool]:
    """Whether ink runs across the cell's left / right edge into an inked neighbour (a wide glyph spilling)."""
    cw, ch = CELL_SHAPE
    me = raw[c].reshape(ch, cw)
    out = []
    for step, mine, theirs in ((-1, slice(0, 2), slice(cw - 2, cw)), (1, slice(cw - 2, cw), slice(0, 2))):
        j = c[1] + step
        if not 0 <= j < blank.shape[1] or blank[c[0], j]:
            out.append(False)
            continue
        nb = raw[c[0], j].reshape(ch, cw)
        crossing = np.minimum(me[:, mine].max(axis=1), nb[:, theirs].max(axis=1))
        out.append(float(crossing.sum()) > 1.5)
    return out[0], out[1]


def _nearest_templates(
    raw: np.ndarray,
    cells: list[tuple[int, int]],
    templates: dict[str, list[tuple[int, int]]],
    labels: list[str],
    thresholds: np.ndarray,
    sides: list[tuple[bool, bool]],
) -> list[tuple[str, float, float, float]]:
    """Per cell: (nearest template by its own radius, distance, distance of the next character, radius)."""
    if not labels:
        return [("", 9.0, 9.0, 0.0)] * len(cells)
    d = np.zeros((len(cells), len(labels)))
    for side in set(sides):
        mask = _side_mask(*side)
        cents = np.stack([_unit(np.mean([_unit(raw[c] * mask) for c in templates[t][:40]], axis=0)) for t in labels])
        idx = [n for n, sd in enumerate(sides) if sd == side]
        d[idx] = glyph_distances(np.stack([_unit(raw[cells[n]] * mask) for n in idx]), cents)
    out = []
    for n in range(len(cells)):
        k = int(np.argmin(d[n] / thresholds))
        other = min((d[n, j] for j in range(len(labels)) if j != k), default=9.0)
        out.append((labels[k], float(d[n, k]), float(other), float(thresholds[k])))
    return out


def _arms_meet(sample: np.ndarray) -> float | None:
    """How far down the glyph (0 top, 1 bottom) its two upper strokes join into one."""
    cw, ch = CELL_SHAPE
    img = sample.reshape(ch, cw) > 0.45
    inked = np.flatnonzero(img.any(axis=1))
    if len(inked) < 5:
        return None
    top, bottom = int(inked[0]), int(inked[-1])
    seen_two = False
    for y in range(top, bottom + 1):
        row = img[y].astype(int)
        runs = int(np.sum(np.diff(np.concatenate(([0], row))) == 1))
        if runs >= 2:
            seen_two = True
        elif runs == 1 and seen_two:
            return (y - top) / max(bottom - top, 1)
    return None


def _side_mask(left: bool, right: bool) -> np.ndarray:
    cw, ch = CELL_SHAPE
    mask = np.ones((ch, cw), dtype=np.float32)
    mask[:, [0, -1]] = 0.0
    if left:
        mask[:, 1] = 0.0
    if right:
        mask[:, -2] = 0.0
    return mask.ravel()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-6)
