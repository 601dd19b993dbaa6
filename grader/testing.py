"""Helpers for suite authors: socket reads that fail with a line a student understands."""

from __future__ import annotations

import socket
import time
from typing import Any, Protocol

import requests

__all__ = ["ServerSession", "recv_all", "recv_exactly", "recv_lines", "recv_until", "show"]


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


def show(data: bytes, limit: int = 60) -> str:
    """A short, safe rendering of bytes for a feedback line."""
    text = repr(data[:limit])
    return text + (f"... ({len(data)} bytes)" if len(data) > limit else "")


def recv_exactly(sock: socket.socket, n: int, *, timeout: float = 5.0) -> bytes:
    """Read exactly n bytes; fail saying how many arrived before the server went quiet."""
    got = bytearray()
    deadline = time.monotonic() + timeout
    while len(got) < n:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(min(65536, n - len(got)))
        except TimeoutError:
            raise AssertionError(f"expected {n} bytes, got {len(got)} before the server went "
                                 f"quiet for {timeout:g} s") from None
        if not chunk:
            raise AssertionError(f"expected {n} bytes, got {len(got)} before the server closed "
                                 "the connection")
        got += chunk
    return bytes(got)


def recv_until(sock: socket.socket, marker: bytes, *, timeout: float = 5.0,
               limit: int = 1 << 20) -> bytes:
    """Read until `marker` (included) arrives."""
    got = bytearray()
    deadline = time.monotonic() + timeout
    while marker not in got:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"waited {timeout:g} s for {show(marker)}, got "
                                 f"{show(bytes(got))}") from None
        if not chunk:
            raise AssertionError(f"the server closed the connection before sending "
                                 f"{show(marker)}; got {show(bytes(got))}")
        got += chunk
        if len(got) > limit:
            raise AssertionError(f"more than {limit} bytes without {show(marker)}")
    return bytes(got)


def recv_all(sock: socket.socket, *, timeout: float = 5.0, limit: int = 64 << 20) -> bytes:
    """Read until the server closes the connection."""
    got = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"the server did not close the connection within {timeout:g} s"
                                 f" (got {len(got)} bytes)") from None
        if not chunk:
            return bytes(got)
        got += chunk
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
