"""Shared fixtures for the project's own tests: the real course, real backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.config import Course, load_course
from grader.sandbox import resolve_backend

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course() -> Course:
    return load_course(ROOT)


@pytest.fixture(scope="session")
def docker_ready(course: Course) -> str:
    """Build the images once per run (the real ones: no mocks of the container path)."""
    if resolve_backend("auto") != "docker":
        pytest.fail("these tests need a Docker engine (make test sets everything else up)")
    return "docker"
