"""When did each commit arrive? Evidence only ever makes an arrival later.

The one clock a student cannot move is the collector's own: a commit first seen at run k arrived
after run k-1 (a hard lower bound, whatever any source says) and at or before run k. On top of
it: GitHub's push log (its API, GitHub's clock), else the reflog of a bare repository reached by
file:// or a local path. That reflog is written by the pusher's own git process (`git push` over
file:// runs receive-pack as the pusher, with the pusher's GIT_COMMITTER_DATE, in files the pusher
can write): its times are claims, like a commit's own date, kept within the collector's bounds and
labelled `pusher-reflog`, never the server's clock. Within a ref's log, a later entry never
arrived earlier, and an entry logged after the commit a run saw arrived after that run. When the
bounds alone cannot decide on time or late, the claim decides and is said to be unverified.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

from grader.core.config import Course
from grader.core.extras import MissingExtra
from grader.instructor import gitrepo
from grader.instructor.collected import Collected, iso, parse
from grader.instructor.github import GitHub, owner_repo

__all__ = ["CLAIMED", "Arrivals", "on_token_host", "server_times", "unverified"]

CLAIMED = ("first-seen", "pusher-reflog")  # time sources whose times a student can move


Arrivals = dict[str, list[tuple[str, dt.datetime]]]  # ref -> [(commit, arrived)], oldest first


def server_times(*, remote: str, course: Course, token: str | None, c: Collected,
                 refs: dict[str, str], mirror: Path) -> tuple[Arrivals, str]:
    """When each ref got each commit, and where that came from."""
    bare = _local(remote)
    if bare is not None:
        logs = {ref: v for ref in c.seen if (v := gitrepo.reflog(repo=bare, ref=ref))}
        c.flags.extend(_rewrites(logs, mirror=mirror))
        if logs:
            return _fill(_bounded(logs, c, claims=True), c, refs, mirror), "pusher-reflog"
    if on_token_host(remote, course) and (name := owner_repo(remote)):
        try:
            pushes = GitHub(api_url=course.collect.api_url, token=token).pushes(
                owner=name[0], repo=name[1])
        except MissingExtra:  # without PyGithub every GitHub time would be lost: stop
            raise
        except Exception as exc:  # the API is a better source, not a required one
            c.flags.append(f"GitHub push times unavailable ({type(exc).__name__})")
        else:
            times: Arrivals = {}
            for p in pushes:
                times.setdefault(p.ref, []).append((p.after, p.when))
                if p.kind == "force_push":
                    c.flags.append(f"rewritten history: force push to {p.ref} at {iso(p.when)}")
            return _fill(_bounded(times, c, claims=False), c, refs, mirror), "github-push"
    return _first_seen(c, mirror=mirror), "first-seen"


def _local(remote: str) -> Path | None:
    """The repository's folder when the collector reaches it as files (file:// or a path)."""
    parts = urlsplit(remote)
    if parts.scheme == "file":
        return Path(parts.path)
    return Path(remote) if remote.startswith("/") else None


def _bounded(times: Arrivals, c: Collected, *, claims: bool) -> Arrivals:
    """Each ref's log (oldest first) with every time raised to what the collector's runs prove:
    after the run before the one that first saw the commit, after a run whose commit the log
    shows before it, never before an earlier entry; and, for `claims` (a clock the student
    can set), never after the run that first saw it."""
    runs = sorted(map(parse, c.runs))
    bounded: Arrivals = {}
    for ref, entries in times.items():
        seen = {sha: parse(t) for sha, t in c.seen.get(ref, {}).items()}
        last = {sha: i for i, (sha, _) in enumerate(entries)}
        after: dict[int, dt.datetime] = {}  # entries from this index on came after this run
        for run in runs:
            current = max(((t, sha) for sha, t in seen.items() if t <= run), default=None)
            if current and current[1] in last:
                i = last[current[1]] + 1
                after[i] = max(after.get(i, run), run)
        floor: dt.datetime | None = None
        fixed = []
        for i, (sha, claimed) in enumerate(entries):
            floor = max(filter(None, (floor, after.get(i))), default=None)
            when = max(claimed, floor) if floor else claimed
            if sha in seen:
                lower, upper = _bounds(c, c.seen[ref][sha])
                when = max(when, lower) if lower else when
                when = min(when, upper) if claims else when
            elif claims and runs:
                when = min(when, runs[-1])  # never seen, yet no later than this run
            fixed.append((sha, when))
            floor = when
        bounded[ref] = fixed
    return bounded


