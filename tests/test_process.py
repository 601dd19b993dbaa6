"""The process backend is a library: it starts, watches and kills only the submission's own
processes, and changes nothing about the process that calls it. Real processes."""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader.core.config import Course
from grader.sandbox import open_server, process, rights

from .conftest import ROOT

TIER = "process"  # what its tests need (tests/conftest.py)


# Runs of tests/hostile's entries whose processes the catalogue's teardown (and these tests)
# look for by name: in its pytest-xdist worker (tests/test_hostile.py)
HOSTILE_ENTRIES = pytest.mark.xdist_group("hostile")


def _subreaper() -> int:
    flag = ctypes.c_int(0)
    ctypes.CDLL(None, use_errno=True).prctl(37, ctypes.byref(flag))  # PR_GET_CHILD_SUBREAPER
    return flag.value


@HOSTILE_ENTRIES
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


@HOSTILE_ENTRIES
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
            if "hostile-orphan-marker daemon_escapes" in " ".join(p.info["cmdline"] or [])
            and p.info["cmdline"][:1] != ["pgrep"]]


@HOSTILE_ENTRIES
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


RIGHTS_PROBE = """
import errno, os, socket
def attempt(what, act):
    try:
        act()
        print(what, "done", flush=True)
    except OSError as exc:
        print(what, errno.errorcode[exc.errno], flush=True)
def append(path):
    os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
attempt("hidden", lambda: open(HIDDEN, "rb").read())
attempt("results", lambda: append(RESULTS))
attempt("plant", lambda: open(os.path.join(os.path.dirname(RESULTS), "planted"), "x").close())
attempt("signal", lambda: os.kill(GRADER, 0))
attempt("data", lambda: open(os.path.join(os.environ["DATA_DIR"], "mine"), "x").close())
attempt("code", lambda: open("server.py", "a").close())
print("uid", os.getuid(), os.getgid(), os.getgroups(), flush=True)
server = socket.create_server((os.environ["HOST"], int(os.environ["PORT"])))
while True:
    server.accept()[0].close()
"""


def _rights_probe(folder: Path, results: Path) -> Path:
    """A server that tries the grader's rights on targets it is told: the course's hidden test,
    a results file of the grader's (0644 in a 0755 folder, as `grader check --out` leaves
    them), and the grader's own process."""
    results.write_text("{}")
    for name in ("server.py", "app.py"):  # echo's entry, books' entry
        (folder / name).write_text(
            f"HIDDEN = {str(ROOT / 'assignments/echo/hidden/test_robust.py')!r}\n"
            f"RESULTS = {str(results)!r}\nGRADER = {os.getpid()}\n" + RIGHTS_PROBE)
    return folder


def _outcomes(logs: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in logs.splitlines() if " " in line)


ROOT_ONLY = pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0,
                               reason="the grader is not root here: the server runs as its uid")


@ROOT_ONLY
def test_as_root_the_server_has_none_of_the_graders_rights(course: Course, tmp_path) -> None:
    """Where the grader is root and may make a mount namespace (this machine), the server runs
    as a uid of its own in a jail: the hidden tests and the grader's results are not there, the
    grader cannot be signalled, DATA_DIR is its own and its code is read-only."""
    if rights.isolation_here() is not None:
        pytest.skip(f"no jail here: {rights.isolation_here()}")
    books = course.assignment("books")  # an assignment with a DATA_DIR
    (tmp_path / "out").mkdir()
    (tmp_path / "code").mkdir()
    code = _rights_probe(tmp_path / "code", tmp_path / "out" / "results.json")
    with open_server("process", assignment=books, limits=course.limits,
                     submission=code) as server:
        [proc] = psutil.Process(server._root_pid()).children()
        uid = proc.uids()
        assert uid.real not in (0, os.getuid()) and uid.effective == uid.saved == uid.real
        assert server.isolation == {"uid": uid.real, "jail": True}
        got = _outcomes(server.logs())
    assert got["hidden"] == "ENOENT", got  # not in its view of the files at all
    assert got["results"] == "ENOENT" and got["plant"] == "ENOENT", got
    assert got["signal"] == "EPERM", got
    assert got["data"] == "done" and got["code"] in ("EACCES", "EROFS"), got  # 0444, read-only
    assert got["uid"] == f"{uid.real} {uid.real} []", got  # no group of the grader's either
    assert (tmp_path / "out" / "results.json").read_text() == "{}"


@ROOT_ONLY
def test_concurrent_servers_get_uids_of_their_own(course: Course) -> None:
    """Two submissions graded at once cannot signal each other either: a uid each, freed at
    the end."""
    echo = course.assignment("echo")
    servers = [open_server("process", assignment=echo, limits=course.limits,
                           submission=ROOT / "reference/echo") for _ in range(2)]
    try:
        for server in servers:
            server.start()
        uids = [psutil.Process(s._root_pid()).children()[0].uids().real for s in servers]
        assert len(set(uids)) == 2 and 0 not in uids, uids
    finally:
        for server in servers:
            server.stop()
    assert not any(rights.runs_as(uid) for uid in uids)


