"""A student's starting repository (GitHub Classroom's template): the starter, the handout, the
public suite (never hidden/) and a workflow that runs `grader check` on every push."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import yaml

from .config import Assignment, Course

__all__ = ["export_starter"]

KIT = ".grader"  # where the course's public part lives in a student's repository
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates"),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def export_starter(*, course: Course, assignment: Assignment, out: Path, install: str) -> Path:
    """Write the repository to `out` (which must not exist or be empty)."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: export into a new folder")
    shutil.copytree(course.root / "starter" / assignment.id, out, dirs_exist_ok=True)
    shutil.copy(assignment.dir / "handout.md", out / "handout.md")
    kit = out / KIT
    shutil.copytree(assignment.dir, kit / "assignments" / assignment.id,
                    ignore=shutil.ignore_patterns("hidden", "__pycache__"))
    entry = course.assignments[assignment.id]
    (kit / "grading.yml").write_text(yaml.safe_dump({
        "name": course.name,
        "base_image": course.base_image,
        "limits": course.limits.model_dump(),
        "assignments": {assignment.id: entry.model_dump(exclude_none=True, exclude={"extensions"})},
    }, sort_keys=False))
    workflow = out / ".github" / "workflows" / "grade.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(_ENV.get_template("grade.yml.j2").render(
        install=install, title=assignment.title))
    return out
