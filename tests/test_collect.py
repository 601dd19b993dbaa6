"""`grader collect` against real git repositories: file:// (with the server's reflog), a git
daemon and git http-backend on loopback. No mocks of git."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.core.config import Course, CourseEntry, LatePolicy, RosterEntry, load_course
from grader.export.kit import KITS
from grader.instructor.collect import CollectFailed, class_wide_failure, collect_class
from grader.instructor.collected import Collected, DataError, iso, load_manifest

from .conftest import ROOT, course_copy
from .gitserve import Student, git, git_daemon, http_git

TIER = "process"  # what its tests need (tests/conftest.py)

DUE = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.timezone.utc)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def _course(course: Course, **collect: str) -> Course:
    entry = CourseEntry(due=DUE.replace(tzinfo=None), extensions={"ben": 2})
    return course.model_copy(update={
        "assignments": {**course.assignments, "echo": entry},
        "late": LatePolicy(grace_minutes=0, penalty_per_day=10, cap=50, max_days=2),
        "collect": course.collect.model_copy(update=collect)})


def _run(course: Course, tmp: Path, url: str, names: list[str], now: dt.datetime,
         token: str | None = None) -> dict[str, object]:
    got = collect_class(course=course, assignment=course.assignment("echo"),
                        roster=[RosterEntry(id=n) for n in names], out=tmp / "out", url=url,
                        now=now, token=token, log=lambda _: None)
    return {c.student: c for c in got}


def test_deadline_tags_extension_from_the_servers_own_times(course: Course,
                                                            tmp_path: Path) -> None:
    c = _course(course)
    ann = Student(tmp_path, "ann")
    ann.commit("v1", when=DUE - 2 * D)
    ann.push("main", when=DUE - 2 * D)
    ann.tag(when=DUE - D)
    ann.commit("v2", when=DUE + D)
    late_tag = ann.tag(when=DUE + D)  # late, inside the 2-day window: graded, with lateness
    ann.commit("v3", when=DUE + 3 * D)
    ann.tag(when=DUE + 3 * D)  # after the window: ignored
    ben = Student(tmp_path, "ben")  # a 2-day extension
    ben.commit("b", when=DUE + D)
    ben.tag(when=DUE + D)
    cal = Student(tmp_path, "cal")  # never tags: the branch as it stood at the cutoff
    on_time = cal.commit("c1", when=DUE - H)
    cal.push("main", when=DUE - H)
    cal.commit("c2", when=DUE + 3 * D)
    cal.push("main", when=DUE + 3 * D)
    dan = Student(tmp_path, "dan")  # a tag name and a commit date that lie: the push time wins
    dan.commit("d", when=DUE - 5 * D)
    git("tag", "submit/2026-09-01T00-00-00Z-forged", cwd=dan.work)
    dan.push("submit/2026-09-01T00-00-00Z-forged", when=DUE + 4 * D)

    got = _run(c, tmp_path, f"file://{tmp_path}/remotes/{{username}}.git",
               ["ann", "ben", "cal", "dan"], now=DUE + 5 * D)
    a, b, k, d = (got[n] for n in ("ann", "ben", "cal", "dan"))
    assert (a.status, a.source, a.time_source) == ("ok", f"tag {late_tag}", "pusher-reflog")
    assert a.late_seconds == D.total_seconds()
    assert (tmp_path / "out/submissions/ann/server.py").read_text() == "v2"
    assert b.status == "ok" and b.late_seconds == 0 and b.deadline == "2026-10-03T12:00:00Z"
    assert (k.source, k.commit, k.late_seconds) == ("branch main", on_time, 0)
    assert (tmp_path / "out/submissions/cal/server.py").read_text() == "c1"
    assert d.status == "no_submission" and "cutoff" in d.reason
    manifest = (tmp_path / "out/collect.json").read_text()
    assert '"collected_at": "2026-10-06T12:00:00Z"' in manifest and a.commit in manifest


def test_git_daemon_first_seen_rewrites_future_dates_missing_empty(course: Course,
                                                                   tmp_path: Path) -> None:
    c = _course(course)
    eve = Student(tmp_path, "eve", reflog=False)
    eve.commit("e1", when=DUE - 3 * H)
    eve.push("main", when=DUE - 3 * H)
    gus = Student(tmp_path, "gus", reflog=False)
    old = gus.commit("g1", when=DUE - 3 * H)
    gus.push("main", when=DUE - 3 * H)
    fay = Student(tmp_path, "fay", reflog=False)
    fay.commit("f", when=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    fay.push("main", when=DUE)
    Student(tmp_path, "ivy", reflog=False)  # accepted, never pushed
    names = ["eve", "gus", "fay", "hal", "ivy"]
    with git_daemon(tmp_path) as base:
        url = base + "remotes/{username}.git"
        first = _run(c, tmp_path, url, names, now=DUE + dt.timedelta(minutes=1))
        # after the deadline run: eve pushes a commit that claims an earlier date; gus rewrites
        eve.commit("e2", when=DUE - 2 * H)
        eve.push("main", when=DUE + 2 * H)
        git("commit", "-q", "--amend", "-m", "rewritten", cwd=gus.work, when=DUE - H)
        gus.push("main", when=DUE + 2 * H, force=True)
        second = _run(c, tmp_path, url, names, now=DUE + D)
        config = (eve.bare / "config").read_text()
        (eve.bare / "config").write_text("[core\n")  # eve's repository breaks, gus's does not
        third = _run(c, tmp_path, url, ["eve", "gus"], now=DUE + 2 * D)
        (eve.bare / "config").write_text(config)
    assert third["eve"].status == "ok" and third["eve"].commit == second["eve"].commit
    assert any("this run could not fetch" in f for f in third["eve"].flags)
    with pytest.raises(CollectFailed, match="reached none of the 1 repositories"):
        _run(c, tmp_path, url, ["eve"], now=DUE + 3 * D)  # the server is gone now
    assert load_manifest(tmp_path / "out")["eve"].commit == second["eve"].commit
    assert first["eve"].status == "ok" and first["eve"].time_source == "first-seen"
    e = second["eve"]
    assert (tmp_path / "out/submissions/eve/server.py").read_text() == "e2"
    assert e.late_seconds == 60  # first seen after the run at the deadline: late, whatever it says
    assert not any(f.startswith("unverified time") for f in e.flags)  # the runs bound it
    # the very first run came after the deadline: e1's lateness rests on its own date, flagged
    assert any(f.startswith("unverified time") for f in first["eve"].flags)
    assert first["eve"].late_seconds == 0
    assert any(f.startswith("rewritten history: main no longer contains " + old[:7])
               for f in second["gus"].flags)
    assert any(f.startswith("future-dated commit") for f in first["fay"].flags)
    assert second["hal"].status == "missing" and "hal.git" in second["hal"].reason
    assert second["ivy"].status == "empty"


def test_token_reaches_git_only_through_the_environment(course: Course, tmp_path: Path,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    token = "ghp_SENTINEL0123456789abcdefSECRET"
    forms = [token, base64.b64encode(f"x-access-token:{token}".encode()).decode()]
    joe = Student(tmp_path, "joe")
    joe.commit("j", when=DUE - D)
    joe.push("main", when=DUE - D)
    with http_git(tmp_path, token=token) as (base, seen):
        host = base.split("/")[2]
        got = _run(_course(course, token_host=host), tmp_path, base + "remotes/{username}.git",
                   ["joe", "nobody"], now=DUE, token=token)
        assert got["joe"].status == "ok" and (tmp_path / "out/submissions/joe/server.py").exists()
        assert any(forms[1] in h for h in seen)  # the server got it: git used it
        # another host never gets the token (here: the same server under another name)
        with pytest.raises(CollectFailed, match="reached none of the 1 repositories: .*"
                                                "Authentication failed"):
            _run(_course(course, token_host="github.com"), tmp_path / "o",
                 base.replace("127.0.0.1", "localhost") + "remotes/{username}.git", ["joe"],
                 now=DUE, token=token)
    out, err = capfd.readouterr()
    leaks = [p for p in tmp_path.rglob("*") if p.is_file()
             and any(f.encode() in p.read_bytes() for f in forms)]
    assert leaks == []
    assert not any(f in out + err for f in forms)


def test_a_forged_force_push_after_a_first_collect_stays_late(course: Course,
                                                              tmp_path: Path) -> None:
    """Over file:// the reflog is written by the pusher's own git process: a force push with
    GIT_COMMITTER_DATE before the deadline, after a collect that saw the late tag, stays late."""
    c = _course(course)
    kim = Student(tmp_path, "kim")
    kim.commit("late", when=DUE + 2 * H)
    tag = kim.tag(when=DUE + 2 * H)
    url = f"file://{tmp_path}/remotes/{{username}}.git"
    first = _run(c, tmp_path, url, ["kim"], now=DUE + 3 * H)["kim"]
    assert first.late_seconds == 2 * 3600
    git("commit", "-q", "--amend", "-m", "forged", cwd=kim.work, when=DUE - H)
    git("tag", "-f", tag, cwd=kim.work)
    git("push", "-q", "-f", kim.bare.as_uri(), tag, cwd=kim.work, when=DUE - H)
    second = _run(c, tmp_path, url, ["kim"], now=DUE + D)["kim"]
    assert second.status == "ok" and second.commit != first.commit  # the new commit is graded
    assert second.late_seconds >= 3 * 3600  # arrived after the first collect, whatever it says
    assert any(f.startswith(f"rewritten history: tag {tag} moved") for f in second.flags)
    # the pusher's clock, not the server's
    assert first.time_source == second.time_source == "pusher-reflog"


def test_rewrites_the_reflog_shows_are_reported_on_the_first_collect(course: Course,
                                                                     tmp_path: Path) -> None:
    c = _course(course)
    lea = Student(tmp_path, "lea")
    lea.commit("one", when=DUE - 2 * H)
    lea.push("main", when=DUE - 2 * H)
    git("commit", "-q", "--amend", "-m", "two", cwd=lea.work, when=DUE - H)
    lea.push("main", when=DUE - H, force=True)
    got = _run(c, tmp_path, f"file://{tmp_path}/remotes/{{username}}.git", ["lea"],
               now=DUE + H)["lea"]
    assert got.status == "ok"
    assert any(f.startswith("rewritten history: force push to main") for f in got.flags)


def test_a_collect_that_reaches_nobody_fails_and_keeps_the_record(course: Course,
                                                                  tmp_path: Path) -> None:
    c = _course(course)
    for name in ("mo", "ned"):
        s = Student(tmp_path, name)
        s.commit(name, when=DUE - H)
        s.push("main", when=DUE - H)
    good = f"file://{tmp_path}/remotes/{{username}}.git"
    first = _run(c, tmp_path, good, ["mo", "ned"], now=DUE + H)
    assert {x.status for x in first.values()} == {"ok"}
    record = (tmp_path / "out/collect.json").read_text()
    with pytest.raises(CollectFailed, match=r"reached none of the 2 repositories: no repository "
                                            r"at file://.*/remote/\{username\}\.git"):
        _run(c, tmp_path, f"file://{tmp_path}/remote/{{username}}.git", ["mo", "ned"],
             now=DUE + D)
    assert (tmp_path / "out/collect.json").read_text() == record  # what was seen is kept
    # a collect of one student keeps the others' observations
    _run(c, tmp_path, good, ["mo"], now=DUE + 2 * D)
    kept = load_manifest(tmp_path / "out")
    assert set(kept) == {"mo", "ned"} and kept["ned"].runs == first["ned"].runs
    # a collect.json cut short is an error naming it, never a silent fresh start
    (tmp_path / "out/collect.json").write_text(record[: len(record) // 2])
    with pytest.raises(DataError, match=r"out/collect\.json cannot be read"):
        _run(c, tmp_path, good, ["mo"], now=DUE + 3 * D)


def test_most_failing_with_one_error_is_a_class_wide_failure() -> None:
    def err(s: str, why: str) -> Collected:
        return Collected(student=s, username=s, status="error", reason=why, collected_at=NOW)

    auth = "git fetch: fatal: could not read Username for 'https://h/{}.git'"
    results = [err(s, auth.format(s)) for s in ("a1", "b2", "c3")]
    results.append(Collected(student="d4", username="d4", collected_at=NOW))
    assert "3 of 4 repositories failed the same way" in class_wide_failure(results, now=NOW)
    results[0] = Collected(student="a1", username="a1", status="missing", collected_at=NOW,
                           reason="no repository at https://h/a1.git")
    assert class_wide_failure(results, now=NOW) == ""  # one never accepted, one error: no


NOW = "2026-10-02T12:00:00Z"


def test_url_with_an_unknown_placeholder_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "grader", "collect", "echo", "--out",
                           str(tmp_path / "out"), "--url", "https://h/{user}.git"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "unknown placeholder 'user'" in proc.stdout
    assert "{org} {classroom} {assignment} {username} {id}" in proc.stdout


def test_a_claim_logged_after_what_a_run_saw_arrived_after_that_run() -> None:
    """Seen at run 1: A. Then X (never seen: overwritten) and Y, both claiming times before the
    deadline. X and Y come after A in the log, so after run 1; Y is no later than run 2."""
    from grader.instructor.arrivals import _bounded

    run1, run2 = DUE + H, DUE + D
    c = Collected(student="x", runs=[iso(run1), iso(run2)],
                  seen={"refs/heads/main": {"a" * 40: iso(run1), "y" * 40: iso(run2)}})
    log = [("a" * 40, DUE - 2 * H), ("x" * 40, DUE - H), ("y" * 40, DUE + 3 * D)]
    got = _bounded({"refs/heads/main": log}, c, claims=True)["refs/heads/main"]
    assert got == [("a" * 40, DUE - 2 * H), ("x" * 40, run1), ("y" * 40, run2)]


def _export(course: Path, out: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "grader", "export", "echo", "--out", str(out),
                           "--course", str(course)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _from_template(tmp: Path, name: str, template: Path, *, edit: str = "") -> Student:
    s = Student(tmp, name)
    shutil.copytree(template, s.work, dirs_exist_ok=True)
    if edit:  # the student edits a public test
        test = s.work / ".grader/assignments/echo/tests/test_echo.py"
        test.write_text(test.read_text().replace(edit, "True"))
    s.commit(f"{name}'s server", when=DUE - D)
    s.tag(when=DUE - D)
    return s


def test_a_kit_from_an_earlier_export_is_not_tampering(tmp_path: Path) -> None:
    """The course fixes a public test after the first export: students who started from the
    first kit are not flagged, nor is one from the second; a student who edited a test is, and
    collect says which kit version each one holds."""
    root = course_copy(tmp_path / "course")
    said = _export(root, tmp_path / "kit1")
    assert "kit version" in said and (root / KITS).is_file()
    test = root / "assignments/echo/tests/test_echo.py"
    fixed = test.read_text().replace('got == b"last words"', 'got == b"last words"  # fixed')
    assert fixed != test.read_text()
    test.write_text(fixed)  # the course-side fix
    _export(root, tmp_path / "kit2")
    _export(root, tmp_path / "kit2-again")  # the same kit again: no new version
    kits = json.loads((root / KITS).read_text())
    assert len(kits["echo"]) == 2

    _from_template(tmp_path, "ann", tmp_path / "kit1")
    _from_template(tmp_path, "ben", tmp_path / "kit1")
    _from_template(tmp_path, "cal", tmp_path / "kit2")
    _from_template(tmp_path, "dan", tmp_path / "kit1", edit='got == b"last words"')
    c = _course(load_course(root))
    got = _run(c, tmp_path, f"file://{tmp_path}/remotes/{{username}}.git",
               ["ann", "ben", "cal", "dan"], now=DUE + D)
    tampered = {n: [f for f in got[n].flags if f.startswith("tamper")] for n in got}
    assert tampered["ann"] == tampered["ben"] == tampered["cal"] == []
    assert "tamper: changed: .grader/assignments/echo/tests/test_echo.py" in tampered["dan"]
    first, second = kits["echo"]  # in export order
    assert (got["ann"].kit, got["ben"].kit, got["cal"].kit, got["dan"].kit) == (
        first, first, second, "")
    assert f'"kit": "{first}"' in (tmp_path / "out/collect.json").read_text()
