"""The contract between the batch and the pytest child that grades one submission.

The batch computes every fact once, per submission, into a frozen `Job` (assignment, limits,
backend, image, fingerprint); the child reads it from one JSON file and never re-reads the course.
The child writes back a typed `Record` (rewritten after each test, so a killed run still leaves
what it finished) whose `outcome` says how the run ended.
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from grader.core.config import Assignment, Course, Limits
from grader.core.results import TestResult
from grader.core.submission import files

__all__ = ["Job", "Outcome", "Record", "SandboxRef", "fingerprint", "owner_id"]

_NOT_GRADED = {"equivalent_mutants.yml"}  # for `grader mutants` only: marking regrades nobody
_VERSION = "2"  # bump when scoring changes, so a resumed batch regrades

# graded: the suite ran; no_server: it never listened; out_of_time: the wall-clock budget ran out;
# grader_error: the grader's machinery broke (rerun); suite_broken: the course's suite is wrong.
Outcome = Literal["graded", "no_server", "out_of_time", "grader_error", "suite_broken"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SandboxRef(_Frozen):
    """A network sandbox the batch made ahead (docker), with what the child needs of it, so the
    child finds it without asking the engine."""

    name: str
    holder: str  # the holder container's id: the app joins its network namespace
    host: str  # the namespace's address on the sandbox's network
    holder_pid: int = 0  # as a pid of this host (0: the engine runs elsewhere)
    volume: str | None = None  # DATA_DIR's volume, when the assignment has one


class Job(_Frozen):
    """Everything one grading needs, decided by the batch."""

    assignment: Assignment
    submission: Path
    backend: Literal["docker", "process"]
    image: str | None = None
    limits: Limits
    hidden: bool = True
    owner: str = ""  # the label on every container, network and volume (host and process)
    sandbox: SandboxRef | None = None  # docker: made ahead by the batch, which removes it
    fingerprint: str

    @classmethod
    def make(cls, *, course: Course, assignment: Assignment, submission: Path, backend: str,
             image: str | None = None, hidden: bool = True) -> Job:
        limits = course.limits_for(assignment)
        submission = submission.absolute()
        return cls(assignment=assignment, submission=submission, backend=backend,  # type: ignore[arg-type]
                   image=image, limits=limits, hidden=hidden, owner=owner_id(),
                   fingerprint=fingerprint(assignment, submission, backend, limits, hidden))

    @property
    def student(self) -> str:
        return self.submission.name


class Record(BaseModel):
    """What the child reports: one entry per test, and how the run ended."""

    outcome: Outcome = "graded"
    reason: str = ""  # why, when the outcome is not "graded"
    tests: list[TestResult] = []
    log: str = ""  # tail of the server's output (untrusted text)
    crashes: list[str] = []  # each time the server died mid-suite
    cpu_seconds: float | None = None  # CPU time the server used, all runs
    idle_cpu: float | None = None  # share of a core it used with no client connected


def owner_id() -> str:
    """Which grader process owns the objects it creates: the host and the pid (a reaper on the
    same host can then tell a live owner from a dead one)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def fingerprint(assignment: Assignment, submission: Path, backend: str, limits: Limits,
                hidden: bool = True) -> str:
    """A hash of everything a grade depends on: a resumed batch regrades only what changed."""
    h = hashlib.sha256(f"{_VERSION}\n{backend}\n{limits.model_dump_json()}\n{hidden}\n".encode())
    for root in (assignment.dir, submission):
        if root.is_dir():
            for path in files(root):
                if path.name in _NOT_GRADED:
                    continue
                h.update(str(path.relative_to(root)).encode() + b"\0")
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]
