"""`grader lint`: is a suite fit to grade anyone? Run by course authors, at the start of every
batch (a broken suite stops it before any student is graded) and by `make test`.

Checks: the suite loads (pytest's whole message when it does not); markers are strict (a typo such
as `@pytest.mark.point(5)` is an error, not a silent 1 point); every fixture a test asks for
exists; no module name is in both tests/ and hidden/. With `full`: the reference gets full marks
and the starter does not.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from .config import Assignment, ConfigError, Course
from .job import Record
from .results import TestResult

__all__ = ["SuiteError", "collect", "lint", "suite_problems"]


class SuiteError(ConfigError):
    """The course's suite cannot grade anyone; the message is pytest's, whole."""


def suite_problems(session: pytest.Session, assignment_dir: Path) -> list[str]:
    """What is wrong with a collected suite (called by the plugin after collection)."""
    problems = []
    names: dict[str, list[str]] = {}
    for folder in ("tests", "hidden"):
        for path in sorted((assignment_dir / folder).glob("**/*.py")):
            names.setdefault(path.stem, []).append(str(path.relative_to(assignment_dir)))
    for stem, paths in names.items():
        if len({p.split("/")[0] for p in paths}) > 1 and stem != "__init__":
            problems.append(f"{' and '.join(paths)} have the same module name {stem!r}: "
                            "rename one (pytest imports both as one module)")
    fixtures = session._fixturemanager  # no public API lists what a test asks for and lacks
    for item in session.items:
        params = set(getattr(getattr(item, "callspec", None), "params", {}))
        for name in getattr(item, "fixturenames", []):
            if name not in params and name != "request" and \
                    not fixtures.getfixturedefs(name, item):
                problems.append(f"{item.nodeid}: asks for fixture {name!r}, which does not exist")
    return problems


def collect(assignment: Assignment, *, hidden: bool = True) -> list[TestResult]:
    """The suite's tests with their points, checked (pytest --collect-only); SuiteError if the
    suite cannot grade anyone."""
    from .grade import run_suite

    with tempfile.TemporaryDirectory(prefix="grader-lint-") as tmp:
        results = Path(tmp, "results.json")
        code, tail = run_suite(assignment, hidden=hidden, timeout=120, cwd=Path(tmp), args=[
            "--collect-only", "--grader-assignment", str(assignment.dir),
            "--grader-results", str(results)])
        try:
            record = Record.model_validate_json(results.read_text())
        except (OSError, ValueError):
            record = Record(outcome="suite_broken", reason=tail or f"pytest exited with {code}")
    if record.outcome == "suite_broken" or code not in (0, 5):
        raise SuiteError(f"the suite of {assignment.id!r} cannot grade anyone:\n"
                         f"{record.reason or tail}")
    return record.tests


def lint(*, course: Course, assignment: Assignment, full: bool = False,
         backend: str = "process") -> list[TestResult]:
    """Check the suite (and with `full`, grade the reference and the starter); SuiteError with
    every problem found. Returns the plan."""
    tests = collect(assignment, hidden=True)
    if not tests:
        raise SuiteError(f"the suite of {assignment.id!r} has no tests")
    if full:
        from .grade import grade_submission

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
