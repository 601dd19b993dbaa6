"""Exports: what students and grading services get from the course repository.

- `github` (the default): a template repository whose Actions workflow grades every push.
- `classroom50`: a template repository plus the autograder bundle for Classroom 50's config
  repository (`<classroom>/autograders/<assignment>/`).
- `gradescope`: the autograder zip Gradescope runs (public and hidden tests).

A template never holds a hidden test, a fixture only hidden tests use, or a reference file; its
`.grader/manifest.json` lists the sha256 of every file the export put there.
"""

from __future__ import annotations

from pathlib import Path

from grader.core.config import Assignment, Course
from grader.export.kit import KIT, write_template

__all__ = ["KIT", "TARGETS", "export_assignment", "write_template"]

TARGETS = ("github", "classroom50", "gradescope")


def export_assignment(*, course: Course, assignment: Assignment, out: Path, target: str = "github",
                      install: str | None = None, classroom: str | None = None) -> Path:
    """Write the export for `target` into `out` (a new or empty folder); return its main path.
    `classroom` (classroom50): the bundle's folder, by default grading.yml's collect.classroom."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: export into a new folder")
    if classroom is not None and target != "classroom50":
        raise ValueError(f"--classroom is for the classroom50 bundle, not {target}")
    if install is not None and target != "github":
        raise ValueError(f"--install is for the github workflow; {target} installs the wheel "
                         "the export writes")
    if target == "github":
        from grader.export.github import export_github

        return export_github(course=course, assignment=assignment, out=out, install=install)
    if target == "classroom50":
        from grader.export.classroom50 import export_classroom50

        return export_classroom50(course=course, assignment=assignment, out=out,
                                  classroom=classroom)
    if target == "gradescope":
        from grader.export.gradescope import export_gradescope

        return export_gradescope(course=course, assignment=assignment, out=out)
    raise ValueError(f"unknown export target {target!r}: expected one of {', '.join(TARGETS)}")
