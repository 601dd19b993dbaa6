"""Shared fixtures for the project's own tests: the real course, real backends."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from grader.core.config import Course, load_course
from grader.sandbox import resolve_backend
from grader.sandbox.docker import orphans

ROOT = Path(__file__).resolve().parent.parent
# `make test` (and CI) leaves out the tests marked `full_only`: costly second paths through
# what other tests already cover. `make test-all` (GRADER_TESTS=all) runs them too.
EVERYTHING = os.environ.get("GRADER_TESTS", "") == "all"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "full_only: run only by `make test-all` (costly, and "
                            "covered in part by the other tests)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if EVERYTHING:
        return
    left_out = [item for item in items if item.get_closest_marker("full_only")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("full_only")]


@pytest.fixture(scope="session")
def course() -> Course:
    return load_course(ROOT)


@pytest.fixture(scope="session")
def docker_ready(course: Course) -> str:
    """Build the images once per run (the real ones: no mocks of the container path)."""
    if resolve_backend("auto") != "docker":
        pytest.fail("these tests need a Docker engine (make test sets everything else up)")
    return "docker"


def as_in_a_terminal(argv: list[str]) -> list[str]:
    """`argv`, started with SIGINT at its default, as a terminal starts a command, so that the
    Ctrl-C a test sends interrupts it even when the tests themselves run in the background (a
    shell without job control starts a background job, and all it runs, with SIGINT ignored)."""
    return [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, "
            "signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])", *argv]


def leftovers(*, orphans_only: bool = True) -> list[str]:
    """Containers, networks and volumes with the project's label (whose grader process is gone)."""
    return [f"{type(obj).__name__} {obj.name}" for obj in orphans(everything=not orphans_only)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI nothing else runs: after the tests, nothing with the label may remain at all."""
    if os.environ.get("CI") and resolve_backend("auto") == "docker":
        left = leftovers(orphans_only=False)
        if left:
            print(f"\nleft behind after the tests: {left}")
            session.exitstatus = 1
