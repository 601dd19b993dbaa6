"""Hidden tests: decoding, exact matching, headers, Response, redirects, methods, logins."""

import json

import pytest
from conftest import text

from grader.testing import WSGI_ERROR, expect_status


@pytest.mark.points(1)
def test_parameter_utf8(fetch):
    """Path parameters are UTF-8 decoded: /hello/%C3%A9mile is 'émile'"""
    response = fetch("/hello/%C3%A9mile%20Zola")
    expect_status(response, 200, "GET /hello/%C3%A9mile%20Zola", "text/html")
    assert text(response) == "Hello, émile Zola!", (
        f"GET /hello/%C3%A9mile%20Zola: expected 'Hello, émile Zola!', got "
        f"{text(response)[:80]!r}; PATH_INFO holds the URL's bytes as latin-1")


@pytest.mark.points(2)
def test_whole_path_matches(fetch):
    """Routes match the whole path, literally: /hello/a/b, /hello, /robots-txt are 404"""
    for target in ("/hello/a/b", "/hello", "/add/1", "/xhello/a", "/search/more"):
        expect_status(fetch(target), 404, f"GET {target}")
    expect_status(fetch("/robots-txt"), 404, "GET /robots-txt (the site has a route "
                  "/robots.txt: its '.' is a dot, not any character; re.escape the path)")


@pytest.mark.points(2)
def test_headers(fetch):
    """request.headers is case-insensitive and has Content-Type"""
    response = fetch("/headers", headers={"X-Custom": "yes", "User-Agent": "probe/1.0",
                                          "Content-Type": "text/plain"})
    assert response.status_code != 500, (
        "GET /headers: the view failed (500) reading request.headers['x-Custom'] for the "
        "header X-Custom: request.headers must be case-insensitive")
    expect_status(response, 200, "GET /headers", "application/json")
    got = response.json()
    assert got.get("has_custom") is not False, (
        "GET /headers with the header X-Custom: the view's 'X-CUSTOM' in request.headers was "
        "False; `in` must be case-insensitive too")
    want = {"user_agent": "probe/1.0", "content_type": "text/plain", "custom": "yes",
            "custom_item": "yes", "has_custom": True}
    assert got == want, f"GET /headers with X-Custom, User-Agent and Content-Type: the view " \
                        f"read {got!r}, expected {want!r}"


@pytest.mark.points(2)
def test_response_status_and_headers(fetch):
    """Response(body, status, headers) sets its own status and headers"""
    response = fetch("/teapot")
    expect_status(response, 418, "GET /teapot", "text/plain")
    assert response.headers.get("X-Tea") == "earl grey", (
        f"GET /teapot: expected the header X-Tea: earl grey, got "
        f"{response.headers.get('X-Tea')!r}")
    assert text(response) == "I'm a teapot", f"GET /teapot: got {text(response)[:80]!r}"


@pytest.mark.points(1)
def test_redirect_with_status(fetch):
    """redirect(location, status=301)"""
    response = fetch("/old")
    expect_status(response, 301, "GET /old")
    assert response.headers.get("Location", "").endswith("/new"), (
        f"GET /old: expected Location /new, got {response.headers.get('Location')!r}")


@pytest.mark.points(2)
def test_methods_across_routes(fetch):
    """One path in two routes (GET, PUT): each method reaches its view; Allow lists both"""
    response = fetch("/note", "PUT", json={"text": "remember the milk"})
    expect_status(response, 201, "PUT /note")
    assert response.headers.get("X-Note-Length") == "17", "PUT /note: the Response's header " \
                                                          "X-Note-Length is missing"
    response = fetch("/note")
    expect_status(response, 200, "GET /note after PUT /note", "application/json")
    assert response.json() == {"text": "remember the milk"}, "GET /note after PUT /note: " \
                                                             f"got {response.json()!r}"
    response = fetch("/note", "DELETE")
    expect_status(response, 405, "DELETE /note")
    allow = {m.strip() for m in response.headers.get("Allow", "").split(",")}
    assert {"GET", "PUT"} <= allow, (f"DELETE /note: Allow should list GET and PUT (two "
                                     f"routes), got {response.headers.get('Allow')!r}")


