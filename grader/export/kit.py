"""What every export shares: the course kit (public or full), the grader as a wheel built from
this installation, the course's student.lock (the whole install, pinned with hashes), and the
manifest of what was written; and the record of
every kit version the course exported (KITS), so a student who started from an earlier export
is not taken for one who edited the kit."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import zipfile
from base64 import urlsafe_b64encode
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import yaml

from grader.core.config import Assignment, Course
from grader.core.results import write_atomic
from grader.core.submission import generated
from grader.export.lock import LOCK, student_lock

__all__ = ["KIT", "KITS", "PYTHON", "PYTHONS", "REQUIRES_PYTHON", "build_wheel", "check_kit",
           "copy_kit", "copy_lock", "kit_files", "known_kits", "kit_version", "record_kit",
           "render", "tree", "unversioned", "write_manifest", "write_template"]

KIT = ".grader"  # where the course's part lives in a student's repository
# One Python range for every export. Each service grades with PYTHON, Debian 12's, the one in the
# grader's Docker image (grader-base:bookworm), so a submission runs on the same Python wherever
# it is graded: the workflow's setup-python, Classroom 50's runtime, Gradescope's setup.sh. A
# student's own machine may have any of PYTHONS: the wheel says so (Requires-Python), and the
# exported pins resolve to wheels on the lowest and the highest (tests/test_export.py).
PYTHON = "3.11"
PYTHONS = ("3.10", "3.14")
REQUIRES_PYTHON = ">=3.10,<3.15"  # PYTHONS, as pip reads it
KITS = ".grader-kits.json"  # at the course root, next to grading.yml: commit it
_DIST = "course-grader"
_ALWAYS = ("assignment.yml", "conftest.py", "handout.md")
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("grader.export", "templates"),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed times: the same grader gives the same wheel, byte for byte


def render(name: str, **values: object) -> str:
    return _ENV.get_template(name).render(**values)


def kit_files(assignment: Assignment, *, hidden: bool) -> list[Path]:
    """The assignment's files a kit carries, relative to its folder.

    Public: assignment.yml, conftest.py, the handout, tests/, and every file the assignment.yml
    names (requirements, docroot, support, site, public_files): what the public tests need to run.
    Hidden (the instructors' kits): the whole folder. Never: caches and generated files.
    """
    root = assignment.dir
    keep = {*_ALWAYS, "tests", *assignment.public_files}
    keep |= {p for p in (assignment.requirements, assignment.docroot, assignment.support,
                          assignment.site) if p}
    files = []
    for name in sorted({p.name for p in root.iterdir()} if hidden else keep):
        entry = root / name
        if not entry.exists():
            continue
        paths = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file())
        files += [p.relative_to(root) for p in paths
                  if "__pycache__" not in p.parts and not p.name.endswith(".pyc")
                  and not generated(root, p)]
    return files


def copy_kit(*, course: Course, assignment: Assignment, dest: Path, hidden: bool) -> None:
    """`dest` becomes a course folder of one assignment: grading.yml + assignments/<id>/."""
    for rel in kit_files(assignment, hidden=hidden):
        target = dest / "assignments" / assignment.id / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(assignment.dir / rel, target)
    entry = course.assignments[assignment.id]
    (dest / "grading.yml").write_text(yaml.safe_dump({
        "name": course.name,
        "base_image": course.base_image,
        "limits": course.limits.model_dump(),
        "assignments": {assignment.id: entry.model_dump(mode="json", exclude_none=True,
                                                      exclude={"extensions"})},
    }, sort_keys=False))


def check_kit(*, course: Course, assignment: Assignment) -> str:
    """Would the public kit run on a student's machine? The kit, copied alone into an empty
    folder, must load as a course and collect the same public tests as the course: a folder the
    tests or the entry need and the kit leaves out fails here, before a student sees it.
    Returns the problem ("" when there is none)."""
    import tempfile

    from grader.core.config import ConfigError, load_course
    from grader.run.suite import collect

    with tempfile.TemporaryDirectory(prefix="grader-kit-") as tmp:
        copy_kit(course=course, assignment=assignment, dest=Path(tmp), hidden=False)
        try:
            kit = load_course(tmp).assignment(assignment.id)
            shipped = [t.name for t in collect(kit, hidden=False)]
        except ConfigError as exc:  # SuiteError included
            return f"its exported kit would not run: {exc}"
    expected = [t.name for t in collect(assignment, hidden=False)]
    if shipped != expected:
        return (f"its exported kit collects other public tests than the course "
                f"({len(shipped)} instead of {len(expected)})")
    return ""


def build_wheel(dest: Path) -> Path:
    """A wheel of the grader as installed here (editable or not), for `pip install FILE`: the
    template pins exactly this grader and never names a package anyone could register."""
    import grader

    dist = importlib.metadata.distribution(_DIST)
    name, version = "course_grader", dist.version
    info = f"{name}-{version}.dist-info"
    package = Path(grader.__file__).parent
    entries: list[tuple[str, bytes]] = [
        (p.relative_to(package.parent).as_posix(), p.read_bytes())
        for p in sorted(package.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    entries += [
        # an egg-info (a source checkout on sys.path) has the same fields in PKG-INFO
        (f"{info}/METADATA", _supported(dist.read_text("METADATA") or
                                        dist.read_text("PKG-INFO") or "").encode()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: course-grader export\n"
                          b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/entry_points.txt", (dist.read_text("entry_points.txt") or "").encode()),
    ]
    record = [f"{path},sha256={_b64digest(data)},{len(data)}" for path, data in entries]
    entries.append((f"{info}/RECORD", ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()))
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in entries:
            info_ = zipfile.ZipInfo(path, date_time=_EPOCH)
            info_.external_attr = 0o644 << 16
            info_.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info_, data)
    return wheel


def copy_lock(*, course: Course, assignment: Assignment, dest: Path) -> Path:
    """The course's student.lock, checked against what the grader and `assignment` need, as
    much of it as `assignment` installs, written into `dest`: what every export installs
    (`pip install --require-hashes -r`)."""
    path = dest / LOCK
    path.write_text(student_lock(course, assignment), encoding="utf-8")
    return path


def write_manifest(root: Path, *, assignment: str, paths: list[str]) -> Path:
    """`.grader/manifest.json`: {"assignment": id, "files": {relative path: sha256 hex}}, read
    as-is by the instructors' tamper check."""
    files = {}
    for rel in sorted(set(paths)):
        files[rel] = hashlib.sha256((root / rel).read_bytes()).hexdigest()
    manifest = root / KIT / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"assignment": assignment, "files": files}, indent=2) + "\n")
    return manifest


