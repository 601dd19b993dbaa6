"""What runs on a Dask worker (a grading host): a submission arrives as bytes, is unpacked into a
temporary folder named after the student, and is graded there by `grade.run_job` with the host's
own Docker engine and image; the `Result` goes back to the coordinator.

The course's assignment folder travels as bytes too (with every job, small) and is unpacked once
per host process, keyed by its hash; the runtime image is built once per host when it lacks it.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import shutil
import tarfile
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from grader.core.config import Assignment, Course
from grader.core.job import Job, owner_id
from grader.core.results import Result, TestResult
from grader.core.submission import STAGE_CAP, files
from grader.sandbox import InfraError, engine_answers

__all__ = ["Graded", "grade_here", "pack", "prepare_here", "reap_here", "tree_hash", "unpack"]


@dataclass(frozen=True)
class Graded:
    """A worker's answer: the result, which worker graded it, and whether its engine answered
    (no: the host is retired and the submission graded elsewhere)."""

    result: Result
    worker: str
    engine_ok: bool = True


def pack(folder: Path, *, cap: int = STAGE_CAP) -> bytes:
    """A gzipped tar of `files(folder)`, symlinks kept as links (never followed: a link to a
    coordinator file must not ship that file). Past `cap`, only the largest files are cut, so the
    worker's staging refuses the copy exactly as it would refuse the original."""
    buf = io.BytesIO()
    total = 0
    paths = files(folder, links=True) if folder.is_dir() else []
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(paths, key=lambda p: (p.lstat().st_size, p)):
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            if path.is_symlink():
                info.type, info.linkname = tarfile.SYMTYPE, str(path.readlink())
                tar.addfile(info)
                continue
            with path.open("rb") as f:
                data = f.read(cap + 1 - total)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
            total += len(data)
            if total > cap:
                break
    return buf.getvalue()


def unpack(data: bytes, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="tar")  # nothing outside dest
    return dest


def tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for path in files(folder):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


# -- on the worker -------------------------------------------------------------------------------

_lock = threading.Lock()
_home: Path | None = None
_folders: dict[str, Path] = {}  # assignment hash -> unpacked folder
_images: dict[tuple[str, str], str] = {}  # (base image, assignment hash) -> runtime image tag
_busy: Counter[str] = Counter()  # student -> jobs running here
_sweeping = threading.Lock()


def _workdir() -> Path:
    global _home
    if _home is None:
        _home = Path(tempfile.mkdtemp(prefix="grader-worker-"))
        atexit.register(shutil.rmtree, _home, True)
    return _home


def _assignment_here(assignment: Assignment, key: str, data: bytes) -> Assignment:
    """The assignment with `dir` pointing at this host's copy (unpacked on first use)."""
    with _lock:
        if key not in _folders:
            _folders[key] = unpack(data, _workdir() / "assignments" / key / assignment.id)
        return assignment.model_copy(update={"dir": _folders[key]})


def _image_here(course: Course, assignment: Assignment, key: str) -> str:
    """This host's runtime image for the assignment, built when the host lacks it."""
    from grader.sandbox.images import runtime_image

    with _lock:  # one build per host process, not one per slot
        if (course.base_image, key) not in _images:
            _images[course.base_image, key] = runtime_image(course, assignment, log=lambda _: None)
        return _images[course.base_image, key]


def _address() -> str:
    from distributed import get_worker

    return str(get_worker().address)


def prepare_here(course: Course, assignment: Assignment, key: str, data: bytes) -> str:
    """Before a batch: reap what a killed grader left on this host, unpack the assignment and
    build its image. Raises InfraError when the host's engine does not answer."""
    from grader.sandbox.docker import reap

    reap()
    return _image_here(course, _assignment_here(assignment, key, data), key)


def reap_here() -> int:
    """After a batch: objects on this host whose owner process is gone (a killed worker's)."""
    from grader.sandbox.docker import reap

    return reap() if engine_answers() else 0


def grade_here(job: Job, submission: bytes, course: Course, key: str, assignment: bytes,
               planned: list[TestResult]) -> Graded:
    """Grade one submission on this host. A grader error gets one more try, unless this host's
    engine stopped answering: then the coordinator retires the host and sends the job on."""
    from grader.run.grade import run_with_retry

    where = _address()
    with tempfile.TemporaryDirectory(prefix="grader-sub-", dir=_workdir()) as tmp:
        folder = unpack(submission, Path(tmp) / job.student)  # the folder name is the student id
        here = _assignment_here(job.assignment, key, assignment)
        try:
            image = _image_here(course, here, key)
        except InfraError as exc:
            failed = Result(student=job.student, assignment=job.assignment.id, status="error",
                            reason=str(exc), fingerprint=job.fingerprint)
            return Graded(failed, where, engine_answers(timeout=10))
        local = job.model_copy(update={"assignment": here, "submission": folder, "image": image,
                                       "owner": owner_id()})
        with _sweeping:
            _busy[job.student] += 1
        try:
            engine_ok = True

            def again(_: Result) -> Job | None:  # a host whose engine is gone is retired
                nonlocal engine_ok
                engine_ok = engine_answers(timeout=10)
                return local if engine_ok else None

            result = run_with_retry(local, planned=planned, again=again)
            if not engine_ok:
                return Graded(result, where, engine_ok=False)
            return Graded(result, where, engine_ok=not result.needs_rerun or engine_answers(10))
        finally:
            _sweep(job.student)


def _sweep(student: str) -> None:
    """What this worker made for `student` and did not remove (a container created but never
    started, say): the local pool reaps such objects after its batch (`reap(mine=True)`), but a
    worker outlives batches and grades for several, so it sweeps per student, once none of that
    student's jobs runs here."""
    from grader.sandbox.base import LABEL
    from grader.sandbox.docker import orphans
    from grader.sandbox.netns import remove as _remove

    with _sweeping:  # a new job for the student waits: its fresh objects are not swept
        _busy[student] -= 1
        if _busy[student] > 0:
            return
        del _busy[student]
        try:
            for obj in orphans(mine=True):
                labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
                if labels.get(f"{LABEL}.student") == student:
                    _remove(obj)
        except Exception:  # never turn a grade into a crash: the host's next reap gets them
            pass
