"""The `grader` command: parses arguments and calls the library, nothing more."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console

from grader.batch.cluster import cluster_pool, settings_for
from grader.batch.local import ExecutorFactory, grade_class, local_pool
from grader.core import report, text
from grader.core.config import ConfigError, Course, load_course
from grader.core.extras import MissingExtra
from grader.core.job import BackendChoice
from grader.export import KIT, TARGETS, export_assignment
from grader.sandbox import InfraError

BACKENDS = click.Choice(["auto", "docker", "process"])
# A class, hidden tests included, is graded in containers unless the process backend is named:
# never a silent fall-back to no sandbox when the engine misses a ping.
BATCH_BACKENDS = click.Choice(["docker", "process"])
NO_SANDBOX = ("grading with the process backend: each server runs as a local process of this "
              "machine, with no container around it")


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


class _Main(click.Group):
    """An instructor's command run with the student's install (no extra): one line that says
    what to install, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MissingExtra as exc:
            click.echo(f"error: {exc}")  # plain: rich would read [extra] as markup
            sys.exit(2)


@click.group(cls=_Main)
def main() -> None:
    """Black-box autograder for Internet-programming assignments."""


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("-a", "--assignment", help="assignment id (guessed from PATH when omitted)")
@click.option("--backend", type=BACKENDS, default="auto", show_default=True,
              help="docker when an engine answers and its image can be made, else a local process")
@click.option("--hidden", is_flag=True, help="also run the hidden tests (instructors)")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path),
              help="course folder with grading.yml (default: found upwards)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="also write results.json, junit.xml and feedback.html here")
@click.option("--watch", is_flag=True, help="run again each time a file in PATH changes")
@click.option("--classroom50", is_flag=True,
              help="also write result.json and release-body.md in PATH (Classroom 50's runner)")
def check(path: Path, assignment: str | None, backend: BackendChoice, hidden: bool,
          course: Path | None, out: Path | None, watch: bool, classroom50: bool) -> None:
    """Run the tests against the submission in PATH; exit 0 only at full marks."""
    from grader.student.checking import check_once, exit_code, pick_backend, watch_changes

    console = Console()
    with _errors(console):
        c = _course(course, path)
        a = c.assignment(assignment or _guess_assignment(c, path))
        backend, image = pick_backend(course=c, assignment=a, backend=backend,
                                      log=lambda line: console.print(line, soft_wrap=True))

        def once() -> int:
            result = check_once(course=c, assignment=a, path=path, backend=backend, image=image,
                                hidden=hidden, out=out, console=console, env=os.environ,
                                classroom50=classroom50)
            return exit_code(result, classroom50=classroom50)

        code = once()
        if not watch:
            sys.exit(code)
        console.print("watching for changes (Ctrl-C to stop)...")
        try:
            for changed in watch_changes(path):
                console.rule(f"changed: {', '.join(sorted(changed))[:100]}")
                code = once()
        except KeyboardInterrupt:
            sys.exit(code)  # how the last run went


@main.command()
@click.argument("assignment")
@click.option("--submissions", type=click.Path(file_okay=False, path_type=Path),
              help="folder with one subfolder per student (default: what `collect` fetched)")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="where the reports go")
@click.option("--workers", type=int, default=None,
              help="submissions graded at once (default: from the cores and memory of the "
                   "engine, see README: suites mostly wait, so more than the cores)")
@click.option("--backend", type=BATCH_BACKENDS, default="docker", show_default=True)
@click.option("--regrade", is_flag=True, help="grade again even what is already graded")
@click.option("--only", multiple=True, help="grade (again) only this student; repeatable")
@click.option("--cluster", metavar="tcp://HOST:PORT",
              help="grade on this Dask scheduler's workers (default: grading.yml's `cluster:`; "
                   "`local`: this machine)")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def grade(assignment: str, submissions: Path | None, out: Path, workers: int | None,
          backend: BackendChoice,
          regrade: bool, only: tuple[str, ...], cluster: str | None, course: Path | None) -> None:
    """Grade a class (hidden tests included); resumable: rerun to continue."""
    _grade(assignment=assignment, submissions=submissions, out=out, workers=workers,
           backend=backend, regrade=regrade, only=list(only), course=course, cluster=cluster)


