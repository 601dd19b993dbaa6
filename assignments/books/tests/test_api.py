"""Public tests: the JSON API under /api/books."""

import pytest
from conftest import FIELDS, SEED, json_error, json_of, links, page_text, path_of


@pytest.mark.points(2)
def test_list_books(http):
    """GET /api/books returns {"books": [...], "total": N} with the five seeded books"""
    r = http.get("/api/books")
    assert r.status_code == 200, f"GET /api/books gave status {r.status_code}"
    body = json_of(r, "GET /api/books")
    assert isinstance(body, dict) and isinstance(body.get("books"), list), (
        f"GET /api/books: expected {{\"books\": [...], \"total\": N}}, got {str(body)[:100]}")
    by_id = {b.get("id"): b for b in body["books"] if isinstance(b, dict)}
    for book_id, book in SEED.items():
        assert book_id in by_id, f"GET /api/books has no book with \"id\": {book_id!r}"
        got = {f: by_id[book_id].get(f) for f in FIELDS}
        assert got == book, f"GET /api/books: {book_id} is {got}, expected {book}"
    assert body.get("total") == len(body["books"]), (
        f"GET /api/books lists {len(body['books'])} books but says \"total\": "
        f"{body.get('total')!r}")


@pytest.mark.points(1)
def test_get_one_book(http):
    """GET /api/books/<id> returns that book"""
    r = http.get("/api/books/id3")
    assert r.status_code == 200, f"GET /api/books/id3 gave status {r.status_code}"
    assert json_of(r, "GET /api/books/id3") == {"id": "id3", **SEED["id3"]}, (
        f"GET /api/books/id3 returned {r.text[:120]!r}")


@pytest.mark.points(2)
def test_create_book(http, isbn, tag):
    """POST /api/books creates a book: 201, the book with its new id, and a Location header"""
    sent = {"title": f"API book {tag}", "isbn": isbn(), "author": "Grace Hopper",
            "publisher": "Navy Press"}
    r = http.post("/api/books", json=sent)
    assert r.status_code == 201, f"POST /api/books gave status {r.status_code}, expected 201"
    got = json_of(r, "POST /api/books")
    assert isinstance(got, dict) and isinstance(got.get("id"), str) and got["id"], (
        f"POST /api/books should return the new book with a string \"id\", got {r.text[:100]!r}")
    assert {f: got.get(f) for f in FIELDS} == sent, (
        f"POST /api/books returned {got}, expected the fields that were sent")
    assert "Location" in r.headers, "POST /api/books: the 201 has no Location header"
    assert path_of(r) == f"/api/books/{got['id']}", (
        f"Location is {r.headers['Location']!r}, expected /api/books/{got['id']}")
    again = http.get(f"/api/books/{got['id']}")
    assert again.status_code == 200 and again.json() == got, (
        f"GET /api/books/{got['id']} does not return the book that was just created")


@pytest.mark.points(1)
def test_create_rejects_invalid(http, isbn, tag):
    """POST /api/books answers 400 with {"error": ...} for a missing or blank title or author,
    or a bad ISBN"""
    good = {"title": f"Invalid {tag}", "isbn": isbn(), "author": "Someone", "publisher": ""}
    json_error(http.post("/api/books", json={**good, "title": ""}),
               "POST /api/books without a title", 400)
    json_error(http.post("/api/books", json={**good, "author": ""}),
               "POST /api/books without an author", 400)
    json_error(http.post("/api/books", json={**good, "title": "   "}),
               "POST /api/books with a title of only spaces", 400)
    json_error(http.post("/api/books", json={**good, "author": " \t "}),
               "POST /api/books with an author of only spaces", 400)
    json_error(http.post("/api/books", json={**good, "isbn": "12345"}),
               "POST /api/books with the ISBN '12345' (5 digits)", 400)


@pytest.mark.points(1)
def test_duplicate_isbn_is_409(http, tag):
    """POST /api/books with an ISBN another book has answers 409 Conflict"""
    json_error(http.post("/api/books", json={"title": f"Copy {tag}", "author": "X",
                                             "isbn": SEED["id2"]["isbn"], "publisher": ""}),
               "POST /api/books with the ISBN of id2 (already taken)", 409)


@pytest.mark.points(1)
def test_unknown_id_is_json_404(http):
    """GET /api/books/<unknown id> answers 404 with {"error": ...}"""
    json_error(http.get("/api/books/no-such-book"), "GET /api/books/no-such-book", 404)