def tree(root: Path, under: str) -> list[str]:
    """Every file below root/under, as paths relative to root."""
    return sorted(p.relative_to(root).as_posix() for p in (root / under).rglob("*")
                  if p.is_file() and p.name != "manifest.json")


def _supported(metadata: str) -> str:
    """The metadata with Requires-Python set to the exports' range: pip on a Python outside
    it says so instead of failing somewhere in the install."""
    head, sep, body = metadata.partition("\n\n")
    lines = [line for line in head.splitlines() if not line.startswith("Requires-Python:")]
    lines.insert(next((i + 1 for i, line in enumerate(lines) if line.startswith("Version:")),
                      len(lines)), f"Requires-Python: {REQUIRES_PYTHON}")
    return "\n".join(lines) + (sep + body if sep else "\n")


def _b64digest(data: bytes) -> str:
    return urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_template(*, course: Course, assignment: Assignment, out: Path) -> str:
    """The student's repository, shared by the targets: the starter, the handout as README.md,
    the assignment's pinned requirements, and the public kit with the grader's wheel.
    Returns the wheel's path relative to `out`."""
    shutil.copytree(course.root / "starter" / assignment.id, out, dirs_exist_ok=True)
    kit = out / KIT
    copy_kit(course=course, assignment=assignment, dest=kit, hidden=False)
    wheel = build_wheel(kit)
    copy_lock(course=course, assignment=assignment, dest=kit)
    if assignment.requirements_path:
        shutil.copy(assignment.requirements_path, out / "requirements.txt")
    ignore = out / ".gitignore"  # the README's venv and the reports stay out of git
    kept = ignore.read_text().splitlines() if ignore.is_file() else []
    ignore.write_text("".join(f"{line}\n" for line in
                              [*kept, *(p for p in (".venv/", "grader-report/") if p not in kept)]))
    handout = assignment.dir / "handout.md"
    (out / "README.md").write_text(handout.read_text().rstrip() + "\n\n" + render(
        "checking.md.j2", wheel=f"{KIT}/{wheel.name}", id=assignment.id,
        lock=f"{KIT}/{LOCK}", python=PYTHON, lowest=PYTHONS[0],
        highest=PYTHONS[1]))
    return f"{KIT}/{wheel.name}"


def unversioned(rel: str) -> bool:
    """Files each export writes anew that are no part of a kit's version: grading.yml (the due
    date and limits, which a course may change after the export), the grader's wheel and the
    pins of its install (student.lock; constraints.txt in exports before it)."""
    return rel in (f"{KIT}/grading.yml", f"{KIT}/constraints.txt", f"{KIT}/{LOCK}") or (
        rel.startswith(f"{KIT}/") and rel.endswith(".whl"))


def kit_version(files: dict[str, str]) -> str:
    """A kit's version: a hash of its manifest's files (path -> sha256), unversioned ones left
    out."""
    kept = sorted((k, v) for k, v in files.items() if not unversioned(k))
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:12]


def _read_kits(root: Path) -> dict[str, dict[str, dict[str, Any]]]:
    path = root / KITS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} cannot be read ({exc}): restore it from git") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not the record `grader export` writes: restore it from git")
    return data


def record_kit(root: Path, *, assignment: str, files: dict[str, str], target: str) -> str:
    """Add an export's kit to the course's record (root/KITS) when it is a new version; return
    its version. {assignment: {version: {"exported": first time, "target", "files"}}}."""
    version = kit_version(files)
    kits = _read_kits(root)
    mine = kits.setdefault(assignment, {})
    if version not in mine:
        mine[version] = {"exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                         "target": target,
                         "files": {k: v for k, v in sorted(files.items()) if not unversioned(k)}}
        write_atomic(root / KITS, json.dumps(kits, indent=2) + "\n")
    return version


def known_kits(root: Path, assignment: str) -> dict[str, dict[str, str]]:
    """Every kit version of `assignment` the course recorded: version -> its files."""
    kits = _read_kits(root).get(assignment, {})
    return {version: {str(k): str(v) for k, v in dict(entry.get("files") or {}).items()}
            for version, entry in kits.items() if isinstance(entry, dict)}
