"""The one result model. Every report (terminal, results.json, HTML, JUnit, CSV) renders it."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["Result", "TestResult", "write_atomic"]

TestStatus = Literal["passed", "failed", "error", "skipped"]
# ok: the suite ran; no_server: it never listened; timeout: the wall-clock budget ran out;
# missing: nothing submitted; invalid: the submission breaks a rule (e.g. a package not allowed);
# error: the grader itself broke -- never a student's grade, rerun it.
Status = Literal["ok", "no_server", "timeout", "missing", "invalid", "error"]


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class, despite the name
    name: str  # pytest node id relative to the assignment folder
    title: str  # what the student reads: the docstring's first line
    max_score: float
    score: float = 0.0
    status: TestStatus = "failed"
    feedback: str = ""  # one line for the student when it did not pass
    visibility: str = "visible"
    duration: float = 0.0

    @property
    def hidden(self) -> bool:
        return self.visibility != "visible"


@dataclass
class Result:
    student: str
    assignment: str
    status: Status = "ok"
    reason: str = ""  # one line saying why, when status is not ok
    tests: list[TestResult] = field(default_factory=list)
    log: str = ""  # tail of the server's output (untrusted text)
    crashes: list[str] = field(default_factory=list)  # each time the server died mid-suite
    cpu_seconds: float | None = None  # CPU time the server used (None: not measured)
    duration: float = 0.0
    fingerprint: str = ""  # submission + suite hash: a rerun skips unchanged work

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 2)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 2)

    @property
    def needs_rerun(self) -> bool:
        return self.status == "error"

    @property
    def full_marks(self) -> bool:
        return bool(self.tests) and self.score == self.max_score and self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        tests = [TestResult(**t) for t in data.get("tests", [])]
        return cls(**{**data, "tests": tests})


def write_atomic(path: Path, text: str) -> None:
    """Write so a reader (or a rerun after SIGKILL) sees the old file or the new, never half.
    The temporary file's name is fixed (each file has one writer), so one that a SIGKILL left
    behind is overwritten, then renamed away, by the next write of the same file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
