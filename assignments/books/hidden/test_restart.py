"""Hidden test: the data lives in a SQLite database in DATA_DIR and survives a restart.

This file runs last (the name sorts after the others): a restart that goes wrong cannot take the
other tests down with it.
"""

import pytest
from conftest import SEED, json_of, new_isbn

SQLITE_MAGIC = b"SQLite format 3\x00"


@pytest.mark.points(3)
def test_data_survives_restart(server, http, tag):
    """The books live in a SQLite database in DATA_DIR and survive a restart of the server"""
    made = {"title": f"Keep {tag}", "isbn": new_isbn(), "author": "Persistent",
            "publisher": "Disk Press"}
    r = http.post("/api/books", json=made)
    assert 200 <= r.status_code < 300, f"POST /api/books gave status {r.status_code}"
    kept = json_of(r, "POST /api/books")["id"]
    doomed = json_of(http.post("/api/books", json={**made, "title": f"Drop {tag}",
                                                   "isbn": new_isbn()}), "POST /api/books")["id"]
    # Checked before the restart, so a failing PATCH or DELETE is not blamed on the restart.
    r = http.patch(f"/api/books/{kept}", json={"publisher": "Patched Press"})
    assert 200 <= r.status_code < 300, (
        f"before the restart, PATCH /api/books/<id> gave status {r.status_code}")
    r = http.delete(f"/api/books/{doomed}")
    assert 200 <= r.status_code < 300, (
        f"before the restart, DELETE /api/books/<id> gave status {r.status_code}")

    files = server.data_files()
    databases = [name for name, data in files.items() if data.startswith(SQLITE_MAGIC)]
    assert databases, (
        "no SQLite database file in DATA_DIR" + (f" (found {sorted(files)[:5]})" if files else
                                                 " (it is empty)") +
        ": create the database in the directory named by the DATA_DIR environment variable")
    assert any(made["title"].encode() in files[name] for name in files), (
        f"the new book {made['title']!r} is not in any file in DATA_DIR: commit each change "
        "to the database")

    server.restart()

    r = http.get(f"/api/books/{kept}")
    assert r.status_code != 404, (
        f"after a restart, GET /api/books/{kept} gave status 404: the book added before the "
        "restart is gone (keep the data in the database in DATA_DIR, and do not recreate or "
        "empty it at start-up)")
    assert r.status_code == 200, (
        f"after a restart, GET /api/books/{kept} (a book added before it) gave status "
        f"{r.status_code}, expected 200")
    assert json_of(r, "GET /api/books/<id>").get("publisher") == "Patched Press", (
        "after a restart, a change made before it (PATCH of the publisher) is lost")
    assert http.get(f"/api/books/{doomed}").status_code == 404, (
        "after a restart, a book deleted before it is back: do not seed again on every start")
    body = json_of(http.get("/api/books"), "GET /api/books")
    titles = [b.get("title") for b in body.get("books", [])]
    for book in SEED.values():
        assert titles.count(book["title"]) == 1, (
            f"after a restart, the seeded book {book['title']!r} appears "
            f"{titles.count(book['title'])} times: seed only when the database is first created")
