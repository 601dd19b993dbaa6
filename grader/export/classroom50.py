"""Classroom 50 (foundation50/classroom50): a template repository without any autograde
workflow (Classroom 50 writes `.github/workflows/autograde.yaml` itself at accept time), and the
bundle for the organisation's config repository, `<classroom>/autograders/<assignment>/`.

The bundle's `autograder.py` runs in the student's checkout on the runner: it installs the
grader from the wheel beside it, grades with its own copy of the public tests (never the
student's `.grader/`, which the student can edit) and writes `result.json` (classroom50/result/
v1), `release-body.md` and the reports named as release assets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from grader.core.config import Assignment, Course
from grader.export.kit import (
    KIT,
    PYTHON,
    build_wheel,
    copy_kit,
    copy_lock,
    render,
    tree,
    write_manifest,
    write_template,
)
from grader.export.lock import uv_requirement

__all__ = ["REPORT", "export_classroom50", "settings"]

REPORT = "grader-report"  # in the checkout: the reports uploaded as release assets


def settings() -> dict[str, object]:
    """What to set on the assignment (web form's advanced settings, or assignments.json)."""
    return {
        "runtime": {"runs-on": "ubuntu-latest", "python": PYTHON},
        "release_assets": [f"{REPORT}/junit.xml", f"{REPORT}/results.json",
                           f"{REPORT}/feedback.html"],
    }


def export_classroom50(*, course: Course, assignment: Assignment, out: Path,
                       classroom: str | None = None) -> Path:
    """`classroom`: the classroom's short name, the bundle's folder (default: grading.yml's
    `collect.classroom`, the name collect builds repository URLs with)."""
    where = "--classroom" if classroom else "grading.yml: collect.classroom"
    classroom = classroom or course.collect.classroom
    if not classroom:
        raise ValueError("the Classroom 50 bundle needs the classroom's short name: set "
                         "collect.classroom in grading.yml, or pass --classroom NAME")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", classroom):
        raise ValueError(f"{where} {classroom!r}: expected the classroom's short name "
                         "(letters, digits, '.', '_' or '-')")
    template = out / "template"
    write_template(course=course, assignment=assignment, out=template)
    write_manifest(template, assignment=assignment.id, paths=tree(template, KIT))

    bundle = out / "config" / classroom / "autograders" / assignment.id
    copy_kit(course=course, assignment=assignment, dest=bundle / "kit", hidden=False)
    wheel = build_wheel(bundle)
    lock = copy_lock(course=course, assignment=assignment, dest=bundle)
    (bundle / "autograder.py").write_text(render(
        "autograder.py.j2", title=assignment.title, id=assignment.id, wheel=wheel.name,
        lock=lock.name, uv=uv_requirement(), report=REPORT))
    (bundle / "assignment-settings.json").write_text(json.dumps(settings(), indent=2) + "\n")
    (bundle / "README.md").write_text(render(
        "classroom50.md.j2", title=assignment.title, id=assignment.id, classroom=classroom,
        settings=json.dumps(settings(), indent=2)))
    return out
