"""Build the driver fixtures of tests/fixtures/drivers, once per test session.

Two toolchains, so the scan meets the code real drivers are made of:

- mingw-w64 (gcc) for x64 and x86 at -O0 and -O2, against import libraries that ``dlltool``
  makes from the .def files (register moves, stack slots, tail calls, ``jmp [IAT]`` stubs);
- clang in MSVC mode with lld-link (what the WDK's cl/link produce: the MSVC ABI, import
  thunks, /GS cookies and /guard:cf dispatch) for x64, x86 and ARM64 at /O1 and /O2.

Nothing built here is committed; configurations whose toolchain is missing skip with the
Debian packages to install.
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
MINGW_CONFIGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    *((arch, opt, (opt,)) for arch in ARCHES for opt in OPT_LEVELS),
    ("x86", "-O2-push", ("-O2", "-mno-stack-arg-probe", "-mno-accumulate-outgoing-args", "-mpush-args")),
)

#: clang in MSVC mode: target triple, lld-link /machine and llvm-dlltool -m per architecture.
MSVC_TARGETS = {
    "x64": ("x86_64-pc-windows-msvc", "x64", "i386:x86-64"),
    "x86": ("i686-pc-windows-msvc", "x86", "i386"),
    "arm64": ("aarch64-pc-windows-msvc", "arm64", "arm64"),
}
MSVC_TOOLS = ("clang", "lld-link", "llvm-dlltool")
#: /O1 and /O2 without security checks, and both again with /GS cookies and CFG (/guard:cf).
MSVC_VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("msvc-O1", ("/O1", "/GS-")),
    ("msvc-O2", ("/O2", "/GS-")),
    ("msvc-O1-gs-cfg", ("/O1", "/GS", "/guard:cf")),
    ("msvc-O2-gs-cfg", ("/O2", "/GS", "/guard:cf")),
)
MSVC_CONFIGS: tuple[tuple[str, str, tuple[str, ...]], ...] = tuple(
    (arch, label, flags) for arch in MSVC_TARGETS for label, flags in MSVC_VARIANTS
)
#: Every configuration the fixture tests run over: (arch, label, flags).
CONFIGS = MINGW_CONFIGS + MSVC_CONFIGS
DRIVERS = ("tagdrv", "thunkdrv", "kmdfdrv")
IMPORT_DEFS = ("ntoskrnl", "fltmgr", "ndis", "wdfldr")

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
    "PsRl": "call-site",
    "PsCo": "call-site",
    "PsGo": "call-site",
    "PsWr": "immediate",
    "PsW2": "immediate",
    "PsGl": "data",
    "PsCf": "data",
    "PsSg": "string",
}
THUNKDRV_EXPECTED = {"ThLt": "call-site", "ThP2": "call-site", "ThFr": "call-site"}
KMDFDRV_EXPECTED = {"KmMc": "call-site", "KmLa": "call-site", "KmGl": "data"}


def toolchain_of(label: str) -> str:
    return "msvc" if label.startswith("msvc") else "mingw"


def missing_toolchain(toolchain: str = "mingw") -> str | None:
    """Why the fixtures of ``toolchain`` cannot be built here, or None."""
    if toolchain == "msvc":
        for tool in MSVC_TOOLS:
            if shutil.which(tool) is None:
                return f"{tool} not installed (Debian: clang lld llvm)"
        return None
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


def _mingw_drivers(out: Path) -> list[Built]:
    built = []
    libs = {arch: _import_libs(arch, out) for arch in ARCHES}
    for arch, opt, flags in MINGW_CONFIGS:
        gcc, _, entry = TOOLCHAINS[arch]
        for driver in DRIVERS:
            target = out / f"{driver}-{arch}{opt}.sys"
            cmd = [gcc, *flags, "-Wall", "-Wno-multichar", "-ffreestanding", "-nostdlib", "-shared",
                   "-Wl,--subsystem,native", f"-Wl,--image-base,{IMAGE_BASE[arch]}", "-e", entry,
                   "-o", str(target), str(FIXTURES / f"{driver}.c"), *map(str, libs[arch])]
            _run(cmd)
            built.append(Built(driver, arch, opt, target))
    return built


def _msvc_import_libs(arch: str, out: Path) -> list[Path]:
    _, _, machine = MSVC_TARGETS[arch]
    libs = []
    for name in IMPORT_DEFS:
        text = (FIXTURES / f"{name}.def").read_text()
        if arch != "x86":
            text = "\n".join(line.split("@")[0] for line in text.splitlines()) + "\n"
        def_path = out / f"{name}-msvc-{arch}.def"
        def_path.write_text(text)
        lib = out / f"{name}-msvc-{arch}.lib"
        cmd = ["llvm-dlltool", "-m", machine, "-d", str(def_path), "-l", str(lib)]
        if arch == "x86":
            cmd.append("-k")
        _run(cmd)
        libs.append(lib)
    return libs


def _msvc_drivers(out: Path) -> list[Built]:
    built = []
    for arch, (triple, machine, _) in MSVC_TARGETS.items():
        libs = _msvc_import_libs(arch, out)
        # The runtime pieces /GS and /guard:cf need at link time (tests/fixtures/drivers/msvcrt_min.c).
        runtime = out / f"msvcrt_min-{arch}.obj"
        _run(["clang", "--driver-mode=cl", f"--target={triple}", "/O2", "/GS-", "/c", "/Zl", f"/Fo{runtime}",
              "--", str(FIXTURES / "msvcrt_min.c")])
        for label, flags in MSVC_VARIANTS:
            for driver in DRIVERS:
                obj = out / f"{driver}-{arch}-{label}.obj"
                target = out / f"{driver}-{arch}-{label}.sys"
                _run(["clang", "--driver-mode=cl", f"--target={triple}", *flags, "/c", "/Zl", "-Wno-multichar",
                      "-Wno-unknown-attributes", f"/Fo{obj}", "--", str(FIXTURES / f"{driver}.c")])
                guard = ["/guard:cf"] if "/guard:cf" in flags else []
                _run(["lld-link", "/nologo", "/driver", "/subsystem:native", "/entry:DriverEntry", "/nodefaultlib",
                      *guard, f"/machine:{machine}", f"/out:{target}", str(obj), str(runtime), *map(str, libs)])
                built.append(Built(driver, arch, label, target))
    return built


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")


def build_drivers(out: Path, toolchain: str = "mingw") -> list[Built]:
    """Compile every fixture driver in every configuration of ``toolchain`` into ``out``."""
    return _msvc_drivers(out) if toolchain == "msvc" else _mingw_drivers(out)


_cache: dict[str, list[Built]] = {}


@pytest.fixture(scope="session")
def drivers(tmp_path_factory: pytest.TempPathFactory) -> list[Built]:
    """All fixture drivers of every toolchain installed here, built once per session.

    Skips when neither toolchain is installed; :func:`pick` skips a configuration whose
    toolchain is missing.
    """
    if "all" not in _cache:
        built: list[Built] = []
        for toolchain in ("mingw", "msvc"):
            if missing_toolchain(toolchain) is None:
                built += build_drivers(tmp_path_factory.mktemp(f"drivers-{toolchain}"), toolchain)
        _cache["all"] = built
    if not _cache["all"]:
        pytest.skip(f"{missing_toolchain('mingw')}; {missing_toolchain('msvc')}")
    return _cache["all"]


def pick(built: list[Built], driver: str, arch: str, opt: str) -> Path:
    for b in built:
        if (b.driver, b.arch, b.opt) == (driver, arch, opt):
            return b.path
    reason = missing_toolchain(toolchain_of(opt))
    if reason:
        pytest.skip(reason)
    raise KeyError((driver, arch, opt))
