"""`grader mutants`: how much of what a suite claims does it catch?

Mutants of the reference (grader.quality.mutations) are written as submission folders and graded
through the normal batch (parallel, resumable, hidden tests included), next to the unchanged
reference as a control. A mutant is killed when it loses any point; it survives at full marks.
The mutation score is killed / (total - equivalent), where equivalent mutants (no change on the
wire) are listed with a reason in assignments/<id>/equivalent_mutants.yml.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import jinja2
from rich.console import Console
from rich.text import Text

from grader.batch.local import grade_class
from grader.core.config import EQUIVALENTS, Assignment, ConfigError, Course, load_equivalents
from grader.core.job import BackendChoice
from grader.core.results import Result, write_atomic
from grader.core.text import printable
from grader.quality.mutations import Mutant, generate, sample

__all__ = ["MutationRun", "MutantVerdict", "print_run", "run_mutants", "score"]

CONTROL = "reference"  # the unchanged reference, graded with the mutants: it must score 100%
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)
Verdict = Literal["killed", "survived", "equivalent", "error"]


@dataclass(frozen=True)
class MutantVerdict:
    mutant: Mutant
    verdict: Verdict
    detail: str = ""  # killed: the first failure; equivalent: the reason; error: the reason


@dataclass
class MutationRun:
    assignment: str
    generated: int  # mutants before sampling
    outcomes: list[MutantVerdict] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # marked equivalent, yet killed

    def count(self, verdict: Verdict) -> int:
        return sum(o.verdict == verdict for o in self.outcomes)

    @property
    def score(self) -> float | None:
        return score(killed=self.count("killed"), survived=self.count("survived"))

    def line(self) -> str:
        pct = "n/a" if self.score is None else f"{self.score:.1%}"
        return (f"mutation score: {pct} ({self.count('killed')} of "
                f"{self.count('killed') + self.count('survived')} killed; "
                f"{self.count('equivalent')} equivalent, {self.count('error')} grader errors; "
                f"{len(self.outcomes)} mutants sampled of {self.generated})")


def score(*, killed: int, survived: int) -> float | None:
    """killed / (total - equivalent), grader errors left out too (they are not verdicts)."""
    return killed / (killed + survived) if killed + survived else None


def classify(mutant: Mutant, result: Result | None, equivalents: dict[str, str]) -> MutantVerdict:
    if result is None or result.needs_rerun:
        return MutantVerdict(mutant, "error", result.reason if result else "not graded")
    if result.full_marks:
        if mutant.id in equivalents:
            return MutantVerdict(mutant, "equivalent", equivalents[mutant.id])
        return MutantVerdict(mutant, "survived")
    failed = next((t for t in result.tests if t.status != "passed"), None)
    detail = f"{failed.title}: {failed.feedback}" if failed else result.reason
    return MutantVerdict(mutant, "killed", f"{result.status}: {detail}"[:300])


def run_mutants(*, course: Course, assignment: Assignment, out: Path, limit: int | None = 40,
                workers: int = 2, backend: BackendChoice = "docker", wall: float | None = 60,
                console: Console | None = None) -> MutationRun:
    """Generate, grade and score the mutants of ASSIGNMENT's reference; write the report to
    OUT/mutants.html and OUT/mutants.json. Rerun to resume."""
    console = console or Console(stderr=True)
    reference = course.root / "reference" / assignment.id
    if not reference.is_dir():
        raise ConfigError(f"{reference}: no reference solution to mutate")
    equivalents = load_equivalents(assignment)
    everything = generate(reference)
    mutants = sample(everything, limit)
    submissions = out / "submissions"
    _write_submissions(reference, mutants, submissions)
    if wall:  # a mutant that hangs costs this much, not the course's whole budget
        limits = course.limits_for(assignment).model_copy(update={"wall": wall})
        course = course.model_copy(update={"limits": limits})
        assignment = assignment.model_copy(update={"limits": limits})
    console.print(f"{assignment.id}: grading {len(mutants)} mutants (of {len(everything)}) "
                  f"and the reference", soft_wrap=True)
    results = {r.student: r for r in grade_class(
        course=course, assignment=assignment, submissions=submissions, out=out / "graded",
        workers=workers, backend=backend, console=console)}
    control = results.get(CONTROL)
    if control is None or not control.full_marks:
        why = control.reason if control else "not graded"
        raise RuntimeError(f"the reference of {assignment.id!r} does not score 100% here, so "
                           f"no verdict on its mutants can be trusted: {why}")
    run = MutationRun(assignment=assignment.id, generated=len(everything),
                      outcomes=[classify(m, results.get(m.id), equivalents) for m in mutants])
    run.stale = [o.mutant.id for o in run.outcomes
                 if o.verdict == "killed" and o.mutant.id in equivalents]
    write_atomic(out / "mutants.html", html(run, title=assignment.title))
    write_atomic(out / "mutants.json", json.dumps(_summary(run), indent=2) + "\n")
    return run


def _write_submissions(reference: Path, mutants: list[Mutant], folder: Path) -> None:
    """One folder per mutant (a copy of the reference with one file changed); folders of mutants
    no longer sampled are removed so the batch does not grade them."""
    wanted = {m.id: m for m in mutants}
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.name not in wanted and old.name != CONTROL:
            shutil.rmtree(old)
    ignore = shutil.ignore_patterns("__pycache__")
    for name, mutant in [(CONTROL, None), *wanted.items()]:
        dest = folder / name
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(reference, dest, ignore=ignore)
        if mutant:
            (dest / mutant.file).write_text(mutant.source, encoding="utf-8")


def _summary(run: MutationRun) -> dict[str, object]:
    return {"assignment": run.assignment, "score": run.score, "generated": run.generated,
            "stale_equivalents": run.stale,
            "mutants": [{"id": o.mutant.id, "operator": o.mutant.operator, "file": o.mutant.file,
                         "line": o.mutant.line, "verdict": o.verdict, "detail": o.detail}
                        for o in run.outcomes]}


def html(run: MutationRun, *, title: str) -> str:
    return _ENV.get_template("mutants.html.j2").render(run=run, title=title,
                                                       equivalents_file=EQUIVALENTS)


def print_run(run: MutationRun, console: Console) -> None:
    """Each survivor with its diff, then the score line (last, where a script looks for it)."""
    for o in run.outcomes:
        if o.verdict == "survived":
            console.print(Text(f"survived: {o.mutant.id}", style="bold yellow"))
            console.print(Text(printable(o.mutant.diff.rstrip("\n")), style="dim"))
    for o in run.outcomes:
        if o.verdict == "error":
            console.print(Text(f"grader error (rerun): {o.mutant.id}: {o.detail}", style="red"))
    for mutant_id in run.stale:
        console.print(Text(f"marked equivalent but killed (remove it from {EQUIVALENTS}): "
                           f"{mutant_id}", style="red"))
    console.print(Text(f"{run.assignment}: {run.line()}", style="bold"), soft_wrap=True)
