"""Tamper flags: did a student change the public tests, the `.grader/` kit or the workflow?

The export writes `.grader/manifest.json` = {"assignment": id, "files": {path: sha256}}. The
student's copy of that manifest is not trusted: what the export would write is recomputed from
the course's own files, and the student's tree is compared with that (and with their manifest).

A course may fix a public test after students started: every kit `grader export` wrote is
recorded with its version (export/kit.py, `.grader-kits.json` at the course root), and a tree
that is exactly one of them is not flagged (`match` says which); one that matches none is
compared with the closest.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from grader.core.config import Assignment, Course
from grader.export import KIT, export_assignment
from grader.export.kit import kit_version, known_kits, record_kit, unversioned

__all__ = ["MANIFEST", "check", "expected", "match", "record", "versions"]

MANIFEST = f"{KIT}/manifest.json"
_COVERED = (f"{KIT}/", ".github/workflows/")
# The kit's grading.yml carries the due date and limits, which a course may change after the
# export, and the grader's wheel and its lock are rebuilt by each export (timestamps, newer
# pins): comparing them would flag the whole class. The tests, the kit and the workflow remain.
_unchecked = unversioned


def _hashes(root: Path) -> dict[str, str]:
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel != MANIFEST and rel.startswith(_COVERED) \
                and not _unchecked(rel) and "__pycache__" not in rel:
            files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


_CACHE: dict[tuple[str, str], tuple[dict[str, str], bool]] = {}


def _export_hashes(course: Course, assignment: Assignment,
                   install: str) -> tuple[dict[str, str], bool]:
    with tempfile.TemporaryDirectory(prefix="grader-export-") as tmp:
        out = Path(tmp, "repo")
        export_assignment(course=course, assignment=assignment, out=out, target="github",
                          install=install or None)
        manifest = out / MANIFEST
        if manifest.is_file():  # the export's own manifest, when it writes one, is the truth
            files = json.loads(manifest.read_text())["files"]
            return {k: v for k, v in files.items() if not _unchecked(k)}, True
        return _hashes(out), False


def expected(*, course: Course, assignment: Assignment) -> tuple[dict[str, str], bool]:
    """What the export writes today: (path -> sha256, whether it writes a manifest);
    recomputed from the course's files, cached per assignment."""
    key = (course.model_dump_json(), assignment.id)  # what the export's output depends on
    if key not in _CACHE:
        _CACHE[key] = _export_hashes(course, assignment, course.collect.install)
    files, manifest = _CACHE[key]
    return dict(files), manifest


def versions(*, course: Course, assignment: Assignment) -> dict[str, dict[str, str]]:
    """Every kit version a student may rightly have: those the course recorded at export, and
    what the export writes today (version -> path -> sha256)."""
    today, _ = expected(course=course, assignment=assignment)
    return {**known_kits(course.root, assignment.id), kit_version(today): today}


def record(*, course: Course, assignment: Assignment, out: Path, target: str) -> str | None:
    """After `grader export`: add the kit it wrote (its manifest) to the course's record;
    its version, or None for an export with no student kit (gradescope)."""
    found = sorted(out.rglob("manifest.json"))
    manifests = [p for p in found if p.parent.name == KIT]
    if not manifests:
        return None
    files = json.loads(manifests[0].read_text())["files"]
    return record_kit(course.root, assignment=assignment.id, files=files, target=target)


def match(*, tree: Path, assignment: str, versions: dict[str, dict[str, str]]) -> str | None:
    """The kit version the tree holds exactly (its files and its manifest), or None."""
    actual = _hashes(tree)
    try:
        manifest = json.loads((tree / MANIFEST).read_text())
        theirs = {k: v for k, v in (manifest.get("files") or {}).items() if not _unchecked(k)}
    except (OSError, ValueError, AttributeError):
        return None
    if manifest.get("assignment") != assignment:
        return None
    return next((version for version, files in versions.items()
                 if actual == files == theirs), None)


def check(*, tree: Path, expected: dict[str, str], assignment: str,
          manifest: bool = True, known: dict[str, dict[str, str]] | None = None) -> list[str]:
    """One line per finding; [] when the tree has the kit exactly as exported (today, or any
    version in `known`, see `versions`). `manifest`: the export writes one (so a missing or
    different one is itself a finding). Findings are against the closest version."""
    if known:
        if match(tree=tree, assignment=assignment, versions=known) is not None:
            return []
        actual = _hashes(tree)
        expected = min([expected, *known.values()],
                       key=lambda files: len(set(files.items()) ^ set(actual.items())))
    flags = []
    try:
        theirs = json.loads((tree / MANIFEST).read_text())
        files = {k: v for k, v in (theirs.get("files") or {}).items() if not _unchecked(k)}
        if theirs.get("assignment") != assignment or files != expected:
            flags.append("manifest altered: .grader/manifest.json differs from the export's")
    except FileNotFoundError:
        if manifest:
            flags.append("manifest missing: .grader/manifest.json was deleted")
    except (OSError, ValueError, AttributeError):
        flags.append("manifest altered: .grader/manifest.json is not the export's JSON")
    actual = _hashes(tree)
    for path, digest in sorted(expected.items()):
        if path not in actual:
            flags.append(f"deleted: {path}")
        elif actual[path] != digest:
            flags.append(f"changed: {path}")
    flags += [f"added: {path}" for path in sorted(set(actual) - set(expected))]
    return flags
