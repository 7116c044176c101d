"""The console's font, when it is one installed here: every letter drawn as the picture draws it.

A picture proves only the glyphs it shows with a known identity (digits the identities
confirm, ``Nonp``/``Paged``, PoolMon's own header words); a tag letter PoolMon never prints
(``J``, ``Q``, ``V``, ``w`` ...) has no such template and rests on Tesseract.  If the picture
was drawn in a monospace font installed on this machine, that font drawn at the picture's
cell size gives every letter.  A font is used only when it proves itself: drawn at the best
size and offset, it must read every proven cell of the picture as what the picture proved it
to be, and lie as close to those cells as they lie to each other.  Otherwise (a font not
installed here: Consolas, Lucida Console, a raster font) nothing is taken from fonts and
the reader falls back on the picture's own templates and Tesseract.

Candidates: the monospace fonts fontconfig knows (``fc-list :spacing=mono``, regular and bold)
and bitmap console fonts (PCF) under /usr/share/fonts/X11.  ``POOLSCOPE_OCR_FONTS_EXCLUDE``
(comma-separated parts of file names) leaves fonts out, to measure what happens without them.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .picture import CELL_SHAPE, glyph_distances

#: Characters a tag or driver-text cell may be: every letter and digit.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#: Other characters of driver text and header lines, drawn too so that none passes for a letter.
TEXT_SYMBOLS = "()[]-_.,:;!/'\"&+*#%$@<>=?\\"
#: A font whose glyphs lie further than this from the picture's proven glyphs (mean distance of
#: unit vectors) is not the picture's font.  Set on the tuning screens: the right font lay within
#: 0.22 there (JPEG quality 50 included), the nearest wrong one at 0.29 or more.
FONT_FIT = 0.25
EXCLUDE_ENV = "POOLSCOPE_OCR_FONTS_EXCLUDE"
_PAD = 6
#: Blurs tried on the chosen font's glyphs (JPEG softens a picture's edges).
_BLURS = (0.4, 0.7, 1.0)
_PCF_DIRS = ("/usr/share/fonts/X11",)


@dataclass(frozen=True)
class FontChoice:
    """An installed font at one size and cell offset, and how well it fits the picture's proven cells."""

    path: str
    size: int
    dx: float
    dy: float
    fit: float  # mean distance between its glyphs and the picture's proven glyphs
    blur: float = 0.0  # Gaussian blur (pixels) that makes it look like the picture (JPEG softens edges)


def _excluded(path: str) -> bool:
    parts = [p.strip().lower() for p in os.environ.get(EXCLUDE_ENV, "").split(",") if p.strip()]
    return any(p in path.lower() for p in parts)


