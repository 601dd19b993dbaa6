"""The image's Python on volumes (sandbox/runtime.py): made once, complete or not used, mounted
read-only into every submission's container. Real engine, real volumes."""

from __future__ import annotations

import io
from collections.abc import Iterator

import docker
import pytest

from grader.core.config import Course
from grader.sandbox import LABEL, open_server, runtime
from grader.sandbox.images import runtime_image

from .conftest import ROOT


@pytest.fixture
def own_image(course: Course, docker_ready: str) -> Iterator[str]:
    """An image of its own (the echo image plus a label), so its volumes are this test's."""
    client = docker.from_env()
    base = runtime_image(course, course.assignment("echo"), log=lambda _: None)
    image, _ = client.images.build(fileobj=io.BytesIO(
        f"FROM {base}\nLABEL grader-test-runtime=1\n".encode()), tag="grader-test-runtime:1",
        rm=True)
    try:
        yield "grader-test-runtime:1"
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
        app = docker.from_env().containers.get(server._container.id)  # noqa: SLF001
        mounts = {m["Destination"]: m for m in app.attrs["Mounts"]}
        for path in ("/opt/venv", "/usr/lib/python3.11"):
            assert mounts[path]["Type"] == "volume" and mounts[path]["RW"] is False
            assert mounts[path]["Name"].startswith("grader-runtime-")
