"""`grader check`: one submission against the public tests, on a laptop or in CI.

The backend is chosen so a student always gets a run: Docker when an engine answers and the
runtime image can be made (base image local, else pulled, else built with debootstrap as root),
otherwise the local process backend, said in one line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from rich.console import Console

from grader.batch.local import prepare, write_reports
from grader.core import report
from grader.core.config import Assignment, Course
from grader.core.job import Backend, BackendChoice
from grader.core.results import Result
from grader.run.grade import grade_submission
from grader.sandbox import InfraError, resolve_backend
from grader.sandbox.rights import isolation_here
from grader.student import ci

__all__ = ["PROCESS_UNCHECKED", "UnsupportedPlatform", "check_once", "exit_code", "pick_backend",
           "watch_changes"]

# What the process backend cannot enforce, in the student's words: the classes of hostile entry
# still graded in docker only (tests/hostile/*/expect.yml: `backends: [docker]`, each with its
# reason beside it): files outside the folder, the network, the disk and process limits.
PROCESS_UNCHECKED = ("not checked without Docker: that your server reads no file outside its "
                     "folder, connects to nothing but its clients, and stays within the disk and "
                     "process limits (the course's grading checks these: nothing for you to do)")


class UnsupportedPlatform(RuntimeError):
    """No backend can run here (the process backend on Windows without Docker)."""

WINDOWS = ("the process backend needs Linux or macOS: on Windows, run `grader check` inside WSL, "
           "or start Docker Desktop and use --backend docker")


def pick_backend(*, course: Course, assignment: Assignment, backend: BackendChoice,
                 log: Callable[[str], None],
                 platform: str = sys.platform) -> tuple[Backend, str | None]:
    """(backend, image) for this machine; `auto` falls back to the process backend."""
    if backend != "process" and resolve_backend(backend) == "docker":
        try:
            return prepare(course, assignment, "docker", log=log)
        except InfraError:
            if backend == "docker":
                raise
            log("Docker is here, but this assignment's image cannot be made on this machine: "
                "using a local process instead, which runs the same tests (nothing for you to "
                "do; `--backend docker` says why)")
    if platform.startswith("win"):
        raise UnsupportedPlatform(WINDOWS)
    return "process", None


def check_once(*, course: Course, assignment: Assignment, path: Path, backend: Backend,
               image: str | None, hidden: bool, out: Path | None, console: Console,
               env: Mapping[str, str], classroom50: bool = False) -> Result:
    """Grade once and report: the terminal, plus whatever the CI around us reads."""
    in_actions = env.get("GITHUB_ACTIONS") == "true"
    console.print(f"checking {path} for {assignment.id!r} ({backend} backend)...")
    result = grade_submission(course=course, assignment=assignment, submission=path.resolve(),
                              backend=backend, image=image, hidden=hidden)
    if in_actions:  # student text is on its way to the log: commands off meanwhile
        with ci.commands_stopped(lambda line: print(line, flush=True)):
            report.print_result(result, console, title=assignment.title)
            console.file.flush()
    else:
        report.print_result(result, console, title=assignment.title)
    if backend == "process":
        console.print(PROCESS_UNCHECKED, markup=False, highlight=False, soft_wrap=True)
        if unenforced := isolation_here():  # as root: what keeping the grader's rights lacked
            console.print(unenforced, markup=False, highlight=False, soft_wrap=True)
    if out:
        write_reports(result, out, assignment=assignment, course=course)
    if classroom50:  # its runner writes the summary page and the status from these files
        ci.write_classroom50(result, title=assignment.title, folder=path, env=env)
    elif env.get("GITHUB_STEP_SUMMARY") or env.get("GITHUB_OUTPUT"):
        ci.write_github(result, title=assignment.title, env=env)
    if in_actions:
        for line in ci.workflow_commands(result, title=assignment.title):
            print(line, flush=True)
    return result


def exit_code(result: Result, *, classroom50: bool = False) -> int:
    """0 only at full marks; 3 when the grader broke; Classroom 50 wants 0 for any grade."""
    if result.needs_rerun:
        return 3
    return 0 if result.full_marks or classroom50 else 1


def watch_changes(path: Path) -> Iterator[set[str]]:
    """Yield the changed files each time something in `path` changes (saves are debounced)."""
    from watchfiles import watch

    ignore = {".git", "__pycache__", ".pytest_cache", ".venv", "grader-report"}
    for changes in watch(path, watch_filter=lambda _, p: not ignore & set(Path(p).parts),
                         debounce=400, rust_timeout=0):
        yield {os.path.relpath(p, path) for _, p in changes}
