"""The image's Python served from volumes, so a starting server reads it at disk speed.

Where the engine keeps images on fuse-overlayfs (rootless or nested engines, as on this
project's machines), every file a starting Python opens goes through a userspace filesystem:
`import flask` takes 0.17 s instead of 0.08 s, at every start and restart of every submission.
So each runtime image gets a plain copy of its venv and its standard library in named volumes
(the engine fills an empty volume from the image when it is first mounted), and submissions'
containers mount them read-only over the same paths: the same files, read without FUSE. Made
once per image, kept like the image, removed by `grader clean`. A container started without
them (no volumes yet, engine elsewhere) runs from the image's own files, only slower.
"""

from __future__ import annotations

import fcntl
import tempfile
from pathlib import Path
from typing import Any

from docker.errors import DockerException
from docker.types import Mount

from grader.sandbox.base import LABEL, InfraError

__all__ = ["KEY", "ensure", "mounts", "remove_all"]

KEY = f"{LABEL}.runtime"  # not LABEL itself: `reap` must not take them for leftovers
_WHERE = "import sys, sysconfig; print(sys.prefix); print(sysconfig.get_paths()['stdlib'])"


def ensure(client: Any, image: str) -> list[Mount]:
    """The image's runtime volumes, made (and filled) when missing."""
    image_id = client.images.get(image).id
    found = mounts(client, image_id)
    if found:
        return found
    # One filler per image on this host: a second filling of a volume in use would rewrite files
    # that running servers read.
    lock = Path(tempfile.gettempdir(), f"grader-runtime-{_short(image_id)}.lock")
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        return mounts(client, image_id) or _make(client, image_id)


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
        out = client.containers.run(image_id, ["python3", "-c", _WHERE], remove=True,
                                    network_disabled=True)
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
            image_id, ["true"], remove=True, network_disabled=True,
            mounts=[Mount(p, _name(image_id, str(i)), type="volume")
                    for i, p in enumerate(paths)])
        client.volumes.create(_name(image_id, "ready"),
                              labels={**labels, f"{KEY}.paths": ":".join(paths)})
    except DockerException as exc:
        raise InfraError(f"docker could not copy the image's Python to volumes: {exc}") \
            from None
    return mounts(client, image_id)


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
