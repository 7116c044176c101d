"""PoolMon console screens of our own, as text and as pictures, for the screenshot reader.

A screen is generated from a seed (tags, counters obeying PoolMon's identities, change
columns, optional Mapped_Driver text), laid out as PoolMon prints it at 80 or 132
columns, and drawn with PIL in a monospace font (TrueType DejaVu Sans Mono or
Liberation Mono, or the Terminus bitmap console font) in one of the usual console
colour schemes, optionally inside a window frame, saved as PNG or JPEG.

Used by tests/test_screenshots.py and bench/ocr_bench.py.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

FONT_FILES = {
    "dejavu": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "liberation": "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "terminus": "/usr/share/fonts/X11/misc/ter-u{size}n_unicode.pcf.gz",
}
TERMINUS_SIZES = (12, 14, 16, 18, 20, 22, 24, 28, 32)

#: (text colour, background colour) of common consoles.
SCHEMES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "cmd": ((192, 192, 192), (0, 0, 0)),  # classic cmd.exe grey on black
    "white": ((255, 255, 255), (0, 0, 0)),
    "blue": ((192, 192, 192), (0, 0, 128)),  # classic blue console
    "powershell": ((238, 237, 240), (1, 36, 86)),
    "light": ((0, 0, 0), (255, 255, 255)),  # dark on light
    "green": ((0, 255, 0), (0, 0, 0)),
    "campbell": ((204, 204, 204), (12, 12, 12)),  # Windows Terminal default
}

_TAG_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_DRIVERS = (
    "[ntfs.sys  -  ERESOURCE]",
    "[nt!io - general IO allocations]",
    "[abc][abc.sys - queue]",
    "[nt!ps - Thread objects]",
    "[Font related stuff]",
    "Unknown Driver",
    "[tcpip.sys - Network buffers]",
    "[nt!mm - Mm section object prototype ptes]",
)


@dataclass(frozen=True)
class ScreenRow:
    tag: str
    pool: str  # "Nonp" or "Paged"
    allocs: int
    frees: int
    bytes: int
    allocs_change: int
    frees_change: int
    bytes_change: int
    driver: str | None = None

    @property
    def diff(self) -> int:
        return self.allocs - self.frees

    @property
    def per_alloc(self) -> int:
        return self.bytes // self.diff if self.diff else 0


@dataclass
class Screen:
    rows: list[ScreenRow]
    width: int = 80
    mapped_driver: bool = False
    title: str = "System pool information"
    header: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = list(self.header)
        out.append(f" {self.title}")
        head = " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc"
        if self.mapped_driver:
            head += "     Mapped_Driver"
        out.append(head)
        out.append("")
        for r in self.rows:
            line = (
                f" {r.tag:4} {r.pool:<5}{r.allocs:>10} ({r.allocs_change:>4}){r.frees:>10} ({r.frees_change:>4})"
                f"{r.diff:>9}{r.bytes:>8} ({r.bytes_change:>6}){r.per_alloc:>7}"
            )
            if self.mapped_driver and r.driver:
                line += " " + r.driver
            out.append(line)
        return [line[: self.width] for line in out]

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"


def random_tag(rng: random.Random) -> str:
    n = rng.choice((4, 4, 4, 4, 4, 3, 2))
    tag = "".join(rng.choice(_TAG_CHARS) for _ in range(n))
    if n == 4 and rng.random() < 0.08:
        tag = tag[:2] + " " + tag[3]
    return tag.ljust(4)


def _number(rng: random.Random, digits_lo: int, digits_hi: int) -> int:
    d = rng.randint(digits_lo, digits_hi)
    return rng.randint(10 ** (d - 1), 10**d - 1)


def random_rows(rng: random.Random, n: int, tags: list[tuple[str, str]] | None = None) -> list[ScreenRow]:
    rows: list[ScreenRow] = []
    seen: set[tuple[str, str]] = set()
    while len(rows) < n:
        if tags and len(rows) < len(tags):
            tag, pool = tags[len(rows)]
        else:
            tag, pool = random_tag(rng), rng.choice(("Nonp", "Paged"))
        if (tag, pool) in seen:
            continue
        seen.add((tag, pool))
        allocs = _number(rng, 1, 9)
        diff = min(allocs, _number(rng, 1, 5)) if rng.random() < 0.9 else 0
        frees = allocs - diff
        size = rng.choice((16, 32, 48, 64, 96, 128, 160, 256, 320, 512, 640, 1024, 4096)) + rng.choice((0, 0, 0, 8))
        nbytes = diff * size + (rng.randint(0, diff - 1) if diff and rng.random() < 0.2 else 0)
        if nbytes > 99_999_999:
            nbytes = 99_999_999 - rng.randint(0, 9999)
        if diff == 0 and rng.random() < 0.5:
            nbytes = 0
        ca = rng.choice((0, 0, 0, rng.randint(1, 9), rng.randint(10, 999)))
        cf = rng.choice((0, 0, 0, rng.randint(1, 9), rng.randint(10, 999)))
        cb = rng.choice((0, 0, rng.randint(-9999, 9999), rng.randint(-99999, 99999), size * rng.randint(-40, 40)))
        driver = rng.choice(_DRIVERS)
        rows.append(ScreenRow(tag, pool, allocs, frees, nbytes, ca, cf, cb, driver))
    return rows


def header_lines(rng: random.Random) -> list[str]:
    mem = rng.randint(2_000_000, 33_000_000)
    avail = rng.randint(200_000, mem)
    commit = rng.randint(1_000_000, 9_999_999)
    limit = commit + rng.randint(100_000, 9_000_000)
    npk, pgk = rng.randint(50_000, 999_999), rng.randint(50_000, 999_999)
    return [
        f" Memory:{mem:>8}K Avail:{avail:>8}K  PageFlts:{rng.randint(0, 99999):>6}"
        f"   InRam Krnl:{14212:>5}K P:{251880:>6}K",
        f" Commit:{commit:>7}K Limit:{limit:>7}K Peak:{commit + 812344:>7}K            Pool N:{npk:>6}K P:{pgk:>6}K",
    ]


def random_screen(seed: int, *, n_rows: int = 24, width: int = 80, mapped_driver: bool = False) -> Screen:
    rng = random.Random(seed)
    return Screen(random_rows(rng, n_rows), width, mapped_driver, header=header_lines(rng))


def later_screen(before: Screen, seed: int) -> Screen:
    """The same machine later: a few tags grew, others churned."""
    rng = random.Random(seed)
    rows = []
    for k, r in enumerate(before.rows):
        grow = rng.randint(0, 400) if k % 3 == 0 else 0
        churn = rng.randint(0, 5000)
        size = r.bytes // r.diff if r.diff else 64
        rows.append(
            dataclasses.replace(r, allocs=r.allocs + churn + grow, frees=r.frees + churn, bytes=r.bytes + grow * size)
        )
    return dataclasses.replace(before, rows=rows)


# -- drawing ------------------------------------------------------------------------------------

_font_cache: dict[tuple[str, int], object] = {}


def load_font(name: str, size: int, cache_dir: Path | None = None):
    """A PIL font; Terminus (a PCF bitmap font) is converted once to PIL's own format."""
    from PIL import ImageFont

    key = (name, size)
    if key in _font_cache:
        return _font_cache[key]
    if name == "terminus":
        from PIL import PcfFontFile

        size = min(TERMINUS_SIZES, key=lambda s: abs(s - size))
        folder = cache_dir or Path("/tmp/poolscope-fonts")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"ter-u{size}n.pil"
        if not target.exists():
            raw = gzip.decompress(Path(FONT_FILES["terminus"].format(size=size)).read_bytes())
            PcfFontFile.PcfFontFile(io.BytesIO(raw)).save(str(target))
        font = ImageFont.load(str(target))
    else:
        font = ImageFont.truetype(FONT_FILES[name], size)
    _font_cache[key] = font
    return font


