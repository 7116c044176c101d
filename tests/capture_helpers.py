"""Helpers for the capture tests, and a real kernel-side leak to capture.

Run as a script, it leaks kernel objects for real: it opens Unix socket pairs at
a steady pace and holds them, so the kernel's ``sock_inode_cache`` slab cache
(one socket inode per socket) grows while nothing else the test watches does::

    python tests/capture_helpers.py leak --pairs 3000 --seconds 6 --hold 60
    python tests/capture_helpers.py leak --pairs 3000 --seconds 6 --linger 60 --pidfile F

``--linger`` leaves a detached child holding the sockets after the script exits,
the way a leaking driver keeps its allocations after the test that triggered it
has finished (what ``capture --run`` must catch).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: The slab cache that grows with every socket on this kernel (checked: 2 objects per pair).
LEAK_CACHE = "sock_inode_cache"
#: Caches the helper does not touch; they must stay "stable" in the trend.
UNTOUCHED = ("task_struct", "inode_cache", "files_cache", "mm_struct", "sighand_cache")

REPO = Path(__file__).resolve().parent.parent
POOLSCOPE = REPO / ".venv" / "bin" / "poolscope"


def slabinfo_readable() -> tuple[bool, str]:
    try:
        with open("/proc/slabinfo", "rb") as fh:
            fh.read(1)
    except FileNotFoundError:
        return False, "/proc/slabinfo does not exist on this system"
    except PermissionError:
        return False, "/proc/slabinfo is root-only here (CI runs as root)"
    return True, ""


def poolscope_cmd() -> list[str]:
    if POOLSCOPE.exists():
        return [str(POOLSCOPE)]
    return [sys.executable, "-m", "analyzer.cli"]


def leak_cmd(pairs: int, seconds: float, *extra: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "leak", "--pairs", str(pairs),
            "--seconds", str(seconds), *extra]


def slab_active(cache: str = LEAK_CACHE) -> int | None:
    with open("/proc/slabinfo") as fh:
        for line in fh:
            parts = line.split()
            if parts and parts[0] == cache:
                return int(parts[1])
    return None


def wait_slab_quiet(cache: str = LEAK_CACHE, timeout: float = 15.0) -> None:
    """Wait until ``cache`` stops moving: sockets closed by an earlier test are freed after an RCU grace period."""
    deadline = time.monotonic() + timeout
    seen: list[int | None] = []
    while time.monotonic() < deadline:
        seen.append(slab_active(cache))
        if len(seen) >= 3 and seen[-1] is not None and all(
            v is not None and abs(v - seen[-1]) <= 64 for v in seen[-3:]
        ):
            return
        time.sleep(0.25)


def stop_holder(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM a detached socket holder and wait until its sockets are really gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            break
        if state in ("Z", "X"):
            break
        time.sleep(0.05)
    wait_slab_quiet()


#: Held exclusively by each real-leak test, shared by tests that open many sockets of their own.
LEAK_LOCK = Path(tempfile.gettempdir()) / "poolscope-kernel-leak-tests.lock"


@contextlib.contextmanager
def _flock(mode: int) -> Iterator[None]:
    import fcntl

    with LEAK_LOCK.open("a") as fh:
        fcntl.flock(fh, mode)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def kernel_leak_lock() -> Iterator[None]:
    """One real-leak test at a time across pytest-xdist workers: they all grow (and free) the same cache.

    Exclusive, so it also waits for tests holding :func:`socket_churn` to finish.
    """
    import fcntl

    with _flock(fcntl.LOCK_EX):
        wait_slab_quiet()
        yield


@contextlib.contextmanager
def socket_churn() -> Iterator[None]:
    """Held (shared) by tests that open and close many sockets (a Dask cluster, a browser).

    The real-leak tests measure sock_inode_cache; such a test running beside them on the
    other xdist worker makes the cache move for reasons of its own.
    """
    import fcntl

    with _flock(fcntl.LOCK_SH):
        yield


def _raise_nofile(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need + 64
    if soft < want:
        new_soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))


def _leak(pairs: int, seconds: float) -> list[tuple[socket.socket, socket.socket]]:
    _raise_nofile(2 * pairs)
    held = []
    start = time.monotonic()
    for i in range(pairs):
        held.append(socket.socketpair())
        due = start + seconds * (i + 1) / pairs
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return held


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    leak = sub.add_parser("leak")
    leak.add_argument("--pairs", type=int, default=3000)
    leak.add_argument("--seconds", type=float, default=6.0)
    leak.add_argument("--hold", type=float, default=0.0, help="keep the sockets this long, then exit")
    leak.add_argument("--linger", type=float, default=0.0, help="hand the sockets to a detached child")
    leak.add_argument("--pidfile", default=None)
    args = ap.parse_args(argv)

    held = _leak(args.pairs, args.seconds)
    if args.linger:
        pid = os.fork()
        if pid == 0:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            time.sleep(args.linger)
            os._exit(0)
        if args.pidfile:
            Path(args.pidfile).write_text(str(pid))
        print(f"leaked {len(held)} socket pairs, held by pid {pid}", flush=True)
        return 0
    print(f"leaked {len(held)} socket pairs", flush=True)
    if args.hold:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        time.sleep(args.hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
