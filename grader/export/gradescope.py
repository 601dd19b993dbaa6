"""Gradescope: the autograder zip (setup.sh, run_autograder, the grader's wheel, the public and
hidden tests). Inside Gradescope's own container the submission runs with the process backend;
`/autograder/results/results.json` is already our format."""

from __future__ import annotations

import zipfile
from pathlib import Path

from grader.core.config import Assignment, Course
from grader.export.kit import PYTHON, PYTHONS, build_wheel, copy_kit, copy_lock, render

__all__ = ["export_gradescope"]

_EPOCH = (1980, 1, 1, 0, 0, 0)


def export_gradescope(*, course: Course, assignment: Assignment, out: Path) -> Path:
    """`out/source/` (what the zip holds, for reading) and `out/autograder.zip` (to upload)."""
    source = out / "source"
    copy_kit(course=course, assignment=assignment, dest=source / "course", hidden=True)
    wheel = build_wheel(source)
    lock = copy_lock(course=course, assignment=assignment, dest=source)
    # the kit's programs (e.g. cgi's probe scripts): setup.sh makes them executable again,
    # whatever the unzip kept of the modes the zip records
    executables = sorted(p.relative_to(source).as_posix() for p in source.rglob("*")
                         if p.is_file() and p.stat().st_mode & 0o100)
    values = {"id": assignment.id, "title": assignment.title, "wheel": wheel.name,
              "lock": lock.name, "python": PYTHON, "lowest": PYTHONS[0],
              "highest": PYTHONS[1], "executables": executables}
    for name in ("setup.sh", "run_autograder"):
        script = source / name
        script.write_text(render(f"{name}.j2", **values))
        script.chmod(0o755)
    archive = out / "autograder.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=_EPOCH)
            entry.external_attr = (0o755 if path.stat().st_mode & 0o100 else 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(entry, path.read_bytes())
    return archive
