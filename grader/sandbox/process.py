"""The process backend: the same contract as a local subprocess, for students without Docker.

It is NOT a security boundary: it is for a student's own code on their own machine (and a CI or
Gradescope runner). It gives a free port on loopback, a minimal environment, rlimits on CPU
time, file size and core dumps, and a bounded tail of the output.

What it promises about processes: every process the submission starts ends with the grading,
even one that double-forks, calls setsid and clears its environment. The submission runs under
a reaper (launch.py) that is a child subreaper (Linux): orphans are reparented to it, not to
init, and it kills them all when the command exits or the grader stops it. Where the grader can
make a cgroup v2 (root on most CI and Gradescope machines; a delegated subtree elsewhere), the
submission also runs in its own cgroup, emptied with cgroup.kill at the end even if the reaper
itself was killed, and capped with pids.max and memory.max where those controllers are
delegated to it.

Where the grader runs as root (Gradescope, a CI runner, sudo on a laptop), the submission never
has its rights: it runs as a uid of its own (one per server, from systemd's dynamic range, never
a user's, locked while in use), with no supplementary groups and no new privileges, so it cannot
signal the grader or another submission, nor write the grader's files. Where root may make a
mount namespace (CAP_SYS_ADMIN), it also runs chrooted in a jail (launch.py) that holds only the
system folders, the interpreter and its packages, the assignment's runners, support and docroot,
its code read-only, DATA_DIR (owned by its uid) and a private /tmp, /dev and /proc: the course
(hidden tests included), the grader's temporary folders and its results are not there to read.
Where no namespace can be made (root without CAP_SYS_ADMIN, as in most containers) it still runs
as its own uid, reading what any user may; if that uid could not even run the interpreter, the
grader refuses (InfraError), never falling back to root. rights.isolation_here() says which
applies (grader/sandbox/rights.py).

What it does not promise: a submission running as the grader's own uid (not root: a student's
own machine) can leave a cgroup, signal the grader, or read any file the grader can; isolation
is the docker backend's. Memory without a memory controller is RLIMIT_DATA, which is per
process: a server that forks can use that much in each process. RLIMIT_NPROC counts every task
of the real uid and means nothing for root: for a uid of the submission's own it is the pids
limit; for the grader's own uid, headroom above what that uid already runs (see `_limits`).
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from grader.core.config import RUNNERS, Limits
from grader.core.submission import TooLarge, stage_copy
from grader.sandbox.base import (
    DATA_CAP,
    FILE_CAP,
    OUT_OF_TIME,
    InfraError,
    Server,
    StartupError,
    read_folder,
    server_command,
)
from grader.sandbox.listeners import Listener, normalise
from grader.sandbox.rights import (
    LAUNCH,
    claim_uid,
    drops_rights,
    jail_mounts,
    others_reach,
    out_of_reach,
    read_status,
)
from grader.sandbox.site import site_env, wait_site

__all__ = ["ProcessServer"]

_REAPER_GRACE = 4.0  # s the reaper gets to end its descendants (it gives them 1.5 s, then kills)



class ProcessServer(Server):
    # The suite connects over loopback, but the contract is the container's: HOST is 0.0.0.0 and
    # only a wildcard listener is ready (read from the server's own sockets), so a server that
    # binds 127.0.0.1 gets the same no_server line here as in docker, not full marks.
    host = "127.0.0.1"
    reachable: frozenset[str] = frozenset()

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._proc: subprocess.Popen[bytes] | None = None
        self._drainer: threading.Thread | None = None  # reads its output into the tail
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_lock = threading.Lock()
        self._data: Path | None = None
        self._stage: Path | None = None  # the private, read-only copy of the submission
        self._timer: threading.Timer | None = None
        self.tracking: Path | None = None  # the current run's cgroup, where one could be made
        self._uid: tuple[int, int] | None = None  # (uid, its lock's fd) while the grader is root
        self.isolation: dict[str, object] = {}  # what the current run got: {"uid", "jail"}
        self._seen = 0  # bytes of output so far, all runs
        self._run_mark = 0  # where the current run's output starts
        self.port = 0
        self._site: _Site | None = None  # a client assignment's site, on 127.0.0.1:port
        self._stdout: Path | None = None  # a client's stdout: a file (capped by RLIMIT_FSIZE)

    def start(self) -> None:
        self.time_left()  # the wall-clock budget starts with the first start
        # Ports are not reserved: another program may take the one we picked before the server
        # binds it. That is never the student's fault: pick another and try again.
        for attempt in range(3):
            try:
                return self._start_once()
            except StartupError:
                if attempt == 2 or not self._port_taken_by_other():
                    raise
                self.stop(keep_data=True)

    def _port_taken_by_other(self) -> bool:
        with socket.socket() as s:
            try:
                s.bind((self.host, self.port))
                return False
            except OSError:
                return True

    def _start_once(self) -> None:
        if drops_rights() and self._uid is None:
            self._uid = claim_uid()
        if self.assignment.data_dir and self._data is None:
            self._data = Path(tempfile.mkdtemp(prefix="grader-data-"))
            if self._uid:  # its own folder, in one of the grader's it cannot rename it out of
                # (a link put in its place would have the grader read elsewhere as root)
                self._data.chmod(0o711)
                self._data = self._data / "data"
                self._data.mkdir(mode=0o700)
                os.chown(self._data, self._uid[0], self._uid[0])
        client = self.assignment.kind == "client"
        self.port = _free_port()
        if client:
            self._site = _Site(self.assignment.site_path, port=self.port)
            self.site_url = self._site.url
        support = self.assignment.support_path
        code = self._stage_submission()
        argv, env = server_command(
            self.assignment, port=self.port, host="0.0.0.0",
            home="/tmp" if self._uid else os.environ.get("HOME", "/tmp"),
            support=str(support.resolve()) if support else "", runners=str(RUNNERS),
            docroot=str(self.docroot) if self.docroot else None,
            data_dir=str(self._data) if self._data else None,
            path=os.environ.get("PATH", os.defpath), site_url=self.site_url or None, code=code)
        if argv[0] in ("python", "python3"):
            argv = [sys.executable, *argv[1:]]  # the grader's interpreter has the allowed packages
        elif "/" not in argv[0] and (Path(sys.executable).parent / argv[0]).is_file():
            # a program of the grader's environment (a Procfile's gunicorn), as the image's venv
            # comes first on a container's PATH
            argv = [str(Path(sys.executable).parent / argv[0]), *argv[1:]]
        self.tracking = _make_cgroup(self.limits)
        config: dict[str, object] = {"limits": self._limits(),
                                     "cgroup": str(self.tracking or "") or None,
                                     "read_only": str(code)}
        out: int | None = subprocess.PIPE
        if client:  # its stdout is its result: a file of the grader's, read whole afterwards
            assert self._stage is not None
            self._stdout = self._stage / "stdout"  # outside the jail's root: never in its reach
            out = os.open(self._stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        status_r, status_w = os.pipe() if self._uid else (-1, -1)
        if self._uid:
            config["user"] = self._user(code)
            config["status_fd"] = status_w
        try:
            self._proc = subprocess.Popen(
                [sys.executable, str(LAUNCH), json.dumps(config), "--", *argv],
                cwd=code,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.PIPE if client else subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed as a whole at the end
                pass_fds=(status_w,) if self._uid else (),
            )
        except OSError as exc:
            if self._uid:
                os.close(status_r)
            raise StartupError(f"could not run {self.assignment.entry!r}: {exc.strerror}") from None
        finally:
            if self._uid:
                os.close(status_w)
            if client and out is not None:
                os.close(out)
        with self._tail_lock:
            self._run_mark = self._seen
        pipe = self._proc.stderr if client else self._proc.stdout
        self._drainer = threading.Thread(target=self._drain, args=(pipe,), daemon=True)
        self._drainer.start()
        self._timer = threading.Timer(self.time_left(), self.time_up)  # the backstop
        self._timer.daemon = True
        self._timer.start()
        if self._uid:
            self.isolation = read_status(status_r)
            if "refused" in self.isolation:
                raise InfraError("the process backend will not run a submission as root, and "
                                 f"no uid but root could run it here: {self.isolation['refused']}"
                                 f" (and {out_of_reach(self._needed(code))} is out of other users' "
                                 "reach)")
        if not client:
            self.wait_listening()

    def _user(self, code: Path) -> dict[str, object]:
        """The launcher's "user": this server's uid and the jail it runs in."""
        assert self._uid is not None
        support, docroot = self.assignment.support_path, self.docroot
        course = self.assignment.dir.parent
        course = course.parent if course.name == "assignments" else course
        mounts = jail_mounts(
            read_only=[p.resolve() for p in (RUNNERS, support, docroot, code) if p],
            writable=[self._data] if self._data else [], hide=[course.resolve()],
            tmpfs=self.limits.tmpfs)
        return {"uid": self._uid[0], "gid": self._uid[0], "bare": others_reach(self._needed(code)),
                "jail": {"root": str(self._stage_root()), "mounts": mounts}}

    def _needed(self, code: Path | None = None) -> list[Path]:
        """What the server's own uid must reach where no jail hides the rest."""
        support, docroot = self.assignment.support_path, self.docroot
        return [Path(sys.executable), Path(sys.prefix), RUNNERS,
                *(p for p in (support, docroot, code) if p)]

    def _stage_root(self) -> Path:
        assert self._stage is not None
        (self._stage / "root").mkdir(exist_ok=True)
        return self._stage / "root"

    def _stage_submission(self) -> Path:
        """The code folder the server runs in: a private copy it cannot write, as in docker
        (DATA_DIR is the only writable place the contract gives). Folders 0555 and files 0444,
        so a server of another uid than root gets "Permission denied"; as root, the launcher
        also makes it a read-only bind mount in the server's own mount namespace (Linux, where
        root may), so it gets "Read-only file system", the very error docker gives. Made once,
        kept across restarts."""
        if self._stage is None:
            self._stage = Path(tempfile.mkdtemp(prefix="grader-stage-"))
            try:
                stage_copy(self.submission, self._stage / "app")
            except TooLarge as exc:
                raise StartupError(str(exc)) from None
            _chmod_tree(self._stage / "app", folders=0o555, files=0o444)
            if self._uid:
                self._stage.chmod(0o711)  # the server's uid may enter (not list) where it runs
        return self._stage / "app"

    def _end_run(self) -> None:
        if self._proc is not None:
            _kill_group(self._proc)

    def _limits(self) -> dict[str, int]:
        # RLIMIT_DATA (heap and private writable mappings), not RLIMIT_AS: thread stacks and
        # arena reservations would make the address-space limit fail threaded servers. It is
        # per process; the cgroup's memory.max, where there is one, caps the whole submission.
        limits = {"RLIMIT_DATA": self.limits.memory_bytes() + 256 * 1024 * 1024,
                  "RLIMIT_CPU": int(self.limits.wall) + 1, "RLIMIT_FSIZE": FILE_CAP,
                  "RLIMIT_CORE": 0}
        if self._uid:  # a uid of its own: its tasks are the submission's, nobody else's
            limits["RLIMIT_NPROC"] = self.limits.pids
        elif os.getuid() != 0 and sys.platform == "linux":
            # RLIMIT_NPROC counts every task (thread) of the real uid, the grader's and the
            # user's own included, and root is exempt. So: what the uid runs now plus 4 x the
            # pids limit (256 by default), room for other suites' servers growing meanwhile
            # (a batch runs several at once) while a fork bomb still stops well before it
            # takes the machine.
            limits["RLIMIT_NPROC"] = _tasks_of(os.getuid()) + 4 * self.limits.pids
        return limits

    def _drain(self, pipe: object) -> None:
        # Reading everything keeps a flooding server from blocking; only the tail is kept.
        kept = 0
        with pipe:  # type: ignore[attr-defined]
            for chunk in iter(lambda: pipe.read1(65536), b""):  # type: ignore[attr-defined]
                with self._tail_lock:
                    self._tail.append(chunk)
                    self._seen += len(chunk)
                    kept += len(chunk)
                    while kept - len(self._tail[0]) >= self.limits.output:
                        kept -= len(self._tail.popleft())

    def exited(self) -> str | None:
        code = self._proc.poll() if self._proc else None
        if code is None:
            return None
        # Its last words (a usage line, a traceback) may still be in the pipe: read them before
        # anyone quotes the output (bounded: a grandchild may hold the pipe open).
        if self._drainer is not None and self._drainer.is_alive():
            self._drainer.join(timeout=1.0)
        if self._out_of_time:
            return OUT_OF_TIME
        return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"

    def _family(self) -> list[psutil.Process]:
        """The submission's own processes: the reaper's tree (a daemonised grandchild is
        reparented to the reaper) and its cgroup's members. Nothing else: the calling process
        and its other children are never touched."""
        found: dict[int, psutil.Process] = {}
        if self._proc is not None:
            try:
                root = psutil.Process(self._proc.pid)
                found.update((p.pid, p) for p in [root, *root.children(recursive=True)])
            except psutil.Error:
                pass
        for proc in _processes(_members(self.tracking)):
            found.setdefault(proc.pid, proc)
        found.pop(os.getpid(), None)
        return list(found.values())

    def _root_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def listeners(self) -> list[Listener]:
        """What the submission's own processes listen on (psutil: Linux, macOS, BSD); a
        neighbour holding the same port does not count."""
        if self._proc is None:
            return []
        found = []
        try:
            root = psutil.Process(self._proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
        for proc in procs:
            try:
                conns = proc.net_connections(kind="tcp")
            except psutil.Error:
                continue  # gone meanwhile, or not ours to read
            found += [Listener(normalise(c.laddr.ip), c.laddr.port) for c in conns
                      if c.status == psutil.CONN_LISTEN]
        return found

    def current_logs(self) -> str:
        with self._tail_lock:
            data = b"".join(self._tail)
            data = data[max(0, len(data) - (self._seen - self._run_mark)) :]
        return data[-self.limits.output :].decode("utf-8", "replace")

    def logs(self) -> str:
        with self._tail_lock:
            data = b"".join(self._tail)[-self.limits.output :]
        return data.decode("utf-8", "replace")

    def exit_code(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def site_log(self) -> str:
        return self._site.stop() if self._site is not None else ""

    def data_files(self) -> dict[str, bytes]:
        try:
            return read_folder(self._data, DATA_CAP) if self._data else {}
        except OSError:
            return {}

    def stop(self, *, keep_data: bool = False) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._proc is not None:
            self._bank_cpu()
            family = self._family()
            _kill_group(self._proc)  # the reaper ends its descendants before it exits
            _kill(family + self._family())  # if the reaper could not: what we saw before
            self._proc = None
        if self.tracking is not None:
            _remove_cgroup(self.tracking)  # whatever is still in it, whoever its parent
            self.tracking = None
        if self._site is not None:
            self._site.stop()
            self._site = None
        if self._data is not None and not keep_data:
            top = self._data.parent if self._data.name == "data" else self._data
            shutil.rmtree(top, ignore_errors=True)
            self._data = None
        if self._stage is not None and not keep_data:
            _chmod_tree(self._stage / "app", folders=0o755, files=0o644)  # removable again
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None
        if self._uid is not None and not keep_data:
            os.close(self._uid[1])  # the uid is free for another server
            self._uid = None


class _Site:
    """A client assignment's site: the course's site.py as a process of the grader's, on
    127.0.0.1 (its own session, killed at the end); every line it prints is kept (capped)."""

    def __init__(self, folder: Path | None, *, port: int) -> None:
        assert folder is not None
        self.url = f"http://127.0.0.1:{port}"
        env = {**site_env(port=port, url=self.url), "PATH": os.environ.get("PATH", os.defpath),
               "HOME": os.environ.get("HOME", "/tmp")}
        self._out: list[bytes] = []
        self._err: collections.deque[bytes] = collections.deque(maxlen=50)
        self._proc = subprocess.Popen(
            [sys.executable, str(folder / "site.py")], cwd=folder, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        self._readers = [threading.Thread(target=self._read, args=(pipe, keep), daemon=True)
                         for pipe, keep in ((self._proc.stdout, self._out.append),
                                            (self._proc.stderr, self._err.append))]
        for reader in self._readers:
            reader.start()
        try:
            wait_site(lambda: bool(self._out), lambda: self._proc.poll() is not None,
                      lambda: b"".join(self._err).decode("utf-8", "replace"))
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _read(pipe: Any, keep: Any) -> None:
        with pipe:
            for line in iter(pipe.readline, b""):
                keep(line)

    def stop(self) -> str:
        """Stop it (once), and return all it printed on stdout."""
        if self._proc.poll() is None:
            _kill_group(self._proc)
        for reader in self._readers:
            reader.join(timeout=5)
        return b"".join(self._out[:200_000]).decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the reaper and its process group; the reaper passes it on to every descendant,
    SIGKILLs them after a grace and exits once none is left. SIGKILL the group only if it has
    not by then (a SIGKILLed reaper leaves orphans to init: the cgroup is what ends them)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=_REAPER_GRACE)
        except subprocess.TimeoutExpired:
            pass
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is gone already
    proc.wait(timeout=10)


def _kill(procs: list[psutil.Process]) -> None:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


def _chmod_tree(top: Path, *, folders: int, files: int) -> None:
    """chmod every folder and regular file under `top` (links are left as they are)."""
    if not top.is_dir():
        return
    for root, _dirs, names in os.walk(top):
        for name in names:
            path = Path(root, name)
            if not path.is_symlink():
                os.chmod(path, files)
        os.chmod(root, folders)  # after its files: a 0555 folder still lets us chmod them


def _tasks_of(uid: int) -> int:
    """How many tasks (threads) the real uid `uid` runs now: what RLIMIT_NPROC counts."""
    total = 0
    for proc in psutil.process_iter():
        try:
            if proc.uids().real == uid:
                total += proc.num_threads()
        except psutil.Error:
            continue
    return total


def _own_cgroup() -> Path | None:
    """This process's cgroup v2 folder (Linux, unified hierarchy mounted), else None."""
    try:
        own = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.startswith("0::"))
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields, _, fs = line.partition(" - ")
            parts = fields.split()
            if fs.split()[:1] == ["cgroup2"] and own.startswith(parts[3]):
                return Path(parts[4]) / own[len(parts[3]):].lstrip("/")
    except (OSError, StopIteration, IndexError):
        pass
    return None


def _make_cgroup(limits: Limits) -> Path | None:
    """A fresh cgroup v2 below the grader's own, with pids.max and memory.max where
    those controllers are delegated; None where none can be made (read-only /sys/fs/cgroup in
    most containers, a user's session that is not delegated, not Linux)."""
    parent = _own_cgroup() if sys.platform == "linux" else None
    if parent is None:
        return None
    folder = parent / f"grader-{uuid.uuid4().hex[:12]}"
    try:
        folder.mkdir()
    except OSError:
        return None
    try:
        controllers = (folder / "cgroup.controllers").read_text().split()
        if "pids" in controllers:
            (folder / "pids.max").write_text(str(limits.pids + 1))  # + the reaper
        if "memory" in controllers:
            (folder / "memory.max").write_text(str(limits.memory_bytes()))
            if (folder / "memory.swap.max").exists():
                (folder / "memory.swap.max").write_text("0")  # no extra swap, as in docker
    except OSError:
        pass  # the limits stay the rlimits; the tracking is what matters here
    return folder


def _processes(pids: list[int]) -> list[psutil.Process]:
    found = []
    for pid in pids:
        try:
            found.append(psutil.Process(pid))
        except psutil.Error:
            continue  # gone meanwhile
    return found


def _members(cgroup: Path | None) -> list[int]:
    if cgroup is None:
        return []
    try:
        return [int(pid) for pid in (cgroup / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _remove_cgroup(cgroup: Path) -> None:
    """Kill everything in `cgroup` (cgroup.kill, Linux 5.14; else each member, until none is
    left) and remove it once empty (bounded: 5 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            (cgroup / "cgroup.kill").write_text("1")
        except OSError:
            _kill(_processes(_members(cgroup)))
        try:
            cgroup.rmdir()  # EBUSY while a member lives
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

