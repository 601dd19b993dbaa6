"""Helpers shared by the public and hidden framework tests.

The grader serves its own site (support/website.py, written with the student's framework) with
its runner, through `wsgiref.validate`. When the validator rejects something, or an exception
escapes the application, the runner answers 500 with an `X-WSGI-Error` header: `fetch` turns
that into the test's feedback, quoting it (grader.testing's `explain`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from grader import testing
from grader.testing import ServerSession


def explain(what: str, response: requests.Response) -> None:
    """The runner's report, said to the author of the framework (not of the application)."""
    testing.explain(what, response, rejected="the framework",
                    hint="the framework must catch what a view raises and answer 500 itself")


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


def text(response: requests.Response) -> str:
    return response.content.decode("utf-8", "replace")
