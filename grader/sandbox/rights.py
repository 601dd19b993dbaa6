"""The grader's rights, kept from the submission where the grader is root (process backend).

A uid per server (`claim_uid`), the jail launch.py builds from `jail_mounts`, the status line the
launcher's child sends before its exec (`read_status`), and `isolation_here`, the one line on
what this machine could not enforce. Linux only; elsewhere the grader is never asked to drop
rights (`drops_rights`).
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import pwd
import random
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.sandbox.base import InfraError

__all__ = ["claim_uid", "drops_rights", "isolation_here", "jail_mounts", "others_reach",
           "out_of_reach",
           "read_status", "runs_as"]

LAUNCH = Path(__file__).with_name("launch.py")
_UIDS = range(61184, 65520)  # systemd's dynamic range: no user's, no system account's
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
_DEVICES = ("null", "zero", "full", "random", "urandom")


def drops_rights() -> bool:
    """Does the submission run as a uid of its own? (The grader is root, on Linux.)"""
    return sys.platform == "linux" and os.geteuid() == 0


def claim_uid() -> tuple[int, int]:
    """A uid no account has and no process runs as, locked for this server (a flock on a file
    of the grader's, released when the fd is closed or the grader dies): (uid, lock fd)."""
    locks = Path(tempfile.gettempdir(), "grader-uids")
    locks.mkdir(mode=0o700, exist_ok=True)
    info = locks.lstat()
    if info.st_uid != 0 or (info.st_mode & 0o077):
        raise InfraError(f"{locks} is not the grader's own (owner {info.st_uid}, mode "
                         f"{info.st_mode & 0o777:o}): remove it")
    start = random.randrange(len(_UIDS))
    for uid in (*_UIDS[start:], *_UIDS[:start]):
        fd = os.open(locks / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            pwd.getpwuid(uid)
        except KeyError:  # no account has it
            if not runs_as(uid):
                return uid, fd
        except OSError:
            pass  # another server has it
        os.close(fd)
    raise InfraError("every uid in 61184-65519 is in use: too many servers at once")


def runs_as(uid: int) -> bool:
    """Does any process run as `uid`? (A /proc/PID folder belongs to its process's euid; a
    stat each, 1 ms for 300 processes where psutil takes 60.)"""
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid:
                return True
        except OSError:
            continue
    return False


def jail_mounts(*, read_only: list[Path], writable: list[Path], hide: list[Path],
                tmpfs: str) -> list[tuple[str, str, str]]:
    """What the jail holds, as launch.py builds it, in order (parents before what is below
    them): the system folders and the interpreter's prefixes read-only, a private /tmp, /dev
    and /proc; `hide` (the course) emptied where a bind above brought it in; then `read_only`
    and `writable`, each at its own path."""
    mounts: list[tuple[str, str, str]] = []
    for top in _SYSTEM:
        if os.path.islink(top):
            mounts.append(("link", top, os.readlink(top)))
        elif os.path.isdir(top):
            mounts.append(("ro", top, top))
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for prefix in sorted(str(Path(p).resolve()) for p in prefixes):
        if not any(prefix == m[1] or prefix.startswith(m[1] + "/") for m in mounts):
            mounts.append(("ro", prefix, prefix))
    mounts += [("tmpfs", "/tmp", f"mode=1777,size={tmpfs}"),
               ("tmpfs", "/dev", "mode=0755,size=64k"),
               ("tmpfs", "/dev/shm", f"mode=1777,size={tmpfs}"), ("proc", "/proc", ""),
               ("link", "/dev/fd", "/proc/self/fd")]
    mounts += [("rw", f"/dev/{name}", f"/dev/{name}") for name in _DEVICES
               if os.path.exists(f"/dev/{name}")]
    mounts += [("hide", str(p), "") for p in hide]
    mounts += [("ro", str(p), str(p)) for p in read_only]
    mounts += [("rw", str(p), str(p)) for p in writable]
    return sorted(mounts, key=lambda m: len(Path(m[1]).parts))  # stable: ties keep this order


def others_reach(paths: list[Path]) -> bool:
    """Can a uid that is no owner and in no group read (and enter) each of `paths`? What the
    submission's own uid needs where no jail can be made: the interpreter, the code, ..."""
    return out_of_reach(paths) is None


def out_of_reach(paths: list[Path]) -> Path | None:
    """The first of `paths` that such a uid cannot read (or enter), or None."""
    for path in paths:
        real = Path(os.path.realpath(path))
        for part in [*reversed(real.parents), real]:
            try:
                mode = part.stat().st_mode
            except OSError:
                return path
            if not mode & (0o001 if part != real or real.is_dir() else 0o004):
                return path
    return None


def read_status(fd: int) -> dict[str, object]:
    """The launcher child's one line: what the run got (read until it execs; bounded)."""
    data = b""
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if select.select([fd], [], [], deadline - time.monotonic())[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                data += chunk
    finally:
        os.close(fd)
    try:
        return dict(json.loads(data.decode().splitlines()[0]))
    except (ValueError, IndexError, UnicodeDecodeError):
        return {}  # it died before saying (e.g. killed at once): the run's own outcome tells


@functools.cache
def isolation_here() -> str | None:
    """One line on what the process backend could not enforce on this machine about the
    grader's rights, or None where nothing is missing (not root: the student's own machine; or
    root with a jail). Runs the launcher once, as a server would run."""
    if os.geteuid() != 0:
        return None
    if not drops_rights():
        return (f"the grader runs as root and so does the server: the process backend gives it "
                f"a uid of its own on Linux only (here: {sys.platform}); use Docker")
    uid, lock = claim_uid()
    status_r, status_w = os.pipe()
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as tmp:
        jail = {"root": tmp, "mounts": jail_mounts(read_only=[], writable=[], hide=[],
                                                   tmpfs="1m")}
        config = {"user": {"uid": uid, "gid": uid, "jail": jail,
                           "bare": others_reach([Path(sys.executable)])},
                  "status_fd": status_w}
        try:
            proc = subprocess.Popen([sys.executable, str(LAUNCH), json.dumps(config), "--",
                                     sys.executable, "-c", ""], pass_fds=(status_w,),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            os.close(status_w)
            status = read_status(status_r)
            proc.wait(timeout=10)
        finally:
            os.close(lock)
    if status.get("jail"):
        return None
    if "refused" in status:
        return (f"the grader runs as root and cannot hide its files from the server here "
                f"({status['refused']}), and the server's own uid cannot run Python: "
                "it will not run the server at all (use Docker, or install Python where every "
                "user can read it)")
    return ("the grader runs as root but cannot hide its files here "
            f"({status.get('why', 'no mount namespace')}): the server runs as a uid of its own "
            "(it cannot signal the grader or write its files) but can read any file every user "
            "may, the tests included")
