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
    try:
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
    except (ConnectionResetError, BrokenPipeError):
        raise AssertionError(f"sent {len(data) - len(view)} of {len(data)} bytes, got "
                             f"{len(got)} back before the server reset the connection") from None
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
    got = recv_exactly(first, 5)
    assert got == b"first", f"first client: sent b'first', got {show(got)}"
    second = connect(3)
    second.sendall(b"second")
    try:
        got = recv_exactly(second, 6, timeout=3)
    except AssertionError:
        raise AssertionError("a second client got no echo while the first was still "
                             "connected: serve clients concurrently (threads or select)") from None
    assert got == b"second", f"second client: sent b'second', got {show(got)}"
    first.sendall(b"again")
    got = recv_exactly(first, 5)
    assert got == b"again", f"first client, second message: sent b'again', got {show(got)}"


@pytest.mark.points(2)
def test_survives_reset(connect):
    """Keeps serving after a client disconnects abruptly (connection reset)"""
    rude = connect()
    try:
        rude.sendall(b"x" * 100_000)
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # the server already dropped us: that is not what this test is about
    rude.close()  # SO_LINGER 0: close sends RST, not FIN
    time.sleep(0.2)  # let the reset reach the server before the next client
    try:
        sock = connect()
    except ConnectionRefusedError:
        raise AssertionError("after a client reset its connection the server stopped "
                             "listening: catch ConnectionResetError in the client handler") from None
    sock.sendall(b"still there?")
    try:
        got = recv_exactly(sock, 12)
    except AssertionError as exc:
        raise AssertionError(f"after a client reset its connection: {exc}") from None
    assert got == b"still there?", f"after a reset: sent b'still there?', got {show(got)}"


@pytest.mark.points(1)
def test_survives_silent_client(connect):
    """Serves others while a client connects and sends nothing, and after it leaves"""
    silent = connect()
    other = connect(3)
    other.sendall(b"ping\n")
    try:
        got = recv_exactly(other, 5, timeout=3)
    except AssertionError as exc:
        raise AssertionError(f"while another client was connected and silent: {exc}") from None
    assert got == b"ping\n", f"while a silent client was connected: sent b'ping\\n', got {show(got)}"
    silent.close()
    again = connect()
    again.sendall(b"pong\n")
    got = recv_exactly(again, 5)
    assert got == b"pong\n", f"after a silent client left: sent b'pong\\n', got {show(got)}"
