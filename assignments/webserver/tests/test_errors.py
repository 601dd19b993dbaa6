"""Public tests: error statuses, HEAD, and the format of a response's head."""

import pytest


@pytest.mark.points(2)
def test_missing_file_404(fetch, fetch_raw):
    """A missing file gets status 404 with an HTML page"""
    for target in ("/no-such-page.html", "/docs/missing.txt", "/nothing/here/"):
        try:
            response = fetch(target)
        except AssertionError:
            raw = fetch_raw(target)
            if raw.status == 404:
                continue  # refused correctly; test_well_formed_head charges the format, once
            raise
        assert response.status == 404, (
            f"GET {target}: expected status 404 Not Found, got {response.status} "
            f"{response.reason}; a page that says 404 is not enough, the status line must")
        assert response.content_type == "text/html" and response.body.strip(), (
            f"GET {target}: the 404 response should carry a short HTML page (Content-Type: "
            f"text/html), got {response.headers.get('content-type', 'no Content-Type')!r} "
            f"with {len(response.body)} bytes")


@pytest.mark.points(2)
def test_unsupported_method(fetch):
    """Other methods get 405 Method Not Allowed (with Allow: GET, HEAD) or 501 Not Implemented"""
    for method in ("POST", "DELETE", "BREW"):
        what = f"{method} /index.html"
        response = fetch("/index.html", method)
        assert response.status in (405, 501), (
            f"{what}: expected 405 Method Not Allowed or 501 Not Implemented, got "
            f"{response.status} {response.reason}".rstrip())
        if response.status == 405:
            allow = response.headers.get("allow")
            allowed = {m.strip() for m in (allow or "").split(",")}
            assert {"GET", "HEAD"} <= allowed and method not in allowed, (
                f"{what}: a 405 must say which methods are allowed, 'Allow: GET, HEAD'; got "
                f"{'Allow: ' + allow if allow is not None else 'no Allow header'}")


@pytest.mark.points(2)
def test_head(fetch, fetch_raw):
    """HEAD sends the same status and headers as GET, and no body"""
    for target in ("/hello.txt", "/images/logo.png"):
        get = fetch(target)
        response = fetch(target, "HEAD", timeout=3)
        assert response.status == get.status == 200, (
            f"HEAD {target}: expected status 200, as for GET, got {response.status}")
        assert response.content_type == get.content_type, (
            f"HEAD {target}: expected the Content-Type of GET, {get.content_type!r}, got "
            f"{response.headers.get('content-type', 'none')!r}")
        length, expected = response.headers.get("content-length"), len(get.body)
        assert length is None or length.strip() == str(expected), (
            f"HEAD {target}: Content-Length should be the size of the body GET sends, "
            f"{expected}, got {length!r}")
        assert not response.body, (
            f"HEAD {target}: expected headers only, got {len(response.body)} bytes of body "
            "after them")
    try:
        response = fetch("/no-such-page.html", "HEAD", timeout=3)
    except AssertionError:
        if fetch_raw("/no-such-page.html", "HEAD").status == 404:
            return  # refused correctly; test_well_formed_head charges the format, once
        raise
    assert response.status == 404, (
        f"HEAD /no-such-page.html: expected status 404, as for GET, got {response.status}")
    assert not response.body, (
        f"HEAD /no-such-page.html: expected the 404's headers only, got {len(response.body)} "
        "bytes of body after them (HEAD never gets a body, error pages included)")


@pytest.mark.points(2)
def test_well_formed_head(fetch):
    """Every response head is well formed, with '\\r\\n' lines, Content-Length, Connection: close"""
    for method, target in (("GET", "/"), ("GET", "/hello.txt"), ("GET", "/docs"),
                           ("GET", "/files/"), ("GET", "/no-such-page.html"),
                           ("POST", "/index.html")):
        what = f"{method} {target}"
        response = fetch(target, method)
        assert not response.problems, response.problems[0]
        length = response.content_length()
        assert length is not None, (
            f"{what} ({response.status}): no Content-Length header; every response needs one, "
            "error pages, listings and redirects too (the number of bytes in the body)")
        assert length == len(response.body), (
            f"{what} ({response.status}): Content-Length says {length} but the body that came "
            f"before the connection closed has {len(response.body)} bytes")
        connection = response.headers.get("connection", "").lower()
        assert "close" in connection.replace(",", " ").split() or (
            response.version == "1.0" and not connection), (
            f"{what} ({response.status}): expected a 'Connection: close' header (the server "
            f"closes the connection after each response), got "
            f"{'Connection: ' + connection if connection else 'none'}")
