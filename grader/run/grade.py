"""Grading one submission, top-down: run the suite against it, then score what came back.

The suite runs in a pytest child process on the grader's side (never inside the container),
forked from a warm Python (`forkserver.py`): the `grader.run.plugin` there reads the `Job`, starts
the submission (docker or process backend), the tests talk to it over the network, and the
plugin writes a `Record`. This module turns the record into a `Result`, whatever happened: the
server never listened, the budget ran out, or the grader itself broke (status "error": a rerun,
never a zero)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pydantic import ValidationError

from grader.core.config import Assignment, Course
from grader.core.job import Job, Record
from grader.core.requirements import check_requirements
from grader.core.results import Result, Status, TestResult
from grader.core.rules import check_rules
from grader.core.submission import is_empty
from grader.run.suite import collect, run_suite
from grader.sandbox import engine_answers

__all__ = ["INTERRUPTED", "grade_submission", "retry_once", "run_job"]

INTERRUPTED = "the grading was interrupted (Ctrl-C, or a signal to its test run): run it again"
_BUSY = 0.15  # share of a core used with no client connected that a blocking server never uses
_STATUS: dict[str, Status] = {"graded": "ok", "no_server": "no_server", "out_of_time": "timeout",
                              "grader_error": "error", "suite_broken": "error"}


def grade_submission(*, course: Course, assignment: Assignment, submission: Path,
                     backend: str, image: str | None = None, hidden: bool = True) -> Result:
    """Grade one submission folder; the folder name is the student's id."""
    return run_job(Job.make(course=course, assignment=assignment, submission=submission,
                            backend=backend, image=image, hidden=hidden))


def run_job(job: Job, *, planned: list[TestResult] | None = None) -> Result:
    """Grade what `job` describes. `planned`: the suite's tests (from the batch's lint), shown
    as not run when the submission cannot be started at all."""
    result = Result(student=job.student, assignment=job.assignment.id,
                    fingerprint=job.fingerprint)
    started = time.monotonic()
    missing = is_empty(job.submission)
    problem = "nothing was submitted" if missing else (
        check_requirements(job.assignment, job.submission)
        or check_rules(job.assignment, job.submission))
    if problem:
        result.status = "missing" if missing else "invalid"
        result.reason = problem
        planned = planned if planned is not None else collect(job.assignment, hidden=job.hidden)
        result.tests = _not_run(planned, f"not run: {problem}")
        return result
    record = _run_child(job)
    result.tests = _visible(record.tests, job.assignment)
    result.log, result.crashes, result.cpu_seconds = record.log, record.crashes, record.cpu_seconds
    result.duration = round(time.monotonic() - started, 2)
    result.status = _STATUS[record.outcome]
    if record.outcome == "graded":
        result.reason = "; ".join(filter(None, [
            _first_failure(result.tests, _crash_summary(record.crashes)), _busy(record)]))
    elif record.outcome == "out_of_time":
        result.reason = f"the submission used up its wall-clock budget of {job.limits.wall:g} s"
        result.tests = _not_run(result.tests, "not run: the time budget ran out")
    elif record.outcome == "suite_broken":
        result.reason = f"the course's test suite is broken (not the student's fault): " \
                        f"{record.reason}"
    else:
        result.reason = record.reason
    return result


def retry_once(result: Result) -> bool:
    """Is this worth one more try? A grader error (an engine hiccup, a pytest crash) is, unless
    the grading was interrupted: someone is stopping it, and a retry would run a whole suite."""
    return result.needs_rerun and result.reason != INTERRUPTED


def _run_child(job: Job) -> Record:
    """The pytest child, under an outer watchdog; its record, or what went wrong with it."""
    with tempfile.TemporaryDirectory(prefix="grader-run-") as tmp:
        job_file, results = Path(tmp, "job.json"), Path(tmp, "results.json")
        job_file.write_text(job.model_dump_json())
        code, tail = run_suite(
            job.assignment, hidden=job.hidden, timeout=job.limits.wall + 20, cwd=Path(tmp),
            args=["--grader-job", str(job_file), "--grader-results", str(results)])
        try:
            record = Record.model_validate_json(results.read_text())
        except (OSError, ValueError, ValidationError):
            record = Record(outcome="grader_error", reason="the test run wrote no results")
    if code is None:  # the outer watchdog: the submission, or a hung engine?
        if job.backend == "docker" and not engine_answers(timeout=10):
            return record.model_copy(update={
                "outcome": "grader_error",
                "reason": "the Docker engine stopped answering while the suite ran"})
        return record.model_copy(update={"outcome": "out_of_time"})
    if code == 2 and record.outcome != "suite_broken":  # pytest's "interrupted": a Ctrl-C
        return record.model_copy(update={"outcome": "grader_error", "reason": INTERRUPTED})
    if code not in (0, 1, 5) and record.outcome == "graded":  # 5: an empty suite
        what = {3: "pytest internal error", 4: "pytest usage error"}
        return record.model_copy(update={
            "outcome": "grader_error",
            "reason": f"the grader's test run failed ({what.get(code, f'exit {code}')}): {tail}"})
    return record


def _busy(record: Record) -> str:
    """A note (no points) for a server that keeps a core busy while nobody is connected."""
    if record.idle_cpu is None or record.idle_cpu < _BUSY:
        return ""
    return (f"note: with no client connected the server kept {record.idle_cpu:.0%} of a core "
            f"busy (a loop that polls without blocking, e.g. select() with timeout 0?)")


def _crash_summary(crashes: list[str]) -> str:
    if not crashes:
        return ""
    more = len(crashes) - 1
    return crashes[0] + (f" (and {more} more time{'s' * (more > 1)})" if more else "")


def _first_failure(tests: list[TestResult], crashed: str = "") -> str:
    """The one line for the gradebook when every test ran: the first crash if any, how many
    tests failed, and the first failure."""
    failed = [t for t in tests if t.status != "passed"]
    if crashed:
        return f"{crashed}; {len(failed)} of {len(tests)} tests failed"
    if not failed:
        return ""
    return f"{len(failed)} of {len(tests)} tests failed, first: {failed[0].title}: " \
           f"{failed[0].feedback}"


def _visible(tests: list[TestResult], assignment: Assignment) -> list[TestResult]:
    return [TestResult(**{**t.__dict__, "visibility": assignment.hidden_visibility})
            if t.visibility == "hidden" else t for t in tests]


def _not_run(tests: list[TestResult], feedback: str) -> list[TestResult]:
    return [t if t.status != "failed" or t.feedback != "not run" else
            TestResult(**{**t.__dict__, "feedback": feedback, "score": 0.0}) for t in tests]
