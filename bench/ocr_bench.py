"""Benchmark: read rendered PoolMon console pictures back and count rows read exactly.

    .venv/bin/python bench/ocr_bench.py [--set heldout|tuning] [--screens 200] [--workers 2]
    .venv/bin/python bench/ocr_bench.py --set heldout --diff-pairs 12


Screens come from tests/ocr_screens.py: random tags and counters obeying PoolMon's
identities, drawn in DejaVu Sans Mono, Liberation Mono or Terminus at 12-20 px, in seven
colour schemes, 80 or 132 columns (132 with /g Mapped_Driver text), some inside a window
frame, saved as PNG or JPEG at quality 50-90.  The reader was tuned on the ``tuning`` set
(seeds 1-99); ``heldout`` uses seeds from 100000 on, which it never saw.

A row counts as exactly right when its tag, pool and all seven numbers equal the truth.
A wrong row counts as flagged when the reader reported a doubt or repair on its line.
Prints per-case lines and a summary: rows right, wrong rows flagged/silent, seconds a screen.
With ``--hold-out-font`` each screen is read as if its own font were not installed here
(parsers/screenshot/fonts.py then finds no font, or a wrong one it must reject): the figure
for a console font the reader has never seen.  ``--fonts`` keeps only screens in those fonts.
CPU seconds (workers and Tesseract) are reported next to wall time.
With ``--diff-pairs N``: N before/after pairs (a later screen of the same machine: tags grew,
churned), each drawn as two pictures; ``poolscope diff`` on the pictures must print the same
JSON as on the same screens as text (file names and warnings aside).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from ocr_screens import draw_screen, later_screen, random_screen  # noqa: E402

FONTS = ("dejavu", "liberation", "terminus")
SIZES = (12, 14, 16, 18, 20)
SCHEMES = ("cmd", "white", "blue", "powershell", "light", "green", "campbell")
QUALITIES = (None, 50, 60, 70, 80, 90)


def cases(which: str, n: int) -> list[dict]:
    base = 1 if which == "tuning" else 100_000
    rng = random.Random(base)
    grid = list(itertools.product(FONTS, SIZES, SCHEMES, QUALITIES))
    rng.shuffle(grid)
    out = []
    for k in range(n):
        font, size, scheme, quality = grid[k % len(grid)]
        wide = rng.random() < 0.3
        out.append(
            {"seed": base + k, "font": font, "size": size, "scheme": scheme, "quality": quality,
             "width": 132 if wide else 80, "driver": wide, "frame": rng.random() < 0.3,
             "rows": rng.randint(15, 30)}
        )  # fmt: skip
    return out


def _key(line: str) -> tuple[str, str, tuple[str, ...]] | None:
    import re

    m = re.match(r"^ ?(.{4}) (Nonp |Paged)(.*)$", line)
    if not m:
        return None
    nums = tuple(re.findall(r"-?\d+", m.group(3).split("[")[0].split("Unknown")[0]))
    return m.group(1), m.group(2).strip(), nums[:8]


#: Part of each benchmark font's file name, for --hold-out-font.
FONT_FILE_PART = {"dejavu": "DejaVuSansMono", "liberation": "LiberationMono", "terminus": "ter-u"}


def _hold_out(case: dict) -> None:
    from parsers.screenshot.fonts import EXCLUDE_ENV

    if case.get("hold_out_font"):
        os.environ[EXCLUDE_ENV] = FONT_FILE_PART[case["font"]]
    else:
        os.environ.pop(EXCLUDE_ENV, None)


def run_case(case: dict) -> dict:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    _hold_out(case)
    from parsers.screenshot.reader import read_screen

    screen = random_screen(case["seed"], n_rows=case["rows"], width=case["width"], mapped_driver=case["driver"])
    image = draw_screen(screen, case["font"], case["size"], case["scheme"], frame=case["frame"])
    buf = io.BytesIO()
    if case["quality"] is None:
        image.save(buf, format="PNG")
    else:
        image.save(buf, format="JPEG", quality=case["quality"])
    truth = [_key(line) for line in screen.lines()]
    truth = [t for t in truth if t is not None]
    started = time.perf_counter()
    try:
        read = read_screen(buf.getvalue(), "bench")
    except Exception as exc:
        return {**case, "error": str(exc), "rows_total": len(truth), "right": 0, "wrong_flagged": len(truth),
                "wrong_silent": 0, "numbers_right": 0, "seconds": time.perf_counter() - started}
    seconds = time.perf_counter() - started
    got = {}
    for no, line in enumerate(read.lines, start=1):
        k = _key(line)
        if k is not None:
            got[len(got)] = (k, no)
    right = flagged = silent = numbers_right = reported_right = 0
    examples = []
    for idx, t in enumerate(truth):
        g = got.get(idx)
        flagged_line = g is not None and (g[1] in read.doubtful_lines or any(n.line == g[1] for n in read.notes
                                                                                 if n.why != "snapped to a Type word"))
        if g is not None and g[0] == t:
            right += 1
            reported_right += flagged_line
        elif g is None or flagged_line:
            flagged += 1
        else:
            silent += 1
            examples.append((t, g[0]))
        if g is not None and g[0][2] == t[2]:
            numbers_right += 1
    used = None if read.font is None else Path(read.font.choice.path).name
    return {**case, "rows_total": len(truth), "right": right, "wrong_flagged": flagged, "wrong_silent": silent,
            "numbers_right": numbers_right, "seconds": seconds, "silent_examples": examples[:3], "font_used": used,
            "reported_right": reported_right}


def run_pair(case: dict) -> dict:
    """``poolscope diff`` on a before/after picture pair and on the same screens as text."""
    import subprocess
    import tempfile
    from datetime import datetime

    _hold_out(case)
    before = random_screen(case["seed"], n_rows=case["rows"], width=case["width"], mapped_driver=case["driver"])
    after = later_screen(before, case["seed"] + 7)
    ext = ".png" if case["quality"] is None else ".jpg"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for k, (name, screen) in enumerate((("before", before), ("after", after))):
            (folder / f"{name}.txt").write_text(screen.text(), encoding="ascii")
            image = draw_screen(screen, case["font"], case["size"], case["scheme"], frame=case["frame"])
            image.save(folder / f"{name}{ext}", **({} if case["quality"] is None else {"quality": case["quality"]}))
            taken = datetime(2026, 11, 21, 9, 0).timestamp() + k * 8.5 * 3600
            for suffix in (".txt", ext):
                os.utime(folder / f"{name}{suffix}", (taken, taken))

        def diff(a: str, b: str) -> dict:
            run = subprocess.run([sys.executable, "-m", "analyzer.cli", "diff", a, b, "--format", "json"],
                                 cwd=folder, capture_output=True, text=True, check=False)  # fmt: skip
            doc = json.loads(run.stdout.replace(a, "before.txt").replace(b, "after.txt"))
            doc.pop("warnings", None)
            for side in ("before", "after"):
                if isinstance(doc.get(side), dict):
                    doc[side].pop("format", None)
            return doc

        pictures, text = diff(f"before{ext}", f"after{ext}"), diff("before.txt", "after.txt")
    tags = lambda doc: {(r["tag"], r["pool"]) for r in doc.get("rows", [])}  # noqa: E731
    return {**case, "same": pictures == text, "only_pictures": sorted(tags(pictures) - tags(text)),
            "only_text": sorted(tags(text) - tags(pictures))}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("tuning", "heldout"), default="heldout")
    ap.add_argument("--screens", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write per-screen results here")
    ap.add_argument("--diff-pairs", type=int, default=0, help="compare diff on N picture pairs with text instead")
    ap.add_argument("--hold-out-font", action="store_true", help="read each screen as if its font were not installed")
    ap.add_argument("--fonts", help="comma-separated: only screens in these fonts (same seeds as the full set)")
    args = ap.parse_args()

    def selected(n: int) -> list[dict]:
        out = [dict(c, hold_out_font=args.hold_out_font) for c in cases(args.set, n)]
        return [c for c in out if not args.fonts or c["font"] in args.fonts.split(",")]

    if args.diff_pairs:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            pairs = list(pool.map(run_pair, selected(args.diff_pairs)))
        for r in pairs:
            print(f"{r['font']:10} {r['size']:2} {r['scheme']:10} q={r['quality']} w={r['width']}: "
                  f"{'same diff' if r['same'] else 'DIFFERENT'} {r['only_pictures'] or ''} {r['only_text'] or ''}")
        print(f"set={args.set} pairs={len(pairs)}: same diff as text {sum(r['same'] for r in pairs)}/{len(pairs)}")
        return
    todo = selected(args.screens)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run_case, todo))
    wall = time.perf_counter() - started
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = used.ru_utime + used.ru_stime
    total = sum(r["rows_total"] for r in results)
    right = sum(r["right"] for r in results)
    flagged = sum(r["wrong_flagged"] for r in results)
    silent = sum(r["wrong_silent"] for r in results)
    nums = sum(r["numbers_right"] for r in results)
    secs = [r["seconds"] for r in results]
    for r in results:
        if r["right"] != r["rows_total"]:
            print(f"{r['font']:10} {r['size']:2} {r['scheme']:10} q={r['quality']} w={r['width']} frame={r['frame']}: "
                  f"{r['right']}/{r['rows_total']} right, {r['wrong_flagged']} flagged, {r['wrong_silent']} silent "
                  f"{r.get('error', '')} {r.get('silent_examples', '')}")
    print(f"set={args.set} screens={len(results)} rows={total}")
    print(f"rows exactly right: {right}/{total} = {100 * right / total:.2f} %")
    print(f"rows with all numbers right (tag aside): {nums}/{total} = {100 * nums / total:.2f} %")
    print(f"wrong rows flagged: {flagged}, wrong rows silent: {silent}; "
          f"right rows with a warning anyway: {sum(r.get('reported_right', 0) for r in results)}")
    print(f"seconds a screen: mean {sum(secs) / len(secs):.2f}, max {max(secs):.2f} "
          f"(wall {wall:.0f} s on {args.workers} workers)")
    print(f"CPU seconds (workers and Tesseract): {cpu:.0f} in all, {cpu / len(results):.2f} a screen"
          f"{' (each screen read as if its font were not installed)' if args.hold_out_font else ''}")
    by_font: dict[str, list[int]] = {}
    for r in results:
        acc = by_font.setdefault(r["font"], [0, 0])
        acc[0] += r["right"]
        acc[1] += r["rows_total"]
    print("by font: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_font.items())))
    own = sum(1 for r in results if r.get("font_used") and FONT_FILE_PART[r["font"]] in r["font_used"])
    other = sum(1 for r in results if r.get("font_used") and FONT_FILE_PART[r["font"]] not in r["font_used"])
    print(f"installed font used: its own font on {own} screens, another font on {other}, none on "
          f"{len(results) - own - other}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
