"""Hidden tests: validation, status codes and odd input."""

import secrets

import pytest
from conftest import SEED, json_error, json_of


@pytest.mark.points(2)
def test_isbn_rules(http, tag):
    """ISBNs: 10 or 13 digits once hyphens are removed; an ISBN-10 may end in X"""
    base = {"author": "Checker", "publisher": ""}

    def digits(n: int) -> str:
        return "".join(str(secrets.randbelow(10)) for _ in range(n))

    d10, d13 = digits(10), digits(13)
    for good in (f"{d10[0]}-{d10[1:4]}-{d10[4:9]}-{d10[9]}", digits(9) + "X", d13,
                 f"{d13[:3]}-{d13[3]}-{d13[4:7]}-{d13[7:12]}-{d13[12]}"):
        r = http.post("/api/books", json={**base, "title": f"Good {tag}", "isbn": good})
        assert 200 <= r.status_code < 300, (
            f"POST /api/books with the valid ISBN {good!r} gave status {r.status_code}, "
            "expected 201")
    for bad in ("978-123456789", "97812345678901", "12345678901", "ISBN 0306406152",
                "97812345678X1", "X123456789", "030640615x2", "abcdefghij"):
        json_error(http.post("/api/books", json={**base, "title": f"Bad {tag}", "isbn": bad}),
                   f"POST /api/books with the invalid ISBN {bad!r}", 400)


@pytest.mark.points(1)
def test_non_json_body_is_400(http, tag):
    """POST, PUT and PATCH with a body that is not a JSON object answer 400 with {"error": ...}"""
    json_error(http.post("/api/books", data="title=x&author=y",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}),
               "POST /api/books with a form body instead of JSON", 400)
    json_error(http.post("/api/books", data="{not json",
                         headers={"Content-Type": "application/json"}),
               "POST /api/books with malformed JSON", 400)
    json_error(http.post("/api/books", json=["a", "list"]),
               "POST /api/books with a JSON list instead of an object", 400)
    json_error(http.post("/api/books", json={"title": 42, "author": "A", "isbn": "0306406152"}),
               "POST /api/books with a number as the title", 400)
    json_error(http.put("/api/books/id1", json=["a", "list"]),
               "PUT /api/books/id1 with a JSON list instead of an object", 400)
    json_error(http.patch("/api/books/id1", data="{not json",
                          headers={"Content-Type": "application/json"}),
               "PATCH /api/books/id1 with malformed JSON", 400)


@pytest.mark.points(1)
def test_wrong_method_is_json_405(http):
    """Wrong methods on /api/books and /api/books/<id> answer 405 with {"error": ...} and an
    Allow header"""
    for method, url, allowed in (("DELETE", "/api/books", {"GET", "POST"}),
                                 ("POST", "/api/books/id1", {"GET", "PUT", "PATCH", "DELETE"})):
        r = http.request(method, url, json=SEED["id1"])
        json_error(r, f"{method} {url}", 405)
        got = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
        assert allowed <= got, (
            f"{method} {url}: a 405 must say which methods the URL supports in an Allow header "
            f"(at least {', '.join(sorted(allowed))}), got "
            f"{r.headers.get('Allow', 'no Allow header')!r}: keep Flask's header in your JSON "
            "error handler")


@pytest.mark.points(1)
def test_unknown_id_everywhere(http):
    """PUT, PATCH and DELETE of an unknown id answer 404 with {"error": ...}"""
    book = {"title": "Ghost", "isbn": "0306406152", "author": "Nobody", "publisher": ""}
    json_error(http.put("/api/books/no-such-book", json=book), "PUT /api/books/no-such-book", 404)
    json_error(http.patch("/api/books/no-such-book", json={"title": "x"}),
               "PATCH /api/books/no-such-book", 404)
    json_error(http.delete("/api/books/no-such-book"), "DELETE /api/books/no-such-book", 404)