@main.command()
@click.argument("assignment")
@click.argument("students", nargs=-1, required=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--backend", type=BATCH_BACKENDS, default="docker", show_default=True)
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def regrade(assignment: str, students: tuple[str, ...], out: Path, backend: BackendChoice,
            course: Path | None) -> None:
    """Grade these students of a collected class again."""
    _grade(assignment=assignment, submissions=None, out=out, workers=None, backend=backend,
           regrade=True, only=list(students), course=course, named_by="regrade")


def _grade(*, assignment: str, submissions: Path | None, out: Path, workers: int | None,
           backend: BackendChoice, regrade: bool, only: list[str], course: Path | None,
           cluster: str | None = None, named_by: str = "--only") -> None:
    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        a = c.assignment(assignment)
        if only and submissions is None:
            from grader.instructor.roster import load_roster, unknown_students

            if roster := load_roster(course=c):
                unknown_students(only, known=[r.id for r in roster], where=named_by)
        if backend == "process":
            console.print(NO_SANDBOX, soft_wrap=True)
        executor: ExecutorFactory = local_pool
        settings = settings_for(c, cluster)
        if settings:
            executor = cluster_pool(settings)
            console.print(f"grading on the Dask cluster at {settings.scheduler}", soft_wrap=True)
        try:
            if submissions is None:
                from grader.instructor.classgrade import grade_collected

                results = grade_collected(course=c, assignment=a, out=out, workers=workers,
                                          backend=backend, only=only, regrade=regrade,
                                          console=console, executor=executor)
            else:
                results = grade_class(course=c, assignment=a, submissions=submissions, out=out,
                                      workers=workers, backend=backend, regrade=regrade,
                                      console=console, executor=executor)
        except KeyboardInterrupt:
            sys.exit(130)
        report.print_summary(results, console, title=f"{a.title}: {len(results)} submissions")
        console.print(f"reports: {out}/<student>/feedback.html, gradebook: {out}/grades.csv")
        if any(r.needs_rerun for r in results):
            sys.exit(3)


@main.command()
@click.argument("assignment")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="the assignment's folder: repos/, submissions/ and collect.json go here")
@click.option("--url", help="repository URL template (default: grading.yml's collect.url)")
@click.option("--student", "students", multiple=True, help="only this student id; repeatable")
@click.option("--workers", default=4, show_default=True, help="repositories fetched at once")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def collect(assignment: str, out: Path, url: str | None, students: tuple[str, ...],
            workers: int, course: Path | None) -> None:
    """Fetch every student's repository and choose the commit to grade (deadline, tags)."""
    from grader.instructor.collect import collect_class
    from grader.instructor.github import token_from_env
    from grader.instructor.roster import load_roster, unknown_students

    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        a = c.assignment(assignment)
        everyone = load_roster(course=c)
        if everyone:
            unknown_students(students, known=[r.id for r in everyone], where="--student")
        roster = [r for r in everyone if not students or r.id in students]
        if not roster:
            raise ConfigError("no students: add a roster to grading.yml (or pass --student)")
        got = collect_class(course=c, assignment=a, roster=roster, out=out, url=url,
                            token=token_from_env(), workers=workers,
                            log=lambda line: console.print(text.printable(line),
                                                           soft_wrap=True, markup=False))
        ok = sum(x.status == "ok" for x in got)
        console.print(f"collected {ok} of {len(got)} ({a.id}): {out}/collect.json")


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="the folder with one subfolder per assignment")
@click.option("--allow-empty", is_flag=True,
              help="publish an assignment whose collect reached no repository (all zeros)")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def publish(assignments: tuple[str, ...], out: Path, allow_empty: bool,
            course: Path | None) -> None:
    """Gradebook, LMS and Classroom 50 CSVs, feedback with the late penalty, class reports."""
    from grader.instructor.publish import publish as run
    from grader.instructor.roster import load_roster

    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        chosen = list(assignments or c.assignments)
        for path in run(course=c, roster=load_roster(course=c), out=out,
                        assignments=chosen, allow_empty=allow_empty):
            console.print(f"wrote {path}", soft_wrap=True)
        no_id = [a for a in chosen if not c.assignments[a].lms.canvas_id]
        if no_id:  # Canvas makes a new assignment of a column without its id
            console.print(f"[yellow]canvas.csv[/]: no `lms.canvas_id` in grading.yml for "
                          f"{', '.join(no_id)}: importing it creates new Canvas assignments "
                          "for those columns", soft_wrap=True)


