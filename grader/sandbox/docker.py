"""The docker backend: one locked-down container per submission, reached only by the grader.

Network: each submission gets an internal network and a small "holder" container that owns the
network namespace. The holder (the only one with NET_ADMIN, running only our script) deletes the
default route and drops every new outbound connection, so the namespace can answer the grader
but never initiate: no route out, not even to the host's bridge address. The student's container
joins that namespace with every capability dropped, as a non-root user, read-only code, a tmpfs
/tmp, memory/CPU/pids limits and a kill timer. Everything carries the LABEL and is removed in
`stop()` (or by the batch's sandbox pool, off the critical path: netns.py); `reap()` removes
what a killed grader left behind.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import docker
import psutil
from docker.errors import DockerException
from docker.types import LogConfig, Mount, Ulimit

from grader.core.config import RUNNERS
from grader.core.job import SandboxRef, owner_id, process_start
from grader.core.submission import TooLarge, stage_copy
from grader.sandbox import runtime
from grader.sandbox.base import (
    DATA_CAP,
    FILE_CAP,
    LABEL,
    OUT_OF_TIME,
    InfraError,
    Server,
    StartupError,
    read_folder,
    server_command,
)
from grader.sandbox.listeners import Listener, parse_proc_tcp
from grader.sandbox.netns import Sandbox, host_pid, owned_by, remove
from grader.sandbox.site import site_env, wait_site

__all__ = ["DockerServer", "client", "orphans", "owner_labels", "reap"]

STUDENT = "10001:10001"
_SUPPORT = "/srv/support"  # where an assignment's `support` folder is mounted
_RUNNERS = "/srv/runners"  # where the grader's runners are (an assignment's {runners})
_SITE = "/srv/site"  # where a client assignment's site is (in the site's own container)
_STDOUT = "/srv/stdout"  # a client's stdout: a file of the grader's, capped like any file
SITE_USER = "10002:10002"  # the site runs as another uid than the program
def client() -> docker.DockerClient:
    try:
        c = docker.from_env(timeout=60)
        c.ping()
        return c
    except DockerException as exc:
        raise InfraError(f"the Docker engine does not answer: {exc}") from None


class DockerServer(Server):
    def __init__(self, *, image: str, owner: str = "", sandbox: SandboxRef | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.port = self.assignment.port
        self.host = ""
        self._client = client()
        self._labels = {**owner_labels(owner or owner_id()),
                        f"{LABEL}.student": self.submission.name}
        self._given = sandbox  # made by the batch's pool, which also removes it
        self._box: Sandbox | None = None
        self._stage: Path | None = None
        self._container: Any = None
        self._old_logs = ""
        self._init: psutil.Process | None = None  # the container's init, seen from this host
        self._runs = 0  # containers started so far (a restart starts a new one beside the old)
        self._runtime: list[Mount] = []  # the image's Python on volumes, read faster
        self._site: Any = None  # a client assignment's site: a container in the sandbox
        self._stdout: Path | None = None  # a client's stdout, as on the process backend
        if self.assignment.kind == "client":  # on the sandbox's loopback: only the program
            self.site_url = f"http://127.0.0.1:{self.port}"  # (same namespace) reaches it

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.time_left()  # the wall-clock budget starts with the first start
        try:
            if self._box is None:  # first start; a restart keeps network, holder and data
                self._stage_submission()
                self._runtime = runtime.mounts(self._client, self.image)
                self._box = Sandbox.attach(self._client, self._given) if self._given else \
                    Sandbox.create(self._client, image=self.image, labels=self._labels,
                                   wall=self.limits.wall, tmpfs=self.limits.tmpfs,
                                   data_dir=self.assignment.data_dir)
                self.host, self.reachable = self._box.host, frozenset({self._box.host})
                if self.assignment.kind == "client":
                    self._start_site()
            self._runs += 1
            self._container = self._client.containers.run(self.image, **self._run_args())
            self._container.reload()  # its pid, known once it started
            self._init = _host_init(self._container)
        except DockerException as exc:
            raise InfraError(f"docker could not start the submission: {exc}") from None
        if self.assignment.kind == "server":
            self.wait_listening()

    def _start_site(self) -> None:
        """The course's site in a container of its own (another uid, read-only, limits) in the
        submission's network namespace, listening on its loopback; ready once it printed its
        first line. Removed with the sandbox (it carries its label)."""
        box, site = self._box, self.assignment.site_path
        assert box is not None and site is not None
        self._site = self._client.containers.run(
            self.image, ["timeout", "-s", "KILL", str(int(self.limits.wall) + 60),
                         "python", f"{_SITE}/site.py"],
            name=f"{box.name}-site", detach=True, user=SITE_USER,
            network_mode=f"container:{box.holder.id}", working_dir=_SITE,
            environment={**site_env(port=self.port, url=self.site_url), "HOME": "/tmp"},
            volumes={str(site.resolve()): {"bind": _SITE, "mode": "ro"}},
            mounts=list(self._runtime), read_only=True, tmpfs={"/tmp": "size=1m"},
            cap_drop=["ALL"], security_opt=["no-new-privileges"], init=True,
            mem_limit="256m", memswap_limit="256m", pids_limit=64,
            labels={**self._labels, f"{LABEL}.sandbox": box.name},
            log_config=LogConfig(type="json-file", config={"max-size": "16m", "max-file": "1"}))

        def exited() -> bool:
            self._site.reload()
            return bool(self._site.status in ("exited", "dead"))

        wait_site(lambda: bool(self._site.logs(stdout=True, stderr=False)), exited,
                  lambda: self._site.logs().decode("utf-8", "replace"))

    def _stage_submission(self) -> None:
        if self._stage is None:
            # A private copy with readable permissions: the student's folder may be 0700, may
            # change while we grade, and must never be writable from inside.
            self._stage = Path(tempfile.mkdtemp(prefix="grader-stage-"))
            try:
                stage_copy(self.submission, self._stage / "app")
            except TooLarge as exc:
                raise StartupError(str(exc)) from None

    def _run_args(self) -> dict[str, Any]:
        lim = self.limits
        assert self._stage is not None and self._box is not None
        box = self._box
        argv, env = server_command(
            self.assignment, port=self.port, host="0.0.0.0", home="/tmp", support=_SUPPORT,
            runners=_RUNNERS,
            docroot="/srv/www" if self.docroot else None,
            data_dir="/data" if box.volume is not None else None, site_url=self.site_url,
            code=self._stage / "app")
        volumes = {str(self._stage / "app"): {"bind": "/app", "mode": "ro"}}
        if self.assignment.kind == "client":
            # its stdout is its result: a file, so RLIMIT_FSIZE stops a flood at FILE_CAP as on
            # the process backend (the log driver would rotate it and let it run to the limit)
            self._stdout = self._stage / "stdout"
            self._stdout.touch()
            self._stdout.chmod(0o666)  # the program's uid writes it; only this file, no folder
            volumes[str(self._stdout)] = {"bind": _STDOUT, "mode": "rw"}
            argv = ["sh", "-c", f'exec "$@" >{_STDOUT}', "sh", *argv]
        support = self.assignment.support_path
        if support:  # grader-supplied code (a runner, probe apps): read-only, beside the code
            volumes[str(support.resolve())] = {"bind": _SUPPORT, "mode": "ro"}
        if self.assignment.uses_runners:  # the grader's runners: read-only too
            volumes[str(RUNNERS)] = {"bind": _RUNNERS, "mode": "ro"}
        mounts = list(self._runtime)
        if self.docroot:
            volumes[str(self.docroot.resolve())] = {"bind": "/srv/www", "mode": "ro"}
        if box.volume is not None:
            mounts.append(Mount("/data", box.volume.name, type="volume"))
        return dict(
            command=["timeout", "-s", "KILL", str(int(self.time_left())), *argv],
            name=f"{box.name}-app{self._runs}", detach=True, user=STUDENT,
            network_mode=f"container:{box.holder.id}",
            working_dir="/app", environment=env, volumes=volumes, mounts=mounts,
            read_only=True, tmpfs={"/tmp": f"size={lim.tmpfs},mode=1777"},
            cap_drop=["ALL"], security_opt=["no-new-privileges"], init=True,
            mem_limit=lim.memory, memswap_limit=lim.memory, nano_cpus=int(lim.cpus * 1e9),
            pids_limit=lim.pids, labels={**self._labels, f"{LABEL}.sandbox": box.name},
            ulimits=[Ulimit(name="nofile", soft=1024, hard=1024),
                     Ulimit(name="fsize", soft=FILE_CAP, hard=FILE_CAP),
                     Ulimit(name="core", soft=0, hard=0)],
            log_config=LogConfig(type="json-file", config={
                "max-size": "1m" if self.assignment.kind == "server" else "8m",
                "max-file": "1"}),
        )

    def stop(self, *, keep_data: bool = False) -> None:
        container, box = self._container, self._box
        if container is not None:
            self._old_logs = self.logs()
            self._bank_cpu()
        self._container = None
        if not keep_data:
            self._box, self._site = None, None
        try:
            if keep_data:  # a restart: a new container in the same sandbox, once this one is
                if container is not None:  # dead (it is removed with the sandbox, later)
                    _kill(container, self._init)
            elif box is not None and not self._given:
                box.remove()  # our own sandbox: everything in it goes now
            # else: the batch's pool removes the sandbox, and this container with it, after
            # the result is written (off the critical path)
        finally:
            if not keep_data and self._stage is not None:
                shutil.rmtree(self._stage, ignore_errors=True)
                self._stage = None

    # -- what the suite and the feedback read ----------------------------------------------

    def exited(self) -> str | None:
        if self._container is None or _alive(self._init):
            return None  # seen on the host: no request to the engine before every test
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

    def _root_pid(self) -> int | None:
        return self._init.pid if self._container is not None and self._init is not None else None

    def listeners(self) -> list[Listener]:
        """The namespace's listening sockets, read from the host side through the holder's
        /proc (no process in the container, nothing sent to the server); where the engine runs
        elsewhere (a VM), read by the holder itself."""
        if self._box is None:
            return []
        box = self._box
        try:
            tables = "".join(Path(f"/proc/{box.holder_pid}/net/{t}").read_text()
                             for t in ("tcp", "tcp6"))
            # checked after the read: a pid still the holder's then was the holder's during it
            # (a pid is reused only once its process is gone); else these were another
            # process's sockets, and the holder is gone
            if owned_by(box.holder_pid, box.holder.id):
                return parse_proc_tcp(tables)
        except (OSError, ValueError):
            pass
        self.poll = 0.1  # each read is an exec in the engine's machine: read less often
        try:
            res = self._box.holder.exec_run(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
            return parse_proc_tcp(res.output.decode(errors="replace")[:1_000_000])
        except (DockerException, AttributeError):
            return []

    def current_logs(self) -> str:
        if self._container is None:
            return ""
        try:  # a client's stdout is its result, read apart (stdout()): its stderr here
            data = self._container.logs(stdout=self.assignment.kind == "server", stderr=True,
                                        tail=400)
        except DockerException:
            return ""
        return data[-self.limits.output :].decode("utf-8", "replace")

    def logs(self) -> str:
        return (self._old_logs + self.current_logs())[-self.limits.output :]

    def exit_code(self) -> int | None:
        if self._container is None or self.exited() is None:
            return None
        code = self._container.attrs["State"].get("ExitCode")
        return int(code) if code is not None else None

    def site_log(self) -> str:
        """Stopped first: once its container exited, the engine has all it printed."""
        if self._site is None:
            return ""
        try:
            self._site.stop(timeout=2)
            return str(self._site.logs(stdout=True, stderr=False).decode("utf-8", "replace"))
        except DockerException as exc:
            raise InfraError(f"the Docker engine stopped answering: {exc}") from None

    def data_files(self) -> dict[str, bytes]:
        """Read from this host through the holder's mount of the volume (no engine request, and
        no tar of the whole folder); where the engine runs elsewhere, as an archive."""
        if self._container is None or self._box is None or self._box.volume is None:
            return {}
        box = self._box
        if owned_by(box.holder_pid, box.holder.id):
            try:
                return read_folder(f"/proc/{box.holder_pid}/root/data", DATA_CAP)
            except OSError:
                pass  # not ours to read (a rootless engine): ask the engine
        try:
            stream, _ = self._container.get_archive("/data")
        except DockerException:
            return {}
        buf = io.BytesIO()
        for chunk in stream:
            buf.write(chunk)
            if buf.tell() > DATA_CAP:
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


def _host_init(container: Any) -> psutil.Process | None:
    """The container's init as a process of this host (None where the engine runs elsewhere)."""
    try:
        pid = host_pid(container)
        return psutil.Process(pid) if pid else None
    except psutil.Error:
        return None


