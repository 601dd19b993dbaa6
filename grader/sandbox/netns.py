"""A submission's sandbox: its one container, an internal network, DATA_DIR's tmpfs volume and the
stage (a host folder: the code, and the gate's orders).

The container's first program, as root with NET_ADMIN, deletes the default route and drops
every new outbound connection, so the namespace can answer the grader but never initiate; then
the gate (gate.py) waits, with only the capabilities to drop to the student's uid, for the
grader to ask for a run. Making and removing one is most of the docker backend's fixed cost, so
a batch keeps a `SandboxPool`: the next submissions' sandboxes are made while the current suites
run, and used ones are removed in the background after their result is written (anything left
is reaped by label).
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from docker.errors import APIError, DockerException, NotFound
from docker.types import IPAMConfig, IPAMPool, Mount

from grader.core.job import SandboxRef
from grader.sandbox.base import LABEL, STRETCH, InfraError

GATE = (Path(__file__).parent / "gate.py").read_text()  # run by the container's Python

__all__ = ["NETWORK", "SUBNETS", "Sandbox", "SandboxPool", "free_subnets", "gate_pid", "host_pid",
           "host_routes", "owned_by", "remove"]

# Real network conditions: the namespace's TCP buffers are small, as across a real network, so
# a non-blocking send() whose unsent rest is dropped shows as it would there; on loopback with
# the default 4 MiB buffers a 64 KiB send never comes back short. (A blocking send() on Linux
# waits for room like sendall, whatever the buffers: that one never comes back short.)
# No TIME_WAIT in the namespace (tcp_max_tw_buckets 0: a closed connection is freed at once), so
# a restarted server can always bind PORT again, with or without SO_REUSEADDR (most lab handouts
# never mention it): the connections its crashed run closed would otherwise hold PORT for 60 s.
NETWORK = {"net.ipv4.tcp_wmem": "4096 16384 65536", "net.ipv4.tcp_rmem": "4096 65536 65536",
           "net.ipv4.tcp_max_tw_buckets": "0"}

# Each sandbox's network is a /29 of SUBNETS (it needs two addresses: the gateway and the
# holder). Left to itself the engine gives every network a /16 or a /20 of its default pools and
# runs out at about 31 networks: two graders on one machine (or one with many workers) then got
# "could not find an available, non-overlapping IPv4 address pool". A range outside the engine's
# defaults (172.17-31/16, 192.168/16), overridable for a site whose own network uses it; a /29
# that overlaps a route of this host is never used.
SUBNETS = ipaddress.IPv4Network(os.environ.get("GRADER_SUBNETS", "10.213.0.0/16"))
_TRIES = 20

# The container's first program, as its root with NET_ADMIN: no route out, every new outbound
# connection dropped (the namespace answers the grader and never initiates), then the gate
# (gate.py) with no capability left but those it needs to drop to the student's uid.
_SETUP = """
set -e
saved=$PATH
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ip route del default 2>/dev/null || true
keep='-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'
rest='-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -j DROP'
dns='-A OUTPUT -d 127.0.0.11 -j DROP'
printf '*filter\\n%s\\n%s\\n%s\\nCOMMIT\\n' "$keep" "$dns" "$rest" | iptables-restore -w
printf '*filter\\n%s\\n%s\\nCOMMIT\\n' "$keep" "$rest" | ip6tables-restore -w
export PATH=$saved
exec setpriv --bounding-set=-all,+setuid,+setgid,+setpcap,+kill --inh-caps=-all "$@"
"""
GATE_CAPS = ["NET_ADMIN", "SETUID", "SETGID", "SETPCAP", "KILL"]  # the gate keeps all but the 1st


def _create_network(client: Any, name: str, labels: dict[str, str]) -> Any:
    """An internal bridge network on a free /29 of SUBNETS: another grader may take the one we
    picked first (the engine refuses an overlapping pool), so try others."""
    for subnet in free_subnets(_TRIES):
        try:
            return client.networks.create(
                name, driver="bridge", internal=True, labels=labels,
                ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=str(subnet))]))
        except APIError as exc:
            if "overlap" not in str(exc).lower():
                raise
    raise InfraError(f"no free /29 left in {SUBNETS} after {_TRIES} tries (set GRADER_SUBNETS "
                     "to a larger private range that this host's network does not use)")


def free_subnets(n: int) -> list[ipaddress.IPv4Network]:
    """Up to n random /29s of SUBNETS that overlap no route of this host."""
    routes = host_routes()
    chosen: list[ipaddress.IPv4Network] = []
    size = SUBNETS.num_addresses // 8
    for index in random.sample(range(size), min(size, 4 * n)):
        subnet = ipaddress.IPv4Network((int(SUBNETS.network_address) + 8 * index, 29))
        if not any(subnet.overlaps(route) for route in routes):
            chosen.append(subnet)
        if len(chosen) == n:
            break
    return chosen


def host_routes() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this host routes to directly or through a gateway (/proc/net/route),
    the default route left out; [] where it cannot be read."""
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return []
    routes = []
    for line in lines:
        fields = line.split()
        try:
            dest, mask = (socket.inet_ntoa(struct.pack("<I", int(field, 16)))
                          for field in (fields[1], fields[7]))
            if mask != "0.0.0.0":
                routes.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
        except (IndexError, ValueError):
            continue
    return routes


