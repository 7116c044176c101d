"""From a console picture to a grid of character cells.

Consoles draw every character in a cell of one fixed size, so once the cell grid is
known, reading the screen is classifying small, identical-looking patches.  The steps:

* ink: distance of each pixel's colour from the background colour (the most common
  colour), so light-on-dark, dark-on-light and coloured consoles (classic blue, the
  PowerShell blue) all become "ink on nothing";
* crop: the largest block of rows and columns made mostly of background, which drops
  window frames, title bars and scroll bars;
* lines: text rows from the horizontal ink profile, at one regular line pitch;
* columns: the character pitch and phase that best put cell boundaries in the gaps
  between glyphs (maximum contrast between cell middles and cell edges);
* cells: each cell resampled to one small size, ink scaled to 0..1.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

#: Size every cell is resampled to (width, height) before glyphs are compared.
CELL_SHAPE = (12, 20)


def glyph_distances(vecs: np.ndarray, cents: np.ndarray) -> np.ndarray:
    """Euclidean distances between unit-length glyph vectors (rows) and centroids."""
    return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * vecs @ cents.T))


@dataclass
class Grid:
    """The cell grid of one console picture (coordinates in the cropped ink image)."""

    ink: np.ndarray  # float32 0..1, cropped to the console
    line_pitch: float
    line_phase: float
    n_lines: int
    col_pitch: float
    col_phase: float
    n_cols: int
    crop: tuple[int, int, int, int]  # left, top, right, bottom in the original picture

    def line_span(self, i: int) -> tuple[int, int]:
        top = self.line_phase + i * self.line_pitch
        return max(0, round(top)), min(self.ink.shape[0], round(top + self.line_pitch))

    def col_span(self, j: int) -> tuple[int, int]:
        left = self.col_phase + j * self.col_pitch
        return max(0, round(left)), min(self.ink.shape[1], round(left + self.col_pitch))


def load_rgb(data: bytes, name: str) -> np.ndarray:
    try:
        from PIL import Image, UnidentifiedImageError
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the extra
        raise InputError(name, "reading pictures needs the ocr extra: pip install 'poolscope[ocr]'") from exc
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.float32)
    except UnidentifiedImageError as exc:
        raise InputError(name, "damaged picture: the image data cannot be decoded") from exc
    except (OSError, ValueError) as exc:
        raise InputError(name, f"damaged picture: {exc}") from exc


def otsu(values: np.ndarray) -> float:
    """Otsu's threshold over 0..255 values."""
    hist, edges = np.histogram(values, bins=256, range=(0, 256))
    hist = hist.astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128.0
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = total - w0
    m0 = np.cumsum(hist * centers)
    mt = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mt * w0 / total - m0) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = 0
    return float(centers[int(np.argmax(between))])


