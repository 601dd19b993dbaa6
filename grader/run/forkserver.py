"""A warm Python that forks the pytest children, so each grading does not pay for starting an
interpreter and importing pytest, requests, docker and pydantic again: about 0.3 s of CPU per
submission, a fifth of what one costs in a class run (bench/class.py).

The server is `python -m grader.run.forkserver`, a child of the grader. Single-threaded, it reads
one JSON request per line on stdin: {"id", "argv", "cwd", "log"} forks a child that runs
`pytest.main(argv)` with its output in `log`; {"id", "signal"} signals that child (only the
server reaps its children, so a pid is never signalled after reuse). It answers {"id", "code"}
when a child ends, and exits when its stdin closes (the grader is gone); running children then
get SIGTERM through the plugin's parent-death signal and tear their servers down.

Linux only: on macOS a forked child of a process that imported the networking stack may crash
in CoreFoundation, so there `run` starts a plain subprocess, with the same results.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["run"]

# What every pytest child imports anyway, loaded once in the server.
_PRELOAD = ("pytest", "_pytest.python", "requests", "docker", "psutil", "grader.core.job",
            "grader.run.crashes", "grader.testing", "grader.sandbox.docker",
            "grader.sandbox.process")
_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


def run(command: Sequence[str], *, cwd: Path, log: Path, timeout: float) -> int | None:
    """Run `python -m pytest ARGS` (the command `pytest_command` builds) with its output in
    `log`: its exit code, or None when it ran past `timeout`; it is then stopped with SIGTERM,
    so its fixtures tear down, and SIGKILL if it does not go. Ctrl-C stops it the same way."""
    if sys.platform == "linux":
        return _server().run(command, cwd=cwd, log=log, timeout=timeout)
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **_ENV},
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

    def ended(seconds: float) -> bool:
        try:
            proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    return _watch(ended, proc.send_signal, lambda: proc.returncode, timeout)


def _watch(ended: Callable[[float], bool], send: Callable[[int], None],
           code: Callable[[], int | None], timeout: float) -> int | None:
    try:
        if ended(timeout):
            return code()
    except BaseException:
        _stop(ended, send)
        raise
    _stop(ended, send)
    return None


def _stop(ended: Callable[[float], bool], send: Callable[[int], None]) -> None:
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        send(sig)
        if ended(grace):
            return


# -- the grader's side ----------------------------------------------------------------------

class _Client:
    """The grader's handle on the server, shared by the batch's threads."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grader.run.forkserver"], env={**os.environ, **_ENV},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._next = 0
        self._codes: dict[int, int] = {}
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True, name="forkserver").start()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self._changed:
                self._codes[msg["id"]] = msg["code"]
                self._changed.notify_all()
        self.proc.wait()
        with self._changed:  # the server is gone: nobody waits forever
            self._changed.notify_all()

    def _send(self, msg: dict[str, Any]) -> None:
        with self._changed:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps(msg) + "\n")
            except (BrokenPipeError, ValueError):
                pass  # the server died; _ended says so

    def run(self, command: Sequence[str], *, cwd: Path, log: Path, timeout: float) -> int | None:
        assert list(command[1:3]) == ["-m", "pytest"], command
        with self._changed:
            self._next += 1
            rid = self._next
        self._send({"id": rid, "argv": list(command[3:]), "cwd": str(cwd), "log": str(log)})

        def ended(seconds: float) -> bool:
            with self._changed:
                if not self._changed.wait_for(lambda: rid in self._codes or not self.alive(),
                                              seconds):
                    return False
            if rid not in self._codes:
                raise RuntimeError("the grader's fork server stopped")
            return True

        return _watch(ended, lambda sig: self._send({"id": rid, "signal": int(sig)}),
                      lambda: self._codes.pop(rid), timeout)


_client: _Client | None = None
_client_lock = threading.Lock()


def _server() -> _Client:
    global _client
    with _client_lock:
        if _client is None or not _client.alive():
            _client = _Client()
        return _client


# -- the server -----------------------------------------------------------------------------

def main() -> None:
    for name in _PRELOAD:
        __import__(name)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select through wake_w
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the grader and the children
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    running: dict[int, int] = {}  # request id -> pid
    pending = b""

    def reply(rid: int, code: int) -> None:
        os.write(1, (json.dumps({"id": rid, "code": code}) + "\n").encode())

    while True:
        for key, _ in sel.select():
            if key.fd == wake_r:
                os.read(wake_r, 4096)
                continue
            data = os.read(0, 65536)
            if not data:
                return  # the grader is gone
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                req = json.loads(line)
                if "signal" in req:
                    if req["id"] in running:
                        os.kill(running[req["id"]], req["signal"])
                    continue
                pid = os.fork()
                if pid == 0:
                    sel.close()
                    _child(req)
                running[req["id"]] = pid
        for rid, pid in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                del running[rid]
                reply(rid, os.waitstatus_to_exitcode(status))


def _child(req: dict[str, Any]) -> None:
    """In the forked child: become the pytest run the request describes; never return."""
    code = 3  # pytest's "internal error"
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(req["cwd"])
        out = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        sys.argv = [sys.executable, "-m", "pytest", *req["argv"]]
        import pytest

        code = int(pytest.main(req["argv"]))
    except KeyboardInterrupt:  # a Ctrl-C before pytest could catch it: pytest's "interrupted"
        code = 2
    except BaseException:  # reported as pytest's internal error, with the traceback in the log
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":
    main()
