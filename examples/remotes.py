"""Make the example class's git remotes: one bare repository per student and assignment.

`make grade` runs this, then collects from these remotes like from GitHub. Each repository
starts from the exported template (starter, `.grader/` kit, workflow), then gets the student's
files from examples/<assignment>/<student> as a later commit, pushed (and tagged `submit/...`)
at simulated times. The bare repositories keep a reflog of when each push arrived; the
simulated times go into it through GIT_COMMITTER_DATE. Over file:// that reflog is written by
the pusher's own git, so `grader collect` takes it as a claim (`pusher-reflog`, flagged
`unverified time`), never as the server's clock.

    python examples/remotes.py OUT   # OUT/<classroom>-<assignment>-<student>.git
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import zoneinfo
from pathlib import Path

from grader.core.config import load_course
from grader.export import export_assignment

ROOT = Path(__file__).resolve().parent.parent
# hours before (-) or after (+) the due date that each student pushes; None: no submit tag
PLAN = {
    "ada": (+30, True),  # a day and a bit late: charged 2 days
    "bob": (-50, True),
    "carol": (+20, True),  # late without her extension (see grading.yml), on time with it
    "dave": (-3, False),  # never tags: the default branch as it stood is graded
    "erin": (-1, True),  # also edits the public tests in .grader/ (a tamper flag)
}


def git(*args: str, cwd: Path, when: dt.datetime | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "student", "GIT_AUTHOR_EMAIL": "s@example.edu",
           "GIT_COMMITTER_NAME": "student", "GIT_COMMITTER_EMAIL": "s@example.edu",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def template(course, assignment, cache: Path) -> Path:
    """The exported template, made once per assignment (an export builds the grader's wheel)."""
    folder = cache / assignment.id
    if not folder.exists():
        tmp = cache / f".{assignment.id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        export_assignment(course=course, assignment=assignment, out=tmp,
                          install=course.collect.install or None)
        tmp.rename(folder)
    return folder


def make(course, assignment, student: Path, out: Path, cache: Path) -> Path:
    c = course.collect
    bare = out / f"{c.classroom}-{assignment.id}-{student.name}.git"
    if bare.exists():
        return bare
    due = course.assignments[assignment.id].due
    due = due.replace(tzinfo=due.tzinfo or zoneinfo.ZoneInfo(c.timezone))
    hours, tag = PLAN.get(student.name, (-5, True))
    start = due - dt.timedelta(days=10)
    pushed = due + dt.timedelta(hours=hours)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp, "work")
        shutil.copytree(template(course, assignment, cache), work, symlinks=True)
        git("init", "-q", "-b", "main", cwd=work)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", "Initial commit from the template", cwd=work, when=start)
        tmp_bare = Path(tmp, "bare.git")
        git("init", "-q", "--bare", "-b", "main", str(tmp_bare), cwd=Path(tmp))
        git("config", "core.logAllRefUpdates", "always", cwd=tmp_bare)
        git("push", "-q", tmp_bare.as_uri(), "main", cwd=work, when=start)
        shutil.copytree(student, work, dirs_exist_ok=True, symlinks=True)
        if student.name == "erin":
            tests = work / ".grader" / "assignments" / assignment.id / "tests"
            for test in tests.glob("test_*.py"):
                test.write_text("def test_everything():\n    assert True\n")
        git("add", "-A", cwd=work)
        git("commit", "-q", "--allow-empty", "-m", "My solution", cwd=work,
            when=pushed - dt.timedelta(minutes=5))
        git("push", "-q", tmp_bare.as_uri(), "main", cwd=work,
            when=pushed - dt.timedelta(minutes=4))
        if tag:
            sha = git("rev-parse", "HEAD", cwd=work)
            name = f"submit/{pushed.astimezone(dt.timezone.utc):%Y-%m-%dT%H-%M-%SZ}-{sha[:7]}"
            git("tag", name, cwd=work)
            git("push", "-q", tmp_bare.as_uri(), name, cwd=work, when=pushed)
        out.mkdir(parents=True, exist_ok=True)
        shutil.move(tmp_bare, bare)
    return bare


def main(out: Path) -> None:
    course = load_course(ROOT)
    made = 0
    with tempfile.TemporaryDirectory() as cache:
        for name in course.assignments:
            assignment = course.assignment(name)
            for student in sorted((ROOT / "examples" / name).iterdir()):
                if any(not p.name.startswith(".") for p in student.iterdir()):
                    make(course, assignment, student, out, Path(cache))
                    made += 1
    # frank accepted chat but never pushed (an empty repository); his other repositories and
    # echo's are missing altogether
    empty = out / f"{course.collect.classroom}-chat-frank.git"
    if not empty.exists():
        git("init", "-q", "--bare", str(empty), cwd=out)
    print(f"{made} student repositories (and an empty one) in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "out" / "remotes")
