"""Grading a class: collect -> build -> run/test/score (in parallel) -> report. Resumable.

Each finished submission's reports are written at once, atomically, so a batch killed at any
moment loses at most the submissions in flight; rerunning the same command keeps every result
whose fingerprint still matches and grades the rest.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
from rich.console import Console
from rich.progress import Progress

from grader.core import report
from grader.core.config import Assignment, Course, Limits
from grader.core.job import Backend, BackendChoice, Job, SandboxRef, owner_id
from grader.core.results import Result, TestResult, dumps, load_result, save_result, write_atomic
from grader.run.grade import run_with_retry
from grader.run.suite import collect as plan_suite
from grader.sandbox import resolve_backend
from grader.sandbox.netns import SandboxPool

__all__ = ["Executor", "ExecutorFactory", "collect", "default_workers", "grade_class",
           "local_pool", "prepare", "write_reports"]

_PER_CORE = 4  # workers per core (see default_workers)


def collect(submissions: Path) -> list[Path]:
    """Every subfolder is one student; its name is the student's id."""
    if not submissions.is_dir():
        raise FileNotFoundError(f"submissions folder {submissions} does not exist")
    return sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))


def prepare(course: Course, assignment: Assignment, choice: BackendChoice,
            log: Callable[[str], None] = print) -> tuple[Backend, str | None]:
    """The one place a backend is chosen and made ready: (backend, image)."""
    backend = resolve_backend(choice)
    if backend != "docker":
        return backend, None
    from grader.sandbox.docker import reap
    from grader.sandbox.images import runtime_image

    reap()  # containers and networks a killed grader left behind
    return backend, runtime_image(course, assignment, log=log)


@dataclass(frozen=True)
class Executor:
    """Where jobs are graded: the backend and image the batch's jobs name, how many jobs may
    run at once, and how one is handed over (a future of its result)."""

    backend: Backend
    image: str | None
    slots: Callable[[], int]
    submit: Callable[[Job, list[TestResult]], Future[Result]]
    written: Callable[[Job], None] = lambda job: None  # its result is on disk: clean up behind


# (course, assignment, backend, workers or None for the default, log) -> a context that
# prepares, runs and cleans up
ExecutorFactory = Callable[[Course, Assignment, BackendChoice, "int | None",
                            Callable[[str], None]], AbstractContextManager[Executor]]


@contextmanager
def local_pool(course: Course, assignment: Assignment, choice: BackendChoice,
               workers: int | None, log: Callable[[str], None]) -> Iterator[Executor]:
    """This machine: a thread per slot, each running one pytest child at a time; with docker,
    the next submissions' network sandboxes are made ahead and used ones removed behind."""
    backend, image = prepare(course, assignment, choice, log=log)
    slots = workers or default_workers(backend, course.limits_for(assignment))
    pool = ThreadPoolExecutor(max_workers=max(1, slots))
    sandboxes = _sandbox_pool(course, assignment, backend, image, slots)
    used: dict[str, SandboxRef | None] = {}  # student -> the sandbox their grading used
    lock = threading.Lock()

    def grade(job: Job, planned: list[TestResult]) -> Result:
        result, sandbox = _grade(job, planned, sandboxes)
        with lock:
            used[job.student] = sandbox
        return result

    def written(job: Job) -> None:
        with lock:
            sandbox = used.pop(job.student, None)
        if sandboxes:
            sandboxes.release(sandbox)  # removed in the background, after the write

    try:
        yield Executor(backend, image, lambda: max(1, slots),
                       lambda job, planned: pool.submit(grade, job, planned), written)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if sandboxes:
            sandboxes.close()
        if backend == "docker":
            from grader.sandbox.docker import reap

            reap(mine=True)  # ours, left by a killed child; others' of a grader killed earlier


def grade_class(*, course: Course, assignment: Assignment, submissions: Path, out: Path,
                students: list[str] | None = None, workers: int | None = None,
                backend: BackendChoice = "docker", regrade: bool = False,
                console: Console | None = None,
                executor: ExecutorFactory = local_pool) -> list[Result]:
    """Grade every student folder of `submissions` (or only those named in `students`) into
    `out/<student>/`; returns their results, in the folders' order."""
    console = console or Console(stderr=True)
    everyone = collect(submissions)
    chosen = everyone
    if students is not None:
        unknown = sorted(set(students) - {p.name for p in everyone})
        if unknown:
            raise FileNotFoundError(f"no submission folder in {submissions} for "
                                    f"{', '.join(unknown)}")
        chosen = [p for p in everyone if p.name in set(students)]
    planned = plan_suite(assignment)  # a broken suite stops here, before anyone is graded
    with executor(course, assignment, backend, workers, console.print) as pool:
        return _grade_all(course=course, assignment=assignment, students=chosen,
                          everyone=everyone, out=out, regrade=regrade, console=console,
                          planned=planned, pool=pool)