def draw_screen(
    screen: Screen,
    font_name: str = "dejavu",
    size: int = 14,
    scheme: str = "cmd",
    *,
    frame: bool = False,
    rows_visible: int | None = None,
):
    """The screen as a PIL image: a console of ``screen.width`` columns, optionally in a window frame."""
    from PIL import Image, ImageDraw

    font = load_font(font_name, size)
    fg, bg = SCHEMES[scheme]
    if font_name == "terminus":
        left, _, right, _ = font.getbbox("M")
        cell_w = int(font.getlength("M")) or (right - left)
        cell_h = size
    else:
        cell_w = round(font.getlength("M"))  # consoles use whole-pixel cells
        cell_h = round(size * 1.2)
    lines = screen.lines()
    n_lines = max(rows_visible or 0, len(lines) + 1)
    pad = 4
    width = round(cell_w * screen.width) + 2 * pad
    height = cell_h * n_lines + 2 * pad
    console = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(console)
    for i, line in enumerate(lines):
        y = pad + i * cell_h
        if font_name == "terminus":
            draw.text((pad, y), line, font=font, fill=fg)
        else:
            # Draw column by column at exact pitch, as a console does.
            for j, ch in enumerate(line):
                if ch != " ":
                    draw.text((pad + j * cell_w, y), ch, font=font, fill=fg)
    if not frame:
        return console
    chrome = Image.new("RGB", (width + 40, height + 70), (230, 230, 230))
    d = ImageDraw.Draw(chrome)
    d.rectangle((0, 0, width + 40, 30), fill=(255, 255, 255))
    d.text((36, 8), "Administrator: Command Prompt - poolmon", fill=(0, 0, 0), font=load_font("dejavu", 13))
    d.rectangle((width + 20, 32, width + 38, height + 60), fill=(205, 205, 205))
    chrome.paste(console, (8, 34))
    return chrome


def save_image(image, path: Path, quality: int | None = None) -> Path:
    """PNG, or JPEG at ``quality`` (4:2:0 chroma, as most tools save)."""
    if quality is None:
        image.save(path, format="PNG")
    else:
        image.save(path, format="JPEG", quality=quality)
    return path
