"""grader/github.py against a local HTTP server on 127.0.0.1 replaying responses shaped as
GitHub documents them (List repository activities, Get a release by tag name, release asset
download with its redirect). GitHub itself is never contacted."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grader.core.config import Course, CourseEntry, RosterEntry
from grader.instructor.collect import collect_class
from grader.instructor.github import GitHub

from .gitserve import Student, http_git

TIER = "process"  # a local HTTP server and git (tests/conftest.py)

ACTOR = {"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User",
         "site_admin": False, "url": "https://api.github.com/users/octocat"}


def _activity(n: int, after: str, ref: str, when: str, kind: str = "push") -> dict[str, object]:
    return {"id": n, "node_id": f"MDEwOlJlcG9zaXRvcnkx{n}", "before": "0" * 40, "after": after,
            "ref": ref, "timestamp": when, "activity_type": kind, "actor": ACTOR}


class Replay:
    """path -> (status, headers, body); every request is recorded with its headers."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def json(self, path: str, body: object, **headers: str) -> None:
        self.routes[_key(path)] = (200, {"Content-Type": "application/json; charset=utf-8",
                                   **headers}, json.dumps(body).encode())


def _key(path: str) -> str:
    """A path with its query parameters in a fixed order (clients order them as they like)."""
    base, _, query = path.partition("?")
    return base + "?" + "&".join(sorted(query.split("&"))) if query else base


@pytest.fixture
def api() -> Iterator[tuple[str, Replay]]:
    replay = Replay()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            replay.requests.append((self.path, dict(self.headers)))
            status, headers, body = replay.routes.get(
                _key(self.path), (404, {"Content-Type": "application/json"},
                            b'{"message": "Not Found", "documentation_url": "https://docs"}'))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", replay
    finally:
        server.shutdown()
        server.server_close()


def _routes(base: str, replay: Replay, owner: str, repo: str, sha: str, tag: str) -> None:
    first = f"/repos/{owner}/{repo}/activity?per_page=100&direction=asc"
    cursor = f"/repos/{owner}/{repo}/activity?per_page=100&direction=asc&after=Y3Vyc29y"
    replay.json(first, [_activity(1, sha, "refs/heads/main", "2026-10-01T10:00:00Z")],
                Link=f'<{base}{cursor}>; rel="next", <{base}{first}>; rel="first"')
    replay.json(cursor, [_activity(2, sha, f"refs/tags/{tag}", "2026-10-01T11:00:00Z"),
                         _activity(3, sha, "refs/heads/main", "2026-10-02T09:00:00Z",
                                   "force_push")])
    asset = f"/repos/{owner}/{repo}/releases/assets/42"
    replay.json(f"/repos/{owner}/{repo}/releases/tags/{tag.replace('/', '%2F')}", {
        "url": f"{base}/repos/{owner}/{repo}/releases/7", "id": 7, "node_id": "RE_7",
        "tag_name": tag, "target_commitish": "main", "name": tag, "draft": False,
        "prerelease": False, "created_at": "2026-10-01T11:01:00Z",
        "published_at": "2026-10-01T11:01:00Z", "author": ACTOR, "assets": [{
            "url": f"{base}{asset}", "browser_download_url": f"{base}/download/result.json",
            "id": 42, "node_id": "RA_42", "name": "result.json", "label": "",
            "state": "uploaded", "content_type": "application/json", "size": 120,
            "download_count": 0, "created_at": "2026-10-01T11:01:00Z",
            "updated_at": "2026-10-01T11:01:00Z", "uploader": ACTOR}]})
    replay.routes[_key(asset)] = (302, {"Location": f"{base}/storage/result.json"}, b"")
    replay.json("/storage/result.json", {"schema": "classroom50/result/v1", "score": 7,
                                         "max-score": 16, "tests": []})


def test_push_times_and_ci_score(api: tuple[str, Replay]) -> None:
    base, replay = api
    _routes(base, replay, "org", "c-echo-ann", "a" * 40, "submit/2026-10-01T11-00-00Z-aaaaaaa")
    gh = GitHub(api_url=base, token="tok123")
    pushes = gh.pushes(owner="org", repo="c-echo-ann")
    assert [(p.ref, p.kind) for p in pushes] == [
        ("refs/heads/main", "push"), ("refs/tags/submit/2026-10-01T11-00-00Z-aaaaaaa", "push"),
        ("refs/heads/main", "force_push")]
    assert pushes[1].when == dt.datetime(2026, 10, 1, 11, tzinfo=dt.timezone.utc)
    assert gh.ci_score(owner="org", repo="c-echo-ann",
                       tag="submit/2026-10-01T11-00-00Z-aaaaaaa") == (7.0, 16.0)
    assert gh.ci_score(owner="org", repo="c-echo-ann", tag="submit/none") is None
    auth = {h.get("Authorization") for p, h in replay.requests if p.startswith("/repos/")}
    assert auth == {"token tok123"}


def test_collect_uses_github_push_times(course: Course, tmp_path: Path,
                                        api: tuple[str, Replay]) -> None:
    base, replay = api
    due = dt.datetime(2026, 10, 1, 10, 30, tzinfo=dt.timezone.utc)
    ann = Student(tmp_path, "ann", reflog=False)
    sha = ann.commit("v1", when=due - dt.timedelta(days=3))  # the commit's date: long before
    tag = ann.tag(when=due)
    with http_git(tmp_path) as (git_base, _):
        host = git_base.split("/")[2]
        _routes(base, replay, "remotes", "ann", sha, tag)
        c = course.model_copy(update={
            "assignments": {**course.assignments, "echo": CourseEntry(due=due)},
            "collect": course.collect.model_copy(update={"token_host": host, "api_url": base})})
        got, = collect_class(course=c, assignment=c.assignment("echo"),
                             roster=[RosterEntry(id="ann")], out=tmp_path / "out",
                             url=git_base + "remotes/{username}.git",
                             now=due + dt.timedelta(days=1), log=lambda _: None)
    assert (got.status, got.time_source, got.source) == ("ok", "github-push", f"tag {tag}")
    assert got.submitted_at == "2026-10-01T11:00:00Z"  # GitHub's time, not the commit's
    assert got.late_seconds == 1800
    assert got.ci_score == [7.0, 16.0]
    assert any(f.startswith("rewritten history: force push") for f in got.flags)