@pytest.mark.points(1)
def test_bad_parameter_500(fetch):
    """A view that fails on its parameters (int('one')) is a 500, not a crash"""
    expect_status(fetch("/add/one/2"), 500, "GET /add/one/2 (the view raises ValueError)")


@pytest.mark.points(1)
def test_json_none_without_json(fetch):
    """request.json is None when the body is not JSON, or does not parse"""
    response = fetch("/echo-json", "POST", data={"a": "1"})
    expect_status(response, 200, "POST /echo-json with a form body", "application/json")
    assert response.json()["got"] is None, (f"POST /echo-json with a form body: request.json "
                                            f"should be None, got {response.json()['got']!r}")
    what = "POST /echo-json with the body '{\"a\": ' (Content-Type: application/json)"
    response = fetch("/echo-json", "POST", data=b'{"a": ',
                     headers={"Content-Type": "application/json"})
    assert response.status_code != 500, (f"{what}: got 500 Internal Server Error; a body that "
                                         "does not parse as JSON gives request.json None")
    expect_status(response, 200, what, "application/json")
    assert response.json()["got"] is None, f"{what}: request.json should be None, got " \
                                           f"{response.json()['got']!r}"


@pytest.mark.points(1)
def test_several_cookies(browser):
    """Each set_cookie call adds its own Set-Cookie header, with the flags asked for"""
    client = browser()
    client("/prefs")
    cookies = {c.name: c for c in client.session.cookies}
    jar = {name: c.value for name, c in cookies.items()}
    assert jar.get("theme") == "dark" and jar.get("lang") == "fr", (
        f"GET /prefs sets theme=dark and lang=fr: the client's cookie jar has {jar}")
    theme, lang = cookies["theme"], cookies["lang"]
    httponly = theme.has_nonstandard_attr("HttpOnly") or theme.has_nonstandard_attr("httponly")
    assert not httponly, (
        "GET /prefs: set_cookie('theme', 'dark') made an HttpOnly cookie; HttpOnly only when "
        "httponly=True (a page's scripts may need to read it)")
    assert theme.expires is None and lang.expires is not None, (
        "GET /prefs: set_cookie('lang', 'fr', max_age=3600) should last an hour (Max-Age=3600) "
        "and set_cookie('theme', 'dark') end with the browser session (no Max-Age); the jar "
        f"has theme {'expiring' if theme.expires else 'for the session'}, lang "
        f"{'expiring' if lang.expires else 'for the session'}")


@pytest.mark.points(3)
def test_login_cookie(browser):
    """A login kept in a signed cookie: HttpOnly, Path=/account, read back on the next request"""
    client = browser()
    response = client("/account/login", "POST", data={"user": "grace", "password": "hopper"})
    expect_status(response, 303, "POST /account/login (good password)")
    cookies = [c for c in client.session.cookies if c.name == "session"]
    assert cookies, "POST /account/login: no 'session' cookie reached the client"
    cookie = cookies[0]
    assert cookie.path == "/account", f"the session cookie's Path should be /account, got " \
                                      f"{cookie.path!r}"
    assert cookie.has_nonstandard_attr("HttpOnly") or cookie.has_nonstandard_attr("httponly"), (
        "the session cookie should be HttpOnly")
    page = text(client("/account/me"))
    assert "logged in as grace" in page, (f"GET /account/me after the login: expected 'logged "
                                          f"in as grace', got {page[:80]!r}; request.cookies "
                                          "must give the cookie's value exactly")


@pytest.mark.points(1)
def test_bad_login(browser):
    """A wrong password is a 401 and sets no session"""
    client = browser()
    response = client("/account/login", "POST", data={"user": "ada", "password": "nope"})
    expect_status(response, 401, "POST /account/login (wrong password)")
    expect_status(client("/account/me"), 401, "GET /account/me after a failed login")


