"""Helpers shared by the public and hidden CGI tests.

The suites speak HTTP over a raw socket (grader.testing's `exchange` and `read_response`), so
they send exactly the bytes they mean (a query with `;` and `$(...)`, a body in pieces) and read
exactly what came back. The scripts they run are the course's own probes in www/cgi-bin/
(mounted read-only with the document root): echo.py answers with its meta-variables, argv and
stdin as JSON; the others set a Status or a Location, fail, hang or write a large body.
"""

from __future__ import annotations

import json
import re
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.testing import HttpResponse, exchange, http_request, read_response, show

LIMIT = 5  # seconds a script may run (the handout's limit)


class Client:
    """Requests to the server under test, each on a fresh connection."""

    def __init__(self, server, connect) -> None:
        self.server, self.connect = server, connect
        self.host = f"{server.host}:{server.port}"
        self.local_addr = ""  # the client's address, as the server sees it (REMOTE_ADDR)

    def request(self, target: str, method: str = "GET", *, headers: dict[str, str] | None = None,
                body: bytes = b"", version: str = "HTTP/1.1", host: str | None = None,
                raw: bytes | None = None) -> bytes:
        return raw if raw is not None else http_request(
            method, target, host=host or self.host, headers=headers, body=body, version=version)

    def fetch(self, target: str, method: str = "GET", *, timeout: float = 5.0,
              what: str | None = None, **kwargs: Any) -> HttpResponse:
        """One request, its whole response (read leniently: see `problems`)."""
        sock = self.connect(timeout)
        self.local_addr = sock.getsockname()[0]
        return exchange(sock, self.request(target, method, **kwargs),
                        what=what or f"{method} {target}", head_only=method == "HEAD",
                        timeout=timeout)

    def slow(self, target: str, *, seconds: float, what: str | None = None) -> HttpResponse:
        """GET a script that may sleep: waits up to `seconds` of wall-clock time for the first
        byte (the suite's usual waits end once the whole server sleeps, and here the server
        rightly sleeps while its script does), then reads the response."""
        what = what or f"GET {target}"
        sock = self.connect(seconds)
        sock.sendall(self.request(target))
        start = time.monotonic()
        if not select.select([sock], [], [], seconds)[0]:
            raise AssertionError(f"{what}: no response came within {seconds:g} s")
        return read_response(sock, what=f"{what} (after {time.monotonic() - start:.1f} s)")

    def echo(self, target: str = "/cgi-bin/echo.py", method: str = "GET", **kwargs: Any
             ) -> dict[str, Any]:
        """Run echo.py and return its report: {"environ": {...}, "argv": [...], "stdin":
        {"length", "sha256", "text"}}; fails with a line that says why there is none."""
        what = kwargs.pop("what", None) or f"{method} {target}"
        response = self.fetch(target, method, what=what, **kwargs)
        return report(response, what)


def report(response: HttpResponse, what: str) -> dict[str, Any]:
    """echo.py's JSON report out of a response, or a failure that names what went wrong."""
    script_ran(response, what)
    assert not re.match(rb"(?i)(content-type|status|location):", response.body), (
        f"{what}: the script's header lines are in the body ({show(response.body, 40)}): they "
        "belong in the response's head: split the output at its first blank line")
    assert response.content_type == "application/json", (
        f"{what}: expected the script's own Content-Type, application/json, got "
        f"{response.headers.get('content-type', 'no Content-Type header')!r}")
    try:
        data = json.loads(response.body)
    except ValueError:
        raise AssertionError(
            f"{what}: the body is not the JSON the script wrote; got {show(response.body, 80)}"
        ) from None
    assert isinstance(data, dict) and "environ" in data, (
        f"{what}: the body is not the script's report; got {show(response.body, 80)}")
    return data


def script_ran(response: HttpResponse, what: str) -> None:
    """A 200 from a script."""
    assert response.status == 200, (f"{what}: expected the script's response, status 200, "
                                    f"got {response.status} {response.reason}".rstrip())


@pytest.fixture
def client(server, connect) -> Client:
    return Client(server, connect)


@pytest.fixture(scope="session")
def www(assignment_dir: Path) -> Path:
    """The document root's files, as the grader's side sees them."""
    return assignment_dir / "www"


@pytest.fixture(scope="session")
def secret(assignment_dir: Path) -> bytes:
    """A file beside the document root (outside it) that no request may return."""
    return (assignment_dir / "secret.txt").read_bytes().strip()


@pytest.fixture
def check_status() -> Callable[..., None]:
    """check_status(response, 404, what): the status line says that code."""

    def _check(response: HttpResponse, status: int | tuple[int, ...], what: str,
               why: str = "") -> None:
        wanted = status if isinstance(status, tuple) else (status,)
        assert response.status in wanted, (
            f"{what}: expected status {' or '.join(map(str, wanted))}, got {response.status} "
            f"{response.reason}".rstrip() + (f"; {why}" if why else ""))

    return _check
