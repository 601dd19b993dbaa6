"""Where a submission runs: a locked-down container (docker) or a local process (process).

Both backends give the suite the same `Server` (sandbox/base.py): host, port, restart(), logs(),
data_files(). `listeners.py` reads what a server listens on; `docker.py` and `process.py` are the
backends; this module picks one.
"""

from __future__ import annotations

from pathlib import Path

from grader.core.config import Assignment, Limits
from grader.core.job import Backend, BackendChoice, SandboxRef
from grader.sandbox.base import LABEL, OUT_OF_TIME, InfraError, Server, StartupError

__all__ = ["InfraError", "LABEL", "OUT_OF_TIME", "Server", "StartupError", "engine_answers",
           "open_server", "resolve_backend"]


def engine_answers(timeout: float = 5) -> bool:
    """Does a Docker engine answer a ping? (The one liveness check of the engine.)"""
    try:
        import docker

        return bool(docker.from_env(timeout=timeout).ping())
    except Exception:
        return False


def resolve_backend(backend: BackendChoice) -> Backend:
    """`auto` means docker where an engine answers, else the local process backend."""
    if backend != "auto":
        return backend
    return "docker" if engine_answers() else "process"


def open_server(backend: Backend, *, assignment: Assignment, submission: Path, limits: Limits,
                image: str | None = None, owner: str = "",
                sandbox: SandboxRef | None = None) -> Server:
    """A server for one submission, not started yet (start() or `with`)."""
    if backend == "docker":
        from grader.sandbox.docker import DockerServer

        if not image:
            raise ValueError("the docker backend needs the runtime image")
        return DockerServer(assignment=assignment, submission=submission, limits=limits,
                            image=image, owner=owner, sandbox=sandbox)
    if backend == "process":
        from grader.sandbox.process import ProcessServer

        return ProcessServer(assignment=assignment, submission=submission, limits=limits)
    raise ValueError(f"unknown backend {backend!r}: expected auto, docker or process")
