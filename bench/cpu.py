"""Where a class run's CPU goes: a synthetic echo class (bench/class.py's) graded through docker
at the default worker count, and the machine's CPU seconds per submission by part, all from
this one run:

- the grader: this process (the batch, its threads, the sandbox pool's engine requests);
- the suites: the pytest children and the warm Python they are forked from (a cgroup of their
  own that this process moves itself into first: every child inherits it);
- the containers: every process in them (the student's server, the gate, the init), from the
  engine's cgroup (`cpuacct`, cgroup v1; `n/a` elsewhere);
- the engine: dockerd and containerd (long-lived, read before and after);
- the rest: the machine's total (/proc/stat) minus all of those: the containers' shims and
  runc (a create, start and remove each), the kernel's network and softirq work, anything else.

Then the same parts for the sandboxes alone (made and removed as a batch's pool does, nothing
graded), and for as many bare containers (no network, no gate): what the engine's operations
cost on their own.

Usage: python bench/cpu.py [N]   (default 40; run it on a quiet machine)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from importlib import import_module  # noqa: E402

bench_class = import_module("class")  # bench/class.py: its class and its grading

CGROUP_V1 = Path("/sys/fs/cgroup/cpuacct")
ENGINE = ("dockerd", "containerd")


def machine_cpu() -> float:
    """CPU seconds of the whole machine so far: every state but idle and iowait."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cgroup_cpu(path: Path) -> float | None:
    try:
        return int((path / "cpuacct.usage").read_text()) / 1e9
    except (OSError, ValueError):
        return None


def engine_cpu() -> float:
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if proc.info["name"] in ENGINE and proc.info["cpu_times"]:
            t = proc.info["cpu_times"]
            total += t.user + t.system
    return total


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


PARTS = ("grader", "suites", "containers", "engine", "rest", "total")


class Meter:
    """The parts' CPU seconds over a block, from the counters above read before and after."""

    def __init__(self, cgroup: Path) -> None:
        self.cgroup = cgroup

    def read(self) -> tuple[float, float, float | None, float | None, float]:
        return (machine_cpu(), own_cpu(), cgroup_cpu(self.cgroup),
                cgroup_cpu(CGROUP_V1 / "docker"), engine_cpu())

    def parts(self, before: tuple, after: tuple) -> dict[str, float | None]:
        d = [None if a is None or b is None else b - a for a, b in zip(before, after, strict=True)]
        total, grader, in_cgroup, containers, engine = d
        suites = None if in_cgroup is None else in_cgroup - grader
        rest = total - sum(x for x in (grader, suites, containers, engine) if x is not None)
        return dict(zip(PARTS, (grader, suites, containers, engine, rest, total), strict=True))


def show(parts: dict[str, float | None], n: int) -> None:
    total = parts["total"] or 1.0
    print(f"  {'part':<12} {'CPU s':>8} {'per sub':>8} {'share':>6}")
    for name, value in parts.items():
        if value is None:
            print(f"  {name:<12} {'n/a':>8}")
        else:
            print(f"  {name:<12} {value:8.1f} {value / n:8.2f} {value / total:6.0%}")


def sandboxes_alone(course, image: str, n: int, workers: int) -> None:
    """What the pool's engine operations cost with nothing graded: n sandboxes (a network, a
    container whose gate comes up, a volume where the assignment has DATA_DIR) made and removed,
    `workers` at a time, as a batch's pool does."""
    from concurrent.futures import ThreadPoolExecutor

    from grader.sandbox.docker import client, make_sandbox, owner_labels

    engine, echo = client(), course.assignment("echo")

    def one(_: int) -> None:
        make_sandbox(engine, assignment=echo, limits=course.limits, image=image,
                     labels=owner_labels(f"bench-cpu-{os.getpid()}")).remove()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(n)))


def bare_containers(image: str, n: int, workers: int) -> None:
    """The same count of the plainest containers: no network of their own (`none`), no gate,
    no volume, no limits: `true` run, waited for and removed. What a container costs the
    engine, apart from what the sandbox adds."""
    from concurrent.futures import ThreadPoolExecutor

    from grader.sandbox.docker import LABEL, client

    engine = client()

    def one(_: int) -> None:
        box = engine.containers.run(image, ["true"], network_mode="none", detach=True,
                                    labels={f"{LABEL}.bench": str(os.getpid())})
        box.wait()
        box.remove(force=True)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(n)))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    course = bench_class.load_course(bench_class.ROOT)
    _, image = bench_class.prepare(course, course.assignment("echo"), "docker",
                                   log=lambda _: None)
    assert image
    workers = bench_class.default_workers("docker", course.limits)
    mine = CGROUP_V1 / f"grader-bench-{os.getpid()}"
    try:
        mine.mkdir()
        (mine / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        mine = Path("/nonexistent")  # no cgroup v1 to make (or not root): suites are n/a
    meter, cores = Meter(mine), psutil.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    try:
        subs = bench_class.make_class(tmp / "class", n)
        before, start = meter.read(), time.perf_counter()
        seconds, _ = bench_class.grade(course, subs, None)
        graded = meter.parts(before, meter.read())
        busy = (graded["total"] or 0) / ((time.perf_counter() - start) * cores)
        print(f"{n} echo submissions graded, {workers} workers, {cores} cores: {seconds:.0f} s "
              f"({seconds / n:.2f} s each); the machine's CPU {busy:.0%} busy")
        show(graded, n)
        before, start = meter.read(), time.perf_counter()
        sandboxes_alone(course, image, n, workers)
        seconds = time.perf_counter() - start
        alone = meter.parts(before, meter.read())
        print(f"{n} sandboxes made and removed, nothing graded, {workers} at a time: "
              f"{seconds:.0f} s")
        show(alone, n)
        before, start = meter.read(), time.perf_counter()
        bare_containers(image, n, workers)
        seconds = time.perf_counter() - start
        print(f"{n} bare containers (no network, no gate) run and removed, {workers} at a time: "
              f"{seconds:.0f} s")
        show(meter.parts(before, meter.read()), n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if mine.exists():  # every process still in it (the warm Python) back to the root
            for pid in (mine / "cgroup.procs").read_text().split():
                try:
                    (CGROUP_V1 / "cgroup.procs").write_text(pid)
                except OSError:
                    pass
            try:
                mine.rmdir()
            except OSError as exc:
                print(f"(could not remove {mine}: {exc})")


if __name__ == "__main__":
    main()
