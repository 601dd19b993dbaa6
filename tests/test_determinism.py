"""Grading the same submission twice gives the same per-test outcomes, even under CPU load.

Each assignment's buggy variants are graded twice in a parallel batch (like `make grade`): once
as they are, once while a CPU burner (a process this test starts and stops) keeps the other core
busy. Any test whose outcome differs between the two runs is a suite that depends on scheduling
(a race), and fails this check.

In the normal `pytest` run a sample is graded: the correct variants written in other styles
(`fails: []`, such as the threaded chat server whose joins race), plus SAMPLE buggy variants per
assignment drawn with the commit under test (tests/test_assignments.py `sample_key`: the same
ones on every run of a commit, others on the next).
`make determinism` (GRADER_DETERMINISM=all) grades every variant; GRADER_DETERMINISM_BACKEND
picks the backend (default process: the faster one; the suites are the same).

A loaded batch (`test_a_loaded_class_gets_the_grades_each_gets_alone`): correct submissions that
are slow or chatty (a print for every chunk, a thread per client, socket timeouts) are graded
one at a time on a quiet machine, then COPIES of each in one class at the default worker count
(four suites to a core) with every core burning: every grade and every test's outcome must be
the same. CI runs LOADED; `make determinism` every correct variant of every assignment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader.batch.local import grade_class
from grader.core.config import Course
from grader.core.results import Result

from .conftest import ROOT
from .test_assignments import ASSIGNMENTS, VARIANTS, _apply, _expect, sample_key

SAMPLE = 2
LOADED = {"echo": ["chatty_threads", "slow_per_byte", "socket_timeouts"],
          "webserver": ["chatty_whole_file"]}
COPIES = 3
BACKEND = os.environ.get("GRADER_DETERMINISM_BACKEND", "process")
EVERY = os.environ.get("GRADER_DETERMINISM", "") == "all"
TIER = "docker" if BACKEND == "docker" else "process"  # tests/conftest.py


def chosen(assignment: str) -> list[Path]:
    """The variants of `assignment` this run grades twice."""
    mine = [v for v in VARIANTS if v.parent.name == assignment
            and BACKEND in _expect(v).backends]
    if EVERY:
        return mine
    correct = [v for v in mine if not _expect(v).fails]
    buggy = [v for v in mine if _expect(v).fails]
    return correct + sorted(buggy, key=sample_key)[:SAMPLE]


@contextmanager
def cpu_burner(cores: int = 1) -> Iterator[None]:
    """Busy loops in their own processes (`cores` cores' worth of load) while the block runs."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def _class(folder: Path, variants: list[Path]) -> Path:
    folder.mkdir(parents=True)
    for variant in variants:
        if (variant / "bug.diff").is_file():
            reference = ROOT / "reference" / variant.parent.name
            _apply(reference, variant / "bug.diff", folder / variant.name)
        else:
            (folder / variant.name).symlink_to(variant)
    return folder


def outcomes(results: list[Result]) -> dict[str, str]:
    """student::test -> status (and each result's own status)."""
    out = {}
    for result in results:
        out[result.student] = result.status
        for test in result.tests:
            out[f"{result.student}::{test.name.rpartition('::')[2]}"] = test.status
    return out


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_same_outcomes_twice(request, course: Course, tmp_path: Path, assignment: str) -> None:
    variants = chosen(assignment)
    if not variants:
        pytest.skip(f"no {assignment} variant runs on the {BACKEND} backend")
    if BACKEND == "docker":
        request.getfixturevalue("docker_ready")
    submissions = _class(tmp_path / "in", variants)

    def grade(run: str) -> dict[str, str]:
        return outcomes(grade_class(course=course, assignment=course.assignment(assignment),
                                    submissions=submissions, out=tmp_path / run,
                                    backend=BACKEND, workers=2))

    quiet = grade("quiet")
    with cpu_burner():
        loaded = grade("loaded")
    differ = [f"{key}: {quiet.get(key, 'absent')} alone, {loaded.get(key, 'absent')} under load"
              for key in sorted(quiet.keys() | loaded.keys()) if quiet.get(key) != loaded.get(key)]
    assert not differ, differ


@pytest.mark.pure
def test_sample_is_stable_and_covers_every_assignment() -> None:
    """The CI sample is the same every run and takes from each assignment."""
    if EVERY:
        pytest.skip("GRADER_DETERMINISM=all grades every variant")
    first = {a: chosen(a) for a in ASSIGNMENTS}
    assert first == {a: chosen(a) for a in ASSIGNMENTS}
    assert all(len([x for x in v if _expect(x).fails]) == SAMPLE for v in first.values()), \
        first


def loaded_variants(assignment: str) -> list[Path]:
    """The correct variants a loaded batch grades: LOADED in CI, every correct one with `all`."""
    mine = [v for v in VARIANTS if v.parent.name == assignment and not _expect(v).fails
            and BACKEND in _expect(v).backends]
    return mine if EVERY else [v for v in mine if v.name in LOADED.get(assignment, [])]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if loaded_variants(a)])
def test_a_loaded_class_gets_the_grades_each_gets_alone(request, course: Course, tmp_path: Path,
                                                         assignment: str) -> None:
    variants = loaded_variants(assignment)
    if BACKEND == "docker":
        request.getfixturevalue("docker_ready")
    task = course.assignment(assignment)
    alone = outcomes(grade_class(course=course, assignment=task,
                                 submissions=_class(tmp_path / "alone", variants),
                                 out=tmp_path / "alone-out", backend=BACKEND, workers=1))
    crowd = tmp_path / "crowd"
    crowd.mkdir()
    for variant in variants:
        for copy in range(COPIES):
            (crowd / f"{variant.name}~{copy}").symlink_to(tmp_path / "alone" / variant.name)
    with cpu_burner(os.cpu_count() or 1):
        loaded = outcomes(grade_class(course=course, assignment=task, submissions=crowd,
                                      out=tmp_path / "crowd-out", backend=BACKEND))
    assert set(alone.values()) == {"passed", "ok"}, alone  # correct, each of them, alone
    differ = []
    for key, status in sorted(loaded.items()):
        student, _, test = key.partition("::")
        own = alone.get(f"{student.partition('~')[0]}{'::' + test if test else ''}")
        if status != own:
            differ.append(f"{key}: {own} alone, {status} in a loaded class")
    assert len(loaded) == COPIES * len(alone) and not differ, differ
