"""Helpers shared by the public and hidden restapi tests.

Every test runs against one server for the whole session, in file order, and never relies on
what another left behind: each makes its own notes with unique titles and tags (`tag`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

PROBLEM = "application/problem+json"
OPENAPI = Path(__file__).parent / "openapi.yaml"


def new_tag() -> str:
    """A short random word unique to a test (titles and ?tag= filters)."""
    return "zq" + secrets.token_hex(4)


@pytest.fixture
def tag() -> str:
    return new_tag()


def media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def json_of(response: requests.Response, what: str) -> Any:
    """The JSON body, or a failure that says which response was not JSON."""
    try:
        return response.json()
    except ValueError:
        ctype = response.headers.get("Content-Type", "no Content-Type")
        raise AssertionError(f"{what}: the body is not JSON ({ctype}, status "
                             f"{response.status_code})") from None


def expect(response: requests.Response, status: int, what: str) -> None:
    """The status, or a line naming what was sent and what came back."""
    assert response.status_code == status, (
        f"{what}: expected status {status}, got {response.status_code}")


def problem(response: requests.Response, status: int, what: str) -> dict[str, Any]:
    """An RFC 9457 problem document with this status: Content-Type application/problem+json
    and a JSON object with "type", "title" and "status" (the same number)."""
    expect(response, status, what)
    got = media_type(response) or "no Content-Type"
    assert got == PROBLEM, (
        f"{what}: the {status} is right, but its Content-Type is {got}: errors must be "
        f"problem documents ({PROBLEM}, RFC 9457)")
    body = json_of(response, what)
    assert isinstance(body, dict) and isinstance(body.get("title"), str) \
        and isinstance(body.get("type"), str) and body.get("status") == status, (
            f"{what}: a problem document needs \"type\", \"title\" and \"status\": {status}, "
            f"got {str(body)[:120]}")
    return body


@pytest.fixture
def add_note(http: requests.Session, tag: str) -> Callable[..., dict[str, Any]]:
    """add_note(**fields) -> the created note (with its id), made with POST /notes.

    Lenient on purpose (any 2xx with the note): the tests of POST itself are the strict ones.
    The title is unique unless given; the test's `tag` is among the tags unless tags are given.
    """

    def _add(**fields: Any) -> dict[str, Any]:
        note = {"title": f"Note {tag} {secrets.token_hex(3)}", "tags": [tag], **fields}
        r = http.post("/notes", json=note)
        assert 200 <= r.status_code < 300, (
            f"POST /notes with a valid note {note} gave status {r.status_code}: could not "
            "create a note for this test")
        got = json_of(r, "POST /notes")
        assert isinstance(got, dict) and isinstance(got.get("id"), int), (
            f"POST /notes: expected the new note with its integer \"id\", got {str(got)[:120]}")
        return got

    return _add
