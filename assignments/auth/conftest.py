"""Helpers shared by the public and hidden auth tests.

Every test talks to one server for the whole run, so each test makes its own users with
unique names (`new_account`). Every password a test uses goes through `new_password()`, which
remembers it: the late storage test searches DATA_DIR for all of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from grader.testing import ServerSession

COOKIE = "session"  # the session cookie's name, fixed by the handout
REDIRECTS = (302, 303)
PASSWORDS: list[str] = []  # every password the tests sent to the server
REGISTERED: list[str] = []  # every username the server accepted at POST /register


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "late: run after every other test (inspects DATA_DIR)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `late` run last, whatever file they are in (stable sort keeps the rest)."""
    items.sort(key=lambda item: item.get_closest_marker("late") is not None)


# -- names, passwords, accounts ----------------------------------------------------------------


def unique(prefix: str = "user") -> str:
    """A username no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def new_password() -> str:
    """A fresh password (12+ characters) that the storage test will look for in DATA_DIR."""
    password = f"pw-{uuid.uuid4().hex[:16]}"
    PASSWORDS.append(password)
    return password


@dataclass(frozen=True)
class Account:
    username: str
    password: str


# -- HTML and redirects --------------------------------------------------------------------------


def soup(resp: requests.Response) -> BeautifulSoup:
    """The response's HTML, parsed (never search markup with regexes)."""
    return BeautifulSoup(resp.text, "html.parser")


def page_text(resp: requests.Response) -> str:
    """The visible text of an HTML page, whitespace collapsed."""
    return " ".join(soup(resp).get_text(" ").split())


def form_with(resp: requests.Response, field: str) -> Any:
    """The first <form> that has an input named `field`, or None."""
    for form in soup(resp).find_all("form"):
        if form.find(["input", "textarea", "select"], attrs={"name": field}):
            return form
    return None


def target(resp: requests.Response) -> str:
    """Where a redirect points, as an absolute URL ('' when there is no Location)."""
    loc = resp.headers.get("Location", "")
    return urljoin(resp.url, loc) if loc else ""


def redirect_path(resp: requests.Response) -> str:
    """The path (and query) a redirect points to, for messages: '/account'."""
    parts = urlsplit(target(resp))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def is_redirect_to(resp: requests.Response, path: str) -> bool:
    return resp.status_code in REDIRECTS and urlsplit(target(resp)).path == path


def next_param(resp: requests.Response) -> str | None:
    """The `next` query parameter of a redirect's target (decoded), or None."""
    values = parse_qs(urlsplit(target(resp)).query).get("next")
    return values[0] if values else None


def off_site(resp: requests.Response, server_url: str) -> bool:
    """True when a redirect leaves the server (another host, or a scheme-relative //host)."""
    return urlsplit(target(resp)).netloc not in ("", urlsplit(server_url).netloc)


def session_cookie(session: requests.Session) -> str | None:
    """The value of the jar's `session` cookie, or None (the last found if several paths hold one)."""
    values = [c.value for c in session.cookies if c.name == COOKIE and c.value]
    return values[-1] if values else None


def set_cookie_headers(resp: requests.Response) -> list[str]:
    """The raw Set-Cookie header lines of one response (requests merges them otherwise)."""
    return list(resp.raw.headers.getlist("Set-Cookie")) if resp.raw is not None else []


def parse_set_cookie(line: str) -> tuple[str, str, dict[str, str]]:
    """'a=b; HttpOnly; SameSite=Lax' -> ('a', 'b', {'httponly': '', 'samesite': 'Lax'})."""
    first, *attrs = (part.strip() for part in line.split(";"))
    name, _, value = first.partition("=")
    flags = {}
    for attr in attrs:
        key, _, val = attr.partition("=")
        flags[key.strip().lower()] = val.strip()
    return name.strip(), value.strip(), flags


# -- talking to the app ----------------------------------------------------------------------


def csrf_token(session: requests.Session, path: str) -> str:
    """GET a form page and return the value of its hidden csrf_token field."""
    resp = session.get(path)
    assert resp.status_code == 200, f"GET {path} answered {resp.status_code}, expected the form (200)"
    form = form_with(resp, "csrf_token")
    assert form is not None, f"GET {path}: no <form> with an input named csrf_token"
    token = form.find(attrs={"name": "csrf_token"}).get("value", "")
    assert token, f"GET {path}: the csrf_token field is empty"
    return str(token)


def register(session: requests.Session, username: str, password: str, *,
             check: bool = True) -> requests.Response:
    """Register through the form (token first); with check, insist on the redirect to /account."""
    token = csrf_token(session, "/register")
    resp = session.post("/register", data={"username": username, "password": password,
                                           "csrf_token": token}, allow_redirects=False)
    if is_redirect_to(resp, "/account"):
        REGISTERED.append(username)
    if check:
        assert is_redirect_to(resp, "/account"), (
            f"registering a new user: POST /register answered {resp.status_code}"
            f"{' to ' + redirect_path(resp) if resp.is_redirect else ''}, expected a redirect "
            "(302 or 303) to /account")
    return resp


def login(session: requests.Session, username: str, password: str, *, next: str | None = None,
          check: bool = True) -> requests.Response:
    """Log in through the form (token first); with check, insist that it succeeded."""
    query = {"next": next} if next is not None else None
    token = csrf_token(session, "/login" + (f"?{urlencode(query)}" if query else ""))
    resp = session.post("/login", params=query, allow_redirects=False,
                        data={"username": username, "password": password, "csrf_token": token})
    if check:
        assert resp.status_code in REDIRECTS, (
            f"logging in with the right password: POST /login answered {resp.status_code}, "
            "expected a redirect (302 or 303)")
    return resp


def account_page(session: requests.Session) -> requests.Response:
    return session.get("/account", allow_redirects=False)


def logged_in_as(session: requests.Session) -> str:
    """The text of /account when it shows an account ('Logged in as ...'), else '' (logged out)."""
    resp = account_page(session)
    assert resp.status_code < 500, f"GET /account answered {resp.status_code} (a server error)"
    text = page_text(resp) if resp.status_code == 200 else ""
    return text if "Logged in as" in text else ""


def shows_user(session: requests.Session, username: str) -> bool:
    return f"Logged in as {username}" in logged_in_as(session)


def logout(session: requests.Session) -> requests.Response:
    """POST /logout with the token from the /account page's logout form."""
    page = account_page(session)
    form = form_with(page, "csrf_token") if page.status_code == 200 else None
    assert form is not None, "GET /account (logged in): no logout <form> with a csrf_token field"
    token = form.find(attrs={"name": "csrf_token"}).get("value", "")
    return session.post("/logout", data={"csrf_token": token}, allow_redirects=False)


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def client(server):
    """client() -> a new cookie jar (a ServerSession) bound to the server; closed after the test."""
    made: list[ServerSession] = []

    def make() -> ServerSession:
        made.append(ServerSession(server))
        return made[-1]

    yield make
    for session in made:
        session.close()


@pytest.fixture
def new_account(client):
    """new_account() -> an Account registered (in a throwaway cookie jar) with a unique name."""

    def make(prefix: str = "user") -> Account:
        account = Account(unique(prefix), new_password())
        register(client(), account.username, account.password)
        return account

    return make
