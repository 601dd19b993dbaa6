"""Helpers shared by the public and hidden books tests.

Every test runs against one server for the whole session, in file order: a test never relies on
what another left behind. Each makes its own books with unique ISBNs and titles (`isbn`, `tag`),
and only reads the five seeded books (id1..id5), never changes them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from grader.core.text import strip_ansi
from grader.sandbox import Server

SEED = {
    "id1": {"title": "CherryPy Essentials", "isbn": "978-1904811848",
            "author": "Sylvain Hellegouarch", "publisher": "Packt Publishing"},
    "id2": {"title": "Python for Software Design", "isbn": "978-0521725965",
            "author": "Allen B. Downey", "publisher": "Cambridge University Press"},
    "id3": {"title": "Foundations of Python Network Programming", "isbn": "978-1430230038",
            "author": "John Goerzen", "publisher": "Apress"},
    "id4": {"title": "Python Cookbook, Second Edition", "isbn": "978-0-596-00797-3",
            "author": "Alex Martelli, Anna Ravenscroft, David Ascher",
            "publisher": "O'Reilly Media"},
    "id5": {"title": "The Pragmatic Programmer: From Journeyman to Master",
            "isbn": "978-0201616224", "author": "Andrew Hunt, David Thomas",
            "publisher": "Addison-Wesley"},
}
FIELDS = ("title", "isbn", "author", "publisher")
_used: set[str] = set()


def new_isbn() -> str:
    """A random, never-repeated 13-digit ISBN with hyphens (979-...)."""
    while True:
        digits = f"979{secrets.randbelow(10**10):010d}"
        if digits not in _used:
            _used.add(digits)
            return f"{digits[:3]}-{digits[3:]}"


def new_tag() -> str:
    """A short random word to make titles unique (and searchable) per test."""
    return "zq" + secrets.token_hex(4)


@pytest.fixture
def isbn() -> Callable[[], str]:
    """isbn() -> a fresh valid ISBN no other test uses."""
    return new_isbn


@pytest.fixture
def tag() -> str:
    """A random word unique to this test, e.g. for titles and ?q= searches."""
    return new_tag()


@pytest.fixture
def soup() -> Callable[[requests.Response], BeautifulSoup]:
    """soup(response) -> the parsed HTML page."""
    return lambda response: BeautifulSoup(response.text, "html.parser")


def path_of(response: requests.Response, url: str | None = None) -> str:
    """The path a URL (default: the response's Location header) points to, relative or not."""
    target = url if url is not None else response.headers.get("Location", "")
    return urlsplit(urljoin(response.url, target)).path


def links(page: BeautifulSoup, base: str) -> dict[str, str]:
    """{path a link points to: the link's text} for every <a href> on the page."""
    return {urlsplit(urljoin(base, a["href"])).path: a.get_text(" ", strip=True)
            for a in page.find_all("a", href=True)}


def page_text(page: BeautifulSoup) -> str:
    return " ".join(page.get_text(" ").split())


def json_of(response: requests.Response, what: str) -> Any:
    """The JSON body, or a failure that says which response was not JSON."""
    try:
        return response.json()
    except ValueError:
        ctype = response.headers.get("Content-Type", "no Content-Type")
        raise AssertionError(f"{what}: the body is not JSON ({ctype}, status "
                             f"{response.status_code})") from None


def json_error(response: requests.Response, what: str, status: int) -> None:
    """Assert a JSON error response: the status and a body {"error": "..."}."""
    assert response.status_code == status, (
        f"{what}: expected status {status}, got {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        ctype = response.headers.get("Content-Type", "no Content-Type")
        raise AssertionError(f"{what}: status {status} is right, but the body is not JSON "
                             f"({ctype}): API errors must be {{\"error\": \"...\"}}") from None
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], (
        f"{what}: expected a JSON body {{\"error\": \"<message>\"}}, got {str(body)[:100]}")


@pytest.fixture
def add_book(http: requests.Session, isbn: Callable[[], str], tag: str) -> Callable[..., dict]:
    """add_book(**fields) -> the created book (a dict with its id), made through the API.

    Lenient on purpose (any 2xx): the tests of POST /api/books itself are the strict ones.
    Fields not given get unique values.
    """

    def _add(**fields: str) -> dict[str, Any]:
        book = {"title": f"Book {tag} {secrets.token_hex(2)}", "isbn": isbn(),
                "author": f"Author {tag}", "publisher": "Test Press", **fields}
        r = http.post("/api/books", json=book)
        assert 200 <= r.status_code < 300, (
            f"POST /api/books with a valid book {book['title']!r} gave status {r.status_code}: "
            "could not create a book for this test")
        got = json_of(r, "POST /api/books")
        assert isinstance(got, dict) and isinstance(got.get("id"), str) and got["id"], (
            f"POST /api/books: expected the new book with its string \"id\", got {str(got)[:100]}")
        return {**book, "id": got["id"]}

    return _add


SQL_ERROR = "OperationalError"  # sqlite3's, for SQL that does not parse (near "Reilly")


class Output:
    """What the app printed from a point of the test on: the evidence for a cause. A status
    alone does not say why: a 404 or 405 is a missing route, a 500 anything; only an
    `sqlite3.OperationalError` in the app's output shows SQL that a quote broke."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.mark = self._count()

    def _count(self) -> int:
        return self.server.current_logs().count(SQL_ERROR)

    def sql_error(self, wait: float = 0.5) -> str:
        """The last `OperationalError: ...` line printed since the mark, or "" (the app logs
        the traceback as it answers 500: wait a moment for it to arrive)."""
        deadline = time.monotonic() + wait
        while (count := self._count()) <= self.mark and time.monotonic() < deadline:
            time.sleep(0.05)
        if count <= self.mark:
            return ""
        lines = strip_ansi(self.server.current_logs()).splitlines()
        return next((ln.strip() for ln in reversed(lines) if SQL_ERROR in ln), "")[:160]


def why_status(status: int, route: str, output: Output) -> str:
    """The cause of an unexpected status that the evidence supports, or ""."""
    if status in (404, 405):
        return f"{status} means there is no {route} route: add it"
    if status >= 500 and (error := output.sql_error()):
        return (f"the app raised {error}: a quote broke the SQL, so use ? placeholders, never "
                "string formatting")
    return ""
