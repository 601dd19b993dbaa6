"""The docker backend: one locked-down container per submission, reached only by the grader.

The container (netns.py) starts as root only to put its network rules in: no route out, every
new outbound connection dropped, so it can answer the grader but never initiate, not even to the
host's bridge address. Its gate (gate.py) then keeps no capability but those to drop to the
student's uid, and runs the code when asked, as that uid with an empty bounding set and no new
privileges, read-only code, a tmpfs /tmp, memory/CPU/pids limits and a kill timer. A restart is
a new run in the same container: no container or network is made for it. A batch makes the
containers ahead (netns.SandboxPool), so a grading starts no container at all. Everything carries
the LABEL and is removed in `stop()` (or by the pool, off the critical path); `reap()` removes
what a killed grader left behind.
"""

from __future__ import annotations

import functools
import io
import json
import os
import signal
import socket
import tarfile
import time
from pathlib import Path
from typing import Any

import docker
import psutil
from docker.errors import DockerException
from docker.types import LogConfig, Mount, Ulimit

from grader.core.config import RUNNERS, Assignment, Limits
from grader.core.job import SandboxRef, owner_id, process_start
from grader.core.submission import TooLarge, stage_copy
from grader.sandbox import runtime
from grader.sandbox.base import (
    DATA_CAP,
    FILE_CAP,
    LABEL,
    OUT_OF_TIME,
    STRETCH,
    InfraError,
    Server,
    StartupError,
    read_folder,
    server_command,
    tree_cpu,
)
from grader.sandbox.listeners import Listener, parse_proc_tcp
from grader.sandbox.netns import Sandbox, owned_by, remove
from grader.sandbox.site import site_env, wait_site

__all__ = ["DockerServer", "box_spec", "client", "make_sandbox", "orphans", "owner_labels",
           "reap"]

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


def box_spec(assignment: Assignment, limits: Limits, runtime_mounts: list[Mount],
             stage: Path) -> dict[str, Any]:
    """The submission's container, but for what its gate and network need (netns.Sandbox): the
    limits, the stage's code read-only, the course's folders, a client's stdout file. Known
    before the submission is (a batch makes containers ahead)."""
    volumes = {str(stage / "app"): {"bind": "/app", "mode": "ro"},
               str(stage / "ctl"): {"bind": "/srv/ctl", "mode": "ro"}}
    if assignment.kind == "client":
        # its stdout is its result: a file, so RLIMIT_FSIZE stops a flood at FILE_CAP as on
        # the process backend (the log driver would rotate it and let it run to the limit)
        stdout = stage / "stdout"
        stdout.touch()
        stdout.chmod(0o666)  # the program's uid writes it; only this file, no folder
        volumes[str(stdout)] = {"bind": _STDOUT, "mode": "rw"}
    support = assignment.support_path
    if support:  # grader-supplied code (a runner, probe apps): read-only, beside the code
        volumes[str(support.resolve())] = {"bind": _SUPPORT, "mode": "ro"}
    if assignment.uses_runners:  # the grader's runners: read-only too
        volumes[str(RUNNERS)] = {"bind": _RUNNERS, "mode": "ro"}
    if assignment.docroot_path:
        volumes[str(assignment.docroot_path.resolve())] = {"bind": "/srv/www", "mode": "ro"}
    return dict(
        volumes=volumes, mounts=list(runtime_mounts), working_dir="/app",
        read_only=True, tmpfs={"/tmp": f"size={limits.tmpfs},mode=1777"},
        mem_limit=limits.memory, memswap_limit=limits.memory, nano_cpus=int(limits.cpus * 1e9),
        pids_limit=limits.pids,
        ulimits=[Ulimit(name="nofile", soft=1024, hard=1024),
                 Ulimit(name="fsize", soft=FILE_CAP, hard=FILE_CAP),
                 Ulimit(name="core", soft=0, hard=0)],
        log_config=LogConfig(type="json-file", config={
            "max-size": "1m" if assignment.kind == "server" else "8m", "max-file": "1"}))


