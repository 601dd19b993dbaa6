"""Public tests: the form, the echo page, the adder and the status codes."""

import random
import uuid

import pytest
from conftest import Page

from grader.testing import expect_status


def unique(prefix: str = "msg") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.points(2)
def test_form(fetch):
    """GET / shows a form that sends `message` to /echo"""
    response = fetch("/")
    expect_status(response, 200, "GET /", "text/html")
    forms = Page(response.content.decode("utf-8", "replace")).forms
    assert forms, "GET /: no <form> on the page"
    good = [f for f in forms if f.get("action") == "/echo"
            and str(f.get("method", "get")).lower() == "get" and "message" in f["inputs"]]
    assert good, (f"GET /: expected a <form action=\"/echo\" method=\"get\"> with an input "
                  f"named message, got forms {forms}")


@pytest.mark.points(2)
def test_echo_shows_message(send):
    """GET /echo?message=... shows the message in an <li>"""
    message = unique()
    items = send(message)
    assert message in items, f"GET /echo?message={message}: no <li>{message}</li>; list items: " \
                             f"{items[:5]}"


@pytest.mark.points(2)
def test_echo_newest_first(send):
    """The echo page lists every message received, newest first"""
    sent = [unique() for _ in range(3)]
    for message in sent:
        items = send(message)
    mine = [i for i in items if i in sent]
    assert mine == sent[::-1], (f"sent {sent} in that order; expected them listed newest "
                                f"first as {sent[::-1]}, got {mine}")


@pytest.mark.points(1)
def test_echo_missing_message_400(fetch):
    """GET /echo without a message is a 400 Bad Request"""
    expect_status(fetch("/echo"), 400, "GET /echo (no message)")


@pytest.mark.points(2)
def test_add(fetch):
    """GET /add?a=..&b=.. answers JSON {"result": a + b}"""
    for i in range(5):
        a, b = random.randint(-1000, 1000), random.randint(-1000, 1000)
        a = -abs(a) - 1 if i == 0 else a  # a minus sign at least once
        target = f"/add?a={a}&b={b}"
        response = fetch(target)
        expect_status(response, 200, f"GET {target}", "application/json")
        assert response.json() == {"result": a + b}, (
            f"GET {target}: expected {{\"result\": {a + b}}}, got {response.text[:100]!r}")


@pytest.mark.points(1)
def test_add_bad_operand_400(fetch):
    """GET /add with a non-integer operand is a 400 with a JSON error"""
    target = "/add?a=one&b=2"
    response = fetch(target)
    expect_status(response, 400, f"GET {target}", "application/json")
    assert "error" in response.json(), f"GET {target}: expected JSON {{\"error\": ...}}, got " \
                                       f"{response.text[:100]!r}"


@pytest.mark.points(1)
def test_unknown_path_404(fetch):
    """An unknown path gets the status 404 Not Found"""
    target = f"/{unique('nothing')}"
    expect_status(fetch(target), 404, f"GET {target}")


@pytest.mark.points(1)
def test_method_not_allowed(fetch):
    """POST / is 405 Method Not Allowed with an Allow header"""
    response = fetch("/", "POST")
    expect_status(response, 405, "POST /")
    allow = response.headers.get("Allow")
    assert allow is not None and "GET" in allow, (
        f"POST /: a 405 needs an Allow header listing GET, got {allow!r}")
