"""The process backend is a library: it starts, watches and kills only the submission's own
processes, and changes nothing about the process that calls it. Real processes."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader.core.config import Course
from grader.sandbox import open_server, process

from .conftest import ROOT

TIER = "process"  # what its tests need (tests/conftest.py)


def _subreaper() -> int:
    flag = ctypes.c_int(0)
    ctypes.CDLL(None, use_errno=True).prctl(37, ctypes.byref(flag))  # PR_GET_CHILD_SUBREAPER
    return flag.value


def test_only_the_submissions_processes_are_touched(course: Course) -> None:
    mine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        echo = course.assignment("echo")
        with open_server("process", assignment=echo, limits=course.limits,
                         submission=ROOT / "tests/hostile/orphan_child") as server:
            family = [p for p in psutil.process_iter(["cmdline"])
                      if "hostile-orphan-marker" in " ".join(p.info["cmdline"] or [])]
            assert family, "the hostile entry's grandchild should be running"
            assert server.listeners()
        assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family)
        assert mine.poll() is None, "a child of the caller was killed"
        assert _subreaper() == 0, "the caller was made a subreaper"
    finally:
        mine.kill()
        mine.wait()


def test_started_from_a_worker_thread(course: Course) -> None:
    """No preexec_fn: starting from a thread pool is safe (limits are set by the launcher)."""
    out: list[object] = []

    def run() -> None:
        with open_server("process", assignment=course.assignment("echo"), limits=course.limits,
                         submission=ROOT / "reference/echo") as server:
            out.append(server.listeners())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(out) == 3 and all(out)


def test_idle_share_tells_a_blocked_server_from_a_poller(course: Course) -> None:
    """The idle meter (the basis of the 'kept a core busy' note): 0 for a server that blocks in
    accept, most of a core for one that polls with select(..., 0)."""
    echo = course.assignment("echo")
    shares = {}
    for name in ("reference/echo", "tests/hostile/busy_poller"):
        with open_server("process", assignment=echo, limits=course.limits,
                         submission=ROOT / name) as server:
            shares[name] = server.idle_meter()()
    assert shares["reference/echo"] == 0.0
    assert shares["tests/hostile/busy_poller"] is not None
    assert shares["tests/hostile/busy_poller"] > 0.5


SPINNERS = """
import os, socket, threading
def spin():
    while True:
        pass
for _ in range(4):
    threading.Thread(target=spin, daemon=True).start()
server = socket.create_server((os.environ["HOST"], int(os.environ["PORT"])))
clients = []
while True:
    clients.append(server.accept()[0])  # kept open: the client decides when it ends
"""


def test_idle_share_waits_for_no_client_and_is_capped_at_the_allowed_cpu(
        course: Course, tmp_path) -> None:
    """The meter says nothing while a client's socket is still open (no "no client connected"
    without that evidence), and measures once it closes: four spinning threads under a one-CPU
    limit are 100% of what the server may use, never 400% (seen before: "687% of a core")."""
    (tmp_path / "server.py").write_text(SPINNERS)
    limits = course.limits.model_copy(update={"cpus": 1.0})
    with open_server("process", assignment=course.assignment("echo"), limits=limits,
                     submission=tmp_path) as server:
        client = socket.create_connection((server.host, server.port))
        try:
            assert server.idle_meter(settle=0.5)() is None
        finally:
            client.close()
        share = server.idle_meter()()
    assert share is not None and 0.5 < share <= 1.0, share


ENV_PRINTER = """
import os, socket
print("ENV", " ".join(sorted(os.environ)), flush=True)
server = socket.create_server((os.environ["HOST"], int(os.environ["PORT"])))
while True:
    server.accept()[0].close()
"""


def test_the_server_gets_the_contract_never_the_graders_environment(
        course: Course, tmp_path, monkeypatch) -> None:
    """A token in the grader's environment (GH_TOKEN, say) never reaches the student's server:
    it gets PATH, HOME, LANG, the contract's variables and the assignment's own, and no other."""
    monkeypatch.setenv("GH_TOKEN", "ghp_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "also secret")
    (tmp_path / "server.py").write_text(ENV_PRINTER)
    with open_server("process", assignment=course.assignment("echo"), limits=course.limits,
                     submission=tmp_path) as server:
        [line] = [ln for ln in server.logs().splitlines() if ln.startswith("ENV ")]
    names = set(line.split()[1:])
    assert not {"GH_TOKEN", "AWS_SECRET_ACCESS_KEY"} & names
    assert {"PATH", "HOME", "LANG", "PORT", "HOST"} <= names
    assert names <= {"PATH", "HOME", "LANG", "PORT", "HOST", "PYTHONUNBUFFERED",
                     "PYTHONDONTWRITEBYTECODE", "MALLOC_ARENA_MAX", "GRADER_RUN", "LC_CTYPE"}, names


def _daemons() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"])
            if "daemon_escapes" in " ".join(p.info["cmdline"] or [])
            and p.info["cmdline"][:1] != ["pgrep"]]


@pytest.mark.parametrize("tracking", ["cgroup", "subreaper"])
def test_a_daemon_that_sheds_every_mark_does_not_survive(course: Course, tracking: str,
                                                          monkeypatch) -> None:
    """tests/hostile/daemon_escapes double-forks, calls setsid and execs itself with an empty
    environment: no process group, parent or variable leads to it. It still dies with the
    grading, and leaves no cgroup behind; with a cgroup where this machine can make one, and
    with the subreaper alone (as where /sys/fs/cgroup is read-only)."""
    if tracking == "subreaper":
        monkeypatch.setattr(process, "_make_cgroup", lambda limits: None)
    elif (probe := process._make_cgroup(course.limits)) is None:
        pytest.skip("no cgroup v2 can be made here (read-only or not delegated)")
    else:
        probe.rmdir()
    echo = course.assignment("echo")
    with open_server("process", assignment=echo, limits=course.limits,
                     submission=ROOT / "tests/hostile/daemon_escapes") as server:
        deadline = time.monotonic() + 5
        while not (daemons := _daemons()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemons, "the hostile entry's daemon should be running"
        [daemon] = daemons
        assert daemon.environ() == {}, "the daemon should have shed its environment"
        assert os.getsid(daemon.pid) != os.getsid(server._root_pid() or 0)
        cgroup = server.tracking
        assert (cgroup is not None) == (tracking == "cgroup")
    survivors = [p for p in daemons if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not survivors, f"the daemon outlived the grading: {survivors}"
    if cgroup:
        assert not Path(cgroup).exists(), "the submission's cgroup was left behind"
