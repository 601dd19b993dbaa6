"""The git CLI, as collect needs it: mirror, refs, server reflog, history, export of one commit.

A token never appears on a command line, in a URL or in a git config file: it reaches git only
through the environment of the one process that needs it (an `http.<url>.extraHeader` given by
GIT_CONFIG_COUNT/KEY/VALUE), and only for the one host it is meant for.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["GitError", "archive", "auth_env", "commit_time", "fetch", "first_parent",
           "head_branch", "is_ancestor", "reflog", "refs"]

_MISSING = re.compile(r"not found|does not exist|does not appear to be a git repository|"
                      r"no such file|access denied|"
                      r"not exported|HTTP 404", re.I)


class GitError(Exception):
    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def auth_env(*, url: str, token: str | None, token_host: str) -> dict[str, str]:
    """Environment for one git process: never prompt; the token only for its own https host."""
    env = {"GIT_SSH_COMMAND": "ssh -o BatchMode=yes", **os.environ, "GIT_TERMINAL_PROMPT": "0",
           "GIT_ASKPASS": "true", "GIT_CONFIG_NOSYSTEM": "1"}
    parts = urlsplit(url)
    if token and parts.scheme in ("https", "http") and parts.netloc == token_host:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update({"GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": f"http.{parts.scheme}://{parts.netloc}/.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"})
    return env


def _git(*args: str, git_dir: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 300, binary: bool = False) -> str:
    cmd = ["git", *(["--git-dir", str(git_dir)] if git_dir else []), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, env=env or auth_env(
            url="", token=None, token_host=""), timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {timeout:g} s") from None
    if proc.returncode:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]}: {' / '.join(err[-2:]) or 'failed'}",
                       missing=bool(_MISSING.search(" ".join(err))))
    return proc.stdout if binary else proc.stdout.decode(errors="replace")  # type: ignore[return-value]


def fetch(*, url: str, mirror: Path, env: dict[str, str]) -> None:
    """Bring every branch and tag of `url` into the bare `mirror` (moved tags and forced
    branches are taken as the server has them: collect compares with what it saw before)."""
    if url.startswith("-"):
        raise GitError(f"{url!r} is not a repository URL")  # git would read it as an option
    if not (mirror / "HEAD").is_file():
        shutil.rmtree(mirror, ignore_errors=True)
        mirror.parent.mkdir(parents=True, exist_ok=True)
        _git("init", "-q", "--bare", str(mirror))
    _git("fetch", "-q", "--prune", "--no-write-fetch-head", url, "+refs/heads/*:refs/heads/*",
         "+refs/tags/*:refs/tags/*", git_dir=mirror, env=env)
    head = _git("ls-remote", "--symref", url, "HEAD", env=env)
    match = re.search(r"^ref: (refs/heads/\S+)\tHEAD", head, re.M)
    if match:
        _git("symbolic-ref", "HEAD", match.group(1), git_dir=mirror)


def refs(*, mirror: Path) -> dict[str, str]:
    """ref name -> commit (annotated tags peeled)."""
    out = _git("for-each-ref", "--format=%(refname) %(objectname) %(*objectname)",
               "refs/heads", "refs/tags", git_dir=mirror)
    result = {}
    for line in out.splitlines():
        name, sha, *peeled = line.split()
        result[name] = peeled[0] if peeled else sha
    return result


def head_branch(*, mirror: Path) -> str:
    try:
        return _git("symbolic-ref", "HEAD", git_dir=mirror).strip()
    except GitError:
        return ""


def reflog(*, repo: Path, ref: str) -> list[tuple[str, dt.datetime]]:
    """(commit, when the ref took it), oldest first, from a bare repository's own reflog; []
    when it keeps none. Whoever updated the ref wrote it, with their clock: over file:// the
    pusher's own git process (GIT_COMMITTER_DATE included)."""
    try:
        out = _git("log", "-g", "--format=%H %gd", "--date=unix", ref, git_dir=repo)
    except GitError:
        return []
    entries = []
    for line in out.splitlines():
        sha, _, stamp = line.partition(" ")
        match = re.search(r"@\{(\d+)\}", stamp)
        if match:
            entries.append((sha, dt.datetime.fromtimestamp(int(match.group(1)), dt.timezone.utc)))
    return entries[::-1]


def commit_time(*, mirror: Path, sha: str) -> dt.datetime:
    stamp = _git("show", "-s", "--format=%ct", sha, git_dir=mirror).strip()
    return dt.datetime.fromtimestamp(int(stamp), dt.timezone.utc)


def first_parent(*, mirror: Path, ref: str) -> list[tuple[str, dt.datetime]]:
    """The branch's first-parent history, newest first, with the commits' own (claimed) dates."""
    out = _git("log", "--first-parent", "--format=%H %ct", ref, git_dir=mirror)
    return [(sha, dt.datetime.fromtimestamp(int(ct), dt.timezone.utc))
            for sha, ct in (line.split() for line in out.splitlines())]


def is_ancestor(*, mirror: Path, old: str, new: str) -> bool:
    try:
        _git("merge-base", "--is-ancestor", old, new, git_dir=mirror)
        return True
    except GitError:
        return False


def archive(*, mirror: Path, sha: str, dest: Path, timeout: float = 300) -> None:
    """The tree of one commit into `dest` (replaced whole), streamed: regular files and folders
    only, nothing outside `dest` (tarfile's data filter refuses links out and absolute paths)."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    proc = subprocess.Popen(["git", "--git-dir", str(mirror), "archive", "--format=tar", sha],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise GitError(f"git archive {sha[:7]}: {exc}") from None
    finally:
        proc.kill()
        proc.wait(timeout=timeout)
        if proc.stdout:
            proc.stdout.close()
    if proc.returncode not in (0, -9):
        raise GitError(f"git archive {sha[:7]} failed")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
