"""Helpers shared by the public and hidden web server tests: a small, lenient HTTP client.

The suites speak HTTP over a raw socket instead of using `requests`, so they can send exactly the
bytes they mean (`/../`, malformed request lines, a request in pieces) and read exactly what came
back. Parsing is lenient where real clients are (bare `\\n` line endings, header names in any
case, a missing reason phrase) and every failure is one line naming the request.
"""

from __future__ import annotations

import html
import re
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.testing import ShortRead, Wait, recv_some, show

HEAD_END = re.compile(rb"\r?\n\r?\n")
HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
STATUS_LINE = re.compile(rb"HTTP/(\d\.\d)[ \t]+(\d{3})(?:[ \t]+(.*))?")


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    head: bytes = field(repr=False)
    problems: list[str] = field(default_factory=list)  # format faults, for the format test
    version: str = "1.1"  # of the status line: "1.0" or "1.1"

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case ("" when there is none)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None and value.strip().isdigit() else None


def request_bytes(target: str, method: str = "GET", host: str = "localhost") -> bytes:
    return (f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: course-grader\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n").encode("latin-1")


def _read_response(sock: socket.socket, *, what: str, head_only: bool = False,
                  timeout: float = 5.0, idle: float | None = None) -> Response:
    """Read one response: the head, then Content-Length bytes of body or up to the close.

    `head_only` (HEAD): read to the close but accept silence after the head, so a server that
    keeps the connection open costs a short wait, not a failure; the caller checks the body.
    `idle`: give up on the body after that many seconds without a byte (default: `timeout`).
    A header line that is not 'Name: value' is skipped and noted in `problems`: the format
    test charges it, once.
    """
    deadline = time.monotonic() + timeout
    wait = Wait(timeout)
    buf = b""
    while not (end := HEAD_END.search(buf)):
        chunk = recv_some(sock, wait)
        if chunk is None:
            if not buf:
                raise AssertionError(f"{what}: no response came{wait.quiet()}")
            raise AssertionError(f"{what}: no blank line after the headers came{wait.quiet()};"
                                 f" got {show(buf)}")
        if not chunk:
            if not buf:
                raise AssertionError(f"{what}: the server closed the connection without "
                                     "sending a response")
            raise AssertionError(f"{what}: the connection closed before the blank line that "
                                 f"ends the headers (a head ends with '\\r\\n\\r\\n'); got "
                                 f"{show(buf)}")
        buf += chunk
        if len(buf) > 1 << 20:
            raise AssertionError(f"{what}: more than 1 MiB without the blank line that ends "
                                 "the headers")
    head, body = buf[: end.start()], buf[end.end() :]
    lines = re.split(rb"\r?\n", head)
    match = STATUS_LINE.fullmatch(lines[0].strip())
    if not match:
        raise AssertionError(f"{what}: the response must start with a status line such as "
                             f"'HTTP/1.1 200 OK', got {show(lines[0])}")
    status = int(match.group(2))
    headers: dict[str, str] = {}
    problems = []
    bare = re.search(rb"(?<!\r)\n", buf[: end.end()])
    if bare:  # parsed leniently, like browsers do; charged once, by the format test
        line = buf[: bare.start()].rpartition(b"\n")[2]
        after = f"after {show(line)}" if line else "for the blank line that ends the head"
        problems.append(f"{what}: every line of the head ends with '\\r\\n', got a bare "
                        f"'\\n' {after}")
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            problems.append(f"{what}: a header line must be 'Name: value', got {show(line)}")
            continue
        headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    response = Response(status, (match.group(3) or b"").decode("latin-1"), headers, b"", head,
                        problems, match.group(1).decode())
    length = response.content_length()
    bodiless = head_only or status in (204, 304) or 100 <= status < 200
    while bodiless or length is None or len(body) < length:
        left = max(0.01, deadline - time.monotonic())
        wait = Wait(min(idle, left) if idle else left)  # anew for each piece of the body
        chunk = recv_some(sock, wait)
        if chunk is None:
            if bodiless:
                break
            if length is None:  # the body ends at the close, which never came
                raise ShortRead(f"{what}: got {len(body)} bytes of body and no Content-Length, "
                                f"then the server went quiet{wait.quiet()} without closing; "
                                "close the connection after the response", got=body,
                                ended="quiet")
            raise ShortRead(f"{what}: got {len(body)} bytes of body of the {length} its "
                            f"Content-Length announced, then the server went quiet"
                            f"{wait.quiet()}", got=body, ended="quiet")
        if not chunk:
            break
        body += chunk
    response.body = body if bodiless or length is None else body[:length]
    return response


@pytest.fixture
def fetch(server, connect) -> Callable[..., Response]:
    """fetch(target, method="GET", raw=None, timeout=5) -> Response, on a fresh connection.

    `raw` replaces the whole request with those exact bytes.
    """

    def _fetch(target: str = "/", method: str = "GET", *, raw: bytes | None = None,
               timeout: float = 5.0, what: str | None = None) -> Response:
        what = what or (f"{method} {target}" if raw is None else f"the request {show(raw)}")
        sock = connect(timeout)
        sock.sendall(raw if raw is not None else
                     request_bytes(target, method, f"{server.host}:{server.port}"))
        return _read_response(sock, what=what, head_only=method == "HEAD", timeout=timeout)

    return _fetch


@dataclass
class Raw:
    """Every byte that arrived for one request, and the status line's code if there is one."""

    data: bytes
    status: int | None
    ended: str  # "closed" (or reset) or "quiet"


def read_raw(sock: socket.socket, *, timeout: float = 5.0, idle: float = 1.0) -> Raw:
    """Read until the server closes, or goes quiet for `idle` s after its first byte, or
    `timeout` passes: the security tests judge what arrived, whatever its format."""
    deadline = time.monotonic() + timeout
    data = b""
    ended = "quiet"
    while time.monotonic() < deadline and len(data) < 1 << 22:
        left = max(0.01, deadline - time.monotonic())
        try:
            chunk = recv_some(sock, Wait(min(idle, left) if data else left))
        except OSError:
            chunk = b""
        if chunk is None:
            break
        if not chunk:
            ended = "closed"
            break
        data += chunk
    first = re.split(rb"\r?\n", data, maxsplit=1)[0].strip()
    match = STATUS_LINE.fullmatch(first)
    return Raw(data, int(match.group(2)) if match else None, ended)


@pytest.fixture
def fetch_raw(server, connect) -> Callable[..., Raw]:
    """fetch_raw(target, method="GET") -> Raw: what arrived for `METHOD target`, read
    leniently."""

    def _fetch_raw(target: str, method: str = "GET", timeout: float = 5.0) -> Raw:
        sock = connect(timeout)
        sock.sendall(request_bytes(target, method, f"{server.host}:{server.port}"))
        return read_raw(sock, timeout=timeout)

    return _fetch_raw


@pytest.fixture
def read_response() -> Callable[..., Response]:
    """read_response(sock, what=..., head_only=False, timeout=5): one response from a socket
    the test wrote to itself (a request in pieces, several connections at once)."""
    return _read_response


def links(page: bytes, base: str) -> set[str]:
    """Where a page's links lead, as a browser follows them: each href unescaped, resolved
    against the page's URL path BASE, its path percent-decoded ('/files/my file.txt')."""
    found = set()
    for match in HREF.finditer(page.decode("utf-8", "replace")):
        href = html.unescape(next(g for g in match.groups() if g is not None))
        path = urllib.parse.urlsplit(urllib.parse.urljoin(f"http://server{base}", href)).path
        found.add(urllib.parse.unquote(path))
    return found


@pytest.fixture(scope="session")
def www(assignment_dir: Path) -> Path:
    """The document root's fixture files, as the grader's side sees them."""
    return assignment_dir / "www"


@pytest.fixture(scope="session")
def huge(www: Path) -> bytes:
    """The 16 MiB www/huge.txt (generated, not kept in git: see make_www.py)."""
    from make_www import ensure_huge  # beside this file

    return ensure_huge(www).read_bytes()


@pytest.fixture(scope="session")
def odd(www: Path) -> Path:
    """www/Q&A <draft>/, holding 'fish & chips <menu>.txt' (generated: see make_www.py)."""
    from make_www import ensure_odd

    return ensure_odd(www)


@pytest.fixture(scope="session")
def many(www: Path) -> list[str]:
    """The names of the 1,000 files in www/many/ (generated: see make_www.py)."""
    from make_www import ensure_many, many_names

    ensure_many(www)
    return many_names()


@pytest.fixture(scope="session")
def locked(www: Path) -> bytes:
    """www/locked.txt, which nobody but root may read: its bytes (generated: see make_www.py)."""
    from make_www import LOCKED_TEXT, ensure_locked

    ensure_locked(www)
    return LOCKED_TEXT


@pytest.fixture(scope="session")
def secret(assignment_dir: Path) -> bytes:
    """A file beside the document root (outside it) that no request may return."""
    return (assignment_dir / "secret.txt").read_bytes().strip()


@pytest.fixture
def check_file() -> Callable[..., None]:
    """check_file(response, expected, what=..., types=(...)): a 200 with those exact bytes and,
    when `types` is given, one of those media types."""
    return _check_file


def _check_file(response: Response, expected: bytes, *, what: str,
                types: tuple[str, ...] | None = None) -> None:
    assert response.status == 200, (
        f"{what}: expected status 200, got {response.status} {response.reason}".rstrip())
    assert types is None or response.content_type in types, (
        f"{what}: expected Content-Type {' or '.join(types)}, got "
        f"{response.headers.get('content-type', 'no Content-Type header')!r}")
    if response.body == expected:
        return
    length = response.content_length()
    if length is not None and length < len(expected) and expected.startswith(response.body):
        raise AssertionError(
            f"{what}: Content-Length says {length} but the file has {len(expected)} bytes, so "
            "the body is cut short: Content-Length must count bytes, not characters")
    body = response.body
    if length == len(expected) and len(body) < length and expected.startswith(body):
        raise AssertionError(
            f"{what}: the connection closed after {len(body)} of the {length} bytes its "
            "Content-Length announced: send all of the file (sendall, not send; with "
            "non-blocking sockets keep the unsent rest for when select says it is writable)")
    said = f", Content-Length said {length}" if length not in (None, len(expected)) else ""
    raise AssertionError(
        f"{what}: the body is not the file's bytes (expected {len(expected)} bytes, got "
        f"{len(response.body)}{said}): {show(response.body, 24)}; read files in binary "
        "mode ('rb') and send them unchanged")
