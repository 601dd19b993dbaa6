"""What the cluster path costs on one machine: the same class graded by the local pool (2 slots)
and by a Dask cluster on loopback (a scheduler and 2 one-slot workers, separate processes), same
engine, same slots; wall-clock time per batch, alternated, medians, all in this one run.
Usage: python bench/cluster.py [STUDENTS] [ROUNDS] [ASSIGNMENT]"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from grader.batch.cluster import cluster_pool
from grader.batch.local import grade_class, prepare
from grader.core.config import ClusterSettings, load_course

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the loopback cluster is test code: tests/loopback.py
from tests.loopback import Loopback  # noqa: E402

SLOTS = 2


def main() -> None:
    students = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    name = sys.argv[3] if len(sys.argv) > 3 else "echo"
    course = load_course(ROOT)
    assignment = course.assignment(name)
    prepare(course, assignment, "docker", log=lambda _: None)  # the image, built once
    quiet = Console(quiet=True)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        subs = Path(tmp, "subs")
        subs.mkdir()
        for i in range(students):
            (subs / f"s{i:03d}").symlink_to(ROOT / "reference" / name)
        started = time.perf_counter()
        with Loopback(Path(tmp, "dask")) as lb:
            for i in range(SLOTS):
                lb.add_worker(f"w{i}")
            up = time.perf_counter() - started
            remote = cluster_pool(ClusterSettings(scheduler=lb.address))
            times: dict[str, list[float]] = {"local": [], "cluster": []}
            for r in range(rounds):
                for how, kw in (("local", {}), ("cluster", {"executor": remote})):
                    t0 = time.perf_counter()
                    results = grade_class(course=course, assignment=assignment,
                                          submissions=subs, out=Path(tmp, f"{how}{r}"),
                                          workers=SLOTS, backend="docker", console=quiet,
                                          **kw)  # type: ignore[arg-type]
                    times[how].append(time.perf_counter() - t0)
                    assert all(x.full_marks for x in results), [x.reason for x in results]
    local, cluster = (statistics.median(times[k]) for k in ("local", "cluster"))
    print(f"{name}: {students} submissions (reference), {SLOTS} slots, median of {rounds}")
    print(f"  local pool       {local:7.2f} s  ({local / students:.2f} s per submission)")
    print(f"  loopback cluster {cluster:7.2f} s  ({cluster / students:.2f} s per submission; "
          f"starting the cluster: {up:.1f} s, not counted)")
    print(f"  cluster / local  {cluster / local:7.2f}  (each round, local: "
          f"{', '.join(f'{t:.1f}' for t in times['local'])}; cluster: "
          f"{', '.join(f'{t:.1f}' for t in times['cluster'])})")


if __name__ == "__main__":
    main()
