"""Public tests: the HTML pages (index, detail, 404, forms)."""

import pytest
from conftest import SEED, links, page_text, path_of

REDIRECTS = (302, 303)


@pytest.mark.points(2)
def test_index_lists_every_title(http, soup):
    """GET /books/ lists every title, each linking to /books/<id>"""
    r = http.get("/books/")
    assert r.status_code == 200, f"GET /books/ gave status {r.status_code}, expected 200"
    found = links(soup(r), r.url)
    for book_id, book in SEED.items():
        assert f"/books/{book_id}" in found, (
            f"GET /books/ has no link to /books/{book_id} ({book['title']!r})")
        assert book["title"] in found[f"/books/{book_id}"], (
            f"the link to /books/{book_id} reads {found[f'/books/{book_id}']!r}, "
            f"expected the title {book['title']!r}")


@pytest.mark.points(2)
def test_detail_page(http, soup):
    """GET /books/<id> shows the title, ISBN, author and publisher, and links back"""
    for book_id in ("id1", "id4"):
        r = http.get(f"/books/{book_id}")
        assert r.status_code == 200, f"GET /books/{book_id} gave status {r.status_code}"
        page = soup(r)
        text = page_text(page)
        for field, value in SEED[book_id].items():
            assert value in text, f"GET /books/{book_id} does not show the {field} {value!r}"
        assert "/books/" in links(page, r.url), f"GET /books/{book_id} has no link to /books/"


@pytest.mark.points(1)
def test_unknown_id_is_404(http, soup):
    """GET /books/<unknown id> answers 404 with an HTML page (not 500)"""
    r = http.get("/books/no-such-book")
    assert r.status_code == 404, (
        f"GET /books/no-such-book gave status {r.status_code}, expected 404 Not Found"
        + (": look the id up and answer 404 when there is no such book"
           if r.status_code == 500 else ""))
    assert "text/html" in r.headers.get("Content-Type", ""), (
        "the 404 for an unknown book should be an HTML page, got Content-Type "
        f"{r.headers.get('Content-Type')!r}")


@pytest.mark.points(1)
def test_new_book_form(http, soup):
    """GET /books/new is a form that posts title, isbn, author and publisher to /books/"""
    r = http.get("/books/new")
    assert r.status_code == 200, f"GET /books/new gave status {r.status_code}"
    form = soup(r).find("form", method=lambda m: m and m.lower() == "post")
    assert form is not None, "GET /books/new has no <form method=\"post\">"
    assert path_of(r, form.get("action") or r.url) == "/books/", (
        f"the form on /books/new posts to {form.get('action')!r}, expected /books/")
    names = {field.get("name") for field in form.find_all(["input", "textarea"])}
    missing = [f for f in ("title", "isbn", "author", "publisher") if f not in names]
    assert not missing, f"the form on /books/new has no field named {', '.join(missing)}"


@pytest.mark.points(2)
def test_create_with_the_form(http, soup, isbn, tag):
    """POST /books/ creates a book and redirects (303 or 302) to its page"""
    title = f"Form book {tag}"
    r = http.post("/books/", data={"title": title, "isbn": isbn(), "author": "Ada",
                                   "publisher": "Form Press"}, allow_redirects=False)
    assert r.status_code in REDIRECTS, (
        f"POST /books/ with a valid book gave status {r.status_code}, expected a redirect "
        "(303 or 302) to the new book's page")
    where = path_of(r)
    assert where.startswith("/books/") and where.strip("/") != "books", (
        f"POST /books/ redirected to {where!r}, expected the new book's page /books/<id>")
    page = http.get(where)
    assert page.status_code == 200 and title in page_text(soup(page)), (
        f"the page POST /books/ redirected to ({where}) does not show the new title {title!r}")


@pytest.mark.points(1)
def test_rejected_form_shown_again(http, soup, isbn, tag):
    """A form without a title is shown again with an error and status 400"""
    author = f"Author {tag}"
    r = http.post("/books/", data={"title": "", "isbn": isbn(), "author": author,
                                   "publisher": ""}, allow_redirects=False)
    assert r.status_code == 400, (
        f"POST /books/ without a title gave status {r.status_code}, expected 400")
    page = soup(r)
    assert page.find("form") is not None, "a rejected POST /books/ should show the form again"
    assert page.select(".error"), (
        "a rejected POST /books/ should say what is wrong in an element with class=\"error\"")
    kept = page.find("input", attrs={"name": "author"})
    assert kept is not None and kept.get("value") == author, (
        "a rejected form should keep what the user typed (the author field is empty)")


@pytest.mark.points(1)
def test_edit_with_the_form(http, soup, add_book, tag):
    """GET /books/<id>/edit is a filled-in form; POST to it updates and redirects"""
    book = add_book()
    r = http.get(f"/books/{book['id']}/edit")
    assert r.status_code == 200, f"GET /books/{book['id']}/edit gave status {r.status_code}"
    field = soup(r).find("input", attrs={"name": "title"})
    assert field is not None and field.get("value") == book["title"], (
        f"the edit form of {book['id']} should have the current title in its title field")
    new_title = f"Edited {tag}"
    r = http.post(f"/books/{book['id']}/edit", allow_redirects=False,
                  data={**{k: book[k] for k in ("isbn", "author", "publisher")},
                        "title": new_title})
    assert r.status_code in REDIRECTS, (
        f"POST /books/{book['id']}/edit gave status {r.status_code}, expected a redirect "
        "(303 or 302)")
    page = http.get(f"/books/{book['id']}")
    assert new_title in page_text(soup(page)), (
        f"after editing, /books/{book['id']} does not show the new title {new_title!r}")


@pytest.mark.points(1)
def test_delete_with_the_form(http, soup, add_book):
    """POST /books/<id>/delete deletes the book and redirects to /books/"""
    book = add_book()
    r = http.post(f"/books/{book['id']}/delete", allow_redirects=False)
    assert r.status_code in REDIRECTS, (
        f"POST /books/{book['id']}/delete gave status {r.status_code}, expected a redirect "
        "(303 or 302) to /books/")
    assert path_of(r) == "/books/", f"the delete redirected to {path_of(r)!r}, not /books/"
    gone = http.get(f"/api/books/{book['id']}")
    assert gone.status_code == 404, (
        f"after POST /books/{book['id']}/delete, the book is still there (GET "
        f"/api/books/{book['id']} gave status {gone.status_code}, not 404)")
