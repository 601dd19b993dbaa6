"""HTTP through `requests`, for suites that need no byte-level control: a session bound to the
server, and the WSGI runner's report (`X-WSGI-Error`) turned into the test's feedback."""

from __future__ import annotations

from typing import Any, Protocol

import requests

__all__ = ["WSGI_ERROR", "ServerSession", "expect_status", "explain", "media_type"]

WSGI_ERROR = "X-WSGI-Error"
"""The header in which the grader's WSGI runner (`grader/runners/wsgi_runner.py`) reports, in
one line (`ExceptionType: message`), what made it answer 500."""


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


class ServerSession(requests.Session):
    """A requests.Session bound to the server: `http.get("/path")`, with a default timeout.

    The base URL is read at each request, so it follows the server across a restart.
    """

    def __init__(self, server: _HasUrl, timeout: float = 5.0) -> None:
        super().__init__()
        self.server, self.timeout = server, timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith("/"):
            url = self.server.url + url
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def explain(what: str, response: requests.Response, *, rejected: str = "the application",
            hint: str = "") -> None:
    """Fail with the WSGI runner's report, when the response carries one (else return).

    The runner serves every request through `wsgiref.validate` and answers 500 with an
    `X-WSGI-Error` header when the validator or the application raised. The line names the
    request (`what`), then either "wsgiref.validate rejected REJECTED: its message" or "the
    application raised ExceptionType: message (the server answered 500)", then `hint` (what
    the student should do, e.g. that a framework must catch what its views raise).
    """
    error = response.headers.get(WSGI_ERROR)
    if not error:
        return
    if error.startswith("AssertionError: "):
        raise AssertionError(f"{what}: wsgiref.validate rejected {rejected}: "
                             f"{error.removeprefix('AssertionError: ')}")
    raise AssertionError(f"{what}: the application raised {error} (the server answered 500)"
                         + (f"; {hint}" if hint else ""))


def media_type(response: requests.Response) -> str:
    """The response's media type without parameters, lower case ("" when there is none)."""
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def expect_status(response: requests.Response, status: int, what: str,
                  kind: str | None = None) -> None:
    """Fail unless the response has `status` and, when `kind` is given, that media type:
    "{what}: expected status 404, got 200 OK", "{what}: expected Content-Type text/html, got
    'text/plain'"."""
    assert response.status_code == status, (
        f"{what}: expected status {status}, got {response.status_code} {response.reason}")
    if kind is not None:
        got = response.headers.get("Content-Type", "no Content-Type header")
        assert media_type(response) == kind, f"{what}: expected Content-Type {kind}, got {got!r}"
