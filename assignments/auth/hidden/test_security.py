"""Hidden tests: CSRF, session handling, redirects, cookie flags and SQL injection."""

import base64
import json
import secrets

import pytest
from conftest import (
    COOKIE,
    REDIRECTS,
    csrf_token,
    logged_in_as,
    login,
    logout,
    new_password,
    off_site,
    parse_set_cookie,
    redirect_path,
    session_cookie,
    set_cookie_headers,
    shows_user,
    target,
    unique,
)

_B64_HIGH = "ghijklmnopqrstuvwxyz0123456789-_+/"  # base64 digits with the top bit set


def with_cookie(client, value: str):
    """A fresh cookie jar holding only `session=value` (as an attacker would send it)."""
    jar = client()
    jar.cookies.set(COOKIE, value)
    return jar


def logged_in_cookie(http, acct) -> str:
    """Log `acct` in on `http` and return its session cookie (failing clearly if none)."""
    login(http, acct.username, acct.password)
    value = session_cookie(http)
    assert value, f"logging in set no cookie named {COOKIE!r}"
    return value


# -- CSRF ------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_register_rejects_missing_csrf(http):
    """POST /register without a csrf_token is refused with 403 and creates no account"""
    name, password = unique("lee"), new_password()
    csrf_token(http, "/register")
    resp = http.post("/register", data={"username": name, "password": password},
                     allow_redirects=False)
    assert resp.status_code == 403, (
        f"POST /register without a csrf_token answered {resp.status_code}, expected 403")
    assert not logged_in_as(http), "POST /register without a csrf_token logged the user in"


@pytest.mark.points(1)
def test_wrong_csrf_token_rejected(http, new_account):
    """POST /login and POST /register with a wrong csrf_token are refused with 403"""
    acct = new_account("mia")
    real = csrf_token(http, "/login")
    forged = "x" + real[1:] if real[0] != "x" else "y" + real[1:]
    resp = http.post("/login", allow_redirects=False, data={
        "username": acct.username, "password": acct.password, "csrf_token": forged})
    assert resp.status_code == 403, (
        f"POST /login with a wrong csrf_token answered {resp.status_code}, expected 403")
    csrf_token(http, "/register")
    resp = http.post("/register", allow_redirects=False, data={
        "username": unique("mia"), "password": new_password(), "csrf_token": "not-the-token"})
    assert resp.status_code == 403, (
        f"POST /register with a wrong csrf_token answered {resp.status_code}, expected 403")


@pytest.mark.points(1)
def test_csrf_token_bound_to_session(client, new_account):
    """A csrf_token taken from another visitor's session is refused with 403"""
    acct = new_account("ned")
    attacker, victim = client(), client()
    token = csrf_token(attacker, "/login")
    csrf_token(victim, "/login")  # the victim has a session of their own
    resp = victim.post("/login", allow_redirects=False, data={
        "username": acct.username, "password": acct.password, "csrf_token": token})
    assert resp.status_code == 403, (
        f"POST /login with a csrf_token from another visitor's session answered "
        f"{resp.status_code}, expected 403: bind each token to its session")


@pytest.mark.points(1)
def test_logout_requires_csrf(http, new_account):
    """POST /logout without a csrf_token is refused with 403 and the user stays logged in"""
    acct = new_account("ora")
    login(http, acct.username, acct.password)
    resp = http.post("/logout", allow_redirects=False)
    assert resp.status_code == 403, (
        f"POST /logout without a csrf_token answered {resp.status_code}, expected 403 "
        "(a forged logout from another site)")
    assert shows_user(http, acct.username), "POST /logout without a csrf_token logged the user out"


# -- sessions --------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_two_users_two_jars(client, new_account):
    """Two users logged in at once, each in their own cookie jar, each see their own name"""
    one, two = new_account("pam"), new_account("quin")
    jar1, jar2 = client(), client()
    login(jar1, one.username, one.password)
    login(jar2, two.username, two.password)
    for jar, me, other in ((jar1, one, two), (jar2, two, one)):
        text = logged_in_as(jar)
        assert f"Logged in as {me.username}" in text, (
            f"with two users logged in, {me.username!r}'s /account does not show their name"
            f"{' but ' + repr(other.username) if other.username in text else ''}")
        assert other.username not in text, (
            f"{me.username!r}'s /account shows the other user {other.username!r}")


@pytest.mark.points(2)
def test_forged_cookie_rejected(client, new_account):
    """A made-up session cookie (random, or naming a user) logs no one in"""
    victim = new_account("rex")
    claims = json.dumps({"username": victim.username, "user": victim.username}).encode()
    forgeries = {
        "a random value": secrets.token_urlsafe(32),
        "the victim's username": victim.username,
        "base64 JSON naming the victim": base64.urlsafe_b64encode(claims).decode(),
        "unsigned JSON naming the victim": json.dumps({"username": victim.username}),
    }
    for what, value in forgeries.items():
        jar = with_cookie(client, value)
        assert not logged_in_as(jar), (
            f"a forged {COOKIE!r} cookie ({what}) opened /account: sessions must be "
            "unguessable server-side ids or signed")
        me = jar.get("/api/me")
        assert me.status_code == 401, (
            f"a forged {COOKIE!r} cookie ({what}): GET /api/me answered {me.status_code}, "
            "expected 401")


