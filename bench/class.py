"""A class-sized run, all figures from this one run: a synthetic class of echo submissions (the
reference and the buggy variants, repeated) graded through docker.

1. CLASS submissions at the default worker count: wall time, the grader's peak memory (its own
   process and the pytest children), and the same for a class half as large (memory flat?).
2. A SLICE of them with 1, 2, 4 and 8 workers: wall time each, and whether every worker count
   gave identical grades.
3. NAIVE of them graded by the naive course script (a `docker build` per submission, a fixed
   sleep, pytest against the published port, serial) and by the grader with one worker.

Usage: python bench/class.py [CLASS [SLICE [NAIVE]]]   (defaults 200 40 20)
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from rich.console import Console

from grader.batch.local import default_workers, grade_class, prepare
from grader.core.config import load_course
from grader.run.suite import pytest_command

ROOT = Path(__file__).resolve().parent.parent
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115


def make_class(folder: Path, n: int) -> Path:
    """n submissions: the reference and every buggy echo variant, in turn."""
    sources = [ROOT / "reference/echo", *sorted(p for p in (ROOT / "tests/buggy/echo").iterdir()
                                                  if (p / "server.py").is_file())]
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"s{i:03d}").symlink_to(sources[i % len(sources)])
    return folder


class PeakMemory:
    """The grader's peak resident memory: this process plus its children, sampled."""

    def __init__(self) -> None:
        self.peak, self._stop = 0, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            try:
                rss = me.memory_info().rss + sum(
                    c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                continue
            self.peak = max(self.peak, rss)

    def stop(self) -> int:
        self._stop.set()
        return self.peak


def grade(course, subs: Path, workers: int | None) -> tuple[float, dict[str, tuple]]:
    out = Path(tempfile.mkdtemp(prefix="bench-out-"))
    start = time.perf_counter()
    results = grade_class(course=course, assignment=course.assignment("echo"), submissions=subs,
                          out=out, backend="docker", workers=workers, console=QUIET)
    seconds = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return seconds, {r.student: (r.status, tuple(t.status for t in r.tests)) for r in results}


def naive(course, image: str, subs: Path) -> float:
    """What a course script does without the harness: build, run, sleep, test, remove."""
    echo = course.assignment("echo")
    start = time.perf_counter()
    for i, sub in enumerate(sorted(subs.iterdir())):
        with tempfile.TemporaryDirectory() as ctx:
            shutil.copytree(sub, Path(ctx, "app"))
            Path(ctx, "Dockerfile").write_text(
                f"FROM {image}\nCOPY app /app\nWORKDIR /app\nENV PORT=8000\n"
                f"CMD [\"python3\", \"server.py\"]\n")
            tag = f"naive-bench-{i}"
            subprocess.run(["docker", "build", "-q", "-t", tag, ctx], check=True,
                           capture_output=True)
        name = f"naive-bench-{i}"
        subprocess.run(["docker", "run", "-d", "--name", name, "-p", "127.0.0.1:18231:8000",
                        tag], check=True, capture_output=True)
        try:
            time.sleep(3)  # "wait for the server to start"
            subprocess.run(pytest_command(echo, hidden=True,
                                          args=["--server", "127.0.0.1:18231"]),
                           capture_output=True, cwd=echo.dir, timeout=600)
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:4]] + [200, 40, 20][len(sys.argv[1:4]):]
    n_class, n_slice, n_naive = sizes
    course = load_course(ROOT)
    _, image = prepare(course, course.assignment("echo"), "docker", log=lambda _: None)
    assert image
    workers = default_workers("docker", course.limits)
    tmp = Path(tempfile.mkdtemp(prefix="bench-class-"))
    try:
        print(f"echo class on {psutil.cpu_count()} cores; default workers: {workers}")
        for n in (n_class // 2, n_class):
            meter = PeakMemory()
            seconds, _ = grade(course, make_class(tmp / f"class{n}", n), None)
            peak = meter.stop()
            print(f"{n} submissions, default workers: {seconds:.0f} s "
                  f"({seconds / n:.2f} s each); grader peak memory {peak / 2**20:.0f} MiB "
                  f"(this process alone, max RSS {resource.getrusage(0).ru_maxrss / 1024:.0f} MiB)")
        grades = {}
        for w in (1, 2, 4, 8):
            seconds, grades[w] = grade(course, make_class(tmp / f"slice{w}", n_slice), w)
            print(f"{n_slice} submissions, {w} worker(s): {seconds:.0f} s")
        same = all(g == grades[1] for g in grades.values())
        print(f"identical grades at every worker count: {same}")
        subs = make_class(tmp / "naive", n_naive)
        slow = naive(course, image, subs)
        fast, _ = grade(course, make_class(tmp / "one", n_naive), 1)
        print(f"{n_naive} submissions, one at a time: naive script {slow:.0f} s, grader "
              f"{fast:.0f} s ({slow / fast:.1f}x faster)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
