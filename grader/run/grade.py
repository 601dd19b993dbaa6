"""Grading one submission, top-down: run the suite against it, then score what came back.

The suite runs in a pytest child process on the grader's side (never inside the container),
forked from a warm Python (`forkserver.py`): the `grader.run.plugin` there reads the `Job`, starts
the submission (docker or process backend), the tests talk to it over the network, and the
plugin fills a `Record`. This module finishes it (the line the gradebook shows) and gives it its
identity, a `Result`, whatever happened: the server never listened, the budget ran out, or the
grader itself broke (status "error": a rerun, never a zero)."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from grader.core.config import Assignment, Course
from grader.core.job import Backend, Job
from grader.core.requirements import check_requirements
from grader.core.results import Record, Result, TestResult
from grader.core.rules import check_rules
from grader.core.submission import is_empty
from grader.run.suite import collect, run_suite
from grader.sandbox import engine_answers
from grader.sandbox.wait import STRETCH

__all__ = ["INTERRUPTED", "grade_submission", "retry_once", "run_job", "run_with_retry"]

INTERRUPTED = "the grading was interrupted (Ctrl-C, or a signal to its test run): run it again"
_BUSY = 0.15  # share of its CPU used with no client connected that a blocking server never uses


def grade_submission(*, course: Course, assignment: Assignment, submission: Path,
                     backend: Backend, image: str | None = None, hidden: bool = True) -> Result:
    """Grade one submission folder; the folder name is the student's id."""
    return run_job(Job.make(course=course, assignment=assignment, submission=submission,
                            backend=backend, image=image, hidden=hidden))


def run_job(job: Job, *, planned: list[TestResult] | None = None) -> Result:
    """Grade what `job` describes. `planned`: the suite's tests (from the batch's check), shown
    as not run when the submission cannot be started at all."""
    started = time.monotonic()
    missing = is_empty(job.submission)
    problem = "nothing was submitted" if missing else (
        check_requirements(job.assignment, job.submission)
        or check_rules(job.assignment, job.submission))
    if problem:
        planned = planned if planned is not None else collect(job.assignment, hidden=job.hidden)
        record = Record(status="missing" if missing else "invalid", reason=problem,
                        tests=_not_run(planned, f"not run: {problem}"))
    else:
        record = _score(_run_child(job), job)
    record.duration = round(time.monotonic() - started, 2)
    return Result.of(record, student=job.student, assignment=job.assignment.id,
                     fingerprint=job.fingerprint, suite=job.suite)


def _score(record: Record, job: Job) -> Record:
    """The child's record with the line the gradebook shows."""
    if record.status == "ok":
        record.reason = "; ".join(filter(None, [
            _first_failure(record.tests, _crash_summary(record.crashes)), _busy(record)]))
    elif record.status == "timeout":
        record.reason = f"the submission used up its wall-clock budget of {job.limits.wall:g} s"
        record.tests = _not_run(record.tests, "not run: the time budget ran out")
    elif record.status == "suite_broken":
        record.reason = f"the course's test suite is broken (not the student's fault): " \
                        f"{record.reason}"
    return record


def run_with_retry(job: Job, *, planned: list[TestResult] | None = None,
                   again: Callable[[Result], Job | None] | None = None) -> Result:
    """`run_job`, and one more try after a grader error (`retry_once`): `again` gives the job to
    try again (a fresh sandbox, say), or None when a retry cannot help (the engine is gone)."""
    result = run_job(job, planned=planned)
    if retry_once(result):
        retry = again(result) if again else job
        if retry is not None:
            first = result.reason or result.status
            result = run_job(retry, planned=planned).model_copy(update={"retried": first})
            _log_retry(result)
    return result


RETRY_LOG = "GRADER_RETRY_LOG"
"""A file each retry is also appended to, one JSON line (the project's own tests set it: a retry
they did not cause on purpose fails them, so an intermittent fault cannot hide behind one)."""


def _log_retry(result: Result) -> None:
    path = os.environ.get(RETRY_LOG)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"student": result.student, "assignment": result.assignment,
                                "first": result.retried, "then": result.status}) + "\n")


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
            job.assignment, hidden=job.hidden, timeout=STRETCH * job.limits.wall + 20,
            cwd=Path(tmp),
            args=["--grader-job", str(job_file), "--grader-results", str(results)])
        try:
            record = Record.model_validate_json(results.read_text())
        except (OSError, ValueError, ValidationError):
            record = Record(status="error", reason="the test run wrote no results")
    if code is None:  # the outer watchdog: the submission, or a hung engine?
        if job.backend == "docker" and not engine_answers(timeout=10):
            return record.model_copy(update={
                "status": "error",
                "reason": "the Docker engine stopped answering while the suite ran"})
        return record.model_copy(update={"status": "timeout"})
    # pytest's "interrupted" (2), or a Ctrl-C that reached the child before pytest could catch
    # it (Python then ends itself by SIGINT): someone is stopping the batch, never a retry
    if (code == 2 and record.status != "suite_broken") or code in (-signal.SIGINT, 130):
        return record.model_copy(update={"status": "error", "reason": INTERRUPTED})
    if code not in (0, 1, 5) and record.status == "ok":  # 5: an empty suite
        what = {3: "pytest internal error", 4: "pytest usage error"}
        return record.model_copy(update={
            "status": "error",
            "reason": f"the grader's test run failed ({what.get(code, f'exit {code}')}): {tail}"})
    return record


def _busy(record: Record) -> str:
    """A note (no points) for a server that keeps its CPU busy while no client is connected
    (`idle_cpu`: a share of the CPU it may use, measured once no client socket was open). The
    figure only: the meter sees that it runs, not why, and a guessed cause was wrong for many
    (a thread spinning on a flag, a sleep(0) loop, a busy accept loop all read the same)."""
    if record.idle_cpu is None or record.idle_cpu < _BUSY:
        return ""
    return (f"note: with no client connected the server kept {min(record.idle_cpu, 1.0):.0%} "
            "of the CPU it may use busy (a server with nothing to do should wait blocked, "
            "using none)")


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


def _not_run(tests: list[TestResult], feedback: str) -> list[TestResult]:
    return [t if t.status != "failed" or t.feedback != "not run" else
            t.model_copy(update={"feedback": feedback, "score": 0.0}) for t in tests]
