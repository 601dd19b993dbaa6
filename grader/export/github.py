"""Plain GitHub: a template repository whose workflow grades every push with the public tests
and reports on the run page (summary, annotations), as a commit status and as an artifact."""

from __future__ import annotations

import json
from pathlib import Path

from grader.core.config import Assignment, Course
from grader.export.kit import KIT, PYTHON, render, tree, write_manifest, write_template
from grader.export.lock import LOCK

__all__ = ["WORKFLOW", "export_github"]

WORKFLOW = ".github/workflows/grade.yml"


def export_github(*, course: Course, assignment: Assignment, out: Path,
                  install: str | None) -> Path:
    wheel = write_template(course=course, assignment=assignment, out=out)
    workflow = out / WORKFLOW
    workflow.parent.mkdir(parents=True, exist_ok=True)
    fail_below = course.assignments[assignment.id].fail_below
    workflow.write_text(render(
        "grade.yml.j2", title=_yaml_text(assignment.title), python=_yaml_text(PYTHON),
        install=_yaml_text(_checked(install or f"./{wheel}")),
        lock=LOCK, kit=KIT,
        fail_below=_yaml_text(f"{fail_below:g}") if fail_below is not None else "",
        fail_below_text=f"{fail_below:g}" if fail_below is not None else ""))
    write_manifest(out, assignment=assignment.id, paths=[*tree(out, KIT), WORKFLOW])
    return out


def _checked(install: str) -> str:
    """A pip requirement, passed to pip as one argument through the environment: never parsed by
    the shell, and refused where Actions itself would read it (an expression, a line break)."""
    if "${{" in install or any(ord(c) < 32 for c in install) or not install.strip():
        raise ValueError(f"--install {install!r}: expected one pip requirement on one line, "
                         "e.g. 'course-grader @ git+https://github.com/ORG/REPO@COMMIT'")
    return install


def _yaml_text(value: str) -> str:
    """A double-quoted YAML scalar (JSON's string syntax is YAML's): `#`, `:` and quotes stay
    text."""
    return json.dumps(value)
