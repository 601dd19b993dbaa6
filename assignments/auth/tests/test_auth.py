"""Public tests: register, log in, log out, the account page and the JSON API."""

import pytest
from conftest import (
    REDIRECTS,
    account_page,
    csrf_token,
    form_with,
    is_redirect_to,
    logged_in_as,
    login,
    logout,
    new_password,
    next_param,
    redirect_path,
    register,
    session_cookie,
    shows_user,
    unique,
)


@pytest.mark.points(1)
def test_forms_have_csrf_token(http):
    """GET /register and GET /login are forms with username, password and a hidden csrf_token"""
    for path in ("/register", "/login"):
        resp = http.get(path)
        assert resp.status_code == 200, f"GET {path} answered {resp.status_code}, expected 200"
        form = form_with(resp, "csrf_token")
        assert form is not None, f"GET {path}: no <form> with an input named csrf_token"
        assert (form.get("method") or "get").lower() == "post", (
            f"GET {path}: the form must use method=\"post\"")
        for name in ("username", "password"):
            assert form.find(attrs={"name": name}), f"GET {path}: the form has no {name!r} field"
        token = form.find(attrs={"name": "csrf_token"})
        assert token.get("type", "").lower() == "hidden", (
            f"GET {path}: the csrf_token input must be type=\"hidden\"")
        assert token.get("value"), f"GET {path}: the csrf_token field has no value"
        assert form.find(attrs={"name": "password"}).get("type", "").lower() == "password", (
            f"GET {path}: the password input must be type=\"password\"")


@pytest.mark.points(2)
def test_register_logs_in(http):
    """Registering creates the account, logs the user in and redirects to /account"""
    name = unique("ada")
    register(http, name, new_password())
    text = logged_in_as(http)
    assert text, "after registering, GET /account did not show the account: register must log in"
    assert f"Logged in as {name}" in text, (
        f"after registering as {name!r}, /account does not say 'Logged in as {name}'")


@pytest.mark.points(2)
def test_login_shows_account(http, new_account):
    """Logging in redirects to /account, which says 'Logged in as <username>'"""
    acct = new_account("bob")
    resp = login(http, acct.username, acct.password)
    assert is_redirect_to(resp, "/account"), (
        f"a login without ?next= redirected to {redirect_path(resp) or 'nowhere'}, "
        "expected /account")
    assert shows_user(http, acct.username), (
        f"after logging in as {acct.username!r}, /account does not say "
        f"'Logged in as {acct.username}'")


@pytest.mark.points(1)
def test_account_redirects_to_login(http):
    """Logged out, GET /account redirects to /login?next=/account"""
    resp = account_page(http)
    assert resp.status_code in REDIRECTS, (
        f"GET /account without logging in answered {resp.status_code}, expected a redirect "
        "(302) to /login?next=/account")
    assert is_redirect_to(resp, "/login") and next_param(resp) == "/account", (
        f"GET /account without logging in redirected to {redirect_path(resp)!r}, expected "
        "/login?next=/account")


@pytest.mark.points(2)
def test_bad_login_401(http, new_account):
    """A wrong password or unknown user shows the form again with 401 and logs no one in"""
    acct = new_account("carol")
    for who, username, password in (("a wrong password", acct.username, "wrong-" + acct.password),
                                    ("an unknown username", unique("nobody"), new_password())):
        resp = login(http, username, password, check=False)
        assert resp.status_code == 401, (
            f"logging in with {who}: POST /login answered {resp.status_code}, expected 401 "
            "with the form")
        assert form_with(resp, "password") is not None, (
            f"logging in with {who}: the 401 page does not show the login form again")
        assert not logged_in_as(http), f"after logging in with {who}, /account was shown"


@pytest.mark.points(1)
def test_login_follows_next(http, new_account):
    """POST /login?next=/api/me redirects to /api/me after a good login"""
    acct = new_account("dan")
    resp = login(http, acct.username, acct.password, next="/api/me")
    assert is_redirect_to(resp, "/api/me"), (
        f"POST /login?next=/api/me redirected to {redirect_path(resp) or 'nowhere'}, "
        "expected /api/me")


