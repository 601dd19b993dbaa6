"""Hidden test: many clients at once."""

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import json_of, new_isbn

from grader.testing import ServerSession

CLIENTS = 20


@pytest.mark.points(3)
def test_concurrent_creates_all_land(server, http, tag):
    """20 POST /api/books at the same time: every book is stored, none twice"""
    books = [{"title": f"Crowd {tag} {i:02d}", "isbn": new_isbn(), "author": "Crowd",
              "publisher": ""} for i in range(CLIENTS)]

    def post(book: dict) -> tuple[int, object]:
        with ServerSession(server, timeout=10) as client:
            r = client.post("/api/books", json=book)
            try:
                return r.status_code, r.json()
            except ValueError:
                return r.status_code, None

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(post, books))
    bad = [status for status, _ in answers if not 200 <= status < 300]
    advice = ("POST /api/books does not work yet" if len(bad) == CLIENTS else
              "serve requests concurrently and let the database serialize the writes")
    assert not bad, (f"{len(bad)} of {CLIENTS} concurrent POST /api/books failed (statuses "
                     f"{sorted(set(bad))}): {advice}")
    ids = [body.get("id") if isinstance(body, dict) else None for _, body in answers]
    assert len(set(ids)) == CLIENTS, (
        f"{CLIENTS} concurrent creates returned only {len(set(ids))} different ids: "
        "two books got the same id")
    body = json_of(http.get("/api/books", params={"q": f"Crowd {tag}"}), "GET /api/books?q=")
    titles = sorted(b.get("title") for b in body.get("books", []))
    want = sorted(b["title"] for b in books)
    assert titles == want, (
        f"after {CLIENTS} concurrent creates, ?q= finds {len(titles)} of them "
        f"({len(set(titles))} different): every create must be stored exactly once")


@pytest.mark.points(1)
def test_a_slow_client_does_not_block_others(server, http):
    """A client that sends half a request does not hold up everyone else"""
    with socket.create_connection((server.host, server.port), timeout=5) as slow:
        slow.sendall(b"GET /api/books HTTP/1.1\r\nHost: books\r\n")  # no blank line yet
        try:
            r = http.get("/api/books/id1", timeout=3)
        except requests.Timeout:
            raise AssertionError(
                "while one client had sent only half a request, GET /api/books/id1 got no "
                "answer in 3 s: serve requests concurrently (app.run(..., threaded=True))"
            ) from None
        assert r.status_code == 200, f"GET /api/books/id1 gave status {r.status_code}"