@functools.cache
def _truetype_files() -> tuple[str, ...]:
    try:
        run = subprocess.run(
            ["fc-list", ":spacing=mono", "file", "style"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    out = set()
    for line in run.stdout.splitlines():
        path, _, style = line.partition(":")
        if path.endswith((".ttf", ".otf")) and not re.search(r"italic|oblique", style + path, re.IGNORECASE):
            out.add(path.strip())
    return tuple(sorted(out))


@functools.cache
def _pcf_files() -> tuple[str, ...]:
    """Bitmap fonts, one file per family and size (the encodings share their ASCII glyphs)."""
    by_base: dict[str, str] = {}
    for folder in _PCF_DIRS:
        for path in sorted(Path(folder).rglob("*.pcf*")):
            name = path.name.split(".pcf")[0]
            base, _, enc = name.partition("_")
            if not enc or enc.lower() in ("unicode", "iso-8859-1", "iso8859-1", "iso10646-1"):
                by_base.setdefault(base, str(path))
    return tuple(by_base.values())


@functools.cache
def _load(path: str, size: int):
    from PIL import ImageFont

    if ".pcf" in path:
        from PIL import PcfFontFile

        raw = Path(path).read_bytes()
        if path.endswith(".gz"):
            raw = gzip.decompress(raw)
        return PcfFontFile.PcfFontFile(io.BytesIO(raw)).to_imagefont()
    return ImageFont.truetype(path, size)


def _candidates(col_pitch: float, line_pitch: float) -> list[tuple[str, int]]:
    """(file, size) pairs whose character advance is the picture's cell width."""
    want = round(col_pitch)
    out: list[tuple[str, int]] = []
    for path in _truetype_files():
        if _excluded(path):
            continue
        try:
            unit = _load(path, 100).getlength("M") / 100
        except OSError:
            continue
        for size in range(max(6, int(want / unit) - 2), int(want / unit) + 3):
            if round(unit * size) == want and size <= line_pitch + 1:
                out.append((path, size))
    for path in _pcf_files():
        if _excluded(path):
            continue
        numbers = [int(n) for n in re.findall(r"\d+", Path(path).name.split(".pcf")[0])]
        if numbers and not any(abs(n - line_pitch) <= 3 or n == want for n in numbers):
            continue  # a file name giving its size: not this picture's
        try:
            font = _load(path, 0)
        except (OSError, ValueError, SyntaxError):
            continue
        if round(font.getlength("M")) == want:
            out.append((path, 0))
    return out


@functools.cache
def _canvas(path: str, size: int, ch: str, width: int, height: int, blur: float) -> np.ndarray:
    """One character drawn white on black at (_PAD, _PAD) on a canvas a little larger than a cell."""
    from PIL import Image, ImageDraw, ImageFilter

    img = Image.new("L", (width + 2 * _PAD, height + 2 * _PAD), 0)
    ImageDraw.Draw(img).text((_PAD, _PAD), ch, font=_load(path, size), fill=255)
    if blur > 0:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(img, dtype=np.float32) / 255.0


def render(
    path: str, size: int, chars: str, col_pitch: float, line_pitch: float, dx: float, dy: float, blur: float = 0.0
) -> np.ndarray:
    """The characters' cells (one row each), sampled as picture.cell_vectors samples a picture's cells."""
    width, height = int(np.ceil(col_pitch)) + 2, int(np.ceil(line_pitch)) + 2
    stack = _stack(path, size, chars, width, height, blur)
    cw, chh = CELL_SHAPE
    ys = _PAD + dy + (np.arange(chh) + 0.5) * line_pitch / chh
    xs = _PAD + dx + (np.arange(cw) + 0.5) * col_pitch / cw
    h, w = stack.shape[1:]
    y = np.clip(ys, 0, h - 1.001)
    x = np.clip(xs, 0, w - 1.001)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    a = stack[:, y0[:, None], x0[None, :]]
    b = stack[:, y0[:, None], x0[None, :] + 1]
    c = stack[:, y0[:, None] + 1, x0[None, :]]
    d = stack[:, y0[:, None] + 1, x0[None, :] + 1]
    out = a * (1 - fy) * (1 - fx) + b * (1 - fy) * fx + c * fy * (1 - fx) + d * fy * fx
    return out.reshape(len(chars), -1)


@functools.cache
def _stack(path: str, size: int, chars: str, width: int, height: int, blur: float) -> np.ndarray:
    return np.stack([_canvas(path, size, ch, width, height, blur) for ch in chars])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-6)


def _centre(vec: np.ndarray) -> tuple[float, float]:
    """Ink centre of mass of a cell sample (x, y in samples)."""
    cw, ch = CELL_SHAPE
    img = vec.reshape(ch, cw)
    total = max(float(img.sum()), 1e-6)
    x = float((img.sum(axis=0) * np.arange(cw)).sum() / total)
    return x, float((img.sum(axis=1) * np.arange(ch)).sum() / total)


def identify_font(
    proven: dict[str, np.ndarray], col_pitch: float, line_pitch: float, mask: np.ndarray
) -> FontChoice | None:
    """The installed font, size and offset that draw the proven glyphs (char -> mean raw cell) best."""
    if len(proven) < 4:
        return None
    cw, ch = CELL_SHAPE
    chars = sorted(proven)
    targets = _unit(np.stack([proven[c] * mask for c in chars]))
    text = "".join(chars)

    def fit(path: str, size: int, dx: float, dy: float, blur: float = 0.0) -> float:
        got = _unit(render(path, size, text, col_pitch, line_pitch, dx, dy, blur) * mask)
        return float(np.sqrt(np.maximum(0.0, 2.0 - 2.0 * (got * targets).sum(axis=1))).mean())

    guesses = []
    for path, size in _candidates(col_pitch, line_pitch):
        # First guess: line the centres of mass up.
        drawn = render(path, size, text, col_pitch, line_pitch, 0.0, 0.0)
        shifts = []
        for k, c in enumerate(chars):
            px, py = _centre(proven[c])
            rx, ry = _centre(drawn[k])
            shifts.append(((rx - px) * col_pitch / cw, (ry - py) * line_pitch / ch))
        dx, dy = (float(np.median([s[k] for s in shifts])) for k in (0, 1))
        guesses.append((fit(path, size, dx, dy), path, size, dx, dy))
    best: FontChoice | None = None
    for score, path, size, dx, dy in sorted(guesses)[:3]:
        # Then search around it: the three best first guesses only.
        for step in (1.0, 0.5, 0.25):
            moved = True
            while moved:
                moved = False
                for ddx, ddy in ((step, 0), (-step, 0), (0, step), (0, -step)):
                    s = fit(path, size, dx + ddx, dy + ddy)
                    if s < score - 1e-6:
                        score, dx, dy, moved = s, dx + ddx, dy + ddy, True
        blur = 0.0
        for sigma in _BLURS:
            s = fit(path, size, dx, dy, sigma)
            if s < score - 1e-6:
                score, blur = s, sigma
        if best is None or score < best.fit:
            best = FontChoice(path, size, dx, dy, score, blur)
    return best


@dataclass
class FontGlyphs:
    """The installed font that draws this picture: every character's cell, and how far to trust them."""

    choice: FontChoice
    chars: list[str]
    raw: np.ndarray  # the characters' cells, sampled as the picture's are
    radius: float  # how far a proven cell of the picture lies from the font's glyph for it

    def distances(self, cells: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Distance of each cell (raw samples, one a row) to each of ``chars``."""
        return glyph_distances(_unit(cells * mask), _unit(self.raw * mask))

    def nearest(self, cells: np.ndarray, mask: np.ndarray, among: str | None = None) -> list[tuple[str, float, float]]:
        """Per cell (raw samples): the nearest character, its distance and the next character's distance."""
        keep = [k for k, c in enumerate(self.chars) if among is None or c in among]
        glyphs = _unit(self.raw[keep] * mask)
        d = glyph_distances(_unit(cells * mask), glyphs)
        order = np.argsort(d, axis=1)
        rows = np.arange(len(cells))
        return [
            (self.chars[keep[order[n, 0]]], float(d[n, order[n, 0]]), float(d[n, order[n, 1]])) for n in rows
        ]


def font_glyphs(
    proven: dict[str, np.ndarray], col_pitch: float, line_pitch: float, mask: np.ndarray
) -> FontGlyphs | None:
    """The font's glyphs when an installed font draws the picture's proven cells (char -> raw cells).

    None unless the font, at its best size, offset and blur, lies within FONT_FIT of the proven
    glyphs and reads every proven cell as what it is.
    """
    means = {c: cells.mean(axis=0) for c, cells in proven.items() if len(cells)}
    choice = identify_font(means, col_pitch, line_pitch, mask)
    if choice is None or choice.fit > FONT_FIT:
        return None
    chars = sorted(set(ALPHABET + TEXT_SYMBOLS) | set(means))
    drawn = render(choice.path, choice.size, "".join(chars), col_pitch, line_pitch, choice.dx, choice.dy, choice.blur)
    glyphs = FontGlyphs(choice, chars, drawn, 0.0)
    own: list[float] = []
    right = total = 0
    for c, cells in proven.items():
        units = _unit(cells * mask)
        for got, _, _ in glyphs.nearest(cells, mask):
            right += got == c
            total += 1
        k = chars.index(c)
        own.extend(glyph_distances(units, _unit(drawn[k] * mask)).tolist())
    if right < total:
        return None  # a proven cell the font draws as another character: not this picture's font
    glyphs.radius = float(np.percentile(own, 98))
    return glyphs
