"""Hidden tests: framing, close(), errors mid-response, malformed requests, slow clients."""

import json
import re
import time
import uuid

import pytest
from conftest import CHUNKS, LARGE, AppOutput, read_response

from grader.testing import Wait, http_request, read_raw, recv_some, show


@pytest.mark.points(1)
def test_streamed_list_and_empty(exchange):
    """A body from a list arrives whole; an empty body is still a full response"""
    response = exchange(http_request("GET", "/stream/list"))
    assert response.status == 200 and response.body == CHUNKS, (
        f"GET /stream/list: expected 200 and the {len(CHUNKS)} bytes of the list, got "
        f"{response.status} and {len(response.body)} bytes")
    response = exchange(http_request("GET", "/stream/empty"))
    assert response.status == 200 and response.body == b"", (
        f"GET /stream/empty (the app returns []): expected 200 with an empty body, got "
        f"{response.status} and {show(response.body)}; send the headers even without a body")


@pytest.mark.points(2)
def test_close_is_called(exchange):
    """The server calls close() on the app's iterable"""
    token = uuid.uuid4().hex
    response = exchange(http_request("GET", f"/closing/{token}"))
    assert response.body == b"closing probe", f"GET /closing/...: got {show(response.body)}"
    closed = False
    for _ in range(20):  # close() may come just after the response is sent
        closed = json.loads(exchange(http_request("GET", f"/closed/{token}")).body)["closed"]
        if closed:
            break
        time.sleep(0.1)
    assert closed, ("the app's iterable was never closed: call its close() method (when it has "
                    "one) after sending the body, even when an error occurred")


@pytest.mark.points(1)
def test_raise_before_first_chunk(exchange):
    """An app that calls start_response and then raises before any body gets a 500"""
    response = exchange(http_request("GET", "/raise/first"), what="GET /raise/first")
    assert response.status == 500, (
        f"GET /raise/first: the app called start_response('200 OK') and raised before its "
        f"first chunk; expected 500, got {response.status}: send the status line with the "
        "first non-empty chunk, not from start_response")


@pytest.mark.points(2)
def test_raise_mid_body(connect, exchange):
    """An app that raises mid-body: that connection is closed, the server keeps serving"""
    sock = connect()
    sock.sendall(http_request("GET", "/raise/middle", close=False))
    got = read_raw(sock, timeout=5, idle=None)
    assert got.status == 500 or got.ended == "closed", (
        f"GET /raise/middle: the app sent part of its body and raised; the connection stayed "
        f"open{got.quiet} (got {show(got.data)}): close it, so the client knows the body is "
        "cut short")
    after = exchange(http_request("GET", "/status/201"), what="GET /status/201 after the error")
    assert after.status == 201, "the server stopped serving after an error mid-body"


@pytest.mark.points(2)
def test_keep_alive_or_close(connect):
    """A kept-alive connection answers its next request (or the server closes it)"""
    sock = connect()
    sock.sendall(http_request("GET", "/environ/first", close=False))
    first = read_response(sock, what="GET /environ/first (HTTP/1.1, no Connection: close)")
    assert first.status == 200, f"GET /environ/first: expected 200, got {first.status}"
    try:
        sock.sendall(http_request("GET", "/status/201", close=False))
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
    sock.sendall(http_request("GET", "/stream/gen", close=False))
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
def test_slow_client_does_not_block(connect, server):
    """Serves other clients while one sends its body slowly"""
    slow = connect(5)
    slow.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n"
                 b"Connection: close\r\n\r\nabc")
    time.sleep(0.3)
    other = connect(3)
    output = AppOutput(server)
    other.sendall(http_request("GET", "/status/201"))
    try:
        response = read_response(other, what="GET /status/201", timeout=3)
    except AssertionError as exc:
        if "no response came" not in str(exc):  # it answered, or closed: not a wait
            raise AssertionError(output.explain(
                f"while another client was still sending its body: {exc}")) from None
        raise AssertionError(output.explain(
            "a second client got no answer within 3 s while the first was still sending its "
            "body: serve connections concurrently (a thread or a process each)")) from None
    assert response.status == 201
    slow.sendall(b"defghij")
    done = read_response(slow, what="the slow POST /echo, once complete")
    assert done.body == b"abcdefghij", f"the slow POST /echo: got {show(done.body)}"


