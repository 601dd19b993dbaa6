"""`grader publish`: grades with the late policy, out to where people read them.

OUT/gradebook.csv (a column per assignment, a weighted total), OUT/canvas.csv (Canvas gradebook
import columns), OUT/<a>/scores.csv (Classroom 50's scores columns), per student
OUT/<a>/<id>/feedback.md and feedback.html with the late penalty, and OUT/<a>/report.html.
The raw score is always shown beside the final one: the penalty is never hidden in it.
Everything is read before anything is written: a file that cannot be read, or an assignment
whose collect reached no repository (every grade a zero for the same reason), stops it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from grader.core import report
from grader.core.config import Course, RosterEntry
from grader.core.results import write_atomic
from grader.instructor import classreport
from grader.instructor.collect import CollectFailed
from grader.instructor.collected import REACHED, load_manifest
from grader.instructor.grades import Grade, final_grades

__all__ = ["CANVAS_COLUMNS", "canvas_column", "gradebook_csv", "publish"]


def gradebook_csv(*, course: Course, roster: list[RosterEntry],
                  grades: dict[str, list[Grade]]) -> str:
    """A row per student, a column per assignment (final points) and the weighted total:
    sum(weight * final/max) / sum(weight), left empty while one of them is not graded."""
    people = {r.id: r for r in roster}
    students = sorted({*people, *(g.student for gs in grades.values() for g in gs)})
    by = {a: {g.student: g for g in gs} for a, gs in grades.items()}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "username", "name", "section", *grades, "total_percent"])
    for s in students:
        p = people.get(s) or RosterEntry(id=s)
        cells, num, den, pending = [], 0.0, 0.0, False
        for a in grades:
            g = by[a].get(s)
            weight = course.assignments[a].weight
            top = max((x.max_score for x in by[a].values()), default=0.0)
            cells.append(f"{g.final:g}" if g and g.final is not None else "")
            # not graded (a fetch or grader error, or not collected yet) is not a zero:
            # the total waits for it; nothing submitted was graded "missing", a real 0
            pending |= g is None or g.final is None
            if top:
                den += weight
                num += weight * ((g.final or 0.0) / top if g else 0.0)
        total = f"{100 * num / den:.1f}" if den and not pending else ""
        w.writerow([_safe(x) for x in (s, p.login, p.name, p.section)] + cells + [total])
    return buf.getvalue()


def canvas_csv(*, course: Course, roster: list[RosterEntry],
               grades: dict[str, list[Grade]]) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then one
    column per assignment, `Title (canvas id)` (an assignment column without its id makes
    Canvas create a new assignment), and the Points Possible row Canvas exports. ID and the SIS
    ids come from the roster (Canvas matches its students by them), never from GitHub."""
    people = {r.id: r for r in roster}
    by = {a: {g.student: g for g in gs} for a, gs in grades.items()}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CANVAS_COLUMNS, *(canvas_column(course=course, assignment=a) for a in grades)])
    w.writerow(["Points Possible", "", "", "", "", *(
        f"{max((g.max_score for g in by[a].values()), default=0):g}" for a in grades)])
    for s in sorted({*people, *(g.student for gs in grades.values() for g in gs)}):
        p = people.get(s) or RosterEntry(id=s)
        cells = [f"{g.final:g}" if (g := by[a].get(s)) and g.final is not None else ""
                 for a in grades]
        w.writerow([_safe(x) for x in (p.name or s, p.canvas_id, p.sis_user_id,
                                       p.sis_login_id, p.section)] + cells)
    return buf.getvalue()


CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def canvas_column(*, course: Course, assignment: str) -> str:
    """`Title (id)` with grading.yml's `assignments.<id>.lms.canvas_id`; the bare title (a new
    assignment in Canvas) without it."""
    title = course.assignment(assignment).title
    canvas_id = course.assignments[assignment].lms.canvas_id
    return f"{title} ({canvas_id})" if canvas_id else title


