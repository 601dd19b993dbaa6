"""What a student reads after a run, on a laptop and in CI: words that match the score, one line
when the server never started, and student text that can never become a workflow command."""

from __future__ import annotations

import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from grader.core import report, text
from grader.core.results import Result, TestResult
from grader.student import ci

TIER = "pure"  # what its tests need (tests/conftest.py)

SCHEMA = json.loads((Path(__file__).parent / "schemas/classroom50-result-v1.schema.json")
                    .read_text())
WHEN = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)


def _tests(passed: int, failed: int, points: float = 1) -> list[TestResult]:
    return ([TestResult(name=f"tests/test_a.py::test_p{i}", title=f"passes {i}", max_score=points,
                        score=points, status="passed") for i in range(passed)]
            + [TestResult(name=f"tests/test_a.py::test_f{i}", title=f"fails {i}",
                          max_score=points, feedback="got nothing back") for i in range(failed)])


def _print(result: Result) -> str:
    buf = io.StringIO()
    report.print_result(result, Console(file=buf, width=120), title="TCP echo server")
    return buf.getvalue()


def test_status_words_never_contradict_the_score() -> None:
    none = Result(student="s", assignment="echo", tests=_tests(0, 4),
                  reason="4 of 4 tests failed, first: fails 0: got nothing back")
    assert report.status_word(none) == "none passed"
    out = _print(none)
    assert "ok:" not in out and "none passed: 4 of 4 tests failed" in out
    assert report.status_word(Result(student="s", assignment="echo", tests=_tests(2, 2))) \
        == "some passed"
    assert report.status_word(Result(student="s", assignment="echo", tests=_tests(3, 0))) \
        == "all passed"
    summary = report.markdown(none, title="Echo")
    assert "**ok**" not in summary and "**none passed**" in summary


def test_no_server_is_one_line_and_the_log_tail_without_colour_codes() -> None:
    log = "".join(f"\x1b[31mline {i}\x1b[0m\n" for i in range(30)) + "::error::forged\n"
    result = Result(student="s", assignment="echo", status="no_server", tests=_tests(0, 12),
                    reason="the server listens on 127.0.0.1:8000 only; listen on all interfaces",
                    log=log)
    out = _print(result)
    assert "fails 3" not in out and out.count("not run") == 1  # no row per test
    assert out.count("listens on 127.0.0.1:8000 only") == 1
    assert "line 29" in out and "line 5\n" not in out  # the last lines only
    assert "\x1b" not in out and "\\x1b" not in out and "[31m" not in out
    assert "\n::error" not in out and "> ::error::forged" in out
    summary = report.markdown(result, title="Echo")
    assert "| test |" not in summary and "**no server**" in summary
    for page in (report.feedback_html(result, title="Echo", course="c"),
                 report.junit_xml(result)):
        assert "line 29" in page and "[31m" not in page and "\x1b" not in page


def test_junit_suite_is_named_after_the_assignment_when_there_is_no_student() -> None:
    root = ET.fromstring(report.junit_xml(Result(student="", assignment="echo",
                                                 tests=_tests(1, 1))))
    assert root.find("testsuite").get("name") == "echo"  # not "echo."
    root = ET.fromstring(report.junit_xml(Result(student="ann", assignment="echo")))
    assert root.find("testsuite").get("name") == "echo.ann"


def test_workflow_commands_cannot_be_forged_by_student_text() -> None:
    tests = _tests(1, 0) + [TestResult(
        name="tests/t.py::test_x", title="echoes, exactly: bytes", max_score=2,
        feedback="got b'x'\n::add-mask::secret\r\n%0A::error::forged")]
    lines = ci.workflow_commands(Result(student="s", assignment="echo", tests=tests),
                                 title="Echo")
    assert lines[0] == "::notice title=Autograding complete::Points 1/3"
    assert len(lines) == 2 and all("\n" not in line and "\r" not in line for line in lines)
    error = lines[1]
    assert error.startswith("::error title=echoes%2C exactly%3A bytes::")
    assert "%0A::add-mask::secret" in error and "%250A" in error  # escaped, one line
    assert text.neutralise("ok\n  ::set-output name=x::1\n##[error]x") == \
        "ok\n>   ::set-output name=x::1\n> ##[error]x"


