"""The image's Python on volumes (sandbox/runtime.py): made once, complete or not used, mounted
read-only into every submission's container. Real engine, real volumes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from grader.core.config import Course
from grader.sandbox import LABEL, open_server, runtime
from grader.sandbox.images import runtime_image

from .conftest import ROOT


@pytest.fixture
def own_image(course: Course, docker_ready: str) -> Iterator[str]:
    """An image of its own (the echo image plus a label), so its volumes are this test's. Its
    label and tag name this process: two xdist workers running these tests at once would
    otherwise build one image and remove it from under each other."""
    client = docker.from_env()
    base = runtime_image(course, course.assignment("echo"), log=lambda _: None)
    tag = f"grader-test-runtime:{os.getpid()}"
    image, _ = client.images.build(fileobj=io.BytesIO(
        f"FROM {base}\nLABEL grader-test-runtime={os.getpid()}\n".encode()), tag=tag, rm=True)
    try:
        yield tag
    finally:
        for vol in client.volumes.list(filters={"label": f"{runtime.KEY}={image.id}"}):
            vol.remove(force=True)
        client.images.remove(image.id, force=True)


def _python(client: docker.DockerClient, image: str, mounts: list) -> str:
    return client.containers.run(
        image, ["python3", "-c", "import sys, json; print(sys.prefix, json.__file__)"],
        mounts=mounts, remove=True, network_disabled=True, user="10001:10001",
        read_only=True).decode()


def test_made_once_and_used_read_only(own_image: str) -> None:
    client = docker.from_env()
    assert runtime.mounts(client, own_image) == []  # nothing yet: run from the image itself
    made = runtime.ensure(client, own_image)
    assert {m["Target"] for m in made} == {"/opt/venv", "/usr/lib/python3.11"}
    assert all(m["ReadOnly"] for m in made)
    names = sorted(v.name for v in client.volumes.list(filters={"label": runtime.KEY})
                   if v.name.startswith(made[0]["Source"].rsplit("-", 1)[0]))
    created = {v.name: v.attrs["CreatedAt"] for v in map(client.volumes.get, names)}
    assert runtime.ensure(client, own_image) == made  # a second call makes nothing new
    assert {n: client.volumes.get(n).attrs["CreatedAt"] for n in names} == created
    assert _python(client, own_image, made).split() == [
        "/opt/venv", "/usr/lib/python3.11/json/__init__.py"]
    with pytest.raises(docker.errors.ContainerError):  # read-only for the student
        client.containers.run(own_image, ["touch", "/opt/venv/x"], mounts=made, remove=True,
                              network_disabled=True, user="10001:10001")
    # Not reaped as a leftover of a dead grader: a cache, like the image
    assert not client.volumes.list(filters={"label": LABEL, "name": made[0]["Source"]})


def test_a_set_cut_short_is_not_used_and_is_made_again(own_image: str) -> None:
    client = docker.from_env()
    made = runtime.ensure(client, own_image)
    ready = made[0]["Source"].rsplit("-", 1)[0] + "-ready"
    client.volumes.get(ready).remove()  # as if the filling had been cut short
    assert runtime.mounts(client, own_image) == []
    assert runtime.ensure(client, own_image) == made
    assert "/opt/venv" in _python(client, own_image, made)


def test_submissions_run_on_the_runtime_volumes(course: Course, docker_ready: str) -> None:
    echo = course.assignment("echo")
    image = runtime_image(course, echo, log=lambda _: None)
    with open_server("docker", assignment=echo, limits=course.limits, image=image,
                     submission=ROOT / "reference" / "echo") as server:
        app = docker.from_env().containers.get(server._box.box.id)  # noqa: SLF001
        mounts = {m["Destination"]: m for m in app.attrs["Mounts"]}
        for path in ("/opt/venv", "/usr/lib/python3.11"):
            assert mounts[path]["Type"] == "volume" and mounts[path]["RW"] is False
            assert mounts[path]["Name"].startswith("grader-runtime-")


_ENSURE = """\
import json, sys, docker
from grader.sandbox import runtime
mounts = runtime.ensure(docker.from_env(), sys.argv[1])
print(json.dumps([[m["Target"], m["Source"]] for m in mounts]))
"""
# What every batch does first (batch/local.py): remove the leftovers of graders that are gone.
_REAP = """\
import time
from grader.sandbox.docker import reap
while True:
    reap()
    time.sleep(0.02)
