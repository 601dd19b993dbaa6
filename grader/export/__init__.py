"""Exports: what students and grading services get from the course repository.

- `github` (the default): a template repository whose Actions workflow grades every push.
- `classroom50`: a template repository plus the autograder bundle for Classroom 50's config
  repository (`<classroom>/autograders/<assignment>/`).
- `gradescope`: the autograder zip Gradescope runs (public and hidden tests).

A template never holds a hidden test, a fixture only hidden tests use, or a reference file; its
`.grader/manifest.json` lists the sha256 of every file the export put there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..config import Assignment, Course
from .kit import KIT, build_wheel, constraints, copy_kit, render

__all__ = ["KIT", "TARGETS", "export_assignment", "write_template"]

TARGETS = ("github", "classroom50", "gradescope")


def export_assignment(*, course: Course, assignment: Assignment, out: Path, target: str = "github",
                      install: str | None = None, classroom: str = "classroom") -> Path:
    """Write the export for `target` into `out` (a new or empty folder); return its main path."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: export into a new folder")
    if install is not None and target != "github":
        raise ValueError(f"--install is for the github workflow; {target} installs the wheel "
                         "the export writes")
    if target == "github":
        from .github import export_github

        return export_github(course=course, assignment=assignment, out=out, install=install)
    if target == "classroom50":
        from .classroom50 import export_classroom50

        return export_classroom50(course=course, assignment=assignment, out=out,
                                  classroom=classroom)
    if target == "gradescope":
        from .gradescope import export_gradescope

        return export_gradescope(course=course, assignment=assignment, out=out)
    raise ValueError(f"unknown export target {target!r}: expected one of {', '.join(TARGETS)}")


def write_template(*, course: Course, assignment: Assignment, out: Path) -> str:
    """The student's repository, shared by the targets: the starter, the handout as README.md,
    the assignment's pinned requirements, and the public kit with the grader's wheel.
    Returns the wheel's path relative to `out`."""
    shutil.copytree(course.root / "starter" / assignment.id, out, dirs_exist_ok=True)
    kit = out / KIT
    copy_kit(course=course, assignment=assignment, dest=kit, hidden=False)
    wheel = build_wheel(kit)
    (kit / "constraints.txt").write_text(constraints(assignment))
    if assignment.requirements_path:
        shutil.copy(assignment.requirements_path, out / "requirements.txt")
    handout = assignment.dir / "handout.md"
    (out / "README.md").write_text(handout.read_text().rstrip() + "\n\n" + render(
        "checking.md.j2", wheel=f"{KIT}/{wheel.name}", id=assignment.id,
        requirements=bool(assignment.requirements_path)))
    return f"{KIT}/{wheel.name}"