@pytest.mark.points(1)
def test_logout(browser):
    """Logging out removes the cookie (max_age=0)"""
    client = browser()
    client("/account/login", "POST", data={"user": "ada", "password": "lovelace"})
    assert "logged in as ada" in text(client("/account/me")), "the login did not work"
    client("/account/logout", "POST")
    left = [c.value for c in client.session.cookies if c.name == "session"]
    assert not left, (f"after POST /account/logout (set_cookie with max_age=0) the client still "
                      f"has the session cookie {left[0]!r}: Max-Age=0 removes a cookie")
    expect_status(client("/account/me"), 401, "GET /account/me after logging out")


@pytest.mark.points(2)
def test_first_and_blank_values(fetch):
    """request.query and request.form: the first value of a repeated key, blank values kept"""
    target = "/params?q=first&q=second&blank=&x=a+b%26c"
    response = fetch(target)
    expect_status(response, 200, f"GET {target}", "application/json")
    want = {"q": "first", "blank": "", "x": "a b&c"}
    got = response.json()["query"]
    assert got == want, f"GET {target}: the view saw request.query {got!r}, expected {want!r}"
    form = [("name", ""), ("tag", "one"), ("tag", "two")]
    response = fetch("/params", "POST", data=form)
    expect_status(response, 200, "POST /params with the form name=&tag=one&tag=two",
                  "application/json")
    want = {"name": "", "tag": "one"}
    got = response.json()["form"]
    assert got == want, (f"POST /params with the form name=&tag=one&tag=two: the view saw "
                         f"request.form {got!r}, expected {want!r} (an empty field is still "
                         "sent: keep_blank_values=True)")


@pytest.mark.points(1)
def test_content_type_with_parameters(fetch):
    """The body's media type is read without its parameters and in any case"""
    body = {"tea": "earl grey"}
    ctype = "Application/JSON; charset=utf-8"
    response = fetch("/echo-json", "POST", data=json.dumps(body).encode(),
                     headers={"Content-Type": ctype})
    expect_status(response, 200, f"POST /echo-json (Content-Type: {ctype})", "application/json")
    got = response.json()["got"]
    assert got == body, f"POST /echo-json with {body} as {ctype!r}: request.json is {got!r}"
    ctype = "application/x-www-form-urlencoded; charset=UTF-8"
    response = fetch("/params", "POST", data=b"name=tea", headers={"Content-Type": ctype})
    expect_status(response, 200, f"POST /params (Content-Type: {ctype})", "application/json")
    got = response.json()["form"]
    assert got == {"name": "tea"}, (f"POST /params with name=tea as {ctype!r} (what jQuery "
                                    f"sends): request.form is {got!r}")


@pytest.mark.points(1)
def test_malformed_cookie_header(fetch):
    """A Cookie header that does not parse (x/y=1) does not break the request"""
    header = "x/y=1; visits=2"
    response = fetch("/counter", headers={"Cookie": header})
    expect_status(response, 200, f"GET /counter with the header 'Cookie: {header}' (SimpleCookie "
                  "raises CookieError on it)", "text/html")
    assert "visits:" in text(response), f"GET /counter with 'Cookie: {header}': got " \
                                        f"{text(response)[:80]!r}"


@pytest.mark.points(1)
def test_status_httpstatus_does_not_know(http):
    """Response(status=419), a code http.HTTPStatus does not know, is sent as 419"""
    response = http.get("/expired", allow_redirects=False)
    what = "GET /expired (the view returns Response(..., status=419))"
    error = response.headers.get(WSGI_ERROR, "")
    assert not error, (f"{what}: the framework raised {error}; HTTPStatus(419) raises "
                       "ValueError: give a code it does not know a reason phrase of your own")
    expect_status(response, 419, what)