@main.command()
@click.argument("assignment")
@click.argument("student")
@click.argument("score", type=float, required=False)
@click.option("--reason", default="", help="why (the student sees it in the feedback)")
@click.option("--remove", is_flag=True, help="remove the student's override")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="the assignment's folder (what `collect` and `grade` wrote)")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def override(assignment: str, student: str, score: float | None, reason: str, remove: bool,
             out: Path, course: Path | None) -> None:
    """Set one student's score by hand, with a reason: kept across regrades, shown in the class
    report, the gradebooks and the feedback (run `grader publish` after)."""
    from grader.core.results import load_result
    from grader.instructor.overrides import remove_override, set_override
    from grader.instructor.roster import load_roster, unknown_students

    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        c.assignment(assignment)
        if roster := load_roster(course=c):
            unknown_students([student], known=[r.id for r in roster], where="override")
        if remove:
            done = remove_override(out=out, student=student)
            console.print(f"{student}: override removed" if done else
                          f"{student}: had no override", soft_wrap=True)
            return
        if score is None:
            raise ConfigError("give the SCORE (or --remove)")
        result = load_result(out / student)
        if result and score > result.max_score:
            raise ConfigError(f"score {score:g} is above {student}'s maximum "
                              f"({result.max_score:g})")
        o = set_override(out=out, student=student, score=score, reason=reason)
        console.print(f"{student}: {o.describe()} ({out}/overrides.json; run `grader publish`)",
                      soft_wrap=True, markup=False)


@main.command()
@click.argument("assignment")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="the assignment's folder (what `collect` fetched)")
@click.option("--threshold", default=0.5, show_default=True,
              help="share of a file in common from which a pair is listed")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def similarity(assignment: str, out: Path, threshold: float, course: Path | None) -> None:
    """Code similarity across the collected class (starter excluded); never changes a grade."""
    from grader.instructor.similarity import similarity_report

    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        path = similarity_report(course=c, assignment=c.assignment(assignment), out=out,
                                 threshold=threshold)
        console.print(f"similarity report: {path} (run `grader publish` to link it)")


@main.command("lint")
@click.argument("assignments", nargs=-1)
@click.option("--full", is_flag=True, help="also grade the reference (full marks expected) and "
                                            "the starter (less than full marks expected)")
@click.option("--backend", type=BACKENDS, default="process", show_default=True,
              help="for --full")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def lint_command(assignments: tuple[str, ...], full: bool, backend: BackendChoice,
                 course: Path | None) -> None:
    """Check that suites can grade anyone and that each export would run (for course authors;
    every batch runs the suite check first)."""
    from grader.batch.local import prepare
    from grader.export.kit import check_kit
    from grader.quality.lint import lint
    from grader.run.suite import SuiteError

    console = Console()
    failed = False
    with _errors(console):
        c = _course(course, Path.cwd())
        for name in assignments or tuple(c.assignments):
            a = c.assignment(name)
            try:
                used, _ = prepare(c, a, backend) if full else ("process", None)
                tests = lint(course=c, assignment=a, full=full, backend=used)
                if problem := check_kit(course=c, assignment=a):
                    raise SuiteError(problem)
            except SuiteError as exc:
                failed = True
                console.print(f"[bold red]{name}: broken[/]")
                console.print(text.printable(str(exc)), soft_wrap=True, markup=False)
                continue
            points = sum(t.max_score for t in tests)
            console.print(f"{name}: ok, {len(tests)} tests, {points:g} points"
                          + (" (reference full marks, starter not)" if full else ""))
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def images(assignments: tuple[str, ...], course: Path | None) -> None:
    """Build the base image and the runtime images ahead of time."""
    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        from grader.sandbox.images import runtime_image

        for name in assignments or tuple(c.assignments):
            console.print(f"{name}: {runtime_image(c, c.assignment(name), log=console.print)}")


