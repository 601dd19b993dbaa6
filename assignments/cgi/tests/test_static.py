"""Public tests: the static files the server still serves, as in the web server assignment."""

import urllib.parse

import pytest


@pytest.mark.points(2)
def test_static_files(client, www, check_status):
    """Serves static files byte for byte with their Content-Type; 301 for a folder, 404, 405"""
    for target, name, media in (("/", "index.html", "text/html"),
                                ("/hello.txt", "hello.txt", "text/plain"),
                                ("/images/logo.png", "images/logo.png", "image/png"),
                                ("/docs/", "docs/index.html", "text/html")):
        response = client.fetch(target)
        check_status(response, 200, f"GET {target}")
        assert response.content_type == media, (
            f"GET {target}: expected Content-Type {media}, got "
            f"{response.headers.get('content-type', 'none')!r}")
        expected = (www / name).read_bytes()
        assert response.body == expected, (
            f"GET {target}: the body is not the file's {len(expected)} bytes, got "
            f"{len(response.body)}: open files in binary mode and send them unchanged")
    response = client.fetch("/docs")
    check_status(response, 301, "GET /docs (a folder without its slash)")
    location = urllib.parse.urljoin(f"{client.server.url}/docs", response.headers.get(
        "location", ""))
    assert urllib.parse.urlsplit(location).path == "/docs/", (
        f"GET /docs: a 301 needs Location: /docs/, got {response.headers.get('location')!r}")
    target = "/no-such-%3Cpage%3E.html"
    response = client.fetch(target)
    check_status(response, 404, f"GET {target}")
    assert b"<page>" not in response.body, (
        f"GET {target}: the 404 page has '<page>', the decoded path, as markup: escape what "
        "it quotes from the request (html.escape)")
    response = client.fetch("/hello.txt", "POST", body=b"x=1")
    check_status(response, (405, 501), "POST /hello.txt (a static file)",
                 "only scripts take other methods than GET and HEAD")
    if response.status == 405:
        allowed = {m.strip() for m in response.headers.get("allow", "").split(",")}
        assert {"GET", "HEAD"} <= allowed and "POST" not in allowed, (
            "POST /hello.txt: a 405 must say which methods are allowed, 'Allow: GET, HEAD'; "
            f"got {response.headers.get('allow')!r}")
