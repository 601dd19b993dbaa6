"""Public tests: the grader's website, served with your framework."""

import uuid

import pytest
from conftest import text

from grader.testing import expect_status


@pytest.mark.points(1)
def test_str_view(fetch):
    """A view returning str is a 200 text/html page, charset utf-8"""
    response = fetch("/")
    expect_status(response, 200, "GET /", "text/html")
    ctype = response.headers["Content-Type"].lower().replace(" ", "")
    assert "charset=utf-8" in ctype, f"GET /: expected 'text/html; charset=utf-8', got " \
                                     f"{response.headers['Content-Type']!r}"
    assert "Welcome" in text(response), "GET /: the view's page is not in the body"


@pytest.mark.points(2)
def test_path_parameter(fetch):
    """/hello/<name> passes the path parameter to the view by name"""
    response = fetch("/hello/ada")
    expect_status(response, 200, "GET /hello/ada", "text/html")
    assert text(response) == "Hello, ada!", f"GET /hello/ada: expected 'Hello, ada!', got " \
                                            f"{text(response)[:80]!r}"


@pytest.mark.points(2)
def test_two_parameters_and_json(fetch):
    """/add/<a>/<b>: two parameters; a dict becomes a JSON response"""
    response = fetch("/add/2/40")
    expect_status(response, 200, "GET /add/2/40", "application/json")
    got = response.json()
    assert got == {"a": "2", "b": "40", "sum": 42}, f"GET /add/2/40: got {got!r}"


@pytest.mark.points(1)
def test_query(fetch):
    """request.query holds the decoded query string"""
    response = fetch("/search?q=wsgi+rocks%21&page=2")
    expect_status(response, 200, "GET /search?q=wsgi+rocks%21&page=2", "application/json")
    got = response.json()
    want = {"q": "wsgi rocks!", "page": "2", "method": "GET", "path": "/search"}
    assert got == want, f"GET /search?q=wsgi+rocks%21&page=2: the view saw {got!r}, " \
                        f"expected {want!r}"


@pytest.mark.points(2)
def test_form_post_and_redirect(fetch):
    """A form POST reaches request.form; redirect() gives 302 with Location"""
    name = f"apple-{uuid.uuid4().hex[:6]}"
    response = fetch("/items", "POST", data={"name": name})
    expect_status(response, 302, "POST /items")
    location = response.headers.get("Location", "")
    assert location.endswith("/items"), f"POST /items: expected Location /items, got " \
                                        f"{location!r}"
    items = fetch("/items").json()["items"]
    assert name in items, f"POST /items with name={name}: the view's request.form had no " \
                          f"'name' (GET /items lists {items[-3:]})"


@pytest.mark.points(2)
def test_json_body(fetch):
    """A JSON body is in request.json"""
    body = {"x": [1, 2, {"y": "é"}], "ok": True}
    response = fetch("/echo-json", "POST", json=body)
    expect_status(response, 200, "POST /echo-json", "application/json")
    got = response.json()
    assert got == {"got": body, "method": "POST", "path": "/echo-json"}, (
        f"POST /echo-json with {body}: the view saw {got!r}")


@pytest.mark.points(1)
def test_unknown_path_404(fetch):
    """An unknown path is a 404"""
    expect_status(fetch("/no/such/page"), 404, "GET /no/such/page")


@pytest.mark.points(1)
def test_wrong_method_405(fetch):
    """A known path with another method is a 405 with Allow"""
    response = fetch("/items", "DELETE")
    expect_status(response, 405, "DELETE /items")
    allow = {m.strip() for m in response.headers.get("Allow", "").split(",")}
    assert {"GET", "POST"} <= allow, (f"DELETE /items: Allow should list GET and POST, got "
                                      f"{response.headers.get('Allow')!r}")


@pytest.mark.points(1)
def test_view_exception_500(fetch):
    """An exception in a view is a 500 from the framework, which keeps serving"""
    expect_status(fetch("/boom"), 500, "GET /boom (the view raises)")
    expect_status(fetch("/"), 200, "GET / after the exception")


@pytest.mark.points(2)
def test_counter_cookie(browser):
    """A visit counter kept in a cookie counts per client"""
    one, two = browser(), browser()
    for visit in (1, 2, 3):
        page = text(one("/counter"))
        assert f"visits: {visit}" in page, (f"GET /counter, visit {visit} from one client: "
                                            f"expected 'visits: {visit}', got {page[:80]!r}; "
                                            "set_cookie must reach the client and "
                                            "request.cookies must read it")
    page = text(two("/counter"))
    assert "visits: 1" in page, f"GET /counter from a new client: expected 'visits: 1', got " \
                                f"{page[:80]!r}"