@main.command()
@click.argument("assignment")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="a new folder for the export")
@click.option("--for", "target", type=click.Choice(TARGETS), default="github", show_default=True,
              help="github: template repository with a grading workflow; classroom50: template "
                   "+ autograder bundle; gradescope: autograder zip (hidden tests included)")
@click.option("--install", help="github: what the workflow pip-installs to get `grader` "
                                "(default: the wheel the export puts in .grader/)")
@click.option("--classroom", help="classroom50: the classroom's short name, the bundle's folder "
                                  "(default: collect.classroom in grading.yml)")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def export(assignment: str, out: Path, target: str, install: str | None, classroom: str | None,
           course: Path | None) -> None:
    """Export an assignment for students (template repository) or a grading service."""
    from grader.export.kit import KITS
    from grader.instructor import tamper

    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        where = export_assignment(course=c, assignment=c.assignment(assignment), out=out,
                                  target=target, install=install, classroom=classroom)
        version = tamper.record(course=c, assignment=c.assignment(assignment), out=out,
                                target=target)
        if version:
            console.print(f"kit version {version}: recorded in {c.root / KITS} (commit it: "
                          "collect accepts every kit the course exported)", soft_wrap=True)
        named = classroom or c.collect.classroom
        console.print(f"{where}: {_NEXT[target].format(id=assignment, classroom=named)}",
                      soft_wrap=True)


@main.command()
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def lock(course: Path | None) -> None:
    """Pin the student's install (student.lock, next to grading.yml) for every export."""
    from grader.export.kit import PYTHONS
    from grader.export.lock import write_lock

    console = Console()
    with _errors(console):
        path = write_lock(_course(course, Path.cwd()), python=PYTHONS[0])
        console.print(f"{path}: commit it; every export installs exactly this", soft_wrap=True)


_NEXT = {
    "github": "push it as the template repository of {id!r}",
    "classroom50": "push template/ as the template repository of {id!r}; copy "
                   "config/{classroom}/autograders/{id} into the classroom50 repository",
    "gradescope": "upload it as the autograder of {id!r}",
}


@main.command()
@click.argument("assignment")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="where mutants, grades and mutants.html go (default: out/mutants/ASSIGNMENT)")
@click.option("--max", "limit", default=40, show_default=True,
              help="grade at most this many mutants, a deterministic sample (0: all)")
@click.option("--workers", default=2, show_default=True, help="mutants graded at once")
@click.option("--backend", type=BATCH_BACKENDS, default="docker", show_default=True)
@click.option("--wall", default=60.0, show_default=True,
              help="seconds one mutant may take (one that hangs is stopped there)")
@click.option("--fail-under", default=0.0, show_default=True,
              help="exit 1 when the score (in %) is below this")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path))
def mutants(assignment: str, out: Path | None, limit: int, workers: int,
            backend: BackendChoice,
            wall: float, fail_under: float, course: Path | None) -> None:
    """Grade mutants of the reference: the suite's mutation score and every survivor's diff."""
    from grader.quality.mutants import print_run, run_mutants

    console = Console()
    with _errors(console):
        c = _course(course, Path.cwd())
        a = c.assignment(assignment)
        out = out or Path("out") / "mutants" / a.id
        if backend == "process":
            console.print(NO_SANDBOX, soft_wrap=True)
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
    from grader.sandbox import runtime
    from grader.sandbox.docker import client, reap

    click.echo(f"removed {reap(everything=True) + runtime.remove_all(client())} objects")


@contextmanager
def _errors(console: Console) -> Iterator[None]:
    """Grader-side problems end the command with one clear line, not a traceback."""
    try:
        yield
    except (ConfigError, FileNotFoundError, FileExistsError, RuntimeError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {text.neutralise(text.printable(str(exc)))}",
                      soft_wrap=True)
        sys.exit(2)
    except InfraError as exc:
        console.print("[bold red]grader error (not your fault):[/] "
                      f"{text.neutralise(text.printable(str(exc)))}", soft_wrap=True)
        sys.exit(3)
