"""Public tests: the environ a WSGI application receives from the server."""

import os

import pytest
from conftest import expect_key

from grader.testing import http_request


@pytest.mark.points(2)
def test_method_and_path(environ):
    """REQUEST_METHOD, SCRIPT_NAME and PATH_INFO"""
    env = environ("GET", "/environ/hello")
    expect_key(env, "REQUEST_METHOD", "GET", "GET /environ/hello")
    expect_key(env, "SCRIPT_NAME", "", "GET /environ/hello")
    expect_key(env, "PATH_INFO", "/environ/hello", "GET /environ/hello")
    env = environ("DELETE", "/environ/other")
    expect_key(env, "REQUEST_METHOD", "DELETE", "DELETE /environ/other")


@pytest.mark.points(1)
def test_query_string(environ):
    """QUERY_STRING is the raw query, without the '?'; PATH_INFO has no query"""
    target = "/environ/q?a=1&b=x%20y+z&c"
    env = environ("GET", target)
    expect_key(env, "QUERY_STRING", "a=1&b=x%20y+z&c", f"GET {target}")
    expect_key(env, "PATH_INFO", "/environ/q", f"GET {target}")
    expect_key(environ("GET", "/environ/none"), "QUERY_STRING", "", "GET /environ/none (no "
               "query: an empty QUERY_STRING)")


@pytest.mark.points(2)
def test_http_headers(environ):
    """Request headers become HTTP_* keys (upper case, dashes as underscores)"""
    env = environ("GET", "/environ/h", headers={"X-Probe-Header": "some value",
                                                 "Accept-Language": "fr"})
    what = "GET /environ/h with X-Probe-Header and Accept-Language"
    expect_key(env, "HTTP_X_PROBE_HEADER", "some value", what)
    expect_key(env, "HTTP_ACCEPT_LANGUAGE", "fr", what)
    expect_key(env, "HTTP_HOST", "localhost", what)
    expect_key(env, "HTTP_USER_AGENT", "course-grader", what)


@pytest.mark.points(2)
def test_wsgi_keys(environ):
    """wsgi.version, wsgi.url_scheme, wsgi.input, wsgi.errors and the three booleans"""
    env = environ("GET", "/environ/w")
    what = "GET /environ/w"
    expect_key(env, "wsgi.version", [1, 0], what)
    expect_key(env, "wsgi.url_scheme", "http", what)
    assert env.get("wsgi.input.read"), f"{what}: environ['wsgi.input'] needs a read() method"
    assert env.get("wsgi.errors.write"), f"{what}: environ['wsgi.errors'] needs a write() " \
                                         "method (sys.stderr will do)"
    for key in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"):
        assert key in env, f"{what}: environ[{key!r}] is missing (True or False)"


@pytest.mark.points(1)
def test_server_keys(environ, server):
    """SERVER_NAME, SERVER_PORT and SERVER_PROTOCOL"""
    env = environ("GET", "/environ/s")
    what = "GET /environ/s"
    assert isinstance(env.get("SERVER_NAME"), str) and env["SERVER_NAME"], (
        f"{what}: environ['SERVER_NAME'] must be a non-empty string, got "
        f"{env.get('SERVER_NAME', '(missing)')!r}")
    expect_key(env, "SERVER_PORT", str(server.port), what)
    expect_key(env, "SERVER_PROTOCOL", "HTTP/1.1", what)


@pytest.mark.points(2)
def test_body_through_wsgi_input(exchange):
    """wsgi.input gives the request body: a probe app reads it and sends it back"""
    body = os.urandom(1000) + b"\r\n\r\nend"
    response = exchange(http_request("POST", "/echo", body=body), what="POST /echo (1003 bytes)")
    assert response.status == 200, f"POST /echo: expected 200, got {response.status}"
    assert response.body == body, (f"POST /echo: the app read {len(response.body)} bytes from "
                                   f"wsgi.input, not the {len(body)} bytes of the body")


@pytest.mark.points(1)
def test_named_callable(environ):
    """The server serves the CALLABLE named on its command line (grader_probes:app)"""
    called = environ("GET", "/environ/callable").get("probe.callable")
    assert called == "app", (
        f"the server was started as 'python server.py grader_probes:app', but the request "
        f"reached grader_probes.{called}: serve the callable named after the colon")