def make_sandbox(client: Any, *, assignment: Assignment, limits: Limits, image: str,
                 labels: dict[str, str]) -> Sandbox:
    """A submission's container, its gate waiting for the code (for a batch's pool, or one)."""
    spec = functools.partial(box_spec, assignment, limits, runtime.mounts(client, image))
    return Sandbox.create(client, image=image, labels=labels, wall=limits.wall,
                          tmpfs=limits.tmpfs, data_dir=assignment.data_dir, spec=spec)


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
        self._run = 0  # the gate's number of the current run (0: none yet)
        self._running = False
        self._since = 0.0  # when the current run started (its logs are those since)
        self._oom = 0  # the container's OOM kills when the current run started
        self._proc: psutil.Process | None = None  # the run's first process, seen from this host
        self._cpu_base = 0.0  # the gate's CPU (and its earlier runs') when this run started
        self._old_logs = ""
        self._site: Any = None  # a client assignment's site: a container in the sandbox
        if self.assignment.kind == "client":  # on the sandbox's loopback: only the program
            self.site_url = f"http://127.0.0.1:{self.port}"  # (same namespace) reaches it

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        try:
            if self._box is None:  # first start; a restart is a new run in the same container
                self._box = Sandbox.attach(self._client, self._given) if self._given else \
                    make_sandbox(self._client, assignment=self.assignment, limits=self.limits,
                                 image=self.image, labels=self._labels)
                self.host, self.reachable = self._box.host, frozenset({self._box.host})
                self.time_left()  # the wall-clock budget starts with the first run
                self._stage_submission()
                if self.assignment.kind == "client":
                    self._stdout = self._stage / "stdout"
                    self._start_site()
            self._begin_run()
        except DockerException as exc:
            raise InfraError(f"docker could not start the submission: {exc}") from None
        if self.assignment.kind == "server":
            self.wait_listening()

    @property
    def _stage(self) -> Path:
        assert self._box is not None and self._box.stage is not None
        return self._box.stage

    def _stage_submission(self) -> None:
        # A private copy with readable permissions: the student's folder may be 0700, may
        # change while we grade, and must never be writable from inside.
        try:
            stage_copy(self.submission, self._stage / "app")
        except TooLarge as exc:
            raise StartupError(str(exc)) from None

    def _begin_run(self) -> None:
        """The gate starts the command as the student's uid; its first process is then found
        on this host (the gate's child whose pid inside is the one the gate gave)."""
        box = self._box
        assert box is not None
        argv, env = server_command(
            self.assignment, port=self.port, host="0.0.0.0", home="/tmp", support=_SUPPORT,
            runners=_RUNNERS, docroot="/srv/www" if self.docroot else None,
            data_dir="/data" if box.volume is not None else None, site_url=self.site_url,
            code=self._stage / "app")
        order = {"argv": ["timeout", "-s", "KILL", str(int(self.time_left())), *argv],
                 "env": env, "cwd": "/app",
                 "stdout": _STDOUT if self.assignment.kind == "client" else ""}
        run_file = self._stage / "ctl" / "run.json"
        run_file.write_text(json.dumps(order))
        run_file.chmod(0o644)
        self._run += 1
        self._since = time.time()
        box.signal(signal.SIGUSR1)
        lines = box.wait_for(f"start {self._run} ")
        _, _, pid, oom = next(x for x in lines if x.startswith(f"start {self._run} ")).split()
        self._oom, self._running = int(oom), True
        self._proc = _host_process(box.gate, int(pid))
        self._cpu_base = self._gate_cpu()

    def _start_site(self) -> None:
        """The course's site in a container of its own (another uid, read-only, limits) in the
        submission's network namespace, listening on its loopback; ready once it printed its
        first line. Removed with the sandbox (it carries its label)."""
        box, site = self._box, self.assignment.site_path
        assert box is not None and site is not None
        self._site = self._client.containers.run(
            self.image, ["timeout", "-s", "KILL", str(int(STRETCH * self.limits.wall) + 60),
                         "python", f"{_SITE}/site.py"],
            name=f"{box.name}-site", detach=True, user=SITE_USER,
            network_mode=f"container:{box.box.id}", working_dir=_SITE,
            environment={**site_env(port=self.port, url=self.site_url), "HOME": "/tmp"},
            volumes={str(site.resolve()): {"bind": _SITE, "mode": "ro"}},
            mounts=list(runtime.mounts(self._client, self.image)), read_only=True,
            tmpfs={"/tmp": "size=1m"},
            cap_drop=["ALL"], security_opt=["no-new-privileges"], init=True,
            mem_limit="256m", memswap_limit="256m", pids_limit=64,
            labels={**self._labels, f"{LABEL}.sandbox": box.name},
            log_config=LogConfig(type="json-file", config={"max-size": "16m", "max-file": "1"}))

        def exited() -> bool:
            self._site.reload()
            return bool(self._site.status in ("exited", "dead"))

        wait_site(lambda: bool(self._site.logs(stdout=True, stderr=False)), exited,
                  lambda: self._site.logs().decode("utf-8", "replace"))

    def stop(self, *, keep_data: bool = False) -> None:
        box = self._box
        if box is None:
            return
        if self._running:
            self._old_logs = self.logs()
            self._bank_cpu()
        self._running, self._proc = False, None
        if keep_data:  # a restart: every process of the run is gone before the next one
            box.signal(signal.SIGUSR2)
            box.wait_for(f"stopped {self._run}")
            return
        self._box, self._site = None, None
        if not self._given:
            box.remove()  # our own sandbox: everything in it goes now
        else:  # the batch's pool removes it after the result is written (off the critical
            try:  # path); the run ends now
                box.signal(signal.SIGUSR2)
            except InfraError:
                pass

    def _end_run(self) -> None:
        if self._box is not None and self._running:
            self._box.signal(signal.SIGUSR2)  # the gate kills every process of the run

    # -- what the suite and the feedback read ----------------------------------------------

    def _exit_line(self) -> tuple[int, int] | None:
        """The current run's exit code and the OOM kills then, once the gate has seen it exit."""
        assert self._box is not None
        for line in self._box.status():
            if line.startswith(f"exit {self._run} "):
                _, _, code, oom = line.split()
                return int(code), int(oom)
        return None

    def exited(self) -> str | None:
        if not self._running or _alive(self._proc):
            return None  # seen on the host: no request to the engine before every test
        assert self._box is not None
        try:
            ended = self._exit_line()
        except InfraError:
            ended = None
        if ended is None:
            try:
                self._box.box.reload()
            except DockerException as exc:
                raise InfraError(f"the Docker engine stopped answering: {exc}") from None
            if self._box.box.status in ("exited", "dead"):  # the whole container: its wall
                return OUT_OF_TIME
            return None  # not yet waited for by the gate
        code, oom = ended
        if oom > self._oom:
            return f"ran out of memory ({self.limits.memory})"
        if code == 137 or self._out_of_time:  # time_up(), or `timeout -s KILL`: the backstop
            return OUT_OF_TIME
        return f"exited with code {code}"

    def exit_code(self) -> int | None:
        if not self._running or _alive(self._proc):
            return None
        ended = self._exit_line()
        return ended[0] if ended else None

    def _root_pid(self) -> int | None:
        """The gate: a subreaper, so its tree is every process of the run (a daemon too)."""
        box = self._box
        return box.gate or None if box is not None and self._running else None

    def _gate_cpu(self) -> float:
        """The gate's own CPU time and its waited-for children's: the runs before this one."""
        pid = self._root_pid()
        try:
            t = psutil.Process(pid).cpu_times() if pid else None
        except psutil.Error:
            t = None
        return t.user + t.system + t.children_user + t.children_system if t else 0.0

    def _cpu_now(self) -> float | None:
        pid = self._root_pid()
        cpu = tree_cpu(pid) if pid else None  # the runs before this one are in the gate's
        return None if cpu is None else max(0.0, cpu - self._cpu_base)  # children's times

    def listeners(self) -> list[Listener]:
        """The namespace's listening sockets, read from the host side through the container
        init's /proc (no process in the container, nothing sent to the server); where the engine
        runs elsewhere (a VM), read by the container's root."""
        if self._box is None:
            return []
        box = self._box
        try:
            tables = "".join(Path(f"/proc/{box.box_pid}/net/{t}").read_text()
                             for t in ("tcp", "tcp6"))
            # checked after the read: a pid still the init's then was the init's during it
            # (a pid is reused only once its process is gone); else these were another
            # process's sockets, and the container is gone
            if owned_by(box.box_pid, box.box.id):
                return parse_proc_tcp(tables)
        except (OSError, ValueError):
            pass
        self.poll = 0.1  # each read is an exec in the engine's machine: read less often
        try:
            res = box.box.exec_run(["cat", "/proc/net/tcp", "/proc/net/tcp6"], user="0")
            return parse_proc_tcp(res.output.decode(errors="replace")[:1_000_000])
        except (DockerException, AttributeError):
            return []

    def current_logs(self) -> str:
        if self._box is None or not self._run:
            return ""
        try:  # a client's stdout is its result, read apart (stdout()): its stderr here
            data = self._box.box.logs(stdout=self.assignment.kind == "server", stderr=True,
                                      tail=400, since=self._since)
        except DockerException:
            return ""
        return data[-self.limits.output :].decode("utf-8", "replace")

    def logs(self) -> str:
        return (self._old_logs + (self.current_logs() if self._running else ""))[
            -self.limits.output :]

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
        """Read from this host through the container's root (no engine request, and no tar of
        the whole folder); where the engine runs elsewhere, as an archive."""
        if self._box is None or self._box.volume is None:
            return {}
        box = self._box
        if owned_by(box.box_pid, box.box.id):
            try:
                return read_folder(f"/proc/{box.box_pid}/root/data", DATA_CAP)
            except OSError:
                pass  # not ours to read (a rootless engine): ask the engine
        try:
            stream, _ = box.box.get_archive("/data")
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


def _host_process(gate: int, inside: int) -> psutil.Process | None:
    """The gate's child whose pid in the container is `inside`, as a process of this host
    (None where the engine runs elsewhere, or once it is gone)."""
    if not gate:
        return None
    try:
        for child in psutil.Process(gate).children():
            status = Path(f"/proc/{child.pid}/status").read_text()
            nspid = next((x.split()[-1] for x in status.splitlines() if x.startswith("NSpid:")),
                         "")
            if nspid == str(inside):
                return child
    except (psutil.Error, OSError):
        pass
    return None


def _alive(proc: psutil.Process | None) -> bool:
    """Is it still running? (is_running also tells a reused pid from the original.)"""
    try:
        return proc is not None and proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


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
