"""A crash costs one test: the server is restarted for the rest, up to a bound, and a test that
needs a server that never crashed says so. Real servers, through the process backend."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.core.config import load_course
from grader.run.grade import grade_submission

TIER = "process"  # what its tests need (tests/conftest.py)

SERVER = """\
import os, socket
server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    with conn:
        data = conn.recv(100)
        if data == b"crash":
            raise RuntimeError("asked to crash")
        conn.sendall(data)
"""

SUITE = """\
import pytest

def ask(connect, data):
    sock = connect()
    sock.sendall(data)
    return sock.recv(100)

def test_1_before(connect):
    assert ask(connect, b"hi") == b"hi"

def test_2_crash(connect):
    assert ask(connect, b"crash") == b"crash", "no echo"

@pytest.mark.never_crashed
def test_3_since_start(connect):
    assert ask(connect, b"hi") == b"hi"

def test_4_after(connect):
    assert ask(connect, b"hi") == b"hi"

def test_5_crash_again(connect):
    assert ask(connect, b"crash") == b"crash", "no echo"

def test_6_last(connect):
    assert ask(connect, b"hi") == b"hi"
"""


def _course(tmp: Path, restarts: int) -> Path:
    (tmp / "assignments/crashy/tests").mkdir(parents=True)
    (tmp / "grading.yml").write_text("name: c\nassignments:\n  crashy: {}\n")
    (tmp / "assignments/crashy/assignment.yml").write_text(
        f"title: Crashy\nrestarts: {restarts}\n")
    (tmp / "assignments/crashy/tests/test_crashy.py").write_text(SUITE)
    (tmp / "sub").mkdir()
    (tmp / "sub/server.py").write_text(SERVER)
    return tmp


@pytest.mark.parametrize("restarts", [10, 1])
def test_a_crash_costs_one_test(tmp_path: Path, restarts: int) -> None:
    course = load_course(_course(tmp_path, restarts))
    result = grade_submission(course=course, assignment=course.assignment("crashy"),
                              submission=tmp_path / "sub", backend="process")
    got = {t.name.rpartition("::")[2]: (t.status, t.feedback) for t in result.tests}
    assert result.status == "ok", result.reason
    assert got["test_1_before"][0] == got["test_4_after"][0] == "passed"
    crash = "the server exited with code 1 during this test: RuntimeError: asked to crash"
    assert got["test_2_crash"][0] == "failed" and got["test_2_crash"][1].startswith(crash)
    assert "(the test saw: no echo)" in got["test_2_crash"][1]
    assert got["test_3_since_start"] == ("failed", textwrap.shorten(
        "not run: this test needs a server that never crashed, and the server exited with "
        "code 1 during 'test 2 crash': RuntimeError: asked to crash", 500))
    assert got["test_5_crash_again"][1].startswith(crash)
    if restarts == 10:
        assert got["test_6_last"][0] == "passed"
    else:  # the second crash is past the bound: no more restarts
        assert got["test_6_last"] == ("failed", "not run: the server stopped 2 times; the grader "
                                      "does not restart it again (the server exited with code 1 "
                                      "during 'test 5 crash again': RuntimeError: asked to crash)")
    assert result.reason.startswith("the server exited with code 1 during 'test 2 crash': "
                                    "RuntimeError: asked to crash (and 1 more time)")
    assert result.crashes and len(result.crashes) == 2


ONCE = """\
import os, socket, sys
mark = os.path.join(os.environ["DATA_DIR"], "started")
if os.path.exists(mark):
    sys.exit("refusing to start twice")
open(mark, "w").close()
server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    with conn:
        conn.sendall(conn.recv(100))
"""

RESTART_SUITE = """\
def test_1_before(connect):
    sock = connect()
    sock.sendall(b"hi")
    assert sock.recv(10) == b"hi"

def test_2_restart(server, connect):
    server.restart()

def test_3_after(connect):
    connect()
"""


def test_a_server_that_does_not_start_again_is_graded_not_no_server(tmp_path: Path) -> None:
    root = _course(tmp_path, 10)
    (root / "assignments/crashy/assignment.yml").write_text("title: Crashy\ndata_dir: true\n")
    (root / "assignments/crashy/tests/test_crashy.py").write_text(RESTART_SUITE)
    (root / "sub/server.py").write_text(ONCE)
    course = load_course(root)
    result = grade_submission(course=course, assignment=course.assignment("crashy"),
                              submission=tmp_path / "sub", backend="process")
    got = {t.name.rpartition("::")[2]: (t.status, t.feedback) for t in result.tests}
    assert result.status == "ok" and result.score == 1, result.reason
    why = ("the server did not start again after a restart: the server exited with code 1 "
           "before listening on port")
    assert got["test_2_restart"][0] == "failed" and got["test_2_restart"][1].startswith(why)
    assert got["test_2_restart"][1].endswith("refusing to start twice")
    assert got["test_3_after"][1].startswith(f"not run: {why}")
