"""Hidden test: many clients at once."""

from concurrent.futures import ThreadPoolExecutor

import pytest
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
