"""Public tests: folders, their index pages, listings and the redirect to a trailing slash."""

import urllib.parse

import pytest
from conftest import links


@pytest.mark.points(2)
def test_directory_index(fetch, www, check_file):
    """GET /docs/ serves docs/index.html"""
    check_file(fetch("/docs/"), (www / "docs/index.html").read_bytes(),
               what="GET /docs/ (a folder with an index.html)", types=("text/html",))


@pytest.mark.points(2)
def test_directory_listing(fetch, www, check_file):
    """GET /files/ (no index.html) lists the folder, with a working link to each entry"""
    response = fetch("/files/")
    what = "GET /files/ (a folder without index.html)"
    assert response.status == 200, f"{what}: expected a listing with status 200, got " \
        f"{response.status}"
    assert response.content_type == "text/html", (
        f"{what}: expected a Content-Type: text/html listing, got "
        f"{response.headers.get('content-type', 'none')!r}")
    linked = links(response.body, "/files/")
    wanted = {"alpha.txt": "/files/alpha.txt", "beta.html": "/files/beta.html",
              "notes/": "/files/notes/"}
    missing = [name for name, path in wanted.items()
               if path not in linked and path.rstrip("/") not in linked]
    found = ", ".join(sorted(linked)) or "no links"
    assert not missing, (f"{what}: no link to {', '.join(missing)} (links resolve relative to "
                         f"/files/ to: {found})")
    for name in ("alpha.txt", "beta.html"):
        check_file(fetch(f"/files/{name}"), (www / "files" / name).read_bytes(),
                   what=f"following the listing's link to {name}")


@pytest.mark.points(2)
def test_directory_redirect(fetch, server):
    """A folder without its trailing slash (/docs) gets 301 with Location: /docs/"""
    for folder in ("/docs", "/files"):
        response = fetch(folder)
        assert response.status == 301, (
            f"GET {folder}: expected 301 Moved Permanently to {folder}/ (so relative links "
            f"work), got {response.status} {response.reason}".rstrip())
        location = response.headers.get("location")
        assert location, f"GET {folder}: a 301 needs a Location header ({folder}/)"
        path = urllib.parse.urlsplit(urllib.parse.urljoin(f"{server.url}{folder}", location)).path
        assert path == f"{folder}/", (
            f"GET {folder}: Location should lead to {folder}/, got {location!r}")