NO_NAMESPACE = """
import sys
from pathlib import Path
from grader.core.config import load_course
from grader.sandbox import InfraError, open_server, rights
sys.executable = sys.argv[1]  # the Python the server runs with
course = load_course(sys.argv[2])
print("HERE", rights.isolation_here(), flush=True)
try:
    with open_server("process", assignment=course.assignment("books"), limits=course.limits,
                     submission=Path(sys.argv[3])) as server:
        print("ISOLATION", server.isolation)
        print(server.logs(), flush=True)
except InfraError as exc:
    print("REFUSED", exc, flush=True)
"""


def _without_sys_admin(tmp_path: Path, python: str, code: Path) -> str:
    """Run a server the way a container's root runs it: CAP_SYS_ADMIN dropped (capsh)."""
    if not shutil.which("capsh"):
        pytest.skip("capsh is not installed")
    script = tmp_path / "no_namespace.py"
    script.write_text(NO_NAMESPACE)
    done = subprocess.run(["capsh", "--drop=cap_sys_admin", "--", "-c", 'exec "$@"', "_",
                           sys.executable, str(script), python, str(ROOT), str(code)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@ROOT_ONLY
def test_without_a_namespace_the_server_still_runs_as_its_own_uid(course: Course,
                                                                   tmp_path) -> None:
    """Root without CAP_SYS_ADMIN (a Gradescope container): no jail, but never root: the server
    cannot signal the grader or write its results; it can read what every user may (the course
    files here are world-readable), and isolation_here() says so in one line."""
    python = "/usr/bin/python3"  # a Python every user may run, as a container's
    if not rights.others_reach([Path(python)]):
        pytest.skip(f"{python} is not there for every user")
    if not rights.others_reach([ROOT]):  # its runners and support: a checkout in a 0700 folder
        pytest.skip(f"this checkout ({ROOT}) is out of other users' reach: the server's uid "
                    "could not run its runners, so the grader refuses instead")
    (tmp_path / "out").mkdir()
    (tmp_path / "code").mkdir()
    out = _without_sys_admin(tmp_path, python,
                             _rights_probe(tmp_path / "code", tmp_path / "out" / "results.json"))
    here = next(line for line in out.splitlines() if line.startswith("HERE "))
    assert "cannot hide its files" in here and "\n" not in here
    assert "'jail': False" in out, out
    got = _outcomes(out)
    assert got["signal"] == "EPERM" and got["results"] == "EACCES" and got["plant"] == "EACCES"
    assert got["data"] == "done" and got["code"] == "EACCES", got
    assert got["hidden"] == "done"  # what the line above warns about
    assert not got["uid"].startswith("0 ")


@ROOT_ONLY
def test_a_uid_that_cannot_run_python_is_a_refusal_never_root(course: Course, tmp_path) -> None:
    """Without a namespace and with an interpreter other users cannot reach (this machine's
    Python is under /root, 0700), the grader refuses (InfraError: rerun elsewhere, never a
    zero), rather than run the submission as root."""
    if rights.others_reach([Path(sys.executable)]):
        pytest.skip("this Python is there for every user")
    (tmp_path / "code").mkdir()
    out = _without_sys_admin(tmp_path, sys.executable,
                             _rights_probe(tmp_path / "code", tmp_path / "results.json"))
    assert "REFUSED" in out and "CAP_SYS_ADMIN" in out, out
    assert "will not run the server" in out


def test_the_jail_binds_parents_first_and_hides_the_course(tmp_path) -> None:
    """The course is emptied before anything below it is bound back (a venv inside the course
    checkout, its support folder), and / is never bound whole."""
    course = tmp_path / "course"
    mounts = rights.jail_mounts(read_only=[course / "assignments/x/support"],
                                 writable=[tmp_path / "data"], hide=[course], tmpfs="1m")
    paths = [m[1] for m in mounts]
    assert paths.index(str(course)) < paths.index(str(course / "assignments/x/support"))
    assert "/" not in paths and "/tmp" in paths and "/proc" in paths
    assert ("rw", str(tmp_path / "data"), str(tmp_path / "data")) in mounts
    depth = [len(Path(p).parts) for p in paths]
    assert depth == sorted(depth)


@ROOT_ONLY
def test_grader_check_says_what_it_could_not_enforce_and_never_runs_as_root(tmp_path) -> None:
    """`grader check` (what Gradescope's run_autograder runs) as root without CAP_SYS_ADMIN,
    with this machine's Python out of other users' reach: one line says why the server was not
    run, and the exit code is the grader's failure (3: a rerun, never a zero)."""
    if rights.others_reach([Path(sys.executable)]) or not shutil.which("capsh"):
        pytest.skip("this Python is there for every user, or capsh is missing")
    done = subprocess.run(["capsh", "--drop=cap_sys_admin", "--", "-c", 'exec "$@"', "_",
                           sys.executable, "-m", "grader", "check", str(ROOT / "reference/echo"),
                           "-a", "echo", "--backend", "process"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-2000:]
    [line] = [ln for ln in done.stdout.splitlines() if "will not run the server" in ln]
    assert "CAP_SYS_ADMIN" in line
