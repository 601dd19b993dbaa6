"""`grader check` on a student's laptop: it always finds a way to run (and says which), reports
what a student can act on, reruns on save, and exits 0 only at full marks."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from grader.core.config import load_course
from grader.student.checking import (
    PROCESS_UNCHECKED,
    WINDOWS,
    UnsupportedPlatform,
    pick_backend,
)

from .conftest import ROOT, as_in_a_terminal

TIER = "process"  # what its tests need (tests/conftest.py)

GRADER = [sys.executable, "-m", "grader"]


def _course_with_base(tmp: Path, base_image: str) -> Path:
    """The real course with another base_image (assignments shared through a symlink)."""
    data = yaml.safe_load((ROOT / "grading.yml").read_text())
    (tmp / "grading.yml").write_text(yaml.safe_dump({**data, "base_image": base_image}))
    (tmp / "assignments").symlink_to(ROOT / "assignments")
    (tmp / "roster.csv").symlink_to(ROOT / "roster.csv")
    return tmp


def _without_debootstrap() -> dict[str, str]:
    """A laptop's PATH: no debootstrap (it lives in /usr/sbin here)."""
    path = [p for p in os.environ["PATH"].split(os.pathsep) if "sbin" not in p]
    assert shutil.which("debootstrap", path=os.pathsep.join(path)) is None
    return {**os.environ, "PATH": os.pathsep.join(path)}


def _check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADER, "check", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=300)


def test_missing_image_without_debootstrap_falls_back_to_a_process(tmp_path: Path,
                                                                   docker_ready: str) -> None:
    course = _course_with_base(tmp_path, "grader-base:missing-in-this-test")
    done = _check("reference/echo", "-a", "echo", "--course", str(course),
                  env=_without_debootstrap())
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    fallback = [line for line in lines if "using a local process instead" in line]
    # what a student can do (nothing), never the course's own tools (debootstrap, make images)
    assert len(fallback) == 1 and "nothing for you to do" in fallback[0]
    assert "debootstrap" not in done.stdout and "make images" not in done.stdout
    assert "(process backend)" in done.stdout and "(all passed)" in done.stdout
    # asked for explicitly, Docker is not replaced: the reason is the error
    done = _check("reference/echo", "-a", "echo", "--course", str(course), "--backend", "docker",
                  env=_without_debootstrap())
    assert done.returncode == 3 and "needs root and debootstrap" in done.stdout


def test_unreachable_registry_builds_on_the_local_base(tmp_path: Path, docker_ready: str) -> None:
    with socket.socket() as s:  # a port on loopback that nothing listens on: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    course = _course_with_base(tmp_path, f"127.0.0.1:{port}/grader-base:missing")
    done = _check("reference/echo", "-a", "echo", "--course", str(course),
                  env=_without_debootstrap())
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"127.0.0.1:{port}/grader-base:missing could not be pulled" in done.stdout
    assert "(docker backend)" in done.stdout


@pytest.mark.pure
def test_windows_is_told_to_use_wsl_or_docker() -> None:
    course = load_course(ROOT)
    with pytest.raises(UnsupportedPlatform, match="WSL") as err:
        pick_backend(course=course, assignment=course.assignment("echo"), backend="process",
                     log=print, platform="win32")
    assert str(err.value) == WINDOWS


def test_a_server_that_never_listens_is_one_line_and_its_output(tmp_path: Path) -> None:
    sub = tmp_path / "echo"
    sub.mkdir()
    (sub / "server.py").write_text(
        "import sys\n"
        "for i in range(15):\n"
        "    print(f'\\x1b[33mwarming up {i}\\x1b[0m', flush=True)\n"
        "print('::error::not from the grader', flush=True)\n"
        "sys.exit('\\x1b[31mcannot start: no config\\x1b[0m')\n")
    done = _check(str(sub), "-a", "echo", "--backend", "process")
    assert done.returncode == 1
    out = done.stdout
    assert "no server: the server exited with code 1 before listening" in out
    assert "not run" not in out.replace("tests not run", "")  # no row per test
    assert "cannot start: no config" in out and "warming up 14" in out
    assert "\x1b" not in out and "[33m" not in out and "\\x1b" not in out
    assert "> ::error::not from the grader" in out
    assert out.count(PROCESS_UNCHECKED) == 1  # what this run could not check, said once


@pytest.mark.slow
def test_watch_reruns_when_a_file_changes(tmp_path: Path) -> None:
    sub = tmp_path / "echo"
    shutil.copytree(ROOT / "starter/echo", sub)
    proc = subprocess.Popen(as_in_a_terminal([*GRADER, "check", str(sub), "-a", "echo",
                                              "--course", str(ROOT), "--backend", "process",
                                              "--watch"]), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    everything: list[str] = []  # for the message when it fails
    threading.Thread(target=lambda: [(lines.put(x), everything.append(x)) for x in proc.stdout],
                     daemon=True).start()

    def wait_for(text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
            if text in seen[-1]:
                return
        raise AssertionError(f"no {text!r} in:\n{''.join(seen)}")

    try:
        wait_for("watching for changes")
        time.sleep(1.5)  # the watcher starts just after that line
        shutil.copy(ROOT / "reference/echo/server.py", sub / "server.py")
        wait_for("changed: server.py")
        wait_for("(all passed)")
        while True:  # a save can come as two events: let a second run finish before Ctrl-C
            try:
                line = lines.get(timeout=2)
            except queue.Empty:
                break
            if "changed:" in line:
                wait_for("score:")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)  # a run under way tears its server down first
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    # how the last run (the reference) went; -9: Ctrl-C did not stop it within a minute
    assert proc.returncode == 0, "".join(everything)[-3000:]


def _backends_reason(text: str) -> str:
    """The comment written beside an expect.yml's `backends:` key: on its line, or on the
    comment lines right above or below it."""
    lines = text.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith("backends:")]
    said = [lines[at].partition("#")[2]]
    for step in (-1, 1):
        i = at + step
        while 0 <= i < len(lines) and (lines[i].lstrip().startswith(("#", "- "))):
            said.append(lines[i].partition("#")[2])
            i += step
    return " ".join(part.strip() for part in said if part.strip())


@pytest.mark.pure
def test_docker_only_entries_say_why_and_check_says_what_it_could_not() -> None:
    """One submission, one grade: a buggy variant is graded the same on both backends, so none
    says `backends:`; a hostile entry may stay docker-only for a limit the process backend
    truly cannot enforce, with its reason written beside it, and then `grader check` on the
    process backend says in one line what it could not check (PROCESS_UNCHECKED)."""
    buggy = sorted((ROOT / "tests/buggy").glob("*/*/expect.yml"))
    hostile = sorted((ROOT / "tests/hostile").glob("*/expect.yml"))
    assert buggy and hostile
    split = [p for p in buggy if "backends" in yaml.safe_load(p.read_text())]
    assert not [p for p in split if len(_backends_reason(p.read_text()).split()) < 4], split
    docker_only = [p.parent.name for p in hostile
                   if yaml.safe_load(p.read_text()).get("backends", ["process"]) == ["docker"]]
    for name in docker_only:
        reason = _backends_reason((ROOT / "tests/hostile" / name / "expect.yml").read_text())
        assert len(reason.split()) >= 4, f"tests/hostile/{name}: docker only, with no reason"
    assert bool(docker_only) == bool(PROCESS_UNCHECKED)
