"""HTTP over a raw socket, for tests that need control of every byte: malformed requests, a
request in pieces, pipelining, slow clients, what a server sends for a request and how it frames
it (Content-Length, chunked, or the close).

Parsing is lenient where real clients are (a bare `\\n` line ending, header names in any case, a
missing reason phrase) and notes what it forgave in `problems`, so that one test about the format
charges it, once; `strict=True` fails at once instead, for suites that grade a server's framing.
Every failure is one line that names the request (`what`), and every wait ends early once the
server sleeps (`Wait`).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from grader.testing.sockets import ShortRead, Wait, recv_some, show

__all__ = ["HttpResponse", "Received", "exchange", "http_request", "read_raw", "read_response"]

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/(\d\.\d)[ \t]+(\d{3})(?:[ \t]+(.*))?")
_HEAD_LIMIT = 1 << 20  # bytes of head without its blank line before giving up
_RAW_LIMIT = 1 << 22  # bytes read_raw keeps at most


def http_request(method: str = "GET", target: str = "/", *, host: str = "localhost",
                 headers: Mapping[str, str] | None = None, body: bytes = b"",
                 version: str = "HTTP/1.1", close: bool = True) -> bytes:
    """The bytes of a request: the request line, `Host`, `User-Agent: course-grader`, then
    `headers` in order, `Content-Length` for a body (unless `headers` has one) and
    `Connection: close` (unless `close=False`), the blank line and the body."""
    lines = [f"{method} {target} {version}", f"Host: {host}", "User-Agent: course-grader"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body and not any(name.lower() == "content-length" for name in headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class HttpResponse:
    """One response as it arrived."""

    status: int
    reason: str
    headers: dict[str, str]  # names in lower case; the last of repeated names
    body: bytes  # decoded from chunks when read with chunked=True and so framed
    head: bytes = field(repr=False)  # the status line and header lines, as sent
    fields: list[tuple[str, str]] = field(default_factory=list)  # every header line, in order
    problems: list[str] = field(default_factory=list)  # format faults forgiven, for one test
    version: str = "1.1"  # of the status line: "1.0" or "1.1"
    extra: bytes = b""  # what arrived after the body: the start of the next response

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case ("" when there is none)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def content_length(self) -> int | None:
        """The Content-Length header as a number (None when missing or not a number)."""
        value = self.headers.get("content-length")
        return int(value) if value is not None and value.strip().isdigit() else None


class _Reader:
    """The reads of one response: what arrived so far and the waits, one test's worth."""

    def __init__(self, sock: socket.socket, what: str, timeout: float, idle: float | None,
                 pending: bytes) -> None:
        self.sock, self.what, self.idle = sock, what, idle
        self.buf = bytearray(pending)
        self.whole = self.wait = Wait(timeout)

    def more(self) -> bytes | None:
        """One piece of the body: the bytes, b"" once the server closed, None once it went
        quiet (`self.wait.quiet()` says how) for `idle` s, or until the deadline."""
        if self.idle:  # a wait anew for each piece
            self.wait = self.whole.piece(self.idle)
        return recv_some(self.sock, self.wait)

    def head(self) -> bytes:
        """The head, up to and including the blank line that ends it; the rest stays in buf."""
        while not (end := _HEAD_END.search(self.buf)):
            chunk = recv_some(self.sock, self.wait)  # one wait for the whole head
            got = bytes(self.buf)
            if chunk is None:
                if not got:
                    raise AssertionError(f"{self.what}: no response came{self.wait.quiet()}")
                raise AssertionError(f"{self.what}: no blank line after the headers came"
                                     f"{self.wait.quiet()}; got {show(got)}")
            if not chunk:
                if not got:
                    raise AssertionError(f"{self.what}: the server closed the connection "
                                         "without sending a response")
                raise AssertionError(f"{self.what}: the connection closed before the blank line "
                                     "that ends the headers (a head ends with '\\r\\n\\r\\n'); "
                                     f"got {show(got)}")
            self.buf += chunk
            if len(self.buf) > _HEAD_LIMIT:
                raise AssertionError(f"{self.what}: more than 1 MiB without the blank line that "
                                     "ends the headers")
        head = bytes(self.buf[: end.end()])
        del self.buf[: end.end()]
        return head

    def chunked(self) -> bytes:
        """A chunked body: each chunk's size in hex on its own line, the chunk, CRLF; a chunk
        of size 0 and the (ignored) trailer lines up to a blank line end it."""
        body = bytearray()
        while True:
            line = self._line(body)
            size = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9a-fA-F]+", size):
                raise AssertionError(f"{self.what}: a chunk must start with its size in hex on a "
                                     f"line of its own, got {show(line)}")
            if int(size, 16) == 0:
                while self._line(body):
                    pass  # trailer fields
                return bytes(body)
            n = int(size, 16)
            while len(self.buf) < n + 2:
                self._fill(body)
            if self.buf[n: n + 2] != b"\r\n":
                raise AssertionError(f"{self.what}: a chunk of {n} bytes must be followed by "
                                     f"'\\r\\n', got {show(bytes(self.buf[n: n + 2]))}")
            body += self.buf[:n]
            del self.buf[: n + 2]

    def _line(self, body: bytearray) -> bytes:
        while (end := self.buf.find(b"\n")) < 0:
            self._fill(body)
        line = bytes(self.buf[:end]).rstrip(b"\r")
        del self.buf[: end + 1]
        return line

    def _fill(self, body: bytearray) -> None:
        chunk = self.more()
        if chunk is None:
            raise ShortRead(f"{self.what}: got {len(body)} bytes of a chunked body, then the "
                            f"server went quiet{self.wait.quiet()} before its last chunk (size "
                            "0)", got=bytes(body), ended="quiet")
        if not chunk:
            raise ShortRead(f"{self.what}: the connection closed after {len(body)} bytes of a "
                            "chunked body, before its last chunk (size 0)", got=bytes(body),
                            ended="closed")
        self.buf += chunk