@pytest.mark.points(2)
def test_logout_ends_session(http, new_account):
    """POST /logout (with csrf_token) logs out: /account redirects to /login again"""
    acct = new_account("eve")
    login(http, acct.username, acct.password)
    assert shows_user(http, acct.username), "logging in did not show the account page"
    resp = logout(http)
    assert resp.status_code in (200, *REDIRECTS), (
        f"POST /logout with its csrf_token answered {resp.status_code}, expected a redirect")
    assert not logged_in_as(http), "after POST /logout, /account still shows the account"


@pytest.mark.points(1)
def test_register_duplicate_username_409(http, client, new_account):
    """Registering a taken username shows the form again with 409"""
    acct = new_account("fay")
    resp = register(client(), acct.username, new_password(), check=False)
    assert resp.status_code == 409, (
        f"registering the taken username {acct.username!r} answered {resp.status_code}, "
        "expected 409 with the form")
    assert form_with(resp, "password") is not None, (
        "registering a taken username: the 409 page does not show the form again")


@pytest.mark.points(1)
def test_register_short_password_400(http):
    """Registering with a password shorter than 8 characters shows the form again with 400"""
    name = unique("gus")
    resp = register(http, name, "short7!", check=False)
    assert resp.status_code == 400, (
        f"registering with a 7-character password answered {resp.status_code}, expected 400 "
        "with the form")
    assert form_with(resp, "password") is not None, (
        "registering with a short password: the 400 page does not show the form again")
    assert not logged_in_as(http), "a rejected registration logged the user in"


@pytest.mark.points(2)
def test_api_login_and_me(http, new_account):
    """POST /api/login with JSON logs in; GET /api/me answers {"username": ...}"""
    acct = new_account("hal")
    resp = http.post("/api/login", json={"username": acct.username, "password": acct.password})
    assert resp.status_code == 200, (
        f"POST /api/login with the right password answered {resp.status_code}, expected 200")
    assert session_cookie(http), "POST /api/login set no cookie named 'session'"
    me = http.get("/api/me")
    assert me.status_code == 200, f"GET /api/me after an API login answered {me.status_code}"
    assert me.json() == {"username": acct.username}, (
        f"GET /api/me answered {me.text[:80]!r}, expected {{\"username\": \"{acct.username}\"}}")


@pytest.mark.points(1)
def test_api_login_missing_field_400(http, new_account):
    """POST /api/login without a username or a password answers 400"""
    acct = new_account("ivy")
    for body in ({"username": acct.username}, {"password": acct.password}, {}):
        resp = http.post("/api/login", json=body)
        assert resp.status_code == 400, (
            f"POST /api/login with {body} answered {resp.status_code}, expected 400 "
            "(a field is missing)")


@pytest.mark.points(1)
def test_api_login_bad_credentials_401(http, new_account):
    """POST /api/login with a wrong password answers 401; GET /api/me then answers 401"""
    acct = new_account("jon")
    resp = http.post("/api/login", json={"username": acct.username, "password": "wrong-pass"})
    assert resp.status_code == 401, (
        f"POST /api/login with a wrong password answered {resp.status_code}, expected 401")
    me = http.get("/api/me")
    assert me.status_code == 401, (
        f"GET /api/me without a login answered {me.status_code}, expected 401")


@pytest.mark.points(1)
def test_login_rejects_missing_csrf(http, new_account):
    """POST /login without a csrf_token is refused with 403"""
    acct = new_account("kim")
    csrf_token(http, "/login")  # a normal visit first: the session (if any) exists
    resp = http.post("/login", data={"username": acct.username, "password": acct.password},
                     allow_redirects=False)
    assert resp.status_code == 403, (
        f"POST /login without a csrf_token answered {resp.status_code}, expected 403")
    assert not logged_in_as(http), "POST /login without a csrf_token logged the user in"
