"""The contract every backend keeps: a `Server` as the suite sees it, and two kinds of failure.

Two kinds of failure, never mixed: `StartupError` is the submission's fault (it never listened),
`InfraError` is the grader's (the engine broke) and must never become a student's zero.
"""

from __future__ import annotations

import math
import os
import re
import stat
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import psutil

from grader.core.config import Assignment, Limits, ProcfileError
from grader.core.text import crash_cause
from grader.sandbox.listeners import Listener, judge
from grader.sandbox.wait import STRETCH, Activity, Wait

__all__ = ["DATA_CAP", "FILE_CAP", "LABEL", "OUT_OF_TIME", "STRETCH", "Activity", "InfraError",
           "Server", "StartupError", "client_connections", "read_folder", "server_command",
           "tree_activity", "tree_cpu"]

LABEL = "course-grader"  # every container, network and volume we create carries this label
OUT_OF_TIME = "was stopped at the end of its wall-clock budget"
FILE_CAP = 64 * 1024 * 1024  # RLIMIT_FSIZE: no file the submission writes grows past this
DATA_CAP = 32 * 1024 * 1024  # bytes of DATA_DIR a suite reads back (data_files), at most
_WRONG_GRACE = 1.0  # s a wrong listener may stay before we say so (a server may open two)


