"""A submission's network sandbox: an internal network, a "holder" container that owns the network
namespace (and keeps DATA_DIR's tmpfs volume mounted), and that volume.

The holder (the only one with NET_ADMIN, running only our script) deletes the default route and
drops every new outbound connection, so the namespace can answer the grader but never initiate.
Making and removing one takes most of a container's fixed cost, so a batch keeps a `SandboxPool`:
the next submissions' sandboxes are made while the current suites run, and used ones are removed
in the background after their result is written (anything left is reaped by label).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import random
import socket
import struct
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from docker.errors import APIError, DockerException, NotFound
from docker.types import IPAMConfig, IPAMPool, LogConfig, Mount

from grader.core.job import SandboxRef
from grader.sandbox.base import LABEL, InfraError

__all__ = ["NETWORK", "SUBNETS", "Sandbox", "SandboxPool", "free_subnets", "host_pid",
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

_HOLD = """
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ip route del default 2>/dev/null || true
keep='-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'
rest='-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -j DROP'
dns='-A OUTPUT -d {dns} -j DROP'
printf '*filter\\n%s\\n%s\\n%s\\nCOMMIT\\n' "$keep" "$dns" "$rest" | iptables-restore -w
printf '*filter\\n%s\\n%s\\nCOMMIT\\n' "$keep" "$rest" | ip6tables-restore -w
echo ready
exec timeout -s KILL {wall} sleep infinity
"""


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
    """The network, holder and volume of one submission, by name (they outlive a process)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client, self.name = client, name
        self.network: Any = None
        self.holder: Any = None
        self.volume: Any = None
        self.host = ""  # the namespace's address on the internal network
        self.holder_pid = 0  # its /proc/PID/net shows the namespace's sockets

    @classmethod
    def create(cls, client: Any, *, image: str, labels: dict[str, str], wall: float,
               tmpfs: str, data_dir: bool) -> Sandbox:
        box = cls(client, f"grader-{uuid.uuid4().hex[:10]}")
        labels = {**labels, f"{LABEL}.sandbox": box.name}
        try:
            client.images.get(image)  # never let the engine try to pull a missing image
        except DockerException:
            raise InfraError(f"the runtime image {image} is missing: run `grader images`") \
                from None
        try:
            if data_dir:
                box.volume = client.volumes.create(
                    box.name, driver="local", labels=labels,
                    driver_opts={"type": "tmpfs", "device": "tmpfs",
                                 "o": f"size={tmpfs},uid=10001,gid=10001,mode=0700,"
                                      "nosuid,nodev,noexec"})
            box.network = _create_network(client, box.name, labels)
            # Its kill timer covers a wait in the pool as well as the submission's budget.
            box.holder = client.containers.run(
                image, ["sh", "-c", _HOLD.format(wall=int(2 * wall) + 120, dns="127.0.0.11")],
                name=f"{box.name}-net", detach=True, network=box.name, user="0",
                cap_drop=["ALL"], cap_add=["NET_ADMIN"], read_only=True,
                tmpfs={"/run": "size=1m"}, mem_limit="64m", pids_limit=16, labels=labels,
                sysctls=NETWORK, security_opt=["no-new-privileges"],
                log_config=LogConfig(type="json-file", config={"max-size": "64k"}),
                mounts=[Mount("/data", box.name, type="volume")] if data_dir else [])
            box._wait_ready()
        except DockerException as exc:
            box.remove()
            raise InfraError(f"docker could not make the network sandbox: {exc}") from None
        except BaseException:
            box.remove()
            raise
        return box

    @classmethod
    def attach(cls, client: Any, ref: SandboxRef) -> Sandbox:
        """A sandbox the batch made for us (and removes), from its reference: no engine request
        (if it is gone meanwhile, the app's container fails to start and says so)."""
        box = cls(client, ref.name)
        box.holder = client.containers.prepare_model({"Id": ref.holder, "Name": f"/{ref.name}-net"})
        box.volume = client.volumes.prepare_model({"Name": ref.volume}) if ref.volume else None
        box.host, box.holder_pid = ref.host, ref.holder_pid
        return box

    def ref(self) -> SandboxRef:
        return SandboxRef(name=self.name, holder=self.holder.id, host=self.host,
                          holder_pid=self.holder_pid,
                          volume=self.volume.name if self.volume is not None else None)

    def _wait_ready(self) -> None:
        """Until the holder says its rules are in (its state is read only now and then: each
        request costs the engine CPU that the running suites need)."""
        deadline = time.monotonic() + 30
        for i in itertools.count():
            if b"ready" in self.holder.logs():
                break
            if i % 10 == 9:
                self.holder.reload()
            if self.holder.status == "exited" or time.monotonic() > deadline:
                out = self.holder.logs()[-500:].decode(errors="replace")
                raise InfraError(f"the network sandbox did not come up: {out.strip()}")
            time.sleep(0.03)
        self._read_address()

    def _read_address(self) -> None:
        self.holder.reload()
        self.host = self.holder.attrs["NetworkSettings"]["Networks"][self.name]["IPAddress"]
        self.holder_pid = host_pid(self.holder)

    def remove(self) -> None:
        """Remove every container in the sandbox, then holder, network and volume; report the
        first failure after trying them all."""
        errors = []
        try:
            inside = self.client.containers.list(
                all=True, filters={"label": f"{LABEL}.sandbox={self.name}"}, ignore_removed=True)
        except DockerException:
            inside = []
        for obj in [*[c for c in inside if c.name != f"{self.name}-net"], self.holder,
                    self.network, self.volume]:
            if obj is not None:
                try:
                    remove(obj)
                except InfraError as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]


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

    def __init__(self, client: Any, *, spares: int, **make: Any) -> None:
        self._client, self._make, self._spares = client, make, max(1, spares)
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
                self._ready.append(self._work.submit(Sandbox.create, self._client, **self._make))
            future = self._ready.popleft()
            while len(self._ready) < self._spares:
                self._ready.append(self._work.submit(Sandbox.create, self._client, **self._make))
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
