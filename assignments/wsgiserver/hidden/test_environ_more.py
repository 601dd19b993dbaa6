"""Hidden tests: the rest of the environ, bodies in pieces and a 1 MiB body."""

import os
import time

import pytest
from conftest import expect_key, read_response

from grader.testing import http_request


@pytest.mark.points(1)
def test_path_info_decoded(environ):
    """PATH_INFO is percent-decoded: /environ/a%20b%7Ec is '/environ/a b~c'"""
    target = "/environ/a%20b%7Ec%41"
    expect_key(environ("GET", target), "PATH_INFO", "/environ/a b~cA", f"GET {target}")


@pytest.mark.points(2)
def test_content_type_and_length(environ):
    """CONTENT_TYPE and CONTENT_LENGTH when the request has them, absent or empty otherwise"""
    env = environ("POST", "/environ/form", body=b"a=1&b=2",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    what = "POST /environ/form with a 7-byte form body"
    expect_key(env, "CONTENT_TYPE", "application/x-www-form-urlencoded", what)
    expect_key(env, "CONTENT_LENGTH", "7", what)
    env = environ("GET", "/environ/plain")
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        assert env.get(key, "") == "", (f"GET /environ/plain has no body: environ[{key!r}] "
                                        f"should be absent or empty, got {env[key]!r}")


@pytest.mark.points(1)
def test_protocol_http10(environ):
    """SERVER_PROTOCOL is the request's version: HTTP/1.0 for an HTTP/1.0 request"""
    env = environ("GET", "/environ/old", version="HTTP/1.0")
    expect_key(env, "SERVER_PROTOCOL", "HTTP/1.0", "GET /environ/old HTTP/1.0")


@pytest.mark.points(1)
def test_header_names_any_case(environ):
    """Header names in lower case still become upper-case HTTP_* keys"""
    env = environ("GET", "/environ/case", headers={"x-lower-case": "v1", "X-MiXeD-CaSe": "v2"})
    what = "GET /environ/case with x-lower-case and X-MiXeD-CaSe"
    expect_key(env, "HTTP_X_LOWER_CASE", "v1", what)
    expect_key(env, "HTTP_X_MIXED_CASE", "v2", what)


@pytest.mark.points(2)
def test_request_in_pieces(connect):
    """A request split across TCP segments is reassembled (head and body)"""
    body = b"0123456789" * 30
    raw = http_request("POST", "/echo", body=body, headers={"X-Split": "yes"})
    sock = connect()
    pieces = [raw[a:b] for a, b in zip([0, 7, 19, 33, 50, len(raw) - 250],
                                       [7, 19, 33, 50, len(raw) - 250, len(raw)])]
    for piece in pieces:
        sock.sendall(piece)
        time.sleep(0.1)
    response = read_response(sock, what="a POST /echo sent in 6 pieces")
    assert response.status == 200, (f"a POST /echo sent in 6 pieces: expected 200, got "
                                    f"{response.status}: keep reading until the blank line, "
                                    "then until Content-Length bytes of body")
    assert response.body == body, (f"a POST /echo sent in 6 pieces: the app read "
                                   f"{len(response.body)} bytes of the {len(body)}-byte body")


@pytest.mark.points(2)
def test_one_mib_body(connect):
    """wsgi.input gives exactly a 1 MiB body sent after the headers in separate segments"""
    body = os.urandom(1 << 20)
    sock = connect(10)
    raw = http_request("POST", "/echo", body=body)
    head = raw[: len(raw) - len(body)]
    sock.sendall(head)
    time.sleep(0.1)
    for i in range(0, len(body), 1 << 16):
        sock.sendall(body[i : i + (1 << 16)])
    response = read_response(sock, what="POST /echo with 1 MiB", timeout=15)
    assert response.status == 200, f"POST /echo with 1 MiB: expected 200, got {response.status}"
    assert response.body == body, (f"POST /echo with 1 MiB: the app read {len(response.body)} "
                                   f"bytes, not the exact {len(body)}-byte body")