def server_command(assignment: Assignment, *, port: int, host: str, home: str, support: str,
                   runners: str, docroot: str | None, data_dir: str | None,
                   path: str | None = None,
                   site_url: str | None = None,
                   code: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """The command a submission's server starts with and its whole environment, the same on
    both backends: what the handout promises (PORT, HOST, DOCROOT, DATA_DIR, SUPPORT, the
    assignment's own variables) and what a Python needs, never the grader's own variables (a
    token in the instructor's shell stays there). `path`: PATH, where the image's own does not
    apply (a container keeps its image's). A client (`kind: client`) gets SITE_URL, the
    course's site, instead of PORT and HOST: it listens on nothing. `code`: the staged
    submission, where a `procfile` assignment's Procfile is read (a missing or bad one is the
    student's StartupError)."""
    try:
        argv, extra = assignment.command(support=support, runners=runners, code=code)
    except ProcfileError as exc:
        raise StartupError(str(exc)) from None
    env = {**({"PATH": path} if path else {}), "HOME": home, "LANG": "C.UTF-8", **extra,
           "PORT": str(port),
           "HOST": host, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "MALLOC_ARENA_MAX": "2"}  # glibc's per-thread arenas would eat the memory limit
    if assignment.kind == "client":
        del env["PORT"], env["HOST"]
        env["SITE_URL"] = site_url or ""
    if docroot:
        env["DOCROOT"] = docroot
    if data_dir:
        env["DATA_DIR"] = data_dir
    if assignment.procfile:  # as a platform's shell would: $PORT, ${PORT}; unset ones are ""
        argv = [re.sub(r"\$(?:(\w+)|\{(\w+)\})",
                       lambda m: env.get(m.group(1) or m.group(2), ""), a) for a in argv]
    return argv, env


class StartupError(Exception):
    """The submission did not start serving; the message is the one-line reason."""

    def __init__(self, reason: str, log: str = "") -> None:
        super().__init__(reason)
        self.reason, self.log = reason, log


class InfraError(Exception):
    """The grader's own machinery failed (engine down, image missing): rerun, never a zero."""


class Server(ABC):
    """A running submission, as the suite sees it."""

    host: str
    port: int
    docroot: Path | None
    reachable: frozenset[str] = frozenset()  # addresses besides wildcards the grader can reach
    poll = 0.025  # s between socket-table reads while it starts (more where a read is costly)

    def __init__(self, *, assignment: Assignment, submission: Path, limits: Limits) -> None:
        self.assignment, self.submission, self.limits = assignment, submission, limits
        self.docroot = assignment.docroot_path
        self._lifecycle = threading.Lock()  # a restart and time_up(), never interleaved

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @abstractmethod
    def start(self) -> None:
        """Start the server and return once it accepts connections (or raise StartupError)."""

    @abstractmethod
    def stop(self, *, keep_data: bool = False) -> None:
        """Stop the server and remove everything it ran in; safe to call twice."""

    @abstractmethod
    def exited(self) -> str | None:
        """None while the server runs; once it has died, how ("exited with code 1")."""

    @abstractmethod
    def logs(self) -> str:
        """The tail of the server's stdout and stderr (untrusted, size-capped)."""

    @abstractmethod
    def data_files(self) -> dict[str, bytes]:
        """Regular files in DATA_DIR by relative path (size-capped), for suites that inspect it."""

    _first_start: float | None = None
    _out_of_time = False  # the wall-clock budget is used up: no run starts again
    _cpu_done = 0.0  # CPU seconds of the runs before a restart

    def cpu_seconds(self) -> float | None:
        """CPU time the submission used so far, all runs (None where it cannot be read)."""
        now = self._cpu_now()
        return None if now is None else round(self._cpu_done + now, 2)

    def idle_meter(self, window: float = 0.2, still: float = 0.05,
                   settle: float = 3.0) -> Callable[[], float | None]:
        """A call that measures the share of the CPU the server may use (its `cpus` limit, or
        this machine's cores when fewer) that it uses, or waits for, while no client is
        connected: 0 for a server that blocks, 1 (never more) for one that polls in a loop,
        even on a loaded machine.

        It first waits up to `settle` s until no client connection is open at the server's
        port and none has data still to send, read from the server's own socket table (the
        suite's client sockets close at its teardown; the server may still be draining); when
        that never happens, or the table cannot be read, it gives None: no claim about "no
        client connected" without that evidence. Then it measures for `window` s; a server
        none of whose threads ran at all in the first `still` s is blocked: 0 at once (a
        poller runs, or waits to run, many times a second)."""

        def share() -> float | None:
            pid = self._root_pid()
            if pid is None or not _no_clients(pid, self.port, settle):
                return None
            start, before = time.monotonic(), tree_demand(pid)
            if before is None:
                return None
            time.sleep(still)
            if tree_demand(pid) == before:
                return 0.0
            time.sleep(max(0.0, start + window - time.monotonic()))
            after = tree_demand(pid)
            if after is None:
                return None
            cores = max(0.01, min(self.limits.cpus, os.cpu_count() or 1))
            busy = max(0.0, after - before) / (time.monotonic() - start) / cores
            return round(min(1.0, busy), 2)

        return share

    def _root_pid(self) -> int | None:
        """The current run's first process as a pid of this host (None where the submission
        runs elsewhere, e.g. in an engine's VM)."""
        return None

    def _cpu_now(self) -> float | None:
        """CPU seconds of the current run (read before it is stopped)."""
        pid = self._root_pid()
        return tree_cpu(pid) if pid else None

    def activity(self) -> Activity | None:
        """What the current run is doing (CPU, asleep, time lost waiting for a CPU), from this
        host's /proc; None where that cannot be read. A server that stays asleep without using
        CPU while a client waits for it is waiting for something that will not come."""
        pid = self._root_pid()
        return tree_activity(pid) if pid else None

    def _bank_cpu(self) -> None:
        """Keep the current run's CPU time before a stop."""
        self._cpu_done += self._cpu_now() or 0.0

    def time_left(self) -> float:
        """Seconds left before the backstop: every run is killed at STRETCH times the wall-clock
        budget (which covers every restart, not each) from the first start, whatever else
        happens. The budget itself is kept by the grader's watchdog (run/plugin.py), which
        adds back the time the machine's load took and calls time_up()."""
        if self._first_start is None:
            self._first_start = time.monotonic()
        return max(1.0, math.ceil(STRETCH * self.limits.wall
                                  - (time.monotonic() - self._first_start)))

    def time_up(self) -> None:
        """The wall-clock budget is used up: end the current run now, and start none again;
        exited() then says OUT_OF_TIME."""
        with self._lifecycle:
            self._out_of_time = True
            self._end_run()

    @property
    def out_of_time(self) -> bool:
        return self._out_of_time

    @abstractmethod
    def _end_run(self) -> None:
        """Kill every process of the current run, without waiting (time_up())."""

    def restart(self) -> None:
        """Stop and start again with the same DATA_DIR (host or port may change)."""
        with self._lifecycle:
            self.stop(keep_data=True)
            if self._out_of_time:
                raise StartupError(f"it {OUT_OF_TIME}")
            self.start()

    def __enter__(self) -> Server:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- a client (kind: client): a program run to completion against the course's site --------

    site_url = ""  # the site's address as the program reaches it

    def exit_code(self) -> int | None:
        """The program's exit code once it exited (a signal: minus its number), else None."""
        raise NotImplementedError("only a client assignment's program exits by design")

    # its stdout: a file of the grader's on both backends (set by each), capped at FILE_CAP
    # like any file it writes: one that writes more gets EFBIG or SIGXFSZ
    _stdout: Path | None = None

    def stdout(self, cap: int) -> bytes:
        """The first `cap` bytes the program wrote to its standard output."""
        if self._stdout is None:
            return b""
        try:
            with open(self._stdout, "rb") as f:
                return f.read(cap)
        except OSError:
            return b""

    def stdout_size(self) -> int:
        """How many bytes the program wrote to its standard output."""
        try:
            return self._stdout.stat().st_size if self._stdout is not None else 0
        except OSError:
            return 0

    def site_log(self) -> str:
        """Stop the course's site and return what it printed (JSON lines: site.py's log)."""
        raise NotImplementedError("only a client assignment has a site")

    @abstractmethod
    def listeners(self) -> list[Listener]:
        """The TCP sockets the submission listens on (read from socket tables, never probed)."""

    def current_logs(self) -> str:
        """The output of the current run only (since the last start)."""
        return self.logs()

    def wait_listening(self) -> None:
        """Wait until the submission listens on its port: no fixed sleeps, no probe connection.

        A listener in the wrong place (another port, loopback only) fails after a short grace,
        with every problem named; an early exit quotes the server's last line of output.
        """
        # counted like every Wait: a start slowed by the machine's load is not a late one
        deadline = Wait(self.assignment.startup_timeout, activity=self.activity,
                        output_counts=True)
        wrong: Wait | None = None  # the grace of a listener in the wrong place
        pause = 0.005  # growing to `poll`: a start is seen within a few ms
        while True:
            ready, problem = judge(self.listeners(), port=self.port, reachable=set(self.reachable))
            if ready:
                return
            how = self.exited()
            if how:
                cause = crash_cause(self.current_logs())
                raise StartupError(f"the server {how} before listening on port {self.port}"
                                   + (f": {cause}" if cause else ""), self.logs())
            if problem:
                wrong = wrong or Wait(_WRONG_GRACE, activity=self.activity, output_counts=True)
                if wrong.expired():
                    raise StartupError(problem, self.logs())
            if deadline.expired():
                cause = crash_cause(self.current_logs())
                raise StartupError(
                    f"the server did not listen on port {self.port} within "
                    f"{self.assignment.startup_timeout:g} s"
                    + (f" (its last output: {cause})" if cause else ""), self.logs())
            time.sleep(pause)
            pause = min(self.poll, pause * 1.5)


_AWAKE = {"R", "D"}  # running (or runnable, e.g. throttled), or waiting on a disk
# /proc/net/tcp states of a server's side while its client's socket is still open: ESTABLISHED,
# SYN_RECV, FIN_WAIT1, FIN_WAIT2 (the server closed, the client has not yet)
_CLIENT_OPEN = {"01", "03", "04", "05"}


def client_connections(table: str, port: int) -> int | None:
    """How many connections at local `port` in /proc/net/tcp{,6} text have their client's
    socket open, or data still queued to send; None when the text has no table."""
    lines = table.splitlines()
    if not any(line.lstrip().startswith("sl") for line in lines):
        return None
    count = 0
    for line in lines:
        parts = line.split()
        if len(parts) < 5 or ":" not in parts[1] or parts[3] == "0A":
            continue
        try:
            local_port = int(parts[1].rpartition(":")[2], 16)
            queued = int(parts[4].partition(":")[0], 16)
        except ValueError:
            continue
        if local_port == port and (parts[3] in _CLIENT_OPEN or queued):
            count += 1
    return count


def _no_clients(pid: int, port: int, settle: float) -> bool:
    """Wait up to `settle` s until no client connection is open at `port` in the network
    namespace of process `pid` (its /proc/PID/net tables); False when one stays open or the
    tables cannot be read."""
    deadline = time.monotonic() + settle
    while True:
        try:
            table = "".join(Path(f"/proc/{pid}/net/{t}").read_text() for t in ("tcp", "tcp6"))
        except OSError:
            return False
        open_now = client_connections(table, port)
        if open_now is None:
            return False
        if open_now == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def tree_activity(pid: int) -> Activity | None:
    """What a process tree is doing (Linux: /proc/PID/task/TID/{stat,wchan,schedstat}). A thread
    blocked writing to a pipe is waiting for its output to be read, not for a client: it counts
    as awake, so a chatty server is never taken for an idle one."""
    procs = _tree(pid) if sys.platform == "linux" else None
    if procs is None:
        return None
    awake, writing, delayed = False, False, 0
    for state, wchan, schedstat in _per_thread(procs, "stat", "wchan", "schedstat"):
        awake = awake or state.rpartition(")")[2][1:2] in _AWAKE
        writing = writing or "pipe_write" in wchan
        delayed += _run_queue_ns(schedstat)
    return Activity(sum(p.cpu for p in procs), not (awake or writing), delayed / 1e9, writing)


def _run_queue_ns(schedstat: str) -> int:
    """Nanoseconds a thread waited on a run queue (the second field of schedstat)."""
    try:
        return int(schedstat.split()[1])
    except (IndexError, ValueError):
        return 0


def tree_demand(pid: int) -> float | None:
    """Seconds the threads of a process tree ran or waited to run (Linux schedstat: on a CPU
    plus on a run queue), so a server that polls in a loop counts as busy even on a machine too
    loaded to give it a core; None where it cannot be read."""
    procs = _tree(pid) if sys.platform == "linux" else None
    if procs is None:
        return None
    total = 0
    for (line,) in _per_thread(procs, "schedstat"):
        try:
            on_cpu, waiting = line.split()[:2]
            total += int(on_cpu) + int(waiting)
        except ValueError:
            continue
    return total / 1e9


def tree_cpu(pid: int) -> float | None:
    """CPU seconds of a process and its descendants (the waited-for ones included)."""
    procs = _tree(pid)
    return None if procs is None else sum(p.cpu for p in procs)


class _Proc(NamedTuple):
    pid: int
    cpu: float  # CPU seconds: its own and its waited-for children's


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree(pid: int) -> list[_Proc] | None:
    """A process and its descendants; None once it is gone.

    On Linux one pass over /proc/*/stat with plain reads: every wait looks at the server's tree
    ten times a second, and psutil's walk costs four times as much CPU (4 ms a look with 150
    processes on the machine, a class's suites' worth of grader time)."""
    if sys.platform != "linux":
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        return [_Proc(p.pid, _cpu_times(p)) for p in procs]
    stats = _proc_stats()
    if pid not in stats:
        return None
    children: dict[int, list[int]] = {}
    for child, (parent, _) in stats.items():
        children.setdefault(parent, []).append(child)
    tree, todo = [], [pid]
    while todo:
        one = todo.pop()
        tree.append(_Proc(one, stats[one][1]))
        todo += children.get(one, ())
    return tree


def _proc_stats() -> dict[int, tuple[int, float]]:
    """Every process on this host (Linux): pid -> (parent pid, CPU seconds with its waited-for
    children's), from /proc/PID/stat (utime, stime, cutime, cstime, as psutil reads them)."""
    stats = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{name}/stat", os.O_RDONLY)
            try:
                line = os.read(fd, 4096)
            finally:
                os.close(fd)
            fields = line.rpartition(b")")[2].split()
            stats[int(name)] = (int(fields[1]), sum(map(int, fields[11:15])) / _TICK)
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return stats


def _cpu_times(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return t.user + t.system + t.children_user + t.children_system


def _per_thread(procs: list[_Proc], *names: str) -> Iterator[tuple[str, ...]]:
    """/proc/PID/task/TID/<name> for each of `names`, for every thread of `procs` (a thread or
    process gone meanwhile, or one with a file this kernel lacks, is skipped; a file we may not
    read reads as "")."""
    for proc in procs:
        try:
            tasks = os.listdir(f"/proc/{proc.pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                yield tuple(_read(f"/proc/{proc.pid}/task/{task}/{name}") for name in names)
            except FileNotFoundError:
                continue


def _read(path: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY)
    except (PermissionError, ProcessLookupError):
        return ""
    try:
        return os.read(fd, 4096).decode(errors="replace")
    except (PermissionError, ProcessLookupError):
        return ""
    finally:
        os.close(fd)


def read_folder(root: str | Path, cap: int, *, depth: int = 32,
                entries: int = 10_000) -> dict[str, bytes]:
    """The regular files under `root` by relative path: `cap` bytes, `entries` names and `depth`
    folders deep at most. No link is followed at any level, even one swapped in while we read
    (the submission may still be running, and the grader may be root): every entry is opened
    relative to its parent's open folder with O_NOFOLLOW | O_NONBLOCK (a link is refused, a fifo
    does not block) and read only when fstat says it is a regular file. Iterative, with only the
    folders on the current path open: a very deep tree stops at `depth`. Raises OSError when
    `root` itself cannot be opened."""
    files: dict[str, bytes] = {}
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    path: list[tuple[int, str, Iterator[str]]] = [(top, "", iter(_names(top)))]
    seen = 0
    try:
        while path:
            folder_fd, folder, names = path[-1]
            name = next(names, None)
            if name is None:
                os.close(path.pop()[0])
                continue
            seen += 1
            if seen > entries or cap <= 0:
                break
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
            except OSError:
                continue  # a link, or gone meanwhile
            rel = f"{folder}/{name}" if folder else name
            kind = os.fstat(fd).st_mode
            if stat.S_ISDIR(kind) and len(path) < depth:
                path.append((fd, rel, iter(_names(fd))))
                continue
            if not stat.S_ISREG(kind):  # never a fifo or a device; a folder past `depth`
                os.close(fd)
                continue
            with open(fd, "rb") as f:
                files[rel] = f.read(cap)
            cap -= len(files[rel])
    finally:
        for fd, _, _ in path:
            os.close(fd)
    return files


def _names(folder_fd: int) -> list[str]:
    try:
        with os.scandir(folder_fd) as listing:
            return sorted(entry.name for entry in listing)
    except OSError:
        return []