def scores_csv(*, roster: list[RosterEntry], grades: list[Grade]) -> str:
    """Classroom 50's `gh teacher download` scores.csv columns: `score` is the grader's (late
    policy applied), `override` the instructor's when there is one."""
    people = {r.id: r for r in roster}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["username", "first_name", "last_name", "email", "section", "score", "max_score",
                "datetime", "submission_tag", "submitted_by", "review_url", "late", "override"])
    for g in grades:
        p = people.get(g.student) or RosterEntry(id=g.student)
        first, _, last = p.name.partition(" ")
        c = g.collected
        ok = g.final is not None and c is not None and c.status == "ok"
        tag = c.source[4:] if c and c.source.startswith("tag ") else ""
        w.writerow([_safe(x) for x in (
            p.login, first, last, p.email, p.section,
            f"{g.computed:g}" if g.computed is not None else "",
            f"{g.max_score:g}" if g.result else "", c.submitted_at if ok and c else "", tag,
            p.login if ok else "", "", ("true" if g.lateness.late else "false") if ok else "",
            f"{g.override.score:g}" if g.override else "")])
    return buf.getvalue()


def feedback_md(*, grade: Grade, title: str) -> str:
    assert grade.result is not None
    head, *table = report.markdown(grade.result, title=title).rstrip().split("\n")
    if grade.override:
        head = (f"## {title}: {grade.final:g}/{grade.max_score:g} (set by the instructor; "
                f"the tests scored {grade.result.score:g})")
    elif grade.final is not None and grade.final != grade.result.score:
        head = (f"## {title}: {grade.final:g}/{grade.max_score:g} "
                f"({grade.result.score:g} before the late penalty)")
    notes = [f"**Late policy**: {grade.lateness.describe()}."]
    if grade.override:
        notes.append(f"**Instructor's override**: {grade.override.describe()}.")
    return "\n".join([head, "", *notes, *table]) + "\n"


def _notes(grade: Grade) -> str:
    """The line above a feedback page's tests: the late policy's verdict, the override."""
    notes = [f"Late policy: {grade.lateness.describe()}."] if grade.lateness.late else []
    if grade.override:
        notes.append(f"The instructor's override: {grade.override.describe()}.")
    return " ".join(notes)


def publish(*, course: Course, roster: list[RosterEntry], out: Path,
            assignments: list[str], allow_empty: bool = False) -> list[Path]:
    """Write everything; returns the main files written. `allow_empty`: publish an assignment
    whose collect reached nobody (all zeros) all the same."""
    grades = {}
    for a in assignments:
        if not (out / a / "collect.json").is_file():
            continue
        collected = load_manifest(out / a)
        if collected and not allow_empty and not any(c.status in REACHED
                                                     for c in collected.values()):
            reasons = sorted({c.reason or c.status for c in collected.values()})
            raise CollectFailed(
                f"{out / a / 'collect.json'}: collect reached none of the {len(collected)} "
                f"repositories ({reasons[0]}{' ...' if len(reasons) > 1 else ''}): every grade "
                f"would be a zero; fix the URL and run `grader collect {a} --out {out / a}` "
                "and `grader grade` again, or pass --allow-empty to publish it as it is")
        grades[a] = final_grades(course=course, assignment=a, out=out / a, roster=roster)
    written = [out / "gradebook.csv", out / "canvas.csv"]
    write_atomic(written[0], gradebook_csv(course=course, roster=roster, grades=grades))
    write_atomic(written[1], canvas_csv(course=course, roster=roster, grades=grades))
    for a, gs in grades.items():
        assignment = course.assignment(a)
        write_atomic(out / a / "scores.csv", scores_csv(roster=roster, grades=gs))
        for g in gs:
            if g.result is None:
                continue
            folder = out / a / g.student
            write_atomic(folder / "feedback.md", feedback_md(grade=g, title=assignment.title))
            write_atomic(folder / "feedback.html", report.feedback_html(
                g.result, title=assignment.title, course=course.name, final=g.final,
                late=_notes(g)))
        written.append(out / a / "report.html")
        write_atomic(written[-1], classreport.render(
            course=course, assignment=assignment, out=out / a, grades=gs))
    return written


def _safe(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
