"""Helpers shared by the public and hidden wsgiserver tests.

The student's server runs the grader's probe application (support/grader_probes.py), so every
check reads what a real WSGI application received or sent. Requests and responses go over a raw
socket (grader.testing's `http_request` and `read_response`); responses are read the way the
handout promises, by Content-Length when there is one, otherwise until the server closes, and
strictly: this suite grades the server's framing, so a malformed header line, a Content-Length
that is not a number, a body cut short or bytes past its Content-Length fail at once.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from grader import testing
from grader.core.text import printable
from grader.sandbox import Server
from grader.testing import HttpResponse, http_request, show

CHUNKS = b"first chunk;second chunk;" + b"x" * 5000 + b";last"  # what /stream/* send
LARGE = b"".join(bytes([65 + i]) * (1 << 20) for i in range(16))  # what /stream/large sends


def read_response(sock: socket.socket, *, what: str, timeout: float = 5.0) -> HttpResponse:
    """One response from a socket the test wrote to itself, read strictly."""
    return testing.read_response(sock, what=what, timeout=timeout, strict=True)


RAISED = "grader_probes: the app raised "  # the probe app's line (support/grader_probes.py)


class AppOutput:
    """What the probe app reported from a point of the test on. When the app raises (say, on
    bytes in the environ), the client sees only what the server made of it, often a closed
    connection; the app's own line on stderr says why."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.mark = self._count()

    def _count(self) -> int:
        return self.server.current_logs().count(RAISED)

    def raised(self, wait: float = 0.5) -> str:
        """'TypeError: ... (environ[...] is bytes ...)' if the app raised since the mark, else
        "" (waiting a moment for the server's output to arrive)."""
        deadline = time.monotonic() + wait
        while (count := self._count()) <= self.mark and time.monotonic() < deadline:
            time.sleep(0.05)
        if count <= self.mark:
            return ""
        last = self.server.current_logs().rpartition(RAISED)[2]
        return printable(last.split("\n", 1)[0].strip())[:300]

    def explain(self, line: str) -> str:
        """`line`, with the app's exception when it raised."""
        raised = self.raised()
        return f"{line}; meanwhile the probe app raised {raised}" if raised else line


@pytest.fixture
def exchange(connect, server) -> Callable[..., HttpResponse]:
    """exchange(raw_request_bytes, what=..., timeout=5) -> HttpResponse, on a fresh connection,
    read strictly; `what` defaults to the request line. A failed read quotes the probe app's
    exception, if it raised."""

    def _exchange(raw: bytes, *, what: str | None = None, timeout: float = 5.0) -> HttpResponse:
        output = AppOutput(server)
        try:
            response = testing.exchange(connect(timeout), raw, what=what, timeout=timeout,
                                        strict=True)
        except AssertionError as exc:  # a ShortRead keeps its type and evidence
            exc.args = (output.explain(str(exc)),)
            raise
        return response

    return _exchange


@pytest.fixture
def environ(exchange, server) -> Callable[..., dict[str, Any]]:
    """environ(method, target, **http_request_options) -> the environ the probe app
    received."""

    def _environ(method: str = "GET", target: str = "/environ", **options: Any) -> dict[str, Any]:
        what = f"{method} {target}"
        output = AppOutput(server)
        response = exchange(http_request(method, target, **options), what=what)
        if response.status != 200:
            raise AssertionError(output.explain(
                f"{what}: the probe app answers 200 with its environ, the server sent "
                f"{response.status} {response.reason}".rstrip()))
        try:
            return json.loads(response.body)  # type: ignore[no-any-return]
        except ValueError:
            raise AssertionError(f"{what}: the probe app's JSON body arrived changed: "
                                 f"{show(response.body)}") from None

    return _environ


def expect_key(env: dict[str, Any], key: str, expected: Any, what: str) -> None:
    got = env.get(key, "(missing)")
    assert got == expected, f"{what}: environ[{key!r}] should be {expected!r}, got {got!r}"
