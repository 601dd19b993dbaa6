"""Hidden tests: what is never run or sent (not-executable files, paths out of the document
root), and malformed requests."""

import pytest

from grader.testing import read_raw


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
    """Paths out of the document root fail, through /cgi-bin/ too, and nothing there runs"""
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


@pytest.mark.points(1)
def test_malformed_requests(client, check_status):
    """A request line that is not 'METHOD /path HTTP/x.y', or a header line without ':', is a 400"""
    for raw, what in ((b"HELLO\r\n\r\n", "the request 'HELLO'"),
                      (b"GET /cgi-bin/echo.py HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
                       "a request with the header line 'no colon here'")):
        check_status(client.fetch("/", raw=raw, what=what), 400, what)
    check_status(client.fetch("/hello.txt"), 200, "GET /hello.txt after malformed requests")
