"""grader.testing over real loopback sockets: a short read keeps its evidence, steps name
themselves, socket errors read as sentences; the raw HTTP client reads what a server sent, as it
framed it, and says what went wrong in one line; the WSGI runner's report becomes feedback."""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from grader.run.plugin import _describe as describe
from grader.sandbox.base import Activity
from grader.testing import (
    WSGI_ERROR,
    ServerSession,
    ShortRead,
    exchange,
    expect_status,
    explain,
    http_request,
    media_type,
    read_raw,
    read_response,
    recv_exactly,
    step,
)

TIER = "process"  # real loopback sockets (tests/conftest.py)


@pytest.fixture
def pair():
    """(client, server side) of one loopback TCP connection."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    yield client, accepted
    client.close()
    accepted.close()


@pytest.mark.parametrize("ending", ["quiet", "closed", "reset"])
def test_short_read_keeps_what_arrived_and_how_it_ended(pair, ending: str) -> None:
    client, peer = pair
    peer.sendall(b"abc\n")
    if ending == "closed":
        peer.close()
    elif ending == "reset":
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
    with pytest.raises(ShortRead) as caught:
        recv_exactly(client, 10, timeout=0.3)
    assert caught.value.ended == ending
    # a reset may discard what was still unread; a quiet or closed server's bytes all arrive
    assert caught.value.got in ((b"", b"abc\n") if ending == "reset" else (b"abc\n",))
    assert str(caught.value).startswith("expected 10 bytes, got ")


def test_step_names_the_step_and_keeps_the_evidence(pair) -> None:
    client, peer = pair
    peer.sendall(b"ab")
    with pytest.raises(ShortRead) as caught, step("client 1's second message"):
        recv_exactly(client, 5, timeout=0.2)
    assert str(caught.value).startswith("client 1's second message: expected 5 bytes, got 2")
    assert caught.value.got == b"ab" and caught.value.ended == "quiet"


def test_step_turns_a_refused_connection_into_a_sentence() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        address = listener.getsockname()  # closed at the end of the block: nobody listens
    with pytest.raises(AssertionError) as caught, step("client 2"):
        socket.create_connection(address, timeout=1).close()
    assert str(caught.value) == "client 2: connection refused: the server is no longer listening"


@pytest.mark.parametrize(("activity", "cut_short"), [
    (lambda n: Activity(0.5, True, 0, False), True),  # asleep, no CPU: no answer is coming
    (lambda n: Activity(0.5 + 0.05 * n, True, 0, False), False),  # asleep between bursts of work
    (lambda n: Activity(0.5, False, 0, False), False),  # running or runnable: never cut
    (lambda n: None, False),  # unknown (an engine in a VM, macOS): the whole timeout
])
def test_a_wait_ends_early_only_for_a_server_that_sleeps(pair, monkeypatch, activity,
                                                         cut_short: bool) -> None:
    from grader.sandbox import wait

    calls = iter(range(1000))
    monkeypatch.setattr(wait, "IDLE", 0.3)
    client, _ = pair
    with wait.watching(lambda: activity(next(calls))), pytest.raises(ShortRead) as raised:
        recv_exactly(client, 4, timeout=1.5)
    assert raised.value.ended == "quiet"
    assert ("sat idle for 0.3 s" in str(raised.value)) is cut_short, str(raised.value)
    assert ("for 1.5 s" in str(raised.value)) is not cut_short


# -- the raw HTTP client ---------------------------------------------------------------------


def test_http_request_is_the_bytes_a_test_means() -> None:
    assert http_request("GET", "/a b") == (
        b"GET /a b HTTP/1.1\r\nHost: localhost\r\nUser-Agent: course-grader\r\n"
        b"Connection: close\r\n\r\n")
    assert http_request("POST", "/echo", host="h:1", headers={"X-A": "1"}, body=b"abc",
                        version="HTTP/1.0", close=False) == (
        b"POST /echo HTTP/1.0\r\nHost: h:1\r\nUser-Agent: course-grader\r\nX-A: 1\r\n"
        b"Content-Length: 3\r\n\r\nabc")
    given = http_request("POST", "/", headers={"content-length": "9"}, body=b"abc")
    assert given.count(b"ength:") == 1 and given.endswith(b"\r\n\r\nabc")


def test_a_response_framed_by_its_content_length_keeps_what_came_after(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 201 Created Here\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 b"X-Twice: 1\r\nContent-Length: 5\r\nx-twice: 2\r\n\r\nhelloHTTP/1.1 204")
    response = read_response(client, what="GET /", timeout=2)
    assert (response.status, response.reason, response.version) == (201, "Created Here", "1.1")
    assert response.body == b"hello" and response.extra == b"HTTP/1.1 204"
    assert response.content_type == "text/plain" and response.content_length() == 5
    assert response.headers["x-twice"] == "2"  # the last one; `fields` keeps them all
    assert [v for n, v in response.fields if n.lower() == "x-twice"] == ["1", "2"]
    assert response.problems == []


def test_pipelined_responses_are_read_one_after_the_other(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                 b"HTTP/1.1 202 Accepted\r\nContent-Length: 3\r\n\r\ntwo")
    first = read_response(client, what="first", timeout=2)
    second = read_response(client, what="second", timeout=2, pending=first.extra)
    assert (first.status, first.body, second.status, second.body) == (200, b"one", 202, b"two")
    assert second.extra == b""


def test_a_body_without_content_length_ends_at_the_close(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.0 200 OK\r\n\r\nall of ")
    time.sleep(0.05)
    peer.sendall(b"it")
    peer.close()
    response = read_response(client, what="GET /", timeout=2)
    assert (response.version, response.body) == ("1.0", b"all of it")


def test_a_body_without_framing_that_never_ends_says_a_client_cannot_tell(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\n\r\npart")
    with pytest.raises(ShortRead) as caught:
        read_response(client, what="GET /stream", timeout=0.3)
    assert str(caught.value).startswith(
        "GET /stream: got 4 bytes of body and no Content-Length, then the server went quiet "
        "for 0.3 s without closing: a client cannot tell where it ends")
    assert (caught.value.got, caught.value.ended) == (b"part", "quiet")


def test_a_short_body_is_returned_leniently_and_fails_strictly(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    peer.close()
    assert read_response(client, what="GET /", timeout=2).body == b"abc"


def test_strict_fails_on_a_body_cut_short_by_the_close(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    peer.close()
    with pytest.raises(ShortRead) as caught:
        read_response(client, what="GET /", timeout=2, strict=True)
    assert str(caught.value) == ("GET /: the connection closed after 3 bytes of body; "
                                 "Content-Length announced 10")
    assert (caught.value.got, caught.value.ended) == (b"abc", "closed")


def test_a_body_cut_short_by_silence_names_the_length(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(ShortRead) as caught:
        read_response(client, what="GET /", timeout=0.3)
    assert str(caught.value) == ("GET /: got 3 bytes of body of the 10 its Content-Length "
                                 "announced, then the server went quiet for 0.3 s")


@pytest.mark.parametrize(("sent", "lenient", "strict"), [
    (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
     "every line of the head ends with '\\r\\n', got a bare '\\n' after b'HTTP/1.1 200 OK'",
     None),  # strict grades framing, not line ends: forgiven, still noted
    (b"HTTP/1.1 200 OK\r\nNo colon\r\nContent-Length: 0\r\n\r\n",
     "a header line must be 'Name: value', got b'No colon'",
     "a header line must be 'Name: value', got b'No colon'"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", None,
     "Content-Length must be a number, got 'ten'"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcd", None,
     "2 bytes more than the Content-Length of 2: b'cd'"),
])
def test_what_lenient_forgives_strict_charges(sent: bytes, lenient: str | None,
                                              strict: str | None) -> None:
    for mode in ("lenient", "strict"):
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client = socket.create_connection(listener.getsockname())
            peer, _ = listener.accept()
        with client, peer:
            peer.sendall(sent)
            peer.shutdown(socket.SHUT_WR)
            if mode == "strict" and strict:
                with pytest.raises(AssertionError) as caught:
                    read_response(client, what="GET /", timeout=2, strict=True)
                assert str(caught.value) == f"GET /: {strict}"
                continue
            response = read_response(client, what="GET /", timeout=2, strict=mode == "strict")
            assert response.status == 200
            assert response.problems == ([f"GET /: {lenient}"] if lenient else [])


@pytest.mark.parametrize(("sent", "close", "message"), [
    (b"", True, "GET /: the server closed the connection without sending a response"),
    (b"HTTP/1.1 200 OK\r\nX: 1\r\n", True,
     "GET /: the connection closed before the blank line that ends the headers (a head ends "
     "with '\\r\\n\\r\\n'); got b'HTTP/1.1 200 OK\\r\\nX: 1\\r\\n'"),
    (b"", False, "GET /: no response came for 0.3 s"),
    (b"HTTP/1.1 200 OK\r\n", False,
     "GET /: no blank line after the headers came for 0.3 s; got b'HTTP/1.1 200 OK\\r\\n'"),
    (b"200 OK\r\n\r\n", False,
     "GET /: the response must start with a status line such as 'HTTP/1.1 200 OK', got "
     "b'200 OK'"),
])
def test_a_head_that_never_completes_says_how(pair, sent: bytes, close: bool,
                                              message: str) -> None:
    client, peer = pair
    peer.sendall(sent)
    if close:
        peer.close()
    with pytest.raises(AssertionError) as caught:
        read_response(client, what="GET /", timeout=0.3)
    assert str(caught.value) == message


def test_a_head_request_accepts_silence_after_the_head(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")  # and the connection stays open
    response = read_response(client, what="HEAD /", timeout=0.3, head_only=True)
    assert (response.status, response.body, response.content_length()) == (200, b"", 5)


def test_a_chunked_body_is_decoded_when_asked(pair) -> None:
    client, peer = pair
    chunks = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", b"lo\r\n",
              b"7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\nHTTP/1.1 201"]

    def send_slowly() -> None:
        for piece in chunks:
            peer.sendall(piece)
            time.sleep(0.05)

    sender = threading.Thread(target=send_slowly)
    sender.start()
    response = read_response(client, what="GET /", timeout=2, chunked=True)
    sender.join()
    assert (response.body, response.extra) == (b"hello, world", b"HTTP/1.1 201")


def test_a_chunked_body_is_raw_when_chunked_framing_is_not_allowed(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
    peer.close()
    assert read_response(client, what="GET /", timeout=2).body == b"2\r\nhi\r\n0\r\n\r\n"


@pytest.mark.parametrize(("sent", "message"), [
    (b"zz\r\n", "GET /: a chunk must start with its size in hex on a line of its own, got b'zz'"),
    (b"2\r\nhiX\r\n", "GET /: a chunk of 2 bytes must be followed by '\\r\\n', got b'X\\r'"),
    (b"5\r\nhel", "GET /: the connection closed after 0 bytes of a chunked body, before its "
     "last chunk (size 0)"),
])
def test_a_broken_chunked_body_says_where(pair, sent: bytes, message: str) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + sent)
    peer.close()
    with pytest.raises(AssertionError) as caught:
        read_response(client, what="GET /", timeout=2, chunked=True)
    assert str(caught.value) == message


def test_exchange_sends_every_byte_and_names_the_request_line(pair) -> None:
    client, peer = pair
    request = http_request("GET", "/x", close=False)
    with pytest.raises(AssertionError) as caught:
        exchange(client, request, timeout=0.2)
    assert str(caught.value) == "GET /x HTTP/1.1: no response came for 0.2 s"
    assert recv_exactly(peer, len(request), timeout=1) == request


def test_read_raw_takes_whatever_came_and_how_it_ended(pair) -> None:
    client, peer = pair
    peer.sendall(b"HTTP/1.1 404 Not Found\r\n\r\nno")
    got = read_raw(client, timeout=2, idle=0.2)  # quiet for 0.2 s after the first byte
    assert (got.data, got.status, got.ended, got.quiet) == (
        b"HTTP/1.1 404 Not Found\r\n\r\nno", 404, "quiet", " for 0.2 s")
    peer.sendall(b"garbage")
    peer.close()
    got = read_raw(client, timeout=2)
    assert (got.data, got.status, got.ended) == (b"garbage", None, "closed")


def test_a_response_wait_ends_early_for_a_server_that_sleeps(pair, monkeypatch) -> None:
    from grader.sandbox import wait

    monkeypatch.setattr(wait, "IDLE", 0.2)
    client, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
    started = time.monotonic()
    with wait.watching(lambda: Activity(0.5, True, 0, False)), pytest.raises(ShortRead) as caught:
        read_response(client, what="GET /", timeout=5)
    assert time.monotonic() - started < 2
    assert str(caught.value).endswith("then the server went quiet (it sat idle for 0.2 s: "
                                      "blocked, using no CPU)")


# -- responses through requests --------------------------------------------------------------


def test_expect_status_names_the_status_then_the_media_type() -> None:
    response = requests.Response()
    response.status_code, response.reason = 404, "Not Found"
    response.headers["Content-Type"] = "Text/HTML; charset=utf-8"
    assert media_type(response) == "text/html"
    expect_status(response, 404, "GET /x", "text/html")
    with pytest.raises(AssertionError) as caught:
        expect_status(response, 200, "GET /x", "text/html")
    assert str(caught.value) == "GET /x: expected status 200, got 404 Not Found"
    with pytest.raises(AssertionError) as caught:
        expect_status(response, 404, "GET /x", "application/json")
    assert str(caught.value) == ("GET /x: expected Content-Type application/json, got "
                                 "'Text/HTML; charset=utf-8'")


@pytest.mark.parametrize(("header", "message"), [
    (None, None),
    ("AssertionError: Header value 3 must be a str",
     "GET /: wsgiref.validate rejected the framework: Header value 3 must be a str"),
    ("KeyError: 'message'",
     "GET /: the application raised KeyError: 'message' (the server answered 500); catch it"),
])
def test_explain_quotes_the_runners_report(header: str | None, message: str | None) -> None:
    response = requests.Response()
    if header is not None:
        response.status_code, response.headers[WSGI_ERROR] = 500, header
    if message is None:
        explain("GET /", response, rejected="the framework", hint="catch it")
        return
    with pytest.raises(AssertionError) as caught:
        explain("GET /", response, rejected="the framework", hint="catch it")
    assert str(caught.value) == message


# -- the suites' session talks to the student's server and to nothing else ---------------------


@dataclass
class _Student:
    """A student's server on loopback: GET or POST /go answers `status` with `Location: location`,
    /here answers 200; it keeps each request's Authorization header ('' when none)."""

    status: int = 302
    location: str = "/here"
    seen_auth: list[str] = field(default_factory=list)
    url: str = ""
    delay: float = 0.0  # s before /here answers


