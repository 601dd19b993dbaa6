"""Public tests: what the server sends for the application, and how it survives errors."""

import socket
import time

import pytest
from conftest import CHUNKS, AppOutput, read_response

from grader.testing import http_request


@pytest.mark.points(2)
def test_status_and_headers(exchange):
    """The status line and headers are the ones the app gave start_response"""
    for code in (201, 404):
        response = exchange(http_request("GET", f"/status/{code}"))
        what = f"GET /status/{code} (the app says '{code} Probe Reason')"
        assert (response.status, response.reason) == (code, "Probe Reason"), (
            f"{what}: got the status line '{response.status} {response.reason}'")
        for name, value in (("x-probe-one", "1"), ("x-probe-two", "two words")):
            assert response.headers.get(name) == value, (
                f"{what}: expected the app's header {name}: {value}, got "
                f"{response.headers.get(name, 'none')!r}")
        assert response.body == b"status probe", f"{what}: the body came back changed"


@pytest.mark.points(2)
def test_streamed_generator(exchange):
    """A body the app yields in chunks (one empty) arrives whole"""
    response = exchange(http_request("GET", "/stream/gen"))
    assert response.status == 200, f"GET /stream/gen: expected 200, got {response.status}"
    assert response.body == CHUNKS, (
        f"GET /stream/gen: expected the {len(CHUNKS)} bytes the app yielded, got "
        f"{len(response.body)}: send every chunk (and skip empty ones)")


@pytest.mark.points(2)
def test_exception_gives_500(exchange):
    """An app that raises before its response gets a 500, and the server keeps serving"""
    response = exchange(http_request("GET", "/raise/before"),
                        what="GET /raise/before (the app raises)")
    assert response.status == 500, (f"GET /raise/before: the app raised; expected status 500, "
                                    f"got {response.status}")
    after = exchange(http_request("GET", "/status/201"),
                     what="GET /status/201 after the exception")
    assert after.status == 201, "the server stopped serving after the application raised"


@pytest.mark.points(1)
def test_malformed_request_line_400(exchange):
    """A request line without three parts gets 400 Bad Request"""
    raw = b"GARBAGE\r\nHost: localhost\r\n\r\n"
    response = exchange(raw, what="the request line 'GARBAGE'")
    assert response.status == 400, (f"the request line 'GARBAGE': expected 400 Bad Request, got "
                                    f"{response.status}")


@pytest.mark.points(2)
def test_idle_client_does_not_block(connect, server):
    """Serves other clients while one client is connected and silent"""
    idle = connect()
    idle.sendall(b"GET /environ/idle HTTP/1.1\r\n")  # ... and nothing more for now
    time.sleep(0.2)
    started = time.monotonic()
    other = connect(3.0)
    output = AppOutput(server)
    other.sendall(http_request("GET", "/status/201"))
    try:
        response = read_response(other, what="GET /status/201", timeout=3.0)
    except AssertionError as exc:
        if "no response came" not in str(exc):  # it answered, or closed: not a wait
            raise AssertionError(output.explain(f"while another client sat silent: {exc}")) \
                from None
        raise AssertionError(output.explain(
            "a second client got no answer within 3 s while the first sat silent half-way "
            "through its request: serve connections concurrently (a thread or a process "
            "each)")) from None
    assert response.status == 201, f"GET /status/201: expected 201, got {response.status}"
    assert time.monotonic() - started < 3
    idle.shutdown(socket.SHUT_WR)
