"""Books, a buggy variant (in_memory).

Bug: the books are kept in a Python dict, not in a database in DATA_DIR: a restart loses every change.

The rest is the reference:

Run it with `python app.py`. The port comes from PORT; the database lives in the directory named
by DATA_DIR (created and seeded with the course's five books on first start), never next to the
code, which may be read-only.

Layout: the database helpers first (every query parameterized), then validation, then the HTML
pages, then the JSON API, then the error handlers that pick HTML or JSON by path.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from typing import Any

from flask import Flask, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException, NotFound

FIELDS = ("title", "isbn", "author", "publisher")
SEED = [
    ("CherryPy Essentials", "978-1904811848", "Sylvain Hellegouarch", "Packt Publishing"),
    ("Python for Software Design", "978-0521725965", "Allen B. Downey",
     "Cambridge University Press"),
    ("Foundations of Python Network Programming", "978-1430230038", "John Goerzen", "Apress"),
    ("Python Cookbook, Second Edition", "978-0-596-00797-3",
     "Alex Martelli, Anna Ravenscroft, David Ascher", "O'Reilly Media"),
    ("The Pragmatic Programmer: From Journeyman to Master", "978-0201616224",
     "Andrew Hunt, David Thomas", "Addison-Wesley"),
]
# `num` is an internal counter that is never reused (AUTOINCREMENT); the public id is "id<num>".
SCHEMA = """
CREATE TABLE books (
    num       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    title     TEXT NOT NULL,
    isbn      TEXT NOT NULL UNIQUE,
    author    TEXT NOT NULL,
    publisher TEXT NOT NULL DEFAULT ''
);
"""
ISBN = re.compile(r"\d{13}|\d{9}[\dX]")  # once hyphens are removed

app = Flask(__name__)


class DuplicateIsbn(Exception):
    """Another book already has this ISBN (the UNIQUE constraint said so)."""


# -- the data: kept in memory -----------------------------------------------------------------

BOOKS: dict[str, dict[str, str]] = {}
LOCK = threading.Lock()
COUNTER = itertools.count(1)


def init_db() -> None:
    for title, isbn, author, publisher in SEED:
        book_id = f"id{next(COUNTER)}"
        BOOKS[book_id] = {"id": book_id, "title": title, "isbn": isbn, "author": author,
                          "publisher": publisher}


def find_books(q: str = "", limit: int | None = None, offset: int = 0) -> tuple[list[dict], int]:
    with LOCK:
        found = [dict(b) for b in BOOKS.values()
                 if q.lower() in b["title"].lower() or q.lower() in b["author"].lower()]
    end = None if limit is None else offset + limit
    return found[offset:end], len(found)


def get_book(book_id: str) -> dict[str, str]:
    with LOCK:
        if book_id not in BOOKS:
            raise NotFound(f"there is no book with id {book_id!r}")
        return dict(BOOKS[book_id])


def _isbn_taken(isbn: str, but: str | None = None) -> bool:
    return any(b["isbn"] == isbn and b["id"] != but for b in BOOKS.values())


def create_book(book: dict[str, str]) -> str:
    with LOCK:
        if _isbn_taken(book["isbn"]):
            raise DuplicateIsbn
        book_id = f"id{next(COUNTER)}"
        BOOKS[book_id] = {"id": book_id, **{f: book[f] for f in FIELDS}}
    return book_id


def update_book(book_id: str, book: dict[str, str]) -> None:
    with LOCK:
        if _isbn_taken(book["isbn"], but=book_id):
            raise DuplicateIsbn
        BOOKS[book_id].update({f: book[f] for f in FIELDS})


def delete_book(book_id: str) -> None:
    with LOCK:
        if BOOKS.pop(book_id, None) is None:
            raise NotFound(f"there is no book with id {book_id!r}")


# -- validation ---------------------------------------------------------------------------------


def clean(data: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """The four fields, trimmed, and the first problem with them (None when they are valid)."""
    for field in FIELDS:
        if not isinstance(data.get(field, ""), str):
            return {}, f"{field} must be a string"
    book = {f: data.get(f, "").strip() for f in FIELDS}
    for field in ("title", "author"):
        if not book[field]:
            return book, f"{field} is required"
    if not ISBN.fullmatch(book["isbn"].replace("-", "")):
        return book, "isbn must have 10 or 13 digits (hyphens allowed; an ISBN-10 may end in X)"
    return book, None


# -- HTML pages ---------------------------------------------------------------------------------


@app.get("/")
def home():
    return redirect(url_for("index"))


@app.get("/books/")
def index():
    books, _ = find_books()
    return render_template("index.html", books=books)


@app.get("/books/<book_id>")
def detail(book_id: str):
    return render_template("detail.html", book=get_book(book_id))


@app.get("/books/new")
def new_form():
    return render_template("form.html", book={f: "" for f in FIELDS}, action=url_for("create"))


@app.post("/books/")
def create():
    book, error = clean(request.form)
    action = url_for("create")
    if error:
        return render_template("form.html", book=book, action=action, error=error), 400
    try:
        book_id = create_book(book)
    except DuplicateIsbn:
        return render_template("form.html", book=book, action=action,
                               error=f"another book already has ISBN {book['isbn']}"), 409
    return redirect(url_for("detail", book_id=book_id), code=303)


@app.route("/books/<book_id>/edit", methods=["GET", "POST"])
def edit(book_id: str):
    book = get_book(book_id)  # 404 for an unknown id, before anything else
    action = url_for("edit", book_id=book_id)
    if request.method == "GET":
        return render_template("form.html", book=book, action=action, editing=True)
    book, error = clean(request.form)
    status = 400
    if not error:
        try:
            update_book(book_id, book)
            return redirect(url_for("detail", book_id=book_id), code=303)
        except DuplicateIsbn:
            error, status = f"another book already has ISBN {book['isbn']}", 409
    return render_template("form.html", book=book, action=action, editing=True,
                           error=error), status


@app.post("/books/<book_id>/delete")
def delete(book_id: str):
    delete_book(book_id)
    return redirect(url_for("index"), code=303)


# -- JSON API -----------------------------------------------------------------------------------


def json_error(message: str, status: int):
    return jsonify(error=message), status


def json_body() -> dict[str, Any] | None:
    """The request's JSON object, or None when the body is not one."""
    data = request.get_json(silent=True, force=True)
    return data if isinstance(data, dict) else None