def read_response(sock: socket.socket, *, what: str, timeout: float = 5.0,
                  head_only: bool = False, idle: float | None = None, strict: bool = False,
                  chunked: bool = False, pending: bytes = b"") -> HttpResponse:
    """Read one response: the head, then its body by Content-Length, or up to the close.

    `what` names the request in every failure ("GET /hello.txt"). `timeout` bounds the whole
    read; `idle` gives up on the body after that many seconds without a byte (default: the
    time left). `head_only` (a HEAD request): read to the close but accept silence after the
    head, so a server that keeps the connection open costs a short wait, not a failure; any
    body that did come is in `body` for the caller to judge (also for 1xx, 204 and 304).
    `chunked`: decode a `Transfer-Encoding: chunked` body (off: such a body is read as any
    other, raw, which is right for a suite whose handout rules chunked framing out).
    `pending`: bytes already read from this connection (a previous response's `extra`, when
    requests were pipelined or the connection kept alive).

    Lenient (the default): a header line that is not 'Name: value', and bare '\\n' line ends,
    are noted in `problems`; a Content-Length that is not a number counts as none; a body the
    server cut short by closing is returned short (the caller names the cause); bytes after the
    body are kept in `extra`. `strict=True` (a suite that grades framing) fails on each of these
    instead, naming it.
    """
    reader = _Reader(sock, what, timeout, idle, pending)
    response = _parse_head(reader.head(), what=what, strict=strict)
    status = response.status
    length = response.content_length()
    if strict and "content-length" in response.headers and length is None:
        raise AssertionError(f"{what}: Content-Length must be a number, got "
                             f"{response.headers['content-length']!r}")
    bodiless = head_only or status in (204, 304) or 100 <= status < 200
    encoding = response.headers.get("transfer-encoding", "").lower()
    if chunked and not bodiless and "chunked" in encoding:
        response.body, response.extra = reader.chunked(), bytes(reader.buf)
        return response
    body = reader.buf
    while bodiless or length is None or len(body) < length:
        chunk = reader.more()
        if chunk is None:
            if bodiless:
                break
            if length is None:  # the body ends at the close, which never came
                raise ShortRead(f"{what}: got {len(body)} bytes of body and no Content-Length, "
                                f"then the server went quiet{reader.wait.quiet()} without "
                                "closing: a client cannot tell where it ends; send a "
                                "Content-Length, or close the connection after the body",
                                got=bytes(body), ended="quiet")
            raise ShortRead(f"{what}: got {len(body)} bytes of body of the {length} its "
                            f"Content-Length announced, then the server went quiet"
                            f"{reader.wait.quiet()}", got=bytes(body), ended="quiet")
        if not chunk:
            if strict and length is not None and not bodiless:
                raise ShortRead(f"{what}: the connection closed after {len(body)} bytes of "
                                f"body; Content-Length announced {length}", got=bytes(body),
                                ended="closed")
            break
        body += chunk
    if bodiless or length is None:
        response.body = bytes(body)
    else:
        response.body, response.extra = bytes(body[:length]), bytes(body[length:])
        if strict and response.extra:
            raise AssertionError(f"{what}: {len(response.extra)} bytes more than the "
                                 f"Content-Length of {length}: {show(response.extra)}")
    return response


