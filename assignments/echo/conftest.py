"""Helpers shared by the public and hidden echo tests: send a message, read it back, and say
why when it does not come back whole."""

import socket

from grader.testing import ShortRead, recv_exactly, show


def hint(sent: bytes, got: bytes, ended: str) -> str:
    """The cause that what came back supports, or "" when it supports none.

    A clean prefix ending at the last newline sent is a server waiting for lines (not a
    decoding bug); a connection that ends where the bytes stop being UTF-8 is a decoding bug;
    silence from the first byte says only that nothing was sent back yet.
    """
    rest = sent[len(got):]
    if got and rest and sent.startswith(got) and got.endswith(b"\n") and b"\n" not in rest:
        return (f"the echo stopped after a newline ({len(got)} bytes) and the rest never came: "
                "send back what each recv returns at once, never wait for a line end")
    if ended in ("closed", "reset") and sent.startswith(got) and utf8(got) and not utf8(sent):
        return ("the connection ended on bytes that are not valid UTF-8: echo the bytes, "
                    "never decode them")
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


def with_hint(exc: ShortRead, sent: bytes) -> ShortRead:
    why = hint(sent, exc.got, exc.ended)
    return ShortRead(f"{exc}; {why}" if why else str(exc), got=exc.got, ended=exc.ended)


def read_back(sock: socket.socket, sent: bytes, *, timeout: float = 5.0,
              hints: bool = True) -> bytes:
    """Send `sent` and read as many bytes back. A short read fails (ShortRead) with the cause
    the evidence supports (`hint`), unless `hints=False`: a test about something else (a
    silent client, concurrency) names its own cause."""
    sock.sendall(sent)
    try:
        return recv_exactly(sock, len(sent), timeout=timeout)
    except ShortRead as exc:
        raise (with_hint(exc, sent) if hints else exc) from None


def echo_back(sock: socket.socket, sent: bytes, *, timeout: float = 5.0,
              hints: bool = True) -> None:
    """`read_back`, then fail unless the same bytes came back ("sent ..., got ... back"); in a
    multi-step test, wrap it in `step(...)` so the line names the step."""
    got = read_back(sock, sent, timeout=timeout, hints=hints)
    assert got == sent, f"sent {show(sent)}, got {show(got)} back"
