"""The docker sandbox's promises, proven from inside the project's own world: real containers,
listeners this test opens itself, and nothing addressed outside this machine."""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import pytest

from grader.core.config import Course
from grader.core.job import owner_id
from grader.sandbox import LABEL, open_server
from grader.sandbox.docker import _dead, owner_labels
from grader.sandbox.images import runtime_image

from .conftest import ROOT
from .listener import CountingListener


@pytest.fixture
def other_network_listener(docker_ready: str, course: Course) -> Iterator[str]:
    """A listener in another container, on another project network: ip:port."""
    client = docker.from_env()
    image = runtime_image(course, course.assignment("echo"), log=lambda _: None)
    labels = {LABEL: "1", f"{LABEL}.owner": "0"}  # owner 0: reaped if this test dies
    net = client.networks.create("grader-test-other", internal=True, labels=labels)
    box = client.containers.run(image, ["python3", "-m", "http.server", "9000"], detach=True,
                                network=net.name, labels=labels, name="grader-test-other")
    try:
        box.reload()
        ip = box.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
        deadline = time.monotonic() + 10
        while True:  # positive control: it really listens (the host can reach it)
            try:
                socket.create_connection((ip, 9000), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the other container never listened"
                time.sleep(0.1)
        yield f"{ip}:9000"
    finally:
        box.remove(force=True)
        net.remove()


def test_container_reaches_nothing_but_answers_the_grader(
        course: Course, other_network_listener: str) -> None:
    on_host = CountingListener("0.0.0.0")  # every host address, the bridge gateways included
    on_loopback = CountingListener("127.0.0.1")
    echo = course.assignment("echo")
    assignment = echo.model_copy(update={"env": {
        "TARGETS": f"{other_network_listener},127.0.0.1:{on_loopback.port}",
        "HOST_PORT": str(on_host.port)}})
    image = runtime_image(course, echo, log=lambda _: None)
    with open_server("docker", assignment=assignment, limits=course.limits, image=image,
                     submission=ROOT / "tests" / "sandbox_probe") as server:
        sock = socket.create_connection((server.host, server.port), timeout=5)
        sock.sendall(b"grader")
        assert sock.recv(100) == b"grader"  # the grader does reach it
        sock.close()
        deadline = time.monotonic() + 15
        while "probe done" not in server.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.logs()
        socket.create_connection(("127.0.0.1", on_host.port), timeout=2).close()  # control
    assert "default route: none" in log, log
    assert "reached" not in log, log
    assert log.count("blocked") >= 3, log
    assert f"blocked {other_network_listener}" in log
    assert "uid 10001 probe done" in log, "the submission must not run as root"
    for line in ("CapEff: 0000000000000000", "CapPrm: 0000000000000000",
                 "CapBnd: 0000000000000000", "CapAmb: 0000000000000000", "NoNewPrivs: 1"):
        assert f"status {line}" in log, log  # an empty bounding set: nothing to regain
    assert "status Groups:\n" in log, log  # no supplementary group either
    assert on_loopback.accepted == 0 and on_host.accepted == 1  # only our own control
    assert not _left("sandbox_probe")


@contextmanager
def _reference(course: Course, name: str) -> Iterator[tuple[Any, Any]]:
    """The reference of `name` running in docker: the server and its one container."""
    assignment = course.assignment(name)
    image = runtime_image(course, assignment, log=lambda _: None)
    with open_server("docker", assignment=assignment, limits=course.limits, image=image,
                     submission=ROOT / "reference" / name) as server:
        [found] = [c for c in docker.from_env().containers.list(filters={"label": LABEL})
                   if c in _left(name)]
        yield server, found
    assert not _left(name)


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def test_container_limits_are_on_by_default(course: Course, docker_ready: str) -> None:
    """One container per submission, its limits on: it starts as root only to put its network
    rules in, and its gate keeps no capability but those to drop to the student's uid, which
    runs the code with none at all (an empty bounding set, no new privileges)."""
    with _reference(course, "echo") as (server, box):
        host = box.attrs["HostConfig"]
        assert host["Memory"] == 256 * 1024 * 1024 and host["MemorySwap"] == host["Memory"]
        assert host["NanoCpus"] == 1_000_000_000 and host["PidsLimit"] == 64
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
        assert sorted(host["CapAdd"]) == ["KILL", "NET_ADMIN", "SETGID", "SETPCAP", "SETUID"]
        assert host["SecurityOpt"] == ["no-new-privileges"] and host["Init"]
        assert host["Tmpfs"]["/tmp"] == "size=16m,mode=1777"
        assert host["LogConfig"]["Config"]["max-size"] == "1m"
        mounts = {m["Destination"]: m for m in box.attrs["Mounts"]}
        assert mounts["/app"]["RW"] is False and mounts["/srv/ctl"]["RW"] is False
        run = server._proc  # the run's first process, seen from this host
        assert run is not None, "the engine runs elsewhere: nothing to check here"
        # the wall budget, counted from the first start (a loaded machine may take a second
        # between that and the run's order)
        command = run.cmdline()
        assert command[:3] == ["timeout", "-s", "KILL"] and 478 <= int(command[3]) <= 480
        inside = _status(run.pid)
        assert inside["Uid"].split() == ["10001"] * 4 and inside["Gid"].split() == ["10001"] * 4
        assert inside["Groups"] == "" and inside["NoNewPrivs"] == "1"
        for caps in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"):
            assert int(inside[caps], 16) == 0, (caps, inside[caps])
        gate = _status(server._root_pid())  # root, with only what it needs to drop to 10001
        assert gate["Uid"].split()[0] == "0"  # and to end the run: KILL, SETGID, SETUID, SETPCAP
        assert int(gate["CapBnd"], 16) == (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8), gate["CapBnd"]


def test_a_restart_is_a_new_run_in_the_same_container(course: Course, docker_ready: str) -> None:
    """No container or network is made for a restart: the gate ends every process of the run
    (a daemon the run left too) and starts the next one in the same namespace, which binds
    PORT again at once."""
    with _reference(course, "echo") as (server, box):
        first = server._proc
        assert first is not None, "the engine runs elsewhere: nothing to check here"
        networks = {n.name for n in _left("echo") if isinstance(n, docker.models.networks.Network)}
        server.restart()
        assert not first.is_running(), "the first run outlived the restart"
        assert server._proc is not None and server._proc.pid != first.pid
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(b"again")
            assert sock.recv(100) == b"again"
        assert [c.id for c in _left("echo") if isinstance(c, docker.models.containers.Container)] \
            == [box.id]
        assert {n.name for n in _left("echo")
                if isinstance(n, docker.models.networks.Network)} == networks


def test_data_dir_is_locked_down_too(course: Course, docker_ready: str) -> None:
    """DATA_DIR's volume is mounted nosuid, nodev and noexec."""
    with _reference(course, "books"):
        [volume] = [v for v in _left("books") if isinstance(v, docker.models.volumes.Volume)]
        options = volume.attrs["Options"]["o"].split(",")
        assert {"nosuid", "nodev", "noexec"} <= set(options), options


@pytest.mark.pure
def test_a_reused_pid_does_not_make_a_dead_graders_leftovers_look_alive() -> None:
    """Leftovers are keyed by host, pid and the pid's start time: a live process that holds the
    pid but started at another time is not their owner, so they are reaped."""
    me = owner_id()
    host, _, rest = me.rpartition(":")
    pid, _, started = rest.partition("@")
    assert started, me
    labels = owner_labels(me)
    assert (labels[f"{LABEL}.host"], labels[f"{LABEL}.owner"], labels[f"{LABEL}.started"]) == (
        host, pid, started)
    assert not _dead(me)  # alive, same start: its objects stay
    assert _dead(f"{host}:{pid}@{int(started) + 1}")  # the pid is alive, but another process's
    assert not _dead(f"{host}:{pid}")  # an earlier version's labels: the pid is all there is
    assert not _dead(f"another-host:{pid}@1")  # another host's to reap
    assert _dead(f"{host}:not-a-pid")


def test_listeners_are_read_only_from_the_container_itself(course: Course,
                                                          docker_ready: str) -> None:
    """The container init's pid is checked after the socket tables are read: a pid that now
    belongs to another process (here, this test's) gives that process's sockets, which are never
    reported; the container is asked instead."""
    echo = course.assignment("echo")
    image = runtime_image(course, echo, log=lambda _: None)
    with socket.create_server(("127.0.0.1", 0)) as mine, open_server(
            "docker", assignment=echo, limits=course.limits, image=image,
            submission=ROOT / "reference" / "echo") as server:
        box = server._box  # type: ignore[attr-defined]
        assert box.box_pid, "the engine runs elsewhere: nothing to check here"
        ports = {listener.port for listener in server.listeners()}
        assert server.port in ports and mine.getsockname()[1] not in ports
        box.box_pid = os.getpid()  # as if the container were gone and its pid taken
        ports = {listener.port for listener in server.listeners()}
        assert mine.getsockname()[1] not in ports, "another process's sockets were reported"
        assert server.port in ports  # read by the container itself
    assert not _left("echo")


def _left(student: str) -> list[object]:
    """What this process's sandboxes for `student` left behind."""
    client = docker.from_env()
    mine = {"label": [f"{LABEL}.student={student}",
                      *(f"{k}={v}" for k, v in owner_labels(owner_id()).items())]}
    return [*client.containers.list(all=True, filters=mine), *client.networks.list(filters=mine),
            *client.volumes.list(filters=mine)]


_PLANTS_LINKS = """
import os, socket
data = os.environ["DATA_DIR"]
open(os.path.join(data, "books.db"), "w").write("mine")
os.makedirs(os.path.join(data, "sub"))
open(os.path.join(data, "sub", "notes.txt"), "w").write("also mine")
os.symlink("{secret}", os.path.join(data, "to_a_file"))  # absolute: read as root from the host,
os.symlink("{folder}", os.path.join(data, "to_a_folder"))  # these would be the host's own
os.mkfifo(os.path.join(data, "fifo"))  # opening it for reading would block forever
s = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    s.accept()[0].close()
"""


@pytest.mark.parametrize("how", ["docker", "docker-archive", "process"])
def test_data_files_never_follow_a_link_out_of_data_dir(
        course: Course, docker_ready: str, tmp_path, how: str) -> None:
    """The grader reads DATA_DIR from the host (with docker as root, through the container's root)
    or, where it cannot, as the engine's archive: either way only the submission's own regular
    files, never what a link points to."""
    folder = tmp_path / "host_folder"
    folder.mkdir()
    (folder / "secret").write_text("the host's secret")
    submission = tmp_path / "links"
    submission.mkdir()
    (submission / "server.py").write_text(
        _PLANTS_LINKS.format(secret=folder / "secret", folder=folder))
    echo = course.assignment("echo").model_copy(update={"data_dir": True})
    image = runtime_image(course, echo, log=lambda _: None)
    with open_server(how.split("-")[0], assignment=echo, limits=course.limits, image=image,
                     submission=submission) as server:
        if how == "docker-archive":
            server._box.box_pid = 0  # type: ignore[attr-defined]  # as with a remote engine
        elif how == "docker":  # read on this host: the engine is not asked
            server._box.box.get_archive = None  # type: ignore[attr-defined]
        assert server.data_files() == {"books.db": b"mine", "sub/notes.txt": b"also mine"}
    assert not _left("links")


def test_more_sandboxes_than_the_engines_default_pools_hold(docker_ready: str) -> None:
    """The engine's default pools give each network a /16 or /20 and run out at about 31: two
    graders on one machine once got "could not find an available ... address pool". Sandboxes
    take a /29 each, so 40 networks at once (more than the defaults hold) are no trouble."""
    from grader.sandbox.docker import client, owner_labels
    from grader.sandbox.netns import SUBNETS, _create_network

    engine, made = client(), []
    try:
        for i in range(40):
            made.append(_create_network(engine, f"grader-pool-{owner_id().replace(':', '-')}-{i}",
                                        owner_labels(owner_id())))
        subnets = {n.attrs["IPAM"]["Config"][0]["Subnet"] for n in made}
        assert len(subnets) == 40
        assert all(ipaddress.IPv4Network(s).subnet_of(SUBNETS) for s in subnets), subnets
    finally:
        for network in made:
            network.remove()


@pytest.mark.pure
def test_sandbox_subnets_avoid_this_hosts_routes(monkeypatch) -> None:
    from grader.sandbox import netns

    taken = [ipaddress.IPv4Network("10.213.0.0/17")]  # a site's own network, say
    monkeypatch.setattr(netns, "host_routes", lambda: taken)
    chosen = netns.free_subnets(50)
    assert len(chosen) == 50 and not any(s.overlaps(taken[0]) for s in chosen), chosen
    assert all(s.prefixlen == 29 and s.subnet_of(netns.SUBNETS) for s in chosen)