def _alive(init: psutil.Process | None) -> bool:
    """Is it still running? (is_running also tells a reused pid from the original.)"""
    try:
        return init is not None and init.is_running() and init.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _kill(container: Any, init: psutil.Process | None) -> None:
    """Kill a container and wait until its processes are gone (its port is then free). From
    this host, SIGKILL to its init is enough (the kernel kills the rest of its pid namespace
    before the init is gone) and is seen sooner than through the engine."""
    if init is not None:
        try:
            init.kill()
            init.wait(timeout=10)
            return
        except psutil.NoSuchProcess:
            return
        except psutil.Error:
            pass  # not ours to signal, or it would not die: ask the engine
    try:
        container.kill()
        container.wait(timeout=10)
    except DockerException:
        pass  # it had exited already (or is gone)
    except Exception:  # noqa: BLE001 - the wait's read timeout: remove it the hard way
        remove(container)


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
            owner = f"{labels.get(f'{LABEL}.host', '')}:{labels.get(f'{LABEL}.owner', '')}"
            if labels.get(f"{LABEL}.started"):  # absent on what an earlier version made
                owner += f"@{labels[f'{LABEL}.started']}"
            if everything or (mine and owner == me) or _dead(owner):
                found.append(obj)
    return found


def reap(*, everything: bool = False, mine: bool = False) -> int:
    """Remove what a killed grader left behind: objects whose owner process is gone."""
    found = orphans(everything=everything, mine=mine)
    for obj in found:
        remove(obj)
    return len(found)


def owner_labels(owner: str) -> dict[str, str]:
    """The labels of what `owner` ("host:pid@start", job.owner_id) makes: the pid stays a label
    of its own, so a grader of an earlier version on the same host still reads it as a pid, and
    the start time is one more."""
    host, _, pid = owner.rpartition(":")
    pid, _, started = pid.partition("@")
    return {LABEL: "1", f"{LABEL}.owner": pid, f"{LABEL}.host": host,
            **({f"{LABEL}.started": started} if started else {})}


def _dead(owner: str) -> bool:
    """Is the owner ("host:pid@start", or "host:pid" from an earlier version) a process of this
    host that is gone? A live pid whose process started at another time is a reused pid: its
    owner is gone too. Another host's objects are that host's to reap."""
    host, _, pid = owner.rpartition(":")
    pid, _, started = pid.partition("@")
    if host and host != socket.gethostname():
        return False
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: alive
    # a start time that cannot be read (another user's, under /proc's hidepid; or just gone)
    # proves nothing: alive until a later look says otherwise
    now = process_start(int(pid))
    return bool(started and now) and now != started
