"""Grading one submission, top-down: run the suite against it, then score what came back.

The suite runs in a pytest subprocess on the grader's side (never inside the container): the
`grader.plugin` there starts the submission (docker or process backend), the tests talk to it
over the network, and the plugin writes per-test results as JSON. This module turns that JSON
into a `Result`, whatever happened: the server never listened, the budget ran out, or the grader
itself broke (status "error": a rerun, never a zero).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .config import Assignment, Course
from .requirements import check_requirements
from .results import Result, TestResult
from .sandbox import OUT_OF_TIME

__all__ = ["fingerprint", "grade_submission", "plan"]

_SUITE_INI = Path(__file__).with_name("suite.ini")
# equivalent_mutants.yml is for `grader mutants` only: marking a mutant regrades nobody.
_SKIP = {".git", "__pycache__", ".venv", ".pytest_cache", ".DS_Store", "equivalent_mutants.yml"}
_VERSION = "1"  # bump when scoring changes, so a resumed batch regrades


def grade_submission(*, course: Course, assignment: Assignment, submission: Path,
                     backend: str, image: str | None = None, hidden: bool = True) -> Result:
    """Grade one submission folder; the folder name is the student's id."""
    limits = course.limits_for(assignment)
    stamp = fingerprint(assignment, submission, backend, limits.model_dump_json())
    result = Result(student=submission.name, assignment=assignment.id, fingerprint=stamp)
    started = time.monotonic()
    if not submission.is_dir() or all(p.name.startswith(".") for p in _files(submission)):
        result.status, result.reason = "missing", "nothing was submitted"
        result.tests = _not_run(plan(assignment, hidden=hidden), "not run: nothing was submitted")
        return result
    problem = check_requirements(assignment, submission)
    if problem:
        result.status, result.reason = "invalid", problem
        result.tests = _not_run(plan(assignment, hidden=hidden), f"not run: {problem}")
        return result
    data, outcome = _run_pytest(assignment, hidden=hidden, timeout=limits.wall + 20, args=[
        "--grader-submission", str(submission.resolve()), "--grader-backend", backend,
        "--grader-limits", limits.model_dump_json(), *(["--grader-image", image] if image else [])])
    result.tests = _tests(data, assignment)
    result.log = data.get("log") or ""
    result.duration = round(time.monotonic() - started, 2)
    if data.get("collect_errors"):
        result.status = "error"
        result.reason = "the test suite failed to load: " + data["collect_errors"][0]
    elif data.get("infra_error"):
        result.status, result.reason = "error", data["infra_error"]
    elif outcome == "timeout" and backend == "docker" and not _engine_answers():
        result.status = "error"
        result.reason = "the Docker engine stopped answering while the suite ran"
    elif outcome == "timeout" or OUT_OF_TIME in (data.get("exited") or ""):
        result.status = "timeout"
        result.reason = f"the submission used up its wall-clock budget of {limits.wall:g} s"
        result.tests = _not_run(result.tests, "not run: the time budget ran out")
    elif data.get("startup_error"):
        result.status, result.reason = "no_server", data["startup_error"]
    elif outcome != "ok":
        result.status, result.reason = "error", outcome
    else:
        result.crashes = list(data.get("crashes") or [])
        result.reason = _first_failure(result.tests, _crash_summary(result.crashes))
    return result


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


def plan(assignment: Assignment, *, hidden: bool = True) -> list[TestResult]:
    """The tests of a suite with their points, without running them (pytest --collect-only)."""
    data, outcome = _run_pytest(assignment, hidden=hidden, timeout=120, args=["--collect-only"])
    if data.get("collect_errors") or outcome != "ok":
        detail = (data.get("collect_errors") or [outcome])[0]
        raise RuntimeError(f"the suite of {assignment.id!r} does not load: {detail}")
    return _tests(data, assignment)


def _run_pytest(assignment: Assignment, *, hidden: bool, timeout: float,
                args: list[str]) -> tuple[dict[str, Any], str]:
    """Run the suite in a pytest subprocess; return its results JSON and how it ended."""
    with tempfile.TemporaryDirectory(prefix="grader-run-") as tmp:
        results = Path(tmp, "results.json")
        cmd = [sys.executable, "-m", "pytest", *map(str, assignment.suites(hidden=hidden)),
               "-c", str(_SUITE_INI), "--rootdir", str(assignment.dir),
               "--confcutdir", str(assignment.dir), "-q", "--no-header", "-p", "no:randomly",
               "-o", f"timeout={assignment.test_timeout:g}",
               "--grader-assignment", str(assignment.dir), "--grader-results", str(results),
               *args]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)
        try:
            out, _ = proc.communicate(timeout=timeout)
            outcome = _outcome(proc.returncode, out)
        except subprocess.TimeoutExpired:
            _stop(proc)
            outcome = "timeout"
        except BaseException:  # Ctrl-C: let pytest tear the container down, then go
            _stop(proc)
            raise
        try:
            data = json.loads(results.read_text())
        except (OSError, ValueError):
            data = {}
        return data, outcome


def _engine_answers() -> bool:
    """After a run hit the outer watchdog: was it the submission, or a hung engine?"""
    try:
        import docker

        return bool(docker.from_env(timeout=10).ping())
    except Exception:
        return False


def _outcome(code: int, out: bytes) -> str:
    if code in (0, 1, 5):  # all passed / some failed / nothing collected (an empty suite)
        return "ok"
    tail = out.decode(errors="replace").strip().splitlines()[-3:]
    what = {2: "interrupted", 3: "pytest internal error", 4: "pytest usage error"}
    return f"the grader's test run failed ({what.get(code, f'exit {code}')}): {' | '.join(tail)}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the plugin tears down its server), then SIGKILL if it does not go."""
    proc.terminate()
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def _die_with_parent() -> None:
    # If the grader is SIGKILLed, its pytest children get SIGTERM and clean up after themselves.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _tests(data: dict[str, Any], assignment: Assignment) -> list[TestResult]:
    tests = []
    for t in data.get("tests", []):
        if t.get("visibility") == "hidden":
            t = {**t, "visibility": assignment.hidden_visibility}
        tests.append(TestResult(**t))
    return tests


def _not_run(tests: list[TestResult], feedback: str) -> list[TestResult]:
    return [t if t.status != "failed" or t.feedback != "not run" else
            TestResult(**{**t.__dict__, "feedback": feedback, "score": 0.0}) for t in tests]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not _SKIP.intersection(p.relative_to(folder).parts))


def fingerprint(assignment: Assignment, submission: Path, backend: str, limits: str) -> str:
    """A hash of everything a grade depends on: a resumed batch regrades only what changed."""
    h = hashlib.sha256(f"{_VERSION}\n{backend}\n{limits}\n".encode())
    for root in (assignment.dir, submission):
        if root.is_dir():
            for path in _files(root):
                h.update(str(path.relative_to(root)).encode() + b"\0")
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]