@pytest.mark.points(1)
def test_tampered_cookie_rejected(http, client, new_account):
    """A real session cookie with one character changed logs no one in"""
    acct = new_account("sal")
    value = logged_in_cookie(http, acct)
    for pos in (len(value) - 1, len(value) // 2):
        # Flip the top bit of a base64 digit: the last digit of a base64 value may carry only
        # padding in its low bits, so A -> B can decode to the same bytes (a false alarm).
        swap = "A" if value[pos] in _B64_HIGH else "z"
        jar = with_cookie(client, value[:pos] + swap + value[pos + 1 :])
        assert not logged_in_as(jar), (
            f"the session cookie with one character changed (position {pos}) still opened "
            "/account")


@pytest.mark.points(2)
def test_old_cookie_dead_after_logout(http, client, new_account):
    """After logout, replaying the old session cookie no longer logs in"""
    acct = new_account("tom")
    value = logged_in_cookie(http, acct)
    assert shows_user(with_cookie(client, value), acct.username), (
        f"the {COOKIE!r} cookie alone (in another jar) did not open /account while logged in")
    resp = logout(http)
    assert resp.status_code in (200, *REDIRECTS), f"POST /logout answered {resp.status_code}"
    replay = with_cookie(client, value)
    assert not logged_in_as(replay), (
        "after logout, replaying the old session cookie still opened /account: end the "
        "session on the server, not only in the browser")


@pytest.mark.points(2)
def test_session_id_changes_at_login(http, client, new_account):
    """Logging in issues a new session cookie; the pre-login one stays logged out (fixation)"""
    acct = new_account("uma")
    csrf_token(http, "/login")
    before = session_cookie(http)
    after = logged_in_cookie(http, acct)
    assert shows_user(http, acct.username), "logging in did not show the account page"
    if before:
        assert after != before, (
            "the session cookie did not change at login: issue a new session id when the user "
            "logs in (session fixation)")
        planted = with_cookie(client, before)
        assert not logged_in_as(planted), (
            "the session cookie from before the login became logged in: an attacker who "
            "planted it could use the account (session fixation)")


@pytest.mark.points(1)
def test_cookie_httponly_samesite(http, new_account):
    """The session cookie is HttpOnly and SameSite (Lax or Strict)"""
    acct = new_account("val")
    token_page = http.get("/login")
    resp = login(http, acct.username, acct.password)
    cookies = [parse_set_cookie(line)
               for r in (token_page, resp) for line in set_cookie_headers(r)]
    ours = [flags for name, value, flags in cookies if name == COOKIE and value]
    assert ours, f"neither GET /login nor the login set a cookie named {COOKIE!r}"
    for flags in ours:
        assert "httponly" in flags, (
            f"the {COOKIE!r} cookie is not HttpOnly: page scripts (and XSS) could read it")
        assert flags.get("samesite", "").lower() in ("lax", "strict"), (
            f"the {COOKIE!r} cookie has SameSite={flags.get('samesite') or '(not set)'}, "
            "expected Lax or Strict")


# -- redirects and injection -----------------------------------------------------------------


@pytest.mark.points(2)
def test_off_site_next_not_followed(client, new_account, server):
    """An off-site ?next= (//evil.example, https://evil.example/) is never redirected to"""
    acct = new_account("wes")
    for evil in ("//evil.example", "https://evil.example/"):
        resp = login(client(), acct.username, acct.password, next=evil)
        assert not off_site(resp, server.url), (
            f"POST /login?next={evil} redirected to {target(resp)}: only follow same-site "
            "paths (starting with one /)")
        assert resp.status_code in REDIRECTS, (
            f"POST /login?next={evil} answered {resp.status_code} to {redirect_path(resp)}")


@pytest.mark.points(2)
def test_sql_injection_logs_no_one_in(client, new_account):
    """SQL injection in the login form logs no one in (answers 401)"""
    victim = new_account("xan")
    attempts = [
        (f"{victim.username}' --", "anything-at-all"),
        (f"{victim.username}'/*", "anything-at-all"),
        ("' OR '1'='1' --", "anything-at-all"),
        ("' OR 1=1 --", "anything-at-all"),
        (victim.username, "' OR '1'='1"),
        (victim.username, "x' OR 'x'='x"),
    ]
    for username, password in attempts:
        jar = client()
        resp = login(jar, username, password, check=False)
        tried = f"logging in as {username!r} with password {password!r}"
        assert resp.status_code < 500, (
            f"{tried} answered {resp.status_code}: the quote broke your SQL; use ? "
            "placeholders, never string formatting")
        assert resp.status_code not in REDIRECTS and not logged_in_as(jar), (
            f"{tried} logged in (SQL injection): use ? placeholders, never string formatting")


@pytest.mark.points(1)
def test_api_login_sets_same_session(client, new_account):
    """POST /api/login (no csrf_token) sets the same session: /account shows the user"""
    acct = new_account("yul")
    jar = client()
    resp = jar.post("/api/login", json={"username": acct.username, "password": acct.password})
    assert resp.status_code == 200, (
        f"POST /api/login with the right password answered {resp.status_code}, expected 200")
    assert shows_user(jar, acct.username), (
        "after POST /api/login, /account does not show the user: the API login must set the "
        "same session cookie as the form")
