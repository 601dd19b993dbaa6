"""Public tests: what every echo server must do."""

import pytest
from conftest import echo_back, read_back, utf8

from grader.testing import recv_all, show, step


@pytest.mark.points(2)
def test_short_message(connect, server):
    """Echoes a short message"""
    echo_back(connect(), b"hello, server", server=server)


@pytest.mark.points(2)
def test_several_messages_one_connection(connect, server):
    """Echoes several messages on one connection, in order"""
    sock = connect()
    for i in range(5):
        with step(f"message {i + 1} of 5 on one connection"):
            echo_back(sock, f"message {i}\n".encode(), server=server)


@pytest.mark.points(2)
def test_binary_bytes(connect, server):
    """Echoes binary data that is not valid UTF-8, byte for byte"""
    sent = bytes(range(256)) + b"\xff\xfe\x00\x80"
    with step("binary (non-UTF-8) data"):
        got = read_back(connect(), sent, server=server)
    if got != sent and (b"\xef\xbf\xbd" in got or utf8(got)):  # U+FFFD, or text: decoded
        raise AssertionError(f"binary data came back changed ({show(got, 24)}): echo the bytes, "
                             "never decode them")
    assert got == sent, f"binary data came back changed: sent {show(sent, 24)}, got {show(got, 24)}"


@pytest.mark.points(1)
def test_closes_when_client_closes(connect):
    """Closes the connection after the client closes its side (half-close)"""
    sock = connect()
    sock.sendall(b"last words")
    sock.shutdown(1)  # SHUT_WR: we are done sending
    got = recv_all(sock)
    assert got == b"last words", f"sent b'last words' then closed, got {show(got)} back"
