"""Public tests: the script's header lines turned into the response; a failing script."""

import pytest


@pytest.mark.points(2)
def test_status_header(client, check_status):
    """A script's 'Status: 404 Not Found' is the status line; its other headers are passed on"""
    what = "GET /cgi-bin/notfound.py?id=7 (a script that writes 'Status: 404 Not Found')"
    response = client.fetch("/cgi-bin/notfound.py?id=7", what=what)
    check_status(response, 404, what)
    assert response.reason == "Not Found", (
        f"{what}: expected the script's reason phrase, 'Not Found', got {response.reason!r}")
    assert response.headers.get("x-probe") == "notfound", (
        f"{what}: the script's header 'X-Probe: notfound' is not in the response (got "
        f"{response.headers.get('x-probe')!r}): pass on every header line it writes")
    assert "status" not in response.headers, (
        f"{what}: 'Status:' is for the server, not a header to pass on")
    assert response.content_type == "text/plain" and b"no record matches 'id=7'" in response.body, (
        f"{what}: expected the script's text/plain page, got "
        f"{response.headers.get('content-type')!r}: {response.body[:80]!r}")


@pytest.mark.points(2)
def test_location_redirect(client, check_status):
    """A 'Location:' without a Status is a 302; with 'Status: 301' a 301, Location passed on"""
    what = "GET /cgi-bin/redirect.py (writes only 'Location: http://example.org/elsewhere')"
    response = client.fetch("/cgi-bin/redirect.py", what=what)
    check_status(response, 302, what, "a script's Location without a Status is a 302 Found")
    assert response.headers.get("location") == "http://example.org/elsewhere", (
        f"{what}: expected Location: http://example.org/elsewhere, got "
        f"{response.headers.get('location')!r}")
    what = "GET /cgi-bin/moved.py (writes 'Status: 301 Moved Permanently', 'Location: /docs/')"
    response = client.fetch("/cgi-bin/moved.py", what=what)
    check_status(response, 301, what)
    assert response.headers.get("location") == "/docs/", (
        f"{what}: expected Location: /docs/, got {response.headers.get('location')!r}")


@pytest.mark.points(2)
def test_failing_script_500(client, check_status):
    """A script that exits with an error gets 500, even after writing a head and some output"""
    what = "GET /cgi-bin/fail.py (prints a head and a line, then exits with code 1)"
    response = client.fetch("/cgi-bin/fail.py", what=what)
    check_status(response, 500, what, "a script that exits with a code other than 0 failed")
    assert b"partial output" not in response.body, (
        f"{what}: the failed script's output is in the 500 page; send your own page instead")
    response = client.fetch("/hello.txt")
    check_status(response, 200, "GET /hello.txt after the failing script",
                 "the server must keep serving after a script fails")


@pytest.mark.points(1)
def test_response_head_format(client):
    """Every head is well formed ('\\r\\n' lines), with Content-Length and Connection: close"""
    for method, target in (("GET", "/hello.txt"), ("GET", "/cgi-bin/echo.py"),
                           ("GET", "/cgi-bin/notfound.py"), ("GET", "/cgi-bin/redirect.py"),
                           ("GET", "/cgi-bin/fail.py"), ("GET", "/no-such-page.html"),
                           ("GET", "/docs")):
        what = f"{method} {target}"
        response = client.fetch(target, method)
        assert not response.problems, response.problems[0]
        length = response.content_length()
        assert length == len(response.body), (
            f"{what} ({response.status}): Content-Length says {length} but the body has "
            f"{len(response.body)} bytes; every response needs one, counted by the server")
        assert len([n for n, _ in response.fields if n.lower() == "content-length"]) == 1, (
            f"{what}: more than one Content-Length header")
        connection = response.headers.get("connection", "").lower()
        assert "close" in connection, (
            f"{what} ({response.status}): expected a 'Connection: close' header, got "
            f"{'Connection: ' + connection if connection else 'none'}")
