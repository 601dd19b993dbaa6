"""Renderers are pure functions of the result model; untrusted text stays inert in each."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from grader.core import report
from grader.core.results import STORE, Result, TestResult, load_result, save_result

TIER = "pure"  # what its tests need (tests/conftest.py)

EVIL = '<script>alert("x")</script>\x1b[2J\x1b[31mRED\x00'


def _result(**kw) -> Result:
    tests = [
        TestResult(name="tests/test_a.py::test_ok", title="Works", max_score=2, score=2,
                   status="passed"),
        TestResult(name="hidden/test_b.py::test_bad", title="Handles <b>", max_score=3,
                   feedback=EVIL, visibility="after_published"),
    ]
    return Result(student="=cmd|' /C calc'!A0", assignment="echo", tests=tests, log=EVIL, **kw)


def test_scores_add_up() -> None:
    r = _result()
    assert (r.score, r.max_score, r.full_marks, r.needs_rerun) == (2, 5, False, False)


def test_gradescope_json_has_the_fields_gradescope_reads() -> None:
    data = json.loads(json.dumps(report.gradescope_json(_result(reason="why"))))
    assert data["score"] == 2 and data["output"] == "why"
    assert [t["status"] for t in data["tests"]] == ["passed", "failed"]
    assert data["tests"][1]["visibility"] == "after_published"
    assert data["tests"][1]["max_score"] == 3 and data["tests"][1]["output"] == EVIL
    assert "extra_data" not in data  # the store's own file is grade.json


def test_the_store_reads_back_what_it_wrote_and_nothing_else(tmp_path: Path) -> None:
    """grade.json round-trips the whole result; a file of another format, a half-written one or
    a Gradescope results.json is no result (the submission is graded again)."""
    save_result(tmp_path, _result(reason="why"))
    assert load_result(tmp_path) == _result(reason="why")
    stored = json.loads((tmp_path / STORE).read_text())
    assert stored["format"] == "course-grader/result/v1" and stored["student"].startswith("=")
    for text in ('{"format": "course-grader/result/v0", "student": "s", "assignment": "a"}',
                 (tmp_path / STORE).read_text()[:40], "[]"):
        (tmp_path / STORE).write_text(text)
        assert load_result(tmp_path) is None
    (tmp_path / STORE).unlink()
    (tmp_path / "results.json").write_text(json.dumps(report.gradescope_json(_result())))
    assert load_result(tmp_path) is None


def test_html_escapes_student_text() -> None:
    page = report.feedback_html(_result(), title="Echo <1>", course="C")
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "Handles &lt;b&gt;" in page and "Echo &lt;1&gt;" in page
    assert "2 / 5" in page


def test_junit_is_well_formed_and_counts() -> None:
    root = ET.fromstring(report.junit_xml(_result()).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='test_bad']/failure")
    assert failure is not None and failure.get("message", "").startswith("<script>")


def test_csv_blocks_formula_injection_and_leaves_grader_errors_blank() -> None:
    ok, broken = _result(), _result(status="error", reason="engine down")
    broken.student = "zed"
    rows = list(csv.reader(io.StringIO(report.class_csv([broken, ok]))))
    assert rows[0] == ["student", "score", "max_score", "status", "reason"]
    assert rows[1][0] == "'=cmd|' /C calc'!A0" and rows[1][1] == "2"
    assert rows[2] == ["zed", "", "5", "error", "engine down"]  # not a zero: a rerun


def test_terminal_shows_escapes_instead_of_running_them() -> None:
    buf = io.StringIO()
    report.print_result(_result(status="no_server", reason=EVIL),
                        Console(file=buf, force_terminal=True, width=200), title="t")
    out = buf.getvalue()
    assert "\x1b[2J" not in out and "\x1b[31mRED" not in out and "\x00" not in out
    assert "\\x1b[2J" in out and "score: 2/5" in out


def test_gradescope_output_shows_the_crash_to_the_student() -> None:
    log = "".join(f"line {i}\n" for i in range(30)) + "\x1b[31mIndexError: boom\x1b[0m\n"
    crashed = Result(student="s", assignment="a", reason="the server exited", log=log,
                     crashes=["the server exited with code 1 during 'x': IndexError: boom"])
    out = report.gradescope_json(crashed)["output"]
    assert out.startswith("the server exited\n") and out.endswith("line 29\nIndexError: boom")
    assert "line 19" not in out and "\x1b" not in out  # the last lines only, colour stripped
    never = Result(student="s", assignment="a", status="no_server", reason="r", log="Usage: x\n")
    assert report.gradescope_json(never)["output"].endswith("Usage: x")
    fine = Result(student="s", assignment="a", log="serving on 8000\n")
    assert report.gradescope_json(fine)["output"] == ""
