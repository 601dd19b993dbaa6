"""A student's template repository works on its own: public tests only, `grader check` inside it,
and a workflow that reports the score."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

GRADER = [sys.executable, "-m", "grader"]


@pytest.mark.parametrize("assignment", ["echo", "webserver"])
def test_exported_repo_grades_itself(tmp_path: Path, assignment: str) -> None:
    repo = tmp_path / "repo"
    done = subprocess.run([*GRADER, "export", assignment, "--out", str(repo), "--install",
                           "course-grader @ git+https://example.invalid/course"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list(repo.rglob("hidden")), "hidden tests must never reach a student"
    assert (repo / "handout.md").is_file() and (repo / "README.md").is_file()
    workflow = yaml.safe_load((repo / ".github/workflows/grade.yml").read_text())
    steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["check"]["steps"])
    assert 'pip install "course-grader @ git+https://example.invalid/course"' in steps
    assert "grader check --backend process --out grader-report" in steps

    def check(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*GRADER, "check", "--backend", "process", "--out", "report"],
                              cwd=repo, capture_output=True, text=True, env=env)

    assert check().returncode == 1  # the starter does not pass
    for f in (ROOT / "reference" / assignment).iterdir():
        shutil.copy(f, repo / f.name)
    summary = tmp_path / "summary.md"
    done = check({**os.environ, "GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 0, done.stdout
    assert (repo / "report" / "results.json").is_file()
    first = summary.read_text().splitlines()[0]
    score = first.rpartition(": ")[2]
    assert score.split("/")[0] == score.split("/")[1], first  # full marks on the public tests


def test_export_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("mine")
    done = subprocess.run([*GRADER, "export", "echo", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "is not empty" in done.stdout
