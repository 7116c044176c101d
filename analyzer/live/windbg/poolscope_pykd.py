"""poolscope helper for WinDbg: which driver uses a pool tag, and a pool snapshot poolscope can read.

Runs inside WinDbg/kd through pykd.  Self-contained (standard library + pykd), Python 3.8+:

    .load pykd
    !py C:\\tools\\poolscope_pykd.py findtag Abcd Efgh
    !py C:\\tools\\poolscope_pykd.py snapshot --out C:\\cases\\pool_snapshot.txt
    !py C:\\tools\\poolscope_pykd.py snapshot --count 6 --every 600 --out C:\\cases\\pool_hour.txt

``findtag`` searches every loaded image for the tag, as text
(``!for_each_module s -a @#Base @#End "Abcd"``) and as bytes (``s -b`` with the four
byte values, which needs no quoting), maps each hit to its module through the module
ranges, and prints module, image path and hit count per tag.  ``snapshot`` runs
``!poolused 2``, ``!poolused 4`` (``!poolused 8`` too when session pools exist) and
``!vm`` and writes them as a transcript (``--count N --every SECONDS`` samples a live target
repeatedly, each sample stamped by ``.time``); give that file to ``poolscope``.

pykd is imported only when a command runs, so this module imports anywhere.
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
import time

__all__ = ["Module", "PykdSession", "find_tags", "main", "parse_hits", "parse_lm", "snapshot_transcript"]

_ADDR = r"(?:[0-9a-fA-F]{8}`[0-9a-fA-F]{8}|[0-9a-fA-F]{8,16})"
_LM_ROW = re.compile(r"^\s*(" + _ADDR + r")\s+(" + _ADDR + r")\s+(\S+)")
_HIT = re.compile(r"^\s*(" + _ADDR + r")\s{1,3}[0-9a-fA-F]{2}(?:[ -][0-9a-fA-F]{2}){0,15}(?:\s\s.*)?$")
_IMAGE_PATH = re.compile(r"^\s*Image path:\s*(.+?)\s*$", re.IGNORECASE)
_IMAGE_NAME = re.compile(r"^\s*Image name:\s*(.+?)\s*$", re.IGNORECASE)
_TAG_OK = re.compile(r"^[\x20-\x7e]{1,4}$")


def _hex(text):
    # type: (str) -> int
    return int(text.replace("`", ""), 16)


class Module:
    """A loaded image: [start, end) like ``lm`` prints it (end exclusive)."""

    __slots__ = ("end", "image", "name", "start")

    def __init__(self, name, start, end, image=None):
        # type: (str, int, int, str | None) -> None
        self.name = name
        self.start = start
        self.end = end
        self.image = image

    def __repr__(self):
        # type: () -> str
        return f"Module({self.name!r}, {self.start:#x}, {self.end:#x})"


class PykdSession:
    """The real debugger, through pykd (``dbgCommand`` only).  Tests replace it with a replaying object."""

    def __init__(self):
        # type: () -> None
        try:
            import pykd  # only exists inside WinDbg
        except ImportError:
            raise SystemExit(
                "poolscope_pykd: pykd is not available; run this inside WinDbg after '.load pykd'"
            ) from None
        self._pykd = pykd

    def command(self, text):
        # type: (str) -> str
        try:
            return self._pykd.dbgCommand(text) or ""
        except Exception as exc:  # pykd.DbgException and friends: keep going, say what failed
            return f"poolscope_pykd: '{text}' failed: {exc}\n"


def parse_lm(text):
    # type: (str) -> list[Module]
    """Loaded modules in ``lm`` output (rows after ``Unloaded modules:`` are left out)."""
    out = []
    for line in text.splitlines():
        if line.strip().lower().startswith("unloaded modules"):
            break
        m = _LM_ROW.match(line)
        if m:
            start, end = _hex(m.group(1)), _hex(m.group(2))
            if end > start:
                out.append(Module(m.group(3), start, end))
    return out


def parse_hits(text):
    # type: (str) -> list[int]
    """Addresses of memory-search hits (``address  41 62 63 64 ...-... ascii``)."""
    out = []
    for line in text.splitlines():
        m = _HIT.match(line)
        if m:
            out.append(_hex(m.group(1)))
    return out


def image_path(session, module):
    # type: (object, str) -> str | None
    """The image path ``lmv m NAME`` shows (falls back to the image name)."""
    text = session.command(f"lmv m {module}")  # type: ignore[attr-defined]
    name = None
    for line in text.splitlines():
        m = _IMAGE_PATH.match(line)
        if m:
            return m.group(1)
        m = _IMAGE_NAME.match(line)
        if m:
            name = m.group(1)
    return name


def _search_commands(tag):
    # type: (str) -> list[str]
    byte_values = " ".join(f"0x{b:02x}" for b in bytearray(tag.encode("ascii")))
    return [
        f'!for_each_module s -a @#Base @#End "{tag}"',
        # The quote-free form survives shells and scripts that mangle quotes, and finds the same bytes.
        f"!for_each_module s -b @#Base @#End {byte_values}",
    ]


def find_tags(session, tags, modules=None):
    # type: (object, list[str], list[Module] | None) -> list[dict]
    """For each tag: per module, the number of distinct hit addresses and the image path."""
    mods = sorted(modules if modules is not None else parse_lm(session.command("lm")),  # type: ignore[attr-defined]
                  key=lambda m: m.start)
    starts = [m.start for m in mods]
    paths = {}  # type: dict[str, str | None]
    results = []
    for tag in tags:
        if not _TAG_OK.match(tag) or '"' in tag:
            raise ValueError(f"not a pool tag: {tag!r} (1 to 4 printable characters, no quotes)")
        hits = set()
        for cmd in _search_commands(tag):
            hits.update(parse_hits(session.command(cmd)))  # type: ignore[attr-defined]
        per_module = {}  # type: dict[str, int]
        outside = 0
        for addr in sorted(hits):
            i = bisect.bisect_right(starts, addr) - 1
            if i >= 0 and mods[i].start <= addr < mods[i].end:
                per_module[mods[i].name] = per_module.get(mods[i].name, 0) + 1
            else:
                outside += 1
        rows = []
        for name in sorted(per_module, key=lambda n: (-per_module[n], n.lower())):
            if name not in paths:
                paths[name] = image_path(session, name)
            rows.append({"module": name, "image": paths[name], "hits": per_module[name]})
        results.append({"tag": tag, "modules": rows, "outside_modules": outside})
    return results


def format_findings(results):
    # type: (list[dict]) -> str
    def row(tag, module, hits, text):
        # type: (str, str, object, str) -> str
        return f"{tag:<6} {module:<16} {hits!s:>5}  {text}"

    lines = [row("Tag", "Module", "Hits", "Image path")]
    for res in results:
        if not res["modules"]:
            lines.append(row(res["tag"], "-", 0, "not found in any loaded image"))
        for mod in res["modules"]:
            lines.append(row(res["tag"], mod["module"], mod["hits"], mod["image"] or "-"))
        if res["outside_modules"]:
            lines.append(row(res["tag"], "<no module>", res["outside_modules"], "hits outside every loaded image"))
    lines.append("")
    lines.append("A driver whose image holds the tag is a candidate owner; the tag text also occurs by chance.")
    return "\n".join(lines) + "\n"


def _has_session_pools(session_text):
    # type: (str) -> bool
    m = re.search(r"Sessions on machine:\s*(\d+)", session_text)
    if m:
        return int(m.group(1)) > 0
    return bool(re.search(r"Valid Sessions:\s*\d", session_text))


def snapshot_transcript(session, prompt="kd> "):
    # type: (object, str) -> str
    """Run the pool commands and return their output as a transcript poolscope reads."""
    parts = ["poolscope snapshot (poolscope_pykd.py)"]

    def run(cmd):
        # type: (str) -> str
        out = session.command(cmd)  # type: ignore[attr-defined]
        parts.append(prompt + cmd)
        parts.append(out.rstrip("\n"))
        return out

    run(".time")  # "Debug session time:" gives the snapshot its timestamp
    sessions = run("!session")
    for cmd in ("!vm", "!poolused 2", "!poolused 4"):
        run(cmd)
    if _has_session_pools(sessions):
        run("!poolused 8")
    return "\n".join(parts) + "\n"


def _parser():
    # type: () -> argparse.ArgumentParser
    p = argparse.ArgumentParser(prog="poolscope_pykd.py", description="poolscope helper for WinDbg (pykd)")
    sub = p.add_subparsers(dest="command")
    f = sub.add_parser("findtag", help="which loaded images contain the pool tag(s)")
    f.add_argument("tags", nargs="+", metavar="TAG")
    s = sub.add_parser("snapshot", help="run !poolused and !vm and write a transcript for poolscope")
    s.add_argument("--out", metavar="FILE", help="write the transcript here instead of the debugger window")
    s.add_argument("--count", type=int, default=1, metavar="N",
                   help="take N samples (a live target: lkd or a kernel debugging session)")
    s.add_argument("--every", type=float, default=600.0, metavar="SECONDS",
                   help="seconds between samples with --count (default 600)")
    return p


def main(argv=None, session=None, out=None, pause=None):
    # type: (list[str] | None, object, object, object) -> int
    """Entry point for ``!py poolscope_pykd.py ...``; returns 0, or 2 for a usage error."""
    if pause is None:
        pause = time.sleep
    args = _parser().parse_args(argv if argv is not None else sys.argv[1:])
    write = out if out is not None else sys.stdout.write
    if args.command is None:
        write(_parser().format_help())
        return 2
    if session is None:
        session = PykdSession()
    if args.command == "findtag":
        try:
            results = find_tags(session, args.tags)
        except ValueError as exc:
            write(f"poolscope_pykd: {exc}\n")
            return 2
        write(format_findings(results))
        return 0
    if args.count < 1 or args.every < 0:
        write("poolscope_pykd: --count must be at least 1 and --every not negative\n")
        return 2

    def sample(emit):
        # type: (object) -> None
        for i in range(args.count):
            if i:
                pause(args.every)  # type: ignore[operator]  # the target keeps running; the debugger waits
            emit(snapshot_transcript(session))  # type: ignore[operator]

    if not args.out:
        sample(write)
        return 0
    with open(args.out, "w", encoding="utf-8", newline="\n") as fh:

        def emit(text):
            # type: (str) -> None
            fh.write(text)
            fh.flush()  # a sampling run cut short still leaves every finished sample

        sample(emit)
    what = "snapshot" if args.count == 1 else f"{args.count} snapshots"
    write(f"poolscope_pykd: {what} written to {args.out}; run: poolscope report {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
