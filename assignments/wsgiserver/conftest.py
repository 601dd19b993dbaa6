"""Helpers shared by the public and hidden wsgiserver tests: a raw-socket HTTP client.

The student's server runs the grader's probe application (support/grader_probes.py), so every
check reads what a real WSGI application received or sent. Responses are read the way the
handout promises: by Content-Length when there is one, otherwise until the server closes.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from grader.testing import show

STATUS_LINE = re.compile(rb"HTTP/(\d\.\d)[ \t]+(\d{3})(?:[ \t]+(.*))?")
CHUNKS = b"first chunk;second chunk;" + b"x" * 5000 + b";last"  # what /stream/* send
LARGE = b"".join(bytes([65 + i]) * (1 << 20) for i in range(16))  # what /stream/large sends
HEAD_END = re.compile(rb"\r?\n\r?\n")  # lenient, like real clients: a bare \n is accepted


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    fields: list[tuple[str, str]] = field(default_factory=list)  # every header line, in order


def build(method: str = "GET", target: str = "/", *, headers: dict[str, str] | None = None,
          body: bytes = b"", version: str = "HTTP/1.1", close: bool = True) -> bytes:
    """The bytes of a request: Host, Content-Length for a body, Connection: close by default."""
    lines = [f"{method} {target} {version}", "Host: localhost", "User-Agent: course-grader"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body and not any(k.lower() == "content-length" for k in headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _recv(sock: socket.socket, deadline: float) -> bytes | None:
    """One recv: the bytes, b"" once closed (or reset), None on a timeout."""
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return sock.recv(65536)
    except TimeoutError:
        return None
    except ConnectionResetError:
        return b""


def read_response(sock: socket.socket, *, what: str, timeout: float = 5.0) -> Response:
    """Read one response: the head, then Content-Length bytes of body, or up to the close."""
    deadline = time.monotonic() + timeout
    buf = b""
    while not (end := HEAD_END.search(buf)):
        chunk = _recv(sock, deadline)
        if chunk is None:
            raise AssertionError(f"{what}: no complete response head within {timeout:g} s; "
                                 f"got {show(buf)}")
        if not chunk:
            raise AssertionError(f"{what}: the connection closed before a complete response "
                                 f"head; got {show(buf)}")
        buf += chunk
    head, body = buf[: end.start()], bytearray(buf[end.end() :])  # grows in place (16 MiB)
    lines = re.split(rb"\r?\n", head)
    match = STATUS_LINE.fullmatch(lines[0].strip())
    if not match:
        raise AssertionError(f"{what}: expected a status line such as 'HTTP/1.1 200 OK', got "
                             f"{show(lines[0])}")
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise AssertionError(f"{what}: a header line must be 'Name: value', got {show(line)}")
        fields.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    headers = {name.lower(): value for name, value in fields}
    length = headers.get("content-length")
    if length is not None and not length.isdigit():
        raise AssertionError(f"{what}: Content-Length must be a number, got {length!r}")
    while length is None or len(body) < int(length):
        chunk = _recv(sock, deadline)
        if chunk is None:
            if length is None:
                raise AssertionError(
                    f"{what}: the response has no Content-Length and the connection stayed open "
                    f"after {len(body)} bytes of body: a client cannot tell where it ends; "
                    "send a Content-Length or close the connection after the body")
            raise AssertionError(f"{what}: got {len(body)} bytes of body of the {length} its "
                                 f"Content-Length announced, then nothing for {timeout:g} s")
        if not chunk:
            if length is not None:
                raise AssertionError(f"{what}: the connection closed after {len(body)} bytes of "
                                     f"body; Content-Length announced {length}")
            break
        body += chunk
    data = bytes(body)
    if length is not None:
        data, extra = data[: int(length)], data[int(length):]
        if extra:
            raise AssertionError(f"{what}: {len(extra)} bytes more than the Content-Length of "
                                 f"{length}: {show(extra)}")
    reason = (match.group(3) or b"").decode("latin-1")
    return Response(int(match.group(2)), reason, headers, data, fields)


@pytest.fixture
def exchange(connect) -> Callable[..., Response]:
    """exchange(raw_request_bytes, what=..., timeout=5) -> Response, on a fresh connection."""

    def _exchange(raw: bytes, *, what: str | None = None, timeout: float = 5.0) -> Response:
        what = what or raw.split(b"\r\n", 1)[0].decode("latin-1")
        sock = connect(timeout)
        sock.sendall(raw)
        return read_response(sock, what=what, timeout=timeout)

    return _exchange


@pytest.fixture
def environ(exchange) -> Callable[..., dict[str, Any]]:
    """environ(method, target, **build_options) -> the environ the probe app received."""

    def _environ(method: str = "GET", target: str = "/environ", **options: Any) -> dict[str, Any]:
        what = f"{method} {target}"
        response = exchange(build(method, target, **options), what=what)
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