def _grade_all(*, course: Course, assignment: Assignment, students: list[Path],
               everyone: list[Path], out: Path, regrade: bool, console: Console,
               planned: list[TestResult], pool: Executor) -> list[Result]:
    backend, image = pool.backend, pool.image
    done: dict[str, Result] = {}
    todo = []
    for folder in students:
        job = Job.make(course=course, assignment=assignment, submission=folder,
                       backend=backend, image=image)
        old = load_result(out / folder.name)
        if not regrade and old and not old.needs_rerun and old.fingerprint == job.fingerprint:
            done[folder.name] = old
        else:
            todo.append(job)
    if done:
        console.print(f"resuming: {len(done)} already graded, {len(todo)} to grade",
                      soft_wrap=True)
    running: dict[Future[Result], Job] = {}
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"grading {assignment.id}", total=len(todo))
            pending = list(todo)
            while pending or running:
                while pending and len(running) < max(1, pool.slots()):
                    job = pending.pop(0)
                    running[pool.submit(job, planned)] = job
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = running.pop(future)
                    result = future.result()
                    write_reports(result, out / result.student, assignment=assignment,
                                  course=course)
                    pool.written(job)
                    done[result.student] = result
                    progress.advance(task)
    except KeyboardInterrupt:
        console.print(f"[bold]interrupted[/]: kept {len(done)} of {len(students)} results in "
                      f"{out}; run the same command to resume", soft_wrap=True)
        raise
    finally:
        write_atomic(out / "grades.csv", report.class_csv(_all_results(out, everyone)))
    results = [done[s.name] for s in students if s.name in done]
    graded_now = {job.student for job in todo}
    retried = [f"{r.student} ({r.retried})" for r in results
               if r.retried and r.student in graded_now]
    if retried:
        console.print(f"[bold yellow]run twice[/] after a grader error (the grade is the second "
                      f"run's): {'; '.join(retried)}", soft_wrap=True)
    rerun = [r.student for r in results if r.needs_rerun]
    if rerun:
        console.print(f"[bold red]grader errors[/] (not grades; rerun to retry): "
                      f"{', '.join(rerun)}")
    return results


def default_workers(backend: Backend, limits: Limits) -> int:
    """Submissions graded at once. Suites mostly wait on sockets (a quiet server costs a
    timeout, not CPU), so a worker per core leaves the machine idle: measured with
    bench/class.py on 2 cores, 40 echo submissions took 159 s with 1 worker, 82 s with 2, 49 s
    with 4, 36 s with 8, and 35-36 s with 12 or 16 (identical grades): past 4 per core the
    machine is busy. Capped by the memory a worker can take (its limit plus the suite's
    process)."""
    cores, memory = os.cpu_count() or 1, psutil.virtual_memory().available
    if backend == "docker":
        try:  # the engine's machine, which may be a VM of its own
            from grader.sandbox.docker import client

            info = client().info()
            cores, memory = int(info.get("NCPU") or cores), int(info.get("MemTotal") or memory)
        except Exception:
            pass
    per_worker = limits.memory_bytes() + 128 * 1024 * 1024
    return max(1, min(_PER_CORE * cores, memory // per_worker, 32))


def _grade(job: Job, planned: list[TestResult],
           sandboxes: SandboxPool | None) -> tuple[Result, SandboxRef | None]:
    """A grader error gets one more try, in a fresh sandbox, before it is reported. Returns the
    result and the sandbox to remove."""
    sandbox = sandboxes.take() if sandboxes else None

    def again(_: Result) -> Job:
        nonlocal sandbox
        if sandboxes:
            sandboxes.release(sandbox)
            sandbox = sandboxes.take()
        return job.model_copy(update={"sandbox": sandbox})

    result = run_with_retry(job.model_copy(update={"sandbox": sandbox}), planned=planned,
                            again=again)
    return result, sandbox


def _sandbox_pool(course: Course, assignment: Assignment, backend: Backend, image: str | None,
                  workers: int) -> SandboxPool | None:
    """Docker: the next submissions' containers, made while the current suites run (each waits,
    its network rules in, for the code it will run)."""
    if backend != "docker" or not image:
        return None
    from grader.sandbox.docker import client, make_sandbox, owner_labels

    engine = client()
    return SandboxPool(functools.partial(
        make_sandbox, engine, assignment=assignment, limits=course.limits_for(assignment),
        image=image, labels=owner_labels(owner_id())), spares=workers)


def write_reports(result: Result, folder: Path, *, assignment: Assignment,
                  course: Course) -> None:
    """Every report, rendered from the result, then the store's own file last: its presence
    is what marks the submission as graded."""
    write_atomic(folder / "feedback.html",
                 report.feedback_html(result, title=assignment.title, course=course.name))
    write_atomic(folder / "junit.xml", report.junit_xml(result))
    write_atomic(folder / "results.json", dumps(report.gradescope_json(result)))
    save_result(folder, result)


def _all_results(out: Path, students: list[Path]) -> list[Result]:
    return [r for s in students if (r := load_result(out / s.name))]
