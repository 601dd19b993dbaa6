"""The one result model, and its store.

A test's outcome is a `TestResult`, filled by the pytest plugin where the test runs. How one run
of a suite went is a `Record` (the plugin writes it, rewritten after each test, so a killed run
still leaves what it finished). A `Result` is a record with its identity: whose submission, which
assignment, which fingerprint. Every report (terminal, Gradescope's results.json, HTML, JUnit,
CSV, CI files) renders a `Result`; the store's own file, `grade.json`, is the source of truth
that a resumed batch reads, whatever the renderers write.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["FORMAT", "STORE", "Record", "Result", "Status", "TestResult", "TestStatus", "dumps",
           "load_result", "save_result", "write_atomic"]

STORE = "grade.json"  # in each student's folder of OUT: written last, read by resume
FORMAT = "course-grader/result/v1"  # bump when the model changes: older files are regraded


# How a run ended, one vocabulary from the plugin to the gradebook:
# ok: the suite ran, the score is the grade; no_server: it never listened; timeout: the
# wall-clock budget ran out; missing: nothing submitted; invalid: the submission breaks a rule (a
# package not allowed, an import); error: the grader itself broke (never a grade: rerun it);
# suite_broken: the course's suite is wrong (never a grade: fix the suite).
Status = Literal["ok", "no_server", "timeout", "missing", "invalid", "error", "suite_broken"]
# A test's own: error means its setup or teardown failed.
TestStatus = Literal["passed", "failed", "error", "skipped"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TestResult(_Model):
    __test__ = False  # not a pytest test class, despite the name
    name: str  # pytest node id relative to the assignment folder
    title: str  # what the student reads: the docstring's first paragraph
    max_score: float
    score: float = 0.0
    status: TestStatus = "failed"
    feedback: str = ""  # one line for the student when it did not pass
    visibility: str = "visible"  # a hidden test's: the assignment's hidden_visibility
    duration: float = 0.0

    @property
    def hidden(self) -> bool:
        return self.visibility != "visible"

    @property
    def passed(self) -> bool:
        return self.status == "passed"


class Record(_Model):
    """How one run of a suite went: one entry per test, and how it ended."""

    status: Status = "ok"
    reason: str = ""  # one line saying why, when status is not ok (or the first failure)
    tests: list[TestResult] = []
    log: str = ""  # tail of the server's output (untrusted text)
    crashes: list[str] = []  # each time the server died mid-suite
    cpu_seconds: float | None = None  # CPU time the server used, all runs (None: not measured)
    idle_cpu: float | None = None  # share of a core it used with no client connected
    duration: float = 0.0
    retried: str = ""  # why a first run ended in a grader error and was run again ("": it was not)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 2)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 2)

    @property
    def needs_rerun(self) -> bool:
        """Not a grade: the grader or the course's suite broke (its score is left empty)."""
        return self.status in ("error", "suite_broken")

    @property
    def full_marks(self) -> bool:
        return bool(self.tests) and self.score == self.max_score and self.status == "ok"


class Result(Record):
    """A record with its identity."""

    student: str
    assignment: str
    fingerprint: str = ""  # submission + suite hash: a rerun skips unchanged work
    suite: str = ""  # the suite's version alone (core.job.suite_version)

    @classmethod
    def of(cls, record: Record, *, student: str, assignment: str,
           fingerprint: str = "", suite: str = "") -> Result:
        return cls(student=student, assignment=assignment, fingerprint=fingerprint, suite=suite,
                   **dict(record))


def save_result(folder: Path, result: Result) -> None:
    """The store's file for one student, atomically; callers write it after every report, so
    its presence means the submission is graded."""
    write_atomic(folder / STORE, dumps({"format": FORMAT, **result.model_dump(mode="json")}))


def load_result(folder: Path) -> Result | None:
    """The stored result, or None when there is none that this version can read (then the
    submission is graded again)."""
    try:
        data = json.loads((folder / STORE).read_text())
        if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
            return None
        return Result.model_validate(data)
    except (OSError, ValueError, ValidationError):
        return None


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
