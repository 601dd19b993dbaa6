"""Hidden tests: quotes in input are data, not SQL."""

import pytest
from conftest import SEED, Output, json_of, links, page_text, why_status

QUOTE = "' OR '1'='1"


@pytest.mark.points(2)
def test_quotes_stored_literally(http, soup, isbn, tag, server):
    """O'Reilly and ' OR '1'='1 are stored and shown exactly as typed"""
    book = {"title": f"{QUOTE} {tag}", "isbn": isbn(), "author": "Tim O'Reilly",
            "publisher": "O'Reilly Media"}
    output = Output(server)
    r = http.post("/api/books", json=book)
    if not 200 <= r.status_code < 300:
        why = why_status(r.status_code, "POST /api/books", output)
        raise AssertionError(f"POST /api/books with quotes in the fields (\"O'Reilly\") gave "
                             f"status {r.status_code}" + (f": {why}" if why else ""))
    got = json_of(r, "POST /api/books")
    back = json_of(http.get(f"/api/books/{got.get('id')}"), "GET /api/books/<id>")
    fields = {k: back.get(k) for k in book}
    assert fields == book, f"stored {book}, read back {fields}"
    text = page_text(soup(http.get(f"/books/{got['id']}")))
    assert book["title"] in text and "Tim O'Reilly" in text, (
        f"/books/{got['id']} does not show the title and author with their quotes")
    form_title = f"O'Reilly's {tag}"
    r = http.post("/books/", data={"title": form_title, "isbn": isbn(), "author": "D'Arcy",
                                   "publisher": ""})
    assert r.status_code == 200 and form_title in page_text(soup(r)), (
        f"creating {form_title!r} with the form failed (status {r.status_code}): quotes must "
        "be data, not SQL")


@pytest.mark.points(2)
def test_sql_injection_finds_nothing(http, soup, server):
    """Search terms and ids with quotes match nothing (no SQL injection)"""
    q = "zz-none' OR 1=1 --"
    output = Output(server)
    r = http.get("/api/books", params={"q": q})
    if r.status_code != 200:
        why = why_status(r.status_code, "GET /api/books", output)
        raise AssertionError(f"GET /api/books?q=<text with quotes> gave status {r.status_code}"
                             + (f": {why}" if why else ""))
    body = json_of(r, "GET /api/books?q=")
    assert body.get("books") == [] and body.get("total") == 0, (
        f"?q={q} matches no book, but returned {len(body.get('books') or [])} "
        "books: the search is open to SQL injection")
    url = f"/api/books/x{QUOTE}"
    output = Output(server)
    r = http.get(url)
    found = r.json().get("id") if r.status_code == 200 and _is_json_object(r) else None
    if found:  # a book for an id that is no book's: the quotes became SQL
        raise AssertionError(f"GET {url} gave book {found!r}, expected 404: an id with quotes "
                             "must match no book (use ? placeholders)")
    if r.status_code != 404:
        why = why_status(r.status_code, "GET /api/books/<id>", output)
        raise AssertionError(f"GET {url} gave status {r.status_code}, expected 404"
                             + (f": {why}" if why else ""))
    page = http.get("/books/")
    assert all(f"/books/{i}" in links(soup(page), page.url) for i in SEED), (
        "after the injection attempts, /books/ no longer lists the seeded books")


def _is_json_object(response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False