def background_colour(rgb: np.ndarray) -> np.ndarray:
    """The most common colour (quantised to 16 levels a channel), as its members' median."""
    q = (rgb // 16).astype(np.int32)
    code = (q[..., 0] * 256 + q[..., 1] * 16 + q[..., 2]).ravel()
    top = np.bincount(code).argmax()
    members = rgb.reshape(-1, 3)[code == top]
    return np.median(members, axis=0)


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    best = (0, 0)
    start = None
    for i, v in enumerate(np.append(mask, False)):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def _close(mask: np.ndarray, gap: int) -> np.ndarray:
    """Fill runs of False no longer than ``gap`` between True values."""
    out = mask.copy()
    idx = np.flatnonzero(mask)
    for a, b in itertools.pairwise(idx):
        if 1 < b - a <= gap + 1:
            out[a:b] = True
    return out


def console_crop(rgb: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The box holding the console (mostly background colour) and the background colour."""
    bg = background_colour(rgb)
    # Brightness within a small step of the background: a light window frame around a white
    # console is not console; JPEG's colour bleeding (blue consoles) does not move brightness.
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    near = (np.abs((rgb - bg) @ luma) < 16) & (np.abs(rgb - bg).max(axis=2) < 64)
    # Columns of aligned glyphs (a column of parentheses) can be mostly ink: a low bar, gaps closed.
    cols = _longest_run(_close(near.mean(axis=0) > 0.3, 4))
    rows = _longest_run(_close(near[:, cols[0] : cols[1]].mean(axis=1) > 0.3, 2))
    return (cols[0], rows[0], cols[1], rows[1]), bg


def ink_image(rgb: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """0..1 ink: brightness distance from the background, 1 at the typical glyph colour.

    Brightness, not colour: JPEG keeps brightness sharp and blurs colour (4:2:0), which
    matters on the blue consoles.  Only a scheme whose text and background are equally
    bright falls back to colour distance.
    """
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    dist = np.abs((rgb - bg) @ luma)
    if np.percentile(dist, 99.5) < 40:
        dist = np.abs(rgb - bg).max(axis=2)
    cut = otsu(dist)
    strong = dist[dist > cut]
    full = float(np.percentile(strong, 75)) if strong.size else 255.0
    return np.clip(dist / max(full, 1.0), 0, 1).astype(np.float32)


def _runs(profile: np.ndarray) -> list[tuple[int, int]]:
    on = np.append(profile, False)
    out = []
    start = None
    for i, v in enumerate(on):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    return out


def find_lines(ink: np.ndarray) -> tuple[float, float, int]:
    """(pitch, phase, count) of text lines from the horizontal ink profile."""
    binary = ink > 0.5
    profile = binary.sum(axis=1) > max(1, binary.shape[1] // 400)
    runs = [r for r in _runs(profile) if r[1] - r[0] >= 3]
    if len(runs) < 3:
        raise ValueError("too few text lines")
    starts = np.array([r[0] for r in runs], dtype=np.float64)
    heights = np.array([r[1] - r[0] for r in runs], dtype=np.float64)
    gaps = np.diff(starts)
    base = np.percentile(gaps, 20)
    # Gaps are whole multiples of the pitch (blank lines in between): refine on them.
    mult = np.maximum(1, np.round(gaps / base))
    ok = np.abs(gaps / mult - base) < 0.25 * base
    pitch = float(np.sum(gaps[ok]) / np.sum(mult[ok]))
    # Least squares over all line tops: each sits at a whole number of pitches from the first.
    k = np.round((starts - starts[0]) / pitch)
    if len(np.unique(k)) >= 2:
        pitch = float(np.polyfit(k, starts, 1)[0])
    if abs(pitch - round(pitch)) < 0.15:
        pitch = float(round(pitch))
    centre = starts + heights / 2
    # Circular mean of the line centres modulo the pitch.
    angles = 2 * np.pi * (centre % pitch) / pitch
    mean = np.angle(np.mean(np.exp(1j * angles))) % (2 * np.pi)
    centre_phase = mean / (2 * np.pi) * pitch
    phase = centre_phase - pitch / 2
    first = np.floor((runs[0][0] - phase) / pitch + 0.25)
    phase = phase + first * pitch
    n = int(np.floor((runs[-1][1] - phase) / pitch - 0.25)) + 1
    return pitch, phase, n


def find_columns(ink: np.ndarray, lines: tuple[float, float, int]) -> tuple[float, float, int]:
    """(pitch, phase, count) of character columns: boundaries where glyphs are not.

    For each candidate pitch the ink profile is folded modulo the pitch; the right pitch
    gives the deepest fold (empty cell edges against inked cell middles).
    """
    pitch_h, _, _ = lines
    profile = (ink > 0.5).sum(axis=0).astype(np.float64)
    width = len(profile)
    xs = np.arange(width, dtype=np.float64)

    def fold(w: float) -> tuple[float, float]:
        bins = max(4, round(w))  # about one bin a pixel: no empty bins
        idx = (((xs / w) % 1.0) * bins).astype(int) % bins
        sums = np.bincount(idx, weights=profile, minlength=bins)
        counts = np.maximum(np.bincount(idx, minlength=bins), 1)
        h = sums / counts
        contrast = np.roll(h, -bins // 2) - h
        b = int(np.argmax(contrast))
        # The boundary goes right after the emptiest column: a wide glyph (M, W) may ink the
        # column after it, which belongs to its own cell, not to the one before.
        near = [(b + k) % bins for k in (0, -1, 1)]
        edge = min(near, key=lambda k: h[k])
        return float(contrast[b]), (edge + 0.5) / bins * w

    def search(ws: np.ndarray) -> tuple[float, float, float]:
        best = (-1e18, 0.0, 0.0)
        for w in ws:
            if width / w >= 20:
                score, phi = fold(float(w))
                if score > best[0]:
                    best = (score, float(w), phi)
        return best

    best = search(np.arange(0.35 * pitch_h, 0.8 * pitch_h, 0.05))
    best = search(np.arange(best[1] - 0.06, best[1] + 0.06, 0.002))
    _, w, phi = best
    if abs(w - round(w)) < 0.04:
        # Consoles draw whole-pixel cells; only a resized picture has a fractional pitch.
        w = float(round(w))
        _, phi = fold(w)
    n = int((width - phi + 0.4 * w) // w)  # a last cell cut by the crop still counts
    return w, phi, n


def build_grid(data: bytes, name: str) -> Grid:
    rgb = load_rgb(data, name)
    (left, top, right, bottom), bg = console_crop(rgb)
    if right - left < 40 or bottom - top < 20:
        raise InputError(name, "no console window found in the picture")
    ink = ink_image(rgb[top:bottom, left:right], bg)
    try:
        lines = find_lines(ink)
    except ValueError as exc:
        raise InputError(name, "no text lines found in the picture") from exc
    cols = find_columns(ink, lines)
    return Grid(ink, *lines, *cols, crop=(left, top, right, bottom))


def cell_vectors(grid: Grid) -> np.ndarray:
    """Every cell resampled to CELL_SHAPE: array (lines, columns, h*w) of float32."""
    cw, ch = CELL_SHAPE
    out = np.zeros((grid.n_lines, grid.n_cols, cw * ch), dtype=np.float32)
    # Sample positions inside a cell, shared by all cells (area sampling by averaging 2x2 offsets).
    for i in range(grid.n_lines):
        y0 = grid.line_phase + i * grid.line_pitch
        ys = y0 + (np.arange(ch) + 0.5) * grid.line_pitch / ch
        for j in range(grid.n_cols):
            x0 = grid.col_phase + j * grid.col_pitch
            xs = x0 + (np.arange(cw) + 0.5) * grid.col_pitch / cw
            out[i, j] = sample_grid(grid.ink, ys, xs).ravel()
    return out


def sample_grid(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``img`` at the grid ys × xs (outside reads as 0)."""
    h, w = img.shape
    y = np.clip(ys, 0, h - 1.001)
    x = np.clip(xs, 0, w - 1.001)
    y0 = np.floor(y).astype(int)
    x0 = np.floor(x).astype(int)
    fy = (y - y0)[:, None]
    fx = (x - x0)[None, :]
    a = img[np.ix_(y0, x0)]
    b = img[np.ix_(y0, x0 + 1)]
    c = img[np.ix_(y0 + 1, x0)]
    d = img[np.ix_(y0 + 1, x0 + 1)]
    out = a * (1 - fy) * (1 - fx) + b * (1 - fy) * fx + c * fy * (1 - fx) + d * fy * fx
    inside = ((ys >= 0) & (ys < h))[:, None] & ((xs >= 0) & (xs < w))[None, :]
    return np.where(inside, out, 0)
