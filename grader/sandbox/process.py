"""The process backend: the same contract as a local subprocess, for students without Docker.

It is NOT a security boundary: it is for a student's own code on their own machine. It gives a
free port on loopback, its own process group (killed at the end), rlimits on memory, CPU time,
file size and core dumps, and a bounded tail of the output.
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
import uuid
from pathlib import Path

import psutil

from grader.core.config import RUNNERS
from grader.sandbox.base import (
    DATA_CAP,
    FILE_CAP,
    OUT_OF_TIME,
    Server,
    StartupError,
    read_folder,
    server_command,
)
from grader.sandbox.listeners import Listener, normalise

__all__ = ["ProcessServer"]

_LAUNCH = Path(__file__).with_name("launch.py")
_MARK = "GRADER_RUN"


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
        self._timer: threading.Timer | None = None
        self._out_of_time = False
        self._mark = uuid.uuid4().hex
        self._seen = 0  # bytes of output so far, all runs
        self._run_mark = 0  # where the current run's output starts
        self.port = 0

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
        if self.assignment.data_dir and self._data is None:
            self._data = Path(tempfile.mkdtemp(prefix="grader-data-"))
        self.port = _free_port()
        support = self.assignment.support_path
        argv, env = server_command(
            self.assignment, port=self.port, host="0.0.0.0", home=os.environ.get("HOME", "/tmp"),
            support=str(support.resolve()) if support else "", runners=str(RUNNERS),
            docroot=str(self.docroot) if self.docroot else None,
            data_dir=str(self._data) if self._data else None,
            path=os.environ.get("PATH", os.defpath))
        if argv[0] in ("python", "python3"):
            argv = [sys.executable, *argv[1:]]  # the grader's interpreter has the allowed packages
        env[_MARK] = self._mark  # how its descendants are found, even those that left the session
        try:
            self._proc = subprocess.Popen(
                [sys.executable, str(_LAUNCH), json.dumps(self._limits()), "--", *argv],
                cwd=self.submission,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed as a whole at the end
            )
        except OSError as exc:
            raise StartupError(f"could not run {self.assignment.entry!r}: {exc.strerror}") from None
        with self._tail_lock:
            self._run_mark = self._seen
        self._drainer = threading.Thread(target=self._drain, args=(self._proc.stdout,),
                                         daemon=True)
        self._drainer.start()
        self._timer = threading.Timer(self.time_left(), self._time_up, args=(self._proc,))
        self._timer.daemon = True
        self._timer.start()
        self.wait_listening()

    def _time_up(self, proc: subprocess.Popen[bytes]) -> None:
        self._out_of_time = True
        _kill_group(proc)

    def _limits(self) -> dict[str, int]:
        # RLIMIT_DATA (heap and private writable mappings), not RLIMIT_AS: thread stacks and
        # arena reservations would make the address-space limit fail threaded servers.
        return {"RLIMIT_DATA": self.limits.memory_bytes() + 256 * 1024 * 1024,
                "RLIMIT_CPU": int(self.limits.wall) + 1, "RLIMIT_FSIZE": FILE_CAP,
                "RLIMIT_CORE": 0}

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
        """The submission's own processes: its tree, and any process carrying its mark (a
        daemonised grandchild that left the session and lost its parent). Nothing else: the
        calling process and its other children are never touched."""
        found: dict[int, psutil.Process] = {}
        if self._proc is not None:
            try:
                root = psutil.Process(self._proc.pid)
                found.update((p.pid, p) for p in [root, *root.children(recursive=True)])
            except psutil.Error:
                pass
        for proc in psutil.process_iter():
            try:
                if proc.pid not in found and proc.environ().get(_MARK) == self._mark:
                    found[proc.pid] = proc
            except psutil.Error:
                continue  # gone, or not ours to read
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
            _kill_group(self._proc)
            _kill(family + self._family())  # whatever left the group, or was born meanwhile
            self._proc = None
        if self._data is not None and not keep_data:
            shutil.rmtree(self._data, ignore_errors=True)
            self._data = None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left (SIGTERM may be ignored,
    and children may outlive the leader)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=2)
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
