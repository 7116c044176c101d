"""Build the driver fixtures of tests/fixtures/drivers with mingw-w64, once per test session.

Each driver is compiled for x64 and x86 at -O0 and -O2 against import libraries that
``dlltool`` makes from the .def files, so the scan meets real compiler output
(register moves, stack slots, tail calls, ``jmp [IAT]`` stubs).  Nothing built here is
committed; tests that need it skip when the cross compilers are missing.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "drivers"

TOOLCHAINS = {
    "x64": ("x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-dlltool", "DriverEntry"),
    "x86": ("i686-w64-mingw32-gcc", "i686-w64-mingw32-dlltool", "_DriverEntry@8"),
}
#: Fixed image bases (the usual ones for drivers) so that addresses do not depend on file names.
IMAGE_BASE = {"x64": "0x140000000", "x86": "0x10000"}
ARCHES = tuple(TOOLCHAINS)
OPT_LEVELS = ("-O0", "-O2")
#: (arch, label, compiler flags): both optimisation levels on both architectures, plus x86
#: code that passes arguments with `push` the way MSVC does (gcc's default is `mov [esp+N]`).
CONFIGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    *((arch, opt, (opt,)) for arch in ARCHES for opt in OPT_LEVELS),
    ("x86", "-O2-push", ("-O2", "-mno-stack-arg-probe", "-mno-accumulate-outgoing-args", "-mpush-args")),
)
DRIVERS = ("tagdrv", "thunkdrv")
IMPORT_DEFS = ("ntoskrnl", "fltmgr", "ndis")

#: Evidence `tags scan --tag` must report for the tags of tagdrv.c (see the comments there).
TAGDRV_EXPECTED = {
    "PsLt": "call-site",
    "PsVr": "call-site",
    "PsSf": "call-site",
    "PsSt": "call-site",
    "PsP2": "call-site",
    "PsQt": "call-site",
    "PsPr": "call-site",
    "PsFl": "call-site",
    "PsLk": "call-site",
    "PsLx": "call-site",
    "PsA3": "call-site",
    "PsF2": "call-site",
    "PsNd": "call-site",
    "PsFr": "call-site",
    "PsWr": "immediate",
    "PsW2": "immediate",
    "PsGl": "string",
    "PsSg": "string",
}
THUNKDRV_EXPECTED = {"ThLt": "call-site", "ThP2": "call-site", "ThFr": "call-site"}


def missing_toolchain() -> str | None:
    """Why the fixtures cannot be built here, or None."""
    for gcc, dlltool, _ in TOOLCHAINS.values():
        for tool in (gcc, dlltool):
            if shutil.which(tool) is None:
                return f"{tool} not installed (Debian: gcc-mingw-w64-x86-64 gcc-mingw-w64-i686)"
    return None


@dataclass(frozen=True)
class Built:
    driver: str
    arch: str
    opt: str
    path: Path


def _import_libs(arch: str, out: Path) -> list[Path]:
    _, dlltool, _ = TOOLCHAINS[arch]
    libs = []
    for name in IMPORT_DEFS:
        text = (FIXTURES / f"{name}.def").read_text()
        if arch == "x64":
            # x64 has one calling convention: no @N argument-size decoration.
            text = "\n".join(line.split("@")[0] for line in text.splitlines()) + "\n"
        def_path = out / f"{name}-{arch}.def"
        def_path.write_text(text)
        lib = out / f"lib{name}-{arch}.a"
        cmd = [dlltool, "-d", str(def_path), "-l", str(lib)]
        if arch == "x86":
            cmd.insert(1, "-k")  # import by the undecorated name, as ntoskrnl exports it
        subprocess.run(cmd, check=True, capture_output=True)
        libs.append(lib)
    return libs


def build_drivers(out: Path) -> list[Built]:
    """Compile every fixture driver in every configuration of CONFIGS into ``out``."""
    built = []
    libs = {arch: _import_libs(arch, out) for arch in ARCHES}
    for arch, opt, flags in CONFIGS:
        gcc, _, entry = TOOLCHAINS[arch]
        for driver in DRIVERS:
            target = out / f"{driver}-{arch}{opt}.sys"
            cmd = [gcc, *flags, "-Wall", "-Wno-multichar", "-ffreestanding", "-nostdlib", "-shared",
                   "-Wl,--subsystem,native", f"-Wl,--image-base,{IMAGE_BASE[arch]}", "-e", entry,
                   "-o", str(target), str(FIXTURES / f"{driver}.c"), *map(str, libs[arch])]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
            built.append(Built(driver, arch, opt, target))
    return built


_cache: dict[str, list[Built]] = {}


@pytest.fixture(scope="session")
def drivers(tmp_path_factory: pytest.TempPathFactory) -> list[Built]:
    """All fixture drivers, built once per session (skips when mingw-w64 is missing)."""
    reason = missing_toolchain()
    if reason:
        pytest.skip(reason)
    if "all" not in _cache:
        _cache["all"] = build_drivers(tmp_path_factory.mktemp("drivers"))
    return _cache["all"]


def pick(built: list[Built], driver: str, arch: str, opt: str) -> Path:
    for b in built:
        if (b.driver, b.arch, b.opt) == (driver, arch, opt):
            return b.path
    raise KeyError((driver, arch, opt))
