"""The `grader` command: parses arguments and calls the library, nothing more."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console

from . import report
from .batch import grade_class, prepare, write_reports
from .config import ConfigError, Course, load_course
from .export import KIT, export_starter
from .grade import grade_submission
from .sandbox import InfraError

BACKENDS = click.Choice(["auto", "docker", "process"])


def _course(path: Path | None, start: Path) -> Course:
    """grading.yml from --course, else the nearest one above START or the working directory."""
    if path:
        return load_course(path)
    for folder in (start.resolve(), *start.resolve().parents, Path.cwd(), *Path.cwd().parents):
        for root in (folder, folder / KIT):  # a course repo, or a student's exported repo
            if (root / "grading.yml").is_file():
                return load_course(root)
    raise ConfigError("no grading.yml found here or above: pass --course DIR")


def _guess_assignment(course: Course, path: Path) -> str:
    """The assignment a folder is for: its name or a parent's (starter/echo, examples/echo/x)."""
    for part in (path.resolve().name, *(p.name for p in path.resolve().parents)):
        if part in course.assignments:
            return part
    if len(course.assignments) == 1:
        return next(iter(course.assignments))
    raise ConfigError(f"which assignment is {path} for? pass -a with one of: "
                      f"{', '.join(course.assignments)}")


@click.group()
def main() -> None:
    """Black-box autograder for Internet-programming assignments."""


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("-a", "--assignment", help="assignment id (guessed from PATH when omitted)")
@click.option("--backend", type=BACKENDS, default="auto", show_default=True,
              help="docker when an engine answers, else a local process")
@click.option("--hidden", is_flag=True, help="also run the hidden tests (instructors)")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path),
              help="course folder with grading.yml (default: found upwards)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="also write results.json, junit.xml and feedback.html here")
def check(path: Path, assignment: str | None, backend: str, hidden: bool,
          course: Path | None, out: Path | None) -> None:
    """Run the tests against the submission in PATH; exit 0 only at full marks."""
    console = Console()
    with _errors(console):
        c = _course(course, path)
        a = c.assignment(assignment or _guess_assignment(c, path))
        backend, image = prepare(c, a, backend, log=console.print)
        console.print(f"checking {path} for {a.id!r} ({backend} backend)...")
        result = grade_submission(course=c, assignment=a, submission=path, backend=backend,
                                  image=image, hidden=hidden)
        report.print_result(result, console, title=a.title)
        if out:
            write_reports(result, out, assignment=a, course=c)
        if os.environ.get("GITHUB_STEP_SUMMARY"):  # in GitHub Actions: the score on the run page
            with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
                f.write(report.markdown(result, title=a.title))
        if result.needs_rerun:
            sys.exit(3)
        sys.exit(0 if result.full_marks else 1)


@main.command()
@click.argument("assignment")
@click.option("--submissions", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder with one subfolder per student")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="where the reports go")
@click.option("--workers", default=2, show_default=True, help="submissions graded at once")
@click.option("--backend", type=BACKENDS, default="auto", show_default=True)
@click.option("--regrade", is_flag=True, help="grade again even what is already graded")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def grade(assignment: str, submissions: Path, out: Path, workers: int, backend: str,
          regrade: bool, course: Path | None) -> None:
    """Grade a class (hidden tests included); resumable: rerun to continue."""
    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        a = c.assignment(assignment)
        try:
            results = grade_class(course=c, assignment=a, submissions=submissions, out=out,
                                  workers=workers, backend=backend, regrade=regrade,
                                  console=console)
        except KeyboardInterrupt:
            sys.exit(130)
        report.print_summary(results, console, title=f"{a.title}: {len(results)} submissions")
        console.print(f"reports: {out}/<student>/feedback.html, gradebook: {out}/grades.csv")
        if any(r.needs_rerun for r in results):
            sys.exit(3)


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def images(assignments: tuple[str, ...], course: Path | None) -> None:
    """Build the base image and the runtime images ahead of time."""
    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        from .images import runtime_image

        for name in assignments or tuple(c.assignments):
            console.print(f"{name}: {runtime_image(c, c.assignment(name), log=console.print)}")


@main.command()
@click.argument("assignment")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="a new folder for the student's template repository")
@click.option("--install", default="course-grader", show_default=True,
              help="what the workflow pip-installs to get `grader` (e.g. a git URL)")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def export(assignment: str, out: Path, install: str, course: Path | None) -> None:
    """Make a student's template repository: starter, handout, public tests, workflow."""
    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        export_starter(course=c, assignment=c.assignment(assignment), out=out, install=install)
        console.print(f"{out}: push it as the GitHub Classroom template for {assignment!r}")


@main.command()
@click.argument("assignment")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="where mutants, grades and mutants.html go (default: out/mutants/ASSIGNMENT)")
@click.option("--max", "limit", default=40, show_default=True,
              help="grade at most this many mutants, a deterministic sample (0: all)")
@click.option("--workers", default=2, show_default=True, help="mutants graded at once")
@click.option("--backend", type=BACKENDS, default="auto", show_default=True)
@click.option("--wall", default=60.0, show_default=True,
              help="seconds one mutant may take (one that hangs is stopped there)")
@click.option("--fail-under", default=0.0, show_default=True,
              help="exit 1 when the score (in %) is below this")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def mutants(assignment: str, out: Path | None, limit: int, workers: int, backend: str,
            wall: float, fail_under: float, course: Path | None) -> None:
    """Grade mutants of the reference: the suite's mutation score and every survivor's diff."""
    from .mutants import print_run, run_mutants

    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        a = c.assignment(assignment)
        out = out or Path("out") / "mutants" / a.id
        try:
            run = run_mutants(course=c, assignment=a, out=out, limit=limit or None,
                              workers=workers, backend=backend, wall=wall, console=console)
        except KeyboardInterrupt:
            sys.exit(130)
        print_run(run, console)
        console.print(f"report: {out}/mutants.html")
        if run.count("error"):
            sys.exit(3)
        if run.score is not None and run.score * 100 < fail_under:
            sys.exit(1)


@main.command()
def clean() -> None:
    """Remove every container, network and volume the grader made (all runs)."""
    from .sandbox.docker import reap

    click.echo(f"removed {reap(everything=True)} objects")


@contextmanager
def _errors(console: Console) -> Iterator[None]:
    """Grader-side problems end the command with one clear line, not a traceback."""
    try:
        yield
    except (ConfigError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
        console.print(f"[bold red]error:[/] {report.printable(str(exc))}", soft_wrap=True)
        sys.exit(2)
    except InfraError as exc:
        console.print(f"[bold red]grader error (not your fault):[/] {report.printable(str(exc))}",
                      soft_wrap=True)
        sys.exit(3)
