"""Hidden tests: decoding, escaping, large numbers, every error status."""

import json
import random
import uuid

import pytest
from conftest import Page

from grader.testing import expect_status


def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.mark.points(2)
def test_echo_url_decoding(send):
    """Messages are URL-decoded: a+b%26c is 'a b&c'"""
    t = tag()
    items = send(f"{t}+a+b%26c%3D%25")
    assert f"{t} a b&c=%" in items, (f"GET /echo?message={t}+a+b%26c%3D%25: expected the "
                                     f"message '{t} a b&c=%' (+ is a space, %26 is &), got "
                                     f"{items[:3]}")


@pytest.mark.points(1)
def test_echo_utf8(send):
    """UTF-8 percent escapes decode to the characters: %C3%A9 is é"""
    t = tag()
    items = send(f"{t}%20%C3%A9t%C3%A9%20%E2%9C%93")
    assert f"{t} été ✓" in items, (f"GET /echo?message={t}%20%C3%A9t%C3%A9%20%E2%9C%93: "
                                   f"expected '{t} été ✓', got {items[:3]}")


@pytest.mark.points(2)
def test_echo_html_escaped(fetch):
    """Messages are HTML-escaped: <script> shows as text"""
    t = tag()
    target = f"/echo?message=%3Cscript%3Ealert(%22{t}%22)%3C%2Fscript%3E%3Cb%3E%26amp%3B"
    response = fetch(target)
    expect_status(response, 200, f"GET {target}", "text/html")
    body = response.content.decode("utf-8", "replace")
    message = f'<script>alert("{t}")</script><b>&amp;'
    assert f'<script>alert("{t}")' not in body and "<b>&amp;" not in body, (
        f"GET {target}: the message {message!r} appears unescaped in the page: a visitor's "
        "message can run scripts; escape it (html.escape)")
    assert message in Page(body).items, f"GET {target}: expected the message {message!r} in " \
                                        f"an <li>, escaped, got {Page(body).items[:3]}"


@pytest.mark.points(1)
def test_echo_empty_message_400(fetch):
    """GET /echo?message= (empty) is a 400 Bad Request"""
    expect_status(fetch("/echo?message="), 400, "GET /echo?message=")


def operand() -> int:
    value = random.randint(0, 10 ** random.randint(1, 100))
    return -value if random.random() < 0.5 else value


@pytest.mark.points(3)
def test_add_random_large(fetch):
    """/add is exact for random integers of up to 100 digits, negative too"""
    for _ in range(20):
        a, b = operand(), operand()
        target = f"/add?a={a}&b={b}"
        response = fetch(target)
        expect_status(response, 200, f"GET {target}", "application/json")
        got = json.loads(response.content)  # ints stay exact ints
        assert got == {"result": a + b} and type(got.get("result")) is int, (
            f"GET {target}: expected {{\"result\": {a + b}}}, got {response.text[:300]!r}; "
            "use Python's int, which is exact at any size")


@pytest.mark.points(2)
def test_add_missing_or_bad_operand(fetch):
    """/add with a missing or non-integer operand is a 400 with a JSON error"""
    for query in ("?a=5", "?b=5", "?a=1.5&b=2", "?a=3&b=4x", ""):
        target = f"/add{query}"
        response = fetch(target)
        expect_status(response, 400, f"GET {target}", "application/json")
        assert "error" in response.json(), f"GET {target}: expected JSON {{\"error\": ...}}"


@pytest.mark.points(1)
def test_unknown_path_404_any_method(fetch):
    """An unknown path is 404 for POST, PUT and DELETE too"""
    for method in ("POST", "PUT", "DELETE"):
        target = f"/missing-{tag()}"
        expect_status(fetch(target, method), 404, f"{method} {target}")


@pytest.mark.points(2)
def test_405_for_every_page(fetch):
    """POST, PUT and DELETE on /, /echo and /add are 405 with Allow: GET"""
    for path in ("/", "/echo", "/add"):
        for method in ("POST", "PUT", "DELETE"):
            response = fetch(path, method)
            expect_status(response, 405, f"{method} {path}")
            allow = response.headers.get("Allow")
            assert allow is not None and "GET" in allow, (
                f"{method} {path}: a 405 needs an Allow header listing GET, got {allow!r}")
