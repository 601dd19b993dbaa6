"""Socket reads that fail with a line a student understands: exact, up to a marker, to the
close, by lines; each wait ends early once the server sleeps (`Wait`)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import MappingProxyType
from typing import Literal

from grader.sandbox.wait import IDLE, Wait

__all__ = ["ENDED", "IDLE", "ShortRead", "Wait", "recv_all", "recv_exactly", "recv_lines",
           "recv_some", "recv_until", "show", "socket_error", "step"]


def recv_some(sock: socket.socket, wait: Wait, size: int = 65536) -> bytes | None:
    """One recv within `wait`: the bytes, b"" when the server closed (or reset) the
    connection, None once the wait is over."""
    try:
        return _recv(sock, wait, size)
    except ConnectionResetError:
        return b""


def _recv(sock: socket.socket, wait: Wait, size: int = 65536) -> bytes | None:
    """One recv within `wait`: the bytes, b"" once closed, None once the wait is over; a reset
    raises ConnectionResetError."""
    while True:
        sock.settimeout(wait.step())
        try:
            chunk = sock.recv(size)
        except TimeoutError:
            if wait.over():
                return None
            continue
        wait.progress()
        return chunk


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


ENDED = MappingProxyType({"quiet": "went quiet", "closed": "closed the connection",
                          "reset": "reset the connection"})
"""How a read ended, as the end of "... before the server ___" (a ShortRead's `ended`)."""


def recv_exactly(sock: socket.socket, n: int, *, timeout: float = 5.0) -> bytes:
    """Read exactly n bytes; fail (ShortRead) saying how many arrived and how the read ended."""
    got = bytearray()
    wait = Wait(timeout)
    while len(got) < n:
        ended: Literal["quiet", "closed", "reset"]
        try:
            chunk = _recv(sock, wait, min(65536, n - len(got)))
            ended = "quiet" if chunk is None else "closed"  # should nothing come
        except ConnectionResetError:
            chunk, ended = None, "reset"
        if not chunk:
            quiet = wait.quiet() if ended == "quiet" else ""
            raise ShortRead(f"expected {n} bytes, got {len(got)} before the server "
                            f"{ENDED[ended]}{quiet}", got=bytes(got), ended=ended)
        got += chunk
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
        chunk = _recv(sock, wait)
        if chunk is None:
            raise AssertionError(f"no {show(marker)} came{wait.quiet()}; got "
                                 f"{show(bytes(got))}")
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
    wait = Wait(timeout)
    while True:
        chunk = _recv(sock, wait)
        if chunk is None:
            raise AssertionError(f"the server did not close the connection: it went quiet"
                                 f"{wait.quiet()}; got {len(got)} bytes")
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
