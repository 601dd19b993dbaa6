"""The catalogue of hostile and broken submissions (tests/hostile/<entry>/), graded for real.

Each entry is a submission (of echo, unless it names another assignment) written to misbehave.
Its expect.yml says what the grade must be; every entry must also finish within its budget, keep
its output capped, show its markup and escape sequences inert, and leave nothing behind (no
container, network, volume or process). Every entry's environment has BYSTANDER, the URL of a
listener the catalogue runs on this host's loopback, which nothing may connect to.

expect.yml (validated: tests/expectations.py):
    what: what the entry does
    status: ok | no_server | timeout          # the result's status
    score: full | zero | P | {at_least: P, at_most: Q}   # points
    reason: text | {docker: text, process: text}   # optional: contained in the reason
    log: text                                 # optional: contained in the server's output
    backends: [docker, process]               # default both
    assignment: books                         # optional: default echo
    bystander: 0                              # optional: connections BYSTANDER saw (all along)
"""

from __future__ import annotations

import functools
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from grader.batch.local import grade_class
from grader.core import report
from grader.core.config import Course
from grader.core.results import Result

from . import expectations
from .conftest import ROOT, leftovers
from .expectations import Bounds
from .listener import CountingListener

# docker, whatever the backend: the catalogue's teardown asks the engine for leftovers
TIER = "docker"
# One pytest-xdist worker grades the catalogue (make test), as the module fixture does once per
# process; tests/test_process.py's runs of the entries that leave processes behind share it, or
# the teardown's look for processes of the catalogue would find theirs (and they this one's).
pytestmark = pytest.mark.xdist_group("hostile")

WALL = 30  # a short wall-clock budget, so the entries that hang cost little
ENTRIES = sorted(p for p in (ROOT / "tests" / "hostile").iterdir() if (p / "expect.yml").is_file())


_expect = functools.cache(expectations.hostile)
CASES = [(b, e) for e in ENTRIES for b in _expect(e).backends]


@pytest.fixture(scope="module")
def bystander() -> Iterator[CountingListener]:
    """A service of the grader's host that a submission would like the grader to fetch."""
    listener = CountingListener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def catalogue(request, course: Course, tmp_path_factory, bystander: CountingListener):
    cache: dict[tuple[str, str], tuple[dict[str, Result], Path]] = {}
    limits = course.limits.model_copy(update={"wall": WALL})
    hostile_course = course.model_copy(update={"limits": limits})

    def grade(backend: str, name: str) -> tuple[dict[str, Result], Path]:
        if (backend, name) not in cache:
            if backend == "docker":
                request.getfixturevalue("docker_ready")
            tmp = tmp_path_factory.mktemp(f"hostile-{backend}-{name}")
            (tmp / "in").mkdir()
            for entry in ENTRIES:
                if backend in _expect(entry).backends and _expect(entry).assignment == name:
                    (tmp / "in" / entry.name).symlink_to(entry)
            assignment = course.assignment(name)
            assignment = assignment.model_copy(
                update={"env": {**assignment.env, "BYSTANDER": bystander.url}})
            results = grade_class(course=hostile_course, assignment=assignment,
                                  submissions=tmp / "in", out=tmp / "out", backend=backend,
                                  workers=3)
            cache[(backend, name)] = ({r.student: r for r in results}, tmp / "out")
        return cache[(backend, name)]

    yield grade
    _assert_nothing_left()


def _assert_nothing_left() -> None:
    """No container, network or volume whose grader is gone (others may be grading right now),
    and no process of the catalogue."""
    assert not leftovers(), leftovers()
    left = subprocess.run(["pgrep", "-af", "tests/hostile|hostile-orphan-marker"],
                          capture_output=True, text=True).stdout
    assert not left.strip(), f"processes left behind: {left}"


@pytest.mark.parametrize(("backend", "entry"), CASES, ids=[f"{b}-{e.name}" for b, e in CASES])
def test_hostile_entry(catalogue, bystander: CountingListener, backend: str, entry: Path) -> None:
    expect = _expect(entry)
    results, out = catalogue(backend, expect.assignment)
    r = results[entry.name]
    if expect.bystander is not None:
        assert bystander.accepted == expect.bystander, (
            f"the grader connected to the bystander {bystander.accepted} times")
    assert r.status == expect.status, (r.status, r.reason)
    lines = [(t.name, t.feedback) for t in r.tests]
    if isinstance(expect.score, Bounds):
        assert expect.score.at_least <= r.score <= expect.score.at_most, (r.score, lines)
    else:
        want = {"full": r.max_score, "zero": 0.0}.get(str(expect.score), expect.score)
        assert r.score == want, (r.score, lines)
    reason = expect.reason
    if isinstance(reason, dict):
        reason = reason[backend]
    if reason:
        assert reason in r.reason, r.reason
    if expect.log:
        assert expect.log in r.log, r.log[-500:]
    # bounded: the budget, plus start-up and teardown
    assert r.duration <= WALL + 25, r.duration
    assert len(r.log) <= 64_000
    if r.status != "ok" or r.score < r.max_score:
        assert r.reason and "\n" not in r.reason  # one line for the gradebook
    # whatever it printed or sent, the reports show it as text
    html = (out / entry.name / "feedback.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    buf = io.StringIO()
    report.print_result(r, Console(file=buf, force_terminal=True, width=120), title="t")
    assert "\x1b[2J" not in buf.getvalue() and "\x1b[31mPWNED" not in buf.getvalue()
