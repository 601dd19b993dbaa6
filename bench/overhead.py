"""What the harness costs: time per submission through each backend (start to teardown, suite
included) against the suite alone run against an already-running server. Medians of several runs,
all measured in this one run. Usage: python bench/overhead.py [RUNS] [ASSIGNMENT...]"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from grader.batch import prepare
from grader.config import load_course
from grader.grade import grade_submission
from grader.sandbox import open_server

ROOT = Path(__file__).resolve().parent.parent


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def suite_alone(assignment, limits) -> float:
    """pytest against a reference server that is already listening (not counted)."""
    with open_server("process", assignment=assignment, limits=limits,
                     submission=ROOT / "reference" / assignment.id) as server:
        cmd = [sys.executable, "-m", "pytest", *map(str, assignment.suites(hidden=True)),
               "-c", str(ROOT / "grader" / "suite.ini"), "--rootdir", str(assignment.dir),
               "-q", "--no-header", "--server", f"{server.host}:{server.port}",
               "-o", f"timeout={assignment.test_timeout:g}"]
        return timed(lambda: subprocess.run(cmd, cwd=assignment.dir, capture_output=True))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    course = load_course(ROOT)
    names = sys.argv[2:] or list(course.assignments)
    print(f"median of {runs} runs, seconds per submission (reference solution, hidden tests)")
    print(f"{'assignment':<12}{'suite alone':>12}{'process':>10}{'docker':>10}"
          f"{'docker/suite':>14}{'process/suite':>15}")
    for name in names:
        a = course.assignment(name)
        limits = course.limits_for(a)
        _, image = prepare(course, a, "docker", log=lambda _: None)
        alone = [suite_alone(a, limits) for _ in range(runs)]
        by_backend = {}
        for backend, img in (("process", None), ("docker", image)):
            run = partial(grade_submission, course=course, assignment=a, backend=backend,
                          submission=ROOT / "reference" / name, image=img)
            by_backend[backend] = [timed(run) for _ in range(runs)]
        s, p, d = (statistics.median(x) for x in (alone, by_backend["process"],
                                                   by_backend["docker"]))
        print(f"{name:<12}{s:>12.2f}{p:>10.2f}{d:>10.2f}{d / s:>14.2f}{p / s:>15.2f}")


if __name__ == "__main__":
    main()
