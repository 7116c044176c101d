"""Write the PoolMon samples in this folder from one seeded model of a machine's pool tags.

The samples are committed; this script only keeps their numbers consistent.  Every row it
writes obeys PoolMon's identities (Diff = Allocs - Frees, Per Alloc = floor(Bytes / Diff),
cumulative counters never go down), so a parser that reads a sample right can be checked
against them.  Run from the repository root:  python samples/make_samples.py
"""

from __future__ import annotations

import gzip
import io
import itertools
import random
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class TagModel:
    """How one (tag, pool) behaves over time."""

    tag: str
    pool: str  # "Nonp" or "Paged"
    size: int  # typical bytes per allocation
    outstanding: int  # outstanding allocations at the start
    churn: float  # allocations per hour
    kind: str = "steady"  # steady | noisy | leak | swell | static | varsize
    rate: float = 0.0  # outstanding growth per hour (leak)
    driver: str | None = None  # Mapped_Driver text when /g knows the tag
    allocs0: int = 0

    def state(self, hours: float, rng: random.Random) -> tuple[int, int, int]:
        """(allocs, frees, bytes) at ``hours`` after the first frame."""
        allocs = self.allocs0 + int(self.churn * hours)
        out = self.outstanding
        if self.kind == "noisy":
            out = max(0, int(out * (1 + rng.uniform(-0.35, 0.35))))
        elif self.kind == "leak":
            out = out + int(self.rate * hours) + rng.randint(-6, 6)
        elif self.kind == "swell":
            # Grows for two hours, then gives everything back (a cache being trimmed).
            bump = self.rate * min(hours, max(0.0, 4.0 - hours)) if hours < 4 else 0
            out = out + int(bump) + rng.randint(-3, 3)
        elif self.kind in ("steady", "varsize"):
            out = max(0, out + rng.randint(-max(1, out // 50), max(1, out // 50)))
        if self.kind != "static":
            allocs += rng.randint(0, max(1, int(self.churn / 200)))
        frees = allocs - out
        nbytes = out * self.size
        if self.kind == "varsize" and out:
            nbytes += rng.randint(0, out * self.size // 3)
        return allocs, frees, nbytes


def appended_tags() -> list[TagModel]:
    """About sixty rows for a 16 GB workstation with a filter driver leaking request buffers."""
    t = [
        TagModel(
            "Wdrq", "Nonp", 640, 410, 9000, "leak", rate=1480, driver="[wdrfilt.sys - Widget filter request queue]"
        ),
        TagModel("Wdrc", "Nonp", 96, 12, 1800, "steady", driver="[wdrfilt.sys - Widget filter contexts]"),
        TagModel("Io  ", "Nonp", 312, 2210, 180000, "noisy", driver="[nt!io - general IO allocations]"),
        TagModel("Irp ", "Nonp", 1008, 1900, 240000, "noisy", driver="[nt!io - Io, IRP packets]"),
        TagModel("Mdl ", "Nonp", 160, 980, 150000, "noisy", driver="[nt!io - Io, Mdls]"),
        TagModel("File", "Nonp", 304, 21004, 52000, "steady", driver="[nt!io - File objects]"),
        TagModel("Even", "Nonp", 112, 14250, 8000, "steady", driver="[nt!ob - Event objects]"),
        TagModel("Thre", "Nonp", 2176, 2105, 1900, "steady", driver="[nt!ps - Thread objects]"),
        TagModel("Proc", "Nonp", 2688, 212, 120, "steady", driver="[nt!ps - Process objects]"),
        TagModel("Sema", "Nonp", 128, 1480, 300, "steady"),
        TagModel("Muta", "Nonp", 144, 2209, 700, "steady"),
        TagModel("Dh 2", "Nonp", 320, 31, 40, "steady"),
        TagModel("Dh 4", "Nonp", 1024, 8, 0, "static"),
        TagModel("NDnb", "Nonp", 2048, 1530, 90000, "noisy", driver="[ndis.sys - NDIS net buffers]"),
        TagModel("NDpk", "Nonp", 480, 2400, 110000, "noisy", driver="[ndis.sys - NDIS packets]"),
        TagModel("TcpE", "Nonp", 864, 120, 3000, "steady"),
        TagModel("UdpA", "Nonp", 224, 40, 900, "steady"),
        TagModel("ScsC", "Nonp", 4096, 64, 0, "static"),
        TagModel("Vi52", "Nonp", 10400, 3, 0, "static"),
        TagModel("FMfc", "Nonp", 416, 8800, 21000, "steady", driver="[fltmgr.sys - FLTMGR_FILECONTEXT]"),
        TagModel("FMsl", "Nonp", 208, 3300, 60000, "noisy", driver="[fltmgr.sys - STREAM_LIST_CTRL]"),
        TagModel("Fat ", "Nonp", 528, 0, 40, "static"),
        TagModel("Ntfr", "Nonp", 896, 4020, 26000, "steady", driver="[ntfs.sys  -  ERESOURCE]"),
        TagModel("Ntfx", "Nonp", 416, 3100, 18000, "steady"),
        TagModel("Qbfm", "Nonp", 1536, 90, 800, "varsize"),
        TagModel("AfdE", "Nonp", 432, 310, 8000, "noisy"),
        TagModel("LSwi", "Nonp", 8192, 1, 0, "static"),
        TagModel("Pool", "Nonp", 65536, 6, 0, "static"),
        TagModel("MmCa", "Paged", 464, 14200, 42000, "swell", rate=2600),
        TagModel("MmSt", "Paged", 992, 20130, 12000, "steady", driver="[nt!mm - Mm section object prototype ptes]"),
        TagModel("CM  ", "Paged", 352, 880, 6000, "steady", driver="[nt!cm - Configuration Manager (registry)]"),
        TagModel("CM31", "Paged", 2048, 3400, 3000, "steady"),
        TagModel("CM25", "Paged", 4096, 1480, 900, "steady"),
        TagModel("CMNb", "Paged", 224, 1120, 5000, "steady"),
        TagModel("Ntff", "Paged", 1104, 7020, 40000, "steady", driver="[ntfs.sys  -  FCB_DATA]"),
        TagModel("Ntfx", "Paged", 88, 220, 2000, "steady"),
        TagModel("FSim", "Paged", 160, 6001, 9000, "steady"),
        TagModel("Toke", "Paged", 1168, 4420, 7000, "steady", driver="[nt!se - Token objects]"),
        TagModel("SeAt", "Paged", 96, 38000, 15000, "steady"),
        TagModel("ObNm", "Paged", 144, 3300, 5000, "steady"),
        TagModel("ObSq", "Paged", 96, 5200, 26000, "noisy"),
        TagModel("Ustm", "Paged", 56, 44, 9000, "noisy"),
        TagModel("Gxlt", "Paged", 108, 8, 4000, "noisy"),
        TagModel("Gh05", "Paged", 1680, 2210, 2100, "varsize"),
        TagModel("Gla5", "Paged", 128, 610, 3300, "steady"),
        TagModel("Ttfd", "Paged", 4096, 140, 200, "varsize", driver="[Font related stuff]"),
        TagModel("Usqu", "Paged", 480, 460, 4800, "steady"),
        TagModel("Dh 2", "Paged", 320, 12, 10, "steady"),
        TagModel("Qrst", "Paged", 640, 456, 30000, "noisy"),
        TagModel("Wdrp", "Paged", 256, 64, 400, "steady", driver="[wdrfilt.sys - Widget filter paged state]"),
        TagModel("IoNm", "Paged", 288, 4011, 36000, "noisy"),
        TagModel("Vad ", "Nonp", 128, 44000, 62000, "steady"),
        TagModel("VadS", "Nonp", 128, 21000, 30000, "steady"),
        TagModel("ALPC", "Paged", 512, 3210, 14000, "steady"),
        TagModel("WmiG", "Paged", 512, 12, 0, "static"),
        TagModel("Pp  ", "Paged", 1280, 1044, 20, "steady", driver="[nt!pnp - plug and play generic]"),
        TagModel("PfTt", "Paged", 2240, 40, 60, "steady"),
        TagModel("SmMs", "Nonp", 32768, 14, 0, "static"),
        TagModel("Ref ", "Nonp", 32, 0, 0, "static"),
    ]
    return t


def seed_counters(tags: list[TagModel], rng: random.Random, uptime_hours: float) -> None:
    for m in tags:
        m.allocs0 = m.outstanding + int(m.churn * uptime_hours * rng.uniform(0.8, 1.2)) + rng.randint(0, 5000)


# -- layouts ------------------------------------------------------------------------------------

CONSOLE_HEADER = " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc"
WIDE_HEADER = (
    " Tag  Type     Allocs            Frees               Diff            Bytes"
    "                 Per Alloc       Mapped_Driver"
)


def per_alloc(nbytes: int, diff: int) -> int:
    return nbytes // diff if diff else 0


def row_narrow(m: TagModel, a: int, f: int, b: int, driver: bool) -> str:
    """poolsnap on a 32-bit build: the console columns with the change fields left blank."""
    d = a - f
    line = f" {m.tag:4} {m.pool:<5}{a:>10}       {f:>10}       {d:>9}{b:>8}         {per_alloc(b, d):>7}"
    if driver:
        line += "  " + (m.driver or "Unknown Driver")
    return line


def row_wide(m: TagModel, a: int, f: int, b: int, driver: bool) -> str:
    d = a - f
    line = f" {m.tag:4} {m.pool:<5}{a:>18}{f:>19}{d:>18}{b:>15}{per_alloc(b, d):>17}"
    if driver:
        line += "        " + (m.driver or "Unknown Driver")
    return line


def row_console(m: TagModel, a: int, f: int, b: int, ca: int, cf: int, cb: int, driver: bool) -> str:
    d = a - f
    line = f" {m.tag:4} {m.pool:<5}{a:>10} ({ca:>4}){f:>10} ({cf:>4}){d:>9}{b:>8} ({cb:>6}){per_alloc(b, d):>7}"
    if driver:
        line += " " + (m.driver or "Unknown Driver")
    return line


def header_lines(
    nonpaged: int, paged: int, avail_kb: int, commit_kb: int, pageflts: int, mem: int = 16776692
) -> list[str]:
    return [
        f" Memory:{mem:>8}K Avail:{avail_kb:>8}K  PageFlts:{pageflts:>6}   InRam Krnl:{14212:>5}K P:{251880:>6}K",
        f" Commit:{commit_kb:>7}K Limit:{19137988:>7}K Peak:{commit_kb + 812344:>7}K"
        f"            Pool N:{nonpaged:>6}K P:{paged:>6}K",
    ]


@dataclass
class Frame:
    rows: list[tuple[TagModel, int, int, int]]

    def pool_kb(self, pool: str, overhead: int) -> int:
        return overhead + sum(b for m, _a, _f, b in self.rows if m.pool == pool) // 1024


def frames(tags: list[TagModel], times: list[float], seed: int) -> list[Frame]:
    out = []
    for i, hours in enumerate(times):
        rng = random.Random(seed * 1000 + i)
        out.append(Frame([(m, *m.state(hours, rng)) for m in tags]))
    # Cumulative counters never go down, whatever the noise did.
    for prev, cur in itertools.pairwise(out):
        fixed = []
        for (m, a0, f0, _b0), (_, a, f, b) in zip(prev.rows, cur.rows, strict=False):
            if a < a0 or f < f0:
                bump = max(a0 - a, f0 - f)
                a, f = a + bump, f + bump
            fixed.append((m, a, f, b))
        cur.rows = fixed
    return out


def sort_rows(rows: list[tuple[TagModel, int, int, int]]) -> list[tuple[TagModel, int, int, int]]:
    return sorted(rows, key=lambda r: (r[0].tag, r[0].pool))


# -- the samples --------------------------------------------------------------------------------


def write_crlf(path: Path, lines: list[str], encoding: str = "ascii") -> None:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def cmd_marker(when: datetime) -> str:
    """``echo %DATE% %TIME% >> poolmon.log`` on an en-US machine (note the space before >>)."""
    hundredths = when.microsecond // 10000
    return f"{when:%a %m/%d/%Y} {when.hour:>2}:{when:%M:%S}.{hundredths:02d} "


def leak_appended() -> None:
    rng = random.Random(2026)
    tags = appended_tags()
    seed_counters(tags, rng, uptime_hours=30)
    start = datetime(2026, 11, 21, 14, 3, 7, 120000)
    stamps = []
    when = start
    for _ in range(14):
        stamps.append(when)
        # `timeout /t 1500` plus the time poolmon itself takes.
        when = when + timedelta(seconds=1500 + rng.randint(2, 9), microseconds=rng.randint(0, 99) * 10000)
    hours = [(s - start).total_seconds() / 3600 for s in stamps]
    lines: list[str] = []
    for i, (stamp, frame) in enumerate(zip(stamps, frames(tags, hours, seed=7), strict=False)):
        np_kb = frame.pool_kb("Nonp", 182000)
        p_kb = frame.pool_kb("Paged", 402000)
        lines.append(cmd_marker(stamp))
        lines += header_lines(
            np_kb, p_kb, 9122400 - 420 * i - rng.randint(0, 900), 7810220 + 610 * i, rng.randint(0, 900)
        )
        lines.append(" System pool information")
        lines.append(CONSOLE_HEADER + "  Mapped_Driver")
        lines.append("")
        lines += [row_narrow(m, a, f, b, True) for m, a, f, b in sort_rows(frame.rows)]
        lines.append("")
    write_crlf(HERE / "leak_appended.log", lines)


def poolsnap_folder() -> None:
    """`poolmon -n` every two hours into dated files on an x64 server: a paged-pool leak."""
    rng = random.Random(77)
    tags = [m for m in appended_tags() if m.tag not in ("Wdrq", "Wdrc", "Wdrp", "MmCa")]
    tags.append(TagModel("Cfgb", "Paged", 4096, 1200, 3000, "leak", rate=220))
    tags.append(TagModel("MmCa", "Paged", 464, 18200, 42000, "steady"))
    seed_counters(tags, rng, uptime_hours=200)
    folder = HERE / "poolsnap"
    folder.mkdir(exist_ok=True)
    start = datetime(2026, 11, 21, 14, 3, 7)
    stamps = [start + timedelta(hours=2 * i, seconds=rng.randint(0, 40)) for i in range(6)]
    for i, (stamp, frame) in enumerate(
        zip(stamps, frames(tags, [(s - start).total_seconds() / 3600 for s in stamps], seed=9), strict=False)
    ):
        lines = header_lines(
            frame.pool_kb("Nonp", 240000),
            frame.pool_kb("Paged", 610000),
            22000100 - 2100 * i,
            9410020 + 1800 * i,
            rng.randint(0, 300),
            mem=33553972,
        )
        lines.append(" System pool information")
        lines.append(WIDE_HEADER)
        lines.append("")
        lines += [row_wide(m, a, f, b, True) for m, a, f, b in sort_rows(frame.rows)]
        write_crlf(folder / f"poolsnap_{stamp:%Y%m%d_%H%M%S}.log", lines)


def powershell_utf16() -> None:
    """A PowerShell loop: Get-Date >> log; poolmon -n snap; Get-Content snap >> log (UTF-16LE + BOM)."""
    rng = random.Random(5)
    tags = [m for m in appended_tags() if m.pool == "Nonp"][:24]
    seed_counters(tags, rng, uptime_hours=4)
    start = datetime(2026, 11, 21, 13, 58, 41)
    stamps = [start + timedelta(minutes=10 * i, seconds=rng.randint(0, 3)) for i in range(4)]
    lines: list[str] = []
    for stamp, frame in zip(
        stamps, frames(tags, [(s - start).total_seconds() / 3600 for s in stamps], seed=3), strict=False
    ):
        hour12 = stamp.hour % 12 or 12
        ampm = "AM" if stamp.hour < 12 else "PM"
        lines += ["", f"{stamp:%A, %B} {stamp.day}, {stamp.year} {hour12}:{stamp:%M:%S} {ampm}", "", ""]
        lines += header_lines(frame.pool_kb("Nonp", 120000), 380112, 8312000, 6120400, rng.randint(0, 99))
        lines.append(" System pool information")
        lines.append(WIDE_HEADER)
        lines.append("")
        lines += [row_wide(m, a, f, b, True) for m, a, f, b in sort_rows(frame.rows)]
    data = "\r\n".join(lines) + "\r\n"
    (HERE / "powershell_utf16.log").write_bytes(b"\xff\xfe" + data.encode("utf-16-le"))


def console_rows(tags: list[TagModel], seed: int) -> list[tuple[TagModel, int, int, int, int, int, int]]:
    """One screen plus the change since the refresh five seconds earlier."""
    rng = random.Random(seed)
    seed_counters(tags, rng, uptime_hours=50)
    earlier, now = frames(tags, [0.0, 5 / 3600], seed=seed)
    out = []
    for (m, a0, f0, b0), (_, a, f, b) in zip(earlier.rows, now.rows, strict=False):
        out.append((m, a, f, b, a - a0, f - f0, b - b0))
    return out


def console_session() -> None:
    """Session 1 pool of a terminal server, sorted by bytes (the `b` key), change columns on."""
    tags = [
        TagModel("Gh05", "Paged", 1680, 2210, 9000, "varsize"),
        TagModel("Gla5", "Paged", 128, 610, 33000, "noisy"),
        TagModel("Gla4", "Paged", 96, 1402, 41000, "noisy"),
        TagModel("Gla1", "Paged", 128, 1890, 12000, "steady"),
        TagModel("GDev", "Paged", 2560, 42, 10, "steady"),
        TagModel("Gpfe", "Paged", 4048, 160, 100, "steady"),
        TagModel("Gfnt", "Paged", 176, 780, 900, "steady"),
        TagModel("Ttfd", "Paged", 4096, 96, 800, "varsize"),
        TagModel("Usqm", "Paged", 160, 2302, 26000, "noisy"),
        TagModel("Ustx", "Paged", 96, 410, 8000, "noisy"),
        TagModel("Uswd", "Paged", 832, 620, 300, "steady"),
        TagModel("Usdc", "Paged", 1312, 188, 2000, "noisy"),
        TagModel("Uscu", "Paged", 448, 990, 100, "steady"),
        TagModel("Usac", "Paged", 64, 43, 50000, "noisy"),
        TagModel("Gdrs", "Paged", 8192, 12, 0, "static"),
        TagModel("Gi  ", "Paged", 1024, 221, 500, "steady"),
        TagModel("Dh 1", "Paged", 272, 9, 20, "steady"),
        TagModel("Ghab", "Paged", 64, 0, 24000, "static"),
    ]
    rows = console_rows(tags, seed=41)
    rows.sort(key=lambda r: -r[3])
    lines = header_lines(268440, 512300, 3122804, 10402248, 1210)
    lines += [" Session 1 pool information", CONSOLE_HEADER, ""]
    for m, a, f, b, ca, cf, cb in rows:
        lines.append(row_console(m, a, f, b, ca, cf, cb, False))
    # A hot tag on a long-uptime machine overflows its column and the change touches it.
    lines.append(" Qrst Paged   10233456( -3)    10233000 (   1)      456   291840 ( -1088)    640")
    write_crlf(HERE / "console_session1.txt", lines)


def pasted_forum() -> None:
    """A screen pasted into a forum post: spaces collapsed, quoted, one row elided."""
    tags = [
        m
        for m in appended_tags()
        if m.tag
        in ("Wdrq", "Io  ", "Irp ", "File", "Thre", "Dh 2", "NDnb", "MmSt", "CM  ", "Ntff", "Toke", "Vad ", "Even")
    ]
    for m in tags:
        if m.tag == "Wdrq":
            # Six hours into the leak this post describes.
            m.outstanding = 190412
    rows = console_rows(tags, seed=12)
    rows.sort(key=lambda r: -r[3])
    screen = header_lines(sum(r[3] for r in rows if r[0].pool == "Nonp") // 1024 + 150000, 402116, 3125332, 9411208, 30)
    screen += [" System pool information", CONSOLE_HEADER, ""]
    kept = []
    for i, (m, a, f, b, ca, cf, cb) in enumerate(rows):
        if i in (6, 7):
            if i == 6:
                kept.append("[...]")
            continue
        kept.append(row_console(m, a, f, b, ca, cf, cb, False))
    screen += kept
    collapsed = [" ".join(line.split()) for line in screen]
    post = [
        "Re: Nonpaged pool keeps growing until the box freezes",
        "",
        "Quoting the original post:",
        "",
        "> after about six hours nonpaged pool is over 300 MB and the server stops accepting RDP.",
        "> here is poolmon sorted by bytes, a few minutes before it hung:",
        ">",
        "> C:\\tools> poolmon.exe -b",
        *[f"> {line}" if line else ">" for line in collapsed],
        ">",
        "> anyone recognise Wdrq?",
        "",
        "That tag is not in pooltag.txt here either. Run `findstr /m /l Wdrq C:\\Windows\\System32\\drivers\\*.sys`",
        "to see which driver carries it.",
    ]
    (HERE / "pasted_forum.txt").write_text("\n".join(post) + "\n", encoding="utf-8")


def bugreport_zip() -> None:
    """Two screens attached to a bug report as a zip, with /g driver names in their odd forms."""
    tags = [
        TagModel("Abcd", "Nonp", 320, 461, 20000, "steady", driver="[abc][abc.sys - queue]"),
        TagModel("Ntfr", "Nonp", 896, 4020, 26000, "steady", driver="[ntfs.sys  -  ERESOURCE]"),
        TagModel("Thre", "Nonp", 2176, 2105, 1900, "steady", driver="[nt!ps - Thread objects]"),
        TagModel("Ttfd", "Paged", 4096, 96, 800, "varsize", driver="[Font related stuff]"),
        TagModel("Zqx1", "Nonp", 1024, 1200, 50000, "leak", rate=1500),
        TagModel("Io  ", "Nonp", 312, 2210, 180000, "noisy", driver="[nt!io - general IO allocations]"),
        TagModel("CM  ", "Paged", 352, 880, 6000, "steady", driver="[nt!cm - Configuration Manager (registry)]"),
        TagModel("Dh 2", "Paged", 320, 31, 40, "steady"),
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, seed, when, hours in (
            ("before_update.txt", 3, (2026, 11, 20, 9, 15, 0), 0.0),
            ("after_update.txt", 3, (2026, 11, 20, 17, 45, 0), 8.5),
        ):
            rng = random.Random(seed)
            fresh = [TagModel(**{k: getattr(m, k) for k in TagModel.__dataclass_fields__}) for m in tags]
            seed_counters(fresh, rng, uptime_hours=10)
            earlier, now = frames(fresh, [hours, hours + 5 / 3600], seed=seed + int(hours))
            lines = header_lines(now.pool_kb("Nonp", 90000), now.pool_kb("Paged", 300000), 5120440, 4411208, 12)
            lines += [" System pool information", CONSOLE_HEADER, "-" * 78]
            for (m, a0, f0, b0), (_, a, f, b) in sorted(
                zip(earlier.rows, now.rows, strict=False), key=lambda r: r[0][0].tag
            ):
                lines.append(row_console(m, a, f, b, a - a0, f - f0, b - b0, True))
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, ("\r\n".join(lines) + "\r\n").encode("ascii"))
    (HERE / "bugreport_screens.zip").write_bytes(buf.getvalue())


def german_gz() -> None:
    """A German-locale cmd loop (`21.11.2026 14:03:07,12`) with no header lines, gzip'd for mail."""
    rng = random.Random(99)
    tags = [m for m in appended_tags() if m.pool == "Paged"][:20]
    seed_counters(tags, rng, uptime_hours=8)
    start = datetime(2026, 11, 21, 14, 3, 7, 120000)
    stamps = [start + timedelta(minutes=30 * i, seconds=rng.randint(0, 5)) for i in range(5)]
    lines: list[str] = []
    for stamp, frame in zip(
        stamps, frames(tags, [(s - start).total_seconds() / 3600 for s in stamps], seed=11), strict=False
    ):
        lines.append(f"{stamp:%d.%m.%Y} {stamp.hour:>2}:{stamp:%M:%S},{stamp.microsecond // 10000:02d} ")
        lines.append(CONSOLE_HEADER)
        lines.append("")
        lines += [row_narrow(m, a, f, b, False) for m, a, f, b in sort_rows(frame.rows)]
        lines.append("")
    data = ("\r\n".join(lines) + "\r\n").encode("ascii")
    with (
        open(HERE / "server_de.log.gz", "wb") as fh,
        gzip.GzipFile(filename="server_de.log", mode="wb", fileobj=fh, mtime=0) as gz,
    ):
        gz.write(data)


def banners_cp1252() -> None:
    """A scheduled task on a German server: banners, Notepad's ANSI, mixed line ends, a session check.

    Each run writes a `===== date time =====` banner, the system pool, and then the
    all-sessions pool, which on this server (no one logged on) is headings only.
    """
    rng = random.Random(31)
    tags = [m for m in appended_tags() if m.tag in ("Ntfr", "Ntff", "File", "Io  ", "Thre", "Toke", "MmSt")]
    tags.append(TagModel("Grfx", "Nonp", 2048, 300, 500, "steady", driver="[grafik.sys - Puffer für Überlagerung]"))
    seed_counters(tags, rng, uptime_hours=70)
    start = datetime(2026, 11, 21, 14, 3, 7)
    stamps = [start + timedelta(hours=i, seconds=rng.randint(0, 9)) for i in range(3)]
    lines: list[str] = []
    for stamp, frame in zip(
        stamps, frames(tags, [(s - start).total_seconds() / 3600 for s in stamps], seed=13), strict=False
    ):
        lines.append(f"===== {stamp:%Y-%m-%d %H:%M:%S} =====")
        lines += header_lines(frame.pool_kb("Nonp", 130000), frame.pool_kb("Paged", 210000), 4120004, 3900100, 5)
        lines += [" System pool information", CONSOLE_HEADER + "  Mapped_Driver", ""]
        lines += [row_narrow(m, a, f, b, True) for m, a, f, b in sort_rows(frame.rows)]
        lines += ["", " All sessions pool information", CONSOLE_HEADER, "", ""]
    # Notepad kept CRLF where the task wrote it; a later `echo` from a Unix tool added bare LF.
    text = "".join(line + ("\n" if i % 7 == 3 else "\r\n") for i, line in enumerate(lines))
    (HERE / "banners_cp1252.log").write_bytes(text.encode("cp1252"))


def _wrap(line: str, width: int, prefix: str) -> list[str]:
    """Hard-wrap like a mail client: break at the last space before ``width``."""
    out = []
    text = line
    while len(prefix) + len(text) > width:
        cut = text.rfind(" ", 0, width - len(prefix))
        if cut <= 0:
            break
        out.append(prefix + text[:cut])
        text = text[cut + 1 :]
    out.append(prefix + text)
    return out


def mail_quoted() -> None:
    """The Session 1 screen after a round trip through mail: quoted twice, wrapped at 72, QP leftovers."""
    screen = (HERE / "console_session1.txt").read_text(encoding="ascii").splitlines()
    body = [
        "Hi,",
        "",
        "the terminal server slowed down again this morning; your numbers from",
        "yesterday are below. Is Gh05 the one we should watch?",
        "",
        "Ops desk <ops@example.com> wrote on Sat, Nov 21, 2026 at 12:02:",
        "> Here is the session pool screen, as requested:",
        ">",
    ]
    for i, line in enumerate(screen):
        prefix = ">> " if i < 2 else "> "
        wrapped = _wrap(line, 72, prefix)
        if i == 9:
            # The sender's client encoded the message quoted-printable with a soft break
            # mid-number, and this reader's client showed the raw text.
            head, tail = wrapped[0][:30], wrapped[0][30:]
            wrapped[0:1] = [head + "=", prefix + tail]
        # QP writes a space at the end of a line as =20; the wrapped header line ends in spaces.
        wrapped = [w[:-1] + "=20" if w.endswith(" ") and w.strip() != ">" else w for w in wrapped]
        out = wrapped
        body.extend(out)
    body += [">", "> Regards,", "> Ops desk", ""]
    (HERE / "mail_quoted.txt").write_text("\n".join(body) + "\n", encoding="ascii")


def flattened_one_line() -> None:
    """The same screen pasted into a chat tool that joined every line with a space."""
    screen = (HERE / "console_session1.txt").read_text(encoding="ascii").splitlines()
    (HERE / "flattened_one_line.txt").write_text(" ".join(screen) + "\n", encoding="ascii")


def markdown_issue() -> None:
    """The bug report's second screen pasted into an issue tracker in markdown, with its mishaps."""
    with zipfile.ZipFile(HERE / "bugreport_screens.zip") as zf:
        screen = zf.read("after_update.txt").decode("ascii").splitlines()
    text = [
        "### Nonpaged pool grows after the 2.3 update",
        "",
        "Since updating, nonpaged pool grows by about 1.5 MB an hour. I ran `poolmon /g /iZ\\*` first",
        "and saw only one tag, so here is the full screen (`poolmon /g`):",
        "",
    ]
    for line in screen:
        if line.startswith(" Tag"):
            text.append("## " + line.strip())  # the header line turned into a heading
        elif line.startswith("---"):
            text.append("")
        else:
            text.append("    " + line + "  ")  # indented code block, trailing double spaces
    text += ["", "**Expected:** pool usage flat, as before the update.", ""]
    (HERE / "markdown_issue.txt").write_text("\n".join(text) + "\n", encoding="utf-8")


def tz_markers_utf8bom() -> None:
    """A loop writing `2026.11.21-14:03:07 W. Europe Standard Time` lines, saved by Notepad as UTF-8 with BOM."""
    rng = random.Random(17)
    tags = [m for m in appended_tags() if m.pool == "Nonp"][10:22]
    seed_counters(tags, rng, uptime_hours=12)
    start = datetime(2026, 11, 21, 14, 3, 7)
    stamps = [start + timedelta(minutes=15 * i, seconds=rng.randint(0, 4)) for i in range(3)]
    lines: list[str] = []
    hours = [(s - start).total_seconds() / 3600 for s in stamps]
    for stamp, frame in zip(stamps, frames(tags, hours, seed=21), strict=False):
        lines.append(f"{stamp:%Y.%m.%d-%H:%M:%S} W. Europe Standard Time")
        lines += header_lines(frame.pool_kb("Nonp", 90000), 210044, 6100200, 5020440, 3)
        lines += [" System pool information", CONSOLE_HEADER, ""]
        lines += [row_narrow(m, a, f, b, False) for m, a, f, b in sort_rows(frame.rows)]
    data = "\r\n".join(lines) + "\r\n"
    (HERE / "tz_markers_utf8bom.log").write_bytes(b"\xef\xbb\xbf" + data.encode("utf-8"))


def dated_name() -> None:
    """One `poolmon -n` file renamed with cmd's %DATE% (`poolmon.Sat 11-21-2026.log`): the date is all there is."""
    rng = random.Random(23)
    tags = [m for m in appended_tags() if m.pool == "Paged"][:15]
    seed_counters(tags, rng, uptime_hours=20)
    (frame,) = frames(tags, [0.0], seed=29)
    lines = header_lines(frame.pool_kb("Nonp", 150000), frame.pool_kb("Paged", 200000), 7000000, 5200000, 0)
    lines += [" System pool information", WIDE_HEADER, ""]
    lines += [row_wide(m, a, f, b, True) for m, a, f, b in sort_rows(frame.rows)]
    write_crlf(HERE / "poolmon.Sat 11-21-2026.log", lines)


def numbered_screens() -> None:
    """Eight screens copied out of a console window ten minutes apart into numbered files, no times."""
    rng = random.Random(47)
    tags = [m for m in appended_tags() if m.tag in ("Irp ", "File", "Thre", "Even", "MmSt", "Toke", "Io  ", "CM  ")]
    tags.append(TagModel("Pfq9", "Nonp", 1024, 200, 9000, "leak", rate=3000))
    seed_counters(tags, rng, uptime_hours=5)
    folder = HERE / "screens_numbered"
    folder.mkdir(exist_ok=True)
    for i in range(8):
        hours = i / 6
        earlier, now = frames(tags, [hours, hours + 5 / 3600], seed=60 + i)
        rows = sorted(zip(earlier.rows, now.rows, strict=True), key=lambda r: -r[1][3])
        lines = header_lines(now.pool_kb("Nonp", 110000), now.pool_kb("Paged", 240000), 6120000 - 900 * i, 5230000, 40)
        lines += [" System pool information", CONSOLE_HEADER, ""]
        for (m, a0, f0, b0), (_, a, f, b) in rows:
            lines.append(row_console(m, a, f, b, a - a0, f - f0, b - b0, False))
        write_crlf(folder / f"screen{i + 1}.txt", lines)


def main() -> None:
    banners_cp1252()
    leak_appended()
    poolsnap_folder()
    powershell_utf16()
    console_session()
    pasted_forum()
    bugreport_zip()
    german_gz()
    mail_quoted()
    flattened_one_line()
    markdown_issue()
    tz_markers_utf8bom()
    dated_name()
    numbered_screens()


if __name__ == "__main__":
    main()
