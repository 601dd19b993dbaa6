"""`grader grade` after `grader collect`: the collected class through the usual batch.

It adds three things around `batch.grade_class`: students `collect` found nothing for are graded
as missing (an empty folder), a subset can be regraded (`--only`, `grader regrade`), and every
run's per-test outcomes are kept in runs.jsonl, so the class report can show tests whose outcome
changed between two runs of the same submission. The starter is graded too (out/.starter): a
test the starter passes is suspect.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rich.console import Console

from grader.batch.local import ExecutorFactory, grade_class, local_pool, prepare
from grader.core import report
from grader.core.config import Assignment, Course
from grader.core.job import BackendChoice, Job
from grader.core.results import Result, load_result, save_result, write_atomic
from grader.instructor.collect import load_manifest
from grader.instructor.roster import unknown_students
from grader.run.grade import run_job

__all__ = ["STARTER", "grade_collected"]

STARTER = ".starter"


def grade_collected(*, course: Course, assignment: Assignment, out: Path,
                    workers: int | None = None,
                    backend: BackendChoice = "docker", only: list[str] | None = None,
                    regrade: bool = False,
                    console: Console | None = None,
                    executor: ExecutorFactory = local_pool) -> list[Result]:
    console = console or Console(stderr=True)
    collected = load_manifest(out)
    if not collected:
        raise FileNotFoundError(f"{out}/collect.json not found: run `grader collect "
                                f"{assignment.id} --out {out}` first")
    unknown_students(only or [], known=collected, where=f"{out}/collect.json")
    submissions = out / "submissions"
    for student in collected.values():
        # nothing to grade: an empty folder grades as "missing" (a fetch error is not graded)
        if student.status in ("missing", "empty", "no_submission"):
            shutil.rmtree(submissions / student.student, ignore_errors=True)
            (submissions / student.student).mkdir(parents=True)
    before = {s: load_result(out / s) for s in collected}
    results = grade_class(course=course, assignment=assignment, submissions=submissions, out=out,
                          students=only or None, workers=workers, backend=backend,
                          regrade=regrade or bool(only), console=console, executor=executor)
    everyone = [r for s in sorted(collected) if (r := load_result(out / s))]
    write_atomic(out / "grades.csv", report.class_csv(everyone))
    _record_runs(out, [r for r in results if r != before.get(r.student)])
    _warn_stale(console, assignment, out, results, everyone)
    _grade_starter(course=course, assignment=assignment, out=out, backend=backend,
                   console=console)
    return everyone if not only else results


def _warn_stale(console: Console, assignment: Assignment, out: Path, now: list[Result],
                everyone: list[Result]) -> None:
    """After grading some students with a changed suite (a test fixed meanwhile), say who was
    graded with an older one: a class graded by two suites is not one gradebook."""
    current = {r.suite for r in now if r.suite}
    if len(current) != 1:
        return
    stale = sorted(r.student for r in everyone if r.suite and r.suite not in current)
    if stale:
        console.print(f"[bold yellow]graded with an older suite[/] (the course's tests changed "
                      f"since): {', '.join(stale)}; `grader grade {assignment.id} --out {out} "
                      f"--regrade` grades everyone with suite {current.pop()}", soft_wrap=True)


def _record_runs(out: Path, results: list[Result]) -> None:
    """Append this run's outcomes (one JSON line per submission graded now)."""
    if not results:
        return
    with (out / "runs.jsonl").open("a", encoding="utf-8") as f:
        for r in results:
            if r.status == "ok":
                f.write(json.dumps({"student": r.student, "fingerprint": r.fingerprint,
                                    "tests": {t.name: t.status for t in r.tests},
                                    **({"retried": r.retried} if r.retried else {})}) + "\n")


def _grade_starter(*, course: Course, assignment: Assignment, out: Path, backend: BackendChoice,
                   console: Console) -> None:
    starter = course.root / "starter" / assignment.id
    folder = out / STARTER
    if not starter.is_dir():
        return
    used, image = prepare(course, assignment, backend, log=console.print)
    job = Job.make(course=course, assignment=assignment, submission=starter, backend=used,
                   image=image)
    old = load_result(folder)
    if old and old.fingerprint == job.fingerprint:
        return
    save_result(folder, run_job(job))
