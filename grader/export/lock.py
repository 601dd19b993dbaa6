"""The student's install, pinned whole: `student.lock` at the course root (next to grading.yml;
commit it) pins every package a student's install brings, the grader's own dependencies and
every assignment's requirements, each with the hashes of all its files, for every platform and
every Python of the exports' range in one file (uv's universal resolution, from the lowest
Python: a package that differs by version or platform gets one line per marker).

`grader lock` writes it; every export takes from it the lines its assignment installs (the
grader's dependencies, the assignment's requirements and what they bring in, never another
assignment's), and installs them with `pip --require-hashes`,
then the grader's wheel without dependencies (the wheel's own hash is not in the lock: it is
built by the export). An export whose lock misses a package or disagrees with a pin stops."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.core.config import Assignment, Course
from grader.core.extras import need

__all__ = ["LOCK", "check_lock", "pins", "student_lock", "uv_requirement", "write_lock"]

LOCK = "student.lock"
_DIST = "course-grader"


def _grader_requirements() -> list[Requirement]:
    """The grader's own dependencies, extras left out (the student's install has none)."""
    reqs = [Requirement(line) for line in importlib.metadata.requires(_DIST) or []]
    return [r for r in reqs if r.marker is None]


def _own(assignment: Assignment) -> list[Requirement]:
    text = assignment.requirements_path.read_text() if assignment.requirements_path else ""
    return [Requirement(line) for raw in text.splitlines()
            if (line := raw.split("#", 1)[0].strip())]


def write_lock(course: Course, *, python: str) -> Path:
    """Resolve and write course.root/student.lock with uv (the `instructor` extra) for `python`
    (the range's lowest) and every later one; returns it."""
    uv = need("uv", extra="instructor", command="grader lock")
    files = sorted({a.requirements_path.relative_to(course.root).as_posix()
                    for a in (course.assignment(i) for i in course.assignments)
                    if a.requirements_path})
    grader = "".join(f"{r}\n" for r in _grader_requirements())
    done = subprocess.run(
        [uv.find_uv_bin(), "pip", "compile", "--quiet", "--universal", "--python-version", python,
         "--generate-hashes", "--custom-compile-command", "grader lock", "--output-file", LOCK,
         "-", *files],  # "-": the grader's requirements, on stdin
        cwd=course.root, input=grader, capture_output=True, text=True, timeout=600,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})  # resolve, never fetch a Python
    if done.returncode:
        raise RuntimeError(f"uv could not resolve the student's install: {done.stderr.strip()}")
    return course.root / LOCK


def pins(text: str) -> dict[str, set[str]]:
    """name -> the versions a lock pins (one per marker line; usually one)."""
    found: dict[str, set[str]] = {}
    for line in text.splitlines():
        if not line.strip() or line[0] in " \t#-":
            continue
        req = Requirement(line.rstrip("\\ "))
        versions = [s.version for s in req.specifier if s.operator == "=="]
        found.setdefault(canonicalize_name(req.name), set()).update(versions)
    return found


def check_lock(course: Course, assignment: Assignment) -> Path:
    """The course's student.lock, when it pins every package the grader and `assignment` need
    at versions they accept; else ValueError saying what is missing and what to run."""
    path = course.root / LOCK
    if not path.is_file():
        raise ValueError(f"{path} is missing: run `grader lock` (and commit it), then export")
    locked = pins(path.read_text())
    for req in [*_grader_requirements(), *_own(assignment)]:
        versions = locked.get(canonicalize_name(req.name))
        if not versions:
            raise ValueError(f"{path} does not pin {req.name}: run `grader lock`, then export")
        wrong = sorted(v for v in versions if not req.specifier.contains(v, prereleases=True))
        if wrong:
            raise ValueError(f"{path} pins {req.name} {', '.join(wrong)}, which {req} excludes: "
                             "run `grader lock`, then export")
    return path


def student_lock(course: Course, assignment: Assignment) -> str:
    """The lines of the course's lock that `assignment`'s students install: the grader's own
    dependencies, the assignment's requirements, and what they bring in (uv's `# via` notes),
    never another assignment's (restapi's schemathesis is not in an echo student's venv)."""
    text = check_lock(course, assignment).read_text()
    files = {f"-r {assignment.requirements_path.relative_to(course.root).as_posix()}"} \
        if assignment.requirements_path else set()
    head: list[str] = []
    blocks: list[tuple[str, list[str], set[str]]] = []  # name, its lines, what brought it in
    for line in text.splitlines(keepends=True):
        note = line.strip()
        if note and line[0] not in " \t#-":  # a requirement: a block of its own begins
            blocks.append((canonicalize_name(Requirement(line.rstrip("\\ \n")).name), [line],
                           set()))
        elif not blocks:
            head.append(line)
        else:
            blocks[-1][1].append(line)
            via = note.removeprefix("#").strip().removeprefix("via").strip()
            if note.startswith("#") and via:
                blocks[-1][2].add(via if via.startswith("-r ") else canonicalize_name(via))
    kept: set[str] = {canonicalize_name(r.name) for r in _grader_requirements()}
    while grown := {name for name, _, via in blocks
                    if name not in kept and via & (kept | files)}:
        kept |= grown
    return "".join(head) + "".join("".join(lines) for name, lines, _ in blocks if name in kept)


def uv_requirement() -> str:
    """uv for an install that has to fetch it itself: the version that wrote the lock here."""
    try:
        return f"uv=={importlib.metadata.version('uv')}"
    except importlib.metadata.PackageNotFoundError:
        return "uv"
