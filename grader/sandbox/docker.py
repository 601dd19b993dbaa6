"""The docker backend: one locked-down container per submission, reached only by the grader.

Network: each submission gets an internal network and a small "holder" container that owns the
network namespace. The holder (the only one with NET_ADMIN, running only our script) deletes the
default route and drops every new outbound connection, so the namespace can answer the grader
but never initiate: no route out, not even to the host's bridge address. The student's container
joins that namespace with every capability dropped, as a non-root user, read-only code, a tmpfs
/tmp, memory/CPU/pids limits and a kill timer. Everything carries the LABEL and is removed in
`stop()`; `reap()` removes what a killed grader left behind.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException, NotFound
from docker.types import LogConfig, Mount, Ulimit

from ..job import owner_id
from ..submission import TooLarge, stage_copy
from .base import LABEL, OUT_OF_TIME, InfraError, Server, StartupError
from .listeners import Listener, parse_proc_tcp

__all__ = ["DockerServer", "client", "orphans", "reap"]

STUDENT = "10001:10001"
_DATA_CAP = 32 * 1024 * 1024  # bytes read back from DATA_DIR, at most
_SUPPORT = "/srv/support"  # where an assignment's `support` folder is mounted
_HOLD = """
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ip route del default 2>/dev/null || true
for t in iptables ip6tables; do
  $t -w -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  $t -w -A OUTPUT -d {dns} -j DROP 2>/dev/null || true
  $t -w -A OUTPUT -o lo -j ACCEPT
  $t -w -A OUTPUT -j DROP
