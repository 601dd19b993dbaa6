"""What a student's install costs: a fresh venv with the grader from an exported template, as the
workflow and the README install it, before (BEFORE's pyproject: every dependency in the base,
and the constraints it exported) and after (the base split from the extras, student.lock). With pip
and with uv, each cold (an empty cache of its own) then warm (the same cache again); uv's own
install (`pip install uv` into a fresh venv, cold) is printed apart, to add to its times where
uv is not already there. One run of each; prints figures, asserts nothing.

Usage: python bench/install.py [REF]   (REF: the "before" commit, default BEFORE)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from grader.core.config import load_course
from grader.export import export_assignment

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "8b0e36e"  # the last commit before the split (issue 23)
BIN = Path(sys.executable).parent


def run(*cmd: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    subprocess.run([str(c) for c in cmd], check=True, env=env, cwd=cwd,
                   stdout=subprocess.DEVNULL)


def before_wheel(ref: str, tmp: Path) -> Path:
    """The wheel of `ref`'s pyproject (the grader as it was), built with uv."""
    src = tmp / "before-src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "pyproject.toml", "grader"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(src, filter="data")
    run(BIN / "uv", "build", "--quiet", "--wheel", "--out-dir", tmp / "before", src)
    return next((tmp / "before").glob("*.whl"))


def install(tool: str, venv: Path, steps: list[list[str]], cache: Path) -> float:
    """Seconds to make the venv and run each step's install into it."""
    env = {**os.environ, "PIP_CACHE_DIR": str(cache), "UV_CACHE_DIR": str(cache),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PIP_FIND_LINKS", None)  # from PyPI, as a runner or a laptop does
    start = time.perf_counter()
    if tool == "pip":
        run(sys.executable, "-m", "venv", venv, env=env)
        for args in steps:
            run(venv / "bin/python", "-m", "pip", "install", "--quiet", *args, env=env)
    else:
        run(BIN / "uv", "venv", "--quiet", "--python", sys.executable, venv, env=env)
        for args in steps:
            run(BIN / "uv", "pip", "install", "--quiet", "--python", venv / "bin/python", *args,
                env=env)
    return time.perf_counter() - start


def measure(tmp: Path, name: str, steps: list[list[str]]) -> None:
    for tool in ("pip", "uv"):
        cache = tmp / f"cache-{name}-{tool}"
        for state in ("cold", "warm"):
            venv = tmp / f"venv-{name}-{tool}-{state}"
            seconds = install(tool, venv, steps, cache)
            frozen = subprocess.run([BIN / "uv", "pip", "freeze", "--python", venv / "bin/python"],
                                    check=True, capture_output=True, text=True).stdout.split()
            skip = ("pip==", "setuptools==", "course-grader")  # the installers, the grader
            packages = [p for p in frozen if not p.startswith(skip)]
            mb = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file()
                     and not f.is_symlink()) / 1e6
            print(f"{name:7} {tool:4} {state:5} {seconds:6.1f} s  {len(packages):3} packages  "
                  f"{mb:6.1f} MB", flush=True)


def main() -> None:
    ref = sys.argv[1] if len(sys.argv) > 1 else BEFORE
    with tempfile.TemporaryDirectory(prefix="bench-install-") as t:
        tmp = Path(t)
        print(f"before: {ref}'s pyproject; after: this checkout; Python {sys.version.split()[0]}")
        old = before_wheel(ref, tmp)
        # before: the wheel with its dependencies resolved by the installer (BEFORE's constraints
        # pinned 20 direct ones to versions, not the closure: the same set of packages)
        measure(tmp, "before", [[str(old)]])
        course = load_course(ROOT)  # the library, not the CLI: no kit recorded in the course
        export_assignment(course=course, assignment=course.assignment("echo"),
                          out=tmp / "after")
        kit = tmp / "after/.grader"
        measure(tmp, "after", [["--require-hashes", "-r", str(kit / "student.lock")],
                               ["--no-deps", str(next(kit.glob("*.whl")))]])
        uv_cache = tmp / "cache-uv-itself"
        seconds = install("pip", tmp / "venv-uv-itself", [["uv"]], uv_cache)
        print(f"uv itself: pip install uv into a fresh venv, cold: {seconds:.1f} s")


if __name__ == "__main__":
    main()
