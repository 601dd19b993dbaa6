"""The only module that talks to GitHub's REST API (through PyGithub).

Two questions only: when did the server receive each push (the repository activity list, times a
student cannot forge), and what score did the student's own CI publish for a submit tag (the
Classroom 50 runner's `result.json` release asset). The token comes from the caller (read from
GH_TOKEN/GITHUB_TOKEN by the CLI) and is never logged or stored. PyGithub is the `instructor`
extra's: imported when a GitHub object is made, never by a student's `grader check`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from grader.core.extras import need

__all__ = ["GitHub", "Push", "owner_repo", "token_from_env"]

_MAX_ASSET = 1 << 20  # a result.json larger than this is not a score


def token_from_env() -> str | None:
    return os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN") or None


@dataclass(frozen=True)
class Push:
    ref: str  # refs/heads/main, refs/tags/submit/...
    after: str  # the commit the ref points to after the push
    when: dt.datetime  # GitHub's timestamp
    kind: str  # push, force_push, branch_creation, branch_deletion, ...


class GitHub:
    def __init__(self, *, api_url: str = "https://api.github.com", token: str | None = None,
                 timeout: float = 20) -> None:
        need("github", extra="instructor", command="GitHub push times and CI scores")
        from github import Auth, Github

        self._gh = Github(base_url=api_url, auth=Auth.Token(token) if token else None,
                          timeout=int(timeout), retry=None, per_page=100, lazy=True)

    def _get(self, url: str, params: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
        headers, data = self._gh.requester.requestJsonAndCheck("GET", url, parameters=params)
        return headers, data

    def pushes(self, *, owner: str, repo: str, max_pages: int = 20) -> list[Push]:
        """Every push GitHub recorded for the repository, oldest first ("List repository
        activities"; cursor pagination through the Link header)."""
        url: str | None = f"/repos/{owner}/{repo}/activity"
        params: dict[str, Any] | None = {"per_page": 100, "direction": "asc"}
        found = []
        for _ in range(max_pages):
            if url is None:
                break
            headers, data = self._get(url, params)
            for item in data or []:
                found.append(Push(ref=item["ref"], after=item["after"], kind=item["activity_type"],
                                  when=dt.datetime.fromisoformat(
                                      item["timestamp"].replace("Z", "+00:00"))))
            url, params = _next_link(headers.get("link", "")), None
        return sorted(found, key=lambda p: p.when)

    def ci_score(self, *, owner: str, repo: str, tag: str) -> tuple[float, float] | None:
        """(score, max) from the result.json asset of the tag's release, if there is one."""
        from github import GithubException

        try:
            release = self._gh.get_repo(f"{owner}/{repo}").get_release(tag)
            asset = next((a for a in release.assets if a.name == "result.json"), None)
            if asset is None or asset.size > _MAX_ASSET:
                return None
            stream = asset.download_asset()
            assert stream is not None
            data = json.loads(b"".join(_capped(stream[2])))
            return float(data["score"]), float(data["max-score"])
        except (GithubException, KeyError, TypeError, ValueError, AssertionError):
            return None


def _capped(chunks: Any) -> Any:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > _MAX_ASSET:
            raise ValueError("result.json is too large")
        yield chunk


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")  # absolute: PyGithub keeps it on the API's host
    return None


def owner_repo(url: str) -> tuple[str, str] | None:
    """('org', 'name') of a repository URL on GitHub, else None."""
    parts = urlsplit(url)
    path = parts.path.strip("/").removesuffix(".git").split("/")
    return (path[0], path[1]) if len(path) == 2 and all(path) else None