def _parse_head(head: bytes, *, what: str, strict: bool) -> HttpResponse:
    """The status line and headers of `head` (which ends with its blank line)."""
    end = _HEAD_END.search(head)
    text = head[: end.start()] if end else head
    lines = re.split(rb"\r?\n", text)
    match = _STATUS_LINE.fullmatch(lines[0].strip())
    if not match:
        raise AssertionError(f"{what}: the response must start with a status line such as "
                             f"'HTTP/1.1 200 OK', got {show(lines[0])}")
    problems = []
    bare = re.search(rb"(?<!\r)\n", head)
    if bare:  # parsed leniently, like browsers do; charged once, by the format test
        line = head[: bare.start()].rpartition(b"\n")[2]
        after = f"after {show(line)}" if line else "for the blank line that ends the head"
        problems.append(f"{what}: every line of the head ends with '\\r\\n', got a bare "
                        f"'\\n' {after}")
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            problem = f"{what}: a header line must be 'Name: value', got {show(line)}"
            if strict:
                raise AssertionError(problem)
            problems.append(problem)
            continue
        fields.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    return HttpResponse(status=int(match.group(2)),
                        reason=(match.group(3) or b"").decode("latin-1"),
                        headers={name.lower(): value for name, value in fields}, body=b"",
                        head=text, fields=fields, problems=problems,
                        version=match.group(1).decode())


def exchange(sock: socket.socket, request: bytes, *, what: str | None = None,
             timeout: float = 5.0, head_only: bool = False, strict: bool = False,
             chunked: bool = False) -> HttpResponse:
    """Send `request` (every byte, as given) and read its response (see `read_response`);
    `what` defaults to the request line."""
    what = what or request.split(b"\r\n", 1)[0].decode("latin-1")
    sock.sendall(request)
    return read_response(sock, what=what, timeout=timeout, head_only=head_only, strict=strict,
                         chunked=chunked)


@dataclass
class Received:
    """Every byte that arrived, read without judging its format (`read_raw`)."""

    data: bytes
    status: int | None  # the code of a status line at the start, if there is one
    ended: Literal["closed", "quiet"]  # closed (or reset) by the server, or it went quiet
    quiet: str = ""  # how the wait ended when quiet, for a feedback line (`Wait.quiet`)


def read_raw(sock: socket.socket, *, timeout: float = 5.0, idle: float | None = 1.0,
             limit: int = _RAW_LIMIT) -> Received:
    """Read until the server closes, or goes quiet for `idle` s after its first byte (None:
    until `timeout`), or `timeout` passes, keeping at most about `limit` bytes: for tests that
    judge what arrived whatever its format (a leak, a refusal by status line, two pipelined
    responses)."""
    data = b""
    whole = wait = Wait(timeout)
    while not whole.expired() and len(data) < limit:
        if data and idle is not None:  # a wait anew for each piece after the first
            wait = whole.piece(idle)
        try:
            chunk = recv_some(sock, wait)
        except OSError:
            chunk = b""
        if chunk is None:
            break
        if not chunk:
            return Received(data, _status(data), "closed")
        data += chunk
    return Received(data, _status(data), "quiet", wait.quiet())


def _status(data: bytes) -> int | None:
    first = re.split(rb"\r?\n", data, maxsplit=1)[0].strip()
    match = _STATUS_LINE.fullmatch(first)
    return int(match.group(2)) if match else None
