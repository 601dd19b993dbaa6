"""The WSGI assignments' runner is the grader's, kept once (grader/runners/): both assignments
name it, no assignment folder holds a copy, and editing it regrades exactly the assignments
that use it (it is part of their fingerprint)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.core import job
from grader.core.config import RUNNERS, load_course

from .conftest import ROOT

TIER = "pure"  # what its tests need (tests/conftest.py)


def test_one_runner_named_by_both_wsgi_assignments() -> None:
    course = load_course(ROOT)
    for name in ("wsgiapp", "framework"):
        assignment = course.assignment(name)
        assert assignment.entry.startswith("python {runners}/wsgi_runner.py "), assignment.entry
        assert assignment.uses_runners and (RUNNERS / "wsgi_runner.py").is_file()
    copies = sorted((ROOT / "assignments").glob("*/**/wsgi_runner.py"))
    assert not copies, f"a copy of the grader's runner: {copies}"
    assert not course.assignment("echo").uses_runners


def test_a_runner_change_regrades_only_its_users(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    course = load_course(ROOT)
    runners = tmp_path / "runners"
    shutil.copytree(RUNNERS, runners)
    monkeypatch.setattr(job, "RUNNERS", runners)
    wsgiapp, echo = course.assignment("wsgiapp"), course.assignment("echo")

    def prints() -> tuple[str, str]:
        return (job.fingerprint(wsgiapp, ROOT / "reference/wsgiapp", "docker", course.limits),
                job.fingerprint(echo, ROOT / "reference/echo", "docker", course.limits))

    before = prints()
    with (runners / "wsgi_runner.py").open("a") as f:
        f.write("# edited\n")
    after = prints()
    assert after[0] != before[0] and after[1] == before[1]
