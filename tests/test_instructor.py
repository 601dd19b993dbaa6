"""The instructor's night through the real CLI: collect from git remotes, grade (process
backend), regrade one student, publish; and the class report's pure parts."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.core.config import ConfigError, Course, CourseEntry, LmsIds, RosterEntry, load_course
from grader.core.results import Result, TestResult, save_result, write_atomic
from grader.instructor import classreport, late
from grader.instructor.classgrade import grade_collected
from grader.instructor.collect import Collected, CollectFailed
from grader.instructor.collected import DataError
from grader.instructor.grades import Grade, final_grades
from grader.instructor.overrides import Override, load_overrides, set_override
from grader.instructor.publish import publish
from grader.instructor.roster import load_roster
from grader.run.suite import collect

from .conftest import ROOT

TIER = "process"  # what its tests need (tests/conftest.py)

GRADER = [sys.executable, "-m", "grader"]
TOKEN = "ghp_NEVERWRITTEN0123456789abcdef"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GH_TOKEN": TOKEN}
    proc = subprocess.run([*GRADER, *args], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_collect_grade_regrade_publish(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "examples/remotes.py", str(tmp_path / "remotes")], cwd=ROOT,
                   check=True, capture_output=True)
    out = tmp_path / "out"
    url = f"file://{tmp_path}/remotes/{{classroom}}-{{assignment}}-{{username}}.git"
    students = ["--student", "ada", "--student", "dave", "--student", "erin", "--student", "frank"]
    _run("collect", "echo", "--out", str(out / "echo"), "--url", url, *students)
    graded = _run("grade", "echo", "--out", str(out / "echo"), "--backend", "process")
    assert "frank" in graded.stdout and "missing" in graded.stdout
    _run("override", "echo", "ada", "3", "--reason", "copied the tests' expected output",
         "--out", str(out / "echo"))
    again = _run("regrade", "echo", "ada", "--out", str(out / "echo"), "--backend", "process")
    assert "1 submissions" in again.stdout
    runs = [json.loads(line) for line in (out / "echo/runs.jsonl").read_text().splitlines()]
    assert [r["student"] for r in runs].count("ada") == 2
    published = _run("publish", "--out", str(out))
    assert "gradebook.csv" in published.stdout and "echo/report.html" in published.stdout

    book = (out / "gradebook.csv").read_text()
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(book))}
    assert set(rows) >= {"ada", "dave", "erin", "frank"} and "echo" in rows["ada"]
    # ada: full marks, a day and 6 hours late: 2 started days after the grace, -20%
    full = sum(t.max_score for t in collect(load_course(ROOT).assignment("echo")))
    # ada: full marks, a day and 6 hours late: 2 started days after the grace, -20%; then
    # overridden to 3 before her regrade, which kept it
    assert rows["ada"]["echo"] == "3"
    assert rows["frank"]["echo"] == "0"
    feedback = (out / "echo/ada/feedback.md").read_text()
    assert feedback.startswith(f"## TCP echo server: 3/{full:g} (set by the instructor; "
                               f"the tests scored {full:g})")
    assert "2 day(s) charged, -20%" in feedback
    assert "copied the tests' expected output" in feedback
    html = (out / "echo/ada/feedback.html").read_text()
    assert "Late policy" in html and "copied the tests&#39; expected output" in html
    scores = {r["username"]: r for r in csv.DictReader(
        io.StringIO((out / "echo/scores.csv").read_text()))}
    assert scores["ada"]["late"] == "true"
    assert (scores["ada"]["score"], scores["ada"]["override"]) == (f"{0.8 * full:g}", "3")
    assert scores["dave"]["override"] == ""
    page = (out / "echo/report.html").read_text()
    assert "Needs attention" in page and "copied the tests&#39; expected output" in page
    for text in ("<svg", "pass rates", "tamper: changed: .grader/assignments/echo/tests",
                 "missing", "pusher-reflog", "Slowest submissions"):
        assert text in page
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []


@pytest.mark.pure
def test_report_marks_suspects_and_flaky_and_escapes(course: Course, tmp_path: Path) -> None:
    def result(student: str, passed: bool, reason: str = "") -> Result:
        return Result(student=student, assignment="echo", reason=reason, duration=1.5, tests=[
            TestResult(name="t.py::a", title="always fails", max_score=1),
            TestResult(name="t.py::b", title="sometimes", max_score=1,
                       score=1.0 if passed else 0.0, status="passed" if passed else "failed")])

    grades = [Grade(s, result(s, i % 2 == 0, "<script>alert(1)</script>"),
                    Collected(student=s, commit="a" * 40, submitted_at="2026-10-01T00:00:00Z"),
                    late.Lateness(), 1.0) for i, s in enumerate(["ann", "ben", "cat", "dan"])]
    grades[3].result.status = "no_server"  # type: ignore[union-attr]
    (tmp_path / "runs.jsonl").write_text(
        json.dumps({"student": "ann", "fingerprint": "f", "tests": {"t.py::b": "passed"}}) + "\n"
        + json.dumps({"student": "ann", "fingerprint": "f", "tests": {"t.py::b": "failed"}}) + "\n"
        + json.dumps({"student": "ben", "fingerprint": "g", "tests": {"t.py::b": "passed"}}) + "\n")
    page = classreport.render(course=course, assignment=course.assignment("echo"), out=tmp_path,
                              grades=grades)
    assert "nearly everyone fails it" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    flaky = classreport._flaky(tmp_path / "runs.jsonl")
    assert flaky == [{"student": "ann", "test": "t.py::b", "outcomes": ["failed", "passed"]}]


def _collected_class(course: Course, out: Path, *, status: str = "ok") -> Course:
    """out/echo as collect and grade leave it, for ann and carl: collect.json and grade.json."""
    c = course.model_copy(update={"roster": [RosterEntry(id="ann"), RosterEntry(id="carl")],
                                  "assignments": {**course.assignments, "echo": CourseEntry()}})
    folder = out / "echo"
    students = []
    for s in ("ann", "carl"):
        students.append(dataclasses.asdict(Collected(
            student=s, username=s, status=status, commit="a" * 40 if status == "ok" else "",
            deadline="2026-10-01T12:00:00Z",
            submitted_at="2026-10-02T12:00:00Z" if status == "ok" else "",
            reason="" if status == "ok" else f"no repository at file:///x/{s}.git")))
        save_result(folder / s, Result(student=s, assignment="echo", tests=[
            TestResult(name="t", title="t", max_score=10, score=10 if status == "ok" else 0,
                       status="passed" if status == "ok" else "failed")]))
    write_atomic(folder / "collect.json", json.dumps({"assignment": "echo", "students": students}))
    return c


@pytest.mark.pure
def test_publish_refuses_unreadable_files_and_writes_nothing(course: Course,
                                                            tmp_path: Path) -> None:
    c = _collected_class(course, tmp_path)
    publish(course=c, roster=load_roster(course=c), out=tmp_path, assignments=["echo"])
    book = (tmp_path / "gradebook.csv").read_text()
    assert "ann,ann,,,9," in book  # a day late: -10%
    for name, hint in (("echo/collect.json", "grader collect echo --out"),
                       ("echo/carl/grade.json", "grader regrade echo carl --out")):
        path = tmp_path / name
        whole = path.read_text()
        path.write_text(whole[: len(whole) // 2])
        (tmp_path / "gradebook.csv").unlink(missing_ok=True)
        with pytest.raises(DataError, match=rf"{name} cannot be read.*{hint}"):
            publish(course=c, roster=load_roster(course=c), out=tmp_path, assignments=["echo"])
        assert not (tmp_path / "gradebook.csv").exists()  # nothing half-written
        path.write_text(whole)


@pytest.mark.pure
def test_publish_refuses_a_collect_that_reached_nobody(course: Course, tmp_path: Path) -> None:
    c = _collected_class(course, tmp_path, status="missing")
    with pytest.raises(CollectFailed, match=r"echo/collect\.json: collect reached none of the "
                                            r"2 repositories.*--allow-empty"):
        publish(course=c, roster=load_roster(course=c), out=tmp_path, assignments=["echo"])
    assert not (tmp_path / "gradebook.csv").exists()
    publish(course=c, roster=load_roster(course=c), out=tmp_path, assignments=["echo"],
            allow_empty=True)
    assert "carl,carl,,,0," in (tmp_path / "gradebook.csv").read_text()


@pytest.mark.pure
def test_only_and_regrade_name_students_on_the_roster(course: Course, tmp_path: Path) -> None:
    c = _collected_class(course, tmp_path)
    with pytest.raises(ConfigError, match=r"'carll' is not on the roster.*did you mean 'carl'"):
        grade_collected(course=c, assignment=c.assignment("echo"), out=tmp_path / "echo",
                        only=["carll"], backend="process")


def test_the_command_line_names_students_on_the_roster(tmp_path: Path) -> None:
    for args, named in ((["regrade", "echo", "carll"], "regrade"),
                        (["grade", "echo", "--only", "carll"], "--only"),
                        (["collect", "echo", "--student", "carll"], "--student")):
        proc = subprocess.run([*GRADER, *args, "--out", str(tmp_path / "echo")], cwd=ROOT,
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"{named}: 'carll' is not on the roster; did you mean 'carol'?" in proc.stdout
    assert not (tmp_path / "echo").exists()


@pytest.mark.pure
def test_a_class_graded_by_two_suites_says_who(course: Course, tmp_path: Path) -> None:
    """The suite's version is kept apart from the submission's (a `regrade --only` after a fix
    to a test leaves the others graded by the old suite), and the batch says who."""
    from rich.console import Console

    from grader.core.job import Job
    from grader.instructor.classgrade import _warn_stale

    echo = course.assignment("echo")
    jobs = [Job.make(course=course, assignment=echo, submission=ROOT / path, backend="process")
            for path in ("reference/echo", "starter/echo")]
    assert jobs[0].suite == jobs[1].suite and jobs[0].fingerprint != jobs[1].fingerprint
    now = [Result(student="ann", assignment="echo", suite=jobs[0].suite)]
    everyone = [*now, Result(student="bob", assignment="echo", suite="0ld5u1te0000"),
                Result(student="cat", assignment="echo", suite=jobs[0].suite)]
    console = Console(record=True, width=300)
    _warn_stale(console, echo, tmp_path, now, everyone)
    said = console.export_text()
    assert "graded with an older suite (the course's tests changed since): bob;" in said, said
    quiet = Console(record=True, width=300)
    _warn_stale(quiet, echo, tmp_path, now, [*now, everyone[2]])
    assert quiet.export_text() == ""


CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@pytest.mark.pure
def test_canvas_csv_updates_the_real_assignment(course: Course, tmp_path: Path) -> None:
    """Canvas's gradebook import: the five student columns, then `Name (assignment id)`; a
    column without the id would create a new assignment. Students are matched by Canvas's ids
    from the roster, never by a GitHub login."""
    c = _collected_class(course, tmp_path)
    c = c.model_copy(update={
        "roster": [RosterEntry(id="ann", name="Ann Lee", section="S1", canvas_id="9001",
                               sis_user_id="U123", sis_login_id="alee"),
                   RosterEntry(id="carl", username="carl-gh")],
        "assignments": {**c.assignments, "echo": CourseEntry(lms=LmsIds(canvas_id=4242))}})
    publish(course=c, roster=load_roster(course=c), out=tmp_path, assignments=["echo"])
    header, points, *rows = csv.reader(io.StringIO((tmp_path / "canvas.csv").read_text()))
    assert header[:5] == CANVAS_HEADER
    assert header[5:] == ["TCP echo server (4242)"]
    assert points[:1] == ["Points Possible"] and points[5:] == ["10"]
    people = {r[0]: r for r in rows}
    assert people["Ann Lee"] == ["Ann Lee", "9001", "U123", "alee", "S1", "9"]  # a day late
    assert people["carl"][1:4] == ["", "", ""]  # no LMS ids known: nothing made up
    assert "carl-gh" not in (tmp_path / "canvas.csv").read_text()

    # without grading.yml's lms.canvas_id: the bare title, which Canvas makes a new assignment
    c = c.model_copy(update={"assignments": {**c.assignments, "echo": CourseEntry()}})
    publish(course=c, roster=load_roster(course=c), out=tmp_path, assignments=["echo"])
    assert (tmp_path / "canvas.csv").read_text().splitlines()[0] == \
        ",".join([*CANVAS_HEADER, "TCP echo server"])


def test_lms_ids_are_validated(tmp_path: Path) -> None:
    (tmp_path / "assignments").symlink_to(ROOT / "assignments")
    text = "name: c\nassignments:\n  echo:\n    lms: {canvas_id: %s}\n"
    (tmp_path / "grading.yml").write_text(text % "4242")
    assert load_course(tmp_path).assignments["echo"].lms.canvas_id == 4242
    (tmp_path / "grading.yml").write_text(text % "'Echo (4242)'")
    with pytest.raises(ConfigError, match=r"grading.yml: assignments.echo.lms.canvas_id: "
                                          r"'Echo \(4242\)' is invalid"):
        load_course(tmp_path)
    (tmp_path / "grading.yml").write_text(text.replace("canvas_id", "canvas") % "1")
    with pytest.raises(ConfigError, match=r"lms.canvas: unknown key \(known keys: canvas_id\)"):
        load_course(tmp_path)


@pytest.mark.pure
def test_an_override_survives_a_regrade_and_reaches_every_output(course: Course,
                                                                  tmp_path: Path) -> None:
    c = _collected_class(course, tmp_path)
    set_override(out=tmp_path / "echo", student="carl", score=4, reason="partial credit <b>")
    # a regrade writes the student's grade.json again; overrides.json is not its to touch
    save_result(tmp_path / "echo" / "carl", Result(student="carl", assignment="echo", tests=[
        TestResult(name="t", title="t", max_score=10, score=10, status="passed")]))
    (carl,) = [g for g in final_grades(course=c, assignment="echo", out=tmp_path / "echo",
                                       roster=load_roster(course=c)) if g.student == "carl"]
    assert (carl.final, carl.computed) == (4, 9)
    assert carl.override and carl.override.reason == "partial credit <b>"
    publish(course=c, roster=load_roster(course=c), out=tmp_path, assignments=["echo"])
    assert "carl,carl,,,4," in (tmp_path / "gradebook.csv").read_text()
    assert (tmp_path / "canvas.csv").read_text().splitlines()[-1].endswith(",4")
    scores = {r["username"]: r for r in csv.DictReader(
        io.StringIO((tmp_path / "echo/scores.csv").read_text()))}
    assert (scores["carl"]["score"], scores["carl"]["override"]) == ("9", "4")
    assert (scores["ann"]["score"], scores["ann"]["override"]) == ("9", "")
    assert "Instructor's override**: score set by the instructor to 4: partial credit <b>" in \
        (tmp_path / "echo/carl/feedback.md").read_text()
    assert "partial credit &lt;b&gt;" in (tmp_path / "echo/carl/feedback.html").read_text()
    page = (tmp_path / "echo/report.html").read_text()
    assert "<b>overrides</b> (1): carl" in page

    (tmp_path / "echo/overrides.json").write_text('{"carl": {"score": 4}')
    with pytest.raises(DataError, match=r"overrides.json cannot be read"):
        publish(course=c, roster=load_roster(course=c), out=tmp_path, assignments=["echo"])


def test_the_override_command(tmp_path: Path) -> None:
    out = tmp_path / "echo"
    save_result(out / "carol", Result(student="carol", assignment="echo", tests=[
        TestResult(name="t", title="t", max_score=10, score=2, status="failed")]))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*GRADER, "override", "echo", *args, "--out", str(out)], cwd=ROOT,
                              capture_output=True, text=True)

    for args, error in ((["caroll", "5", "--reason", "x"], "'caroll' is not on the roster; "
                         "did you mean 'carol'?"),
                        (["carol", "5"], "needs a reason"),
                        (["carol", "50", "--reason", "x"], "above carol's maximum (10)")):
        proc = run(*args)
        assert proc.returncode == 2 and error in proc.stdout, proc.stdout + proc.stderr
    assert not (out / "overrides.json").exists()
    proc = run("carol", "7.5", "--reason", "the test was wrong for her")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert load_overrides(out)["carol"].score == 7.5
    assert run("carol", "--remove").returncode == 0
    assert load_overrides(out) == {}


@pytest.mark.pure
def test_report_needs_attention_box_and_row_flags(course: Course, tmp_path: Path) -> None:
    def grade(s: str, *, flags: list[str] = (), time_source: str = "first-seen",  # type: ignore
              status: str = "ok", retried: str = "", override: Override | None = None,
              suite: str = "s1") -> Grade:
        r = Result(student=s, assignment="echo", status=status, retried=retried, suite=suite,
                   tests=[
            TestResult(name="t", title="t", max_score=1, score=1, status="passed")])
        return Grade(s, r, Collected(student=s, commit="a" * 40, flags=list(flags),
                                     submitted_at="2026-10-01T00:00:00Z",
                                     time_source=time_source), late.Lateness(),
                     None if r.needs_rerun else 1.0, override=override, computed=1.0)

    grades = [grade("ann", flags=["tamper: changed: .grader/x.py"]),
              grade("ben", flags=["rewritten history: tag submit/1 moved from aaa to bbb"]),
              grade("cat", time_source="commit-date (unverified)"),
              grade("dan", status="error"), grade("eve", retried="engine lost the container"),
              grade("fay", override=Override(score=0.5, reason="late by email")),
              grade("gus"), grade("hal", suite="s0")]
    (tmp_path / "similarity").mkdir()
    (tmp_path / "similarity/pairs.json").write_text(json.dumps([{
        "a": "ann", "b": "gus", "share": 0.93, "file_a": "server.py", "file_b": "lib/copy.py"}]))
    page = classreport.render(course=course, assignment=course.assignment("echo"),
                              out=tmp_path, grades=grades)
    box = page[page.index('id="attention"'):page.index('class="cards"')]
    for line in ("<b>grader errors</b> (1): dan", "<b>tamper</b> (1): ann",
                 "<b>rewritten history</b> (1): ben", "<b>unverified arrival times</b> (1): cat",
                 "<b>graded twice</b> (1): eve", "<b>overrides</b> (1): fay",
                 "<b>similar code</b> (1): ann &amp; gus", "<b>another suite</b> (1): hal"):
        assert line in box
    assert "gus" not in box.replace("ann &amp; gus", "")
    rows = page[page.index("<h2>Students</h2>"):page.index("<h2>Tests: pass rates")]
    assert "<li>tamper: changed: .grader/x.py</li>" in rows
    assert "<li>graded twice: engine lost the container</li>" in rows
    assert "similar to gus (server.py ↔ lib/copy.py: 93%)" in rows
    assert "<code>ann/server.py</code> ↔ <code>gus/lib/copy.py</code>" in page

    calm = classreport.render(course=course, assignment=course.assignment("echo"),
                              out=tmp_path / "none", grades=[grade("gus")])
    assert "<b>Needs attention</b>: nothing" in calm
