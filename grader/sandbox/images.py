"""Images: the base image, then one runtime image per assignment built on it.

- The base image (python3 + iproute2 + iptables): the configured `base_image` when it is here or
  a registry answers (a pulled image gets iproute2 and iptables in the runtime build); else the
  default, made with debootstrap from the Debian mirror apt is configured with, then
  `docker import`ed (root only; about a minute from nothing).
- One runtime image per assignment: a venv with the assignment's pinned requirements, installed
  offline from wheels that pip downloads on the host. Tagged by a hash of its inputs, so it is
  built once and rebuilt only when they change. Graders sharing the engine build a tag one at
  a time (runtime.engine_lock): the second finds it built.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from docker.errors import DockerException, ImageNotFound

from grader.core.config import Assignment, Course
from grader.sandbox import LABEL, InfraError, runtime
from grader.sandbox.docker import client

__all__ = ["build_base", "runtime_image"]

SUITE = "bookworm"
LOCAL = "grader-base:"  # images made here with debootstrap
DEFAULT_BASE = f"{LOCAL}{SUITE}"
BASE_PACKAGES = ["python3", "python3-venv", "iproute2", "iptables", "coreutils"]
_DOCKERFILE = """\
FROM {base}
COPY wheels /wheels
COPY requirements.txt /requirements.txt
RUN python3 -m venv /opt/venv \\
 && if [ -s /requirements.txt ]; then \\
      /opt/venv/bin/pip install --no-index --no-cache-dir --find-links /wheels \\
        -r /requirements.txt; \\
    fi \\
 && rm -rf /wheels
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
"""


_NET_TOOLS = """\
RUN command -v ip >/dev/null && command -v iptables >/dev/null || \\
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends iproute2 iptables \\
     && rm -rf /var/lib/apt/lists/*)
"""


def _exists(tag: str) -> bool:
    try:
        client().images.get(tag)
        return True
    except ImageNotFound:
        return False


def build_base(tag: str, *, log: Callable[[str], None] = print) -> str:
    """The base image: `tag` when it is here or a registry has it (pulled), else the Debian
    base built with debootstrap (needs root). Returns the tag to build on."""
    if _exists(tag):
        return tag
    why = ""
    if not tag.startswith(LOCAL):  # ours is never on a registry: do not ask one
        log(f"pulling {tag}...")
        try:
            repo, _, version = tag.rpartition(":") if _has_tag(tag) else (tag, "", "latest")
            client().images.pull(repo, tag=version)
            return tag
        except DockerException as exc:
            why = f"{tag} could not be pulled ({str(exc).splitlines()[0][:160]}); "
        tag = DEFAULT_BASE
        if _exists(tag):
            log(f"{why}building on {tag}, which is here")
            return tag
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise InfraError(f"{why}building the base image here needs root and debootstrap "
                         "(apt-get install debootstrap); `make images` does both")
    mirror = _apt_mirror()
    log(f"building {tag} with debootstrap from {mirror} (about a minute)...")
    with tempfile.TemporaryDirectory(prefix="grader-base-", dir="/var/tmp") as tmp:
        root = Path(tmp, "rootfs")
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
               SUITE, str(root), mirror]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise InfraError(f"debootstrap failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        for junk in ("var/lib/apt/lists", "var/cache/apt/archives", "var/log"):
            shutil.rmtree(root / junk, ignore_errors=True)
        tarball = Path(tmp, "rootfs.tar")
        subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."],
                       check=True)
        repo, _, version = tag.partition(":")
        try:
            client().api.import_image_from_file(str(tarball), repository=repo, tag=version or None)
        except DockerException as exc:
            raise InfraError(f"docker import of the base image failed: {exc}") from None
    return tag


def _has_tag(ref: str) -> bool:
    """registry:5000/name has no tag; registry:5000/name:1 and name:1 do."""
    return ":" in ref.rsplit("/", 1)[-1]


def _apt_mirror() -> str:
    """The Debian mirror apt uses here (deb822 or one-line sources), else the default one."""
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for path in sources:
        text = path.read_text(errors="replace") if path.is_file() else ""
        for m in re.finditer(r"(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.M):
            url = m.group(1)
            if url.rstrip("/").endswith("/debian"):
                return url
    return "http://deb.debian.org/debian"


def runtime_image(course: Course, assignment: Assignment, *,
                  log: Callable[[str], None] = print) -> str:
    """The image an assignment's submissions run in, built when missing or out of date."""
    base = build_base(course.base_image, log=log)
    reqs = assignment.requirements_path.read_text() if assignment.requirements_path else ""
    base_id = client().images.get(base).id
    digest = hashlib.sha256(f"{base_id}\n{_DOCKERFILE}\n{reqs}".encode()).hexdigest()[:12]
    tag = f"grader-{assignment.id}:{digest}"
    if not _exists(tag):
        with runtime.engine_lock(client(), f"build-{tag.replace(':', '-')}", base):
            if not _exists(tag):  # another grader may have built it meanwhile
                _build(tag, base, reqs, log=log)
    runtime.ensure(client(), tag)  # its Python on volumes: faster starts (sandbox/runtime.py)
    return tag


def _build(tag: str, base: str, reqs: str, *, log: Callable[[str], None]) -> None:
    log(f"building {tag}...")
    with tempfile.TemporaryDirectory(prefix="grader-image-") as tmp:
        ctx = Path(tmp)
        (ctx / "wheels").mkdir()
        (ctx / "requirements.txt").write_text(reqs)
        dockerfile = _DOCKERFILE.format(base=base)
        if not base.startswith(LOCAL):  # a pulled image: add what the network setup runs
            dockerfile = dockerfile.replace("COPY wheels", _NET_TOOLS + "COPY wheels", 1)
        (ctx / "Dockerfile").write_text(dockerfile)
        if reqs.strip():
            _download_wheels(base, ctx / "requirements.txt", ctx / "wheels")
        try:
            client().images.build(path=str(ctx), tag=tag, rm=True,
                                  network_mode="none" if base.startswith(LOCAL) else None,
                                  forcerm=True, labels={f"{LABEL}.image": "1"})
        except DockerException as exc:
            raise InfraError(f"building {tag} failed: {exc}") from None


def _download_wheels(base: str, requirements: Path, dest: Path) -> None:
    """Fetch wheels on the host (which reaches PyPI) for the image's Python and platform."""
    probe = client().containers.run(
        base, ["python3", "-c", "import sys,platform;"
               "print(f'{sys.version_info[0]}{sys.version_info[1]}', platform.machine())"],
        **runtime.owned(remove=True, network_disabled=True))
    pyver, machine = probe.decode().split()
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(dest),
           "-r", str(requirements), "--python-version", pyver, "--implementation", "cp",
           "--abi", f"cp{pyver}", "--platform", f"manylinux2014_{machine}",
           "--platform", f"manylinux_2_17_{machine}", "--platform", f"manylinux_2_28_{machine}",
           "--platform", "any"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise InfraError(f"pip could not download the wheels for {requirements}: "
                         f"{done.stderr[-1500:]}")