@pytest.fixture
def student() -> Iterator[_Student]:
    state = _Student()

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            state.seen_auth.append(self.headers.get("Authorization", ""))
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/go":
                self.send_response(state.status)
                self.send_header("Location", state.location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            time.sleep(state.delay)
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"here")

        do_GET = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def bystander() -> Iterator[socket.socket]:
    """A service of the grader's host on loopback that the student would like the grader to
    fetch: a listener that accepts nothing, so a connection waits in its backlog."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener


def _was_contacted(listener: socket.socket) -> bool:
    return bool(select.select([listener], [], [], 0.05)[0])


@pytest.mark.parametrize(("status", "method"), [(302, "GET"), (307, "POST"), (301, "GET")])
@pytest.mark.parametrize("spelling", ["http://127.0.0.1:{port}/secret",
                                      "//127.0.0.1:{port}/secret",
                                      "HTTP://LOCALHOST:{port}/secret"])
def test_a_redirect_off_the_server_is_refused_before_anything_is_sent(
        student, bystander, status: int, method: str, spelling: str) -> None:
    student.status = status
    student.location = spelling.format(port=bystander.getsockname()[1])
    with ServerSession(student, timeout=1) as http, pytest.raises(AssertionError) as caught:
        http.request(method, "/go")
    assert not _was_contacted(bystander), "the session fetched the redirect's target"
    assert str(caught.value) == (f"{method} /go redirected to {student.location!r}: a redirect "
                                 f"must stay on your server ({student.url})")


def test_a_redirect_not_followed_is_returned_as_it_came(student, bystander) -> None:
    """Where a test reads the Location itself (allow_redirects=False), an off-site one is the
    test's to judge: the response comes back, and nothing is fetched."""
    student.location = f"http://127.0.0.1:{bystander.getsockname()[1]}/secret"
    with ServerSession(student, timeout=1) as http:
        response = http.post("/go", allow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (302, student.location)
    assert not _was_contacted(bystander)


def test_a_redirect_on_the_server_is_followed(student) -> None:
    for location in ("/here", student.url + "/here", student.url.replace("http", "HTTP") + "/here"):
        student.location = location
        with ServerSession(student, timeout=1) as http:
            response = http.get("/go")
        assert (response.status_code, response.text, len(response.history)) == (200, "here", 1)


def test_an_absolute_url_off_the_server_is_refused(student, bystander) -> None:
    elsewhere = f"http://127.0.0.1:{bystander.getsockname()[1]}/"
    with ServerSession(student, timeout=1) as http, pytest.raises(AssertionError) as caught:
        http.get(elsewhere)
    assert not _was_contacted(bystander)
    assert str(caught.value) == (f"the test was about to fetch {elsewhere!r}, which is not your "
                                 f"server ({student.url}): links and redirects must stay on "
                                 "your server")


def test_the_graders_environment_is_not_trusted(student, bystander, tmp_path, monkeypatch) -> None:
    """No proxy and no .netrc from the grader's shell: a proxy variable would send the suite's
    requests to it, and .netrc credentials would be sent to the student's server."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login grader password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    proxy = f"http://127.0.0.1:{bystander.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ServerSession(student, timeout=1) as http:
        assert http.trust_env is False
        assert http.get("/here").text == "here"
    assert not _was_contacted(bystander), "the request went through the grader's proxy"
    assert student.seen_auth == [""], "the grader's .netrc credentials reached the server"


@pytest.mark.parametrize(("share", "answered"), [
    (1.0, True),  # the server waited for a CPU all along: the time is added back, the answer comes
    (0.0, False),  # it had the CPU and said nothing: a timeout, as in requests
])
def test_the_sessions_timeout_counts_only_the_servers_time(student, share: float,
                                                           answered: bool) -> None:
    """A read timeout of 1 s, and an answer after 1.5 s: in time for a server the machine's load
    kept from running (a class graded four suites to a core), too late for one that was free."""
    from grader.sandbox import wait

    student.delay = 1.5
    t0 = time.monotonic()
    look = lambda: Activity(1.0, False, share * (time.monotonic() - t0), False)  # noqa: E731
    with wait.watching(look), ServerSession(student, timeout=1) as http:
        if answered:
            assert http.get("/here").text == "here"
        else:
            with pytest.raises(requests.ReadTimeout) as raised:
                http.get("/here")
            assert describe(raised.value, timeout=60) == \
                "no HTTP response within the time limit (GET /here)"
    assert time.monotonic() - t0 < 2.5
