"""Helpers shared by the public and hidden framework tests.

The grader serves its own site (support/website.py, written with the student's framework) with
its runner, through `wsgiref.validate`. When the validator rejects something, or an exception
escapes the application, the runner answers 500 with an `X-WSGI-Error` header: `fetch` turns
that into the test's feedback, quoting it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

ERROR_HEADER = "X-WSGI-Error"


def explain(what: str, response: requests.Response) -> None:
    """Fail with the runner's report when the validator or the app raised."""
    error = response.headers.get(ERROR_HEADER)
    if not error:
        return
    if error.startswith("AssertionError: "):
        raise AssertionError(f"{what}: wsgiref.validate rejected the framework: "
                             f"{error.removeprefix('AssertionError: ')}")
    raise AssertionError(f"{what}: an exception escaped the application: {error}; the "
                         "framework must catch what a view raises and answer 500 itself")


@pytest.fixture
def fetch(http) -> Callable[..., requests.Response]:
    """fetch(target, method="GET", **requests_options) -> the response (no redirects
    followed), failing with the validator's words. Cookies stay in `http`'s jar."""

    def _fetch(target: str, method: str = "GET", **options: Any) -> requests.Response:
        response = http.request(method, target, allow_redirects=False, **options)
        explain(f"{method} {target}", response)
        return response

    return _fetch


@pytest.fixture
def browser(server) -> Callable[[], Any]:
    """browser() -> a second, independent client (its own cookie jar) with the same checks."""
    from grader.testing import ServerSession

    opened: list[ServerSession] = []

    def _browser() -> Any:
        session = ServerSession(server)
        opened.append(session)

        def _fetch(target: str, method: str = "GET", **options: Any) -> requests.Response:
            response = session.request(method, target, allow_redirects=False, **options)
            explain(f"{method} {target}", response)
            return response

        _fetch.session = session  # type: ignore[attr-defined]
        return _fetch

    yield _browser
    for session in opened:
        session.close()


def media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def expect(response: requests.Response, status: int, what: str, kind: str | None = None) -> None:
    assert response.status_code == status, (
        f"{what}: expected status {status}, got {response.status_code} {response.reason}")
    if kind is not None:
        got = response.headers.get("Content-Type", "no Content-Type header")
        assert media_type(response) == kind, f"{what}: expected Content-Type {kind}, got {got!r}"


def text(response: requests.Response) -> str:
    return response.content.decode("utf-8", "replace")
