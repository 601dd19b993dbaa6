"""Real git servers on loopback for the collect tests: `git daemon`, and `git http-backend`
behind a small HTTP server (optionally demanding a token), plus helpers that play a student."""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BACKEND = "/usr/lib/git-core/git-http-backend"


def git(*args: str, cwd: Path, when: dt.datetime | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x",
           "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x", "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


class Student:
    """A working copy pushing to a bare repository that keeps (or not) a server reflog."""

    def __init__(self, root: Path, name: str, *, reflog: bool = True) -> None:
        self.bare = root / "remotes" / f"{name}.git"
        self.work = root / "work" / name
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True)
        git("init", "-q", "--bare", "-b", "main", str(self.bare), cwd=root)
        git("config", "core.logAllRefUpdates", "always" if reflog else "false", cwd=self.bare)
        git("config", "http.receivepack", "true", cwd=self.bare)
        (self.bare / "git-daemon-export-ok").touch()
        git("init", "-q", "-b", "main", cwd=self.work)

    def commit(self, text: str, *, when: dt.datetime) -> str:
        (self.work / "server.py").write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", text[:20], cwd=self.work, when=when)
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self, *refs: str, when: dt.datetime, force: bool = False) -> None:
        git("push", "-q", *(["-f"] if force else []), self.bare.as_uri(), *refs, cwd=self.work,
            when=when)

    def tag(self, *, when: dt.datetime) -> str:
        sha = git("rev-parse", "HEAD", cwd=self.work)
        name = f"submit/{when:%Y-%m-%dT%H-%M-%SZ}-{sha[:7]}"
        git("tag", name, cwd=self.work)
        self.push(name, when=when)
        return name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """git daemon serving `base` on loopback; yields git://127.0.0.1:PORT/"""
    port = free_port()
    proc = subprocess.Popen(["git", "daemon", "--listen=127.0.0.1", f"--port={port}",
                             f"--base-path={base}", "--reuseaddr", str(base)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def http_git(base: Path, *, token: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """git http-backend behind an HTTP server on loopback; with `token`, every request must
    carry it (as git sends an http.extraHeader). Yields (base URL, the Authorization headers
    seen)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._cgi()

        def do_POST(self) -> None:
            self._cgi()

        def _cgi(self) -> None:
            auth = self.headers.get("Authorization", "")
            seen.append(auth)
            if token:
                want = base64.b64encode(f"x-access-token:{token}".encode()).decode()
                if auth != f"Basic {want}":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.end_headers()
                    return
            path, _, query = self.path.partition("?")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            env = {"GIT_PROJECT_ROOT": str(base), "GIT_HTTP_EXPORT_ALL": "1",
                   "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": self.command,
                   "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                   "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
                   "PATH": os.environ["PATH"]}
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            out = subprocess.run([BACKEND], input=body, env=env, capture_output=True).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode().split("\r\n"):
                key, _, value = line.partition(": ")
                if key.lower() == "status":
                    status = int(value.split()[0])
                elif key:
                    headers.append((key, value))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()
