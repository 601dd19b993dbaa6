"""A suite as pytest sees it: the one command line that runs it, the run itself (in a child
forked from a warm Python), and what is wrong with a suite that cannot grade anyone.

Used by grading (`grade.py`), the batch's check before anyone is graded, `grader lint`, the
plugin after collection, and the benches.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from grader.core.config import Assignment, ConfigError
from grader.core.results import Record, TestResult
from grader.run import forkserver

__all__ = ["SUITE_INI", "SuiteError", "collect", "pytest_command", "run_suite",
           "suite_problems"]

SUITE_INI = Path(__file__).with_name("suite.ini")


def pytest_command(assignment: Assignment, *, hidden: bool, args: list[str]) -> list[str]:
    """The one pytest command line that runs a suite (grading, planning, linting, benches)."""
    return [sys.executable, "-m", "pytest", *map(str, assignment.suites(hidden=hidden)),
            "-c", str(SUITE_INI), "--rootdir", str(assignment.dir),
            "--confcutdir", str(assignment.dir), "-q", "--no-header",
            "-o", f"timeout={assignment.test_timeout:g}", *args]


def run_suite(assignment: Assignment, *, hidden: bool, args: list[str], timeout: float,
              cwd: Path) -> tuple[int | None, str]:
    """Run pytest on the suite: (exit code, or None when it ran out of time; its last lines)."""
    log = cwd / "pytest.log"
    code = forkserver.run(pytest_command(assignment, hidden=hidden, args=args), cwd=cwd,
                          log=log, timeout=timeout)
    try:
        out = log.read_bytes()[-20_000:]
    except OSError:
        out = b""
    return code, " | ".join(out.decode(errors="replace").strip().splitlines()[-3:])


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
    with tempfile.TemporaryDirectory(prefix="grader-lint-") as tmp:
        results = Path(tmp, "results.json")
        code, tail = run_suite(assignment, hidden=hidden, timeout=120, cwd=Path(tmp), args=[
            "--collect-only", "--grader-assignment", str(assignment.dir),
            "--grader-results", str(results)])
        try:
            record = Record.model_validate_json(results.read_text())
        except (OSError, ValueError):
            record = Record(status="suite_broken", reason=tail or f"pytest exited with {code}")
    if record.status == "suite_broken" or code not in (0, 5):
        raise SuiteError(f"the suite of {assignment.id!r} cannot grade anyone:\n"
                         f"{record.reason or tail}")
    return record.tests
