"""Where a submission runs: a locked-down container (docker) or a local process group (process).

Both backends give the suite the same `Server`: host, port, restart(), logs(), data_files().
Two kinds of failure, never mixed: `StartupError` is the submission's fault (it never listened),
`InfraError` is the grader's (the engine broke) and must never become a student's zero.
"""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from ..config import Assignment, Limits

__all__ = ["InfraError", "LABEL", "OUT_OF_TIME", "Server", "StartupError", "open_server",
           "resolve_backend"]

LABEL = "course-grader"  # every container, network and volume we create carries this label
OUT_OF_TIME = "was stopped at the end of its wall-clock budget"


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

    def __init__(self, *, assignment: Assignment, submission: Path, limits: Limits) -> None:
        self.assignment, self.submission, self.limits = assignment, submission, limits
        self.docroot = assignment.docroot_path

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

    def restart(self) -> None:
        """Stop and start again with the same DATA_DIR (host or port may change)."""
        self.stop(keep_data=True)
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

    def wait_listening(self, why_not: Callable[[], str],
                       owned: Callable[[], bool] = lambda: True) -> None:
        """Poll the port until it accepts a connection: no fixed sleeps.

        `why_not()` explains a timeout: what the server listens on instead, if anything;
        `owned()` says whether the listener is really the submission's (not a neighbour's).
        """
        deadline = time.monotonic() + self.assignment.startup_timeout
        while True:
            try:
                if owned():  # first: a one-shot server may exit right after our probe
                    socket.create_connection((self.host, self.port), timeout=0.5).close()
                    return
            except OSError:
                pass
            how = self.exited()
            if how:
                raise StartupError(f"the server {how} before listening on port {self.port}",
                                   self.logs())
            if time.monotonic() > deadline:
                raise StartupError(why_not(), self.logs())
            time.sleep(0.05)

    def explain_not_listening(self, listening: list[tuple[str, int]]) -> str:
        """Turn what the server does listen on into advice the student can act on."""
        want = self.assignment.port if self.host != "127.0.0.1" else self.port
        wait = f"{self.assignment.startup_timeout:g} s"
        listening = [(a, p) for a, p in listening if a != "127.0.0.11"]  # docker's own DNS
        for addr, port in listening:
            if port == want and addr.startswith("127."):
                return (f"the server listens on {addr}:{port} only; listen on all interfaces "
                        f"(HOST, i.e. 0.0.0.0) so clients can reach it")
        if listening:
            ports = ", ".join(sorted({str(p) for _, p in listening}))
            return (f"the server listens on port {ports}, not on PORT={want}: "
                    f"read the port from the PORT environment variable")
        return f"the server did not listen on port {want} within {wait}"


def listening_sockets(proc_net_tcp: str, inodes: set[str] | None = None) -> list[tuple[str, int]]:
    """Parse /proc/net/tcp{,6} text: the (address, port) pairs in LISTEN state."""
    found = []
    for line in proc_net_tcp.splitlines():
        parts = line.split()
        if len(parts) < 10 or parts[3] != "0A" or ":" not in parts[1]:
            continue
        if inodes is not None and parts[9] not in inodes:
            continue
        hex_addr, hex_port = parts[1].split(":")
        if len(hex_addr) == 8:
            addr = socket.inet_ntop(socket.AF_INET, bytes.fromhex(hex_addr)[::-1])
        else:
            raw = bytes.fromhex(hex_addr)
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
            addr = socket.inet_ntop(socket.AF_INET6, words)
            addr = addr.removeprefix("::ffff:")
            addr = "127.0.0.1" if addr == "::1" else addr
        found.append((addr, int(hex_port, 16)))
    return found


def resolve_backend(backend: str) -> str:
    """`auto` means docker where an engine answers, else the local process backend."""
    if backend != "auto":
        return backend
    try:
        import docker

        docker.from_env(timeout=5).ping()
        return "docker"
    except Exception:
        return "process"


def open_server(backend: str, **kwargs: object) -> Server:
    if backend == "docker":
        from .docker import DockerServer

        return DockerServer(**kwargs)  # type: ignore[arg-type]
    if backend == "process":
        from .process import ProcessServer

        return ProcessServer(**kwargs)  # type: ignore[arg-type]
    raise ValueError(f"unknown backend {backend!r}: expected auto, docker or process")
