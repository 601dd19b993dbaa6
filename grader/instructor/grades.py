"""Final grades: each student's result with the late policy applied, read from what collect and
grade wrote in OUT/<assignment>/, and the instructor's overrides (overrides.json), which replace
it. Publish writes them out; the class report shows them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from grader.core.config import Course, RosterEntry
from grader.core.results import STORE, Result, load_result
from grader.instructor import late
from grader.instructor.collected import Collected, DataError, load_manifest
from grader.instructor.overrides import Override, load_overrides

__all__ = ["Grade", "final_grades"]


@dataclass(frozen=True)
class Grade:
    student: str
    result: Result | None
    collected: Collected | None
    lateness: late.Lateness
    final: float | None  # None: not graded (or a grader error, which is never a zero)
    override: Override | None = None  # the instructor's: then `final` is its score
    computed: float | None = None  # what the grader computed (late policy applied)

    @property
    def max_score(self) -> float:
        return self.result.max_score if self.result else 0.0


def final_grades(*, course: Course, assignment: str, out: Path,
                 roster: list[RosterEntry]) -> list[Grade]:
    collected, overrides = load_manifest(out), load_overrides(out)
    policy = course.late_for(assignment)
    grades = []
    for student in sorted({*(r.id for r in roster), *collected, *overrides}):
        result, c = _result(out, assignment, student), collected.get(student)
        lateness = late.Lateness()
        if c and c.status == "ok" and c.deadline and c.submitted_at:
            lateness = late.assess(submitted=_parse(c.submitted_at),
                                   deadline=_parse(c.deadline), policy=policy)
        final = None
        if result and not result.needs_rerun:
            final = late.apply(score=result.score, max_score=result.max_score, lateness=lateness)
        o = overrides.get(student)
        grades.append(Grade(student, result, c, lateness, o.score if o else final, override=o,
                            computed=final))
    return grades


def _result(out: Path, assignment: str, student: str) -> Result | None:
    """The student's grade.json; none yet is "not graded", one that cannot be read an error."""
    result = load_result(out / student)
    if result is None and (out / student / STORE).exists():
        raise DataError(f"{out / student / STORE} cannot be read (cut short, or written by "
                        f"another version of the grader): run `grader regrade {assignment} "
                        f"{student} --out {out}`")
    return result


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
