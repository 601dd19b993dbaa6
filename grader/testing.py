"""Helpers for suite authors: socket reads that fail with a line a student understands."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Protocol

import requests

from grader.run.wait import IDLE, Wait

__all__ = ["IDLE", "ServerSession", "ShortRead", "Wait", "recv_all", "recv_exactly", "recv_lines",
           "recv_some", "recv_until", "show", "socket_error", "step"]

def recv_some(sock: socket.socket, wait: Wait, size: int = 65536) -> bytes | None:
    """One recv within `wait`: the bytes, b"" when the server closed (or reset) the
    connection, None once the wait is over."""
    while True:
        sock.settimeout(wait.step())
        try:
            chunk = sock.recv(size)
        except TimeoutError:
            if wait.over():
                return None
            continue
        except ConnectionResetError:
            return b""
        wait.progress()
        return chunk


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


def show(data: bytes, limit: int = 60) -> str:
    """A short, safe rendering of bytes for a feedback line."""
    text = repr(data[:limit])
    return text + (f"... ({len(data)} bytes)" if len(data) > limit else "")


class ShortRead(AssertionError):
    """Fewer bytes than expected arrived: the message, plus the evidence a test can use to name
    the cause (what did arrive, and whether the server went quiet, closed or reset)."""

    def __init__(self, message: str, *, got: bytes,
                 ended: Literal["quiet", "closed", "reset"]) -> None:
        super().__init__(message)
        self.got, self.ended = got, ended


_ENDED = {"quiet": "went quiet", "closed": "closed the connection",
          "reset": "reset the connection"}


def recv_exactly(sock: socket.socket, n: int, *, timeout: float = 5.0) -> bytes:
    """Read exactly n bytes; fail (ShortRead) saying how many arrived and how the read ended."""
    got = bytearray()
    wait = Wait(timeout)
    while len(got) < n:
        sock.settimeout(wait.step())
        ended: Literal["quiet", "closed", "reset"] | None = None
        try:
            chunk = sock.recv(min(65536, n - len(got)))
            ended = None if chunk else "closed"
        except TimeoutError:
            if not wait.over():
                continue
            ended = "quiet"
        except ConnectionResetError:
            ended = "reset"
        if ended:
            quiet = wait.quiet() if ended == "quiet" else ""
            raise ShortRead(f"expected {n} bytes, got {len(got)} before the server "
                            f"{_ENDED[ended]}{quiet}", got=bytes(got), ended=ended)
        got += chunk
        wait.progress()
    return bytes(got)


def socket_error(exc: OSError) -> str:
    """A student's line for an error from a socket call."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: the server is no longer listening"
    if isinstance(exc, ConnectionResetError):
        return "the server reset the connection"
    if isinstance(exc, BrokenPipeError):
        return "the server closed the connection while the test was sending"
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def step(what: str) -> Iterator[None]:
    """Name the step of a multi-step test in its failure ("client 1's second message: ...").

    A ShortRead keeps its evidence (got, ended) under the new message.
    """
    try:
        yield
    except ShortRead as exc:
        raise ShortRead(f"{what}: {exc}", got=exc.got, ended=exc.ended) from None
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None
    except OSError as exc:
        raise AssertionError(f"{what}: {socket_error(exc)}") from None


def recv_until(sock: socket.socket, marker: bytes, *, timeout: float = 5.0,
               limit: int = 1 << 20) -> bytes:
    """Read until `marker` (included) arrives."""
    got = bytearray()
    wait = Wait(timeout)
    while marker not in got:
        sock.settimeout(wait.step())
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if not wait.over():
                continue
            raise AssertionError(f"no {show(marker)} came{wait.quiet()}; got "
                                 f"{show(bytes(got))}") from None
        if not chunk:
            raise AssertionError(f"the server closed the connection before sending "
                                 f"{show(marker)}; got {show(bytes(got))}")
        got += chunk
        wait.progress()
        if len(got) > limit:
            raise AssertionError(f"more than {limit} bytes without {show(marker)}")
    return bytes(got)


def recv_all(sock: socket.socket, *, timeout: float = 5.0, limit: int = 64 << 20) -> bytes:
    """Read until the server closes the connection."""
    got = bytearray()
    wait = Wait(timeout)
    while True:
        sock.settimeout(wait.step())
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if not wait.over():
                continue
            raise AssertionError(f"the server did not close the connection: it went quiet"
                                 f"{wait.quiet()}; got {len(got)} bytes") from None
        if not chunk:
            return bytes(got)
        got += chunk
        wait.progress()
        if len(got) > limit:
            raise AssertionError(f"the server sent more than {limit} bytes")


def recv_lines(sock: socket.socket, count: int, *, timeout: float = 5.0) -> list[str]:
    """Read `count` newline-terminated UTF-8 lines (without the line endings)."""
    buf = b""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        if b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.rstrip(b"\r").decode("utf-8", "replace"))
            continue
        left = deadline - time.monotonic()
        try:
            buf += recv_until(sock, b"\n", timeout=max(0.01, left))
        except AssertionError:
            raise AssertionError(f"expected {count} lines, got {len(lines)}: {lines!r}") from None
    return lines  # anything after the last line is dropped: use a buffered client for streams


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
