"""`grader mutants`: generation (stable ids, the network operators), the score (equivalents left
out), and one real run of the command on echo through the process backend."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.core.config import ConfigError, load_course, load_equivalents
from grader.core.results import Result, TestResult
from grader.quality.mutants import MutantVerdict, classify, score
from grader.quality.mutations import Mutant, generate, sample
from grader.run.grade import grade_submission

from .conftest import ROOT

TIER = "pure"  # what its tests need (tests/conftest.py)

ECHO = ROOT / "reference" / "echo"
MUST_DIE = "ReplaceTrueWithFalse-server.py-L22-9d8e2509"  # `while True` -> `while False`: no accept


def _by_id(mutants: list[Mutant]) -> dict[str, Mutant]:
    return {m.id: m for m in mutants}


def test_ids_are_stable_across_runs_and_unrelated_edits(tmp_path: Path) -> None:
    first = generate(ECHO)
    assert [m.id for m in first] == [m.id for m in generate(ECHO)]
    assert MUST_DIE in _by_id(first)
    edited = tmp_path / "echo"
    shutil.copytree(ECHO, edited)
    server = edited / "server.py"
    server.write_text(server.read_text() + "\n# a comment after everything\n")
    again = _by_id(generate(edited))
    assert {m.id for m in first} <= set(again)  # nothing above the edit changed its id
    assert sample(first, 5) == sample(generate(ECHO), 5)  # the sample is deterministic too


def test_network_operators(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import html\n"
        "def page(conn, name, n):\n"
        "    body = html.escape(name).strip()\n"
        "    conn.sendall(body.encode())\n"
        "    conn.close()\n"
        "    return body, 404, {'Allow': 'GET', 'Content-Type': 'text/plain'}\n"
        "def head():\n"
        "    return ['HTTP/1.1 200 OK', 'Connection: close'], '\\r\\n'\n")
    diffs = {m.operator: [] for m in generate(tmp_path)}
    for m in generate(tmp_path):
        diffs[m.operator].append("".join(x for x in m.diff.splitlines(keepends=True)
                                         if x.startswith("+") and not x.startswith("+++")))
    assert "+    conn.send(body.encode())\n" in diffs["sendall_to_send"]
    assert "+    conn.close()\n" not in diffs["delete_call"]
    assert "+    pass\n" in diffs["delete_call"]
    assert "+    body = name.strip()\n" in diffs["drop_call"]  # the escape dropped
    assert "+    body = html.escape(name)\n" in diffs["drop_call"]
    assert "+    return body, 400, {'Allow': 'GET', 'Content-Type': 'text/plain'}\n" in \
        diffs["status_code"]
    assert "+    return body, 404, {'Content-Type': 'text/plain'}\n" in diffs["drop_header"]
    assert "+    return body, 404, {'Allow': 'GET'}\n" in diffs["drop_header"]
    assert "+    return ['HTTP/1.1 200 OK'], '\\r\\n'\n" in diffs["drop_header"]
    assert "+    return ['HTTP/1.1 200 OK', 'Connection: close'], '\\n'\n" in diffs["crlf_to_lf"]
    assert any("conn.close()\n    conn.sendall" in m.source for m in generate(tmp_path)
               if m.operator == "swap_statements")


def _result(full: bool, status: str = "ok") -> Result:
    test = TestResult(name="t.py::test_a", title="a", max_score=1, score=1 if full else 0,
                      status="passed" if full else "failed", feedback="" if full else "wrong")
    return Result(student="m", assignment="echo", status=status, tests=[test])  # type: ignore[arg-type]


def test_equivalent_mutants_are_left_out_of_the_score() -> None:
    a, b, c, d = (Mutant(id=i, operator="op", file="f.py", line=1, diff="", source="")
                  for i in "abcd")
    equivalents = {"b": "same bytes on the wire", "d": "never reached"}
    outcomes = [classify(a, _result(False), equivalents), classify(b, _result(True), equivalents),
                classify(c, _result(True), equivalents), classify(d, _result(True), equivalents)]
    assert [o.verdict for o in outcomes] == ["killed", "equivalent", "survived", "equivalent"]
    assert outcomes[1] == MutantVerdict(b, "equivalent", "same bytes on the wire")
    assert score(killed=1, survived=1) == 0.5  # 1 / (4 - 2 equivalent)
    assert classify(a, _result(False, status="error"), {}).verdict == "error"  # not a verdict
    assert classify(a, _result(False), {"a": "stale"}).verdict == "killed"  # shown as stale


def test_equivalents_file_is_validated(tmp_path: Path) -> None:
    course = load_course(ROOT)
    echo = course.assignment("echo")
    assert MUST_DIE not in load_equivalents(echo)
    bad = echo.model_copy(update={"dir": tmp_path})
    (tmp_path / "equivalent_mutants.yml").write_text("some-id: ''\n")
    with pytest.raises(ConfigError, match="some-id: '' is invalid: expected the reason"):
        load_equivalents(bad)
    (tmp_path / "equivalent_mutants.yml").write_text("# nothing yet\n")
    assert load_equivalents(bad) == {}


@pytest.mark.process
def test_a_mutant_that_must_die_dies(tmp_path: Path) -> None:
    mutant = _by_id(generate(ECHO))[MUST_DIE]
    folder = tmp_path / mutant.id
    shutil.copytree(ECHO, folder)
    (folder / mutant.file).write_text(mutant.source)
    course = load_course(ROOT)
    result = grade_submission(course=course, assignment=course.assignment("echo"),
                              submission=folder, backend="process")
    assert classify(mutant, result, {}).verdict == "killed", result.reason


@pytest.mark.slow
@pytest.mark.process
def test_grader_mutants_on_echo(tmp_path: Path) -> None:
    """The command itself, as a course author runs it: a small sample, the process backend."""
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "grader", "mutants", "echo", "--max", "8",
                          "--backend", "process", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((out / "mutants.json").read_text())
    verdicts = {m["id"]: m["verdict"] for m in summary["mutants"]}
    assert len(verdicts) == 8 and "error" not in verdicts.values()
    assert len({i.split("-")[0].split("_")[0] for i in verdicts}) == 8  # one of each operator
    equivalents = load_equivalents(load_course(ROOT).assignment("echo"))
    assert all(verdicts[i] == "equivalent" for i in equivalents if i in verdicts)
    killed = sum(v == "killed" for v in verdicts.values())
    survived = sum(v == "survived" for v in verdicts.values())
    equivalent = sum(v == "equivalent" for v in verdicts.values())
    # the real numbers, not only the command's own arithmetic: the echo reference's 13 mutants,
    # and which of the 8 sampled its suite kills (the sample is fixed: one per operator)
    assert (summary["generated"], killed, survived, equivalent) == (13, 2, 0, 6), verdicts
    line = (f"echo: mutation score: {killed / (killed + survived):.1%} ({killed} of "
            f"{killed + survived} killed; {equivalent} equivalent, 0 grader errors; 8 mutants "
            f"sampled of {summary['generated']})")
    assert "mutation score: 100.0% (2 of 2 killed; 6 equivalent" in line
    assert line in run.stdout, run.stdout
    html = (out / "mutants.html").read_text()
    assert all(i in html for i in verdicts) and "<script" not in html
    rerun = subprocess.run([sys.executable, "-m", "grader", "mutants", "echo", "--max", "8",
                            "--backend", "process", "--out", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert "resuming: 9 already graded, 0 to grade" in rerun.stdout, rerun.stdout  # + reference
    assert line in rerun.stdout