@pytest.mark.points(1)
def test_html_unknown_id_edit_delete(http):
    """/books/<unknown id>/edit and /delete answer 404, not 500"""
    for method, url in (("GET", "/books/no-such-book/edit"), ("POST", "/books/no-such-book/edit"),
                        ("POST", "/books/no-such-book/delete")):
        r = http.request(method, url, data={"title": "x", "isbn": "0306406152", "author": "y"},
                         allow_redirects=False)
        assert r.status_code == 404, f"{method} {url} gave status {r.status_code}, expected 404"


@pytest.mark.points(2)
def test_updates_are_validated(http, add_book, isbn):
    """PUT and PATCH reject a missing title (400), a bad ISBN (400) and a taken ISBN (409)"""
    book = add_book()
    url = f"/api/books/{book['id']}"
    full = {k: book[k] for k in ("title", "isbn", "author", "publisher")}
    json_error(http.put(url, json={**full, "title": ""}), f"PUT {url} with an empty title", 400)
    json_error(http.patch(url, json={"isbn": "123"}), f"PATCH {url} with the ISBN '123'", 400)
    json_error(http.patch(url, json={"isbn": SEED["id1"]["isbn"]}),
               f"PATCH {url} with the ISBN of id1 (taken)", 409)
    json_error(http.put(url, json={**full, "isbn": SEED["id1"]["isbn"]}),
               f"PUT {url} with the ISBN of id1 (taken)", 409)
    got = json_of(http.get(url), f"GET {url}")
    assert {k: got.get(k) for k in full} == full, (
        f"rejected updates must change nothing, but GET {url} now returns {got}")
    assert json_of(http.get("/api/books/id1"), "GET /api/books/id1").get("title") == \
        SEED["id1"]["title"], "a rejected update changed another book (id1)"


@pytest.mark.points(1)
def test_form_duplicate_isbn_is_409(http, soup, add_book, isbn):
    """The new and edit forms answer 409 for an ISBN another book has, with the form again"""
    book = add_book()
    taken = SEED["id5"]["isbn"]
    form = {"title": "Dup", "isbn": taken, "author": "Dup", "publisher": ""}
    for url in ("/books/", f"/books/{book['id']}/edit"):
        r = http.post(url, data=form, allow_redirects=False)
        assert r.status_code == 409, (
            f"POST {url} with an ISBN another book has gave status {r.status_code}, "
            "expected 409 Conflict")
        assert soup(r).find("form") is not None, f"a 409 from POST {url} should show the form again"
    r = http.post(f"/books/{book['id']}/edit", data={**form, "isbn": "12"}, allow_redirects=False)
    assert r.status_code == 400, (
        f"POST /books/{book['id']}/edit with the ISBN '12' gave status {r.status_code}, expected 400")


@pytest.mark.points(1)
def test_bad_limit_and_empty_page(http, tag):
    """?limit=abc answers 400; an offset past the end gives no books but the right total"""
    json_error(http.get("/api/books", params={"limit": "abc"}), "GET /api/books?limit=abc", 400)
    json_error(http.get("/api/books", params={"offset": "-1"}), "GET /api/books?offset=-1", 400)
    body = json_of(http.get("/api/books", params={"q": "Python", "offset": 1000}),
                   "GET /api/books?q=Python&offset=1000")
    assert body.get("books") == [], f"?offset=1000 should give \"books\": [], got {body}"
    assert isinstance(body.get("total"), int) and body["total"] >= 3, (
        f"?q=Python&offset=1000: \"total\" counts matches before the offset (at least 4), "
        f"got {body.get('total')!r}")


@pytest.mark.points(1)
def test_search_is_literal(http, add_book, tag):
    """?q= is a plain substring: % and _ are not wildcards"""
    book = add_book(title=f"100% {tag}_done")
    for q, want in ((f"100% {tag}_d", [book["id"]]), (f"{tag}%", []), (f"1_0% {tag}", [])):
        body = json_of(http.get("/api/books", params={"q": q}), f"GET /api/books?q={q}")
        ids = [b.get("id") for b in body.get("books", [])]
        assert ids == want, (f"GET /api/books?q={q!r} returned {ids}, expected {want}: q is a "
                             "literal substring (escape % and _ in a LIKE pattern)")
