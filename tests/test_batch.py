"""Batches that survive faults: resume, SIGKILL, Ctrl-C, grader errors, missing submissions.
Everything here runs the real CLI and real containers."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader.core.config import Course
from grader.core.results import load_result
from grader.run.grade import grade_submission

from .conftest import ROOT, as_in_a_terminal, leftovers

TIER = "process"  # what its tests need (tests/conftest.py)

GRADER = [sys.executable, "-m", "grader"]


def _class(folder: Path, n: int) -> Path:
    """n students: mostly correct, some buggy."""
    folder.mkdir()
    for i in range(n):
        src = ROOT / "reference/echo" if i % 4 else ROOT / "tests/buggy/echo/serial"
        (folder / f"s{i:02d}").symlink_to(src)
    return folder


def _grade(subs: Path, out: Path, *extra: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADER, "grade", "echo", "--submissions", str(subs), "--out",
                           str(out), *extra], cwd=ROOT, capture_output=True, text=True, **kw)


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "grades.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_rerun_keeps_finished_results_and_regrades_changes(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("ann", "ben"):
        (subs / name).mkdir()
        (subs / name / "server.py").write_text((ROOT / "reference/echo/server.py").read_text())
    out = tmp_path / "out"
    first = _grade(subs, out, "--backend", "process")
    assert first.returncode == 0, first.stdout + first.stderr
    before = {s: load_result(out / s) for s in ("ann", "ben")}
    assert all(r and r.full_marks for r in before.values())

    (subs / "ben" / "server.py").write_text("raise SystemExit(4)\n")
    second = _grade(subs, out, "--backend", "process")
    assert "resuming: 1 already graded, 1 to grade" in second.stdout
    assert load_result(out / "ann") == before["ann"]  # untouched, not regraded
    ben = load_result(out / "ben")
    assert ben and ben.status == "no_server" and "exited with code 4" in ben.reason
    assert [r["student"] for r in _rows(out)] == ["ann", "ben"]

    third = _grade(subs, out, "--backend", "process", "--regrade")
    assert "resuming" not in third.stdout


def test_sigkill_mid_batch_then_rerun_loses_and_duplicates_nothing(
        tmp_path: Path, docker_ready: str) -> None:
    subs, out = _class(tmp_path / "subs", 20), tmp_path / "out"
    proc = subprocess.Popen([*GRADER, "grade", "echo", "--submissions", str(subs), "--out",
                             str(out), "--backend", "docker"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(list(out.glob("*/grade.json"))) < 4 and time.monotonic() < deadline:
        assert proc.poll() is None, "the batch ended before it could be killed"
        time.sleep(0.2)
    proc.kill()  # SIGKILL: no cleanup of its own
    proc.wait()
    done_before = {p.parent.name for p in out.glob("*/grade.json")}
    assert 4 <= len(done_before) < 20
    rerun = _grade(subs, out, "--backend", "docker", timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"resuming: {len(done_before)} already graded" in rerun.stdout
    students = [r["student"] for r in _rows(out)]
    assert students == sorted(f"s{i:02d}" for i in range(20))  # each exactly once
    for s in students:
        r = load_result(out / s)
        assert r and r.status == "ok" and (r.full_marks or s == "s00" or int(s[1:]) % 4 == 0)
    assert not list(out.rglob("*.tmp")), "half-written files"
    assert not leftovers(), "the killed grader's containers were not reaped"


@pytest.mark.pure
def test_a_write_cut_short_is_swept_by_the_next_write_of_that_file(tmp_path: Path) -> None:
    """A SIGKILL between writing a report's temporary file and renaming it leaves the temporary
    file; the rerun writes that report again, and nothing half-written may remain."""
    from grader.core.results import write_atomic

    (tmp_path / ".results.json.tmp").write_text('{"half": ')  # what the SIGKILL left
    write_atomic(tmp_path / "results.json", "{}\n")
    assert (tmp_path / "results.json").read_text() == "{}\n"
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_ctrl_c_stops_cleanly_and_keeps_results(tmp_path: Path, docker_ready: str) -> None:
    subs, out = _class(tmp_path / "subs", 8), tmp_path / "out"
    # two workers: when the first result is written, most of the class is still to grade
    command = [*GRADER, "grade", "echo", "--submissions", str(subs), "--out", str(out),
               "--backend", "docker", "--workers", "2"]
    proc = subprocess.Popen(as_in_a_terminal(command), cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while not list(out.glob("*/grade.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "run the same command to resume" in output
    kept = {p.parent.name for p in out.glob("*/grade.json")}
    assert kept and all(load_result(out / s) for s in kept)
    assert not leftovers(), "containers left after Ctrl-C"


@pytest.mark.parametrize("after", [0.05, 1.5])  # before pytest catches it, mid-suite
def test_an_interrupted_grading_is_not_graded_again(course: Course, after: float) -> None:
    """A Ctrl-C reaches the pytest children too: each in-flight grading ends "interrupted", and
    the batch must not start it again (it would run a whole suite while the batch stops)."""
    from grader.batch.local import _grade
    from grader.core.job import Job
    from grader.run import forkserver
    from grader.run.grade import INTERRUPTED

    echo = course.assignment("echo")
    job = Job.make(course=course, assignment=echo, backend="process",
                   submission=ROOT / "tests/buggy/echo/serial")  # a suite of many seconds
    server = forkserver._server()
    pytest_children: set[int] = set()

    def interrupt_each_child() -> None:  # what a terminal's Ctrl-C does to the children
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not graded.is_set():
            for child in psutil.Process(server.proc.pid).children():
                if child.pid not in pytest_children:
                    pytest_children.add(child.pid)
                    time.sleep(after)
                    os.kill(child.pid, signal.SIGINT)
            time.sleep(0.05)

    graded = threading.Event()
    watcher = threading.Thread(target=interrupt_each_child)
    watcher.start()
    try:
        result, _ = _grade(job, planned=[], sandboxes=None)
    finally:
        graded.set()
        watcher.join()
    assert result.status == "error" and result.reason == INTERRUPTED, result.reason
    assert len(pytest_children) == 1, "the interrupted grading was started again"


def test_grader_failure_is_not_a_zero(course: Course, docker_ready: str) -> None:
    """An image the engine does not have: the grader broke, the student did not."""
    result = grade_submission(course=course, assignment=course.assignment("echo"),
                              submission=ROOT / "reference/echo", backend="docker",
                              image="grader-echo:does-not-exist")
    assert result.status == "error" and result.needs_rerun
    assert "the runtime image grader-echo:does-not-exist is missing" in result.reason
    assert not leftovers()


@pytest.mark.retry_expected
def test_a_retry_is_on_the_record(course: Course, docker_ready: str) -> None:
    """The first run breaks (its image is gone), the second grades: the grade is the second
    run's, and the result, the retry log and (through the fixture above) this test know it."""
    from grader.batch.local import prepare
    from grader.core.job import Job
    from grader.run.grade import RETRY_LOG, run_with_retry

    echo = course.assignment("echo")
    _, image = prepare(course, echo, "docker")
    job = Job.make(course=course, assignment=echo, submission=ROOT / "reference/echo",
                   backend="docker", image="grader-echo:does-not-exist")
    log = Path(os.environ[RETRY_LOG])
    before = log.read_text()
    result = run_with_retry(job, again=lambda _: job.model_copy(update={"image": image}))
    assert result.full_marks, result.reason
    assert "the runtime image grader-echo:does-not-exist is missing" in result.retried
    assert result.retried in log.read_text().removeprefix(before)


