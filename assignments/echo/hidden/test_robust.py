"""Hidden tests: large messages, concurrency and misbehaving clients."""

import selectors
import socket
import struct
import time

import pytest

from grader.testing import recv_exactly, show


def send_and_receive(sock: socket.socket, data: bytes, timeout: float) -> bytes:
    """Send and receive at once, so a server that echoes as it reads never deadlocks us."""
    got = bytearray()
    view = memoryview(data)
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    deadline = time.monotonic() + timeout
    while len(got) < len(data) and time.monotonic() < deadline:
        for _, events in sel.select(timeout=1):
            if events & selectors.EVENT_WRITE and view:
                view = view[sock.send(view[:65536]) :]
                if not view:
                    sel.modify(sock, selectors.EVENT_READ)
            if events & selectors.EVENT_READ:
                chunk = sock.recv(65536)
                if not chunk:
                    return bytes(got)
                got += chunk
    return bytes(got)


@pytest.mark.points(3)
def test_large_message(connect):
    """Echoes a 1 MiB message whole (partial recv and send handled)"""
    sent = bytes(i % 251 for i in range(1 << 20))
    got = send_and_receive(connect(10), sent, timeout=15)
    assert len(got) == len(sent), (
        f"sent {len(sent)} bytes, got {len(got)} back before the connection went quiet")
    assert got == sent, "the large message came back with different bytes"


@pytest.mark.points(3)
def test_two_clients_at_once(connect):
    """Serves a second client while the first one stays connected"""
    first = connect()
    first.sendall(b"first")
    assert recv_exactly(first, 5) == b"first"
    second = connect(3)
    second.sendall(b"second")
    try:
        got = recv_exactly(second, 6, timeout=3)
    except AssertionError:
        raise AssertionError("a second client got no echo while the first was still "
                             "connected: serve clients concurrently (threads or select)") from None
    assert got == b"second", f"second client: sent b'second', got {show(got)}"
    first.sendall(b"again")
    assert recv_exactly(first, 5) == b"again", "the first client stopped being served"


@pytest.mark.points(2)
def test_survives_reset(connect):
    """Keeps serving after a client disconnects abruptly (connection reset)"""
    rude = connect()
    rude.sendall(b"x" * 100_000)
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()  # SO_LINGER 0: close sends RST, not FIN
    time.sleep(0.2)  # let the reset reach the server before the next client
    try:
        sock = connect()
        sock.sendall(b"still there?")
        got = recv_exactly(sock, 12)
    except (OSError, AssertionError):
        raise AssertionError("after a client reset its connection the server stopped "
                             "serving: catch ConnectionResetError in the client handler") from None
    assert got == b"still there?", f"after a reset, got {show(got)}"


@pytest.mark.points(1)
def test_survives_silent_client(connect):
    """Serves others while a client connects and sends nothing, and after it leaves"""
    silent = connect()
    other = connect(3)
    other.sendall(b"ping")
    try:
        got = recv_exactly(other, 4, timeout=3)
    except AssertionError:
        raise AssertionError("a client that sends nothing blocked every other client") from None
    assert got == b"ping"
    silent.close()
    again = connect()
    again.sendall(b"pong")
    assert recv_exactly(again, 4) == b"pong", "not served after a silent client left"
