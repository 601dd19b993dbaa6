"""When did each commit arrive? From times a student cannot forge, best source first.

GitHub's push log (its API), the server's own reflog (a bare repository reached by file://),
else the collector's own runs (first seen at run k: arrived after run k-1, at or before run k;
within those bounds the commit's own date is believed, and said to be unverified when the bounds
alone cannot decide on time or late).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

from grader.core.config import Course
from grader.instructor import gitrepo
from grader.instructor.collected import Collected, iso, parse
from grader.instructor.github import GitHub, owner_repo

__all__ = ["Arrivals", "on_token_host", "server_times", "unverified"]


Arrivals = dict[str, list[tuple[str, dt.datetime]]]  # ref -> [(commit, arrived)], oldest first


def server_times(*, remote: str, course: Course, token: str | None, c: Collected,
                 refs: dict[str, str], mirror: Path) -> tuple[Arrivals, str]:
    """When each ref got each commit, and where that came from."""
    parts = urlsplit(remote)
    if parts.scheme == "file":
        bare = Path(parts.path)
        logs = {ref: gitrepo.server_reflog(repo=bare, ref=ref) for ref in c.seen}
        if any(logs.values()):
            return _fill({r: v for r, v in logs.items() if v}, c, refs, mirror), \
                "server-reflog"
    if on_token_host(remote, course) and (name := owner_repo(remote)):
        try:
            pushes = GitHub(api_url=course.collect.api_url, token=token).pushes(
                owner=name[0], repo=name[1])
        except Exception as exc:  # the API is a better source, not a required one
            c.flags.append(f"GitHub push times unavailable ({type(exc).__name__})")
        else:
            times: Arrivals = {}
            for p in pushes:
                times.setdefault(p.ref, []).append((p.after, p.when))
                if p.kind == "force_push":
                    c.flags.append(f"rewritten history: force push to {p.ref} at {iso(p.when)}")
            return _fill(times, c, refs, mirror), "github-push"
    return _first_seen(c, mirror=mirror), "first-seen"


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
    return (f"unverified time: {c.commit[:7]} was first seen by the collector at {iso(upper)}, "
            f"after the deadline, with no earlier run to bound it and no push time from the "
            f"server; its commit date was used")


def on_token_host(remote: str, course: Course) -> bool:
    return urlsplit(remote).netloc == course.collect.token_host


