"""Helpers shared by the public and hidden echo tests: send a message, read it back, and say
why when it does not come back whole."""

import socket
import time

from grader.core.text import crash_cause
from grader.sandbox import Server
from grader.testing import ShortRead, recv_exactly, show

TRACEBACK = "Traceback (most recent call last)"


class Output:
    """What the server printed from a point of the test on: the evidence for a cause.

    Its output is the only evidence that the server raised: a connection that ends where the
    bytes stop being UTF-8 may as well be a server that echoed one recv's worth and closed.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.mark = self._tracebacks()

    def _tracebacks(self) -> int:
        return self.server.current_logs().count(TRACEBACK)

    def raised(self, wait: float = 0.5) -> str:
        """The last exception line of a traceback printed since the mark, or "": a handler
        thread prints its traceback after its socket closed, so wait a moment for it."""
        deadline = time.monotonic() + wait
        while self._tracebacks() <= self.mark:
            if time.monotonic() >= deadline:
                return ""
            time.sleep(0.05)
        return crash_cause(self.server.current_logs())


def hint(sent: bytes, got: bytes, ended: str, *, raised: str = "") -> str:
    """The cause that the evidence supports, or "" when it supports none.

    `raised`: the exception the server printed meanwhile (`Output.raised`), the only evidence
    of a decoding bug. A clean prefix ending at the last newline sent is a server waiting for
    lines; a connection the server ended after a clean prefix is a server that stopped echoing
    early; silence from the first byte says only that nothing was sent back yet.
    """
    if raised:
        kind, _, detail = raised.partition(":")
        said = f"the server raised {kind}" + (f" ({detail.strip()[:100]})" if detail else "")
        return f"{said}: echo the bytes, never decode them" if kind.endswith(
            "UnicodeDecodeError") else said
    rest = sent[len(got):]
    if got and rest and sent.startswith(got) and got.endswith(b"\n") and b"\n" not in rest:
        return (f"the echo stopped after a newline ({len(got)} bytes) and the rest never came: "
                "send back what each recv returns at once, never wait for a line end")
    if ended in ("closed", "reset") and got and sent.startswith(got):
        return (f"the server ended the connection after echoing {len(got)} of the {len(sent)} "
                "bytes: keep reading and echoing until the client closes its side (recv "
                "returns b'')")
    if ended == "quiet" and not got:
        return ("nothing came back while the connection stayed open: send back what each recv "
                "returns at once (do not wait for a newline or for the client to close)")
    return ""


def utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def with_hint(exc: ShortRead, sent: bytes, output: Output | None = None) -> ShortRead:
    why = hint(sent, exc.got, exc.ended, raised=output.raised() if output else "")
    return ShortRead(f"{exc}; {why}" if why else str(exc), got=exc.got, ended=exc.ended)


def read_back(sock: socket.socket, sent: bytes, *, timeout: float = 5.0,
              hints: bool = True, server: Server | None = None) -> bytes:
    """Send `sent` and read as many bytes back. A short read fails (ShortRead) with the cause
    the evidence supports (`hint`; what `server` printed meanwhile is part of it), unless
    `hints=False`: a test about something else (a silent client, concurrency) names its own
    cause."""
    output = Output(server) if server is not None and hints else None
    sock.sendall(sent)
    try:
        return recv_exactly(sock, len(sent), timeout=timeout)
    except ShortRead as exc:
        raise (with_hint(exc, sent, output) if hints else exc) from None


def echo_back(sock: socket.socket, sent: bytes, *, timeout: float = 5.0,
              hints: bool = True, server: Server | None = None) -> None:
    """`read_back`, then fail unless the same bytes came back ("sent ..., got ... back"); in a
    multi-step test, wrap it in `step(...)` so the line names the step."""
    got = read_back(sock, sent, timeout=timeout, hints=hints, server=server)
    assert got == sent, f"sent {show(sent)}, got {show(got)} back"