@pytest.mark.points(1)
def test_delete_book(http, add_book):
    """DELETE /api/books/<id> answers 204 with no body, and the book is gone"""
    book = add_book()
    r = http.delete(f"/api/books/{book['id']}")
    assert r.status_code == 204, f"DELETE /api/books/{book['id']} gave status {r.status_code}, " \
                                 "expected 204 No Content"
    assert r.content == b"", f"a 204 has no body, got {r.content[:60]!r}"
    gone = http.get(f"/api/books/{book['id']}")
    assert gone.status_code == 404, (
        f"after DELETE, GET /api/books/{book['id']} gave status {gone.status_code}, not 404")


@pytest.mark.points(2)
def test_put_and_patch(http, add_book, isbn, tag):
    """PUT /api/books/<id> replaces a book; PATCH changes only the fields given"""
    book = add_book()
    url = f"/api/books/{book['id']}"
    new = {"title": f"Replaced {tag}", "isbn": isbn(), "author": "New Author",
           "publisher": "New Press"}
    r = http.put(url, json=new)
    assert r.status_code == 200, f"PUT {url} gave status {r.status_code}, expected 200"
    got = json_of(http.get(url), f"GET {url}")
    assert {f: got.get(f) for f in FIELDS} == new, f"after PUT, GET {url} returned {got}"
    r = http.patch(url, json={"publisher": "Patched Press"})
    assert r.status_code == 200, f"PATCH {url} gave status {r.status_code}, expected 200"
    got = json_of(http.get(url), f"GET {url}")
    assert {f: got.get(f) for f in FIELDS} == {**new, "publisher": "Patched Press"}, (
        f"PATCH {{\"publisher\": ...}} should change only the publisher; GET {url} returned {got}")


@pytest.mark.points(2)
def test_search_is_case_insensitive(http, add_book, tag):
    """GET /api/books?q= matches title or author, ignoring case"""
    by_title = add_book(title=f"Networking with {tag.upper()}", author="Someone Else")
    by_author = add_book(title="Analytical Engines", author=f"{tag.capitalize()} Lovelace")
    add_book(title="Unrelated", author="Nobody")
    r = http.get("/api/books", params={"q": tag})
    body = json_of(r, f"GET /api/books?q={tag}")
    ids = sorted(b.get("id") for b in body.get("books", []))
    want = sorted([by_title["id"], by_author["id"]])
    assert ids == want, (
        f"GET /api/books?q={tag} returned {ids}, expected {want}: match q anywhere in the title "
        "or the author, ignoring upper/lower case")
    assert body.get("total") == 2, f"?q={tag} matches 2 books, but \"total\" is " \
                                   f"{body.get('total')!r}"


@pytest.mark.points(2)
def test_limit_and_offset(http, add_book, tag):
    """GET /api/books?limit=&offset= pages through the results; total counts them all"""
    made = [add_book(title=f"Page {tag} {i}")["id"] for i in range(5)]
    r = http.get("/api/books", params={"q": tag, "limit": 2, "offset": 1})
    body = json_of(r, "GET /api/books?limit=2&offset=1")
    ids = [b.get("id") for b in body.get("books", [])]
    assert ids == made[1:3], (
        f"?q={tag}&limit=2&offset=1 returned {ids}, expected {made[1:3]} (5 matches in the "
        "order they were added: skip 1, then 2)")
    assert body.get("total") == 5, (
        f"\"total\" should count all 5 matches before limit/offset, got {body.get('total')!r}")


@pytest.mark.points(2)
def test_pages_come_from_the_data(http, soup, add_book):
    """A book added through the API appears on /books/; once deleted, it disappears"""
    book = add_book()
    r = http.get("/books/")
    found = links(soup(r), r.url)
    assert found.get(f"/books/{book['id']}", "").find(book["title"]) >= 0, (
        f"a book added with POST /api/books ({book['title']!r}) is not linked on /books/: "
        "build the page from the database")
    assert book["isbn"] in page_text(soup(http.get(f"/books/{book['id']}"))), (
        f"/books/{book['id']} does not show the ISBN of the book added through the API")
    http.delete(f"/api/books/{book['id']}")
    r = http.get("/books/")
    assert book["title"] not in page_text(soup(r)), (
        f"after DELETE /api/books/{book['id']}, /books/ still shows {book['title']!r}")
