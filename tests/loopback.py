"""A Dask cluster on this machine's loopback, with Dask's own commands as separate processes: a
scheduler and workers, every one bound to 127.0.0.1 (tests, the bench, trying a cluster out).
Each process leads its own process group, so a worker can be SIGKILLed as a lost host would be
(its grading children with it) and nothing outlives `close()`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Loopback", "Tls"]

HOST = "127.0.0.1"
_DASK = str(Path(sys.executable).with_name("dask"))
# --no-dashboard alone still serves /health and /metrics on :8787, i.e. on every interface
_NO_DASHBOARD = ["--no-dashboard", "--dashboard-address", f"{HOST}:0"]


@dataclass(frozen=True)
class Tls:
    """PEM files: the CA every process trusts, and the one certificate they all present."""

    ca: Path
    cert: Path
    key: Path

    def flags(self) -> list[str]:
        return ["--tls-ca-file", str(self.ca), "--tls-cert", str(self.cert),
                "--tls-key", str(self.key)]


@dataclass
class Loopback:
    folder: Path
    tls: Tls | None = None
    address: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __enter__(self) -> Loopback:
        self.start_scheduler()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            self.procs[name] = subprocess.Popen(
                argv, cwd=self.folder, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"})
        return log

    def start_scheduler(self, timeout: float = 60) -> str:
        info = self.folder / "scheduler.json"
        info.unlink(missing_ok=True)
        protocol = "tls" if self.tls else "tcp"
        self._spawn("scheduler", [_DASK, "scheduler", "--host", HOST, "--port", "0",
                                  "--protocol", protocol, *_NO_DASHBOARD, "--no-show",
                                  "--scheduler-file", str(info),
                                  *(self.tls.flags() if self.tls else [])], None)
        self._until(lambda: info.is_file() and info.stat().st_size > 0, "scheduler", timeout)
        time.sleep(0.2)  # the file is written whole, but give the listener a moment
        self.address = json.loads(info.read_text())["address"]
        return self.address

    def add_worker(self, name: str, *, slots: int = 1, env: dict[str, str] | None = None,
                   timeout: float = 90) -> None:
        """`dask worker` with `slots` grading slots (threads and the grader resource)."""
        log = self._spawn(name, [
            _DASK, "worker", self.address, "--host", HOST, "--nworkers", "1",
            "--nthreads", str(slots), "--resources", f"grader={slots}", *_NO_DASHBOARD,
            "--name", name, "--death-timeout", "60", "--local-directory", str(self.folder),
            *(self.tls.flags() if self.tls else [])], env)
        self._until(lambda: b"Registered to:" in log.read_bytes(), name, timeout)

    def kill(self, name: str) -> None:
        """SIGKILL a worker and everything it started (as if its host were lost)."""
        proc = self.procs.pop(name)
        _signal(proc, signal.SIGKILL)
        proc.wait()

    def close(self) -> None:
        for name in [n for n in self.procs if n != "scheduler"] + ["scheduler"]:
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            _signal(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
                proc.wait()

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def _until(self, ready: Callable[[], bool], name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dask {name} did not start: {self.log(name)[-2000:]}")
            time.sleep(0.1)


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
