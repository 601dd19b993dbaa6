"""`grader lint`: is a suite fit to grade anyone? Run by course authors, at the start of every
batch (a broken suite stops it before any student is graded) and by `make test`.

Checks: the suite loads (pytest's whole message when it does not); markers are strict (a typo such
as `@pytest.mark.point(5)` is an error, not a silent 1 point); every fixture a test asks for
exists; no module name is in both tests/ and hidden/. With `full`: the reference gets full marks
and the starter does not.
"""

from __future__ import annotations

from grader.core.config import Assignment, Course
from grader.core.job import Backend
from grader.core.results import TestResult
from grader.run.grade import grade_submission
from grader.run.suite import SuiteError, collect

__all__ = ["lint"]


def lint(*, course: Course, assignment: Assignment, full: bool = False,
         backend: Backend = "process") -> list[TestResult]:
    """Check the suite (and with `full`, grade the reference and the starter); SuiteError with
    every problem found. Returns the plan."""
    tests = collect(assignment, hidden=True)
    if not tests:
        raise SuiteError(f"the suite of {assignment.id!r} has no tests")
    if full:
        problems = []
        for who, want_full in (("reference", True), ("starter", False)):
            folder = course.root / who / assignment.id
            if not folder.is_dir():
                problems.append(f"{who}/{assignment.id} does not exist")
                continue
            result = grade_submission(course=course, assignment=assignment, submission=folder,
                                      backend=backend)
            if result.full_marks != want_full:
                problems.append(f"{who}/{assignment.id} scores {result.score:g}/"
                                f"{result.max_score:g} ({result.status}"
                                f"{': ' + result.reason if result.reason else ''}); expected "
                                f"{'full marks' if want_full else 'less than full marks'}")
        if problems:
            raise SuiteError("\n".join(problems))
    return tests
