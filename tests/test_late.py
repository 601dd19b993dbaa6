"""Late-policy arithmetic (pure), gradebook weights, and tamper flags on an exported tree."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pytest

from grader.core.config import Course, CourseEntry, LatePolicy, RosterEntry
from grader.core.results import Result, TestResult
from grader.export import export_assignment
from grader.instructor import late, tamper
from grader.instructor.collect import Collected
from grader.instructor.grades import Grade
from grader.instructor.publish import gradebook_csv

TIER = "pure"  # what its tests need (tests/conftest.py)

DUE = dt.datetime(2026, 10, 1, 23, 59, tzinfo=dt.timezone.utc)
POLICY = LatePolicy(grace_minutes=15, penalty_per_day=10, cap=25, max_days=5)


@pytest.mark.parametrize(("after", "days", "percent", "accepted"), [
    (dt.timedelta(0), 0, 0, True),
    (dt.timedelta(minutes=15), 0, 0, True),  # inside the grace period
    (dt.timedelta(minutes=16), 1, 10, True),
    (dt.timedelta(days=1, minutes=15), 1, 10, True),  # the grace shifts the day boundary
    (dt.timedelta(days=1, minutes=16), 2, 20, True),
    (dt.timedelta(days=4), 4, 25, True),  # capped
    (dt.timedelta(days=5, seconds=1), 6, 100, False),  # beyond max_days: not accepted
])
def test_assess(after: dt.timedelta, days: int, percent: float, accepted: bool) -> None:
    got = late.assess(submitted=DUE + after, deadline=DUE, policy=POLICY)
    assert (got.days, got.percent, got.accepted) == (days, percent, accepted)
    assert got.late == (after > dt.timedelta(0))


def test_extension_zone_and_apply() -> None:
    naive = dt.datetime(2026, 10, 1, 23, 59)
    paris = late.deadline(due=naive, extension_days=2, timezone="Europe/Paris")
    assert paris == dt.datetime(2026, 10, 3, 21, 59, tzinfo=dt.timezone.utc)
    assert late.cutoff(deadline=paris, policy=POLICY) == paris + dt.timedelta(days=5)
    two_days = late.assess(submitted=DUE + dt.timedelta(days=2), deadline=DUE, policy=POLICY)
    assert late.apply(score=30, max_score=40, lateness=two_days) == 22  # 30 - 20% of 40
    assert late.apply(score=3, max_score=40, lateness=two_days) == 0  # never below zero
    assert late.apply(score=40, max_score=40, lateness=late.Lateness()) == 40
    refused = late.assess(submitted=DUE + dt.timedelta(days=9), deadline=DUE, policy=POLICY)
    assert late.apply(score=40, max_score=40, lateness=refused) == 0


def _grade(student: str, score: float, top: float, lateness: late.Lateness) -> Grade:
    result = Result(student=student, assignment="x", tests=[
        TestResult(name="t", title="t", max_score=top, score=score, status="passed")])
    final = late.apply(score=score, max_score=top, lateness=lateness)
    return Grade(student, result, Collected(student=student), lateness, final)


def test_gradebook_weights(course: Course) -> None:
    c = course.model_copy(update={"assignments": {
        "echo": CourseEntry(weight=1), "chat": CourseEntry(weight=3)}})
    one_day = late.assess(submitted=DUE + dt.timedelta(hours=3), deadline=DUE, policy=POLICY)
    grades = {"echo": [_grade("ann", 10, 10, late.Lateness()), _grade("bob", 5, 10, one_day)],
              "chat": [_grade("ann", 0, 20, late.Lateness()), _grade("bob", 20, 20, one_day)]}
    roster = [RosterEntry(id="ann", name="Ann A"), RosterEntry(id="bob"),
              RosterEntry(id="=cmd", username="x")]
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(
        gradebook_csv(course=c, roster=roster, grades=grades)))}
    assert list(rows["ann"]) == ["student", "username", "name", "section", "echo", "chat",
                                 "total_percent"]
    assert rows["ann"]["total_percent"] == "25.0"  # (1*1 + 3*0) / 4
    assert (rows["bob"]["echo"], rows["bob"]["chat"]) == ("4", "18")  # -10% of the max each
    assert rows["bob"]["total_percent"] == "77.5"  # (1*0.4 + 3*0.9) / 4
    assert rows["'=cmd"]["echo"] == ""
    assert rows["'=cmd"]["total_percent"] == ""  # on the roster, never graded: not a zero
    grades["echo"].append(Grade("cat", None, Collected(student="cat", status="error"),
                                late.Lateness(), None))
    grades["chat"].append(_grade("cat", 0, 20, late.Lateness()))  # graded "missing": a 0
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(
        gradebook_csv(course=c, roster=roster, grades=grades)))}
    assert (rows["cat"]["echo"], rows["cat"]["chat"], rows["cat"]["total_percent"]) == (
        "", "0", "")


def test_tamper_flags(course: Course, tmp_path: Path) -> None:
    echo = course.assignment("echo")
    tree = tmp_path / "repo"
    export_assignment(course=course, assignment=echo, out=tree,
                      install=course.collect.install or None)
    expected, _ = tamper.expected(course=course, assignment=echo)
    assert any(p.startswith(".github/workflows/") for p in expected)
    assert any("/tests/" in p for p in expected)
    assert tamper.check(tree=tree, expected=expected, assignment="echo", manifest=False) == []
    (tree / tamper.MANIFEST).write_text(json.dumps({"assignment": "echo", "files": expected}))
    assert tamper.check(tree=tree, expected=expected, assignment="echo") == []

    test = next(p for p in expected if "/tests/test_" in p)
    (tree / test).write_text("def test_all():\n    pass\n")
    shutil.rmtree(tree / ".github")
    (tree / ".grader" / "conftest.py").write_text("")
    flags = tamper.check(tree=tree, expected=expected, assignment="echo")
    assert f"changed: {test}" in flags
    assert "deleted: .github/workflows/grade.yml" in flags
    assert "added: .grader/conftest.py" in flags
    # a student who also rewrites the manifest to match is caught: it is not trusted
    forged = {**expected, test: "0" * 64}
    (tree / tamper.MANIFEST).write_text(json.dumps({"assignment": "echo", "files": forged}))
    assert any(f.startswith("manifest altered") for f in
               tamper.check(tree=tree, expected=expected, assignment="echo"))
    (tree / tamper.MANIFEST).unlink()
    assert any(f.startswith("manifest missing") for f in
               tamper.check(tree=tree, expected=expected, assignment="echo"))
