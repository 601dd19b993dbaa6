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


@pytest.mark.points(1)
def test_unsupported_method(fetch):
    """Methods other than GET and HEAD get 405 Method Not Allowed or 501 Not Implemented"""
    for method in ("POST", "DELETE"):
        response = fetch("/index.html", method)
        assert response.status in (405, 501), (
            f"{method} /index.html: expected 405 Method Not Allowed or 501 Not Implemented, "
            f"got {response.status} {response.reason}".rstrip())


@pytest.mark.points(2)
def test_head(fetch):
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


@pytest.mark.points(1)
def test_well_formed_head(fetch):
    """Every response head is a status line, 'Name: value' lines and a blank line"""
    for target in ("/", "/hello.txt", "/docs", "/no-such-page.html"):
        response = fetch(target)
        assert not response.problems, response.problems[0]