class Sandbox:
    """One submission's container (the gate, its network rules, its limits), its network, its
    DATA_DIR volume and its stage (the host folder its code is copied into, and the gate's
    orders), by name: they outlive a process."""

    def __init__(self, client: Any, name: str) -> None:
        self.client, self.name = client, name
        self.network: Any = None
        self.box: Any = None
        self.volume: Any = None
        self.stage: Path | None = None
        self.host = ""  # the namespace's address on the internal network
        self.box_pid = 0  # the container's init as a pid of this host (its /proc shows inside)
        self._gate = 0

    @classmethod
    def create(cls, client: Any, *, image: str, labels: dict[str, str], wall: float,
               tmpfs: str, data_dir: bool, spec: Callable[[Path], dict[str, Any]]) -> Sandbox:
        """`spec(stage)`: the container's own arguments (limits, mounts of the stage and the
        course's folders), from docker.py."""
        box = cls(client, f"grader-{uuid.uuid4().hex[:10]}")
        labels = {**labels, f"{LABEL}.sandbox": box.name}
        try:
            client.images.get(image)  # never let the engine try to pull a missing image
        except DockerException:
            raise InfraError(f"the runtime image {image} is missing: run `grader images`") \
                from None
        try:
            box.stage = Path(tempfile.mkdtemp(prefix="grader-stage-"))
            for folder in ("app", "ctl"):
                (box.stage / folder).mkdir(mode=0o755)
                (box.stage / folder).chmod(0o755)  # whatever the umask: the container reads it
            args = spec(box.stage)
            if data_dir:
                box.volume = client.volumes.create(
                    box.name, driver="local", labels=labels,
                    driver_opts={"type": "tmpfs", "device": "tmpfs",
                                 "o": f"size={tmpfs},uid=10001,gid=10001,mode=0700,"
                                      "nosuid,nodev,noexec"})
                args["mounts"] = [*args.get("mounts", []), Mount("/data", box.name, type="volume")]
            box.network = _create_network(client, box.name, labels)
            # Its gate's kill timer covers a wait in the pool as well as the submission's budget
            # (stretched by the machine's load at most STRETCH times).
            box.box = client.containers.run(
                image, ["sh", "-c", _SETUP, "setup", "python3", "-I", "-S", "-c", GATE,
                        str(int(STRETCH * wall) + 120)],
                name=f"{box.name}-box", detach=True, network=box.name, user="0",
                cap_drop=["ALL"], cap_add=GATE_CAPS, sysctls=NETWORK,
                security_opt=["no-new-privileges"], init=True, labels=labels,
                tmpfs={**args.pop("tmpfs", {}), "/run/gate": "size=64k,mode=0700"}, **args)
            box._wait_ready()
        except DockerException as exc:
            box.remove()
            raise InfraError(f"docker could not make the submission's container: {exc}") \
                from None
        except BaseException:
            box.remove()
            raise
        return box

    @classmethod
    def attach(cls, client: Any, ref: SandboxRef) -> Sandbox:
        """A sandbox the batch made for us (and removes), from its reference: no engine request
        (if it is gone meanwhile, the gate does not answer and the grading says so)."""
        box = cls(client, ref.name)
        box.box = client.containers.prepare_model({"Id": ref.box, "Name": f"/{ref.name}-box"})
        box.volume = client.volumes.prepare_model({"Name": ref.volume}) if ref.volume else None
        box.host, box.box_pid, box.stage = ref.host, ref.box_pid, Path(ref.stage)
        return box

    def ref(self) -> SandboxRef:
        assert self.stage is not None
        return SandboxRef(name=self.name, box=self.box.id, host=self.host, box_pid=self.box_pid,
                          stage=str(self.stage),
                          volume=self.volume.name if self.volume is not None else None)

    # -- the gate ----------------------------------------------------------------------------

    def status(self) -> list[str]:
        """The gate's lines so far: read through its root from this host, or by the engine."""
        if owned_by(self.box_pid, self.box.id):
            try:
                text = Path(f"/proc/{self.box_pid}/root/run/gate/status").read_text()
                if owned_by(self.box_pid, self.box.id):  # still the box's pid after the read
                    return text.splitlines()
            except OSError:
                pass  # not ours to read (a rootless engine): ask the engine
        try:
            res = self.box.exec_run(["cat", "/run/gate/status"], user="0")
        except DockerException as exc:
            raise InfraError(f"the Docker engine stopped answering: {exc}") from None
        return res.output.decode(errors="replace").splitlines() if res.exit_code == 0 else []

    @property
    def gate(self) -> int:
        """The gate as a pid of this host (0 where the engine runs elsewhere): found once, it
        lives as long as the container (its init's only child; the init ends with it)."""
        if not self._gate and self.box_pid:
            self._gate = gate_pid(self.box_pid)
        return self._gate

    def signal(self, sig: signal.Signals) -> None:
        """To the gate: from this host where the init is ours to signal, else by the engine
        (the init forwards it)."""
        if owned_by(self.box_pid, self.box.id):
            if self.gate:
                try:
                    os.kill(self.gate, sig)
                    return
                except OSError:
                    pass
        try:
            self.box.kill(signal=sig.name)
        except DockerException as exc:
            raise InfraError(f"docker could not signal the submission's container: {exc}") \
                from None

    def wait_for(self, line: str, *, timeout: float = 30) -> list[str]:
        """Until the gate has said a line that starts with `line`; all its lines."""
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            lines = self.status()
            if any(x.startswith(line) for x in lines):
                return lines
            failed = [x for x in lines if x.startswith("fail ")]
            if failed:
                raise InfraError(f"the submission's container could not start the run: "
                                 f"{failed[-1][5:]}")
            if time.monotonic() > deadline:
                self.box.reload()
                out = self.box.logs()[-500:].decode(errors="replace").strip()
                raise InfraError(f"the submission's container did not say {line!r} within "
                                 f"{timeout:g} s (it is {self.box.status}; {lines[-3:]} {out})")
            time.sleep(pause)
            pause = min(0.05, pause * 1.5)

    def _wait_ready(self) -> None:
        self.box.reload()
        self.box_pid = host_pid(self.box)
        self.wait_for("ready")
        self.box.reload()
        self.host = self.box.attrs["NetworkSettings"]["Networks"][self.name]["IPAddress"]

    def remove(self) -> None:
        """Remove every container in the sandbox (a client's site), then the box, network,
        volume and stage; report the first failure after trying them all."""
        errors = []
        try:
            inside = self.client.containers.list(
                all=True, filters={"label": f"{LABEL}.sandbox={self.name}"}, ignore_removed=True)
        except DockerException:
            inside = []
        for obj in [*[c for c in inside if c.name != f"{self.name}-box"], self.box,
                    self.network, self.volume]:
            if obj is not None:
                try:
                    remove(obj)
                except InfraError as exc:
                    errors.append(exc)
        if self.stage is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
        if errors:
            raise errors[0]


