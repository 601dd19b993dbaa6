"""Every assignment, through the real backends: the reference scores 100%, the starter scores
low, and each buggy variant in tests/buggy/<assignment>/<variant>/ loses exactly the tests its
expect.yml names, with feedback that says what went wrong.

A variant is a submission folder, or a `bug.diff` against the reference (a realistic bug in an
otherwise correct app reads best as the diff that introduces it).

expect.yml of a variant (validated: tests/expectations.py, a mistyped key is an error):
    bug: what the variant gets wrong (for the reader)
    fails: [test_function_name, ...]  # exactly these tests fail; all others pass
    feedback: {test_name: phrase}     # optional: that test's line contains the phrase (or a
                                      # bare phrase: some failing test's line), 16+ characters
    feedback_never: text              # optional: no failing test's feedback contains it (a
                                      # hint the evidence does not support, e.g. "decode")
    status: no_server                 # optional: the result's status (default ok)
    reason: text                      # the result's one line contains it: required when the
                                      # status is not ok or the line leads with a crash (what
                                      # the student reads first)
    backends: [docker]                # optional: default both, with the reason written beside
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from grader.batch.local import grade_class
from grader.core.config import Course
from grader.core.results import Result

from . import expectations
from .conftest import ROOT

BACKENDS = ["docker", "process"]
ASSIGNMENTS = sorted(yaml.safe_load((ROOT / "grading.yml").read_text())["assignments"])
VARIANTS = sorted(p for p in (ROOT / "tests" / "buggy").glob("*/*") if (p / "expect.yml").is_file())


_expect = functools.cache(expectations.variant)


def sample_seed() -> str:
    """What tests/test_determinism.py's sample is drawn with: the commit under test
    (GRADER_SAMPLE_SEED overrides), so the cases it leaves out change from commit to commit
    instead of always being the same."""
    seed = os.environ.get("GRADER_SAMPLE_SEED")
    if seed is None:
        git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=False)
        seed = git.stdout.strip()
    return seed


SEED = sample_seed()


def sample_key(variant: Path) -> str:
    return hashlib.sha256(f"{SEED}:{variant.parent.name}/{variant.name}".encode()).hexdigest()


# Every variant through each of its backends: docker, the real path, and the process backend
# (the student's laptop).
CASES = [(backend, v) for v in VARIANTS for backend in _expect(v).backends]


def _group(backend: str, assignment: str) -> pytest.MarkDecorator:
    """The tests that read one graded class run in one pytest-xdist worker (make test), or each
    worker would grade that class again (the `graded` fixture grades it once per process)."""
    return pytest.mark.xdist_group(f"graded-{backend}-{assignment}")


def _class(tmp: Path, assignment: str, backend: str) -> Path:
    """A class folder of symlinks: the reference, the starter and the buggy variants."""
    folder = tmp / assignment
    folder.mkdir(parents=True)
    (folder / "reference").symlink_to(ROOT / "reference" / assignment)
    (folder / "starter").symlink_to(ROOT / "starter" / assignment)
    for b, variant in CASES:
        if variant.parent.name == assignment and b == backend:
            if (variant / "bug.diff").is_file():
                _apply(ROOT / "reference" / assignment, variant / "bug.diff", folder / variant.name)
            else:
                (folder / variant.name).symlink_to(variant)
    return folder


def _apply(reference: Path, diff: Path, dest: Path) -> None:
    shutil.copytree(reference, dest, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "apply", "--whitespace=nowarn", str(diff)], cwd=dest, check=True)


@pytest.fixture(scope="session")
def graded(request, course: Course, tmp_path_factory):
    """grade(backend, assignment): that class graded once, in a parallel batch like `make grade`."""
    cache: dict[tuple[str, str], dict[str, Result]] = {}

    def grade(backend: str, assignment: str) -> dict[str, Result]:
        if (backend, assignment) not in cache:
            if backend == "docker":
                request.getfixturevalue("docker_ready")
            tmp = tmp_path_factory.mktemp(f"{backend}-{assignment}")
            results = grade_class(course=course, assignment=course.assignment(assignment),
                                  submissions=_class(tmp / "in", assignment, backend),
                                  out=tmp / "out",
                                  backend=backend)  # the default workers, as `make grade`
            cache[(backend, assignment)] = {r.student: r for r in results}
        return cache[(backend, assignment)]

    return grade


def _failed(result: Result) -> set[str]:
    return {t.name.rpartition("::")[2] for t in result.tests if t.status != "passed"}


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "assignment"), [
    pytest.param(b, a, id=f"{a}-{b}", marks=_group(b, a)) for a in ASSIGNMENTS for b in BACKENDS])
def test_reference_full_marks_starter_low(graded, backend: str, assignment: str) -> None:
    results = graded(backend, assignment)
    ref = results["reference"]
    assert ref.status == "ok" and ref.tests, ref.reason
    assert ref.full_marks, [(t.name, t.feedback) for t in ref.tests if t.status != "passed"]
    starter = results["starter"]
    assert starter.score <= 0.2 * starter.max_score, (starter.score, starter.max_score)
    assert starter.status != "error", starter.reason


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "variant"), [
    pytest.param(b, v, id=f"{b}-{v.parent.name}/{v.name}", marks=_group(b, v.parent.name))
    for b, v in CASES])
def test_buggy_variant_loses_what_it_deserves(graded, backend: str, variant: Path) -> None:
    expect = _expect(variant)
    result = graded(backend, variant.parent.name)[variant.name]
    assert result.status == expect.status, result.reason
    assert _failed(result) == set(expect.fails), [(t.name, t.feedback) for t in result.tests]
    failing = [t for t in result.tests if t.status != "passed"]
    assert all(t.feedback and t.feedback != "not run" for t in failing), failing
    assert bool(result.reason) == bool(failing), result.reason  # the gradebook's one line
    lines = {t.name.rpartition("::")[2]: t.feedback for t in failing}
    if isinstance(expect.feedback, dict):
        for test, phrase in expect.feedback.items():
            assert phrase in lines[test], (test, lines[test])
    elif expect.feedback:
        assert any(expect.feedback in line for line in lines.values()), lines
    if expect.feedback_never:
        assert not [line for line in lines.values() if expect.feedback_never in line], lines
    if expect.reason:
        assert expect.reason in result.reason, result.reason
    elif result.crashes:  # a crash leads the line the student reads first: it is pinned too
        pytest.fail(f"pin the result's line in expect.yml's reason: {result.reason!r}")


@functools.cache
def _suite_tests(assignment: str) -> frozenset[str]:
    """The test functions of an assignment's public and hidden suites, read from the source."""
    names = set()
    for file in (ROOT / "assignments" / assignment).glob("*/test_*.py"):
        names |= {node.name for node in ast.walk(ast.parse(file.read_text()))
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    return frozenset(names)


@pytest.mark.pure
def test_every_expectation_reads_and_names_real_tests() -> None:
    """Each expect.yml passes its model (a mistyped key is an error) and names only tests that
    exist, so no expectation silently stops checking (all of them, graded in this run or not)."""
    problems = []
    for variant in VARIANTS:
        try:
            expect = expectations.variant(variant)
        except ValueError as exc:
            problems.append(f"{variant.relative_to(ROOT)}: {exc}")
            continue
        named = set(expect.fails) | (set(expect.feedback) if isinstance(expect.feedback, dict)
                                     else set())
        unknown = named - _suite_tests(variant.parent.name)
        if unknown:
            problems.append(f"{variant.relative_to(ROOT)}: no such test {sorted(unknown)}")
    assert not problems, "\n".join(problems)


@pytest.mark.pure
@pytest.mark.parametrize(("text", "error"), [
    ("bug: b\nfails: [test_a]\nfeedbak: {test_a: the connection ended early}", "feedbak"),
    ("bug: b\nfails: [test_a]\nfeedback: {test_a: sorted}", "shorter than 16"),
    ("bug: b\nfails: [test_a]\nfeedback: {test_b: the connection ended early}", "not in fails"),
    ("bug: b\nfails: []\nstatus: no_server", "without a reason"),
])
def test_an_expectation_that_could_drift_is_refused(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        expectations.Variant.model_validate(yaml.safe_load(text))


# Suite tests that no variant fails yet (issue 26): the list may only shrink. A test named here
# that a variant now fails must leave the list; a new suite test must come with its variant.
NOT_YET_CAUGHT: dict[str, set[str]] = {}


@pytest.mark.pure
def test_every_suite_test_is_failed_by_some_variant() -> None:
    """A suite test that no realistic bug fails could be weakened until it always passes and
    nothing would notice: each one is failed by a variant whose server starts (status ok)."""
    caught: dict[str, set[str]] = {}
    for variant in VARIANTS:
        expect = _expect(variant)
        if expect.status == "ok":
            caught.setdefault(variant.parent.name, set()).update(expect.fails)
    problems = []
    for assignment in ASSIGNMENTS:
        missing = _suite_tests(assignment) - caught.get(assignment, set())
        known = NOT_YET_CAUGHT.get(assignment, set())
        if missing - known:
            problems.append(f"{assignment}: no variant fails {sorted(missing - known)}")
        if known - missing:
            problems.append(f"{assignment}: now caught, remove from NOT_YET_CAUGHT: "
                            f"{sorted(known - missing)}")
    assert not problems, "\n".join(problems)
