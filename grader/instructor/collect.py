"""`grader collect`: every student's repository, fetched, with the commit to grade chosen.

What is graded: the last `submit/*` tag, else the default branch as it stood, accepted up to the
student's deadline (due + extension) plus the late window. When a commit arrived comes from times
a student cannot forge, in this order: GitHub's push log (its API), the server's own reflog (a
local bare repository), the collector's own record of when it first saw a commit (a collect run
at the deadline proves what was there); only when none of these covers the submission is the
commit's own date used, and it is then marked unverified. A problem of one student's
(missing, empty, rewritten history, future dates) is reported in `collect.json`, never fatal; one
that hits the class (no repository reached, or most failing the same way: a mistyped URL, an
expired token) stops the collect with that error and leaves `collect.json` as it was.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import ValidationError

from grader.core.config import Assignment, CollectSettings, ConfigError, Course, RosterEntry
from grader.core.extras import MissingExtra
from grader.core.results import dumps, write_atomic
from grader.instructor import arrivals, gitrepo, late, tamper
from grader.instructor.arrivals import Arrivals
from grader.instructor.collected import REACHED, Collected, iso, load_manifest
from grader.instructor.github import GitHub, owner_repo

__all__ = ["CollectFailed", "Collected", "class_wide_failure", "collect_class", "load_manifest"]

_SKEW = dt.timedelta(minutes=5)  # clocks disagree a little; beyond this a date is "future"


class CollectFailed(RuntimeError):
    """The collect failed for the class as a whole: nothing was recorded."""


def class_wide_failure(results: list[Collected], *, now: str) -> str:
    """Why this run failed for the class as a whole, or "": it reached no repository, or more
    than half of them failed with the same error (students' names aside)."""
    failed = [c for c in results if not (c.status in REACHED and c.collected_at == now)]
    if not failed:
        return ""
    kinds = Counter(_kind(c) for c in failed)
    kind, count = kinds.most_common(1)[0]
    example = next(c for c in failed if _kind(c) == kind)
    if len(failed) == len(results):
        head = f"collect reached none of the {len(results)} repositories"
    elif count * 2 > len(results) and count >= 2 and not kind.startswith("missing"):
        head = f"{count} of {len(results)} repositories failed the same way"
    else:
        return ""
    return (f"{head}: {kind.partition(': ')[2]} (e.g. {example.student}: {example.reason}); "
            "check the URL (--url or collect.url in grading.yml) and the token; "
            "collect.json was left as it was")


_KEPT = "this run could not fetch ("


def _kind(c: Collected) -> str:
    """A failure with the student's own names taken out, so that a class's failures compare."""
    kept = [f[len(_KEPT):].rpartition("); graded")[0] for f in c.flags if f.startswith(_KEPT)]
    status, reason = ("error", kept[-1]) if kept else (c.status, c.reason)
    for name in sorted({c.username, c.student} - {""}, key=len, reverse=True):
        reason = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", "{username}", reason,
                        flags=re.I)
    return f"{status}: {reason}"


