"""Hidden tests: what is never run or sent (not-executable files, paths out of the document
root), and malformed requests."""

import select
import socket
import time

import pytest

from grader.testing import read_raw, show

READ_LIMIT = 10  # seconds a client has to send its request (the handout's limit)
STALL = READ_LIMIT + 10  # how long the suite waits for a stalled client's connection to close


@pytest.mark.points(2)
def test_only_executables_run(client, www, check_status):
    """Only executable files under /cgi-bin/ run; no other file there is sent, nor a listing"""
    notes = (www / "cgi-bin/notes.txt").read_bytes()
    response = client.fetch("/cgi-bin/notes.txt", what="GET /cgi-bin/notes.txt")
    assert notes[:20] not in response.body, (
        "GET /cgi-bin/notes.txt (not executable): its content was sent; files under /cgi-bin/ "
        "are never sent as files (that would send a script's source too)")
    check_status(response, (403, 404, 500), "GET /cgi-bin/notes.txt (not executable)")
    check_status(client.fetch("/cgi-bin/missing.py"), 404, "GET /cgi-bin/missing.py")
    response = client.fetch("/cgi-bin/")
    assert b"echo.py" not in response.body, (
        "GET /cgi-bin/: the response names the scripts; the folder is not listed")
    check_status(response, (403, 404), "GET /cgi-bin/")


@pytest.mark.points(2)
def test_traversal(client, connect, secret):
    """Paths out of the document root fail, through /cgi-bin/ too; so does a NUL byte (%00)"""
    up = "/.." * 8
    for target in ("/../secret.txt", "/%2e%2e/secret.txt", "/cgi-bin/../../secret.txt",
                   "/cgi-bin/%2e%2e/%2e%2e/secret.txt", "/cgi-bin/..%2f..%2fsecret.txt",
                   f"{up}/etc/passwd", f"{up.replace('..', '%2e%2e')}/etc/passwd"):
        sock = connect()
        sock.sendall(client.request(target))
        got = read_raw(sock)
        assert secret[:14] not in got.data and b"root:" not in got.data, (
            f"GET {target}: the server sent a file outside the document root")
        assert got.status in (400, 403, 404), (
            f"GET {target}: expected 400, 403 or 404, got "
            f"{got.status if got.status else 'no status line'}")
    target = "/hello.txt%00.html"
    response = client.fetch(target)
    assert response.status in (400, 403, 404), (
        f"GET {target} (a NUL byte in the path): expected 400, 403 or 404, got "
        f"{response.status} {response.reason}: no file name holds a NUL byte; refuse the path "
        "before it reaches open() or os.path (they raise ValueError on it)")


@pytest.mark.points(1)
def test_malformed_requests(client, connect, check_status):
    """A bad request line or header line is a 400; a body cut short too; a stalled client is
    disconnected"""
    for raw, what in ((b"HELLO\r\n\r\n", "the request 'HELLO'"),
                      (b"GET /cgi-bin/echo.py HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
                       "a request with the header line 'no colon here'")):
        check_status(client.fetch("/", raw=raw, what=what), 400, what)
    check_status(client.fetch("/hello.txt"), 200, "GET /hello.txt after malformed requests")

    what = ("POST /cgi-bin/echo.py with 'Content-Length: 100' and 10 bytes of body, then the "
            "client's side closed")
    sock = connect()
    sock.sendall(client.request("/cgi-bin/echo.py", "POST", body=b"x" * 100)[:-90])
    sock.shutdown(socket.SHUT_WR)
    got = read_raw(sock)
    assert got.status == 400, (
        f"{what}: expected 400, got "
        f"{got.status or show(got.data) if got.data else 'no response'}: the body ended before "
        "its Content-Length, so the request is incomplete: answer 400, and never run the "
        "script with part of a body")

    what = "a client that sent 'GET /hello.txt HTTP/1.1' and one header line, then nothing"
    stalled = connect(STALL)
    stalled.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    closed = False
    while not closed and select.select([stalled], [], [],
                                       max(0.0, start + STALL - time.monotonic()))[0]:
        try:
            closed = not stalled.recv(4096)  # a 408 may come first, then the close
        except OSError:  # reset: closed too
            closed = True
    assert closed, (
        f"{what}: the connection is still open after {STALL} s: a client that never finishes "
        f"its request must not hold a connection and a thread forever: give it at most "
        f"{READ_LIMIT} s (conn.settimeout), then close")
