"""Hidden tests: what users type is data (shown as text, validated), and one slow client does
not hold up the others."""

import socket

import pytest
import requests
from conftest import form_with, login, page_text, register, soup, unique


def _scripts(resp: requests.Response, marker: str) -> list:
    return [s for s in soup(resp).find_all("script") if marker in s.get_text()]


@pytest.mark.points(2)
def test_usernames_are_shown_as_text(client):
    """A username with <script> in it is shown as text on every page, never run"""
    marker = unique("x")
    name = f'<script>/*{marker}*/</script>"&<b>'
    password = "correct horse 9"
    jar = client()
    register(jar, name, password)  # logged in: /account shows the name
    checks = [("GET /account", jar.get("/account", allow_redirects=False)),
              ("POST /login with a wrong password",
               login(client(), name, "wrong password 1", check=False)),
              ("POST /register with the taken name",
               register(client(), name, password, check=False)),
              ("POST /register with a short password",
               register(client(), name, "short", check=False))]
    for what, resp in checks:
        assert not _scripts(resp, marker), (
            f"{what}: the username became a real <script> element: escape what users type "
            "(Jinja autoescaping; never |safe or Markup on user data)")
        field = form_with(resp, "username")
        value = field.find(attrs={"name": "username"}).get("value") if field else None
        assert not value or value == name, (
            f"{what}: the username field holds {value!r}, not the name exactly as typed")
    assert f"Logged in as {name}" in page_text(checks[0][1]), (
        f"GET /account: the username {name!r} is not shown literally (as text)")


@pytest.mark.points(1)
def test_register_blank_username_400(http):
    """Registering with an empty username, or one of only spaces, shows the form again with 400"""
    for name in ("", "   "):
        resp = register(http, name, "long enough 1", check=False)
        assert resp.status_code == 400, (
            f"registering the username {name!r} answered {resp.status_code}, expected 400 with "
            "the form (a username cannot be empty or only spaces)")


@pytest.mark.points(1)
def test_a_slow_client_does_not_block_others(server, http):
    """A client that sends half a request does not hold up everyone else"""
    with socket.create_connection((server.host, server.port), timeout=5) as slow:
        slow.sendall(b"GET /login HTTP/1.1\r\nHost: auth\r\n")  # no blank line yet
        try:
            r = http.get("/login", timeout=3)
        except requests.Timeout:
            raise AssertionError(
                "while one client had sent only half a request, GET /login got no answer in "
                "3 s: serve requests concurrently (app.run(..., threaded=True))") from None
        assert r.status_code == 200, f"GET /login gave status {r.status_code}"