def _check_url(url: str) -> None:
    try:
        CollectSettings(url=url)
    except ValidationError as exc:
        raise ConfigError(f"--url {url!r}: "
                          f"{exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def collect_class(*, course: Course, assignment: Assignment, roster: list[RosterEntry],
                  out: Path, url: str | None = None, token: str | None = None,
                  now: dt.datetime | None = None, workers: int = 4,
                  log: Callable[[str], None] = print) -> list[Collected]:
    """Fetch each student's repository into out/repos, export the graded commit into
    out/submissions/<id>, and write out/collect.json (the record of what was graded)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if url is not None:
        _check_url(url)
    before = load_manifest(out)
    expected, manifest = tamper.expected(course=course, assignment=assignment)
    known = tamper.versions(course=course, assignment=assignment)  # every kit it exported

    def one(student: RosterEntry) -> Collected:
        try:
            return _collect_one(course=course, assignment=assignment, student=student, out=out,
                                url=url, token=token, now=now, old=before.get(student.id),
                                expected=(expected, manifest), known=known)
        except gitrepo.GitError as exc:  # a broken repository is that student's problem only
            old = before.get(student.id)
            if old and old.status == "ok":  # a hiccup must not turn a submission into a zero
                old.flags = [*old.flags, f"{_KEPT}{exc}); graded what "
                                         f"the collect of {old.collected_at} chose"]
                return old
            return Collected(student=student.id, username=student.login, status="error",
                             reason=str(exc), collected_at=iso(now))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, roster))
    if why := class_wide_failure(results, now=iso(now)):
        raise CollectFailed(why)
    ran = {c.student for c in results}  # the others' observations are kept as they were
    kept = [c for s, c in sorted(before.items()) if s not in ran]
    write_atomic(out / "collect.json", dumps({
        "assignment": assignment.id, "collected_at": iso(now),
        "students": [dataclasses.asdict(c) for c in [*results, *kept]]}))
    for c in results:
        if c.status != "ok" or c.flags:
            log(f"{c.student}: {c.status}{': ' + c.reason if c.reason else ''}"
                + "".join(f"\n  ! {f}" for f in c.flags))
    return results


def _collect_one(*, course: Course, assignment: Assignment, student: RosterEntry, out: Path,
                 url: str | None, token: str | None, now: dt.datetime, old: Collected | None,
                 expected: tuple[dict[str, str], bool],
                 known: dict[str, dict[str, str]] | None = None) -> Collected:
    settings = course.collect
    remote = (url or settings.url).format(org=settings.org, classroom=settings.classroom,
                                          assignment=assignment.id, username=student.login,
                                          id=student.id)
    c = Collected(student=student.id, username=student.login, url=remote, collected_at=iso(now),
                  seen=dict(old.seen) if old else {}, runs=list(old.runs) if old else [])
    entry = course.assignments[assignment.id]
    policy = course.late_for(assignment.id)
    deadline = late.deadline(due=entry.due, extension_days=entry.extensions.get(student.id, 0),
                             timezone=settings.timezone) if entry.due else None
    cutoff = late.cutoff(deadline=deadline, policy=policy) if deadline else None
    c.deadline = iso(deadline) if deadline else ""
    mirror = out / "repos" / f"{student.id}.git"
    env = gitrepo.auth_env(url=remote, token=token, token_host=settings.token_host)
    try:
        gitrepo.fetch(url=remote, mirror=mirror, env=env)
    except gitrepo.GitError as exc:
        if not exc.missing:
            raise
        c.status, c.reason = "missing", f"no repository at {remote}"
        return c
    refs = gitrepo.refs(mirror=mirror)
    if not refs:
        c.status, c.reason = "empty", "the repository has no commits"
        return c
    c.flags += _remember(c, refs=refs, mirror=mirror, now=now)
    c.runs.append(iso(now))
    times, c.time_source = arrivals.server_times(remote=remote, course=course, token=token,
                                                 c=c, refs=refs, mirror=mirror)
    branch = settings.branch and f"refs/heads/{settings.branch}" or \
        gitrepo.head_branch(mirror=mirror) or next(r for r in refs if r.startswith("refs/heads/"))
    tags = sorted(r for r in refs if r.startswith("refs/tags/submit/"))
    chosen = _choose(c, refs=refs, tags=tags, branch=branch, times=times, mirror=mirror,
                     cutoff=cutoff)
    if chosen is None:
        c.status = "no_submission"
        c.reason = (f"nothing submitted before the cutoff {iso(cutoff)}" if cutoff
                    else "nothing to grade")
        return c
    c.commit, when = chosen
    c.submitted_at = iso(when)
    committed = gitrepo.commit_time(mirror=mirror, sha=c.commit)
    c.commit_date = iso(committed)
    if committed > now + _SKEW:
        c.flags.append(f"future-dated commit: {c.commit[:7]} claims {iso(committed)}, "
                       f"after the collection at {iso(now)}")
    elif not c.time_source.startswith("commit-date") and committed > when + _SKEW:
        c.flags.append(f"commit date {iso(committed)} is after the server received it "
                       f"({iso(when)})")
    if deadline:
        c.late_seconds = max(0.0, (when - deadline).total_seconds())
    if c.time_source in arrivals.CLAIMED and (why := arrivals.unverified(c, deadline)):
        c.flags.append(why)
    dest = out / "submissions" / student.id
    if not (old and old.commit == c.commit and dest.is_dir()):
        gitrepo.archive(mirror=mirror, sha=c.commit, dest=dest)
    c.flags += [f"tamper: {f}" for f in tamper.check(
        tree=dest, expected=expected[0], manifest=expected[1], assignment=assignment.id,
        known=known)]
    c.kit = tamper.match(tree=dest, assignment=assignment.id, versions=known or {}) or ""
    if c.source.startswith("tag ") and arrivals.on_token_host(remote, course):
        c.ci_score = _ci_score(remote=remote, course=course, token=token, tag=c.source[4:])
    return c


def _remember(c: Collected, *, refs: dict[str, str], mirror: Path, now: dt.datetime) -> list[str]:
    """Record when each ref's commit was first seen; flag history a student rewrote."""
    flags = []
    for ref, sha in refs.items():
        history = c.seen.setdefault(ref, {})
        if sha in history:
            continue
        for old in history:
            if ref.startswith("refs/tags/"):
                flags.append(f"rewritten history: tag {ref[10:]} moved from {old[:7]} to {sha[:7]}")
            elif not gitrepo.is_ancestor(mirror=mirror, old=old, new=sha):
                flags.append(f"rewritten history: {ref[11:]} no longer contains {old[:7]} "
                             f"(seen {history[old]})")
        history[sha] = iso(now)
    return sorted(set(flags))


def _choose(c: Collected, *, refs: dict[str, str], tags: list[str], branch: str,
            times: Arrivals, mirror: Path,
            cutoff: dt.datetime | None) -> tuple[str, dt.datetime] | None:
    """The last submission at or before the cutoff: (commit, when it arrived)."""
    def ok(when: dt.datetime) -> bool:
        return cutoff is None or when <= cutoff

    arrived = [(when, sha, t) for t in tags for sha, when in times.get(t, []) if sha == refs[t]]
    best = max(((w, sha, t) for w, sha, t in arrived if ok(w)), default=None)
    if best:
        c.source = f"tag {best[2][10:]}"
        return best[1], best[0]
    history = [(sha, when) for sha, when in times.get(branch, []) if ok(when)]
    if history and not tags:
        c.source = f"branch {branch[11:]}"
        return history[-1]
    if tags or c.time_source != "first-seen":
        return None  # the tags (or the server's log) say nothing arrived in time
    for sha, when in gitrepo.first_parent(mirror=mirror, ref=branch):
        if ok(when):  # before anything the collector saw: only the commits' own dates remain
            c.source, c.time_source = f"branch {branch[11:]}", "commit-date (unverified)"
            return sha, when
    return None


def _ci_score(*, remote: str, course: Course, token: str | None, tag: str) -> list[float] | None:
    name = owner_repo(remote)
    if not name:
        return None
    try:
        got = GitHub(api_url=course.collect.api_url, token=token).ci_score(
            owner=name[0], repo=name[1], tag=tag)
    except MissingExtra:
        raise
    except Exception:
        return None
    return list(got) if got else None


