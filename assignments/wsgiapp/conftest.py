"""Helpers shared by the public and hidden wsgiapp tests.

The grader serves `app:application` with its own runner (grader/runners/wsgi_runner.py), through
`wsgiref.validate.validator`. When the validator rejects something, or an exception escapes the
application, the runner answers 500 with an `X-WSGI-Error` header: `fetch` turns that into the
test's feedback, quoting it (grader.testing's `explain`).
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
import requests

from grader.testing import expect_status, explain


@pytest.fixture
def fetch(http) -> Callable[..., requests.Response]:
    """fetch(target, method="GET") -> the response, failing with the validator's words."""

    def _fetch(target: str, method: str = "GET") -> requests.Response:
        response = http.request(method, target, allow_redirects=False)
        explain(f"{method} {target}", response)
        return response

    return _fetch


class Page(HTMLParser):
    """The parts of a page the tests look at: forms with their inputs, and list items' text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, object]] = []
        self.items: list[str] = []
        self._li: list[str] | None = None
        self.feed(text)
        self.close()
        self._end_li()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({**values, "inputs": []})
        elif tag in ("input", "textarea") and self.forms:
            self.forms[-1]["inputs"].append(values.get("name", ""))  # type: ignore[attr-defined]
        elif tag == "li":
            self._end_li()
            self._li = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("li", "ul", "ol"):
            self._end_li()

    def handle_data(self, data: str) -> None:
        if self._li is not None:
            self._li.append(data)

    def _end_li(self) -> None:
        if self._li is not None:
            self.items.append("".join(self._li).strip())
            self._li = None


@pytest.fixture
def send(fetch) -> Callable[[str], list[str]]:
    """send(query_value) -> the <li> texts of the /echo page, after sending that message
    (`query_value` is already URL-encoded)."""

    def _send(encoded: str) -> list[str]:
        target = f"/echo?message={encoded}"
        response = fetch(target)
        expect_status(response, 200, f"GET {target}", "text/html")
        return Page(response.content.decode("utf-8", "replace")).items

    return _send
