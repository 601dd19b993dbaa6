"""A suite that cannot grade anyone is the course's error: `grader lint` and every batch find it
before a student is graded, with pytest's whole message. Real pytest runs, real batches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch.local import grade_class
from grader.core.config import ConfigError, load_course
from grader.export.kit import check_kit
from grader.run.suite import SuiteError, collect

from .conftest import ROOT

TIER = "process"  # what its tests need (tests/conftest.py)

GOOD = """\
import pytest

@pytest.mark.points(2)
def test_echo(connect):
    sock = connect()
    sock.sendall(b"hi")
    assert sock.recv(10) == b"hi"
"""
SERVER = (ROOT / "reference/echo/server.py").read_text()


def _course(tmp: Path, suite: dict[str, str]) -> Path:
    for rel, text in suite.items():
        (tmp / "assignments/mini" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "assignments/mini" / rel).write_text(text)
    (tmp / "assignments/mini/assignment.yml").write_text("title: Mini\n")
    (tmp / "grading.yml").write_text("name: c\nassignments:\n  mini: {}\n")
    return tmp


# What each suite is worth: (tests, points, public points), written here by hand so that a test
# lost from collection (or a points marker changed) shows, not only a count the collector makes.
SUITES = {"auth": (31, 44, 18), "books": (35, 54, 28), "cgi": (21, 40, 20), "chat": (26, 49, 17),
          "echo": (9, 19, 7), "framework": (26, 38, 15), "restapi": (25, 44, 32),
          "webclient": (13, 22, 17), "webserver": (30, 59, 29), "wsgiapp": (16, 26, 12),
          "wsgiserver": (31, 47, 20)}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(load_course(ROOT).assignments))
def test_every_assignment_lints_clean(name: str) -> None:
    course = load_course(ROOT)
    tests = collect(course.assignment(name))
    assert tests and all(t.max_score >= 0 for t in tests)
    got = (len(tests), sum(t.max_score for t in tests),
           sum(t.max_score for t in tests if not t.hidden))
    assert got == SUITES.get(name), f"{name}: {got} (tests, points, public points): see SUITES"
    assert check_kit(course=course, assignment=course.assignment(name)) == ""


BROKEN = {
    "typo_marker": ({"tests/test_a.py": GOOD.replace("points(2)", "point(2)")},
                    "'point' not found in `markers` configuration option"),
    "missing_fixture": ({"tests/test_a.py": GOOD.replace("connect", "conect")},
                        "tests/test_a.py::test_echo: asks for fixture 'conect', which does not "
                        "exist"),
    "same_module_name": ({"tests/test_a.py": GOOD, "hidden/test_a.py": GOOD},
                         "tests/test_a.py and hidden/test_a.py have the same module name 'test_a'"),
    "does_not_import": ({"tests/test_a.py": "import nonexistent_module\n" + GOOD},
                        "ModuleNotFoundError: No module named 'nonexistent_module'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_suite_is_named_whole(tmp_path: Path, case: str) -> None:
    suite, message = BROKEN[case]
    course = load_course(_course(tmp_path, suite))
    with pytest.raises(SuiteError) as err:
        collect(course.assignment("mini"))
    assert message in str(err.value)


def test_a_broken_suite_stops_the_batch_before_anyone_is_graded(tmp_path: Path) -> None:
    course = load_course(_course(tmp_path, BROKEN["missing_fixture"][0]))
    (tmp_path / "subs/ann").mkdir(parents=True)
    (tmp_path / "subs/ann/server.py").write_text(SERVER)
    with pytest.raises(SuiteError, match="asks for fixture 'conect'"):
        grade_class(course=course, assignment=course.assignment("mini"),
                    submissions=tmp_path / "subs", out=tmp_path / "out", backend="process")
    assert not (tmp_path / "out/ann").exists()
    cli = subprocess.run([sys.executable, "-m", "grader", "lint", "--course", str(tmp_path)],
                         capture_output=True, text=True)
    assert cli.returncode == 1 and "asks for fixture 'conect'" in cli.stdout


def test_an_empty_submission_does_not_stop_the_batch(tmp_path: Path) -> None:
    course = load_course(_course(tmp_path, {"tests/test_a.py": GOOD}))
    for name in ("ann", "ben"):
        (tmp_path / "subs" / name).mkdir(parents=True)
    (tmp_path / "subs/ann/server.py").write_text(SERVER)
    results = {r.student: r for r in grade_class(
        course=course, assignment=course.assignment("mini"), submissions=tmp_path / "subs",
        out=tmp_path / "out", backend="process")}
    assert results["ann"].full_marks and results["ann"].max_score == 2
    ben = results["ben"]
    assert ben.status == "missing" and ben.max_score == 2 and ben.score == 0
    assert [t.feedback for t in ben.tests] == ["not run: nothing was submitted"]


@pytest.mark.slow
def test_lint_full_grades_the_reference_and_the_starter() -> None:
    cli = subprocess.run([sys.executable, "-m", "grader", "lint", "echo", "--full"],
                         cwd=ROOT, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert cli.stdout.startswith("echo: ok, ")
    assert "(reference full marks, starter not)" in cli.stdout


@pytest.mark.slow
def test_lint_fails_when_the_exported_kit_would_not_run(tmp_path: Path) -> None:
    """A file the public tests need but the kit leaves out is the course author's error, said
    by `grader lint` before any student's template runs; naming it in public_files mends it."""
    suite = {"tests/test_a.py": "from pathlib import Path\n"
                                "WORDS = (Path(__file__).parent.parent / 'words.txt').read_text()\n"
                                + GOOD,
             "words.txt": "hello\n"}
    root = _course(tmp_path, suite)

    def lint_cli() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "grader", "lint", "--course", str(root)],
                              capture_output=True, text=True)

    done = lint_cli()
    assert done.returncode == 1, done.stdout
    assert "mini: broken" in done.stdout and "its exported kit would not run" in done.stdout
    assert "words.txt" in done.stdout
    (root / "assignments/mini/assignment.yml").write_text("title: Mini\n"
                                                          "public_files: [words.txt]\n")
    done = lint_cli()
    assert done.returncode == 0 and "mini: ok, 1 tests" in done.stdout, done.stdout


@pytest.mark.pure
def test_public_files_never_name_a_hidden_test(tmp_path: Path) -> None:
    root = _course(tmp_path, {"tests/test_a.py": GOOD, "hidden/test_b.py": GOOD})
    (root / "assignments/mini/assignment.yml").write_text("title: Mini\n"
                                                          "public_files: [hidden/test_b.py]\n")
    with pytest.raises(ConfigError, match=r"public_files\[0\]: 'hidden/test_b.py' is under "
                                          "hidden/"):
        load_course(root)
