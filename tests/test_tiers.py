"""The tiers (tests/conftest.py), end to end with pytester: each test gets one from its fixtures,
its marker or its module; none, two or a contradicted one stop the run; without an engine a
docker test is skipped with the reason, or fails under GRADER_REQUIRE_DOCKER (make test, CI);
a pure test cannot start a process."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (Path(__file__).parent / "conftest.py").read_text() + """

def pytest_collection_finish(session):
    for item in session.items:
        print("tiers", item.name, *[m.name for m in item.iter_markers() if m.name in TIERS])
"""
TESTS = """
import subprocess, sys
import pytest

TIER = "process"

def test_by_module():
    pass

@pytest.mark.pure
def test_pure():
    pass

@pytest.mark.pure
def test_pure_that_starts_a_process():
    subprocess.run([sys.executable, "-c", "pass"])

def test_engine(docker_ready):
    pass

@pytest.mark.parametrize("backend", ["docker", "process"])
def test_backend(backend):
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_x=TESTS)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    for name in ("GRADER_REQUIRE_DOCKER", "CI"):
        monkeypatch.delenv(name, raising=False)
    return pytester


def test_one_tier_each_and_without_an_engine_docker_tests_say_why(
        project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-s", "-rs")
    tiers = sorted(line.split()[1:] for line in result.outlines if line.startswith("tiers "))
    assert tiers == [["test_backend[docker]", "docker"], ["test_backend[process]", "process"],
                     ["test_by_module", "process"], ["test_engine", "docker"],
                     ["test_pure", "pure"], ["test_pure_that_starts_a_process", "pure"]]
    result.assert_outcomes(passed=3, skipped=2, failed=1)
    result.stdout.fnmatch_lines([
        "*RuntimeError: subprocess.Popen in a pure test*",
        "SKIPPED [[]2[]] *: needs a Docker engine: none answered at "
        "unix:///nonexistent/docker.sock (*)"])


def test_make_test_fails_docker_tests_without_an_engine(project: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_REQUIRE_DOCKER", "1")
    result = project.runpytest_subprocess("-m", "docker")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*Failed: these tests need a Docker engine*"])


def test_a_test_without_exactly_one_tier_stops_the_run(project: pytest.Pytester) -> None:
    project.makepyfile(test_y="""
        import pytest

        def test_none():
            pass

        @pytest.mark.pure
        @pytest.mark.process
        def test_two():
            pass

        @pytest.mark.pure
        def test_contradicted(docker_ready):
            pass
    """)
    result = project.runpytest_subprocess("test_y.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*tests need exactly one tier*",
                                 "*test_y.py::test_none: no tier: set TIER = *",
                                 "*test_y.py::test_two: marked * and *: a test has one tier",
                                 "*test_y.py::test_contradicted: marked pure, but its fixtures "
                                 "need docker"])