"""


def test_two_graders_at_once_from_nothing(course: Course, docker_ready: str,
                                          tmp_path: Path) -> None:
    """Two graders that share the engine but not a /tmp (two clones in two containers, or two
    hosts: a file lock cannot see the other) fill one image's volumes at the same moment, while a
    third starts batch after batch (each first reaps what dead graders left); both end with the
    same complete set, filled once, and no lock is left behind."""
    client = docker.from_env()
    base = runtime_image(course, course.assignment("echo"), log=lambda _: None)
    tag = f"grader-test-twograders:{os.getpid()}"  # an image of its own: its volumes are ours
    image, _ = client.images.build(fileobj=io.BytesIO(
        f"FROM {base}\nLABEL grader-test-twograders={os.getpid()}\n".encode()),
        tag=tag, rm=True)
    ours = {"label": f"{runtime.KEY}={image.id}"}
    reaper = subprocess.Popen([sys.executable, "-c", _REAP])
    try:
        for vol in client.volumes.list(filters=ours):  # from nothing
            vol.remove(force=True)
        graders = []
        for n in range(2):
            tmp = tmp_path / f"tmp{n}"
            tmp.mkdir()
            graders.append(subprocess.Popen(
                [sys.executable, "-c", _ENSURE, tag], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmp)}))
        done = [(g.wait(timeout=120), *g.communicate()) for g in graders]
        for rc, _, err in done:
            assert rc == 0, err[-2000:]
        made = [json.loads(out) for _, out, _ in done]
        assert made[0] == made[1]
        assert {target for target, _ in made[0]} == {"/opt/venv", "/usr/lib/python3.11"}
        mounts = runtime.mounts(client, tag)
        assert [[m["Target"], m["Source"]] for m in mounts] == made[0]
        # One set (the data volumes and the mark), each volume made by the filler, labelled
        assert len(client.volumes.list(filters=ours)) == len(mounts) + 1
        assert not client.containers.list(all=True, filters={"name": "grader-lock-"})
        reaper.kill()
        assert _python(client, tag, mounts).split() == [
            "/opt/venv", "/usr/lib/python3.11/json/__init__.py"]
    finally:
        reaper.kill()
        reaper.wait()
        for vol in client.volumes.list(filters=ours):
            vol.remove(force=True)
        client.images.remove(image.id, force=True)


_HOLD = """\
import sys, time, docker
from grader.sandbox import runtime
with runtime.engine_lock(docker.from_env(), sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
print("released", flush=True)
"""


def test_the_engine_lock_waits_for_a_live_holder_and_not_for_a_dead_one(
        course: Course, docker_ready: str) -> None:
    client = docker.from_env()
    image = runtime_image(course, course.assignment("echo"), log=lambda _: None)
    key = f"test-{os.getpid()}"
    with subprocess.Popen([sys.executable, "-c", _HOLD, key, image, "2"],
                          stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            started = time.monotonic()
            with runtime.engine_lock(client, key, image):
                waited = time.monotonic() - started
                assert holder.stdout.readline() == "released\n"  # only after the holder let go
            assert waited > 1
        finally:
            holder.kill()
    # A holder killed while holding: its lock is taken over at once (its owner is gone)
    with subprocess.Popen([sys.executable, "-c", _HOLD, key, image, "60"],
                          stdout=subprocess.PIPE, text=True) as dead:
        assert dead.stdout is not None and dead.stdout.readline() == "held\n"
        dead.kill()
    started = time.monotonic()
    with runtime.engine_lock(client, key, image):
        assert time.monotonic() - started < 5
    assert not client.containers.list(all=True, filters={"name": f"grader-lock-{key}"})
