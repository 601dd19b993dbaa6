"""The image's Python served from volumes, so a starting server reads it at disk speed.

Where the engine keeps images on fuse-overlayfs (rootless or nested engines, as on this
project's machines), every file a starting Python opens goes through a userspace filesystem:
`import flask` takes 0.17 s instead of 0.08 s, at every start and restart of every submission.
So each runtime image gets a plain copy of its venv and its standard library in named volumes
(the engine fills an empty volume from the image when it is first mounted), and submissions'
containers mount them read-only over the same paths: the same files, read without FUSE. Made
once per image, kept like the image, removed by `grader clean`. A container started without
them (no volumes yet, engine elsewhere) runs from the image's own files, only slower.

Graders share the engine (two terminals, a TA's `grader check` during `make grade`, two clones,
two hosts or containers on one engine): one filler per image at a time, held on the engine
itself (`engine_lock`: a container's name is unique there), and every container made here
carries its owner's labels, so another grader's `reap` does not take it for a dead grader's.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from docker.errors import APIError, DockerException, NotFound
from docker.types import Mount

from grader.core.job import owner_id, process_start
from grader.sandbox.base import LABEL, InfraError
from grader.sandbox.netns import remove

__all__ = ["KEY", "engine_lock", "ensure", "mounts", "owned", "remove_all"]

KEY = f"{LABEL}.runtime"  # not LABEL itself: `reap` must not take them for leftovers
_WHERE = "import sys, sysconfig; print(sys.prefix); print(sysconfig.get_paths()['stdlib'])"


def ensure(client: Any, image: str) -> list[Mount]:
    """The image's runtime volumes, made (and filled) when missing."""
    image_id = client.images.get(image).id
    found = mounts(client, image_id)
    if found:
        return found
    # One filler per image on the engine: a second filling of a volume in use would rewrite files
    # that running servers read, and would remove volumes the first one is filling.
    with engine_lock(client, f"runtime-{_short(image_id)}", image_id):
        return mounts(client, image_id) or _make(client, image_id)


def owned(**kwargs: Any) -> dict[str, Any]:
    """`containers.run`/`create` arguments with this process's owner labels added: an image
    may carry our label (images.py's did), and a container with it but no owner is what `reap`
    removes as a dead grader's leftover, even while it runs."""
    host, _, pid = owner_id().rpartition(":")
    pid, _, started = pid.partition("@")  # as docker.owner_labels, which reap reads
    return {**kwargs, "labels": {**kwargs.get("labels", {}), LABEL: "1",
                                 f"{LABEL}.owner": pid, f"{LABEL}.host": host,
                                 f"{LABEL}.started": started}}


@contextmanager
def engine_lock(client: Any, key: str, image: str, *, patience: float = 1800) -> Iterator[None]:
    """Held by one grader at a time among all that use this engine: a container named
    `grader-lock-KEY` (created, never started; the engine refuses a second of that name),
    removed on release. A holder that died on this host is seen as such and its lock taken
    over (`reap` removes it too); one of another host is waited for up to `patience` seconds.
    `image`: any image present (the container is never started)."""
    name = f"grader-lock-{key}"
    deadline = time.monotonic() + patience
    while True:
        try:
            held = client.containers.create(image, ["true"], name=name, network_disabled=True,
                                            **owned(labels={f"{LABEL}.lock": key}))
            break
        except APIError as exc:
            if exc.status_code != 409:  # 409: the name is taken, another grader holds it
                raise InfraError(f"docker could not make the lock {name}: {exc}") from None
        try:
            other = client.containers.get(name)
        except NotFound:
            continue  # released meanwhile
        labels = other.attrs.get("Config", {}).get("Labels") or {}
        owner = (f"{labels.get(f'{LABEL}.host', '')}:{labels.get(f'{LABEL}.owner', '')}"
                 f"@{labels.get(f'{LABEL}.started', '')}")
        if _gone(owner):
            remove(other)
            continue
        if time.monotonic() > deadline:
            raise InfraError(f"{name} is still held by grader {owner} after {patience:.0f} s; "
                             f"if that grader is gone, `docker rm -f {name}`")
        time.sleep(0.2)
    try:
        yield
    finally:
        remove(held)


def mounts(client: Any, image: str) -> list[Mount]:
    """Read-only mounts of the image's runtime volumes ([] when they are not ready). `image`:
    a tag or an id."""
    try:
        image_id = image if image.startswith("sha256:") else client.images.get(image).id
        ready = client.volumes.list(filters={"label": f"{KEY}={image_id}"})
    except DockerException:
        return []
    marks = [v for v in ready if v.name == _name(image_id, "ready")]
    if not marks:
        return []
    paths = (marks[0].attrs.get("Labels") or {}).get(f"{KEY}.paths", "").split(":")
    return [Mount(path, _name(image_id, str(i)), type="volume", read_only=True)
            for i, path in enumerate(paths) if path]


def _make(client: Any, image_id: str) -> list[Mount]:
    """Fill one volume per path, then mark them ready: a volume named `...-ready` whose labels
    list the paths (volumes cannot be relabelled, and a half-made set must never be used)."""
    try:
        out = client.containers.run(image_id, ["python3", "-c", _WHERE],
                                    **owned(remove=True, network_disabled=True))
        paths = [p for p in out.decode().splitlines() if p.startswith("/")]
        labels = {KEY: image_id}
        for i in range(len(paths)):
            vol = _name(image_id, str(i))
            try:  # a leftover of a filling that was cut short: start again from empty
                client.volumes.get(vol).remove(force=True)
            except DockerException:
                pass
            client.volumes.create(vol, labels=labels)
        client.containers.run(  # mounting an empty volume fills it from the image
            image_id, ["true"], **owned(
                remove=True, network_disabled=True,
                mounts=[Mount(p, _name(image_id, str(i)), type="volume")
                        for i, p in enumerate(paths)]))
        client.volumes.create(_name(image_id, "ready"),
                              labels={**labels, f"{KEY}.paths": ":".join(paths)})
    except DockerException as exc:
        raise InfraError(f"docker could not copy the image's Python to volumes: {exc}") \
            from None
    return mounts(client, image_id)


def _gone(owner: str) -> bool:
    """Is the owner ("host:pid@start") a process of this host that is gone (or a reused pid)?
    Another host's is not ours to judge. (docker._dead, for the locks: docker.py imports this
    module.)"""
    host, _, pid = owner.rpartition(":")
    pid, _, started = pid.partition("@")
    if host != socket.gethostname():
        return False
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: alive
    now = process_start(int(pid))
    return bool(started and now) and now != started


def remove_all(client: Any) -> int:
    """Every runtime volume (`grader clean`); ones in use by a running container stay."""
    removed = 0
    for vol in client.volumes.list(filters={"label": KEY}):
        try:
            vol.remove(force=True)
            removed += 1
        except DockerException:
            pass
    return removed


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:16]


def _name(image_id: str, what: str) -> str:
    return f"grader-runtime-{_short(image_id)}-{what}"
