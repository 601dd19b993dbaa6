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
from collections.abc import Callable
from typing import Any

import pytest

from grader import testing
from grader.testing import HttpResponse, http_request, show

CHUNKS = b"first chunk;second chunk;" + b"x" * 5000 + b";last"  # what /stream/* send
LARGE = b"".join(bytes([65 + i]) * (1 << 20) for i in range(16))  # what /stream/large sends


def read_response(sock: socket.socket, *, what: str, timeout: float = 5.0) -> HttpResponse:
    """One response from a socket the test wrote to itself, read strictly."""
    return testing.read_response(sock, what=what, timeout=timeout, strict=True)


@pytest.fixture
def exchange(connect) -> Callable[..., HttpResponse]:
    """exchange(raw_request_bytes, what=..., timeout=5) -> HttpResponse, on a fresh connection,
    read strictly; `what` defaults to the request line."""

    def _exchange(raw: bytes, *, what: str | None = None, timeout: float = 5.0) -> HttpResponse:
        return testing.exchange(connect(timeout), raw, what=what, timeout=timeout, strict=True)

    return _exchange


@pytest.fixture
def environ(exchange) -> Callable[..., dict[str, Any]]:
    """environ(method, target, **http_request_options) -> the environ the probe app
    received."""

    def _environ(method: str = "GET", target: str = "/environ", **options: Any) -> dict[str, Any]:
        what = f"{method} {target}"
        response = exchange(http_request(method, target, **options), what=what)
        assert response.status == 200, (f"{what}: the probe app answers 200 with its environ, "
                                        f"the server sent {response.status} {response.reason}")
        try:
            return json.loads(response.body)  # type: ignore[no-any-return]
        except ValueError:
            raise AssertionError(f"{what}: the probe app's JSON body arrived changed: "
                                 f"{show(response.body)}") from None

    return _environ


def expect_key(env: dict[str, Any], key: str, expected: Any, what: str) -> None:
    got = env.get(key, "(missing)")
    assert got == expected, f"{what}: environ[{key!r}] should be {expected!r}, got {got!r}"