def count_arg(name: str, default: int | None) -> int | None:
    value = request.args.get(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)


@app.get("/api/books")
def api_list():
    try:
        limit, offset = count_arg("limit", None), count_arg("offset", 0)
    except ValueError as exc:
        return json_error(str(exc), 400)
    books, total = find_books(request.args.get("q", ""), limit, offset or 0)
    return jsonify(books=books, total=total)


@app.post("/api/books")
def api_create():
    data = json_body()
    if data is None:
        return json_error("the body must be a JSON object", 400)
    book, error = clean(data)
    if error:
        return json_error(error, 400)
    try:
        book_id = create_book(book)
    except DuplicateIsbn:
        return json_error(f"another book already has ISBN {book['isbn']}", 409)
    return jsonify(get_book(book_id)), 201, {"Location": url_for("api_book", book_id=book_id)}


@app.route("/api/books/<book_id>", methods=["GET", "PUT", "PATCH", "DELETE"])
def api_book(book_id: str):
    old = get_book(book_id)
    if request.method == "GET":
        return jsonify(old)
    if request.method == "DELETE":
        delete_book(book_id)
        return "", 204
    data = json_body()
    if data is None:
        return json_error("the body must be a JSON object", 400)
    if request.method == "PATCH":  # only the fields given change
        data = {f: data.get(f, old[f]) for f in FIELDS}
    book, error = clean(data)
    if error:
        return json_error(error, 400)
    try:
        update_book(book_id, book)
    except DuplicateIsbn:
        return json_error(f"another book already has ISBN {book['isbn']}", 409)
    return jsonify(get_book(book_id))


# -- errors: JSON under /api/, an HTML page everywhere else -------------------------------------


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    if request.path.startswith("/api/"):
        response = jsonify(error=exc.description)
        response.status_code = exc.code or 500
        if getattr(exc, "valid_methods", None):  # keep the Allow header of a 405
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response
    return render_template("error.html", error=exc), exc.code


if __name__ == "__main__":
    init_db()
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8000")),
            threaded=True)
