"""Grading the same submission twice gives the same per-test outcomes, even under CPU load.

Each assignment's buggy variants are graded twice in a parallel batch (like `make grade`): once
as they are, once while a CPU burner (a process this test starts and stops) keeps the other core
busy. Any test whose outcome differs between the two runs is a suite that depends on scheduling
(a race), and fails this check.

In the normal `pytest` run a sample is graded: the correct variants written in other styles
(`fails: []`, such as the threaded chat server whose joins race), plus SAMPLE buggy variants per
assignment chosen by a hash of their names (the same ones every run, not only the first
alphabetically).
`make determinism` (GRADER_DETERMINISM=all) grades every variant; GRADER_DETERMINISM_BACKEND
picks the backend (default process: the faster one; the suites are the same).
"""

from __future__ import annotations

import hashlib
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
from .test_assignments import ASSIGNMENTS, VARIANTS, _apply, _expect

SAMPLE = 2
BACKEND = os.environ.get("GRADER_DETERMINISM_BACKEND", "process")
EVERY = os.environ.get("GRADER_DETERMINISM", "") == "all"
TIER = "docker" if BACKEND == "docker" else "process"  # tests/conftest.py


def chosen(assignment: str) -> list[Path]:
    """The variants of `assignment` this run grades twice."""
    mine = [v for v in VARIANTS if v.parent.name == assignment
            and BACKEND in _expect(v).get("backends", [BACKEND])]
    if EVERY:
        return mine
    correct = [v for v in mine if not _expect(v)["fails"]]
    buggy = [v for v in mine if _expect(v)["fails"]]
    return correct + sorted(buggy, key=lambda v: hashlib.sha256(v.name.encode()).hexdigest())[
        :SAMPLE]


@contextmanager
def cpu_burner() -> Iterator[None]:
    """A busy loop in its own process (one core's worth of load) for as long as the block runs."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
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
    assert all(len([x for x in v if _expect(x)["fails"]]) == SAMPLE for v in first.values()), \
        first
