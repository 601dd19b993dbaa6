"""What the harness costs: time per submission through each backend, in a batch as `grader grade`
runs it (one worker, so submissions do not overlap: start, suite, teardown, reports), against
the suite alone run against an already-running server (which never pays for a start, and skips
restart tests). docker - process is what the container itself costs. All measured in this one
run.

Usage: python bench/overhead.py [RUNS] [ASSIGNMENT...]   (RUNS copies of the reference each)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from grader.batch.local import grade_class, prepare
from grader.core.config import load_course
from grader.run import forkserver
from grader.run.suite import pytest_command
from grader.sandbox import open_server

ROOT = Path(__file__).resolve().parent.parent


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def suite_alone(assignment, limits) -> float:
    """pytest against a reference server that is already listening (not counted), started the
    way the grader starts its pytest children (a fork of a warm Python), so that the difference
    is what the harness adds: the container, readiness, restarts, teardown, reports."""
    with open_server("process", assignment=assignment, limits=limits,
                     submission=ROOT / "reference" / assignment.id) as server, \
            tempfile.TemporaryDirectory() as tmp:
        cmd = pytest_command(assignment, hidden=True,
                             args=["--server", f"{server.host}:{server.port}"])
        return timed(lambda: forkserver.run(cmd, cwd=assignment.dir, log=Path(tmp, "log"),
                                            timeout=600))


def per_submission(course, assignment, backend: str, runs: int) -> tuple[float, float]:
    """Seconds per submission for a class of `runs` copies of the reference, one worker: the
    batch's wall time over `runs`, and the median of the gradings' own times (the first
    submission's sandbox, made before any suite runs, is the batch's start-up, not a
    submission's)."""
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp, "subs")
        subs.mkdir()
        for i in range(runs):
            (subs / f"s{i}").symlink_to(ROOT / "reference" / assignment.id)
        quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115
        results: list = []
        seconds = timed(lambda: results.extend(grade_class(
            course=course, assignment=assignment, submissions=subs, out=Path(tmp, "out"),
            backend=backend, workers=1, console=quiet)))
        assert all(r.full_marks for r in results), [r.reason for r in results]
        return seconds / runs, statistics.median(r.duration for r in results)


TARGET = 0.3  # s: what the container may add to a submission (docker - process, median)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    course = load_course(ROOT)
    names = sys.argv[2:] or list(course.assignments)
    print(f"seconds per submission (reference solution, hidden tests); suite alone: median of "
          f"{runs}; backends: a batch of {runs}, one worker: its wall time / {runs}, and in "
          f"brackets the median grading")
    print(f"{'assignment':<12}{'suite alone':>12}{'process':>16}{'docker':>16}"
          f"{'docker-suite':>14}{'docker/suite':>14}{'docker-process':>18}")
    met = []
    for name in names:
        a = course.assignment(name)
        prepare(course, a, "docker", log=lambda _: None)  # images built outside the timing
        alone = statistics.median(suite_alone(a, course.limits_for(a)) for _ in range(runs))
        p, p_med = per_submission(course, a, "process", runs)
        d, d_med = per_submission(course, a, "docker", runs)
        met.append(d_med - p_med <= TARGET)
        print(f"{name:<12}{alone:>12.2f}{p:>9.2f} ({p_med:.2f}){d:>9.2f} ({d_med:.2f})"
              f"{d - alone:>14.2f}{d / alone:>14.2f}{d - p:>9.2f} ({d_med - p_med:.2f})")
    print(f"docker - process at most {TARGET} s (median): "
          f"{'met' if all(met) else 'NOT met'} for {sum(met)} of {len(met)}")


if __name__ == "__main__":
    main()