def test_github_outputs_and_summary(tmp_path: Path) -> None:
    result = Result(student="s", assignment="echo", tests=_tests(3, 1))
    env = {"GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "sum")}
    ci.write_github(result, title="Echo | <b>", env=env)
    outputs = dict(line.split("=", 1) for line in (tmp_path / "out").read_text().splitlines())
    # below full marks is a grade, not a failure: no fail_below in grading.yml
    assert outputs == {"score": "3", "max-score": "4", "state": "success",
                       "description": "Points 3/4 (some passed)"}
    summary = (tmp_path / "sum").read_text()
    assert summary.startswith("## Echo \\| &lt;b>: 3/4") and "| ✘ | fails 0 |" in summary


@pytest.mark.process  # write_classroom50 asks git for the commit's date
def test_classroom50_result_is_valid_with_whole_points(tmp_path: Path) -> None:
    halves = _tests(2, 1, points=0.5) + _tests(1, 0, points=2)
    result = Result(student="s", assignment="echo", tests=halves)
    assert ci.scale(result) == 10
    doc = ci.classroom50_result(result, env={
        "CLASSROOM": "net", "ASSIGNMENT": "echo", "OWNER": "ann", "SUBMISSION_TAG": "submit/x",
        "COMMIT_URL": "https://example.invalid/c", "GITHUB_ACTOR": "bob",
        "GITHUB_ACTOR_ID": "42"}, submitted=WHEN, now=WHEN)
    jsonschema.validate(doc, SCHEMA)
    assert (doc["score"], doc["max-score"]) == (30, 35)  # 3/3.5 points, x10
    assert doc["datetime"] == "2026-11-25T12:00:00Z" and doc["submitted_by"]["id"] == 42
    assert "×10" in ci.release_body(result, title="Echo")
    written = ci.write_classroom50(Result(student="s", assignment="echo", tests=_tests(0, 0)),
                                   title="Echo", folder=tmp_path, env={})
    jsonschema.validate(json.loads((tmp_path / "result.json").read_text()), SCHEMA)
    assert written["max-score"] == 0 and (tmp_path / "release-body.md").is_file()


def test_only_the_courses_fail_below_fails_a_run(tmp_path: Path) -> None:
    three_of_four = Result(student="s", assignment="echo", tests=_tests(3, 1))
    for mark, state in ((None, "success"), (75, "success"), (75.5, "failure"), (0, "success")):
        assert ci.github_outputs(three_of_four, fail_below=mark)["state"] == state, mark
    below = ci.github_outputs(three_of_four, fail_below=80)
    assert below["description"] == "Points 3/4 (some passed), below the course's 80%"
    broken = Result(student="s", assignment="echo", status="error", tests=_tests(4, 0))
    assert ci.github_outputs(broken, fail_below=None)["state"] == "error"  # never a success
    env = {"GITHUB_OUTPUT": str(tmp_path / "out"), ci.FAIL_BELOW: "90"}
    ci.write_github(three_of_four, title="Echo", env=env)
    assert "state=failure\n" in (tmp_path / "out").read_text()
    for bad in ("ninety", "101", "nan"):
        with pytest.raises(ValueError, match="a percent from 0 to 100"):
            ci.fail_below({ci.FAIL_BELOW: bad})
    assert ci.fail_below({}) is None and ci.fail_below({ci.FAIL_BELOW: " "}) is None


def test_fail_below_is_validated_where_it_is_written(tmp_path: Path) -> None:
    from grader.core.config import ConfigError, load_course

    (tmp_path / "assignments/echo/tests").mkdir(parents=True)
    (tmp_path / "assignments/echo/assignment.yml").write_text("title: Echo\n")
    (tmp_path / "grading.yml").write_text("name: c\nassignments:\n  echo:\n    fail_below: 150\n")
    with pytest.raises(ConfigError, match=r"grading.yml: assignments.echo.fail_below: 150 is "
                                          r"invalid: .*less than or equal to 100"):
        load_course(tmp_path)
    (tmp_path / "grading.yml").write_text("name: c\nassignments:\n  echo:\n    fail_below: 40\n")
    assert load_course(tmp_path).assignments["echo"].fail_below == 40
