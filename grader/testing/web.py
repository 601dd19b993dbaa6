"""HTTP through `requests`, for suites that need no byte-level control: a session bound to the
server, whose timeouts are counted like every wait's (`Wait`), and the WSGI runner's report
(`X-WSGI-Error`) turned into the test's feedback."""

from __future__ import annotations

import socket
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool

from grader.sandbox.wait import Wait

__all__ = ["WSGI_ERROR", "ServerSession", "expect_status", "explain", "media_type"]

WSGI_ERROR = "X-WSGI-Error"
"""The header in which the grader's WSGI runner (`grader/runners/wsgi_runner.py`) reports, in
one line (`ExceptionType: message`), what made it answer 500."""


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


class ServerSession(requests.Session):
    """A requests.Session bound to the server: `http.get("/path")`, with a default timeout.

    The base URL is read at each request, so it follows the server across a restart. The
    session runs on the grader's host, with the grader's network position, so it talks to the
    student's server and to nothing else: a redirect is followed only to the server's own scheme,
    host and port (elsewhere, the test fails with "GET /x redirected to '...': a redirect must
    stay on your server" before anything is sent), any other absolute URL is refused the same
    way, and nothing is read from the environment (`trust_env` off: no proxy, no `.netrc`
    credentials, no CA bundle from the grader's shell).
    """

    def __init__(self, server: _HasUrl, timeout: float = 5.0) -> None:
        super().__init__()
        self.server, self.timeout = server, timeout
        self.trust_env = False
        self.mount("http://", _PatientAdapter())

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith("/"):
            url = self.server.url + url
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest,
                     response: requests.Response) -> None:
        """Called for each redirect as it is prepared (also where it will not be followed, for
        `response.next`): remember which response asked for it, for `send`'s line."""
        prepared_request._redirected_by = response  # type: ignore[attr-defined]
        super().rebuild_auth(prepared_request, response)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Every request, the first and each redirect's: only to the server."""
        if not _same_origin(request.url or "", self.server.url):
            by: requests.Response | None = getattr(request, "_redirected_by", None)
            if by is not None:
                raise AssertionError(
                    f"{by.request.method} {_short(by.request.path_url)} redirected to "
                    f"{_short(by.headers.get('Location', ''))!r}: a redirect must stay on your "
                    f"server ({self.server.url})")
            raise AssertionError(
                f"the test was about to fetch {_short(request.url or '')!r}, which is not your "
                f"server ({self.server.url}): links and redirects must stay on your server")
        return super().send(request, **kwargs)


class _PatientSocket(socket.socket):
    """A socket whose reads wait like a `Wait`: its timeout counts only time the server and
    this client had to work in. A read timeout of 5 s is then 5 s of the server's, however
    loaded the machine (a class graded four suites to a core), and a server that does not
    answer still fails at 5 s on a quiet one. It never ends early for an idle server: neither
    does requests' own timeout, and a server may rightly wait in silence (a hung CGI script)."""

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        timeout = self.gettimeout()
        if not timeout:  # blocking or non-blocking: nothing to count
            return super().recv_into(buffer, nbytes, flags)
        wait = Wait(timeout)
        try:
            while True:
                self.settimeout(wait.step())
                try:
                    return super().recv_into(buffer, nbytes, flags)
                except TimeoutError:
                    if wait.expired():
                        raise
        finally:
            self.settimeout(timeout)


class _PatientConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        timeout = sock.gettimeout()
        patient = _PatientSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
        patient.settimeout(timeout)
        return patient


class _PatientPool(HTTPConnectionPool):
    ConnectionCls = _PatientConnection


class _PatientAdapter(HTTPAdapter):
    """requests' adapter for http://, over `_PatientSocket`s."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PatientPool}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port that is not a number
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def _same_origin(url: str, base: str) -> bool:
    """True when `url` has `base`'s scheme, host and port (the default port spelled or not)."""
    return _origin(url) == _origin(base)


def request_of(exc: requests.RequestException) -> str:
    """The request an HTTP error happened to, where it is known: " (GET /notes?limit=2)" (for
    the plugin's feedback line)."""
    request = exc.request
    if not isinstance(request, requests.PreparedRequest) or not request.method:
        return ""
    return f" ({request.method} {_short(request.path_url, 80)})"


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


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