def test_missing_submission_gets_a_grade_and_a_reason(tmp_path: Path, course: Course) -> None:
    (tmp_path / "nobody").mkdir()
    result = grade_submission(course=course, assignment=course.assignment("echo"),
                              submission=tmp_path / "nobody", backend="process")
    assert (result.status, result.reason, result.score) == ("missing", "nothing was submitted", 0)
    assert result.max_score == 19 and all(t.feedback.startswith("not run") for t in result.tests)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "code"), [("reference/echo", 0), ("starter/echo", 1)])
def test_check_exit_code_means_full_marks(path: str, code: int) -> None:
    done = subprocess.run([*GRADER, "check", path, "--backend", "process"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == code, done.stdout + done.stderr
    assert ("score: 7/7" if code == 0 else "score: 0/7") in done.stdout


def test_broken_grading_yml_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "grading.yml").write_text("name: x\nassignments: {echo: {weight: heavy}}\n")
    done = subprocess.run([*GRADER, "check", str(ROOT / "reference/echo"), "-a", "echo",
                           "--course", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "grading.yml: assignments.echo.weight: 'heavy' is invalid" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(("requirements", "status", "reason"), [
    ("flask>=3\nWerkzeug  # comment\n", "ok", ""),
    ("numpy==2.0\n", "invalid", "asks for 'numpy', which this assignment does not provide"),
    ("flask<3\n", "invalid", "asks for flask<3, but this assignment provides flask 3.1.3"),
])
def test_submission_requirements_within_the_allowed_packages(
        tmp_path: Path, course: Course, requirements: str, status: str, reason: str) -> None:
    sub = tmp_path / "student"
    shutil.copytree(ROOT / "reference" / "books", sub)
    (sub / "requirements.txt").write_text(requirements)
    result = grade_submission(course=course, assignment=course.assignment("books"),
                              submission=sub, backend="process", hidden=False)
    assert result.status == status and reason in result.reason, result.reason
    assert result.full_marks == (status == "ok")


@pytest.mark.slow  # grades a class through the CLI
def test_a_class_is_never_graded_outside_a_container_unless_asked(tmp_path: Path) -> None:
    """No silent fall-back to no sandbox: without an engine, `grader grade` (docker by default)
    stops with the engine's error and grades nobody; the process backend, named, says in one
    line that there is no container."""
    subs, out = _class(tmp_path / "subs", 1), tmp_path / "out"
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    done = _grade(subs, out, env=env, timeout=120)
    assert done.returncode == 3 and "the Docker engine does not answer" in done.stdout, \
        done.stdout + done.stderr
    assert not list(out.glob("*/grade.json")) and not (out / "grades.csv").exists()
    done = _grade(subs, out, "--backend", "process", env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "grading with the process backend" in done.stdout.splitlines()[0]
    assert load_result(out / "s00") is not None