@pytest.mark.points(1)
def test_large_unframed_body(connect):
    """A 16 MiB body the app yields without a Content-Length arrives whole"""
    sock = connect()
    sock.sendall(http_request("GET", "/stream/large"))
    try:  # 16 MiB: more than one send() takes, even on loopback (about 4 MiB there)
        response = read_response(sock, what="GET /stream/large", timeout=10)
    except AssertionError as error:
        if "bytes of body" not in str(error):
            raise
        raise AssertionError(f"{error}: send every byte (sendall; send() may send only part)") \
            from None
    assert response.status == 200, f"GET /stream/large: expected 200, got {response.status}"
    assert response.body == LARGE, (
        f"GET /stream/large: the app yielded {len(LARGE)} bytes in 1 MiB chunks, the client "
        f"got {len(response.body)}" + (" (the same bytes, cut short)"
                                       if LARGE.startswith(response.body) else "")
        + ": send every byte (sendall; send() may send only part)")


@pytest.mark.points(1)
def test_one_content_length(exchange):
    """A response carries one Content-Length, never the app's and the server's both"""
    for target, given in (("/status/201", "the app's Content-Length: 12"),
                          ("/stream/gen", "no Content-Length from the app")):
        response = exchange(http_request("GET", target))
        lengths = [v for name, v in response.fields if name.lower() == "content-length"]
        assert len(lengths) <= 1, (
            f"GET {target} ({given}): the response has {len(lengths)} Content-Length headers "
            f"{lengths}; send one: the app's, or the one you computed")
        if target == "/status/201":
            assert lengths == ["12"], f"GET {target}: expected the app's Content-Length: 12, " \
                                      f"got {lengths}"


@pytest.mark.points(1)
def test_connection_close_honoured(connect):
    """The connection is closed after the response to 'Connection: Close' and to HTTP/1.0"""
    for raw, what in (
            (http_request("GET", "/status/201", close=False, headers={"Connection": "Close"}),
             "GET /status/201 HTTP/1.1 with 'Connection: Close'"),
            (http_request("GET", "/status/201", version="HTTP/1.0", close=False),
             "GET /status/201 HTTP/1.0 (no Connection header)")):
        sock = connect()
        sock.sendall(raw)
        response = read_response(sock, what=what)
        assert response.status == 201, f"{what}: expected 201, got {response.status}"
        wait = Wait(2)
        more = recv_some(sock, wait, 1)
        if more is None:
            raise AssertionError(f"{what}: the connection stayed open after the response"
                                 f"{wait.quiet()}; close it when the request says "
                                 "Connection: close (in any case) or is HTTP/1.0")
        assert not more, f"{what}: {show(more)} after the response's body"


@pytest.mark.points(1)
def test_pipelined_requests(connect):
    """Two requests sent at once (pipelined): the second is answered, or the connection closed"""
    sock = connect()
    sock.sendall(http_request("GET", "/status/202", close=False)
                 + http_request("GET", "/status/201"))
    got = read_raw(sock, timeout=3, idle=None)
    data = got.data
    if got.ended == "quiet":
        what = ("two requests sent at once (GET /status/202 kept alive, then GET /status/201 "
                "with Connection: close)")
        if codes(data) == [202, 201]:
            raise AssertionError(f"{what}: both answered, but the connection stayed open after "
                                 f"the second, which said Connection: close{got.quiet}")
        raise AssertionError(
            f"{what}: the statuses so far are {codes(data)} and the connection stayed open"
            f"{got.quiet}: the bytes after the first request are the next request; keep "
            "them for the next read (or close the connection after the first response)")
    assert codes(data) in ([202], [202, 201]), (
        f"two requests sent at once (GET /status/202, then GET /status/201): expected the "
        f"responses 202 then 201 (or 202 and a close), got the statuses {codes(data)}")


def codes(data: bytes) -> list[int]:
    """The status codes of the responses in DATA (the /status probes' bodies hold none)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", data)]
