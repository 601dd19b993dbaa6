"""The wall-clock budget covers a whole submission, and is counted like every wait (the server's
start too): in time the server and the suite had to work in. A submission that needs more of
its own time runs out; one that a busy machine (a class graded four suites to a core, the
neighbours of a CI run) slowed down does not. Real servers through the process backend; real
load: processes spinning on the one CPU the grading is pinned to."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import pytest

from grader.core.config import load_course
from grader.run.grade import grade_submission

TIER = "process"  # what its tests need (tests/conftest.py)
BUDGET = 3  # s: the course's wall-clock budget here

SERVER = """\
import os, socket
server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    with conn:
        conn.sendall(conn.recv(100))
"""

# Each test echoes once, then does `WORK` CPU seconds of the suite's own work (a parser, a
# generator of requests, say), so the suite as a whole needs 4 * WORK s of CPU.
SUITE = """\
import time

WORK = {work}

def echo(connect):
    sock = connect()
    sock.sendall(b"hi")
    assert sock.recv(100) == b"hi", "no echo"
    end = time.thread_time() + WORK
    while time.thread_time() < end:
        pass

def test_1(connect):
    echo(connect)

def test_2(connect):
    echo(connect)

def test_3(connect):
    echo(connect)

def test_4(connect):
    echo(connect)
"""


def _grade(tmp: Path, work: float, *, server: str = SERVER, startup: float = 10):
    (tmp / "assignments/echoing/tests").mkdir(parents=True)
    (tmp / "grading.yml").write_text(
        f"name: c\nlimits: {{wall: {BUDGET}}}\nassignments:\n  echoing: {{}}\n")
    (tmp / "assignments/echoing/assignment.yml").write_text(
        f"title: Echoing\nstartup_timeout: {startup}\n")
    (tmp / "assignments/echoing/tests/test_echoing.py").write_text(SUITE.format(work=work))
    (tmp / "sub").mkdir()
    (tmp / "sub/server.py").write_text(server)
    course = load_course(tmp)
    return grade_submission(course=course, assignment=course.assignment("echoing"),
                            submission=tmp / "sub", backend="process")


def _tasks() -> list[int]:
    """Every thread of this process and of the processes it started (the grader's fork server,
    started by an earlier test, forks the suites)."""
    pids = [os.getpid(), *(p.pid for p in psutil.Process().children(recursive=True))]
    tasks = []
    for pid in pids:
        with suppress(FileNotFoundError):
            tasks += [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    return tasks


@contextmanager
def _crowded(spinners: int) -> Iterator[None]:
    """This process and what it started, and so the grading (the suite and the server inherit
    it), pinned to one CPU that `spinners` processes spin on. Each spinner in a session of its
    own, like the suite and the server: where the kernel groups CPU time by session
    (autogroup), they then share the CPU as processes."""
    before = os.sched_getaffinity(0)
    cpu = min(before)
    tasks = _tasks()
    for tid in tasks:
        with suppress(ProcessLookupError):
            os.sched_setaffinity(tid, {cpu})
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            for _ in range(spinners)]
    try:
        yield
    finally:
        for proc in spin:
            proc.kill()
            proc.wait()
        for tid in _tasks():  # and what started meanwhile (the fork server, if it was new)
            with suppress(ProcessLookupError):  # a thread that ended meanwhile
                os.sched_setaffinity(tid, before)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux's CPU affinity")
def test_a_busy_machine_does_not_use_up_the_budget(tmp_path: Path) -> None:
    """1.6 s of the suite's work on half a CPU at most (a process spins beside it): the grading
    takes longer than the budget of 3 s, and still every test passes (the load's share is
    added back). One spinner, not more: the rest of the machine (a parallel test run) may crowd
    that CPU too, and a share under about a seventh would take the suite past what the load may
    add back (STRETCH times the budget), where the grader rightly stops."""
    with _crowded(1):
        result = _grade(tmp_path, work=0.4)
    assert result.status == "ok", result.reason
    assert [t.status for t in result.tests] == ["passed"] * 4, result.tests
    assert result.duration > BUDGET, f"not slowed down enough to show: {result.duration} s"


def test_a_suite_that_needs_more_than_the_budget_runs_out(tmp_path: Path) -> None:
    """6 s of the suite's own work against 3 s: the run is stopped in the test running at the
    end of the budget, and the later tests are not run."""
    result = _grade(tmp_path, work=1.5)
    assert result.status == "timeout", (result.status, result.reason)
    assert result.reason == f"the submission used up its wall-clock budget of {BUDGET} s"
    assert result.tests[0].status == "passed"
    last = result.tests[-1]  # cut at the budget between tests or in one: either says why
    assert last.status == "failed" and "budget" in last.feedback, last


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux's CPU affinity")
def test_a_busy_machine_does_not_make_a_start_late(tmp_path: Path) -> None:
    """A server that computes for 1 s of CPU before it listens, against a startup_timeout of
    1.5 s, on half a CPU at most: 2 s or more, and it is not taken for one that never listens
    (one spinner: more would leave a crowded machine too little for what the load may add back,
    4 times the timeout)."""
    slow = "import time\nend = time.process_time() + 1\nwhile time.process_time() < end:\n" \
           "    pass\n" + SERVER
    with _crowded(1):
        result = _grade(tmp_path, work=0, server=slow, startup=1.5)
    assert result.status == "ok", result.reason
    assert [t.status for t in result.tests] == ["passed"] * 4, result.tests
