"""Hidden tests: framing, close(), errors mid-response, malformed requests, slow clients."""

import json
import time
import uuid

import pytest
from conftest import CHUNKS, build, read_response

from grader.testing import show


@pytest.mark.points(1)
def test_streamed_list_and_empty(exchange):
    """A body from a list arrives whole; an empty body is still a full response"""
    response = exchange(build("GET", "/stream/list"))
    assert response.status == 200 and response.body == CHUNKS, (
        f"GET /stream/list: expected 200 and the {len(CHUNKS)} bytes of the list, got "
        f"{response.status} and {len(response.body)} bytes")
    response = exchange(build("GET", "/stream/empty"))
    assert response.status == 200 and response.body == b"", (
        f"GET /stream/empty (the app returns []): expected 200 with an empty body, got "
        f"{response.status} and {show(response.body)}; send the headers even without a body")


@pytest.mark.points(2)
def test_close_is_called(exchange):
    """The server calls close() on the app's iterable"""
    token = uuid.uuid4().hex
    response = exchange(build("GET", f"/closing/{token}"))
    assert response.body == b"closing probe", f"GET /closing/...: got {show(response.body)}"
    closed = False
    for _ in range(20):  # close() may come just after the response is sent
        closed = json.loads(exchange(build("GET", f"/closed/{token}")).body)["closed"]
        if closed:
            break
        time.sleep(0.1)
    assert closed, ("the app's iterable was never closed: call its close() method (when it has "
                    "one) after sending the body, even when an error occurred")


@pytest.mark.points(1)
def test_raise_before_first_chunk(exchange):
    """An app that calls start_response and then raises before any body gets a 500"""
    response = exchange(build("GET", "/raise/first"), what="GET /raise/first")
    assert response.status == 500, (
        f"GET /raise/first: the app called start_response('200 OK') and raised before its "
        f"first chunk; expected 500, got {response.status}: send the status line with the "
        "first non-empty chunk, not from start_response")


@pytest.mark.points(2)
def test_raise_mid_body(connect, exchange):
    """An app that raises mid-body: that connection is closed, the server keeps serving"""
    sock = connect()
    sock.sendall(build("GET", "/raise/middle", close=False))
    data, deadline = b"", time.monotonic() + 5
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            data += b"<closed>"
            break
        data += chunk
    ok = data.startswith(b"HTTP/1.") and data[9:12] == b"500" or data.endswith(b"<closed>")
    assert ok, (f"GET /raise/middle: the app sent part of its body and raised; the connection "
                f"stayed open for 5 s (got {show(data)}): close it, so the client knows the "
                "body is cut short")
    after = exchange(build("GET", "/status/201"), what="GET /status/201 after the error")
    assert after.status == 201, "the server stopped serving after an error mid-body"


@pytest.mark.points(2)
def test_keep_alive_or_close(connect):
    """A kept-alive connection answers its next request (or the server closes it)"""
    sock = connect()
    sock.sendall(build("GET", "/environ/first", close=False))
    first = read_response(sock, what="GET /environ/first (HTTP/1.1, no Connection: close)")
    assert first.status == 200, f"GET /environ/first: expected 200, got {first.status}"
    try:
        sock.sendall(build("GET", "/status/201", close=False))
    except OSError:
        return  # closed after the first response: allowed
    sock.settimeout(5)
    try:
        peek = sock.recv(1, 2)  # MSG_PEEK: closed (b"") or the start of a response
    except ConnectionResetError:
        return
    except TimeoutError:
        raise AssertionError("the connection stayed open after the first response, but the "
                             "second request on it got no answer within 5 s: read the next "
                             "request, or close the connection") from None
    if not peek:
        return
    second = read_response(sock, what="a second request on a kept-alive connection")
    assert second.status == 201, (f"a second request on a kept-alive connection (GET "
                                  f"/status/201): got {second.status}")


@pytest.mark.points(2)
def test_unframed_response_is_framed(connect):
    """A body without the app's Content-Length is framed: a computed length, or a close"""
    sock = connect()
    sock.sendall(build("GET", "/stream/gen", close=False))
    response = read_response(sock, what="GET /stream/gen (HTTP/1.1, no Connection: close)")
    assert response.body == CHUNKS, f"GET /stream/gen: got {len(response.body)} bytes of " \
                                    f"{len(CHUNKS)}"


@pytest.mark.points(1)
def test_header_without_colon_400(exchange):
    """A header line without a colon gets 400 Bad Request"""
    raw = b"GET /environ/x HTTP/1.1\r\nHost: localhost\r\nNo colon here\r\n\r\n"
    response = exchange(raw, what="a header line 'No colon here'")
    assert response.status == 400, (f"a request with the header line 'No colon here': expected "
                                    f"400 Bad Request, got {response.status}")


@pytest.mark.points(1)
def test_bad_content_length_400(exchange):
    """A non-numeric Content-Length gets 400 Bad Request"""
    raw = b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\nabc"
    response = exchange(raw, what="Content-Length: ten")
    assert response.status == 400, (f"a request with 'Content-Length: ten': expected 400 Bad "
                                    f"Request, got {response.status}")


@pytest.mark.points(2)
def test_slow_client_does_not_block(connect):
    """Serves other clients while one sends its body slowly"""
    slow = connect(5)
    slow.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n"
                 b"Connection: close\r\n\r\nabc")
    time.sleep(0.3)
    other = connect(3)
    other.sendall(build("GET", "/status/201"))
    try:
        response = read_response(other, what="GET /status/201", timeout=3)
    except AssertionError:
        raise AssertionError("a second client got no answer within 3 s while the first was "
                             "still sending its body: serve each connection in its own "
                             "thread") from None
    assert response.status == 201
    slow.sendall(b"defghij")
    done = read_response(slow, what="the slow POST /echo, once complete")
    assert done.body == b"abcdefghij", f"the slow POST /echo: got {show(done.body)}"