def _rewrites(logs: Arrivals, *, mirror: Path) -> list[str]:
    """History rewritten as the repository's reflog shows it (seen on the very first collect)."""
    flags = []
    for ref, entries in logs.items():
        for (old, _), (new, when) in zip(entries, entries[1:], strict=False):
            if old == new:
                continue
            if ref.startswith("refs/tags/"):
                flags.append(f"rewritten history: tag {ref[10:]} moved from {old[:7]} to "
                             f"{new[:7]} (reflog)")
            elif not gitrepo.is_ancestor(mirror=mirror, old=old, new=new):
                flags.append(f"rewritten history: force push to {ref[11:]} ({old[:7]} replaced "
                             f"by {new[:7]}, reflog time {iso(when)})")
    return sorted(set(flags))


def _fill(times: Arrivals, c: Collected, refs: dict[str, str], mirror: Path) -> Arrivals:
    """A ref (or a commit) the server reports no time for gets the collector's own times."""
    gaps = [ref for ref, sha in refs.items() if ref.startswith(("refs/heads/", "refs/tags/submit/"))
            and sha not in {s for s, _ in times.get(ref, [])}]
    if not gaps:
        return times
    c.flags.append(f"no server time for {', '.join(r.split('/', 2)[-1] for r in gaps)}: "
                   "the collector's first-seen times were used")
    mine = _first_seen(c, mirror=mirror)
    return {**times, **{ref: sorted({*times.get(ref, []), *mine.get(ref, [])},
                                    key=lambda e: e[1]) for ref in gaps}}


def _first_seen(c: Collected, *, mirror: Path) -> Arrivals:
    """From the collector's own runs: a commit first seen at run k arrived after run k-1 and
    at or before run k; within those bounds the commit's own date is believed."""
    times: Arrivals = {}
    for ref, history in c.seen.items():
        for sha, seen in history.items():
            lower, upper = _bounds(c, seen)
            claimed = gitrepo.commit_time(mirror=mirror, sha=sha)
            when = min(max(claimed, lower) if lower else claimed, upper)
            times.setdefault(ref, []).append((sha, when))
    return {ref: sorted(v, key=lambda e: e[1]) for ref, v in times.items()}


def _bounds(c: Collected, seen: str) -> tuple[dt.datetime | None, dt.datetime]:
    upper = parse(seen)
    return max((r for r in map(parse, c.runs) if r < upper), default=None), upper


def unverified(c: Collected, deadline: dt.datetime | None) -> str:
    """Why the graded commit's lateness rests on its own date, or "" when the bounds decide."""
    first = min((t for h in c.seen.values() for sha, t in h.items() if sha == c.commit),
                default=None)
    if deadline is None or first is None:
        return ""
    lower, upper = _bounds(c, first)
    if upper <= deadline or (lower and lower >= deadline):
        return ""
    claim = "the pusher's reflog" if c.time_source == "pusher-reflog" else "its commit date"
    return (f"unverified time: {c.commit[:7]} was first seen by the collector at {iso(upper)}, "
            f"after the deadline, with no earlier run to bound it and no push time from a "
            f"server the student cannot write; {claim} was used")


def on_token_host(remote: str, course: Course) -> bool:
    return urlsplit(remote).netloc == course.collect.token_host