done
echo ready
exec timeout -s KILL {wall} sleep infinity
"""


def client() -> docker.DockerClient:
    try:
        c = docker.from_env(timeout=60)
        c.ping()
        return c
    except DockerException as exc:
        raise InfraError(f"the Docker engine does not answer: {exc}") from None


class DockerServer(Server):
    def __init__(self, *, image: str, owner: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.port = self.assignment.port
        self.host = ""
        self._client = client()
        self._name = f"grader-{uuid.uuid4().hex[:10]}"
        self._labels = {LABEL: "1", f"{LABEL}.owner": owner or owner_id(),
                        f"{LABEL}.student": self.submission.name}
        self._stage: Path | None = None
        self._volume: Any = None
        self._network: Any = None
        self._holder: Any = None
        self._container: Any = None
        self._holder_pid = 0
        self._old_logs = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.time_left()  # the wall-clock budget starts with the first start
        try:
            if self._holder is None:  # first start; a restart keeps network, holder and data
                self._prepare()
                self._network = self._client.networks.create(
                    self._name, driver="bridge", internal=True, labels=self._labels)
                self._start_holder()
            self._container = self._client.containers.run(self.image, **self._run_args())
        except DockerException as exc:
            raise InfraError(f"docker could not start the submission: {exc}") from None
        self.wait_listening()

    def _prepare(self) -> None:
        if self._stage is None:
            # A private copy with readable permissions: the student's folder may be 0700, may
            # change while we grade, and must never be writable from inside.
            self._stage = Path(tempfile.mkdtemp(prefix="grader-stage-"))
            try:
                stage_copy(self.submission, self._stage / "app")
            except TooLarge as exc:
                raise StartupError(str(exc)) from None
        if self.assignment.data_dir and self._volume is None:
            size = self.limits.tmpfs
            self._volume = self._client.volumes.create(
                self._name, driver="local", labels=self._labels,
                driver_opts={"type": "tmpfs", "device": "tmpfs",
                             "o": f"size={size},uid=10001,gid=10001,mode=0700"})

    def _start_holder(self) -> None:
        # The holder also keeps the data volume mounted: a tmpfs volume lives only while some
        # container has it mounted, and DATA_DIR must survive a restart of the server.
        wall = int(self.limits.wall) + 60
        self._holder = holder = self._client.containers.run(
            self.image, ["sh", "-c", _HOLD.format(wall=wall, dns="127.0.0.11")],
            name=f"{self._name}-net", detach=True, network=self._network.name, user="0",
            cap_drop=["ALL"], cap_add=["NET_ADMIN"], read_only=True,
            tmpfs={"/run": "size=1m"}, mem_limit="64m", pids_limit=16, labels=self._labels,
            mounts=[Mount("/data", self._volume.name, type="volume")] if self._volume else [])
        deadline = time.monotonic() + 30
        while b"ready" not in holder.logs():
            holder.reload()
            if holder.status == "exited" or time.monotonic() > deadline:
                out = holder.logs()[-500:].decode(errors="replace")
                raise InfraError(f"the network sandbox did not come up: {out.strip()}")
            time.sleep(0.05)
        holder.reload()
        self.host = holder.attrs["NetworkSettings"]["Networks"][self._name]["IPAddress"]
        self.reachable = frozenset({self.host})
        self._holder_pid = int(holder.attrs["State"].get("Pid") or 0)

    def _run_args(self) -> dict[str, Any]:
        lim = self.limits
        argv, extra = self.assignment.command(support=_SUPPORT)
        env = {**extra, "PORT": str(self.port), "HOST": "0.0.0.0", "HOME": "/tmp",
               "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        assert self._stage is not None
        volumes = {str(self._stage / "app"): {"bind": "/app", "mode": "ro"}}
        support = self.assignment.support_path
        if support:  # grader-supplied code (a runner, probe apps): read-only, beside the code
            volumes[str(support.resolve())] = {"bind": _SUPPORT, "mode": "ro"}
        mounts = []
        if self.docroot:
            volumes[str(self.docroot.resolve())] = {"bind": "/srv/www", "mode": "ro"}
            env["DOCROOT"] = "/srv/www"
        if self._volume is not None:
            mounts.append(Mount("/data", self._volume.name, type="volume"))
            env["DATA_DIR"] = "/data"
        return dict(
            command=["timeout", "-s", "KILL", str(int(self.time_left())), *argv],
            name=f"{self._name}-app", detach=True, user=STUDENT,
            network_mode=f"container:{self._holder.id}",
            working_dir="/app", environment=env, volumes=volumes, mounts=mounts,
            read_only=True, tmpfs={"/tmp": f"size={lim.tmpfs},mode=1777"},
            cap_drop=["ALL"], security_opt=["no-new-privileges"], init=True,
            mem_limit=lim.memory, memswap_limit=lim.memory, nano_cpus=int(lim.cpus * 1e9),
            pids_limit=lim.pids, labels=self._labels,
            ulimits=[Ulimit(name="nofile", soft=1024, hard=1024),
                     Ulimit(name="fsize", soft=_DATA_CAP * 2, hard=_DATA_CAP * 2),
                     Ulimit(name="core", soft=0, hard=0)],
            log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        )

    def stop(self, *, keep_data: bool = False) -> None:
        if self._container is not None:
            self._old_logs = self.logs()
        errors = []
        for attr in ("_container",) + (() if keep_data else ("_holder", "_network", "_volume")):
            obj = getattr(self, attr)
            setattr(self, attr, None)
            if obj is not None:
                try:
                    _remove(obj)
                except InfraError as exc:  # remove the rest anyway; report the first
                    errors.append(exc)
        if not keep_data and self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None
        if errors:
            raise errors[0]

    # -- what the suite and the feedback read ----------------------------------------------

    def exited(self) -> str | None:
        if self._container is None:
            return None
        try:
            self._container.reload()
        except DockerException as exc:
            raise InfraError(f"the Docker engine stopped answering: {exc}") from None
        if self._container.status not in ("exited", "dead"):
            return None
        state = self._container.attrs["State"]
        code = state.get("ExitCode")
        if state.get("OOMKilled"):
            return f"ran out of memory ({self.limits.memory})"
        if code == 137:  # `timeout -s KILL` in the container: the kill timer
            return OUT_OF_TIME
        return f"exited with code {code}"

    def listeners(self) -> list[Listener]:
        """The namespace's listening sockets, read from the host side through the holder's
        /proc (no process in the container, nothing sent to the server); where the engine runs
        elsewhere (a VM), read by the holder itself."""
        try:
            return parse_proc_tcp("".join(
                Path(f"/proc/{self._holder_pid}/net/{t}").read_text() for t in ("tcp", "tcp6")))
        except (OSError, ValueError):
            pass
        try:
            res = self._holder.exec_run(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
            return parse_proc_tcp(res.output.decode(errors="replace")[:1_000_000])
        except (DockerException, AttributeError):
            return []

    def current_logs(self) -> str:
        if self._container is None:
            return ""
        try:
            data = self._container.logs(stdout=True, stderr=True, tail=400)
        except DockerException:
            return ""
        return data[-self.limits.output :].decode("utf-8", "replace")

    def logs(self) -> str:
        return (self._old_logs + self.current_logs())[-self.limits.output :]

    def data_files(self) -> dict[str, bytes]:
        if self._container is None or self._volume is None:
            return {}
        try:
            stream, _ = self._container.get_archive("/data")
        except DockerException:
            return {}
        buf = io.BytesIO()
        for chunk in stream:
            buf.write(chunk)
            if buf.tell() > _DATA_CAP:
                break
        buf.seek(0)
        files = {}
        try:
            with tarfile.open(fileobj=buf, mode="r|") as tar:
                for member in tar:
                    if member.isreg():  # data only: no links, no devices
                        f = tar.extractfile(member)
                        files[member.name.removeprefix("data/")] = f.read() if f else b""
        except tarfile.TarError:
            pass  # truncated at the cap: keep what was read
        return files


def _remove(obj: Any) -> None:
    """Remove a container (forcibly), network or volume; gone already is fine. A network or
    volume may still be in use for a moment by a container that is going away: retry."""
    for attempt in range(5):
        try:
            obj.remove(force=True) if hasattr(obj, "kill") else obj.remove()
            return
        except NotFound:
            return
        except DockerException as exc:
            if attempt == 4:
                raise InfraError(f"docker could not remove {obj.name}: {exc}") from None
            time.sleep(0.2 * (attempt + 1))


def orphans(*, everything: bool = False, mine: bool = False) -> list[Any]:
    """Containers, networks and volumes with our label whose owner process is gone (on this
    host), or this process's own (`mine`: after a batch, nothing of ours should remain), or
    all (`everything`)."""
    c = client()
    me = owner_id()
    found = []
    # ignore_removed: another grader may remove a container between listing and inspecting it
    for kind in (c.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True),
                 c.networks.list(filters={"label": LABEL}),
                 c.volumes.list(filters={"label": LABEL})):
        for obj in kind:
            labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
            owner = labels.get(f"{LABEL}.owner", "")
            if everything or (mine and owner == me) or _dead(owner):
                found.append(obj)
    return found


def reap(*, everything: bool = False, mine: bool = False) -> int:
    """Remove what a killed grader left behind: objects whose owner process is gone."""
    found = orphans(everything=everything, mine=mine)
    for obj in found:
        _remove(obj)
    return len(found)


def _dead(owner: str) -> bool:
    """Is the owner ("host:pid") a process of this host that is gone? Another host's objects
    are that host's to reap."""
    host, _, pid = owner.rpartition(":")
    if host and host != socket.gethostname():
        return False
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
        return False
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
