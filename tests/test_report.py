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
    assert data["score"] == 2 and data["output"] == ""  # the only failure is a hidden test's
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


def _hidden_run(*, visible_failures: int, idle: str = "") -> Result:
    """31 visible tests and 4 hidden ones, all hidden ones failed, the server crashed in one;
    the reason as the grader writes it (the gradebook's line, which names a hidden test)."""
    secret = "?q= is a plain substring: % and _ are not wildcards"
    tests = [TestResult(name=f"tests/test_api.py::test_v{i}", title=f"visible {i}", max_score=1,
                        score=0 if i < visible_failures else 1,
                        status="failed" if i < visible_failures else "passed",
                        feedback="got 500" if i < visible_failures else "") for i in range(31)]
    tests[30] = tests[30].model_copy(update={
        "status": "failed", "score": 0,
        "feedback": f"the server exited with code 1 after '{secret}', so this test could not "
                    "run: KeyError: 'q'; it was restarted for the next test"})
    tests[15:15] = [TestResult(name=f"hidden/test_injection.py::test_h{i}",
                               title=secret if i == 0 else f"hidden {i}", max_score=2,
                               feedback="GET /api/books?q=%25 answered every book",
                               visibility="after_published") for i in range(4)]
    failed = [t for t in tests if t.status != "passed"]
    reason = f"{len(failed)} of 35 tests failed, first: {failed[0].title}: {failed[0].feedback}"
    crash = f"the server exited with code 1 during '{secret}': KeyError: 'q'"
    return Result(student="s", assignment="books", tests=tests, crashes=[crash],
                  reason="; ".join(filter(None, [reason, idle])),
                  log="GET /api/books?q=%25 HTTP/1.1 500\nKeyError: 'q'\n")


def test_gradescope_shows_nothing_of_hidden_tests_before_publication() -> None:
    """What a student sees before grades are published (the top-level output, the visible
    tests) gives away no hidden test: not its title, its failure, its count or its requests."""
    idle = ("note: with no client connected the server kept 40% of the CPU it may use busy (a "
            "server with nothing to do should wait blocked, using none)")
    data = report.gradescope_json(_hidden_run(visible_failures=1, idle=idle))
    shown = [data["output"]] + [json.dumps(t) for t in data["tests"]
                                if t["visibility"] == "visible"]
    for text in shown:
        assert "plain substring" not in text and "35" not in text and "hidden 1" not in text
        assert "q=%25" not in text and "test_injection" not in text
    assert data["output"] == f"2 of 31 tests failed, first: visible 0: got 500; {idle}"
    assert data["tests"][30]["output"].startswith("the server exited with code 1 after a hidden "
                                                  "test, so this test could not run")
    # plain numbers, visible first: no node id, and no gap in the numbers where a hidden test is
    assert [t["number"] for t in data["tests"]] == [str(i) for i in range(1, 36)]
    assert [t["visibility"] for t in data["tests"]] == ["visible"] * 31 + ["after_published"] * 4
    assert data["tests"][31]["name"].startswith("?q= is a plain substring")  # after publication
    assert data["score"] == 29 and sum(t["max_score"] for t in data["tests"]) == 39

    passed = report.gradescope_json(_hidden_run(visible_failures=0))
    assert passed["output"] == "1 of 31 tests failed, first: visible 30: the server exited " \
        "with code 1 after a hidden test, so this test could not run: KeyError: 'q'; it was " \
        "restarted for the next test"
    # without hidden tests the output is the grader's own line, and the crash's log
    public = _hidden_run(visible_failures=1)
    public.tests = [t for t in public.tests if not t.hidden]
    assert report.gradescope_json(public)["output"].startswith("6 of 35 tests failed")
    assert "Your server's last output" in report.gradescope_json(public)["output"]
