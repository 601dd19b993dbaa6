"""The contract between the batch and the pytest child that grades one submission.

The batch computes every fact once, per submission, into a frozen `Job` (assignment, limits,
backend, image, fingerprint); the child reads it from one JSON file and never re-reads the course.
The child writes back a `Record` (grader/core/results.py).
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from grader.core.config import RUNNERS, Assignment, Course, Limits
from grader.core.submission import files

__all__ = ["Backend", "BackendChoice", "Job", "SandboxRef", "fingerprint", "owner_id",
           "process_start", "suite_version"]

_NOT_GRADED = {"equivalent_mutants.yml"}  # for `grader mutants` only: marking regrades nobody
_VERSION = "3"  # bump when scoring changes, so a resumed batch regrades

# Where a submission runs: a locked-down container, or a process of this machine; and what a
# command line may ask for (auto: docker where an engine answers, sandbox.resolve_backend).
Backend = Literal["docker", "process"]
BackendChoice = Literal["auto", "docker", "process"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SandboxRef(_Frozen):
    """A submission's container the batch made ahead (docker: its gate waits for the code), with
    what the child needs of it, so the child finds it without asking the engine."""

    name: str
    box: str  # the container's id
    host: str  # its address on the sandbox's network
    stage: str  # the host folder mounted as its code (app/) and the gate's orders (ctl/)
    box_pid: int = 0  # its init as a pid of this host (0: the engine runs elsewhere)
    volume: str | None = None  # DATA_DIR's volume, when the assignment has one


class Job(_Frozen):
    """Everything one grading needs, decided by the batch."""

    assignment: Assignment
    submission: Path
    backend: Backend
    image: str | None = None
    limits: Limits
    hidden: bool = True
    owner: str = ""  # the label on every container, network and volume (host and process)
    sandbox: SandboxRef | None = None  # docker: made ahead by the batch, which removes it
    fingerprint: str
    suite: str = ""  # suite_version(): which suite graded it

    @classmethod
    def make(cls, *, course: Course, assignment: Assignment, submission: Path, backend: Backend,
             image: str | None = None, hidden: bool = True) -> Job:
        limits = course.limits_for(assignment)
        submission = submission.absolute()
        return cls(assignment=assignment, submission=submission, backend=backend, image=image,
                   limits=limits, hidden=hidden, owner=owner_id(),
                   fingerprint=fingerprint(assignment, submission, backend, limits, hidden),
                   suite=suite_version(assignment, backend, limits, hidden))

    @property
    def student(self) -> str:
        return self.submission.name


def owner_id() -> str:
    """Which grader process owns the objects it creates: "host:pid@start", the host, the pid and
    when that process started (a reaper on the same host can then tell a live owner from a dead
    one, even when another process has taken the dead one's pid since)."""
    return f"{socket.gethostname()}:{os.getpid()}@{process_start(os.getpid())}"


def process_start(pid: int) -> str:
    """When process `pid` started, as text that stays the same while it runs and differs for a
    later process given the same pid; "" when there is no such process. Linux: the clock ticks
    from boot to its start (/proc/PID/stat, field 22), which no clock adjustment moves (psutil's
    create_time adds the boot time, which NTP can shift by a second between two readings);
    elsewhere psutil's create time."""
    if Path("/proc/self/stat").exists():
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            return ""
        return stat[stat.rindex(b")") + 2 :].split()[19].decode()  # comm may hold ") "
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except psutil.Error:
        return ""


def fingerprint(assignment: Assignment, submission: Path, backend: str, limits: Limits,
                hidden: bool = True) -> str:
    """A hash of everything a grade depends on: a resumed batch regrades only what changed."""
    h = hashlib.sha256(suite_version(assignment, backend, limits, hidden).encode())
    _hash_tree(h, submission)
    return h.hexdigest()[:16]


def suite_version(assignment: Assignment, backend: str, limits: Limits,
                  hidden: bool = True) -> str:
    """A hash of the grading side alone (the assignment's folder, the runners, the limits): two
    results with different versions were graded by different suites (a test fixed meanwhile)."""
    h = hashlib.sha256(f"{_VERSION}\n{backend}\n{limits.model_dump_json()}\n{hidden}\n".encode())
    for root in (assignment.dir, *([RUNNERS] if assignment.uses_runners else [])):
        _hash_tree(h, root)
    return h.hexdigest()[:12]


def _hash_tree(h: Any, root: Path) -> None:
    if not root.is_dir():
        return
    for path in files(root, links=True):
        if path.name in _NOT_GRADED:
            continue
        h.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_symlink():  # the link's text, never what it points to
            h.update(b"link\0" + os.readlink(path).encode(errors="surrogateescape"))
        else:
            h.update(hashlib.sha256(path.read_bytes()).digest())