def gate_pid(init: int) -> int:
    """The gate: the container init's only child."""
    try:
        children = Path(f"/proc/{init}/task/{init}/children").read_text().split()
    except OSError:
        return 0
    return int(children[0]) if len(children) == 1 else 0


def host_pid(container: Any) -> int:
    """A running container's init as a pid of this host, or 0 where the engine runs elsewhere
    (a VM, whose pids mean nothing here)."""
    pid = int(container.attrs["State"].get("Pid") or 0)
    return pid if owned_by(pid, container.id) else 0


def owned_by(pid: int, container_id: str) -> bool:
    """Is `pid` a process of this host in that container's cgroup (and not a reused pid)?"""
    try:
        return bool(pid) and container_id in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


def remove(obj: Any) -> None:
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


class SandboxPool:
    """Sandboxes made ahead (one spare per worker) and removed behind, off the critical path."""

    def __init__(self, make: Callable[[], Sandbox], *, spares: int) -> None:
        self._make, self._spares = make, max(1, spares)
        self._work = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox")
        self._ready: deque[Future[Sandbox]] = deque()
        self._taken: dict[str, Sandbox] = {}
        self._removals: list[Future[None]] = []
        self._lock = threading.Lock()

    def take(self) -> SandboxRef | None:
        """A ready sandbox (None if the engine could not make one: the grading then makes its
        own and reports what fails)."""
        with self._lock:
            if not self._ready:
                self._ready.append(self._work.submit(self._make))
            future = self._ready.popleft()
            while len(self._ready) < self._spares:
                self._ready.append(self._work.submit(self._make))
        try:
            box = future.result()
        except InfraError:
            return None
        self._taken[box.name] = box
        return box.ref()

    def release(self, ref: SandboxRef | None) -> None:
        """Remove a used sandbox in the background (its result is already written)."""
        box = self._taken.pop(ref.name, None) if ref else None
        if box is not None:
            self._removals.append(self._work.submit(_quietly, box))

    def close(self) -> None:
        """Remove the spares and wait for every removal."""
        with self._lock:
            ready, self._ready = list(self._ready), deque()
        for future in ready:
            future.cancel()
        for future in ready:
            if not future.cancelled():
                try:
                    self._removals.append(self._work.submit(_quietly, future.result()))
                except (InfraError, RuntimeError):
                    pass
        for box in list(self._taken.values()):
            self._removals.append(self._work.submit(_quietly, box))
        self._taken.clear()
        self._work.shutdown(wait=True)


def _quietly(box: Sandbox) -> None:
    try:
        box.remove()
    except InfraError:
        pass  # the batch's final reap removes what is left, by label
