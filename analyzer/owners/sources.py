"""Where owner files are found, in order of precedence.

1. ``--tags FILE`` (repeatable), in the order given;
2. ``POOLSCOPE_TAGS`` (paths separated by ``os.pathsep``);
3. on Windows, the pooltag.txt the Debugging Tools / WDK install under ``triage``;
4. the per-user data folder (``poolscope tags add FILE`` copies files there).
Evidence from the inputs comes last; see :mod:`.evidence`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ENV_TAGS = "POOLSCOPE_TAGS"
ENV_DATA_DIR = "POOLSCOPE_DATA_DIR"

_DEBUGGER_ARCHES = ("x64", "x86", "arm64", "arm")


@dataclass(frozen=True)
class TagFileRef:
    """A tag file to read and the provenance its candidates will carry."""

    path: Path
    origin: str  # "--tags", "POOLSCOPE_TAGS", "debugging tools", "user data"
    required: bool  # a missing file is an error (explicit) or a warning (configured)

    @property
    def provenance(self) -> str:
        return f"{self.origin}: {self.path}"


def user_data_dir() -> Path:
    """poolscope's per-user data folder (platformdirs conventions, ``POOLSCOPE_DATA_DIR`` overrides)."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "poolscope"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "poolscope"
    xdg = os.environ.get("XDG_DATA_HOME")
    base_path = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base_path / "poolscope"


def user_tags_dir() -> Path:
    return user_data_dir() / "tags"


def debugger_pooltag_paths(environ: dict[str, str] | None = None) -> list[Path]:
    """Candidate pooltag.txt locations of the Debugging Tools for Windows and the WDK."""
    env = os.environ if environ is None else environ
    roots = [env.get("ProgramFiles(x86)"), env.get("ProgramFiles"), env.get("ProgramW6432")]
    out: list[Path] = []
    for root in dict.fromkeys(r for r in roots if r):
        for kit in ("10", "8.1"):
            for arch in _DEBUGGER_ARCHES:
                out.append(Path(root) / "Windows Kits" / kit / "Debuggers" / arch / "triage" / "pooltag.txt")
        for folder in ("Debugging Tools for Windows (x64)", "Debugging Tools for Windows (x86)",
                       "Debugging Tools for Windows"):
            out.append(Path(root) / folder / "triage" / "pooltag.txt")
    return out


def default_tag_files(platform: str | None = None) -> list[TagFileRef]:
    """Configured tag files after ``--tags``: environment, debugger install, user folder."""
    refs: list[TagFileRef] = []
    env = os.environ.get(ENV_TAGS, "")
    for item in env.split(os.pathsep):
        if item.strip():
            refs.append(TagFileRef(Path(item.strip()), ENV_TAGS, required=False))
    if (platform or sys.platform) == "win32":
        # Every kit ships the same file; the first one found is enough.
        for path in debugger_pooltag_paths():
            if path.is_file():
                refs.append(TagFileRef(path, "debugging tools", required=False))
                break
    folder = user_tags_dir()
    if folder.is_dir():
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            refs.append(TagFileRef(path, "user data", required=False))
    return refs
